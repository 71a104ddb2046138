/*
 * env "mountaincar-continuous": Gymnasium's MountainCarContinuous-v0. A force in [-1, 1]
 * times 0.0015; the episode ends at position >= 0.45 with reward 100, every step costs
 * 0.1 a^2 (of the action as given, unclipped); truncated at 999 steps. Gymnasium keeps this
 * env's state in float32, and so does this plugin.
 */
#include <math.h>
#include "classic.h"
#include "mountain.h"

enum { P_MAX_EPISODE_STEPS };

static const tars_param_def mcc_params[] = {
    [P_MAX_EPISODE_STEPS] =
        TARS_PARAM_INT_DEF("max_episode_steps", 999, 1, 10000000, TARS_PARAM_HOT,
                           "Steps after which an episode is truncated."),
};

#define POWER 0.0015
#define GOAL  0.45

static double
mcc_step_one(double *s, const int32_t *a, const float *c, const tars_params *p, int *term)
{
    (void)a, (void)p;
    double force = fmin(fmax(c[0], -1.0), 1.0);
    mountain_move(s, force * POWER);
    *term = s[0] >= GOAL && s[1] >= 0;
    return (*term ? 100.0 : 0.0) - (double)c[0] * c[0] * 0.1;
}

static const struct classic_def mcc = {
    .state_dim = 2,
    .obs_dim = 2,
    .act_type = TARS_SPACE_BOX,
    .act_dim = 1,
    .act_low = {-1},
    .act_high = {1},
    .obs_low = {(float)MOUNTAIN_MIN_POS, (float)-MOUNTAIN_MAX_SPEED},
    .obs_high = {(float)MOUNTAIN_MAX_POS, (float)MOUNTAIN_MAX_SPEED},
    .limit_param = P_MAX_EPISODE_STEPS,
    .float32_state = 1,
    .reset = mountain_reset,
    .step = mcc_step_one,
    .observe = mountain_observe,
};

CLASSIC_ENV_OPS(mcc, mcc);

TARS_PLUGIN(.kind = TARS_KIND_ENV, .name = "mountaincar-continuous", .version = "1.0.0",
            .description =
                "MountainCarContinuous-v0: drive a car up a hill with a continuous force.",
            .params = mcc_params, .n_params = TARS_COUNTOF(mcc_params), .ops = &mcc_ops)
