/*
 * CartPole-v1 dynamics exactly as Gymnasium 1.0 computes them: explicit Euler with
 * tau = 0.02, state in double precision, observations rounded to float. Kept apart from the
 * plugin so the unit test can check it against trajectories worked out from the equations.
 */
#ifndef TARS_CARTPOLE_DYNAMICS_H
#define TARS_CARTPOLE_DYNAMICS_H

#include <math.h>

#define CARTPOLE_GRAVITY         9.8
#define CARTPOLE_MASS_CART       1.0
#define CARTPOLE_MASS_POLE       0.1
#define CARTPOLE_TOTAL_MASS      (CARTPOLE_MASS_CART + CARTPOLE_MASS_POLE)
#define CARTPOLE_HALF_LENGTH     0.5
#define CARTPOLE_POLEMASS_LENGTH (CARTPOLE_MASS_POLE * CARTPOLE_HALF_LENGTH)
#define CARTPOLE_FORCE_MAG       10.0
#define CARTPOLE_TAU             0.02
/* 12 degrees, written the way Gymnasium writes it so the double is bit-identical. */
#define CARTPOLE_THETA_LIMIT (12 * 2 * M_PI / 360)
#define CARTPOLE_X_LIMIT     2.4

/* s = {x, x_dot, theta, theta_dot}; action 1 pushes right, 0 left. */
static inline void
cartpole_advance(double s[4], int action)
{
    double x = s[0], x_dot = s[1], theta = s[2], theta_dot = s[3];
    double force = action == 1 ? CARTPOLE_FORCE_MAG : -CARTPOLE_FORCE_MAG;
    double costheta = cos(theta);
    double sintheta = sin(theta);
    double temp = (force + CARTPOLE_POLEMASS_LENGTH * (theta_dot * theta_dot) * sintheta) /
                  CARTPOLE_TOTAL_MASS;
    double thetaacc =
        (CARTPOLE_GRAVITY * sintheta - costheta * temp) /
        (CARTPOLE_HALF_LENGTH *
         (4.0 / 3.0 - CARTPOLE_MASS_POLE * (costheta * costheta) / CARTPOLE_TOTAL_MASS));
    double xacc = temp - CARTPOLE_POLEMASS_LENGTH * thetaacc * costheta / CARTPOLE_TOTAL_MASS;
    s[0] = x + CARTPOLE_TAU * x_dot;
    s[1] = x_dot + CARTPOLE_TAU * xacc;
    s[2] = theta + CARTPOLE_TAU * theta_dot;
    s[3] = theta_dot + CARTPOLE_TAU * thetaacc;
}

/* Gymnasium's termination test, on the state after the step. */
static inline int
cartpole_terminated(const double s[4])
{
    return s[0] < -CARTPOLE_X_LIMIT || s[0] > CARTPOLE_X_LIMIT || s[2] < -CARTPOLE_THETA_LIMIT ||
           s[2] > CARTPOLE_THETA_LIMIT;
}

#endif
