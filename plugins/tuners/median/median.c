/*
 * median — Optuna's MedianPruner (its PercentilePruner at 50 by default): once n_startup_trials
 * have completed, a trial past n_warmup_steps, at the first report of each interval_steps
 * window, stops when its best value so far is worse than the percentile of the completed
 * trials' values at the same step (with at least n_min_trials of them reporting that step).
 * A NaN best value prunes at once.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <tars/plugin.h>

#include "space.h"

enum { P_STARTUP, P_WARMUP, P_INTERVAL, P_MIN_TRIALS, P_PERCENTILE };

static const tars_param_def median_params[] = {
    TARS_PARAM_INT_DEF("n_startup_trials", 5, 0, 100000, TARS_PARAM_HOT,
                       "Nothing is pruned until this many trials have completed."),
    TARS_PARAM_INT_DEF("n_warmup_steps", 0, 0, 1e15, TARS_PARAM_HOT,
                       "A trial is not pruned before this step."),
    TARS_PARAM_INT_DEF("interval_steps", 1, 1, 1e15, TARS_PARAM_HOT,
                       "Steps between pruning checks, counted from the warm-up's end."),
    TARS_PARAM_INT_DEF("n_min_trials", 1, 1, 100000, TARS_PARAM_HOT,
                       "Completed trials that must have reported a step to judge at it."),
    TARS_PARAM_FLOAT_DEF("percentile", 50, 0, 100, TARS_PARAM_HOT,
                         "Keep trials in this top percentile (50: the median)."),
};

struct point {
    uint64_t step;
    double value;
};

struct curve {
    uint64_t number;
    int complete;
    struct point *p;
    size_t n, cap;
};

struct tars_tuner {
    tars_ctx *ctx;
    int maximise;
    struct curve *c;
    size_t n, cap;
    size_t n_complete;
};

static int
md_create(tars_ctx *ctx, const tars_params *p, const tars_study_spec *study, uint64_t seed,
          tars_tuner **out)
{
    (void)p, (void)seed;
    *out = NULL;
    if (study->n_objectives != 1)
        return tars_fail(ctx, TARS_EINVAL,
                         "median prunes single-objective studies, this one has %u objectives",
                         study->n_objectives);
    tars_tuner *t = calloc(1, sizeof *t);
    if (!t)
        return TARS_ENOMEM;
    t->ctx = ctx;
    t->maximise = study->directions[0] == TARS_MAXIMIZE;
    *out = t;
    return 0;
}

static void
md_destroy(tars_tuner *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n; i++)
        free(t->c[i].p);
    free(t->c);
    free(t);
}

static struct curve *
curve_of(tars_tuner *t, uint64_t number, int add)
{
    for (size_t i = t->n; i-- > 0;)
        if (t->c[i].number == number)
            return &t->c[i];
    if (!add)
        return NULL;
    void *v = t->c;
    int rc = tuner_grow(&v, t->n, &t->cap, sizeof *t->c, 64);
    t->c = v;
    if (rc)
        return NULL;
    struct curve *c = &t->c[t->n++];
    memset(c, 0, sizeof *c);
    c->number = number;
    return c;
}

static int
curve_put(struct curve *c, uint64_t step, double value)
{
    if (c->n && c->p[c->n - 1].step == step) { /* a step reported again: the last value */
        c->p[c->n - 1].value = value;
        return 0;
    }
    if (c->n && c->p[c->n - 1].step > step)
        return TARS_EINVAL;
    void *v = c->p;
    int rc = tuner_grow(&v, c->n, &c->cap, sizeof *c->p, 16);
    c->p = v;
    if (rc)
        return rc;
    c->p[c->n++] = (struct point){step, value};
    return 0;
}

/* The value curve c reported at exactly `step`, or 0 when it did not. */
static int
value_at(const struct curve *c, uint64_t step, double *v)
{
    size_t lo = 0, hi = c->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (c->p[mid].step < step)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < c->n && c->p[lo].step == step) {
        *v = c->p[lo].value;
        return 1;
    }
    return 0;
}

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* np.nanpercentile with linear interpolation; NaN when fewer than min_n values, or all NaN. */
static double
percentile_at(const tars_tuner *t, uint64_t step, double q, int64_t min_n)
{
    double *v = malloc((t->n_complete ? t->n_complete : 1) * sizeof *v);
    if (!v)
        return NAN;
    size_t n = 0, seen = 0;
    for (size_t i = 0; i < t->n; i++) {
        double x;
        if (t->c[i].complete && value_at(&t->c[i], step, &x)) {
            seen++;
            if (!isnan(x))
                v[n++] = x;
        }
    }
    double r = NAN;
    if ((int64_t)seen >= min_n && n > 0) {
        qsort(v, n, sizeof *v, cmp_double);
        double pos = q / 100 * (double)(n - 1);
        size_t i = (size_t)floor(pos);
        r = i + 1 < n ? v[i] + (pos - (double)i) * (v[i + 1] - v[i]) : v[n - 1];
    }
    free(v);
    return r;
}

