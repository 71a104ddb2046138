/*
 * env "mountaincar": Gymnasium's MountainCar-v0. Push a car left (0), not at all (1) or right
 * (2) to rock it up the right hill; the episode ends at position >= 0.5. Reward -1 per step,
 * truncated at 200 steps, start position uniform in [-0.6, -0.4] at rest.
 */
#include "classic.h"
#include "mountain.h"

enum { P_MAX_EPISODE_STEPS };

static const tars_param_def mountaincar_params[] = {
    [P_MAX_EPISODE_STEPS] =
        TARS_PARAM_INT_DEF("max_episode_steps", 200, 1, 10000000, TARS_PARAM_HOT,
                           "Steps after which an episode is truncated."),
};

#define FORCE 0.001
#define GOAL  0.5

static double
mountaincar_step_one(double *s, const int32_t *a, const float *c, const tars_params *p, int *term)
{
    (void)c, (void)p;
    mountain_move(s, (*a - 1) * FORCE);
    *term = s[0] >= GOAL && s[1] >= 0;
    return -1.0;
}

static const struct classic_def mountaincar = {
    .state_dim = 2,
    .obs_dim = 2,
    .act_type = TARS_SPACE_DISCRETE,
    .act_dim = 3,
    .obs_low = {(float)MOUNTAIN_MIN_POS, (float)-MOUNTAIN_MAX_SPEED},
    .obs_high = {(float)MOUNTAIN_MAX_POS, (float)MOUNTAIN_MAX_SPEED},
    .limit_param = P_MAX_EPISODE_STEPS,
    .reset = mountain_reset,
    .step = mountaincar_step_one,
    .observe = mountain_observe,
};

CLASSIC_ENV_OPS(mountaincar, mountaincar);

TARS_PLUGIN(.kind = TARS_KIND_ENV, .name = "mountaincar", .version = "1.0.0",
            .description = "MountainCar-v0: rock a car up a hill (Gymnasium's exact dynamics).",
            .params = mountaincar_params, .n_params = TARS_COUNTOF(mountaincar_params),
            .ops = &mountaincar_ops)
