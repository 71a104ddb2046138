/*
 * host — tarsd's context object: config, plugin registry, runs, runner pool, HTTP server and
 * control loop. It is the only home of mutable state shared across the daemon's parts.
 */
#ifndef TARS_HOST_HOST_H
#define TARS_HOST_HOST_H

#include <stdatomic.h>
#include <uv.h>
#include "clock.h"
#include "config.h"
#include "registry.h"
#include "run.h"
#include "runner.h"
#include "runset.h"

struct store;
struct writer;
struct api;
struct codeswap;
struct http;
struct studies;

struct host {
    struct config cfg;
    struct registry reg;
    /* Called by host_setup once the config is read, before any plugin is loaded (NULL:
     * nothing): serve tells its supervisor the state dir there. Set by host_setup's caller
     * (it keeps this and pid across host_configure). */
    void (*on_configured)(struct host *h);
    char *plugin_cache;    /* serve: <state_dir>/plugin-cache, the loader's cache_root (owned) */
    struct store *store;   /* serve only: the state dir's LMDB store */
    struct writer *writer; /* its one write path */
    int lock_fd;           /* the state dir's lock, -1 when not held */
    long pid;    /* the pid operators signal, written in the lock: the supervisor's (0: ours) */
    int trained; /* the runners ran: the runs hold state worth a final checkpoint */
    _Atomic uint64_t write_errors; /* failed state writes (counted by the writer thread) */
    double write_error_logged;
    /* persist_tick (the loop): the writer was failing at the last tick, and what it had
     * dropped when it began to (to say what a full disk cost once it has room again). */
    int writes_failing;
    uint64_t dropped_before_failing, scalars_before_failing;
    struct runs runs; /* the agents being trained (RCU, see runset.h) */
    /* Ids of stored agents not resumed because their plugin is gone (persist_restore): they
     * keep their id, and a delete forgets them. Under runs.lock. */
    struct strv waiting;
    pthread_rwlock_t reg_lock; /* the registry: written by rescans, read by API handlers */
    int runs_ready, reg_lock_ready;
    /*
     * Plugin code swaps (codeswap.h). code_lock is held for reading by whoever keeps a plugin
     * pointer from the registry beyond reg_lock until its run is in the set (agent create and
     * reset), and for writing by a code swap while it replaces and frees generations. Lock
     * order: code_lock, then runs.lock, then reg_lock.
     */
    pthread_rwlock_t code_lock;
    int code_lock_ready;
    struct codeswap *codeswap; /* serve only: the code-swap thread and the plugin dir watch */
    struct runner_pool pool;
    struct http *http;              /* serve only: the HTTP server (api/http.h) */
    struct api *api;                /* the API's own state (host/api) */
    struct studies *studies;        /* AutoML studies (host/studies), serve only */
    _Atomic uint64_t audit_seq;     /* the last audit entry's number (written under audit_lock) */
    pthread_mutex_t audit_lock;     /* a sequence number is taken only with its entry queued */
    pthread_mutex_t proposals_lock; /* HyperSync decisions (reload/proposals.h) */
    uint64_t proposal_seq;          /* the last proposal's id, under proposals_lock */
    double started;                 /* monotonic seconds at start */
    /* Control loop (serve). */
    uv_loop_t loop;
    uv_signal_t sigint, sigterm, sighup, sigusr1;
    uv_timer_t tick;
    double tick_time;
    int stopping;
};

/* Refuses (-1 and one sentence) a libtars-sdk of another release than the one built against. */
int host_check_sdk(char *err, size_t errlen);

/*
 * Loads the config (opts->config or the embedded default), applies the flags, fills default
 * dirs, sets up logging and scans the plugins. Errors in the config, missing dirs and (when
 * plugins_fatal) plugin refusals are returned as -1 with the lines in d; other plugin
 * refusals are logged as warnings.
 */
int host_setup(struct host *h, const struct config_flags *o, int plugins_fatal, struct diag *d);
/* The first half of host_setup: config, flags, default dirs and logging; no plugins. */
int host_configure(struct host *h, const struct config_flags *o, struct diag *d);
void host_teardown(struct host *h);

/*
 * The plugins and parameter snapshots of one agent entry of doc (the config, or an API
 * request): errors at their position in doc go to d; returns their number. On error the
 * snapshots in s may be NULL.
 */
int host_resolve_agent(struct host *h, const struct jdoc *doc, const struct agent_conf *a,
                       struct run_spec *s, struct diag *d);

/*
 * Validates each agent of the config: unknown plugins, presets and bad parameter values are
 * reported at their position in the config; returns the number of errors.
 */
int host_check_agents(struct host *h, struct diag *d);

#endif
