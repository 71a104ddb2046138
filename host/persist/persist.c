#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>
#include "host.h"
#include "log.h"
#include "params_json.h"
#include "persist.h"
#include "rcu.h"
#include "records.h"
#include "store.h"
#include "writer.h"

/* Episodes a run buffers between two of its slices before it starts dropping them. */
#define HISTORY_BUFFER_MAX (1u << 16)

/*
 * "state dir X is in use by another tarsd (pid N)" (-EBUSY) unless we get the lock. A holder
 * gets 2 s to let go: the worker of a daemon whose parent was just killed -9 dies of it
 * (PR_SET_PDEATHSIG) a moment later, and a restart at once must not fail for that.
 */
static int
lock_dir(struct host *h, char *err, size_t errlen)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/tarsd.lock", h->cfg.state_dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        int e = errno;
        snprintf(err, errlen, "cannot create %s: %s", path, strerror(e));
        return -e;
    }
    int busy = 1;
    for (int tries = 0; busy && tries < 40; tries++) {
        busy = flock(fd, LOCK_EX | LOCK_NB) != 0;
        if (busy && errno != EWOULDBLOCK) {
            int e = errno;
            snprintf(err, errlen, "cannot lock %s: %s", path, strerror(e));
            close(fd);
            return -e;
        }
        if (busy)
            nanosleep(&(struct timespec){0, 50 * 1000 * 1000}, NULL);
    }
    if (busy) {
        char pid[32] = "";
        ssize_t n = pread(fd, pid, sizeof pid - 1, 0);
        pid[n > 0 ? n : 0] = '\0';
        pid[strcspn(pid, "\n")] = '\0';
        snprintf(err, errlen, "state dir %s is in use by another tarsd%s%s%s", h->cfg.state_dir,
                 *pid ? " (pid " : "", pid, *pid ? ")" : "");
        close(fd);
        return -EBUSY;
    }
    char pid[32];
    int n = snprintf(pid, sizeof pid, "%ld\n", h->pid ? h->pid : (long)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)n, 0) != n)
        hlog(LOG_WARN, "state", "cannot write the pid into %s", path);
    h->lock_fd = fd;
    return 0;
}

/* A failing store fails every batch: say it at once, then at most every 10 s. */
static void
on_write_error(const char *msg, void *arg)
{
    struct host *h = arg;
    double now = host_now();
    h->write_errors++;
    if (h->write_errors > 1 && now - h->write_error_logged < 10)
        return;
    if (h->write_errors > 1)
        hlog(LOG_ERROR, "state", "%s (%llu failed writes so far)", msg,
             (unsigned long long)h->write_errors);
    else
        hlog(LOG_ERROR, "state", "%s", msg);
    h->write_error_logged = now;
}

int
persist_open(struct host *h, char *err, size_t errlen)
{
    if (lock_dir(h, err, errlen))
        return -1;
    int rc =
        store_open(&h->store, h->cfg.state_dir, 0, (size_t)h->cfg.state_map_mb << 20, err, errlen);
    if (rc)
        return -1;
    if (store_stale_readers(h->store))
        hlog(LOG_INFO, "state", "cleared %d stale reader slots in %s",
             store_stale_readers(h->store), h->cfg.state_dir);
    struct writer_limits lim = {
        .checkpoints_kept = h->cfg.checkpoints_kept,
        .episodes_kept = h->cfg.history_kept,
        .scalars_kept = h->cfg.scalars_kept,
        .backlog_bytes = h->cfg.state_backlog_mb << 20,
    };
    rc = writer_start(&h->writer, h->store, &lim, on_write_error, h);
    if (rc) {
        snprintf(err, errlen, "cannot start the state writer: %s", strerror(-rc));
        return -1;
    }
    return 0;
}

