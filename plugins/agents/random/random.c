/*
 * agent "random": uniform actions over any action space. A baseline, and the cheapest agent
 * for measuring the host loop. Bounded boxes are sampled uniformly; unbounded dimensions
 * from a standard normal.
 */
#include <stdlib.h>
#include <string.h>
#include <tars/tars.h>

enum { P_STICKY };

static const tars_param_def random_params[] = {
    [P_STICKY] = TARS_PARAM_FLOAT_DEF("sticky", 0.0, 0.0, 1.0, TARS_PARAM_HOT,
                                      "Probability of repeating the previous action."),
};

#define STATE_VERSION 1

struct tars_agent {
    tars_ctx *ctx;
    tars_space act; /* low and high point at the copies below */
    float *low;
    float *high;
    uint32_t n_envs;
    uint32_t width; /* values per env: 1 (discrete) or the box dimension */
    tars_rng rng;
    tars_rng eval_rng; /* evaluation draws here so that it never shifts training */
    int32_t *last_discrete;
    float *last_continuous;
};

static void
random_destroy(tars_agent *a)
{
    if (!a)
        return;
    free(a->last_discrete);
    free(a->last_continuous);
    free(a->low);
    free(a->high);
    free(a);
}

static int
random_create(tars_ctx *ctx, const tars_env_spec *spec, uint32_t n_envs, const tars_params *params,
              uint64_t seed, tars_agent **out)
{
    (void)params;
    if (spec->act.type != TARS_SPACE_DISCRETE && spec->act.type != TARS_SPACE_BOX)
        return tars_fail(ctx, TARS_ENOTSUP, "unknown action space type %u", spec->act.type);
    tars_agent *a = calloc(1, sizeof *a);
    if (!a)
        return TARS_ENOMEM;
    a->ctx = ctx;
    a->act = spec->act;
    a->n_envs = n_envs;
    a->width = (spec->act.type == TARS_SPACE_DISCRETE ? 1 : spec->act.dim) * spec->n_agents;
    a->last_discrete = calloc((size_t)n_envs * a->width, sizeof(int32_t));
    a->last_continuous = calloc((size_t)n_envs * a->width, sizeof(float));
    int bounded = spec->act.type == TARS_SPACE_BOX && spec->act.low && spec->act.high;
    if (bounded) {
        /* The spec's bounds live only as long as create: keep copies. */
        a->low = malloc(spec->act.dim * sizeof(float));
        a->high = malloc(spec->act.dim * sizeof(float));
        if (a->low && a->high) {
            memcpy(a->low, spec->act.low, spec->act.dim * sizeof(float));
            memcpy(a->high, spec->act.high, spec->act.dim * sizeof(float));
        }
    }
    a->act.low = a->low;
    a->act.high = a->high;
    if (!a->last_discrete || !a->last_continuous || (bounded && (!a->low || !a->high))) {
        random_destroy(a);
        return TARS_ENOMEM;
    }
    tars_rng_seed(&a->rng, seed, 0);
    tars_rng_seed(&a->eval_rng, seed, 1);
    *out = a;
    return 0;
}

static float
sample_box(const tars_space *s, uint32_t k, tars_rng *rng)
{
    if (s->low && s->high)
        return (float)tars_rng_range(rng, s->low[k], s->high[k]);
    return (float)tars_rng_normal(rng);
}

static int
random_act(tars_agent *a, const tars_params *params, const float *obs, uint32_t n, int explore,
           tars_actions *out)
{
    (void)obs;
    double sticky = tars_param_float(params, P_STICKY);
    tars_rng *rng = explore ? &a->rng : &a->eval_rng;
    /* Sticky repeats only make sense for the training envs the previous actions belong to. */
    int may_stick = explore && n == a->n_envs && sticky > 0;
    uint32_t dim = a->act.type == TARS_SPACE_BOX ? a->act.dim : 1;
    for (uint32_t i = 0; i < n * a->width; i++) {
        int stick = may_stick && tars_rng_uniform(rng) < sticky;
        if (a->act.type == TARS_SPACE_DISCRETE) {
            int32_t v = stick ? a->last_discrete[i] : (int32_t)tars_rng_below(rng, a->act.dim);
            out->discrete[i] = v;
            if (explore && n == a->n_envs)
                a->last_discrete[i] = v;
        } else {
            float v = stick ? a->last_continuous[i] : sample_box(&a->act, i % dim, rng);
            out->continuous[i] = v;
            if (explore && n == a->n_envs)
                a->last_continuous[i] = v;
        }
    }
    return 0;
}

static int
random_observe(tars_agent *a, const tars_params *params, const tars_batch *batch,
               tars_scalars *scalars)
{
    (void)a;
    (void)batch;
    return tars_scalar(scalars, "sticky", tars_param_float(params, P_STICKY));
}

static int
random_save(const tars_agent *a, tars_blob_writer *w)
{
    size_t n = (size_t)a->n_envs * a->width;
    int rc = tars_blob_set_version(w, STATE_VERSION);
    if (!rc)
        rc = tars_blob_put_rng(w, &a->rng);
    if (!rc)
        rc = tars_blob_put_rng(w, &a->eval_rng);
    if (!rc)
        rc = tars_blob_put_bytes(w, a->last_discrete, n * sizeof(int32_t));
    if (!rc)
        rc = tars_blob_put_f32s(w, a->last_continuous, n);
    return rc;
}

static int
random_load(tars_agent *a, tars_blob_reader *r)
{
    size_t n = (size_t)a->n_envs * a->width;
    if (tars_blob_version(r) != STATE_VERSION)
        return tars_fail(a->ctx, TARS_EVERSION, "state version %u, expected %u",
                         tars_blob_version(r), STATE_VERSION);
    tars_rng rng, eval_rng;
    int32_t *d = malloc(n * sizeof *d);
    float *c = malloc(n * sizeof *c);
    int rc = d && c ? 0 : TARS_ENOMEM;
    if (!rc)
        rc = tars_blob_get_rng(r, &rng);
    if (!rc)
        rc = tars_blob_get_rng(r, &eval_rng);
    if (!rc)
        rc = tars_blob_get_bytes(r, d, n * sizeof *d);
    if (!rc)
        rc = tars_blob_get_f32s(r, c, n);
    if (!rc) {
        a->rng = rng;
        a->eval_rng = eval_rng;
        memcpy(a->last_discrete, d, n * sizeof *d);
        memcpy(a->last_continuous, c, n * sizeof *c);
    }
    free(d);
    free(c);
    return rc;
}

TARS_OPS(tars_agent_ops, random_ops, .create = random_create, .destroy = random_destroy,
         .act = random_act, .observe = random_observe, .save = random_save, .load = random_load);

TARS_PLUGIN(.kind = TARS_KIND_AGENT, .name = "random", .version = "1.0.0",
            .description = "Uniformly random actions over any action space (a baseline).",
            .params = random_params, .n_params = TARS_COUNTOF(random_params), .ops = &random_ops)
