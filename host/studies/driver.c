/*
 * The studies' driver: a thread that, every DRIVER_PERIOD_MS, takes the evaluations the
 * trials' runs posted (trial.h), gathers them over each trial's seeds, reports them to the
 * pruner, prunes or completes trials, tells the tuners and starts the next trials. Decisions
 * are taken under the studies' lock; creating, stopping and deleting the trials' agents
 * (agents.h: builds, commits, waits for runners) is done after it is let go.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "agents.h"
#include "clock.h"
#include "host.h"
#include "log.h"
#include "params_json.h"
#include "persist.h"
#include "rcu.h"
#include "study_internal.h"

void
trial_agent_id(const struct study *s, uint64_t number, uint32_t k, char *buf, size_t len)
{
    if (s->seeds > 1)
        snprintf(buf, len, "%s-t%llu-s%u", s->name, (unsigned long long)number, k);
    else
        snprintf(buf, len, "%s-t%llu", s->name, (unsigned long long)number);
}

int
trial_run_is(struct host *h, const struct study *s, uint64_t number, uint32_t k)
{
    char id[128];
    trial_agent_id(s, number, k, id, sizeof id);
    rcu_enter();
    const struct run *r = runset_find(runs_current(&h->runs), id);
    const struct trial_conf *c = r && r->trial ? &r->trial->conf : NULL;
    int is = c && c->study == s->id && c->number == number && c->seed_index == k;
    rcu_leave();
    return is;
}

/* What to do with a trial's agents once the lock is let go. */
enum act { ACT_CREATE, ACT_DELETE, ACT_STOP, ACT_START, ACT_DELETE_OTHERS, ACT_PAUSE };
struct action {
    enum act what;
    uint64_t study, number;
};

struct actions {
    struct action *v;
    size_t n, cap;
};

static void
act(struct actions *a, enum act what, const struct study *s, uint64_t number)
{
    if (a->n == a->cap) {
        size_t cap = a->cap ? 2 * a->cap : 16;
        struct action *v = realloc(a->v, cap * sizeof *v);
        if (!v)
            return; /* retried at the next pass */
        a->v = v;
        a->cap = cap;
    }
    a->v[a->n++] = (struct action){what, s->id, number};
}

/* A tuner failed: the study stops for good (said in its record), its running trials paused. */
static void
break_study(struct host *h, struct study *s, const char *why, struct actions *a)
{
    hlog(LOG_ERROR, "studies", "study '%s' is broken: %s", s->name, why);
    snprintf(s->error, sizeof s->error, "%.500s", why);
    s->state = STUDY_BROKEN;
    study_put(h, s);
    for (size_t i = 0; i < s->n_trials_v; i++)
        if (s->trials[i]->state == TARS_TRIAL_RUNNING && s->trials[i]->launched)
            act(a, ACT_PAUSE, s, s->trials[i]->number);
}

static struct study *
find(struct studies *ss, uint64_t id)
{
    for (size_t i = 0; i < ss->n; i++)
        if (ss->v[i]->id == id && !ss->v[i]->deleting)
            return ss->v[i];
    return NULL;
}

/* Ends trial t (state and values set by the caller): told, stored, its agents handled. */
static void
finish(struct host *h, struct study *s, struct trial *t, struct actions *a)
{
    char err[768];
    t->finished = host_wall();
    if (tuner_tell(h, s, t, err, sizeof err))
        break_study(h, s, err, a);
    int keep = 0;
    if (s->keep_best && t->state == TARS_TRIAL_COMPLETE && t->launched) {
        long b = study_best(s);
        if (b >= 0 && s->trials[b] == t) {
            keep = 1;
            for (size_t i = 0; i < s->n_trials_v; i++)
                if (s->trials[i]->kept && s->trials[i] != t) {
                    s->trials[i]->kept = 0;
                    act(a, ACT_DELETE, s, s->trials[i]->number);
                    s->trials[i]->launched = 0;
                    trial_put(h, s, s->trials[i]);
                }
        }
    }
    if (keep) {
        t->kept = 1;
        act(a, ACT_DELETE_OTHERS, s, t->number);
        act(a, ACT_STOP, s, t->number);
    } else if (t->launched) {
        act(a, ACT_DELETE, s, t->number);
        t->launched = 0;
    }
    trial_put(h, s, t);
    tuner_save_due(h, s);
    hlog(LOG_INFO, "studies", "study '%s': trial %llu %s%s", s->name, (unsigned long long)t->number,
         tars_trial_state_name(t->state), "");
}

