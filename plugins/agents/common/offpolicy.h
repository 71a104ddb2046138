/*
 * offpolicy — the schedule DQN and DDPG share, as Stable-Baselines3 runs it: random actions
 * until learning_starts env steps, then every train_freq vectorised steps `gradient_steps`
 * updates (-1: as many as env steps collected since the last round), each on a minibatch
 * drawn uniformly from the replay buffer.
 */
#ifndef TARS_PLUGINS_OFFPOLICY_H
#define TARS_PLUGINS_OFFPOLICY_H

#include <tars/tars.h>
#include "norm.h"

struct offp_clock {
    uint64_t timesteps;   /* env transitions seen */
    uint64_t calls;       /* vectorised steps seen */
    uint64_t since_train; /* vectorised steps since the last training round */
    uint64_t n_updates;   /* gradient steps taken */
};

/* Counts one vectorised step of n_envs envs. */
static inline void
offp_tick(struct offp_clock *c, uint32_t n_envs)
{
    c->timesteps += n_envs;
    c->calls++;
    c->since_train++;
}

/* How many gradient steps to take now (0 if it is not yet time). */
static inline uint64_t
offp_due(struct offp_clock *c, uint32_t n_envs, int64_t train_freq, int64_t gradient_steps,
         int64_t learning_starts)
{
    if ((int64_t)c->since_train < train_freq)
        return 0;
    uint64_t collected = c->since_train * n_envs;
    c->since_train = 0;
    if ((int64_t)c->timesteps <= learning_starts)
        return 0;
    return gradient_steps >= 0 ? (uint64_t)gradient_steps : collected;
}

/* SB3's get_linear_fn: from `start` to `end` over the first `fraction` of total steps. */
static inline double
offp_linear(double start, double end, double fraction, uint64_t timesteps, double total)
{
    double progress = total > 0 ? timesteps / total : 1;
    if (fraction <= 0 || progress > fraction)
        return end;
    return start + progress * (end - start) / fraction;
}

static inline int
offp_save(const struct offp_clock *c, tars_blob_writer *w)
{
    int rc = tars_blob_put_u64(w, c->timesteps);
    if (!rc)
        rc = tars_blob_put_u64(w, c->calls);
    if (!rc)
        rc = tars_blob_put_u64(w, c->since_train);
    if (!rc)
        rc = tars_blob_put_u64(w, c->n_updates);
    return rc;
}

static inline int
offp_load(struct offp_clock *c, tars_blob_reader *r)
{
    struct offp_clock t;
    int rc = tars_blob_get_u64(r, &t.timesteps);
    if (!rc)
        rc = tars_blob_get_u64(r, &t.calls);
    if (!rc)
        rc = tars_blob_get_u64(r, &t.since_train);
    if (!rc)
        rc = tars_blob_get_u64(r, &t.n_updates);
    if (!rc)
        *c = t;
    return rc;
}

/*
 * Everything an off-policy agent keeps, in the order it is saved: the clock, the RNG, the
 * networks (online and target), their optimisers, the replay buffer, the normalisation.
 */
struct offp_parts {
    struct offp_clock *clock;
    tars_rng *rng;
    tars_mlp *const *nets;
    int n_nets;
    tars_optim *const *optims;
    int n_optims;
    tars_replay *replay;
    struct agent_norm *norm;
};

int offp_save_parts(const struct offp_parts *p, tars_blob_writer *w);
/*
 * Loads what offp_save_parts wrote. The clock and RNG change only when everything loaded;
 * on failure the reason goes to ctx (tars_fail) and the agent must be discarded.
 */
int offp_load_parts(const struct offp_parts *p, tars_ctx *ctx, tars_blob_reader *r);

#endif
