/*
 * tarsd serve: the daemon. The control thread runs a libuv loop (signals, the once-a-second
 * tick that computes steps/s, schedules checkpoints and redraws progress); runner threads step
 * the agents; CivetWeb's workers serve the API; the state writer commits to LMDB.
 * SIGINT/SIGTERM checkpoint everything and stop; SIGHUP rescans manifests; SIGUSR1
 * checkpoints every agent now.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>
#include "api.h"
#include "audit_log.h"
#include "codeswap.h"
#include "commands.h"
#include "host.h"
#include "http.h"
#include "log.h"
#include "notify.h"
#include "persist.h"
#include "progress.h"
#include "quarantine.h"
#include "rcu.h"
#include "studies.h"
#include "tokens.h"

#define TICK_MS 1000
/* Free space the state dir's file system needs for the plugin cache to go there. */
#define PLUGIN_CACHE_ROOM_MB 64
#define PROGRESS_MS          250

/* steps/s over the last second or more, written for the API and the progress lines. */
static void
update_rates(struct host *h, struct runset *set)
{
    double now = host_now();
    double dt = now - h->tick_time;
    if (dt < TICK_MS / 1000.0)
        return;
    for (size_t i = 0; i < set->n; i++) {
        struct run *r = set->v[i];
        uint64_t s = atomic_load(&r->steps);
        /* A run that joined since the last update has no rate yet. */
        if (r->tick_seen)
            atomic_store(&r->sps, (double)(s - r->tick_steps) / dt);
        r->tick_steps = s;
        r->tick_seen = 1;
    }
    h->tick_time = now;
}

static void
on_tick(uv_timer_t *t)
{
    struct host *h = t->data;
    rcu_enter();
    struct runset *set = runs_current(&h->runs);
    update_rates(h, set);
    if (log_is_tty() && set->n) {
        char block[8192];
        progress_runs(block, sizeof block, set->v, set->n);
        log_status(block);
    }
    rcu_leave();
    persist_tick(h);
}

/* The runners' hook: the live stream's share first, then the state's. */
static void
after_slice(struct run *r, void *arg)
{
    feed_publish(&r->feed, r->history, r->history_n, &r->latest,
                 atomic_load_explicit(&r->steps, memory_order_relaxed), host_now());
    persist_after_slice(r, arg);
}

static void
stop(struct host *h, const char *why)
{
    if (h->stopping)
        return;
    h->stopping = 1;
    hlog(LOG_INFO, "tarsd", "%s: stopping", why);
    uv_stop(&h->loop);
}

static void
on_signal(uv_signal_t *s, int signum)
{
    struct host *h = s->data;
    if (signum == SIGUSR1) {
        hlog(LOG_INFO, "tarsd", "SIGUSR1: checkpointing every agent");
        persist_request_all(h);
        return;
    }
    if (signum == SIGHUP) {
        /* On the code-swap thread: each new build's smoke test must not hold the loop. */
        if (h->codeswap)
            codeswap_submit(h, "", "SIGHUP", NULL);
        else
            codeswap_rescan(h, "SIGHUP");
        return;
    }
    stop(h, signum == SIGINT ? "SIGINT" : "SIGTERM");
}

/* mkdir -p, parents 0755 and the state dir itself 0700 (it will hold tokens). */
static int
make_state_dir(const char *dir, char *err, size_t errlen)
{
    struct stat st;
    char path[4096];
    size_t len = strlen(dir);
    if (len == 0 || len >= sizeof path) {
        snprintf(err, errlen, "state dir '%.200s' is empty or too long", dir);
        return -1;
    }
    snprintf(path, sizeof path, "%s", dir);
    while (len > 1 && path[len - 1] == '/')
        path[--len] = '\0'; /* "a/b/" names "a/b", which gets 0700 below */
    dir = path;
    char parent[4096];
    memcpy(parent, path, len + 1);
    for (char *p = parent + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(parent, 0755) != 0 && errno != EEXIST) {
            snprintf(err, errlen, "cannot create state dir '%.200s': %.200s: %s", dir, parent,
                     strerror(errno));
            return -1;
        }
        *p = '/';
    }
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "cannot create state dir '%.200s': %s", dir, strerror(errno));
        return -1;
    }
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "state dir '%.200s' is not a directory", dir);
        return -1;
    }
    return 0;
}

