/*
 * The env of the env-swap spec test (tests/integration/env_swap.sh): it saves and loads its
 * state, so its instances may move to another build, and each build (SWAP_VARIANT) changes
 * one thing of its spec: 0 the original, 1 another release with the same spec (moves), 2 other
 * observation bounds, 3 another observation shape of the same size, 4 a reserved field set
 * (what a create refuses), 5 the same spaces with a longer episode limit (moves).
 * Four observations in [-1, 1], two actions, a reward of 1 a step.
 */
#include <stdlib.h>
#include <string.h>
#include <tars/tars.h>

#ifndef SWAP_VERSION
#define SWAP_VERSION "0.1.0"
#endif
#ifndef SWAP_VARIANT
#define SWAP_VARIANT 0
#endif

struct tars_env {
    uint32_t n;
    uint32_t *t;
};

#if SWAP_VARIANT == 2
static const float obs_low[4] = {-2, -2, -2, -2}, obs_high[4] = {2, 2, 2, 2};
#else
static const float obs_low[4] = {-1, -1, -1, -1}, obs_high[4] = {1, 1, 1, 1};
#endif
#define EPISODE (SWAP_VARIANT == 5 ? 30u : 20u)

static int
create(tars_ctx *ctx, const tars_params *p, uint32_t n_envs, uint64_t seed, tars_env **out)
{
    (void)ctx, (void)p, (void)seed;
    tars_env *e = calloc(1, sizeof *e);
    if (!e || !(e->t = calloc(n_envs, sizeof *e->t))) {
        free(e);
        return TARS_ENOMEM;
    }
    e->n = n_envs;
    *out = e;
    return 0;
}

static void
destroy(tars_env *e)
{
    free(e->t);
    free(e);
}

static void
spec(const tars_env *e, tars_env_spec *out)
{
    (void)e;
    memset(out, 0, sizeof *out);
    out->struct_size = sizeof *out;
    out->n_agents = 1;
    out->obs.type = TARS_SPACE_BOX;
    out->obs.dim = 4;
    out->obs.low = obs_low;
    out->obs.high = obs_high;
#if SWAP_VARIANT == 3
    out->obs.ndim = 2;
    out->obs.shape[0] = 2;
    out->obs.shape[1] = 2;
#endif
#if SWAP_VARIANT == 4
    out->obs.reserved0 = 1;
#endif
    out->act.type = TARS_SPACE_DISCRETE;
    out->act.dim = 2;
    out->max_episode_steps = EPISODE;
}

static void
observe_into(const tars_env *e, uint32_t i, float *obs)
{
    for (int k = 0; k < 4; k++)
        obs[i * 4 + k] = (float)e->t[i] / (float)EPISODE * (k % 2 ? -1.0f : 1.0f);
}

static int
reset(tars_env *e, const tars_params *p, float *obs)
{
    (void)p;
    for (uint32_t i = 0; i < e->n; i++) {
        e->t[i] = 0;
        observe_into(e, i, obs);
    }
    return 0;
}

static int
step(tars_env *e, const tars_params *p, const tars_actions *a, tars_step_out *out)
{
    (void)p, (void)a;
    for (uint32_t i = 0; i < e->n; i++) {
        e->t[i]++;
        out->reward[i] = 1.0f;
        out->terminated[i] = 0;
        out->truncated[i] = e->t[i] >= EPISODE;
        if (out->truncated[i]) {
            observe_into(e, i, out->final_obs);
            e->t[i] = 0;
        }
        observe_into(e, i, out->obs);
    }
    return 0;
}

static int
save(const tars_env *e, tars_blob_writer *w)
{
    int rc = tars_blob_put_u32(w, e->n);
    for (uint32_t i = 0; !rc && i < e->n; i++)
        rc = tars_blob_put_u32(w, e->t[i]);
    return rc;
}

static int
load(tars_env *e, tars_blob_reader *r)
{
    uint32_t n;
    int rc = tars_blob_get_u32(r, &n);
    if (!rc && n != e->n)
        return TARS_EINVAL;
    for (uint32_t i = 0; !rc && i < e->n; i++) {
        rc = tars_blob_get_u32(r, &e->t[i]);
        if (!rc && e->t[i] >= EPISODE)
            e->t[i] = 0;
    }
    return rc;
}

TARS_OPS(tars_env_ops, ops, .create = create, .destroy = destroy, .spec = spec, .reset = reset,
         .step = step, .save = save, .load = load);

TARS_PLUGIN(.kind = TARS_KIND_ENV, .name = "swapenv", .version = SWAP_VERSION,
            .description = "The env-swap spec test env.", .ops = &ops)