static double
objective_value(const struct study *s, const struct trial *t, enum objective o, double final)
{
    if (o == OBJ_RETURN)
        return final;
    uint64_t unreached = s->budget + (s->eval_every ? s->eval_every : s->budget);
    return (double)(t->reached ? t->reached : unreached);
}

/* A step every seed has reported: to the pruner, or the trial's end. */
static void
gathered(struct host *h, struct study *s, struct trial *t, const struct gather *g,
         struct actions *a)
{
    double mean = g->sum / (double)s->seeds;
    if (!t->reached && isfinite(s->target) && mean >= s->target)
        t->reached = g->step;
    char err[768];
    if (g->final) {
        t->state = TARS_TRIAL_COMPLETE;
        t->n_values = s->n_obj;
        for (uint32_t i = 0; i < s->n_obj; i++)
            t->values[i] = objective_value(s, t, s->objectives[i], mean);
        finish(h, s, t, a);
        return;
    }
    if (t->n_iv && g->step <= t->iv[t->n_iv - 1].step)
        return; /* evaluated again after a restart */
    /* The pruner judges objective 0; for steps to a target it sees the return, which it
     * cannot compare in that direction, so only a return objective is pruned. */
    int prune = 0;
    if (tuner_report(h, s, t, g->step, mean, &prune, err, sizeof err)) {
        hlog(LOG_ERROR, "studies", "study '%s': %s", s->name, err);
        return;
    }
    if (s->objectives[0] != OBJ_RETURN)
        prune = 0;
    if (prune) {
        t->state = TARS_TRIAL_PRUNED;
        finish(h, s, t, a);
    } else {
        trial_put(h, s, t);
        tuner_save_due(h, s);
    }
}

/* Adds one seed's evaluation to the trial's gathering; emits complete steps in order. */
static void
add_eval(struct host *h, struct study *s, struct trial *t, uint32_t k, const struct trial_eval *e,
         struct actions *a)
{
    /* An evaluation again at a step already reported (a seed resumed from the checkpoint of
     * an evaluation) adds nothing. */
    if (!e->final && t->n_iv && e->step <= t->iv[t->n_iv - 1].step)
        return;
    if (e->step > t->last_posted[k])
        t->last_posted[k] = e->step;
    size_t i = 0;
    while (i < t->n_g && t->g[i].step != e->step)
        i++;
    if (i == t->n_g) {
        if (t->n_g == t->cap_g) {
            size_t cap = t->cap_g ? 2 * t->cap_g : 4;
            struct gather *v = realloc(t->g, cap * sizeof *v);
            if (!v)
                return;
            t->g = v;
            t->cap_g = cap;
        }
        t->g[t->n_g++] = (struct gather){.step = e->step};
    }
    struct gather *g = &t->g[i];
    if (g->seen & (1u << k))
        return;
    g->seen |= 1u << k;
    g->sum += e->mean;
    g->final |= e->final;
    uint32_t all = (1u << s->seeds) - 1;
    /* Emit the lowest steps while they are complete; drop one that cannot be any more (a seed
     * that lacks it has posted a later step: it resumed past it after a restart). */
    while (t->n_g && t->state == TARS_TRIAL_RUNNING) {
        size_t lo = 0;
        for (size_t j = 1; j < t->n_g; j++)
            if (t->g[j].step < t->g[lo].step)
                lo = j;
        struct gather done = t->g[lo];
        int dead = 0;
        for (uint32_t j = 0; j < s->seeds; j++)
            dead |= !(done.seen & (1u << j)) && t->last_posted[j] > done.step;
        if (done.seen != all && !dead)
            break;
        t->g[lo] = t->g[--t->n_g];
        if (!dead)
            gathered(h, s, t, &done, a);
    }
}

/* Takes what a running trial's runs posted. */
static void
collect(struct host *h, struct study *s, struct trial *t, struct actions *a)
{
    for (uint32_t k = 0; k < s->seeds && t->state == TARS_TRIAL_RUNNING; k++) {
        char id[128], error[512] = "";
        struct trial_eval e[TRIAL_POSTED_MAX];
        size_t n = 0;
        int state = -1;
        trial_agent_id(s, t->number, k, id, sizeof id);
        rcu_enter();
        struct run *r = runset_find(runs_current(&h->runs), id);
        if (r) {
            state = atomic_load(&r->state);
            n = run_trial_take(r, e, TRIAL_POSTED_MAX, error, sizeof error);
            if (state == RUN_FAILED)
                snprintf(error, sizeof error, "%s", r->error);
        }
        rcu_leave();
        for (size_t i = 0; i < n && t->state == TARS_TRIAL_RUNNING; i++)
            add_eval(h, s, t, k, &e[i], a);
        if (t->state != TARS_TRIAL_RUNNING)
            return;
        if (!r || state == RUN_FAILED || *error) {
            snprintf(t->error, sizeof t->error, "%s",
                     !r       ? "its agent was deleted"
                     : *error ? error
                              : "its run failed");
            t->state = TARS_TRIAL_FAILED;
            finish(h, s, t, a);
        }
    }
}