static int
start_loop(struct host *h)
{
    if (uv_loop_init(&h->loop))
        return -1;
    uv_signal_t *sigs[] = {&h->sigint, &h->sigterm, &h->sighup, &h->sigusr1};
    int nums[] = {SIGINT, SIGTERM, SIGHUP, SIGUSR1};
    for (int i = 0; i < 4; i++) {
        uv_signal_init(&h->loop, sigs[i]);
        sigs[i]->data = h;
        uv_signal_start(sigs[i], on_signal, nums[i]);
    }
    uv_timer_init(&h->loop, &h->tick);
    h->tick.data = h;
    uv_timer_start(&h->tick, on_tick, PROGRESS_MS, PROGRESS_MS);
    return 0;
}

static void
close_walk(uv_handle_t *handle, void *arg)
{
    (void)arg;
    if (!uv_is_closing(handle))
        uv_close(handle, NULL);
}

static void
close_loop(struct host *h)
{
    codeswap_stop(h);
    uv_walk(&h->loop, close_walk, NULL);
    uv_run(&h->loop, UV_RUN_DEFAULT);
    uv_loop_close(&h->loop);
    codeswap_free(h); /* its watch's handles are closed now */
}

/*
 * Each build quarantined since the last start is said once: an error line and an audit entry
 * (the supervisor that quarantined it has no store to write to).
 */
static void
announce_quarantine(struct host *h)
{
    for (size_t i = 0; i < h->reg.n; i++) {
        struct plugin *p = h->reg.v[i];
        struct quarantine q;
        char err[512], path[160];
        if (!p->quarantined || quarantine_get(h->cfg.state_dir, p->lib.sha256, &q) || q.announced)
            continue;
        hlog(LOG_ERROR, "registry", "plugin '%s' is quarantined, its agents failed: %s", p->m.name,
             q.reason);
        snprintf(path, sizeof path, "/api/v1/plugins/%s", p->m.name);
        audit_append_system(h, "tarsd", "CRASH", path, 500, q.reason);
        q.announced = 1;
        if (quarantine_add(h->cfg.state_dir, &q, err, sizeof err))
            hlog(LOG_WARN, "registry", "%s", err);
    }
}

/*
 * Once the config is read, before any plugin is staged: the supervisor learns the state dir
 * (where it quarantines), and the plugin cache goes under it (swept at start, see below), or
 * stays in $TMPDIR when the state dir cannot be made (the start fails on it later anyway).
 */
static void
on_configured(struct host *h)
{
    char err[512];
    supervise_hello(h->cfg.state_dir);
    struct statvfs fs;
    if (make_state_dir(h->cfg.state_dir, err, sizeof err) != 0 ||
        statvfs(h->cfg.state_dir, &fs) != 0)
        return;
    /* The store comes first: on a nearly full disk the copies stay in $TMPDIR. */
    if ((double)fs.f_bavail * (double)fs.f_frsize < PLUGIN_CACHE_ROOM_MB * 1048576.0) {
        hlog(LOG_WARN, "registry",
             "less than %d MiB free in %s: the plugin cache stays in $TMPDIR, and what a crash "
             "leaves there is not swept",
             PLUGIN_CACHE_ROOM_MB, h->cfg.state_dir);
        return;
    }
    if (asprintf(&h->plugin_cache, "%s/plugin-cache", h->cfg.state_dir) > 0)
        h->reg.loader.cache_root = h->plugin_cache;
}

