/*
 * tpe — the Tree-structured Parzen Estimator sampler, with Optuna 3.x's semantics: random
 * proposals for the first n_startup_trials, then the told trials split into the best
 * gamma(n) = min(ceil(0.1 n), 25) ("below") and the rest ("above"), a Parzen estimator of
 * each (parzen.h), n_ei_candidates drawn from below's and the one of highest
 * log l(x) - log g(x) proposed. Pruned trials rank after every completed one, deeper ones
 * first; with constant_liar, trials still running count as the worst (so parallel workers
 * spread out). Univariate by default (each dimension on its own, as Optuna); multivariate
 * models the dimensions jointly.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <tars/plugin.h>

#include "parzen.h"
#include "space.h"
#include "split.h"

enum {
    P_STARTUP,
    P_CANDIDATES,
    P_GAMMA_FRACTION,
    P_GAMMA_MAX,
    P_PRIOR_WEIGHT,
    P_MAGIC_CLIP,
    P_ENDPOINTS,
    P_MULTIVARIATE,
    P_CONSTANT_LIAR,
    P_EXACT_DENSITY,
};

static const tars_param_def tpe_params[] = {
    TARS_PARAM_INT_DEF("n_startup_trials", 10, 0, 100000, TARS_PARAM_HOT,
                       "Trials proposed at random before the estimators take over."),
    TARS_PARAM_INT_DEF("n_ei_candidates", 24, 1, 100000, TARS_PARAM_HOT,
                       "Candidates drawn from the good trials' estimator per proposal."),
    TARS_PARAM_FLOAT_DEF("gamma_fraction", 0.1, 0.001, 1, TARS_PARAM_HOT,
                         "Share of the trials counted good: gamma(n) = min(ceil(f n), max)."),
    TARS_PARAM_INT_DEF("gamma_max", 25, 1, 100000, TARS_PARAM_HOT, "The most trials counted good."),
    TARS_PARAM_FLOAT_DEF("prior_weight", 1.0, 1e-6, 1e6, TARS_PARAM_HOT,
                         "Weight of the prior kernel (uniform over the space) in each estimator."),
    TARS_PARAM_BOOL_DEF("consider_magic_clip", 1, TARS_PARAM_HOT,
                        "Keep every bandwidth at least range / min(100, 1 + kernels)."),
    TARS_PARAM_BOOL_DEF("consider_endpoints", 0, TARS_PARAM_HOT,
                        "Let the outermost kernels' bandwidths reach the bounds."),
    TARS_PARAM_BOOL_DEF("multivariate", 0, TARS_PARAM_HOT,
                        "Model the dimensions jointly (Scott's rule bandwidths)."),
    TARS_PARAM_BOOL_DEF("constant_liar", 0, TARS_PARAM_HOT,
                        "Count running trials as the worst, so parallel trials spread out."),
    TARS_PARAM_BOOL_DEF("exact_density", 0, TARS_PARAM_HOT,
                        "Score with each kernel's 1/sigma, which Optuna 3.1's density omits."),
};

struct tars_tuner {
    tars_ctx *ctx;
    uint32_t n_dims;
    struct dim *dims;
    const struct dim **dimp;
    double sign; /* +1 minimise, -1 maximise: losses are sign * value */
    tars_rng rng;
    struct history h;
};

static int
tpe_create(tars_ctx *ctx, const tars_params *p, const tars_study_spec *study, uint64_t seed,
           tars_tuner **out)
{
    (void)p;
    *out = NULL;
    if (study->n_objectives != 1)
        return tars_fail(ctx, TARS_EINVAL, "tpe serves one objective, this study has %u: use nsga2",
                         study->n_objectives);
    tars_tuner *t = calloc(1, sizeof *t);
    if (!t)
        return TARS_ENOMEM;
    t->ctx = ctx;
    int rc = space_dims(ctx, study, &t->dims);
    if (rc) {
        free(t);
        return rc;
    }
    t->n_dims = study->n_space;
    t->dimp = malloc(t->n_dims * sizeof *t->dimp);
    if (!t->dimp) {
        free(t->dims);
        free(t);
        return TARS_ENOMEM;
    }
    for (uint32_t j = 0; j < t->n_dims; j++)
        t->dimp[j] = &t->dims[j];
    t->sign = study->directions[0] == TARS_MAXIMIZE ? -1 : 1;
    tars_rng_seed(&t->rng, seed, 0x747065);
    t->h.n_dims = t->n_dims;
    *out = t;
    return 0;
}

static void
tpe_destroy(tars_tuner *t)
{
    if (!t)
        return;
    history_free(&t->h);
    free(t->dimp);
    free(t->dims);
    free(t);
}

/* Rows of internal coordinates of dimensions [j0, j0 + nd) of the trials in o. */
static void
rows(const tars_tuner *t, const struct obs *o, size_t n, uint32_t j0, uint32_t nd, double *m)
{
    for (size_t i = 0; i < n; i++)
        for (uint32_t j = 0; j < nd; j++)
            m[i * nd + j] = dim_internal(&t->dims[j0 + j], o[i].t->x[j0 + j]);
}

