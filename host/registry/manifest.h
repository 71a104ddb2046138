/*
 * manifest — the JSON file that declares a plugin (SPEC §4):
 *   name, kind, version, abi ("MAJOR.MINOR"), library (a file name in a plugin dir),
 *   description, optional sha256 pin, optional defaults (parameter overrides; an object
 *   value is a named preset of overrides).
 */
#ifndef TARS_HOST_MANIFEST_H
#define TARS_HOST_MANIFEST_H

#include <stdint.h>
#include "jdoc.h"
#include "schema.h"
#include "tars/plugin.h"

struct manifest {
    struct jdoc doc;
    /* Strings below point into doc.root and live as long as it. */
    const char *name;
    const char *version;
    const char *library;
    const char *description;
    const char *sha256; /* NULL when not pinned */
    uint32_t kind;
    unsigned abi_major;
    unsigned abi_minor;
    json_t *defaults; /* NULL when absent */
};

extern const struct sch_field manifest_schema[];

/* Loads and validates file; every error goes to d. Returns 0, or -1 with m empty. */
int manifest_load(struct manifest *m, const char *file, struct diag *d);
int manifest_parse(struct manifest *m, const char *file, const char *text, size_t len,
                   struct diag *d);
void manifest_free(struct manifest *m);

/*
 * The manifest for a built plugin (what `tarsctl plugin manifest` prints): keys in the
 * canonical order, two-space indent, trailing newline. Returns malloc'd text or NULL.
 */
char *manifest_render(const tars_plugin_info *info, const char *library, const char *sha256);

/* Syntax checks shared with the loader. */
int manifest_name_ok(const char *s);
int manifest_semver_ok(const char *s);
int manifest_sha256_ok(const char *s);

#endif
