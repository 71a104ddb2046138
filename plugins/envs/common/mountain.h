/* The hill both mountain-car envs share (Moore 1990, as Gymnasium writes it). */
#ifndef TARS_PLUGINS_MOUNTAIN_H
#define TARS_PLUGINS_MOUNTAIN_H

#include <math.h>
#include <tars/tars.h>

#define MOUNTAIN_MIN_POS   -1.2
#define MOUNTAIN_MAX_POS   0.6
#define MOUNTAIN_MAX_SPEED 0.07
#define MOUNTAIN_GRAVITY   0.0025

/* s = (position, velocity): accelerate by `push`, slide down the cos(3x) hill, hit the walls. */
static inline void
mountain_move(double *s, double push)
{
    double position = s[0], velocity = s[1];
    velocity += push + cos(3 * position) * (-MOUNTAIN_GRAVITY);
    velocity = fmin(fmax(velocity, -MOUNTAIN_MAX_SPEED), MOUNTAIN_MAX_SPEED);
    position += velocity;
    position = fmin(fmax(position, MOUNTAIN_MIN_POS), MOUNTAIN_MAX_POS);
    if (position == MOUNTAIN_MIN_POS && velocity < 0)
        velocity = 0;
    s[0] = position;
    s[1] = velocity;
}

static inline void
mountain_reset(double *s, tars_rng *rng)
{
    s[0] = tars_rng_range(rng, -0.6, -0.4);
    s[1] = 0;
}

static inline void
mountain_observe(const double *s, float *obs)
{
    obs[0] = (float)s[0];
    obs[1] = (float)s[1];
}

#endif
