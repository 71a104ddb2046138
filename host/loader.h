/*
 * loader — turns a plugin file into a checked descriptor.
 *
 * The file is read once into memory, hashed (SHA-256), compared with the manifest's pin, and
 * written to a content-addressed copy in a private cache dir, which is what gets dlopen'ed.
 * So users may overwrite files in the plugin dirs at any time (overwriting a mapped .so in
 * place crashes the process that maps it), and a rebuilt library always gets a fresh handle
 * (dlopen of an already-loaded path returns the old one). Thread: the control thread.
 */
#ifndef TARS_HOST_LOADER_H
#define TARS_HOST_LOADER_H

#include <stddef.h>
#include "tars/plugin.h"

struct loader {
    char *cache_dir; /* created on first use, removed by loader_fini */
};

struct lib {
    char sha256[65];
    void *handle;
    const tars_plugin_info *info;
};

void loader_fini(struct loader *l);

/*
 * Loads path. With pin non-NULL the file's SHA-256 must equal it (TARS_ECORRUPT otherwise).
 * On failure returns a negative tars_error, leaves out empty but for its sha256, and writes
 * one sentence into err.
 */
int loader_open(struct loader *l, const char *path, const char *pin, struct lib *out, char *err,
                size_t errlen);
void loader_close(struct lib *lib);

/*
 * The ABI and descriptor checks alone: ABI major equal, minor not newer, sizes, kind, name
 * and version syntax, parameter schema, ops table complete for its kind.
 */
int loader_check_info(const tars_plugin_info *info, char *err, size_t errlen);

/* SHA-256 of a file as 64 hex digits. */
int loader_sha256_file(const char *path, char hex[65], char *err, size_t errlen);

#endif