static size_t
running(const struct study *s)
{
    size_t n = 0;
    for (size_t i = 0; i < s->n_trials_v; i++)
        n += s->trials[i]->state == TARS_TRIAL_RUNNING;
    return n;
}

/* One pass over a study of an agent. */
static void
drive(struct host *h, struct study *s, struct actions *a)
{
    for (size_t i = 0; i < s->n_trials_v; i++) {
        struct trial *t = s->trials[i];
        if (t->state == TARS_TRIAL_RUNNING && t->launched)
            collect(h, s, t, a);
        else if (t->state == TARS_TRIAL_RUNNING && s->state == STUDY_RUNNING) {
            t->launched = 1; /* its runs are created below (again, after a crash) */
            act(a, ACT_CREATE, s, t->number);
        } else if (t->state != TARS_TRIAL_RUNNING && t->launched && !t->kept) {
            act(a, ACT_DELETE, s, t->number); /* left by a crash */
            t->launched = 0;
            trial_put(h, s, t);
        }
    }
    if (s->state != STUDY_RUNNING)
        return;
    char err[768];
    while (running(s) < s->parallel && s->n_trials_v < s->n_trials) {
        struct trial *t = trial_add(s);
        if (!t)
            return;
        t->started = host_wall();
        if (tuner_ask(h, s, t, err, sizeof err)) {
            s->n_trials_v--; /* the sampler failed before it took the number */
            trial_free(t);
            break_study(h, s, err, a);
            return;
        }
        t->launched = 1;
        trial_put(h, s, t);
        tuner_save_due(h, s);
        act(a, ACT_CREATE, s, t->number);
    }
    if (running(s) == 0 && s->n_trials_v >= s->n_trials) {
        s->state = STUDY_COMPLETE;
        study_put(h, s);
        hlog(LOG_INFO, "studies", "study '%s' complete", s->name);
    }
}

/*
 * The plugins and snapshots of a trial's run: the study's agent and env, the preset, the fixed
 * params and env_params, then the trial's values (trial). The caller holds code_lock for
 * reading until the plugins are in a run (or no longer needed). 0, or -1 with why.
 */
static int
trial_spec(struct host *h, const struct study *s, const tars_params *trial, struct run_spec *rs,
           char *why, size_t len)
{
    struct diag d = {0};
    pthread_rwlock_rdlock(&h->reg_lock);
    int rc = registry_lookup(&h->reg, s->agent, TARS_KIND_AGENT, &rs->agent, why, len) ||
             registry_lookup(&h->reg, s->env, TARS_KIND_ENV, &rs->env, why, len) ||
             plugin_params(rs->agent, s->preset, &rs->agent_params, &rs->n_envs, why, len) ||
             plugin_params(rs->env, NULL, &rs->env_params, NULL, why, len);
    pthread_rwlock_unlock(&h->reg_lock);
    if (s->n_envs) /* given; else the preset's, else 8 */
        rs->n_envs = s->n_envs;
    else if (!rs->n_envs)
        rs->n_envs = 8;
    if (!rc && (pjson_apply(rs->agent_params, json_object_get(s->spec, "params"), PJ_PARAMS, NULL,
                            "/params", &d) ||
                pjson_apply(rs->env_params, json_object_get(s->spec, "env_params"), PJ_PARAMS, NULL,
                            "/env_params", &d))) {
        snprintf(why, len, "%s", d.n ? d.lines[0] : "bad parameters");
        rc = 1;
    }
    if (!rc && trial && study_space_apply(s, trial, rs->agent_params, why, len))
        rc = 1;
    diag_free(&d);
    if (rc) {
        tars_params_free(rs->agent_params);
        tars_params_free(rs->env_params);
        rs->agent_params = rs->env_params = NULL;
        return -1;
    }
    return 0;
}

