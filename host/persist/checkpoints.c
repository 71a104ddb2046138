/*
 * persist's second half: what the runs hand the state writer while they train, and the end.
 * A run's finished episodes are buffered (on_episode) and handed over after each slice with
 * down-sampled scalars; a checkpoint is taken on the run's owner thread when the control loop
 * asked for one (by time or steps, or all at once); losses and the store's recovery are said
 * in the log. At a clean stop the last checkpoints are queued and committed, and the store and
 * the state dir's lock (persist.c) are let go: persist_close sits here, beside checkpoint().
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "host.h"
#include "log.h"
#include "persist.h"
#include "rcu.h"
#include "records.h"
#include "store.h"
#include "writer.h"

/* Episodes a run buffers between two of its slices before it starts dropping them. */
#define HISTORY_BUFFER_MAX (1u << 16)

static void
on_episode(struct run *r, uint32_t env, double ret, uint32_t len, void *user)
{
    (void)env, (void)user;
    if (r->history_n == r->history_cap) {
        uint32_t cap = r->history_cap ? r->history_cap * 2 : 256;
        struct episode_rec *v =
            cap <= HISTORY_BUFFER_MAX ? realloc(r->history, cap * sizeof *v) : NULL;
        if (!v) { /* the writer's backlog is what bounds history; this never fills in practice */
            atomic_fetch_add_explicit(&r->history_dropped, 1, memory_order_relaxed);
            return;
        }
        r->history = v;
        r->history_cap = cap;
    }
    r->history[r->history_n++] = (struct episode_rec){
        .episode = atomic_load_explicit(&r->episodes, memory_order_relaxed),
        .step = atomic_load_explicit(&r->steps, memory_order_relaxed) + r->n_envs,
        .ret = ret,
        .length = len,
        .wall_time = host_wall(),
    };
}

void
persist_attach(struct host *h, struct run *r)
{
    r->on_episode = on_episode;
    r->on_episode_user = h;
}

static void
flush_history(struct host *h, struct run *r)
{
    if (r->history_n && writer_episodes(h->writer, r->id, r->history, r->history_n) != 0)
        atomic_fetch_add_explicit(&r->history_dropped, r->history_n, memory_order_relaxed);
    r->history_n = 0;
}

static void
record_scalars(struct host *h, struct run *r)
{
    if (!r->latest_fresh)
        return;
    json_t *o =
        json_pack("{s:I, s:f}", "step", (json_int_t)atomic_load(&r->steps), "t", host_wall());
    for (uint32_t i = 0; o && i < r->latest.n; i++)
        if (isfinite(r->latest.items[i].value))
            json_object_set_new(o, r->latest.items[i].name, json_real(r->latest.items[i].value));
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    if (text && writer_scalars(h->writer, r->id, r->scalar_seq + 1, text, strlen(text)) == 0) {
        r->scalar_seq++;
        r->latest_fresh = 0;
    }
    free(text);
    json_decref(o);
}

/* Saves the run (on its owner thread, or after the runners stopped) and queues it. */
static int
checkpoint(struct host *h, struct run *r)
{
    char err[768];
    void *blob;
    size_t len;
    flush_history(h, r); /* the episodes before a checkpoint commit no later than it */
    if (run_save(r, &blob, &len, err, sizeof err)) {
        hlog(LOG_ERROR, r->id, "checkpoint failed: %s", err);
        return -1;
    }
    struct checkpoint_hdr hdr = {
        .step = atomic_load(&r->steps),
        .episodes = atomic_load(&r->episodes),
        .wall_time = host_wall(),
        .scalar_seq = r->scalar_seq,
    };
    hlog(LOG_DEBUG, r->id, "checkpoint at step %llu (%zu bytes) queued",
         (unsigned long long)hdr.step, len);
    atomic_store(&r->checkpoint_in_flight, 1);
    atomic_store(&r->checkpoint_step, hdr.step);
    atomic_store(&r->checkpointed, 1);
    atomic_store(&r->checkpoint_time, hdr.wall_time);
    return writer_checkpoint(h->writer, r->id, &hdr, blob, len, &r->checkpoint_in_flight);
}

void
persist_after_slice(struct run *r, void *arg)
{
    struct host *h = arg;
    flush_history(h, r);
    double now = host_wall();
    if (now - r->scalar_time >= h->cfg.scalars_every_s) {
        record_scalars(h, r);
        r->scalar_time = now;
    }
    /* The request is cleared only once the checkpoint is queued (in flight): whoever waits
     * for a checkpoint sees one of the two set until it is committed. */
    if (atomic_load(&r->checkpoint_request)) {
        checkpoint(h, r);
        atomic_store(&r->checkpoint_request, 0);
    }
}

