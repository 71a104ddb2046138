/*
 * Ask and tell over the API (an objective computed elsewhere), the best trial turned into a
 * HyperSync proposal, and the studies' metrics.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "clock.h"
#include "host.h"
#include "params_json.h"
#include "persist.h"
#include "proposals.h"
#include "rcu.h"
#include "studies.h"
#include "study_internal.h"
#include "trial.h"

static struct study *
open_study(struct host *h, uint64_t id, char *err, size_t errlen)
{
    struct studies *ss = h->studies;
    for (size_t i = 0; i < ss->n; i++)
        if (ss->v[i]->id == id && !ss->v[i]->deleting)
            return ss->v[i];
    snprintf(err, errlen, "no study %llu", (unsigned long long)id);
    return NULL;
}

/* The study and its running trial `number`, told over the API; -errno otherwise. */
static int
client_trial(struct host *h, uint64_t id, uint64_t number, struct study **sp, struct trial **tp,
             char *err, size_t errlen)
{
    struct study *s = open_study(h, id, err, errlen);
    if (!s)
        return -ENOENT;
    struct trial *t = study_trial(s, number);
    if (!t) {
        snprintf(err, errlen, "study '%s' has no trial %llu", s->name, (unsigned long long)number);
        return -ENOENT;
    }
    if (s->agent) {
        snprintf(err, errlen,
                 "the trials of study '%s' run on tarsd's runners, which report and tell them",
                 s->name);
        return -EBUSY;
    }
    if (t->state != TARS_TRIAL_RUNNING) {
        snprintf(err, errlen, "trial %llu of study '%s' is %s, not RUNNING",
                 (unsigned long long)number, s->name, tars_trial_state_name(t->state));
        return -EBUSY;
    }
    *sp = s;
    *tp = t;
    return 0;
}

int
studies_ask(struct host *h, uint64_t id, json_t *body, json_t **out, char *err, size_t errlen)
{
    pthread_mutex_lock(&h->studies->lock);
    struct study *s = open_study(h, id, err, errlen);
    int rc = s ? 0 : -ENOENT;
    json_t *given = body ? json_object_get(body, "params") : NULL;
    if (!rc && s->agent) {
        snprintf(err, errlen,
                 "study '%s' runs its own trials; ask and tell are for a study "
                 "without an agent",
                 s->name);
        rc = -EBUSY;
    } else if (!rc && s->state != STUDY_RUNNING) {
        snprintf(err, errlen, "study '%s' is not running (resume it first)", s->name);
        rc = -EBUSY;
    } else if (!rc && s->n_trials && s->n_trials_v >= s->n_trials) {
        snprintf(err, errlen, "study '%s' has asked all its %llu trials", s->name,
                 (unsigned long long)s->n_trials);
        rc = -EBUSY;
    } else if (!rc && given && !json_is_object(given)) {
        snprintf(err, errlen, "params: an object of the space's values");
        rc = -EINVAL;
    }
    tars_params *values = NULL;
    if (!rc && given && study_space_values(s, given, &values, err, errlen))
        rc = -EINVAL;
    struct trial *t = rc ? NULL : trial_add(s);
    if (!rc && !t) {
        snprintf(err, errlen, "out of memory");
        rc = -ENOMEM;
    }
    if (t) {
        t->started = host_wall();
        t->params = values;
        t->enqueued = values != NULL;
        rc = values ? tuner_enqueue(h, s, t, err, errlen) : tuner_ask(h, s, t, err, errlen);
        if (rc) {
            s->n_trials_v--;
            trial_free(t);
        } else {
            trial_put(h, s, t);
            tuner_save_due(h, s);
            *out = trial_json(s, t, 0);
        }
    } else
        tars_params_free(values);
    /* Committed before the lock goes: nobody reads a trial the store may not keep. */
    if (!rc)
        rc = persist_commit(h, err, errlen);
    pthread_mutex_unlock(&h->studies->lock);
    return rc;
}

