/*
 * asha — asynchronous successive halving, as Optuna's SuccessiveHalvingPruner: rung r is reached
 * at step min_resource * reduction_factor^(min_early_stopping_rate + r); a trial reaching it
 * records its value there and goes on only if that value is among the best
 * 1/reduction_factor of all values recorded at that rung so far (the best one while fewer than
 * reduction_factor have been), and if more than bootstrap_count have been. A NaN value at a
 * rung stops the trial. min_resource 0 is Optuna's "auto": the longest completed trial's
 * last step / 100 (at least 1), fixed at the first report after a trial completed; nothing
 * is pruned before. Optuna's default reduction_factor is 4; tars's is 3 (the issue's).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <tars/plugin.h>

#include "space.h"

enum { P_MIN_RESOURCE, P_REDUCTION, P_MIN_RATE, P_BOOTSTRAP };

static const tars_param_def asha_params[] = {
    TARS_PARAM_INT_DEF("min_resource", 0, 0, 1e15, 0,
                       "Steps to the first rung; 0: the longest completed trial's / 100."),
    TARS_PARAM_INT_DEF("reduction_factor", 3, 2, 1000, 0,
                       "Each rung keeps the best 1/reduction_factor of the trials."),
    TARS_PARAM_INT_DEF("min_early_stopping_rate", 0, 0, 60, 0,
                       "Rungs skipped: the first is at min_resource * factor^rate."),
    TARS_PARAM_INT_DEF("bootstrap_count", 0, 0, 100000, 0,
                       "Trials a rung must have seen before it promotes any."),
};

struct atrial {
    uint64_t number;
    uint32_t rung;      /* the next rung to reach */
    uint16_t complete;  /* told COMPLETE */
    uint16_t reported;  /* reported a step at least once */
    uint64_t last_step; /* the latest step reported */
};

struct rung {
    double *v; /* the values recorded at this rung, by every trial that reached it */
    size_t n, cap;
};

struct tars_tuner {
    tars_ctx *ctx;
    int maximise;
    struct atrial *t;
    size_t n, cap;
    struct rung *r;
    size_t n_rungs, cap_rungs;
    uint64_t min_resource; /* 0 until known (auto) */
};

static int
asha_create(tars_ctx *ctx, const tars_params *p, const tars_study_spec *study, uint64_t seed,
            tars_tuner **out)
{
    (void)seed;
    *out = NULL;
    if (study->n_objectives != 1)
        return tars_fail(ctx, TARS_EINVAL,
                         "asha prunes single-objective studies, this one has %u objectives",
                         study->n_objectives);
    tars_tuner *t = calloc(1, sizeof *t);
    if (!t)
        return TARS_ENOMEM;
    t->ctx = ctx;
    t->maximise = study->directions[0] == TARS_MAXIMIZE;
    t->min_resource = (uint64_t)tars_param_int(p, P_MIN_RESOURCE);
    *out = t;
    return 0;
}

static void
asha_destroy(tars_tuner *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n_rungs; i++)
        free(t->r[i].v);
    free(t->r);
    free(t->t);
    free(t);
}

static struct atrial *
trial_of(tars_tuner *t, uint64_t number)
{
    for (size_t i = t->n; i-- > 0;)
        if (t->t[i].number == number)
            return &t->t[i];
    void *v = t->t;
    int rc = tuner_grow(&v, t->n, &t->cap, sizeof *t->t, 64);
    t->t = v;
    if (rc)
        return NULL;
    struct atrial *a = &t->t[t->n++];
    memset(a, 0, sizeof *a);
    a->number = number;
    return a;
}

/* Records value at rung k; TARS_ENOMEM leaves the rungs as they were. */
static int
record(tars_tuner *t, uint32_t k, double value)
{
    while (t->n_rungs <= k) {
        void *v = t->r;
        int rc = tuner_grow(&v, t->n_rungs, &t->cap_rungs, sizeof *t->r, 8);
        t->r = v;
        if (rc)
            return rc;
        memset(&t->r[t->n_rungs++], 0, sizeof *t->r);
    }
    struct rung *r = &t->r[k];
    void *v = r->v;
    int rc = tuner_grow(&v, r->n, &r->cap, sizeof *r->v, 16);
    r->v = v;
    if (rc)
        return rc;
    r->v[r->n++] = value;
    return 0;
}

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Whether value, just recorded at rung k, is among the rung's promotable best. */
static int
promotable(const tars_tuner *t, uint32_t k, double value, int64_t factor, int *oom)
{
    const struct rung *r = &t->r[k];
    double *v = malloc(r->n * sizeof *v);
    if (!v) {
        *oom = 1;
        return 0;
    }
    memcpy(v, r->v, r->n * sizeof *v);
    qsort(v, r->n, sizeof *v, cmp_double); /* NaN is never recorded: it prunes first */
    size_t idx = r->n / (size_t)factor;
    idx = idx ? idx - 1 : 0; /* fewer than factor values: only the best goes on */
    int ok = t->maximise ? value >= v[r->n - 1 - idx] : value <= v[idx];
    free(v);
    return ok;
}

static uint64_t
rung_step(uint64_t min_resource, int64_t factor, uint64_t exponent)
{
    double s = (double)min_resource * pow((double)factor, (double)exponent);
    return s >= 1.8e19 ? UINT64_MAX : (uint64_t)s;
}

