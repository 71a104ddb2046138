/*
 * env "pendulum": Gymnasium's Pendulum-v1. Swing a pendulum up and keep it there with a
 * torque in [-2, 2]. State (theta, theta_dot), observation (cos theta, sin theta, theta_dot),
 * reward -(angle^2 + 0.1 theta_dot^2 + 0.001 u^2), never terminates, truncated at 200 steps.
 */
#include <math.h>
#include "classic.h"

enum { P_MAX_EPISODE_STEPS, P_G };

static const tars_param_def pendulum_params[] = {
    [P_MAX_EPISODE_STEPS] =
        TARS_PARAM_INT_DEF("max_episode_steps", 200, 1, 10000000, TARS_PARAM_HOT,
                           "Steps after which an episode is truncated."),
    [P_G] =
        TARS_PARAM_FLOAT_DEF("g", 10.0, 0.0, 100.0, TARS_PARAM_HOT, "Gravitational acceleration."),
};

#define MAX_SPEED  8.0
#define MAX_TORQUE 2.0
#define DT         0.05
#define MASS       1.0
#define LENGTH     1.0

/* ((x + pi) mod 2 pi) - pi with Python's non-negative modulo. */
static double
angle_normalize(double x)
{
    double m = fmod(x + M_PI, 2 * M_PI);
    if (m < 0)
        m += 2 * M_PI;
    return m - M_PI;
}

static void
pendulum_reset_one(double *s, tars_rng *rng)
{
    s[0] = tars_rng_range(rng, -M_PI, M_PI);
    s[1] = tars_rng_range(rng, -1.0, 1.0);
}

static double
pendulum_step_one(double *s, const int32_t *a, const float *c, const tars_params *p, int *term)
{
    (void)a;
    double th = s[0], thdot = s[1], g = tars_param_float(p, P_G);
    double u = (float)fmin(fmax(c[0], -MAX_TORQUE), MAX_TORQUE);
    double an = angle_normalize(th);
    double cost = an * an + 0.1 * thdot * thdot + 0.001 * (u * u);
    double newthdot =
        thdot + (3 * g / (2 * LENGTH) * sin(th) + 3.0 / (MASS * LENGTH * LENGTH) * u) * DT;
    newthdot = fmin(fmax(newthdot, -MAX_SPEED), MAX_SPEED);
    s[0] = th + newthdot * DT;
    s[1] = newthdot;
    *term = 0;
    return -cost;
}

static void
pendulum_observe(const double *s, float *obs)
{
    obs[0] = (float)cos(s[0]);
    obs[1] = (float)sin(s[0]);
    obs[2] = (float)s[1];
}

static const struct classic_def pendulum = {
    .state_dim = 2,
    .obs_dim = 3,
    .act_type = TARS_SPACE_BOX,
    .act_dim = 1,
    .act_low = {-MAX_TORQUE},
    .act_high = {MAX_TORQUE},
    .obs_low = {-1, -1, -MAX_SPEED},
    .obs_high = {1, 1, MAX_SPEED},
    .limit_param = P_MAX_EPISODE_STEPS,
    .reset = pendulum_reset_one,
    .step = pendulum_step_one,
    .observe = pendulum_observe,
};

CLASSIC_ENV_OPS(pendulum, pendulum);

TARS_PLUGIN(
        .kind = TARS_KIND_ENV, .name = "pendulum", .version = "1.0.0",
        .description = "Pendulum-v1: swing up an inverted pendulum (Gymnasium's exact dynamics).",
        .params = pendulum_params, .n_params = TARS_COUNTOF(pendulum_params), .ops = &pendulum_ops)
