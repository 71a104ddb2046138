/*
 * env "cartpole": Gymnasium's CartPole-v1, vectorised over n_envs with same-step auto-reset.
 * Reward 1 on every step (including the one that ends the episode), termination at
 * |x| > 2.4 or |theta| > 12 degrees, truncation at max_episode_steps (500), reset state
 * uniform in [-0.05, 0.05]^4.
 */
#include <float.h>
#include <stdlib.h>
#include <string.h>
#include <tars/tars.h>
#include "cartpole_dynamics.h"

enum { P_MAX_EPISODE_STEPS };

static const tars_param_def cartpole_params[] = {
    [P_MAX_EPISODE_STEPS] =
        TARS_PARAM_INT_DEF("max_episode_steps", 500, 1, 10000000, TARS_PARAM_HOT,
                           "Steps after which an episode is truncated."),
};

#define STATE_VERSION 1

struct tars_env {
    tars_ctx *ctx;
    uint32_t n;
    tars_rng rng;
    double *state;   /* [n][4] */
    uint32_t *steps; /* [n] steps into the current episode */
    float low[4];
    float high[4];
    uint32_t limit_at_create; /* max_episode_steps when created (the spec reports it) */
};

static void
reset_one(tars_env *e, uint32_t i, float *obs)
{
    double *s = &e->state[4 * i];
    for (int k = 0; k < 4; k++) {
        s[k] = tars_rng_range(&e->rng, -0.05, 0.05);
        obs[k] = (float)s[k];
    }
    e->steps[i] = 0;
}

static int
cartpole_create(tars_ctx *ctx, const tars_params *params, uint32_t n_envs, uint64_t seed,
                tars_env **out)
{
    tars_env *e = calloc(1, sizeof *e);
    if (!e)
        return TARS_ENOMEM;
    e->ctx = ctx;
    e->limit_at_create = (uint32_t)tars_param_int(params, P_MAX_EPISODE_STEPS);
    e->n = n_envs;
    e->state = calloc((size_t)n_envs * 4, sizeof *e->state);
    e->steps = calloc(n_envs, sizeof *e->steps);
    if (!e->state || !e->steps) {
        free(e->state);
        free(e->steps);
        free(e);
        return TARS_ENOMEM;
    }
    tars_rng_seed(&e->rng, seed, 0);
    const float high[4] = {(float)(CARTPOLE_X_LIMIT * 2), FLT_MAX,
                           (float)(CARTPOLE_THETA_LIMIT * 2), FLT_MAX};
    for (int k = 0; k < 4; k++) {
        e->high[k] = high[k];
        e->low[k] = -high[k];
    }
    *out = e;
    return 0;
}

static void
cartpole_destroy(tars_env *e)
{
    if (!e)
        return;
    free(e->state);
    free(e->steps);
    free(e);
}

static void
cartpole_spec(const tars_env *e, tars_env_spec *spec)
{
    memset(spec, 0, sizeof *spec);
    spec->struct_size = sizeof *spec;
    spec->n_agents = 1;
    spec->obs = (tars_space){.type = TARS_SPACE_BOX, .dim = 4, .low = e->low, .high = e->high};
    spec->act = (tars_space){.type = TARS_SPACE_DISCRETE, .dim = 2};
    spec->max_episode_steps = e->limit_at_create;
}

static int
cartpole_reset(tars_env *e, const tars_params *params, float *obs)
{
    (void)params;
    for (uint32_t i = 0; i < e->n; i++)
        reset_one(e, i, &obs[4 * i]);
    return 0;
}

static int
cartpole_step(tars_env *e, const tars_params *params, const tars_actions *actions,
              tars_step_out *out)
{
    uint32_t limit = (uint32_t)tars_param_int(params, P_MAX_EPISODE_STEPS);
    for (uint32_t i = 0; i < e->n; i++) {
        int32_t a = actions->discrete[i];
        if (a != 0 && a != 1)
            return tars_fail(e->ctx, TARS_EINVAL, "action %d of env %u is not 0 or 1", a, i);
    }
    for (uint32_t i = 0; i < e->n; i++) {
        double *s = &e->state[4 * i];
        float *obs = &out->obs[4 * i];
        cartpole_advance(s, actions->discrete[i]);
        e->steps[i]++;
        uint8_t term = (uint8_t)cartpole_terminated(s);
        uint8_t trunc = e->steps[i] >= limit;
        for (int k = 0; k < 4; k++)
            obs[k] = (float)s[k];
        out->reward[i] = 1.0f;
        out->terminated[i] = term;
        out->truncated[i] = trunc;
        if (term || trunc) {
            memcpy(&out->final_obs[4 * i], obs, 4 * sizeof *obs);
            reset_one(e, i, obs);
        }
    }
    return 0;
}

static int
cartpole_save(const tars_env *e, tars_blob_writer *w)
{
    int rc = tars_blob_set_version(w, STATE_VERSION);
    if (!rc)
        rc = tars_blob_put_u32(w, e->n);
    if (!rc)
        rc = tars_blob_put_f64s(w, e->state, (size_t)e->n * 4);
    if (!rc)
        rc = tars_blob_put_bytes(w, e->steps, (size_t)e->n * sizeof *e->steps);
    if (!rc)
        rc = tars_blob_put_rng(w, &e->rng);
    return rc;
}

static int
cartpole_load(tars_env *e, tars_blob_reader *r)
{
    uint32_t n;
    if (tars_blob_version(r) != STATE_VERSION)
        return tars_fail(e->ctx, TARS_EVERSION, "state version %u, expected %u",
                         tars_blob_version(r), STATE_VERSION);
    int rc = tars_blob_get_u32(r, &n);
    if (rc)
        return rc;
    if (n != e->n)
        return tars_fail(e->ctx, TARS_EINVAL, "state has %u envs, this instance %u", n, e->n);
    /* Read into copies so a failed load leaves the instance as it was. */
    double *state = malloc((size_t)n * 4 * sizeof *state);
    uint32_t *steps = malloc((size_t)n * sizeof *steps);
    tars_rng rng;
    if (!state || !steps)
        rc = TARS_ENOMEM;
    if (!rc)
        rc = tars_blob_get_f64s(r, state, (size_t)n * 4);
    if (!rc)
        rc = tars_blob_get_bytes(r, steps, (size_t)n * sizeof *steps);
    if (!rc)
        rc = tars_blob_get_rng(r, &rng);
    if (!rc) {
        memcpy(e->state, state, (size_t)n * 4 * sizeof *state);
        memcpy(e->steps, steps, (size_t)n * sizeof *steps);
        e->rng = rng;
    }
    free(state);
    free(steps);
    return rc;
}

static const tars_env_ops cartpole_ops = {
    .struct_size = sizeof(tars_env_ops),
    .create = cartpole_create,
    .destroy = cartpole_destroy,
    .spec = cartpole_spec,
    .reset = cartpole_reset,
    .step = cartpole_step,
    .save = cartpole_save,
    .load = cartpole_load,
};

TARS_PLUGIN(.kind = TARS_KIND_ENV, .name = "cartpole", .version = "1.0.0",
            .description = "CartPole-v1: balance a pole on a cart (Gymnasium's exact dynamics).",
            .params = cartpole_params, .n_params = TARS_COUNTOF(cartpole_params),
            .ops = &cartpole_ops)