/* long: the daemon's life in order, start to stop; issue 11 §3 splits it for the supervisor. */
int
cmd_serve(const struct opts *o)
{
    struct host *h = calloc(1, sizeof *h);
    struct http server = {0};
    struct diag d = {0};
    char err[512];
    int rc = 1;
    if (!h) {
        fprintf(stderr, "tarsd: out of memory\n");
        return 1;
    }
    rcu_thread_online(); /* the control thread reads the set of runs */
    h->on_configured = on_configured;
    h->pid = supervise_is_worker() ? (long)getppid() : 0;
    if (host_setup(h, &o->flags, 0, &d)) {
        diag_print(&d, stderr, "tarsd: ");
        goto out;
    }
    if (make_state_dir(h->cfg.state_dir, err, sizeof err) || persist_open(h, err, sizeof err)) {
        fprintf(stderr, "tarsd: %s\n", err);
        goto out;
    }
    int swept = loader_sweep(&h->reg.loader); /* with the state dir's lock: ours alone */
    if (swept)
        hlog(LOG_INFO, "registry", "removed %d plugin cache dirs a stopped tarsd left in %s", swept,
             h->plugin_cache);
    if (persist_restore(h, &d)) {
        diag_print(&d, stderr, "tarsd: ");
        goto out;
    }
    announce_quarantine(h);
    if (studies_open(h)) { /* after the runs: a study's running trials are among them */
        fprintf(stderr, "tarsd: out of memory\n");
        goto out;
    }
    if (start_loop(h)) {
        fprintf(stderr, "tarsd: cannot start the control loop\n");
        goto out;
    }
    codeswap_start(h); /* plugin code swaps: without them (logged) tarsd still serves */
    h->http = &server;
    if (http_start(h->http, h->cfg.listen, h->cfg.http_threads, h, err, sizeof err)) {
        fprintf(stderr, "tarsd: %s\n", err);
        close_loop(h);
        goto out;
    }
    /* Once everything else is known to work, so that a failed start leaves no token behind. */
    if (tokens_bootstrap(h, err, sizeof err)) {
        fprintf(stderr, "tarsd: %s\n", err);
        http_stop(h->http);
        api_uninstall(h);
        close_loop(h);
        goto out;
    }
    /* Until the runners start, the control thread alone changes or reads the set. */
    struct runset *set = runs_current(&h->runs);
    hlog(LOG_INFO, "tarsd", "tars %s listening on http://%s (port %d), %zu agents, state in %s",
         TARS_VERSION_STRING, h->cfg.listen, h->http->port, set->n, h->cfg.state_dir);
    for (size_t i = 0; i < set->n; i++) {
        struct run *r = set->v[i];
        int state = atomic_load(&r->state);
        hlog(LOG_INFO, r->id, "%s %s on %s (%u envs, seed %llu)",
             state == RUN_STOPPED  ? "stopped (start it to train):"
             : state == RUN_FAILED ? "failed (start it once its code is replaced):"
                                   : "training",
             r->agent_plugin->info->name, r->env_plugin->info->name, r->n_envs,
             (unsigned long long)r->seed);
    }
    h->tick_time = host_now();
    int prc =
        runner_pool_start(&h->pool, h->cfg.runners, h->cfg.runner_nice, &h->runs, after_slice, h);
    if (prc) {
        fprintf(stderr, "tarsd: cannot start runner threads: %s\n", strerror(-prc));
        http_stop(h->http);
        close_loop(h);
        goto out;
    }
    h->trained = 1;
    if (studies_start(h))
        hlog(LOG_ERROR, "studies", "cannot start the studies' thread: studies do not advance");
    /* Serving: systemd's start is done (Type=notify), and an exit from here on is news. */
    supervise_ready();
    if (service_notify("READY=1") < 0)
        hlog(LOG_WARN, "tarsd", "cannot tell the service manager tarsd is ready ($NOTIFY_SOCKET)");
    uv_run(&h->loop, UV_RUN_DEFAULT);
    service_notify("STOPPING=1");
    codeswap_stop(h); /* before the runners and the API it waits on */
    studies_halt(h);  /* likewise: its trials' agents change through the runners */
    runner_pool_stop(&h->pool);
    http_stop(h->http);
    api_uninstall(h);
    studies_close(h); /* nothing calls it now */
    log_status(NULL);
    close_loop(h);
    set = runs_current(&h->runs); /* the API may have changed it; it is quiet now */
    for (size_t i = 0; i < set->n; i++) {
        struct run *r = set->v[i];
        hlog(LOG_INFO, r->id, "stopped after %llu steps, %llu episodes",
             (unsigned long long)atomic_load(&r->steps),
             (unsigned long long)atomic_load(&r->episodes));
    }
    rc = persist_close(h) ? 1 : 0;
    hlog(rc ? LOG_ERROR : LOG_INFO, "tarsd",
         rc ? "stopped, but the state was not all saved" : "stopped cleanly");
out:
    diag_free(&d);
    studies_close(h);
    persist_close(h);
    host_teardown(h);
    free(h);
    rcu_thread_offline();
    return rc;
}