char *
persist_agent_record(const struct run_spec *s, const char *preset, const char *origin)
{
    json_t *o = json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:i, s:I, s:s?, s:o, s:o, s:s, s:f}", "id", s->id, "agent",
        s->agent->info->name, "agent_version", s->agent->info->version, "env", s->env->info->name,
        "env_version", s->env->info->version, "n_envs", (int)s->n_envs, "seed", (json_int_t)s->seed,
        "preset", preset, "params", pjson_values(s->agent_params), "env_params",
        pjson_values(s->env_params), "origin", origin, "created", host_wall());
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    return text;
}

/* A stored agent's plugin, quarantined builds included: their agents come back failed. */
static int
lookup_stored(const struct registry *reg, const char *name, uint32_t kind, struct plugin **out,
              char *err, size_t errlen)
{
    *out = registry_get(reg, name, kind);
    return *out ? 0 : registry_lookup(reg, name, kind, out, err, errlen);
}

int
persist_spec(struct host *h, json_t *rec, struct run_spec *s, struct diag *d)
{
    char err[768];
    const char *id = json_string_value(json_object_get(rec, "id"));
    const char *agent = json_string_value(json_object_get(rec, "agent"));
    const char *env = json_string_value(json_object_get(rec, "env"));
    memset(s, 0, sizeof *s);
    if (!id || !agent || !env) {
        diag_add(d, "state dir %s: an agent record lacks its id, agent or env", h->cfg.state_dir);
        return 1;
    }
    s->id = id;
    s->n_envs = (uint32_t)json_integer_value(json_object_get(rec, "n_envs"));
    s->seed = (uint64_t)json_integer_value(json_object_get(rec, "seed"));
    if (!s->n_envs)
        s->n_envs = 8;
    if (lookup_stored(&h->reg, agent, TARS_KIND_AGENT, &s->agent, err, sizeof err) ||
        lookup_stored(&h->reg, env, TARS_KIND_ENV, &s->env, err, sizeof err) ||
        plugin_params(s->agent, NULL, &s->agent_params, NULL, err, sizeof err) ||
        plugin_params(s->env, NULL, &s->env_params, NULL, err, sizeof err)) {
        diag_add(d, "agent '%s' (in the state dir): %s", id, err);
        return 1;
    }
    /* The record holds every value the agent ran with, so plugin defaults may change freely. */
    struct diag pd = {0};
    int errors =
        pjson_apply(s->agent_params, json_object_get(rec, "params"), PJ_PARAMS, NULL, "", &pd) +
        pjson_apply(s->env_params, json_object_get(rec, "env_params"), PJ_PARAMS, NULL, "", &pd);
    for (size_t i = 0; i < pd.n; i++)
        diag_add(d, "agent '%s' (in the state dir): %s", id, pd.lines[i]);
    diag_free(&pd);
    return errors;
}

/* Every agent record of the store by id; NULL (and the reason in err) when unreadable. */
static json_t *
stored_agents(struct host *h, char *err, size_t errlen)
{
    MDB_txn *txn;
    MDB_cursor *c;
    MDB_val k, v;
    json_t *all = json_object();
    int rc = all ? store_read_begin(h->store, &txn) : ENOMEM;
    if (!rc) {
        rc = mdb_cursor_open(txn, store_dbi(h->store, DB_AGENTS), &c);
        for (int at = rc ? rc : mdb_cursor_get(c, &k, &v, MDB_FIRST); !at;
             at = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
            json_t *rec = json_loadb(v.mv_data, v.mv_size, 0, NULL);
            char key[128];
            snprintf(key, sizeof key, "%.*s", (int)k.mv_size, (const char *)k.mv_data);
            if (rec)
                json_object_set_new(all, key, rec);
            else
                hlog(LOG_WARN, "state", "the record of agent '%s' is not JSON; skipped", key);
        }
        if (!rc)
            mdb_cursor_close(c);
        store_read_end(h->store, txn);
    }
    if (rc) {
        snprintf(err, errlen, "cannot read the agents in %s: %s", h->cfg.state_dir,
                 store_strerror(rc));
        json_decref(all);
        return NULL;
    }
    return all;
}

