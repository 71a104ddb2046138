/*
 * env "acrobot": Gymnasium's Acrobot-v1 ("book" dynamics, RK4 over dt = 0.2, no torque
 * noise). Two links, torque -1, 0 or +1 on the joint between them; the episode ends when the
 * tip swings above the bar: -cos(t1) - cos(t1 + t2) > 1. Reward -1 per step, 0 on the last;
 * truncated at 500 steps.
 */
#include <math.h>
#include "classic.h"

enum { P_MAX_EPISODE_STEPS };

static const tars_param_def acrobot_params[] = {
    [P_MAX_EPISODE_STEPS] =
        TARS_PARAM_INT_DEF("max_episode_steps", 500, 1, 10000000, TARS_PARAM_HOT,
                           "Steps after which an episode is truncated."),
};

#define DT     0.2
#define L1     1.0
#define M1     1.0
#define M2     1.0
#define LC1    0.5
#define LC2    0.5
#define I1     1.0
#define I2     1.0
#define G      9.8
#define MAX_V1 (4 * M_PI)
#define MAX_V2 (9 * M_PI)

/* ds/dt of (theta1, theta2, dtheta1, dtheta2) under torque a. */
static void
dsdt(const double *s, double a, double *d)
{
    double theta1 = s[0], theta2 = s[1], dtheta1 = s[2], dtheta2 = s[3];
    double d1 = M1 * LC1 * LC1 + M2 * (L1 * L1 + LC2 * LC2 + 2 * L1 * LC2 * cos(theta2)) + I1 + I2;
    double d2 = M2 * (LC2 * LC2 + L1 * LC2 * cos(theta2)) + I2;
    double phi2 = M2 * LC2 * G * cos(theta1 + theta2 - M_PI / 2.0);
    double phi1 = -M2 * L1 * LC2 * dtheta2 * dtheta2 * sin(theta2) -
                  2 * M2 * L1 * LC2 * dtheta2 * dtheta1 * sin(theta2) +
                  (M1 * LC1 + M2 * L1) * G * cos(theta1 - M_PI / 2) + phi2;
    double ddtheta2 =
        (a + d2 / d1 * phi1 - M2 * L1 * LC2 * dtheta1 * dtheta1 * sin(theta2) - phi2) /
        (M2 * LC2 * LC2 + I2 - d2 * d2 / d1);
    double ddtheta1 = -(d2 * ddtheta2 + phi1) / d1;
    d[0] = dtheta1;
    d[1] = dtheta2;
    d[2] = ddtheta1;
    d[3] = ddtheta2;
}

/* One classical Runge-Kutta step of length DT, as Gymnasium's rk4 over [0, dt]. */
static void
rk4(double *s, double a)
{
    double k1[4], k2[4], k3[4], k4[4], y[4];
    const double h = DT, h2 = DT / 2;
    dsdt(s, a, k1);
    for (int i = 0; i < 4; i++)
        y[i] = s[i] + h2 * k1[i];
    dsdt(y, a, k2);
    for (int i = 0; i < 4; i++)
        y[i] = s[i] + h2 * k2[i];
    dsdt(y, a, k3);
    for (int i = 0; i < 4; i++)
        y[i] = s[i] + h * k3[i];
    dsdt(y, a, k4);
    for (int i = 0; i < 4; i++)
        s[i] = s[i] + h / 6.0 * (k1[i] + 2 * k2[i] + 2 * k3[i] + k4[i]);
}

static double
wrap(double x, double lo, double hi)
{
    double diff = hi - lo;
    /* A state loaded from a checkpoint may hold any number: far out of range, the loops
     * below would take forever (infinity: never end). Trained states never get there. */
    if (!(fabs(x) <= 64 * diff))
        x = isfinite(x) ? fmod(x, diff) : 0.0;
    while (x > hi)
        x -= diff;
    while (x < lo)
        x += diff;
    return x;
}

static void
acrobot_reset_one(double *s, tars_rng *rng)
{
    for (int k = 0; k < 4; k++)
        s[k] = tars_rng_range(rng, -0.1, 0.1);
}

static double
acrobot_step_one(double *s, const int32_t *a, const float *c, const tars_params *p, int *term)
{
    (void)c, (void)p;
    static const double torque[3] = {-1.0, 0.0, 1.0};
    rk4(s, torque[*a]);
    s[0] = wrap(s[0], -M_PI, M_PI);
    s[1] = wrap(s[1], -M_PI, M_PI);
    s[2] = fmin(fmax(s[2], -MAX_V1), MAX_V1);
    s[3] = fmin(fmax(s[3], -MAX_V2), MAX_V2);
    *term = -cos(s[0]) - cos(s[1] + s[0]) > 1.0;
    return *term ? 0.0 : -1.0;
}

static void
acrobot_observe(const double *s, float *obs)
{
    obs[0] = (float)cos(s[0]);
    obs[1] = (float)sin(s[0]);
    obs[2] = (float)cos(s[1]);
    obs[3] = (float)sin(s[1]);
    obs[4] = (float)s[2];
    obs[5] = (float)s[3];
}

static const struct classic_def acrobot = {
    .state_dim = 4,
    .obs_dim = 6,
    .act_type = TARS_SPACE_DISCRETE,
    .act_dim = 3,
    .obs_low = {-1, -1, -1, -1, (float)-MAX_V1, (float)-MAX_V2},
    .obs_high = {1, 1, 1, 1, (float)MAX_V1, (float)MAX_V2},
    .limit_param = P_MAX_EPISODE_STEPS,
    .reset = acrobot_reset_one,
    .step = acrobot_step_one,
    .observe = acrobot_observe,
};

CLASSIC_ENV_OPS(acrobot, acrobot);

TARS_PLUGIN(.kind = TARS_KIND_ENV, .name = "acrobot", .version = "1.0.0",
            .description =
                "Acrobot-v1: swing a two-link arm above the bar (Gymnasium's exact dynamics).",
            .params = acrobot_params, .n_params = TARS_COUNTOF(acrobot_params), .ops = &acrobot_ops)