int
studies_report(struct host *h, uint64_t id, uint64_t number, json_t *body, json_t **out, char *err,
               size_t errlen)
{
    struct study *s;
    struct trial *t;
    pthread_mutex_lock(&h->studies->lock);
    int rc = client_trial(h, id, number, &s, &t, err, errlen);
    json_t *step = json_object_get(body, "step"), *value = json_object_get(body, "value");
    if (!rc && (!json_is_integer(step) || json_integer_value(step) < 0 || !json_is_number(value) ||
                !isfinite(json_number_value(value)))) {
        snprintf(err, errlen,
                 "the body must be {\"step\": an integer >= 0, \"value\": a finite "
                 "number}");
        rc = -EINVAL;
    }
    int prune = 0;
    if (!rc)
        rc = tuner_report(h, s, t, (uint64_t)json_integer_value(step), json_number_value(value),
                          &prune, err, errlen);
    if (!rc) {
        trial_put(h, s, t);
        tuner_save_due(h, s);
        rc = persist_commit(h, err, errlen);
    }
    if (!rc)
        *out = json_pack("{s:I, s:b}", "number", (json_int_t)number, "prune", prune);
    pthread_mutex_unlock(&h->studies->lock);
    return rc;
}

int
studies_tell(struct host *h, uint64_t id, uint64_t number, json_t *body, json_t **out, char *err,
             size_t errlen)
{
    struct study *s;
    struct trial *t;
    pthread_mutex_lock(&h->studies->lock);
    int rc = client_trial(h, id, number, &s, &t, err, errlen);
    const char *state = json_string_value(json_object_get(body, "state"));
    json_t *values = json_object_get(body, "values"), *value = json_object_get(body, "value");
    uint32_t st = !state || strcmp(state, "COMPLETE") == 0 ? TARS_TRIAL_COMPLETE
                  : strcmp(state, "PRUNED") == 0           ? TARS_TRIAL_PRUNED
                  : strcmp(state, "FAILED") == 0           ? TARS_TRIAL_FAILED
                                                           : 0;
    if (!rc && !st) {
        snprintf(err, errlen, "state: COMPLETE, PRUNED or FAILED");
        rc = -EINVAL;
    }
    double v[TARS_TUNER_MAX_OBJECTIVES];
    size_t n = 0;
    if (!rc && st == TARS_TRIAL_COMPLETE) {
        if (value && !values && json_is_number(value))
            v[n++] = json_number_value(value);
        else
            for (; n < json_array_size(values) && n < TARS_TUNER_MAX_OBJECTIVES; n++) {
                json_t *x = json_array_get(values, n);
                v[n] = json_is_number(x) ? json_number_value(x) : NAN;
            }
        int finite = 1;
        for (size_t i = 0; i < n; i++)
            finite &= isfinite(v[i]);
        if (n != s->n_obj || !finite) {
            snprintf(err, errlen, "values: %u finite number%s (one per objective)", s->n_obj,
                     s->n_obj > 1 ? "s" : "");
            rc = -EINVAL;
        }
    }
    if (!rc) {
        t->state = st;
        t->n_values = (uint32_t)n;
        memcpy(t->values, v, n * sizeof *v);
        t->finished = host_wall();
        rc = tuner_tell(h, s, t, err, errlen);
        if (rc) { /* a tuner failed, maybe after the other learnt it: the study stops there */
            t->state = TARS_TRIAL_RUNNING;
            t->n_values = 0;
            t->finished = 0;
            s->state = STUDY_BROKEN;
            snprintf(s->error, sizeof s->error, "%.500s", err);
            study_put(h, s);
            rc = -EPROTO; /* 500: the tuner's fault, not the store's */
        } else {
            trial_put(h, s, t);
            tuner_save_due(h, s);
            *out = trial_json(s, t, 0);
        }
    }
    if (!rc)
        rc = persist_commit(h, err, errlen);
    pthread_mutex_unlock(&h->studies->lock);
    return rc;
}