int
persist_resume(struct host *h, struct run *r, struct diag *d)
{
    MDB_txn *txn;
    struct checkpoint_hdr hdr;
    const void *blob;
    size_t len;
    char err[768];
    int rc = store_read_begin(h->store, &txn);
    if (rc) {
        diag_add(d, "agent '%s': cannot read the state store: %s", r->id, store_strerror(rc));
        return 1;
    }
    rc = rec_last_checkpoint(h->store, txn, r->id, &hdr, &blob, &len);
    if (rc == 0)
        rc = run_load(r, blob, len, err, sizeof err) ? -1 : 0;
    store_read_end(h->store, txn);
    if (rc == MDB_NOTFOUND) {
        atomic_store(&r->checkpoint_time, host_wall());
        /* No checkpoint: whatever history an earlier, crashed start left is not ours. */
        writer_truncate(h->writer, r->id, 0, 0);
        return 0;
    }
    if (rc) {
        diag_add(d, "agent '%s': cannot resume from its checkpoint at step %llu: %s", r->id,
                 (unsigned long long)hdr.step, rc == -1 ? err : store_strerror(rc));
        return 1;
    }
    /* Episodes and scalars recorded after the checkpoint belong to a future that was lost. */
    writer_truncate(h->writer, r->id, hdr.episodes, hdr.scalar_seq);
    r->scalar_seq = hdr.scalar_seq;
    atomic_store(&r->checkpoint_step, hdr.step);
    atomic_store(&r->checkpointed, 1);
    atomic_store(&r->checkpoint_time, hdr.wall_time);
    hlog(LOG_INFO, r->id, "resumed at step %llu, episode %llu, from the checkpoint of %.0f s ago",
         (unsigned long long)hdr.step, (unsigned long long)hdr.episodes,
         host_wall() - hdr.wall_time);
    return 0;
}

static void on_episode(struct run *r, uint32_t env, double ret, uint32_t len, void *user);

void
persist_attach(struct host *h, struct run *r)
{
    r->on_episode = on_episode;
    r->on_episode_user = h;
}

/* A run without instances shows where its checkpoint stands (it resumes from there). */
static void
show_checkpoint(struct host *h, struct run *r)
{
    MDB_txn *txn;
    struct checkpoint_hdr hdr;
    const void *blob;
    size_t len;
    if (store_read_begin(h->store, &txn))
        return;
    if (rec_last_checkpoint(h->store, txn, r->id, &hdr, &blob, &len) == 0) {
        atomic_store(&r->steps, hdr.step);
        atomic_store(&r->episodes, hdr.episodes);
        atomic_store(&r->checkpoint_step, hdr.step);
        atomic_store(&r->checkpointed, 1);
        atomic_store(&r->checkpoint_time, hdr.wall_time);
    }
    store_read_end(h->store, txn);
}

/* Builds, resumes and publishes the run of a record (consumes s's snapshots). */
static int
add_run(struct host *h, struct run_spec *s, json_t *rec, struct diag *d)
{
    char err[768];
    struct run *r;
    s->failed = s->agent->quarantined ? s->agent->quarantined : s->env->quarantined;
    if (run_create(s, &r, err, sizeof err)) {
        diag_add(d, "agent '%s': %s", s->id, err);
        return 1;
    }
    persist_attach(h, r);
    if (s->failed) {
        hlog(LOG_ERROR, r->id, "failed: %s", s->failed);
        show_checkpoint(h, r);
    } else if (persist_resume(h, r, d)) {
        run_destroy(r);
        return 1;
    }
    pthread_mutex_lock(&h->runs.lock);
    int rc = runs_add(&h->runs, r);
    pthread_mutex_unlock(&h->runs.lock);
    if (rc) {
        run_destroy(r);
        diag_add(d, "out of memory");
        return 1;
    }
    int paused = json_is_true(json_object_get(rec, "paused"));
    if (!s->failed)
        atomic_store(&r->state, paused ? RUN_STOPPED : RUN_RUNNING);
    return 0;
}

