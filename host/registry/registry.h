/*
 * registry — the plugins tarsd knows: every manifest found in the manifest dirs, its library
 * resolved in the plugin dirs, loaded and checked. A plugin that fails any check stays in the
 * registry with the reason, so `tarsd check` and the API can show it; only loaded plugins
 * can be instantiated.
 *
 * Generations: a loaded entry is one build of its plugin (generation 1 at start). A code swap
 * (host/reload/codeswap.h) builds the next generation beside it, puts it in the entry's slot and
 * moves the old one to the retired list, where it stays, loaded, until no run uses it; then,
 * after an RCU grace period, the swap frees it (dlclose, copy removed). So a struct plugin a
 * run points at lives as long as the run points at it, and one that a thread found in the
 * registry lives until a code swap retires and frees it: a thread that keeps a plugin pointer
 * beyond its read lock (agent create and reset, between the lookup and the run's publication)
 * holds host.code_lock for reading, which a code swap takes for writing.
 *
 * Errors: every function that can fail returns 0 or a negative errno (-ENOMEM, -ENOENT for
 * something not there, -EINVAL for a refused manifest or build, -EPERM for a missing pin under
 * require_pins, or the loader's code), with one sentence in err where it takes one.
 *
 * Threads: the entries (v, n, retired) are written by the control thread (scans) and the
 * code-swap thread under host.reg_lock held for writing, and read under it held for reading
 * (or by the thread that writes them). Refused entries are freed and retried by a rescan, and
 * never handed out.
 */
#ifndef TARS_HOST_REGISTRY_H
#define TARS_HOST_REGISTRY_H

#include <stdatomic.h>
#include <stddef.h>
#include "config.h"
#include "loader.h"
#include "manifest.h"

struct plugin {
    char *manifest_path;
    struct manifest m;
    char *lib_path; /* NULL until resolved */
    /* The library's file name (in lib_path), for fault records (base/fault.h): runners read it
     * at every step, and unlike m it is never swapped by a manifest-only reload. */
    const char *lib_file;
    struct lib lib;
    const tars_plugin_info *info; /* NULL unless loaded */
    char *error;                  /* why it was refused; NULL when loaded */
    char *warning;                /* loaded, but something deserves a look */
    uint64_t generation;          /* 1 for the build loaded at start, +1 per code swap */
    double loaded_at;             /* Unix time it was loaded */
    /* Why this build is quarantined (quarantine.h): it crashed tarsd in an op other than its
     * constructors. Loaded, so that its agents can be shown, but none of them runs; NULL when
     * it is not. Written when it is loaded, then never. */
    char *quarantined;
    /* Holders other than runs (a study's tuners): a retired generation is not freed while
     * pinned (reload/retire.c). Changed under host.code_lock held for reading. */
    atomic_int pins;
};

struct registry {
    struct plugin **v;
    size_t n;
    struct loader loader;
    struct strv manifest_dirs;
    struct strv plugin_dirs;
    int require_pins;
    struct plugin **retired; /* superseded generations that runs may still use */
    size_t n_retired;
    /* The state dir whose quarantine (quarantine.h) a scan honours; NULL: none. */
    const char *state_dir;
    /*
     * Called by a scan between staging a build and mapping it (NULL: nothing), so that no
     * build is mapped in tarsd before its smoke test passed (host/reload sets it once
     * tarsd serves). Returns 0 to map it, or nonzero with one sentence in err.
     */
    int (*vet)(void *arg, const struct plugin *p, char *err, size_t errlen);
    void *vet_arg;
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
/* Frees an entry (loaded or not); returns 1 when its library stayed mapped (loader_close). */
int plugin_free(struct plugin *p);
/* How many plugins are loaded (not refused). */
size_t registry_loaded(const struct registry *r);

/* A loaded plugin with this name and kind (kind 0: any), quarantined or not; NULL otherwise. */
struct plugin *registry_get(const struct registry *r, const char *name, uint32_t kind);
/* "tarsd: unknown agent 'x' (available: a, b)" style list of loaded names of a kind. */
void registry_names(const struct registry *r, uint32_t kind, char *buf, size_t len);

/*
 * A snapshot of p's parameters: schema defaults, then the manifest's defaults, then the named
 * preset (NULL for none). When the preset names n_envs and n_envs is non-NULL, it is stored
 * there (otherwise left alone). Fails with -ENOENT and one sentence in err for an unknown preset
 * (-ENOMEM: out of memory).
 */
int plugin_params(const struct plugin *p, const char *preset, tars_params **out, uint32_t *n_envs,
                  char *err, size_t errlen);

/*
 * Finds a loaded plugin of a kind for a user-given name. Fails with one sentence in err:
 * "unknown agent 'x' (available: a, b)", "agent 'x' was refused: why", "agent 'x' is
 * quarantined: why", or "'cartpole' is a plugin of kind 'env', not 'agent'".
 */
int registry_lookup(const struct registry *r, const char *name, uint32_t kind, struct plugin **out,
                    char *err, size_t errlen);
/*
 * Generations. Thread: the code-swap thread, which alone replaces entries; the functions that
 * change v or retired need host.reg_lock held for writing.
 *
 * registry_stage builds the candidate next generation of the loaded entry cur: its manifest
 * read again (it must still name cur's plugin and kind), its library resolved and staged
 * (loader_stage: hashed, pinned, copied; not mapped). On failure returns a negative errno with one
 * sentence in err (a negative errno); *out is then NULL, or a candidate whose lib.sha256 says which
 * build was refused (free it with plugin_free). registry_map maps a staged candidate and checks it:
 * the same kind and name as cur, the manifest and library agree, the defaults fit the schema. It
 * becomes generation cur->generation + 1. On failure: a negative errno, err, the candidate unmapped
 * (free it).
 */
int registry_stage(struct registry *r, const struct plugin *cur, struct plugin **out, char *err,
                   size_t errlen);
int registry_map(struct registry *r, struct plugin *p, const struct plugin *cur, char *err,
                 size_t errlen);
/*
 * A manifest changed but the library did not: registry_check_manifest checks candidate p's
 * manifest against cur's library; registry_swap_manifest (reg_lock held for writing) gives cur
 * p's manifest and p cur's old one (to be freed with p).
 */
int registry_check_manifest(struct plugin *p, const struct plugin *cur, char *err, size_t errlen);
void registry_swap_manifest(struct plugin *cur, struct plugin *p);
/* Puts next in cur's slot and cur on the retired list. -ENOMEM or -ENOENT (cur is not in the
 * registry): nothing changed. */
int registry_supersede(struct registry *r, struct plugin *cur, struct plugin *next);
/* Undoes registry_supersede: cur back in next's slot (next is the caller's again). */
int registry_rollback(struct registry *r, struct plugin *next, struct plugin *cur);
/* Takes p off the retired list (the caller frees it). -ENOENT when it is not there. */
int registry_unretire(struct registry *r, struct plugin *p);
#endif
