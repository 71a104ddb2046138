#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "agents.h"
#include "host.h"
#include "log.h"
#include "params_json.h"
#include "params_swap.h"
#include "persist.h"
#include "writer.h"

/* What a request makes of a run's current pair: the new snapshots and what differs. */
struct prepared {
    struct run *run;
    struct run_params *cur;
    tars_params *agent, *env;
    json_t *diff;
    int changed;
    char cold[64]; /* the first changed parameter that is not HOT ("" when all are) */
};

static void
prepared_free(struct prepared *p)
{
    tars_params_free(p->agent);
    tars_params_free(p->env);
    json_decref(p->diff);
}

/* A copy of `from` with obj's values applied; what names the scope in errors. */
static int
derive(const tars_params *from, json_t *obj, const char *what, tars_params **out, char *err,
       size_t errlen)
{
    if (obj && !json_is_object(obj)) {
        snprintf(err, errlen, "\"%s\" must be an object of parameter values", what);
        return -EINVAL;
    }
    if (tars_params_clone(from, out)) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
    {
        char why[512];
        if (pjson_set(*out, key, v, why, sizeof why)) {
            snprintf(err, errlen, "%s: %s", what, why);
            tars_params_free(*out);
            *out = NULL;
            return -EINVAL;
        }
    }
    return 0;
}

/* Adds {name: {old, new}} for each value that differs between a and b under diff[scope]. */
static void
diff_into(struct prepared *p, const char *scope, const tars_params *a, const tars_params *b)
{
    json_t *changes = json_object();
    for (uint32_t i = 0; changes && i < tars_params_count(a); i++) {
        double va = tars_param_value(a, i), vb = tars_param_value(b, i);
        if (va == vb)
            continue;
        const tars_param_def *d = tars_params_def(a, i);
        json_object_set_new(
            changes, d->name,
            json_pack("{s:o, s:o}", "old", pjson_value(d, va), "new", pjson_value(d, vb)));
        p->changed++;
        if (!(d->flags & TARS_PARAM_HOT) && !p->cold[0])
            snprintf(p->cold, sizeof p->cold, "%s", d->name);
    }
    if (json_object_size(changes))
        json_object_set_new(p->diff, scope, changes);
    else
        json_decref(changes);
}

/* With the run set's lock held: the run, and what the request makes of its parameters. */
static int
prepare(struct host *h, const char *id, const struct param_request *rq, struct prepared *p,
        char *err, size_t errlen)
{
    memset(p, 0, sizeof *p);
    p->run = runset_find(runs_current(&h->runs), id);
    if (!p->run) {
        snprintf(err, errlen, "no agent '%s'", id);
        return -ENOENT;
    }
    if (atomic_load(&p->run->state) == RUN_FAILED) {
        snprintf(err, errlen, "agent '%s' failed (%s); reset it first", id, p->run->error);
        return -EBUSY;
    }
    if (!rq->params && !rq->env_params) {
        snprintf(err, errlen, "nothing to change: give \"params\" and/or \"env_params\"");
        return -EINVAL;
    }
    /* Only holders of the lock publish, so the current pair cannot go while we hold it. */
    p->cur = atomic_load_explicit(&p->run->params, memory_order_acquire);
    int rc = derive(p->cur->agent, rq->params, "params", &p->agent, err, errlen);
    if (rc == 0)
        rc = derive(p->cur->env, rq->env_params, "env_params", &p->env, err, errlen);
    if (rc == 0 && !(p->diff = json_object())) {
        snprintf(err, errlen, "out of memory");
        rc = -ENOMEM;
    }
    if (rc == 0) {
        diff_into(p, "params", p->cur->agent, p->agent);
        diff_into(p, "env_params", p->cur->env, p->env);
    }
    return rc;
}

/* The refusal of a change to a parameter that is not HOT without recreate: -EPERM. */
static int
refuse_cold(const struct prepared *p, const char *id, char *err, size_t errlen)
{
    snprintf(err, errlen,
             "parameter '%s' of agent '%s' is not HOT (it cannot change while the agent trains); "
             "ask for \"recreate\": true to re-create the agent from its saved state with it",
             p->cold, id);
    return -EPERM;
}

int
params_check(struct host *h, const char *id, const struct param_request *rq, json_t **diff,
             int *needs_recreate, char *err, size_t errlen)
{
    struct prepared p;
    pthread_mutex_lock(&h->runs.lock);
    int rc = prepare(h, id, rq, &p, err, errlen);
    pthread_mutex_unlock(&h->runs.lock);
    if (rc == 0 && p.cold[0] && !rq->recreate)
        rc = refuse_cold(&p, id, err, errlen);
    if (rc == 0) {
        *diff = json_incref(p.diff);
        *needs_recreate = p.cold[0] != 0;
    }
    prepared_free(&p);
    return rc;
}