static int
md_report(tars_tuner *t, const tars_params *p, uint64_t number, uint64_t step, double value,
          int *prune)
{
    *prune = 0;
    struct curve *c = curve_of(t, number, 1);
    if (!c)
        return TARS_ENOMEM;
    int rc = curve_put(c, step, value);
    if (rc == TARS_EINVAL)
        return tars_fail(t->ctx, rc, "trial %llu reported step %llu after a later one",
                         (unsigned long long)number, (unsigned long long)step);
    if (rc)
        return rc;
    if (t->n_complete == 0 || (int64_t)t->n_complete < tars_param_int(p, P_STARTUP))
        return 0;
    uint64_t warmup = (uint64_t)tars_param_int(p, P_WARMUP);
    uint64_t interval = (uint64_t)tars_param_int(p, P_INTERVAL);
    if (step < warmup)
        return 0;
    /* Judge only at the first report of each interval window (Optuna's
     * _is_first_in_interval_step): the report before this one came before the window. */
    uint64_t window = (step - warmup) / interval * interval + warmup;
    if (c->n >= 2 && c->p[c->n - 2].step >= window)
        return 0;
    double best = NAN;
    for (size_t i = 0; i < c->n; i++) /* np.nanmin / np.nanmax */
        if (!isnan(c->p[i].value) &&
            (isnan(best) || (t->maximise ? c->p[i].value > best : c->p[i].value < best)))
            best = c->p[i].value;
    if (isnan(best)) {
        *prune = 1;
        return 0;
    }
    double q = tars_param_float(p, P_PERCENTILE);
    double pct = percentile_at(t, step, t->maximise ? 100 - q : q, tars_param_int(p, P_MIN_TRIALS));
    if (!isnan(pct))
        *prune = t->maximise ? best < pct : best > pct;
    return 0;
}

static int
md_tell(tars_tuner *t, const tars_params *p, const tars_trial *trial)
{
    (void)p;
    if (trial->state != TARS_TRIAL_COMPLETE)
        return 0;
    struct curve *c = curve_of(t, trial->number, 1);
    if (!c)
        return TARS_ENOMEM;
    if (!c->complete)
        t->n_complete++;
    c->complete = 1;
    return 0;
}

static int
md_save(const tars_tuner *t, tars_blob_writer *w)
{
    int rc = tars_blob_set_version(w, 1);
    rc = rc ? rc : tars_blob_put_u64(w, t->n);
    for (size_t i = 0; !rc && i < t->n; i++) {
        const struct curve *c = &t->c[i];
        rc = tars_blob_put_u64(w, c->number);
        rc = rc ? rc : tars_blob_put_u32(w, (uint32_t)c->complete);
        rc = rc ? rc : tars_blob_put_u64(w, c->n);
        for (size_t k = 0; !rc && k < c->n; k++) {
            rc = tars_blob_put_u64(w, c->p[k].step);
            rc = rc ? rc : tars_blob_put_f64(w, c->p[k].value);
        }
    }
    return rc;
}

static int
md_load(tars_tuner *t, tars_blob_reader *r)
{
    if (tars_blob_version(r) != 1)
        return tars_fail(t->ctx, TARS_EVERSION, "median state version %u, expected 1",
                         tars_blob_version(r));
    uint64_t n;
    int rc = tars_blob_get_u64(r, &n);
    for (uint64_t i = 0; !rc && i < n; i++) {
        uint64_t number, np;
        uint32_t complete;
        rc = tars_blob_get_u64(r, &number);
        rc = rc ? rc : tars_blob_get_u32(r, &complete);
        rc = rc ? rc : tars_blob_get_u64(r, &np);
        if (rc)
            break;
        if (complete > 1 || np > (1u << 26))
            return TARS_ECORRUPT;
        struct curve *c = curve_of(t, number, 1);
        if (!c)
            return TARS_ENOMEM;
        if (complete && !c->complete)
            t->n_complete++;
        c->complete = (int)complete;
        for (uint64_t k = 0; !rc && k < np; k++) {
            uint64_t step;
            double v;
            rc = tars_blob_get_u64(r, &step);
            rc = rc ? rc : tars_blob_get_f64(r, &v);
            rc = rc ? rc : curve_put(c, step, v);
        }
    }
    return rc == TARS_EINVAL ? TARS_ECORRUPT : rc;
}

TARS_OPS(tars_tuner_ops, md_ops, .roles = TARS_TUNER_PRUNER, .create = md_create,
         .destroy = md_destroy, .report = md_report, .tell = md_tell, .save = md_save,
         .load = md_load);
TARS_PLUGIN(.kind = TARS_KIND_TUNER, .name = "median", .version = "1.0.0",
            .description = "Median (percentile) pruner with Optuna's MedianPruner semantics.",
            .params = median_params, .n_params = TARS_COUNTOF(median_params), .ops = &md_ops)