int
study_check_trials(struct host *h, const struct study *s, char *err, size_t errlen)
{
    tars_params *t;
    char why[512];
    if (tars_params_new(s->space, s->n_space, &t)) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    /* The space's defaults, then each dimension's every choice in turn. */
    int rc = 0;
    for (uint32_t i = 0; !rc && i <= s->n_space; i++) {
        uint32_t n = i < s->n_space && s->space[i].type == TARS_PARAM_ENUM ? 0 : 1;
        while (i < s->n_space && s->space[i].type == TARS_PARAM_ENUM && s->space[i].choices[n])
            n++;
        for (uint32_t k = 0; !rc && k < n; k++) {
            if (i < s->n_space && s->space[i].type == TARS_PARAM_ENUM)
                tars_params_set(t, i, k, NULL, 0);
            struct run_spec rs = {0};
            pthread_rwlock_rdlock(&h->code_lock);
            rc = trial_spec(h, s, t, &rs, why, sizeof why);
            pthread_rwlock_unlock(&h->code_lock);
            tars_params_free(rs.agent_params);
            tars_params_free(rs.env_params);
        }
    }
    tars_params_free(t);
    if (rc)
        snprintf(err, errlen, "a trial of this study could not be built: %s", why);
    return rc ? -EINVAL : 0;
}

/* Builds and starts the runs of trial t (seed k), with nothing locked. */
static int
create_run(struct host *h, struct study *s, struct trial *t, uint32_t k, char *err, size_t errlen)
{
    char id[128], why[512];
    trial_agent_id(s, t->number, k, id, sizeof id);
    struct run_spec rs = {.id = id,
                          .seed = s->seed * 1000003u + t->number * STUDY_MAX_SEEDS + k,
                          .trial = {.study = s->id,
                                    .number = t->number,
                                    .seed_index = k,
                                    .budget = s->budget,
                                    .eval_every = s->eval_every,
                                    .eval_episodes = s->eval_episodes}};
    pthread_rwlock_rdlock(&h->code_lock);
    if (trial_spec(h, s, t->params, &rs, why, sizeof why)) {
        pthread_rwlock_unlock(&h->code_lock);
        snprintf(err, errlen, "%s", why);
        return -EINVAL;
    }
    int rc = agents_create(h, &rs, s->preset, err, errlen);
    pthread_rwlock_unlock(&h->code_lock);
    return rc;
}

/* One seed's run of an action: 0, or a negative errno with err (what is already so is 0). */
static int
act_on_seed(struct host *h, struct study *copy, struct trial *t, const struct action *x, uint32_t k,
            const char *id, char *err, size_t errlen)
{
    int rc = 0;
    switch (x->what) {
    case ACT_CREATE:
        rc = create_run(h, copy, t, k, err, errlen);
        if (rc == -EEXIST && trial_run_is(h, copy, x->number, k))
            rc = 0; /* resumed from the store */
        else if (rc == -EEXIST)
            snprintf(err, errlen, "agent '%s' exists and is not this trial's run", id);
        break;
    case ACT_DELETE_OTHERS:
    case ACT_DELETE:
        rc = agents_delete(h, id, err, errlen);
        break;
    case ACT_PAUSE:
        rc = agents_set_running(h, id, 0, err, errlen);
        break;
    case ACT_STOP: /* a kept agent: its first seed */
    case ACT_START:
        if (k == 0 || x->what == ACT_START)
            rc = agents_set_running(h, id, x->what == ACT_START, err, errlen);
        break;
    }
    return x->what != ACT_CREATE && (rc == -ENOENT || rc == -EBUSY) ? 0 : rc;
}