/* Proposes dimensions [j0, j0 + nd) into x (internal) from the split below/above. */
static int
propose(tars_tuner *t, const tars_params *p, const struct obs *below, size_t nb,
        const struct obs *above, size_t na, uint32_t j0, uint32_t nd, double *x)
{
    struct parzen_opts o = {.prior_weight = tars_param_float(p, P_PRIOR_WEIGHT),
                            .magic_clip = tars_param_bool(p, P_MAGIC_CLIP),
                            .endpoints = tars_param_bool(p, P_ENDPOINTS),
                            .multivariate = tars_param_bool(p, P_MULTIVARIATE),
                            .no_scale = !tars_param_bool(p, P_EXACT_DENSITY)};
    size_t most = nb > na ? nb : na;
    double *m = malloc(((most ? most : 1) * nd + 2 * nd) * sizeof *m);
    if (!m)
        return TARS_ENOMEM;
    double *cand = m + (most ? most : 1) * nd, *best = cand + nd;
    struct parzen l, g;
    rows(t, below, nb, j0, nd, m);
    int rc = parzen_build(&l, t->dimp + j0, nd, m, (uint32_t)nb, &o);
    if (rc)
        goto out;
    rows(t, above, na, j0, nd, m);
    rc = parzen_build(&g, t->dimp + j0, nd, m, (uint32_t)na, &o);
    if (rc) {
        parzen_free(&l);
        goto out;
    }
    double top = -INFINITY;
    int64_t n_cand = tars_param_int(p, P_CANDIDATES);
    for (int64_t c = 0; c < n_cand; c++) {
        parzen_sample(&l, &t->rng, cand);
        double score = parzen_log_pdf(&l, cand) - parzen_log_pdf(&g, cand);
        if (c == 0 || score > top) { /* argmax: the first of equal scores */
            top = score;
            memcpy(best, cand, nd * sizeof *best);
        }
    }
    memcpy(x, best, nd * sizeof *x);
    parzen_free(&l);
    parzen_free(&g);
out:
    free(m);
    return rc;
}

static int
tpe_ask(tars_tuner *t, const tars_params *p, uint64_t number, tars_params *out)
{
    double *x = malloc(t->n_dims * sizeof *x);
    if (!x)
        return TARS_ENOMEM;
    size_t n, done;
    struct obs *o =
        split_observations(&t->h, t->sign, tars_param_bool(p, P_CONSTANT_LIAR), &n, &done);
    int rc = o ? 0 : TARS_ENOMEM;
    if (!rc && (int64_t)done < tars_param_int(p, P_STARTUP)) {
        for (uint32_t j = 0; j < t->n_dims; j++)
            x[j] = dim_random(&t->dims[j], &t->rng);
    } else if (!rc) {
        size_t nb = split_n_below(done, n, tars_param_float(p, P_GAMMA_FRACTION),
                                  tars_param_int(p, P_GAMMA_MAX));
        split(o, n, nb); /* each side oldest first: Optuna's weights ramp by age */
        double *xi = malloc(t->n_dims * sizeof *xi);
        rc = xi ? 0 : TARS_ENOMEM;
        if (!rc && tars_param_bool(p, P_MULTIVARIATE))
            rc = propose(t, p, o, nb, o + nb, n - nb, 0, t->n_dims, xi);
        for (uint32_t j = 0; !rc && j < t->n_dims && !tars_param_bool(p, P_MULTIVARIATE); j++)
            rc = propose(t, p, o, nb, o + nb, n - nb, j, 1, xi + j);
        for (uint32_t j = 0; !rc && j < t->n_dims; j++)
            x[j] = dim_external(&t->dims[j], xi[j]);
        free(xi);
    }
    for (uint32_t j = 0; !rc && j < t->n_dims; j++)
        rc = dim_set(t->ctx, out, j, x[j]);
    if (!rc)
        rc = history_asked(&t->h, number, x);
    free(o);
    free(x);
    return rc;
}

static int
tpe_tell(tars_tuner *t, const tars_params *p, const tars_trial *trial)
{
    (void)p;
    return history_tell(&t->h, trial);
}

static int
tpe_save(const tars_tuner *t, tars_blob_writer *w)
{
    int rc = tars_blob_set_version(w, 1);
    rc = rc ? rc : tars_blob_put_rng(w, &t->rng);
    return rc ? rc : history_save(&t->h, w);
}

static int
tpe_load(tars_tuner *t, tars_blob_reader *r)
{
    if (tars_blob_version(r) != 1)
        return tars_fail(t->ctx, TARS_EVERSION, "tpe state version %u, expected 1",
                         tars_blob_version(r));
    history_free(&t->h);
    int rc = tars_blob_get_rng(r, &t->rng);
    rc = rc ? rc : history_load(&t->h, r);
    if (rc)
        history_free(&t->h);
    return rc;
}

TARS_OPS(tars_tuner_ops, tpe_ops, .roles = TARS_TUNER_SAMPLER, .create = tpe_create,
         .destroy = tpe_destroy, .ask = tpe_ask, .tell = tpe_tell, .save = tpe_save,
         .load = tpe_load);
TARS_PLUGIN(.kind = TARS_KIND_TUNER, .name = "tpe", .version = "1.0.0",
            .description = "Tree-structured Parzen Estimator sampler with Optuna 3's semantics.",
            .params = tpe_params, .n_params = TARS_COUNTOF(tpe_params), .ops = &tpe_ops)
