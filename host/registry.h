/*
 * registry — the plugins tarsd knows: every manifest found in the manifest dirs, its library
 * resolved in the plugin dirs, loaded and checked. A plugin that fails any check stays in the
 * registry with the reason, so `tarsd check` and the API can show it; only loaded plugins
 * can be instantiated. Thread: written by the control thread; loaded plugin entries are never
 * moved or freed while tarsd runs, so other threads may keep pointers to them (refused ones
 * are freed and retried by a rescan, and never handed out).
 */
#ifndef TARS_HOST_REGISTRY_H
#define TARS_HOST_REGISTRY_H

#include <stddef.h>
#include "config.h"
#include "loader.h"
#include "manifest.h"

struct plugin {
    char *manifest_path;
    struct manifest m;
    char *lib_path; /* NULL until resolved */
    struct lib lib;
    const tars_plugin_info *info; /* NULL unless loaded */
    char *error;                  /* why it was refused; NULL when loaded */
    char *warning;                /* loaded, but something deserves a look */
};

struct registry {
    struct plugin **v;
    size_t n;
    struct loader loader;
    struct strv manifest_dirs;
    struct strv plugin_dirs;
    int require_pins;
};

/* Copies the dirs; nothing is read until registry_scan. */
int registry_init(struct registry *r, const struct strv *manifest_dirs,
                  const struct strv *plugin_dirs, int require_pins);
/* Reports each manifest or plugin dir that does not exist; returns their number. */
int registry_check_dirs(const struct registry *r, struct diag *d);
/*
 * Reads every *.json in the manifest dirs (sorted by name) and loads what it declares.
 * Loaded manifests are kept as they are; refused ones are tried again, so a second scan
 * adds new and repaired plugins.
 * Missing dirs are skipped (see registry_check_dirs). Every refusal goes to d with its
 * position; returns the number of errors.
 */
int registry_scan(struct registry *r, struct diag *d);
void registry_free(struct registry *r);
/* How many plugins are loaded (not refused). */
size_t registry_loaded(const struct registry *r);

/* A loaded plugin with this name and kind (kind 0: any); NULL otherwise. */
struct plugin *registry_get(const struct registry *r, const char *name, uint32_t kind);
/* "tarsd: unknown agent 'x' (available: a, b)" style list of loaded names of a kind. */
void registry_names(const struct registry *r, uint32_t kind, char *buf, size_t len);

/*
 * A snapshot of p's parameters: schema defaults, then the manifest's defaults, then the named
 * preset (NULL for none). When the preset names n_envs and n_envs is non-NULL, it is stored
 * there (otherwise left alone). Fails with one sentence in err for an unknown preset.
 */
int plugin_params(const struct plugin *p, const char *preset, tars_params **out, uint32_t *n_envs,
                  char *err, size_t errlen);

/*
 * Finds a loaded plugin of a kind for a user-given name. Fails with one sentence in err:
 * "unknown agent 'x' (available: a, b)", "agent 'x' was refused: why", or
 * "'cartpole' is a plugin of kind 'env', not 'agent'".
 */
int registry_lookup(const struct registry *r, const char *name, uint32_t kind, struct plugin **out,
                    char *err, size_t errlen);
#endif