static int
asha_report(tars_tuner *t, const tars_params *p, uint64_t number, uint64_t step, double value,
            int *prune)
{
    *prune = 0;
    struct atrial *a = trial_of(t, number);
    if (!a)
        return TARS_ENOMEM;
    a->last_step = step;
    a->reported = 1;
    if (!t->min_resource) { /* auto: fixed at the first report after a trial completed */
        uint64_t longest = 0;
        int any = 0;
        for (size_t i = 0; i < t->n; i++)
            if (t->t[i].complete && t->t[i].reported) { /* Optuna skips a trial with no step */
                any = 1;
                longest = t->t[i].last_step > longest ? t->t[i].last_step : longest;
            }
        if (!any)
            return 0;
        t->min_resource = longest / 100 ? longest / 100 : 1;
    }
    int64_t factor = tars_param_int(p, P_REDUCTION);
    int64_t rate = tars_param_int(p, P_MIN_RATE), boot = tars_param_int(p, P_BOOTSTRAP);
    for (;;) {
        if (step < rung_step(t->min_resource, factor, (uint64_t)rate + a->rung))
            return 0;
        if (isnan(value)) {
            *prune = 1;
            return 0;
        }
        int rc = record(t, a->rung, value);
        if (rc)
            return rc;
        int oom = 0;
        if ((int64_t)t->r[a->rung].n <= boot || !promotable(t, a->rung, value, factor, &oom)) {
            *prune = !oom;
            return oom ? TARS_ENOMEM : 0;
        }
        a->rung++;
    }
}

static int
asha_tell(tars_tuner *t, const tars_params *p, const tars_trial *trial)
{
    (void)p;
    if (trial->state != TARS_TRIAL_COMPLETE)
        return 0;
    struct atrial *a = trial_of(t, trial->number);
    if (!a)
        return TARS_ENOMEM;
    a->complete = 1;
    return 0;
}

static int
asha_save(const tars_tuner *t, tars_blob_writer *w)
{
    int rc = tars_blob_set_version(w, 1);
    rc = rc ? rc : tars_blob_put_u64(w, t->min_resource);
    rc = rc ? rc : tars_blob_put_u64(w, t->n);
    for (size_t i = 0; !rc && i < t->n; i++) {
        rc = tars_blob_put_u64(w, t->t[i].number);
        rc = rc ? rc : tars_blob_put_u32(w, t->t[i].rung);
        rc = rc ? rc : tars_blob_put_u32(w, t->t[i].complete | (uint32_t)t->t[i].reported << 16);
        rc = rc ? rc : tars_blob_put_u64(w, t->t[i].last_step);
    }
    rc = rc ? rc : tars_blob_put_u64(w, t->n_rungs);
    for (size_t k = 0; !rc && k < t->n_rungs; k++) {
        rc = tars_blob_put_u64(w, t->r[k].n);
        for (size_t i = 0; !rc && i < t->r[k].n; i++)
            rc = tars_blob_put_f64(w, t->r[k].v[i]);
    }
    return rc;
}

static int
asha_load(tars_tuner *t, tars_blob_reader *r)
{
    if (tars_blob_version(r) != 1)
        return tars_fail(t->ctx, TARS_EVERSION, "asha state version %u, expected 1",
                         tars_blob_version(r));
    uint64_t n, n_rungs;
    int rc = tars_blob_get_u64(r, &t->min_resource);
    rc = rc ? rc : tars_blob_get_u64(r, &n);
    for (uint64_t i = 0; !rc && i < n; i++) {
        struct atrial a;
        uint32_t flags = 0;
        rc = tars_blob_get_u64(r, &a.number);
        rc = rc ? rc : tars_blob_get_u32(r, &a.rung);
        rc = rc ? rc : tars_blob_get_u32(r, &flags);
        a.complete = flags & 1;
        a.reported = (flags >> 16) & 1;
        rc = rc ? rc : tars_blob_get_u64(r, &a.last_step);
        struct atrial *dst = rc ? NULL : trial_of(t, a.number);
        if (!rc && !dst)
            rc = TARS_ENOMEM;
        if (!rc)
            *dst = a;
    }
    rc = rc ? rc : tars_blob_get_u64(r, &n_rungs);
    if (!rc && n_rungs > 64)
        rc = TARS_ECORRUPT;
    for (uint64_t k = 0; !rc && k < n_rungs; k++) {
        uint64_t m;
        rc = tars_blob_get_u64(r, &m);
        if (!rc && m > (1u << 26))
            rc = TARS_ECORRUPT;
        for (uint64_t i = 0; !rc && i < m; i++) {
            double v;
            rc = tars_blob_get_f64(r, &v);
            rc = rc ? rc : record(t, (uint32_t)k, v);
        }
    }
    return rc;
}

TARS_OPS(tars_tuner_ops, asha_ops, .roles = TARS_TUNER_PRUNER, .create = asha_create,
         .destroy = asha_destroy, .report = asha_report, .tell = asha_tell, .save = asha_save,
         .load = asha_load);
TARS_PLUGIN(.kind = TARS_KIND_TUNER, .name = "asha", .version = "1.0.0",
            .description = "Asynchronous successive halving pruner, as Optuna's.",
            .params = asha_params, .n_params = TARS_COUNTOF(asha_params), .ops = &asha_ops)