/* Queues the agent's record rewritten with the new values (the caller commits it). */
static int
queue_record(struct host *h, const char *id, const tars_params *agent, const tars_params *env,
             char *err, size_t errlen)
{
    json_t *fields =
        json_pack("{s:o, s:o}", "params", pjson_values(agent), "env_params", pjson_values(env));
    int rc = fields ? persist_update_record(h, id, fields) : -1;
    json_decref(fields);
    if (rc)
        snprintf(err, errlen, "agent '%s': its record could not be rewritten", id);
    return rc ? -EIO : 0;
}

/*
 * Queues the record with the prepared pair (consumed), then publishes the pair as the run's
 * next version; the pair is built first, so that the record never holds values the run does
 * not get.
 */
static int
publish(struct host *h, const char *id, struct prepared *p, double t0, struct param_outcome *out,
        char *err, size_t errlen)
{
    struct run *r = p->run;
    struct run_params *np = run_params_new(p->agent, p->env, p->cur->version + 1);
    p->agent = p->env = NULL;
    int rc = np ? queue_record(h, id, np->agent, np->env, err, errlen) : -ENOMEM;
    if (rc) {
        pthread_mutex_unlock(&h->runs.lock);
        if (!np)
            snprintf(err, errlen, "out of memory");
        run_params_free(np);
        return rc;
    }
    run_params_publish(r, np);
    out->version = np->version;
    out->publish_us = (np->published - t0) * 1e6;
    pthread_mutex_unlock(&h->runs.lock);
    return 0;
}

/*
 * With the agent claimed and the lock NOT held (a re-creation builds the agent's networks,
 * drains the old run and commits, which may take seconds for a large network: nothing else
 * may wait on the lock meanwhile): re-creates the agent with the prepared pair (consumed).
 */
static int
recreate(struct host *h, const char *id, struct prepared *p, uint64_t version, double t0,
         struct param_outcome *out, char *err, size_t errlen)
{
    int rc = agents_recreate(h, p->run, p->agent, p->env, version, err, errlen);
    p->agent = p->env = NULL;
    p->cur = NULL; /* freed with the old run */
    if (rc)
        return rc;
    /* The record holds the new values once the agent runs with them. */
    pthread_mutex_lock(&h->runs.lock);
    struct run *fresh = runset_find(runs_current(&h->runs), id);
    const struct run_params *np = atomic_load(&fresh->params);
    rc = queue_record(h, id, np->agent, np->env, err, errlen);
    out->version = np->version;
    pthread_mutex_unlock(&h->runs.lock);
    /* Committed before the claim goes: the next change of this agent rewrites the record
     * from the store, and must find these values there. */
    char why[512];
    if (rc == 0 && persist_commit(h, why, sizeof why) != 0)
        hlog(LOG_WARN, id, "re-created; its record is saved once the store recovers (%s)", why);
    if (rc) {
        snprintf(err, errlen,
                 "agent '%s' runs with the new parameters, but its record could not be rewritten: "
                 "the old ones come back at the next start",
                 id);
        rc = -EIO;
    }
    out->recreated = 1;
    out->publish_us = (host_now() - t0) * 1e6;
    return rc;
}

int
params_apply(struct host *h, const char *id, const struct param_request *rq,
             struct param_outcome *out, char *err, size_t errlen)
{
    double t0 = host_now();
    struct prepared p;
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&h->runs.lock);
    /* The claim (runset.h) waits out a stop, start, reset or delete of this agent in flight,
     * which hold no lock while they wait: its run stays the one we publish to. */
    if (runs_claim(&h->runs, id)) {
        pthread_mutex_unlock(&h->runs.lock);
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    int rc = prepare(h, id, rq, &p, err, errlen);
    if (rc == 0 && p.cold[0] && !rq->recreate)
        rc = refuse_cold(&p, id, err, errlen);
    if (rc == 0) {
        out->diff = json_incref(p.diff);
        out->version = p.cur->version;
    }
    if (rc || !p.changed) { /* an error, or nothing differs: nothing to publish */
        runs_release(&h->runs, id);
        pthread_mutex_unlock(&h->runs.lock);
        prepared_free(&p);
        return rc;
    }
    if (p.cold[0]) {
        /* The claim keeps the agent ours: let the lock go for the long part. */
        uint64_t version = p.cur->version + 1;
        pthread_mutex_unlock(&h->runs.lock);
        rc = recreate(h, id, &p, version, t0, out, err, errlen);
        pthread_mutex_lock(&h->runs.lock);
        runs_release(&h->runs, id);
        pthread_mutex_unlock(&h->runs.lock);
    } else {
        runs_release(&h->runs, id); /* publish lets go of the lock without waiting */
        rc = publish(h, id, &p, t0, out, err, errlen); /* unlocks */
    }
    prepared_free(&p);
    return rc;
}
