#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "agents.h"
#include "host.h"
#include "log.h"
#include "persist.h"
#include "writer.h"

/* With the run set's lock held: agent id's run, or NULL with "no agent 'id'" in err. */
static struct run *
find(struct host *h, const char *id, char *err, size_t errlen)
{
    struct run *r = runset_find(runs_current(&h->runs), id);
    if (!r)
        snprintf(err, errlen, "no agent '%s'", id);
    return r;
}

int
agents_create(struct host *h, struct run_spec *s, const char *preset, char *err, size_t errlen)
{
    char why[768];
    struct run *r = NULL;
    int rc = 0;
    pthread_mutex_lock(&h->runs.lock);
    if (runset_find(runs_current(&h->runs), s->id)) {
        snprintf(err, errlen, "agent '%s' already exists", s->id);
        tars_params_free(s->agent_params);
        tars_params_free(s->env_params);
        rc = -EEXIST;
        goto out;
    }
    char *record = persist_agent_record(s, preset, "api");
    if (!record) {
        tars_params_free(s->agent_params);
        tars_params_free(s->env_params);
        snprintf(err, errlen, "out of memory");
        rc = -ENOMEM;
        goto out;
    }
    if (run_create(s, &r, why, sizeof why)) {
        snprintf(err, errlen, "agent '%s': %s", s->id, why);
        free(record);
        rc = -EINVAL;
        goto out;
    }
    persist_attach(h, r);
    writer_json(h->writer, DB_AGENTS, s->id, record, strlen(record));
    free(record);
    rc = persist_commit(h, err, errlen);
    if (rc) /* the record stays queued for a retry: make sure it goes, since the run will */
        writer_forget(h->writer, s->id, 0);
    if (rc == 0 && runs_add(&h->runs, r) != 0) {
        writer_forget(h->writer, s->id, 0);
        snprintf(err, errlen, "out of memory");
        rc = -ENOMEM;
    }
    if (rc) {
        run_destroy(r);
        goto out;
    }
    atomic_store(&r->checkpoint_time, (double)time(NULL));
    atomic_store(&r->state, RUN_RUNNING);
    hlog(LOG_INFO, r->id, "created: %s on %s (%u envs, seed %llu)", r->agent_plugin->info->name,
         r->env_plugin->info->name, r->n_envs, (unsigned long long)r->seed);
out:
    pthread_mutex_unlock(&h->runs.lock);
    return rc;
}

/*
 * Until the runner has taken the requested checkpoint and the writer has committed it (or
 * given up for now, on a failing store), at most 30 s: a stop's reply then names the
 * checkpoint it stands at.
 */
