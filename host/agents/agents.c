#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "agents.h"
#include "host.h"
#include "log.h"
#include "persist.h"
#include "rcu.h"
#include "writer.h"

/*
 * Claims id (runset.h) and finds its run: operations on one agent take turns, and the set's
 * lock is let go before any wait. 0, or -ENOENT with "no agent 'id'" in err (not claimed).
 */
static int
claim(struct host *h, const char *id, struct run **out, char *err, size_t errlen)
{
    pthread_mutex_lock(&h->runs.lock);
    int rc = runs_claim(&h->runs, id);
    struct run *r = rc ? NULL : runset_find(runs_current(&h->runs), id);
    if (rc)
        snprintf(err, errlen, "out of memory");
    else if (!r) {
        runs_release(&h->runs, id);
        snprintf(err, errlen, "no agent '%s'", id);
        rc = -ENOENT;
    }
    pthread_mutex_unlock(&h->runs.lock);
    *out = r;
    return rc;
}

static void
unclaim(struct host *h, const char *id)
{
    pthread_mutex_lock(&h->runs.lock);
    runs_release(&h->runs, id);
    pthread_mutex_unlock(&h->runs.lock);
}

/*
 * A commit that failed once the change was in effect (a stop, a start, a delete, a reset):
 * the change stands and stays queued for the writer to retry, so a full disk is not the
 * API's "nothing was changed" (-ENOSPC, 507) but a failed store (-EIO).
 */
static int
unsaved(int rc)
{
    return rc == -ENOSPC ? -EIO : rc;
}

/* Where id is in h->waiting (a stored agent whose plugin is gone), or -1. Under runs.lock. */
static long
waiting_at(const struct host *h, const char *id)
{
    for (size_t i = 0; i < h->waiting.n; i++)
        if (strcmp(h->waiting.v[i], id) == 0)
            return (long)i;
    return -1;
}

/* Claims an id for a new agent: -EEXIST when taken, by a run or by a stored agent waiting
 * for its plugin (whose checkpoints and history a new agent must not inherit). */
static int
claim_new(struct host *h, const char *id, char *err, size_t errlen)
{
    pthread_mutex_lock(&h->runs.lock);
    int rc = runs_claim(&h->runs, id);
    if (rc) {
        snprintf(err, errlen, "out of memory");
    } else if (runset_find(runs_current(&h->runs), id)) {
        runs_release(&h->runs, id);
        snprintf(err, errlen, "agent '%s' already exists", id);
        rc = -EEXIST;
    } else if (waiting_at(h, id) >= 0) {
        runs_release(&h->runs, id);
        snprintf(err, errlen,
                 "agent '%s' already exists in the state dir, waiting for its plugin; delete it "
                 "first",
                 id);
        rc = -EEXIST;
    }
    pthread_mutex_unlock(&h->runs.lock);
    return rc;
}