int
studies_propose(struct host *h, uint64_t id, json_t *body, json_t *who, int decide_now,
                json_t **out, char *err, size_t errlen)
{
    const char *agent = json_string_value(json_object_get(body, "agent"));
    if (!agent) {
        snprintf(err, errlen, "the body must name the running agent: {\"agent\": \"id\"}");
        return -EINVAL;
    }
    pthread_mutex_lock(&h->studies->lock);
    struct study *s = open_study(h, id, err, errlen);
    long b = s ? study_best(s) : -1;
    int rc = !s ? -ENOENT : 0;
    if (s && b < 0) {
        snprintf(err, errlen, "study '%s' has no completed trial yet", s->name);
        rc = -ENOENT;
    } else if (s && (!s->agent || s->objectives[0] != OBJ_RETURN)) {
        snprintf(err, errlen, "study '%s' does not optimise an agent's return", s->name);
        rc = -EINVAL;
    }
    json_t *values = rc ? NULL : study_values_json(s, s->trials[b]->params);
    double best = rc ? 0 : s->trials[b]->values[0];
    uint32_t episodes = rc ? 0 : s->eval_episodes;
    uint64_t number = rc ? 0 : s->trials[b]->number;
    char plugin[128], name[STUDY_NAME_MAX + 1];
    snprintf(plugin, sizeof plugin, "%s", rc ? "" : s->agent);
    snprintf(name, sizeof name, "%s", rc ? "" : s->name);
    pthread_mutex_unlock(&h->studies->lock);
    if (rc)
        return rc;
    /* The agent's evaluation now, by its runner. */
    rcu_enter();
    struct run *r = runset_find(runs_current(&h->runs), agent);
    if (r)
        atomic_fetch_add(&r->refs, 1);
    char its[128] = "";
    if (r)
        snprintf(its, sizeof its, "%s", atomic_load(&r->agent_plugin)->info->name);
    int same = r && strcmp(its, plugin) == 0;
    rcu_leave();
    double mean = NAN, sd;
    if (!r) {
        snprintf(err, errlen, "no agent '%s'", agent);
        rc = -ENOENT;
    } else if (!same) {
        snprintf(err, errlen, "agent '%s' runs '%s', not the study's '%s'", agent, its, plugin);
        rc = -EINVAL;
    } else
        rc = run_eval_request(r, episodes, 60, &mean, &sd, err, errlen);
    if (r)
        atomic_fetch_sub(&r->refs, 1);
    if (rc) {
        json_decref(values);
        return rc;
    }
    char rationale[256];
    snprintf(rationale, sizeof rationale,
             "study '%s', trial %llu: evaluated %.6g against the agent's %.6g now", name,
             (unsigned long long)number, best, mean);
    json_t *recreate = json_object_get(body, "recreate");
    struct proposal_input in = {.agent = agent,
                                .change = {.params = values, .recreate = json_is_true(recreate)},
                                .rationale = rationale,
                                .expected_improvement = best - mean,
                                .who = who,
                                .decide_now = decide_now};
    rc = proposals_submit(h, &in, out, err, errlen);
    json_decref(values);
    return rc;
}

json_t *
studies_metrics(struct host *h)
{
    json_t *list = studies_list(h);
    size_t i;
    json_t *o, *by = json_pack("{s:i, s:i, s:i, s:i}", "running", 0, "complete", 0, "pruned", 0,
                               "failed", 0);
    json_array_foreach(list, i, o)
    {
        json_t *t = json_object_get(o, "trials");
        const char *key;
        json_t *v;
        json_object_foreach(by, key, v) json_integer_set(
            v, json_integer_value(v) + json_integer_value(json_object_get(t, key)));
    }
    return json_pack("{s:o, s:o}", "studies", list, "trials", by);
}
