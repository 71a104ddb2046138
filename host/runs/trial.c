/*
 * Trials' evaluations and on-demand evaluations, carried out by a run's runner (trial.h).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "clock.h"
#include "log.h"
#include "run.h"
#include "trial.h"

struct run_trial *
run_trial_new(const struct trial_conf *c)
{
    struct run_trial *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->conf = *c;
    pthread_mutex_init(&t->lock, NULL);
    return t;
}

void
run_trial_free(struct run_trial *t)
{
    if (!t)
        return;
    pthread_mutex_destroy(&t->lock);
    free(t);
}

/* The first evaluation step after `steps` (a multiple of eval_every, at most the budget). */
static uint64_t
next_after(const struct trial_conf *c, uint64_t steps)
{
    if (!c->eval_every)
        return c->budget;
    uint64_t n = (steps / c->eval_every + 1) * c->eval_every;
    return n < c->budget ? n : c->budget;
}

int
run_trial_spent(struct run *r)
{
    struct run_trial *t = r->trial;
    if (!t)
        return 0;
    uint64_t steps = atomic_load_explicit(&r->steps, memory_order_relaxed);
    /* An evaluation due ends the slice: it is taken at that step, not slices later. */
    return steps >= t->conf.budget || (t->next_eval && steps >= t->next_eval);
}

void
run_trial_before_slice(struct run *r)
{
    struct run_trial *t = r->trial;
    if (t->next_eval || atomic_load(&t->done))
        return;
    /* New, or resumed from a checkpoint: one taken right after an evaluation is evaluated
     * again (the study keeps the first of equal steps). */
    const struct trial_conf *c = &t->conf;
    uint64_t steps = atomic_load(&r->steps);
    int at_eval = steps && ((c->eval_every && steps % c->eval_every == 0) || steps >= c->budget);
    t->next_eval = at_eval ? steps : next_after(c, steps);
}

static void
post(struct run_trial *t, const struct trial_eval *e, const char *error)
{
    pthread_mutex_lock(&t->lock);
    if (t->n_posted == TRIAL_POSTED_MAX) /* the study fell far behind: the oldest goes */
        memmove(t->posted, t->posted + 1, (TRIAL_POSTED_MAX - 1) * sizeof *t->posted);
    if (e)
        t->posted[t->n_posted < TRIAL_POSTED_MAX ? t->n_posted++ : TRIAL_POSTED_MAX - 1] = *e;
    if (error)
        snprintf(t->error, sizeof t->error, "%s", error);
    pthread_mutex_unlock(&t->lock);
}

void
run_trial_after_slice(struct run *r)
{
    struct run_trial *t = r->trial;
    if (atomic_load(&t->done))
        return;
    uint64_t steps = atomic_load(&r->steps);
    if (!t->next_eval)
        run_trial_before_slice(r);
    if (steps < t->next_eval)
        return;
    struct trial_eval e = {.step = steps, .final = steps >= t->conf.budget};
    char err[512];
    /* Each evaluation on a fresh evaluation env (the same seed): its value depends on the
     * agent alone, so a trial resumed from the checkpoint of an evaluation gets it again. */
    if (r->eval_env) {
        r->eops->destroy(r->eval_env);
        r->eval_env = NULL;
    }
    if (run_evaluate(r, t->conf.eval_episodes, &e.mean, &e.std, err, sizeof err)) {
        hlog(LOG_ERROR, r->id, "trial evaluation failed: %s", err);
        post(t, NULL, err);
        atomic_store(&t->done, 1);
        return;
    }
    post(t, &e, NULL);
    t->next_eval = next_after(&t->conf, steps);
    /* A checkpoint at each evaluation: a trial resumed after a crash starts from there. */
    atomic_store(&r->checkpoint_request, 1);
    if (e.final)
        atomic_store(&t->done, 1);
}

size_t
run_trial_take(struct run *r, struct trial_eval *out, size_t cap, char *error, size_t errlen)
{
    struct run_trial *t = r->trial;
    if (!t)
        return 0;
    pthread_mutex_lock(&t->lock);
    size_t n = t->n_posted < cap ? t->n_posted : cap;
    memcpy(out, t->posted, n * sizeof *out);
    memmove(t->posted, t->posted + n, (t->n_posted - n) * sizeof *t->posted);
    t->n_posted -= n;
    if (error && errlen)
        snprintf(error, errlen, "%s", t->error);
    pthread_mutex_unlock(&t->lock);
    return n;
}

void
run_eval_serve(struct run *r)
{
    struct run_eval_req *q = atomic_exchange(&r->eval_req, NULL);
    if (!q)
        return;
    q->rc = r->agent ? run_evaluate(r, q->episodes, &q->mean, &q->std, q->err, sizeof q->err) : -1;
    if (!r->agent)
        snprintf(q->err, sizeof q->err, "'%.100s' has no agent to evaluate (%.300s)", r->id,
                 r->error);
    pthread_mutex_lock(&q->lock);
    q->finished = 1;
    pthread_cond_signal(&q->cond);
    pthread_mutex_unlock(&q->lock);
}

int
run_eval_request(struct run *r, uint32_t episodes, double timeout_s, double *mean, double *std,
                 char *err, size_t errlen)
{
    struct run_eval_req q = {.episodes = episodes};
    pthread_mutex_init(&q.lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&q.cond, &ca);
    pthread_condattr_destroy(&ca);
    struct run_eval_req *none = NULL;
    int rc = 0;
    if (!atomic_compare_exchange_strong(&r->eval_req, &none, &q)) {
        snprintf(err, errlen, "an evaluation of '%s' is under way; try again", r->id);
        rc = -EBUSY;
        goto out;
    }
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += (time_t)timeout_s;
    pthread_mutex_lock(&q.lock);
    while (!q.finished) {
        if (pthread_cond_timedwait(&q.cond, &q.lock, &until) == ETIMEDOUT) {
            struct run_eval_req *mine = &q;
            /* Taken back before the runner took it: nobody else touches q. Otherwise the
             * runner is evaluating (a bounded job): wait for it. */
            if (atomic_compare_exchange_strong(&r->eval_req, &mine, NULL)) {
                pthread_mutex_unlock(&q.lock);
                snprintf(err, errlen, "'%s' was not evaluated within %.0f s (its runner is busy)",
                         r->id, timeout_s);
                rc = -ETIMEDOUT;
                goto out;
            }
            until.tv_sec += 3600;
        }
    }
    pthread_mutex_unlock(&q.lock);
    if (q.rc) {
        snprintf(err, errlen, "%s", q.err);
        rc = -EIO;
    } else {
        *mean = q.mean;
        *std = q.std;
    }
out:
    pthread_cond_destroy(&q.cond);
    pthread_mutex_destroy(&q.lock);
    return rc;
}