/* Builds r and commits its record, with nothing locked (id claimed). */
static int
build(struct host *h, struct run_spec *s, const char *preset, struct run **out, char *err,
      size_t errlen)
{
    char why[768];
    char *record = persist_agent_record(s, preset, s->trial.budget ? "study" : "api");
    if (!record) {
        tars_params_free(s->agent_params);
        tars_params_free(s->env_params);
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    if (run_create(s, out, why, sizeof why)) {
        snprintf(err, errlen, "agent '%s': %s", s->id, why);
        free(record);
        return -EINVAL;
    }
    persist_attach(h, *out);
    writer_json(h->writer, DB_AGENTS, s->id, record, strlen(record));
    free(record);
    int rc = persist_commit(h, err, errlen);
    if (rc) { /* the record stays queued for a retry: make sure it goes, since the run will */
        writer_forget(h->writer, s->id, 0);
        run_destroy(*out);
    }
    return rc;
}

int
agents_create(struct host *h, struct run_spec *s, const char *preset, char *err, size_t errlen)
{
    struct run *r = NULL;
    int rc = claim_new(h, s->id, err, errlen);
    if (rc) {
        tars_params_free(s->agent_params);
        tars_params_free(s->env_params);
        return rc;
    }
    if ((rc = build(h, s, preset, &r, err, errlen)) != 0) {
        unclaim(h, s->id);
        return rc;
    }
    pthread_mutex_lock(&h->runs.lock);
    rc = runs_add(&h->runs, r);
    runs_release(&h->runs, s->id);
    pthread_mutex_unlock(&h->runs.lock);
    if (rc) {
        writer_forget(h->writer, s->id, 0);
        run_destroy(r);
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    atomic_store(&r->checkpoint_time, (double)time(NULL));
    atomic_store(&r->state, RUN_RUNNING);
    hlog(LOG_INFO, r->id, "created: %s on %s (%u envs, seed %llu)", r->agent_plugin->info->name,
         r->env_plugin->info->name, r->n_envs, (unsigned long long)r->seed);
    return 0;
}

/* Whether r is still in the set of runs (an RCU thread). */
static int
in_set(struct host *h, const struct run *r)
{
    rcu_enter();
    const struct runset *s = runs_current(&h->runs);
    int found = 0;
    for (size_t i = 0; i < s->n && !found; i++)
        found = s->v[i] == r;
    rcu_leave();
    return found;
}

/*
 * Until the runner has taken the requested checkpoint and queued it to the writer, at most
 * 30 s; the caller's commit then writes it at once (the writer would otherwise wait for its
 * next period, 100 ms), so a stop's reply names the checkpoint it stands at. A run that left
 * the set (a code swap's re-creation) takes none.
 */
static void
wait_checkpoint(struct host *h, struct run *r)
{
    runner_pool_wake(&h->pool);
    for (int i = 0; i < 30000; i++) {
        if (!atomic_load(&r->checkpoint_request))
            return;
        if (i % 64 == 63 && !in_set(h, r))
            return;
        struct timespec ts = {0, 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

/* Starts failed r (claimed) again; defined below, after the rebuild it shares with reset. */
static int restart_failed(struct host *h, struct run *old, char *err, size_t errlen);

/* Stops or starts r (claimed); see agents_set_running. */
static int
set_running(struct host *h, struct run *r, int running, char *err, size_t errlen)
{
    const char *id = r->id;
    int from = running ? RUN_STOPPED : RUN_RUNNING;
    int to = running ? RUN_RUNNING : RUN_STOPPED;
    int state = atomic_load(&r->state);
    if (state == to)
        return 0; /* already so: nothing to do, and not an error */
    if (state == RUN_FAILED) {
        if (running)
            return restart_failed(h, r, err, errlen);
        snprintf(err, errlen, "agent '%s' failed (%s); start or reset it to train again", id,
                 r->error);
        return -EBUSY;
    }
    if (!atomic_compare_exchange_strong(&r->state, &from, to)) {
        snprintf(err, errlen, "agent '%s' is %s", id, run_state_name(atomic_load(&r->state)));
        return -EBUSY;
    }
    /* Once its runner is out of the slice it was in, the run stands still: its steps are
     * final, and its checkpoint (taken by the runner next round) is where it stopped. */
    if (!running) {
        while (atomic_load(&r->stepping)) {
            struct timespec ts = {0, 100 * 1000};
            nanosleep(&ts, NULL);
        }
        atomic_store(&r->checkpoint_request, 1);
        wait_checkpoint(h, r);
    } else {
        runner_pool_wake(&h->pool); /* it steps now, not after an idle runner's sleep */
    }
    /* The record is read back from the store: commit what is queued first (a parameter
     * change commits after letting go of the lock, see reload/proposals.c). */
    int rc = unsaved(persist_commit(h, err, errlen));
    if (rc)
        return rc;
    if (persist_set_paused(h, id, !running)) {
        snprintf(err, errlen, "agent '%s' is %s, but its record could not be updated", id,
                 running ? "running" : "stopped");
        return -EIO;
    }
    rc = unsaved(persist_commit(h, err, errlen));
    hlog(LOG_INFO, id, running ? "started" : "stopped at step %llu",
         (unsigned long long)atomic_load(&r->steps));
    return rc;
}

int
agents_set_running(struct host *h, const char *id, int running, char *err, size_t errlen)
{
    struct run *r;
    /* A start may restart a failed agent: the plugins it looks up stay until the fresh run is
     * in the set (code_lock before the claim, as a reset takes them). A stop, which may wait
     * for a checkpoint, holds no code swap back. */
    if (running)
        pthread_rwlock_rdlock(&h->code_lock);
    int rc = claim(h, id, &r, err, errlen);
    if (rc == 0) {
        /* The claim keeps r in the set: no delete, reset or re-creation while it waits. */
        rc = set_running(h, r, running, err, errlen);
        unclaim(h, id);
    }
    if (running)
        pthread_rwlock_unlock(&h->code_lock);
    return rc;
}

/* After r left the set: waits for its runner, commits what it queued, forgets its records. */
static int
retire(struct host *h, struct run *r, int keep_record, char *err, size_t errlen)
{
    runs_drain(r);
    /* Its last checkpoint may be in flight, with a pointer into r: commit before freeing. */
    int rc = unsaved(persist_commit(h, err, errlen));
    writer_forget(h->writer, r->id, keep_record);
    if (rc == 0)
        rc = unsaved(persist_commit(h, err, errlen));
    run_destroy(r);
    return rc;
}

/* The run_spec of agent id's record on the builds registered now, which points into *recp
 * (the caller's to decref); -EIO with the reason in err, -EBUSY when a build is quarantined. */
static int
rebuild_spec(struct host *h, const char *id, struct run_spec *s, json_t **recp, char *err,
             size_t errlen)
{
    struct diag d = {0};
    json_t *rec = *recp = persist_record(h, id);
    /* A rescan may be growing the registry, and a release frees a quarantine's reason: both
     * under reg_lock for writing, so the spec and the quarantine are read under it. */
    pthread_rwlock_rdlock(&h->reg_lock);
    int bad = !rec || persist_spec(h, rec, s, &d);
    const struct plugin *q = bad                     ? NULL
                             : s->agent->quarantined ? s->agent
                             : s->env->quarantined   ? s->env
                                                     : NULL;
    if (bad)
        snprintf(err, errlen, "agent '%s' cannot be rebuilt: %s", id,
                 d.n ? d.lines[0] : "its record is unreadable");
    else if (q)
        snprintf(err, errlen,
                 "agent '%s' cannot start: %s; a new build of '%s' or POST "
                 "/api/v1/plugins/%s/release lifts the quarantine",
                 id, q->quarantined, q->m.name, q->m.name);
    pthread_rwlock_unlock(&h->reg_lock);
    diag_free(&d);
    if ((bad && rec) || q) {
        tars_params_free(s->agent_params);
        tars_params_free(s->env_params);
    }
    return bad ? -EIO : q ? -EBUSY : 0;
}

/* A fresh run (READY, attached to the store) of agent id's record, on the builds registered
 * now; what is queued is committed first (a rewrite of the record, see above). */
static int
rebuild(struct host *h, const char *id, struct run **fresh, char *err, size_t errlen)
{
    char why[768];
    struct run_spec s;
    json_t *rec = NULL;
    int rc = persist_commit(h, err, errlen);
    if (rc == 0 && (rc = rebuild_spec(h, id, &s, &rec, err, errlen)) == 0 &&
        run_create(&s, fresh, why, sizeof why)) {
        snprintf(err, errlen, "agent '%s': %s", id, why);
        rc = -EINVAL;
    }
    json_decref(rec);
    if (rc == 0)
        persist_attach(h, *fresh);
    return rc;
}

/* Puts fresh in old's place in the set (fresh is destroyed if it cannot be). */
static int
replace(struct host *h, struct run *old, struct run *fresh, char *err, size_t errlen)
{
    pthread_mutex_lock(&h->runs.lock);
    int rc = runs_replace(&h->runs, old, fresh);
    pthread_mutex_unlock(&h->runs.lock);
    if (rc) {
        run_destroy(fresh);
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    return 0;
}

/*
 * Starts failed old (claimed) again: rebuilt from its record on the builds registered now and
 * resumed from its last checkpoint (its history and checkpoints go on).
 */
static int
restart_failed(struct host *h, struct run *old, char *err, size_t errlen)
{
    struct diag d = {0};
    struct run *fresh = NULL;
    const char *id = old->id;
    int rc = rebuild(h, id, &fresh, err, errlen);
    if (rc)
        return rc;
    if (persist_resume(h, fresh, &d)) {
        snprintf(err, errlen, "agent '%s' cannot start again: %s", id,
                 d.n ? d.lines[0] : "out of memory");
        diag_free(&d);
        run_destroy(fresh);
        return -EIO;
    }
    diag_free(&d);
    if ((rc = replace(h, old, fresh, err, errlen)) != 0)
        return rc;
    runs_drain(old);
    /* Its last checkpoint may be in flight, with a pointer into old: commit before freeing. */
    rc = unsaved(persist_commit(h, err, errlen));
    run_destroy(old);
    atomic_store(&fresh->state, RUN_RUNNING);
    if (rc == 0 && persist_set_paused(h, fresh->id, 0) == 0)
        rc = unsaved(persist_commit(h, err, errlen));
    hlog(LOG_INFO, fresh->id, "started again on %s %s from step %llu",
         fresh->agent_plugin->info->name, fresh->agent_plugin->info->version,
         (unsigned long long)atomic_load(&fresh->steps));
    return rc;
}

/* Replaces old (claimed) by a fresh run of its record. */
static int
reset(struct host *h, struct run *old, char *err, size_t errlen)
{
    struct run *fresh = NULL;
    int rc = rebuild(h, old->id, &fresh, err, errlen);
    /* fresh is READY: runners leave it alone until its predecessor's records are gone. */
    if (rc || (rc = replace(h, old, fresh, err, errlen)) != 0)
        return rc;
    int was = atomic_load(&old->state);
    rc = retire(h, old, 1, err, errlen);
    atomic_store(&fresh->checkpoint_time, (double)time(NULL));
    atomic_store(&fresh->state, was == RUN_STOPPED ? RUN_STOPPED : RUN_RUNNING);
    hlog(LOG_INFO, fresh->id, "reset to step 0");
    return rc;
}

int
agents_reset(struct host *h, const char *id, char *err, size_t errlen)
{
    struct run *old;
    /* The plugins looked up stay until fresh is in the set, and the retired run's code until
     * it is destroyed (codeswap.h). */
    pthread_rwlock_rdlock(&h->code_lock);
    int rc = claim(h, id, &old, err, errlen);
    if (rc == 0) {
        rc = reset(h, old, err, errlen);
        unclaim(h, id);
    }
    pthread_rwlock_unlock(&h->code_lock);
    return rc;
}

/* Puts old back in fresh's place after a re-creation that failed. */
static void
restore(struct host *h, struct run *old, struct run *fresh)
{
    pthread_mutex_lock(&h->runs.lock);
    int rc = runs_replace(&h->runs, fresh, old);
    pthread_mutex_unlock(&h->runs.lock);
    if (rc != 0) {
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
agents_recreate(struct host *h, struct run *old, tars_params *ap, tars_params *ep, uint64_t version,
                char *err, size_t errlen)
{
    char why[768];
    struct run_spec s = {.id = old->id,
                         .agent = old->agent_plugin,
                         .env = old->env_plugin,
                         .n_envs = old->n_envs,
                         .seed = old->seed,
                         .agent_params = ap,
                         .env_params = ep,
                         .trial = old->trial ? old->trial->conf : (struct trial_conf){0}};
    struct run *fresh;
    if (run_create(&s, &fresh, why, sizeof why)) {
        snprintf(err, errlen, "agent '%s' cannot be re-created with these parameters: %s", old->id,
                 why);
        return -EINVAL;
    }
    fresh->params->version = version;
    persist_attach(h, fresh);
    /* fresh is READY: its runner leaves it alone until it holds old's state. */
    pthread_mutex_lock(&h->runs.lock);
    int replaced = runs_replace(&h->runs, old, fresh);
    pthread_mutex_unlock(&h->runs.lock);
    if (replaced) {
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

/* Deletes a stored agent that waits for its plugin: its record, checkpoints and history.
 * -ENOENT (err already says "no agent") when id is not one. */
static int
forget_waiting(struct host *h, const char *id, char *err, size_t errlen)
{
    pthread_mutex_lock(&h->runs.lock);
    long at = waiting_at(h, id);
    int rc = at < 0 ? -ENOENT : runs_claim(&h->runs, id) ? -ENOMEM : 0;
    if (rc == 0) {
        free(h->waiting.v[at]);
        h->waiting.v[at] = h->waiting.v[--h->waiting.n];
    }
    pthread_mutex_unlock(&h->runs.lock);
    if (rc == -ENOMEM)
        snprintf(err, errlen, "out of memory");
    if (rc)
        return rc;
    rc = writer_forget(h->writer, id, 0) ? -ENOMEM : 0;
    if (rc)
        snprintf(err, errlen, "out of memory");
    else
        rc = unsaved(persist_commit(h, err, errlen));
    if (rc == 0)
        hlog(LOG_INFO, id, "deleted while it waited for its plugin");
    unclaim(h, id);
    return rc;
}

int
agents_delete(struct host *h, const char *id, char *err, size_t errlen)
{
    struct run *r;
    /* A removed run's code stays until it is destroyed: a code swap frees a superseded
     * generation only when no run uses it, and it sees only the runs in the set. */
    pthread_rwlock_rdlock(&h->code_lock);
    int rc = claim(h, id, &r, err, errlen);
    if (rc == -ENOENT) {
        pthread_rwlock_unlock(&h->code_lock);
        return forget_waiting(h, id, err, errlen);
    }
    if (rc) {
        pthread_rwlock_unlock(&h->code_lock);
        return rc;
    }
    if (config_agent(&h->cfg, id)) {
        snprintf(err, errlen,
                 "agent '%s' is listed in the config, which would create it again at the next "
                 "start: remove it from the config instead",
                 id);
        rc = -EPERM;
    } else {
        pthread_mutex_lock(&h->runs.lock);
        rc = runs_remove(&h->runs, r);
        pthread_mutex_unlock(&h->runs.lock);
        if (rc)
            snprintf(err, errlen, "out of memory");
    }
    if (rc == 0) {
        hlog(LOG_INFO, id, "deleted after %llu steps", (unsigned long long)atomic_load(&r->steps));
        rc = retire(h, r, 0, err, errlen);
    }
    unclaim(h, id); /* the caller's id: r's went with it */
    pthread_rwlock_unlock(&h->code_lock);
    return rc;
}