/* Carries out one action; the study is looked up again (it may have gone meanwhile). */
static void
carry_out(struct host *h, const struct action *x)
{
    struct studies *ss = h->studies;
    char err[768], id[128];
    pthread_mutex_lock(&ss->lock);
    struct study *s = find(ss, x->study);
    struct trial *t = s ? study_trial(s, x->number) : NULL;
    if (!t) {
        pthread_mutex_unlock(&ss->lock);
        return;
    }
    if (x->what == ACT_CREATE && s->state != STUDY_RUNNING) {
        t->launched = 0; /* stopped meanwhile: built when it resumes */
        pthread_mutex_unlock(&ss->lock);
        return;
    }
    /* What the action needs of the study, copied: the lock goes while agents change. */
    uint32_t seeds = s->seeds;
    struct study copy = *s;
    s->busy++; /* a delete waits until it is let go */
    pthread_mutex_unlock(&ss->lock);
    for (uint32_t k = 0; k < seeds; k++) {
        trial_agent_id(&copy, x->number, k, id, sizeof id);
        if (x->what == ACT_DELETE_OTHERS && k == 0)
            continue;
        int rc = act_on_seed(h, &copy, t, x, k, id, err, sizeof err);
        if (rc && x->what == ACT_CREATE) {
            pthread_mutex_lock(&ss->lock);
            if ((s = find(ss, x->study)) && (t = study_trial(s, x->number)) &&
                t->state == TARS_TRIAL_RUNNING) {
                struct actions more = {0};
                snprintf(t->error, sizeof t->error, "%.500s", err);
                t->state = TARS_TRIAL_FAILED;
                finish(h, s, t, &more);
                free(more.v); /* its agents: deleted below */
            }
            pthread_mutex_unlock(&ss->lock);
            hlog(LOG_WARN, "studies", "trial %llu of study %llu: %s", (unsigned long long)x->number,
                 (unsigned long long)x->study, err);
            for (uint32_t j = 0; j < k; j++) {
                trial_agent_id(&copy, x->number, j, id, sizeof id);
                agents_delete(h, id, err, sizeof err);
            }
            break;
        } else if (rc)
            hlog(LOG_WARN, "studies", "%s: %s", id, err);
    }
    if (x->what == ACT_CREATE) { /* stopped while its runs were built: they stop too */
        pthread_mutex_lock(&ss->lock);
        s = find(ss, x->study);
        int stopped = s && s->state != STUDY_RUNNING;
        pthread_mutex_unlock(&ss->lock);
        for (uint32_t k = 0; stopped && k < seeds; k++) {
            trial_agent_id(&copy, x->number, k, id, sizeof id);
            agents_set_running(h, id, 0, err, sizeof err);
        }
    }
    study_let_go(ss, x->study);
}

void
study_let_go(struct studies *ss, uint64_t id)
{
    pthread_mutex_lock(&ss->lock);
    struct study *s = NULL;
    for (size_t i = 0; i < ss->n; i++) /* a study being deleted too: the delete waits */
        if (ss->v[i]->id == id)
            s = ss->v[i];
    if (s && --s->busy == 0)
        pthread_cond_broadcast(&ss->idle);
    pthread_mutex_unlock(&ss->lock);
}

void
driver_runs(struct host *h, struct study *s, const char *what)
{
    int del = strcmp(what, "delete") == 0, start = strcmp(what, "start") == 0;
    size_t n = 0, cap = 0;
    for (size_t i = 0; i < s->n_trials_v; i++) /* only trials with runs need ids */
        cap += s->trials[i]->launched && (del || s->trials[i]->state == TARS_TRIAL_RUNNING);
    char(*ids)[128] = calloc((cap ? cap : 1) * s->seeds, sizeof *ids);
    if (!ids) {
        hlog(LOG_ERROR, "studies", "study '%s': out of memory to %s its trials' agents", s->name,
             what);
        return;
    }
    for (size_t i = 0; i < s->n_trials_v; i++) {
        struct trial *t = s->trials[i];
        if (!t->launched || (!del && t->state != TARS_TRIAL_RUNNING))
            continue;
        for (uint32_t k = 0; k < s->seeds; k++)
            trial_agent_id(s, t->number, k, ids[n++], sizeof ids[0]);
    }
    s->busy++;
    pthread_mutex_unlock(&h->studies->lock);
    for (size_t i = 0; i < n; i++) {
        char err[768];
        int rc = del ? agents_delete(h, ids[i], err, sizeof err)
                     : agents_set_running(h, ids[i], start, err, sizeof err);
        if (rc && rc != -ENOENT)
            hlog(LOG_WARN, "studies", "%s: %s", ids[i], err);
    }
    pthread_mutex_lock(&h->studies->lock);
    if (--s->busy == 0)
        pthread_cond_broadcast(&h->studies->idle);
    free(ids);
}

void
driver_step(struct host *h)
{
    struct studies *ss = h->studies;
    struct actions a = {0};
    pthread_mutex_lock(&ss->lock);
    uint64_t before = 0, after = 0;
    for (size_t i = 0; i < ss->n; i++)
        before += ss->v[i]->events;
    for (size_t i = 0; i < ss->n; i++) {
        struct study *s = ss->v[i];
        if (s->agent && !s->deleting && (s->state == STUDY_RUNNING || s->state == STUDY_STOPPED))
            drive(h, s, &a);
        after += s->events;
    }
    /* What the pass decided is committed before anyone reads it: a trial shown COMPLETE
     * stays so after a crash. (Trials' records are written at events, and at launch.) */
    if (after != before || a.n) {
        char err[512];
        if (persist_commit(h, err, sizeof err))
            hlog(LOG_WARN, "studies", "the studies' records wait for the store: %s", err);
    }
    pthread_mutex_unlock(&ss->lock);
    for (size_t i = 0; i < a.n; i++)
        carry_out(h, &a.v[i]);
    free(a.v);
}