static void
wait_checkpoint(struct run *r)
{
    for (int i = 0; i < 30000; i++) {
        if (!atomic_load(&r->checkpoint_request) && !atomic_load(&r->checkpoint_in_flight))
            return;
        struct timespec ts = {0, 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

/* The builds a stored agent would run on now, or why it cannot; -EBUSY when quarantined. */
static int
current_spec(struct host *h, const char *id, json_t *rec, struct run_spec *s, char *err,
             size_t errlen)
{
    struct diag d = {0};
    pthread_rwlock_rdlock(&h->reg_lock); /* a rescan may be growing the registry */
    int bad = !rec || persist_spec(h, rec, s, &d);
    pthread_rwlock_unlock(&h->reg_lock);
    int rc = 0;
    if (bad) {
        snprintf(err, errlen, "agent '%s' cannot be rebuilt: %s", id,
                 d.n ? d.lines[0] : "its record is unreadable");
        rc = -EIO;
    } else if (s->agent->quarantined || s->env->quarantined) {
        const struct plugin *q = s->agent->quarantined ? s->agent : s->env;
        snprintf(err, errlen,
                 "agent '%s' cannot start: %s; a new build of '%s' or POST "
                 "/api/v1/plugins/%s/release lifts the quarantine",
                 id, q->quarantined, q->m.name, q->m.name);
        rc = -EBUSY;
    }
    if (rc && rec) {
        tars_params_free(s->agent_params);
        tars_params_free(s->env_params);
    }
    diag_free(&d);
    return rc;
}

/*
 * Starts a failed agent again: rebuilt from its record on the builds registered now and
 * resumed from its last checkpoint (its history and checkpoints go on). runs.lock held.
 */
static int
restart_failed(struct host *h, struct run *old, char *err, size_t errlen)
{
    char why[768];
    struct diag d = {0};
    struct run_spec s;
    struct run *fresh = NULL;
    int rc = persist_commit(h, err, errlen);
    json_t *rec = rc ? NULL : persist_record(h, old->id);
    if (rc || (rc = current_spec(h, old->id, rec, &s, err, errlen)) != 0)
        goto out;
    if (run_create(&s, &fresh, why, sizeof why)) {
        snprintf(err, errlen, "agent '%s': %s", old->id, why);
        rc = -EINVAL;
        goto out;
    }
    persist_attach(h, fresh);
    if (persist_resume(h, fresh, &d) || runs_replace(&h->runs, old, fresh)) {
        snprintf(err, errlen, "agent '%s' cannot start again: %s", old->id,
                 d.n ? d.lines[0] : "out of memory");
        run_destroy(fresh);
        rc = -EIO;
        goto out;
    }
    runs_drain(old);
    run_destroy(old);
    atomic_store(&fresh->state, RUN_RUNNING);
    if (persist_set_paused(h, fresh->id, 0) == 0)
        rc = persist_commit(h, err, errlen);
    hlog(LOG_INFO, fresh->id, "started again on %s %s from step %llu",
         fresh->agent_plugin->info->name, fresh->agent_plugin->info->version,
         (unsigned long long)atomic_load(&fresh->steps));
out:
    json_decref(rec);
    diag_free(&d);
    return rc;
}

/* A start of a failed agent (1: it is not failed, go on as usual). */
static int
start_failed(struct host *h, const char *id, char *err, size_t errlen)
{
    int rc = 1;
    pthread_rwlock_rdlock(&h->code_lock); /* the plugins looked up stay until fresh is in the set */
    pthread_mutex_lock(&h->runs.lock);
    struct run *r = find(h, id, err, errlen);
    if (r && atomic_load(&r->state) == RUN_FAILED)
        rc = restart_failed(h, r, err, errlen);
    pthread_mutex_unlock(&h->runs.lock);
    pthread_rwlock_unlock(&h->code_lock);
    return rc;
}

int
agents_set_running(struct host *h, const char *id, int running, char *err, size_t errlen)
{
    int rc = running ? start_failed(h, id, err, errlen) : 1;
    if (rc != 1)
        return rc;
    rc = 0;
    pthread_mutex_lock(&h->runs.lock);
    struct run *r = find(h, id, err, errlen);
    if (!r) {
        rc = -ENOENT;
        goto out;
    }
    int from = running ? RUN_STOPPED : RUN_RUNNING;
    int to = running ? RUN_RUNNING : RUN_STOPPED;
    int state = atomic_load(&r->state);
    if (state == to)
        goto out; /* already so: nothing to do, and not an error */
    if (state == RUN_FAILED) {
        snprintf(err, errlen, "agent '%s' failed (%s); start or reset it to train again", id,
                 r->error);
        rc = -EBUSY;
        goto out;
    }
    if (!atomic_compare_exchange_strong(&r->state, &from, to)) {
        snprintf(err, errlen, "agent '%s' is %s", id, run_state_name(atomic_load(&r->state)));
        rc = -EBUSY;
        goto out;
    }
    /* Once its runner is out of the slice it was in, the run stands still: its steps are
     * final, and its checkpoint (taken by the runner next round) is where it stopped. */
    if (!running) {
        while (atomic_load(&r->stepping)) {
            struct timespec ts = {0, 100 * 1000};
            nanosleep(&ts, NULL);
        }
        atomic_store(&r->checkpoint_request, 1);
        wait_checkpoint(r);
    }
    /* The record is read back from the store: commit what is queued first (a parameter
     * change commits after letting go of the lock, see reload/proposals.c). */
    if ((rc = persist_commit(h, err, errlen)) != 0)
        goto out;
    if (persist_set_paused(h, id, !running)) {
        snprintf(err, errlen, "agent '%s' is %s, but its record could not be updated", id,
                 running ? "running" : "stopped");
        rc = -EIO;
        goto out;
    }
    rc = persist_commit(h, err, errlen);
    hlog(LOG_INFO, id, running ? "started" : "stopped at step %llu",
         (unsigned long long)atomic_load(&r->steps));
out:
    pthread_mutex_unlock(&h->runs.lock);
    return rc;
}

/* After r left the set: waits for its runner, commits what it queued, forgets its records. */
static int
retire(struct host *h, struct run *r, int keep_record, char *err, size_t errlen)
{
    runs_drain(r);
    /* Its last checkpoint may be in flight, with a pointer into r: commit before freeing. */
    int rc = persist_commit(h, err, errlen);
    writer_forget(h->writer, r->id, keep_record);
    if (rc == 0)
        rc = persist_commit(h, err, errlen);
    run_destroy(r);
    return rc;
}

int
agents_reset(struct host *h, const char *id, char *err, size_t errlen)
{
    char why[768];
    struct diag d = {0};
    struct run_spec s;
    struct run *fresh = NULL;
    json_t *rec = NULL;
    int rc = 0;
    pthread_rwlock_rdlock(&h->code_lock); /* the plugins looked up stay until fresh is in the set */
    pthread_mutex_lock(&h->runs.lock);
    struct run *old = find(h, id, err, errlen);
    if (!old) {
        rc = -ENOENT;
        goto out;
    }
    if ((rc = persist_commit(h, err, errlen)) != 0) /* a queued rewrite of the record, see above */
        goto out;
    rec = persist_record(h, id);
    if ((rc = current_spec(h, id, rec, &s, err, errlen)) != 0)
        goto out;
    if (run_create(&s, &fresh, why, sizeof why)) {
        snprintf(err, errlen, "agent '%s': %s", id, why);
        rc = -EINVAL;
        goto out;
    }
    persist_attach(h, fresh);
    /* fresh is READY: runners leave it alone until its predecessor's records are gone. */
    if (runs_replace(&h->runs, old, fresh)) {
        run_destroy(fresh);
        snprintf(err, errlen, "out of memory");
        rc = -ENOMEM;
        goto out;
    }
    int was = atomic_load(&old->state);
    rc = retire(h, old, 1, err, errlen);
    atomic_store(&fresh->checkpoint_time, (double)time(NULL));
    atomic_store(&fresh->state, was == RUN_STOPPED ? RUN_STOPPED : RUN_RUNNING);
    hlog(LOG_INFO, id, "reset to step 0");
out:
    pthread_mutex_unlock(&h->runs.lock);
    pthread_rwlock_unlock(&h->code_lock);
    json_decref(rec);
    diag_free(&d);
    return rc;
}

/* Puts old back in fresh's place after a re-creation that failed. */
static void
restore(struct host *h, struct run *old, struct run *fresh)
{
    if (runs_replace(&h->runs, fresh, old) != 0) {
        /* fresh stays in the set, failed: a restart resumes from the last checkpoint */
        char why[1024];
        snprintf(fresh->error, sizeof fresh->error, "out of memory while re-creating it");
        atomic_store(&fresh->state, RUN_FAILED);
        persist_commit(h, why, sizeof why); /* old's last checkpoint may be in flight */
        run_destroy(old);
        return;
    }
    runs_drain(fresh);
    run_destroy(fresh);
}

/* What persistence knows of a run that must outlive it in its successor. */
static void
carry_over(struct run *to, const struct run *from)
{
    to->scalar_seq = from->scalar_seq;
    to->scalar_time = from->scalar_time;
    atomic_store(&to->checkpointed, atomic_load(&from->checkpointed));
    atomic_store(&to->checkpoint_step, atomic_load(&from->checkpoint_step));
    atomic_store(&to->checkpoint_time, atomic_load(&from->checkpoint_time));
    atomic_store(&to->history_dropped, atomic_load(&from->history_dropped));
}

int
agents_recreate_locked(struct host *h, struct run *old, tars_params *ap, tars_params *ep,
                       uint64_t version, char *err, size_t errlen)
{
    char why[768];
    struct run_spec s = {.id = old->id,
                         .agent = old->agent_plugin,
                         .env = old->env_plugin,
                         .n_envs = old->n_envs,
                         .seed = old->seed,
                         .agent_params = ap,
                         .env_params = ep};
    struct run *fresh;
    if (run_create(&s, &fresh, why, sizeof why)) {
        snprintf(err, errlen, "agent '%s' cannot be re-created with these parameters: %s", old->id,
                 why);
        return -EINVAL;
    }
    fresh->params->version = version;
    persist_attach(h, fresh);
    /* fresh is READY: its runner leaves it alone until it holds old's state. */
    if (runs_replace(&h->runs, old, fresh)) {
        run_destroy(fresh);
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    runs_drain(old); /* now no runner steps it: its state is final */
    int was = atomic_load(&old->state);
    if (was == RUN_FAILED) { /* it failed meanwhile: its state is suspect */
        snprintf(err, errlen, "agent '%s' failed (%s); reset it first", s.id, old->error);
        restore(h, old, fresh);
        return -EBUSY;
    }
    void *blob = NULL;
    size_t len = 0;
    int rc = run_save(old, &blob, &len, why, sizeof why);
    if (rc == 0)
        rc = run_load(fresh, blob, len, why, sizeof why);
    free(blob);
    if (rc) {
        snprintf(err, errlen,
                 "agent '%s' cannot take its saved state with these parameters (%s); it goes on "
                 "with the old ones",
                 s.id, why);
        restore(h, old, fresh);
        return -EINVAL;
    }
    carry_over(fresh, old);
    /* Its last checkpoint may be in flight, with a pointer into old: commit before freeing.
     * The re-creation stands either way (the writer retries what it could not commit). */
    if (persist_commit(h, why, sizeof why))
        hlog(LOG_WARN, fresh->id, "re-created, but %s", why);
    run_destroy(old);
    atomic_store(&fresh->state, was == RUN_STOPPED ? RUN_STOPPED : RUN_RUNNING);
    hlog(LOG_INFO, fresh->id, "re-created with new parameters at step %llu",
         (unsigned long long)atomic_load(&fresh->steps));
    return 0;
}

int
agents_delete(struct host *h, const char *id, char *err, size_t errlen)
{
    int rc = 0;
    pthread_mutex_lock(&h->runs.lock);
    struct run *r = find(h, id, err, errlen);
    if (!r) {
        rc = -ENOENT;
        goto out;
    }
    if (config_agent(&h->cfg, id)) {
        snprintf(err, errlen,
                 "agent '%s' is listed in the config, which would create it again at the next "
                 "start: remove it from the config instead",
                 id);
        rc = -EPERM;
        goto out;
    }
    if (runs_remove(&h->runs, r)) {
        snprintf(err, errlen, "out of memory");
        rc = -ENOMEM;
        goto out;
    }
    hlog(LOG_INFO, id, "deleted after %llu steps", (unsigned long long)atomic_load(&r->steps));
    rc = retire(h, r, 0, err, errlen);
out:
    pthread_mutex_unlock(&h->runs.lock);
    return rc;
}
