/*
 * The code-swap test env: an env that cannot save or load its state, so its instances cannot
 * move to another build (tests/integration/hot_code.sh). Four observations, two actions, a
 * reward of 1 a step, episodes of 20 steps. HOT_VERSION names the build.
 */
#include <stdlib.h>
#include <string.h>
#include <tars/tars.h>

#ifndef HOT_VERSION
#define HOT_VERSION "0.1.0"
#endif

struct tars_env {
    uint32_t n;
    uint32_t *t;
};

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
    out->act.type = TARS_SPACE_DISCRETE;
    out->act.dim = 2;
    out->max_episode_steps = 20;
}

static void
observe_into(const tars_env *e, uint32_t i, float *obs)
{
    for (int k = 0; k < 4; k++)
        obs[i * 4 + k] = (float)e->t[i] / 20.0f * (k % 2 ? -1.0f : 1.0f);
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
        out->truncated[i] = e->t[i] >= 20;
        if (out->truncated[i]) {
            observe_into(e, i, out->final_obs);
            e->t[i] = 0;
        }
        observe_into(e, i, out->obs);
    }
    return 0;
}

TARS_OPS(tars_env_ops, ops, .create = create, .destroy = destroy, .spec = spec, .reset = reset,
         .step = step);

TARS_PLUGIN(.kind = TARS_KIND_ENV, .name = "hotenv", .version = HOT_VERSION,
            .description = "The code-swap test env (it cannot save its state).", .ops = &ops)
