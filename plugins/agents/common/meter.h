/*
 * meter — how much time and how many FLOPs an agent's updates take (reported as the
 * update_s and update_gflop scalars, which `make bench` turns into GFLOP/s). Diagnostic only:
 * not saved, never read by the learning itself.
 */
#ifndef TARS_PLUGINS_METER_H
#define TARS_PLUGINS_METER_H

#include <time.h>
#include <tars/tars.h>

struct meter {
    double seconds;
    uint64_t flops;
    double t0;
    uint64_t f0;
};

static inline double
meter_clock(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* FLOPs of a set of networks so far. */
static inline uint64_t
meter_flops(tars_mlp *const *nets, int n)
{
    uint64_t f = 0;
    for (int i = 0; i < n; i++)
        f += tars_mlp_flops(nets[i]);
    return f;
}

static inline void
meter_start(struct meter *m, tars_mlp *const *nets, int n)
{
    m->t0 = meter_clock();
    m->f0 = meter_flops(nets, n);
}

static inline void
meter_stop(struct meter *m, tars_mlp *const *nets, int n)
{
    m->seconds += meter_clock() - m->t0;
    m->flops += meter_flops(nets, n) - m->f0;
}

static inline void
meter_report(const struct meter *m, tars_scalars *s)
{
    tars_scalar(s, "update_s", m->seconds);
    tars_scalar(s, "update_gflop", (double)m->flops * 1e-9);
}

#endif
