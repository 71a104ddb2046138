/*
 * env "cartpole": Gymnasium's CartPole-v1, vectorised over n_envs with same-step auto-reset.
 * Reward 1 on every step (including the one that ends the episode), termination at
 * |x| > 2.4 or |theta| > 12 degrees, truncation at max_episode_steps (500), reset state
 * uniform in [-0.05, 0.05]^4.
 */
#include <float.h>
#include "cartpole_dynamics.h"
#include "classic.h"

enum { P_MAX_EPISODE_STEPS };

static const tars_param_def cartpole_params[] = {
    [P_MAX_EPISODE_STEPS] =
        TARS_PARAM_INT_DEF("max_episode_steps", 500, 1, 10000000, TARS_PARAM_HOT,
                           "Steps after which an episode is truncated."),
};

static void
cartpole_reset_one(double *s, tars_rng *rng)
{
    for (int k = 0; k < 4; k++)
        s[k] = tars_rng_range(rng, -0.05, 0.05);
}

static double
cartpole_step_one(double *s, const int32_t *a, const float *c, const tars_params *p, int *term)
{
    (void)c, (void)p;
    cartpole_advance(s, *a);
    *term = cartpole_terminated(s);
    return 1.0;
}

static void
cartpole_observe(const double *s, float *obs)
{
    for (int k = 0; k < 4; k++)
        obs[k] = (float)s[k];
}

static const struct classic_def cartpole = {
    .state_dim = 4,
    .obs_dim = 4,
    .act_type = TARS_SPACE_DISCRETE,
    .act_dim = 2,
    .obs_high = {(float)(CARTPOLE_X_LIMIT * 2), FLT_MAX, (float)(CARTPOLE_THETA_LIMIT * 2),
                 FLT_MAX},
    .obs_low = {-(float)(CARTPOLE_X_LIMIT * 2), -FLT_MAX, -(float)(CARTPOLE_THETA_LIMIT * 2),
                -FLT_MAX},
    .limit_param = P_MAX_EPISODE_STEPS,
    .reset = cartpole_reset_one,
    .step = cartpole_step_one,
    .observe = cartpole_observe,
};

CLASSIC_ENV_OPS(cartpole, cartpole);

TARS_PLUGIN(.kind = TARS_KIND_ENV, .name = "cartpole", .version = "1.0.0",
            .description = "CartPole-v1: balance a pole on a cart (Gymnasium's exact dynamics).",
            .params = cartpole_params, .n_params = TARS_COUNTOF(cartpole_params),
            .ops = &cartpole_ops)