int
persist_restore(struct host *h, struct diag *d)
{
    char err[512];
    json_t *stored = stored_agents(h, err, sizeof err);
    int errors = 0;
    if (!stored) {
        diag_add(d, "%s", err);
        return 1;
    }
    /* The config's agents, in its order: stored ones resume, new ones get a record. */
    for (size_t i = 0; i < h->cfg.n_agents; i++) {
        const struct agent_conf *a = &h->cfg.agents[i];
        json_t *rec = json_incref(json_object_get(stored, a->id));
        struct run_spec s;
        int e;
        if (rec) {
            const char *was = json_string_value(json_object_get(rec, "agent"));
            if (was && strcmp(was, a->agent) != 0)
                hlog(LOG_WARN, a->id,
                     "the state dir holds this agent as '%s'; it resumes as it was, not as the "
                     "config's '%s'",
                     was, a->agent);
            e = persist_spec(h, rec, &s, d);
        } else {
            e = host_resolve_agent(h, &h->cfg.doc, a, &s, d);
            char *text = e ? NULL : persist_agent_record(&s, a->preset, "config");
            if (text)
                writer_json(h->writer, DB_AGENTS, a->id, text, strlen(text));
            free(text);
        }
        if (!e)
            e = add_run(h, &s, rec, d);
        else {
            tars_params_free(s.agent_params);
            tars_params_free(s.env_params);
        }
        errors += e;
        json_decref(rec);
        json_object_del(stored, a->id);
    }
    /* Then the agents created at run time (through the API), in id order. */
    const char *id;
    json_t *rec;
    json_object_foreach(stored, id, rec)
    {
        struct run_spec s;
        int e = persist_spec(h, rec, &s, d);
        if (!e)
            e = add_run(h, &s, rec, d);
        else {
            tars_params_free(s.agent_params);
            tars_params_free(s.env_params);
        }
        errors += e;
    }
    json_decref(stored);
    /* The new records are in the store before anyone can ask to change them. */
    if (!errors && writer_flush(h->writer, err, sizeof err)) {
        diag_add(d, "cannot write the agents' records in %s: %s", h->cfg.state_dir, err);
        errors++;
    }
    return errors;
}

int
persist_commit(struct host *h, char *err, size_t errlen)
{
    char why[512];
    if (writer_flush(h->writer, why, sizeof why) == 0)
        return 0;
    snprintf(err, errlen, "the state store failed: %s", why);
    return -EIO;
}

json_t *
persist_get_json(struct host *h, enum store_db db, const void *key, size_t klen)
{
    MDB_txn *txn;
    MDB_val k = {klen, (void *)key}, v;
    json_t *rec = NULL;
    if (store_read_begin(h->store, &txn))
        return NULL;
    if (mdb_get(txn, store_dbi(h->store, db), &k, &v) == 0)
        rec = json_loadb(v.mv_data, v.mv_size, 0, NULL);
    store_read_end(h->store, txn);
    return rec;
}

json_t *
persist_record(struct host *h, const char *id)
{
    return persist_get_json(h, DB_AGENTS, id, strlen(id));
}

int
persist_set_paused(struct host *h, const char *id, int paused)
{
    json_t *fields = json_pack("{s:b}", "paused", paused);
    int rc = persist_update_record(h, id, fields);
    json_decref(fields);
    return rc;
}

int
persist_update_record(struct host *h, const char *id, json_t *fields)
{
    json_t *rec = persist_record(h, id);
    char *text = NULL;
    if (rec && json_object_update(rec, fields) == 0)
        text = json_dumps(rec, JSON_COMPACT);
    int rc = text ? writer_json(h->writer, DB_AGENTS, id, text, strlen(text)) : -1;
    free(text);
    json_decref(rec);
    return rc;
}

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
