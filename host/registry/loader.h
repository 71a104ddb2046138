/*
 * loader — turns a plugin file into a checked descriptor.
 *
 * The file is read once into memory, hashed (SHA-256), compared with the manifest's pin, and
 * written to a content-addressed copy in a private cache dir (staging), which is what gets
 * dlopen'ed (mapping). So users may overwrite files in the plugin dirs at any time (overwriting
 * a mapped .so in place crashes the process that maps it), and a rebuilt library always gets a
 * fresh handle (dlopen of an already-loaded path returns the old one). The copy lives as long
 * as the library is loaded: a code swap hands it to its smoke test (host/reload/smoke.h), which
 * loads exactly these bytes in a child process before the daemon maps them. A copy is never written
 * twice: a second live load of the same bytes gets <sha256>-N.so.
 *
 * Threads: one loader is used by one thread at a time (the control thread at start, then the
 * code-swap thread, host/reload/codeswap.h).
 */
#ifndef TARS_HOST_LOADER_H
#define TARS_HOST_LOADER_H

#include <stddef.h>
#include "tars/plugin.h"

struct loader {
    char *cache_dir; /* created on first use, removed by loader_fini */
    /* Where cache_dir is created (tarsd serve: <state_dir>/plugin-cache, swept at start by
     * loader_sweep); NULL: $TMPDIR or /tmp. Set before first use. */
    const char *cache_root;
};

/*
 * The host's copies of a plugin's descriptor and ops table, each zero-filled past the
 * struct_size the plugin compiled in: a field or op that a later minor appends reads as zero
 * (NULL) for an older plugin instead of past the end of its table. info.ops points at ops. The
 * host calls plugins only through these copies; their strings and parameter table still live
 * in the mapped library.
 */
struct plugin_abi {
    tars_plugin_info info;
    union {
        tars_env_ops env;
        tars_agent_ops agent;
        tars_solver_ops solver;
        tars_tuner_ops tuner;
        tars_exporter_ops exporter;
    } ops;
};

struct lib {
    char sha256[65];
    void *handle;                 /* NULL until mapped */
    const tars_plugin_info *info; /* &abi->info: valid until loader_close */
    struct plugin_abi *abi;       /* the host's copies (heap: a struct lib may be moved) */
    char *copy;                   /* the content-addressed copy; removed by loader_close */
};

void loader_fini(struct loader *l);
/*
 * Removes what earlier processes left in l->cache_root (a crashed tarsd's copies), all but
 * l's own cache dir. Call with the state dir's lock held. Returns how many dirs it removed.
 */
int loader_sweep(const struct loader *l);

/*
 * Loads path. With pin non-NULL the file's SHA-256 must equal it (TARS_ECORRUPT otherwise).
 * On failure returns a negative tars_error, leaves out empty but for its sha256, and writes
 * one sentence into err.
 */
int loader_open(struct loader *l, const char *path, const char *pin, struct lib *out, char *err,
                size_t errlen);
/*
 * loader_open in two halves. loader_stage reads path, hashes it, checks the pin, the ELF
 * magic and which libtars-sdk it needs (elf_needs.h: a plugin that needs a newer SDK than this
 * host's is refused here, in one sentence) and writes the copy (out->copy), mapping nothing.
 * loader_map dlopens a staged copy and checks its descriptor (path only names the file in
 * messages). Each fails like loader_open: a negative tars_error, one sentence in err, and lib empty
 * but for its sha256.
 */
int loader_stage(struct loader *l, const char *path, const char *pin, struct lib *out, char *err,
                 size_t errlen);
int loader_map(struct loader *l, const char *path, struct lib *lib, char *err, size_t errlen);
/*
 * dlcloses lib (when mapped) and removes its copy. Returns 1 when the library is still mapped
 * after dlclose (unique symbols, RTLD_NODELETE): it will stay resident until exit.
 */
int loader_close(struct lib *lib);

/*
 * Checks a plugin's descriptor and copies it and its ops table into abi (above): ABI major
 * equal, minor not newer, sizes, kind, name and version syntax, parameter schema, reserved
 * fields zero, ops table complete for its kind. On failure abi is not usable.
 */
int loader_adopt(const tars_plugin_info *info, struct plugin_abi *abi, char *err, size_t errlen);
/* loader_adopt into a scratch copy: the checks alone. */
int loader_check_info(const tars_plugin_info *info, char *err, size_t errlen);

/* SHA-256 of a file as 64 hex digits. */
int loader_sha256_file(const char *path, char hex[65], char *err, size_t errlen);

#endif