/* Episodes the history lost (the writer fell far behind): said, at most every 10 s a run. */
static void
report_dropped(struct run *r, double now)
{
    uint64_t dropped = atomic_load_explicit(&r->history_dropped, memory_order_relaxed);
    if (dropped == r->dropped_reported || now - r->dropped_report_time < 10)
        return;
    hlog(LOG_WARN, r->id,
         "%llu finished episodes were not recorded in the history (%llu in all): "
         "the state writer fell behind",
         (unsigned long long)(dropped - r->dropped_reported), (unsigned long long)dropped);
    r->dropped_reported = dropped;
    r->dropped_report_time = now;
}

/*
 * The end of a spell of failing writes is said once, with what it cost: the writer's
 * failures are logged as they happen (on_write_error), its recovery only shows here.
 */
static void
report_recovery(struct host *h)
{
    struct writer_stats st;
    writer_stats(h->writer, &st);
    if (st.failing && !h->writes_failing) {
        h->writes_failing = 1;
        h->dropped_before_failing = st.dropped;
        h->scalars_before_failing = st.dropped_scalars;
    } else if (!st.failing && h->writes_failing) {
        h->writes_failing = 0;
        hlog(LOG_INFO, "state",
             "the state store in %s takes writes again; %llu episodes and %llu scalars records "
             "were dropped while it did not",
             h->cfg.state_dir, (unsigned long long)(st.dropped - h->dropped_before_failing),
             (unsigned long long)(st.dropped_scalars - h->scalars_before_failing));
    }
}

void
persist_tick(struct host *h)
{
    double now = host_wall();
    report_recovery(h);
    rcu_enter();
    struct runset *set = runs_current(&h->runs);
    for (size_t i = 0; i < set->n; i++) {
        struct run *r = set->v[i];
        report_dropped(r, now);
        if (atomic_load(&r->checkpoint_in_flight) || atomic_load(&r->state) != RUN_RUNNING)
            continue;
        int by_time = h->cfg.checkpoint_every_s > 0 &&
                      now - atomic_load(&r->checkpoint_time) >= h->cfg.checkpoint_every_s;
        int by_steps = h->cfg.checkpoint_every_steps > 0 &&
                       atomic_load(&r->steps) - atomic_load(&r->checkpoint_step) >=
                           h->cfg.checkpoint_every_steps;
        if (by_time || by_steps)
            atomic_store(&r->checkpoint_request, 1);
    }
    rcu_leave();
}

void
persist_request_all(struct host *h)
{
    rcu_enter();
    struct runset *set = runs_current(&h->runs);
    for (size_t i = 0; i < set->n; i++)
        atomic_store(&set->v[i]->checkpoint_request, 1);
    rcu_leave();
}

int
persist_close(struct host *h)
{
    int rc = 0;
    char err[512];
    if (h->writer) {
        size_t saved = 0;
        /* After the runners stopped, nothing else changes the set: no read-side section. */
        struct runset *set = h->runs_ready ? runs_current(&h->runs) : NULL;
        size_t n = set ? set->n : 0;
        /* Only runs that trained are saved: one whose resume failed must not overwrite the
         * checkpoint it could not load. */
        for (size_t i = 0; h->trained && i < n; i++) {
            struct run *r = set->v[i];
            if (atomic_load(&r->state) == RUN_FAILED) {
                flush_history(h, r);
                continue;
            }
            saved += checkpoint(h, r) == 0;
        }
        if (writer_flush(h->writer, err, sizeof err)) {
            hlog(LOG_ERROR, "state", "the last checkpoints were not saved: %s", err);
            rc = -1;
        } else if (h->trained && n) {
            hlog(LOG_INFO, "state", "checkpointed %zu agents in %s", saved, h->cfg.state_dir);
        }
        /* Writes that failed on the way (and were retried) still mean the daemon had trouble:
         * say so in the exit status, with what was dropped meanwhile. */
        struct writer_stats st;
        writer_stats(h->writer, &st);
        if (st.failures) {
            hlog(LOG_ERROR, "state",
                 "%llu state writes failed while tarsd ran; %llu episodes were not recorded",
                 (unsigned long long)st.failures, (unsigned long long)st.dropped);
            rc = -1;
        }
        if (writer_stop(h->writer))
            rc = -1;
        h->writer = NULL;
    }
    store_close(h->store);
    h->store = NULL;
    if (h->lock_fd >= 0) {
        close(h->lock_fd);
        h->lock_fd = -1;
    }
    return rc;
}
