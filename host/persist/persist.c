/*
 * persist's first half: the state dir and the agents' records. The dir's lock against a second
 * tarsd, the store opened and its writer started, the records an agent is built again from,
 * and at start every agent restored: the config's and the stored ones, each resumed from its
 * last checkpoint. What the runners hand the writer while they train (checkpoints, history,
 * scalars) and the last checkpoints at a clean stop are in checkpoints.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>
#include "audit_log.h"
#include "host.h"
#include "log.h"
#include "params_json.h"
#include "persist.h"
#include "records.h"
#include "store.h"
#include "writer.h"

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
    int rc = lock_dir(h, err, errlen);
    if (rc)
        return rc;
    rc = store_open(&h->store, h->cfg.state_dir, 0, (size_t)h->cfg.state_map_mb << 20, err, errlen);
    if (rc)
        return rc < 0 ? rc : -EIO;
    /* Before anything can append: a code swap the watch starts audits itself, and a number
     * taken before the last one was read would overwrite an entry. */
    if ((rc = audit_open(h)) != 0) {
        snprintf(err, errlen, "cannot read the audit log in %s", h->cfg.state_dir);
        return rc < 0 ? rc : -EIO;
    }
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
        return rc;
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
    const struct trial_conf *t = &s->trial;
    if (o && t->budget)
        json_object_set_new(
            o, "trial",
            json_pack("{s:I, s:I, s:i, s:I, s:I, s:i}", "study", (json_int_t)t->study, "number",
                      (json_int_t)t->number, "seed_index", (int)t->seed_index, "budget",
                      (json_int_t)t->budget, "eval_every", (json_int_t)t->eval_every,
                      "eval_episodes", (int)t->eval_episodes));
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

/* Why a stored agent's agent or env plugin cannot be had (gone, refused): err; else NULL. */
static const char *
unavailable(struct host *h, json_t *rec, char *err, size_t errlen)
{
    const char *agent = json_string_value(json_object_get(rec, "agent"));
    const char *env = json_string_value(json_object_get(rec, "env"));
    struct plugin *p;
    if (!agent || !env)
        return NULL; /* persist_spec says what the record lacks */
    return lookup_stored(&h->reg, agent, TARS_KIND_AGENT, &p, err, errlen) ||
                   lookup_stored(&h->reg, env, TARS_KIND_ENV, &p, err, errlen)
               ? err
               : NULL;
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
    json_t *t = json_object_get(rec, "trial");
    if (json_is_object(t)) {
        s->trial.study = (uint64_t)json_integer_value(json_object_get(t, "study"));
        s->trial.number = (uint64_t)json_integer_value(json_object_get(t, "number"));
        s->trial.seed_index = (uint32_t)json_integer_value(json_object_get(t, "seed_index"));
        s->trial.budget = (uint64_t)json_integer_value(json_object_get(t, "budget"));
        s->trial.eval_every = (uint64_t)json_integer_value(json_object_get(t, "eval_every"));
        s->trial.eval_episodes = (uint32_t)json_integer_value(json_object_get(t, "eval_episodes"));
    }
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
    /* Then the agents created at run time (through the API), in id order. One whose plugin
     * is gone (its package removed, say) waits in the store for it rather than keep every
     * other agent from training. */
    const char *id;
    json_t *rec;
    json_object_foreach(stored, id, rec)
    {
        struct run_spec s;
        if (unavailable(h, rec, err, sizeof err)) {
            hlog(LOG_ERROR, id,
                 "not resumed: %s; its record and checkpoints stay in the state dir, and it "
                 "resumes at a start that has the plugin (or a delete forgets it)",
                 err);
            pthread_mutex_lock(&h->runs.lock);
            errors += strv_push(&h->waiting, id) != 0;
            pthread_mutex_unlock(&h->runs.lock);
            continue;
        }
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
    int rc = writer_flush(h->writer, why, sizeof why);
    if (rc == 0)
        return 0;
    snprintf(err, errlen, "the state store failed: %s", why);
    /* A full disk (or a map that cannot grow on it) is not a broken store: the API says 507. */
    return rc == ENOSPC || rc == MDB_MAP_FULL ? -ENOSPC : -EIO;
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
