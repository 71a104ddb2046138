/*
 * onpolicy — what PPO and A2C share: acting with the actor-critic, collecting n_steps x n_envs
 * transitions (with SB3's bootstrap of time-limit truncations: r += gamma V(final obs)),
 * GAE at the end of each rollout, optional observation/reward normalisation, save/load.
 * Each algorithm supplies its parameter schema and its update (`train`).
 *
 * The parameters both schemas must declare, by name: learning_rate, lr_schedule, n_steps,
 * gamma, gae_lambda, ent_coef, vf_coef, max_grad_norm, normalize_advantage, total_steps,
 * hidden, layers, activation, ortho_init, log_std_init, normalize_obs, normalize_reward.
 */
#ifndef TARS_PLUGINS_ONPOLICY_H
#define TARS_PLUGINS_ONPOLICY_H

#include <tars/tars.h>
#include "actor_critic.h"
#include "meter.h"
#include "norm.h"

/* Indices of the shared parameters in an algorithm's schema. */
struct onp_index {
    int learning_rate, lr_schedule, n_steps, gamma, gae_lambda, ent_coef, vf_coef, max_grad_norm,
        normalize_advantage, total_steps, hidden, layers, activation, ortho_init, log_std_init,
        normalize_obs, normalize_reward;
};

struct onp_algo {
    enum ac_optimizer (*optimizer)(const tars_params *p);
    /* One update on the full rollout (advantages and returns computed). */
    int (*train)(tars_agent *a, const tars_params *p);
};

/* Training statistics, reported as scalars after every update. */
struct onp_stats {
    double policy_loss, value_loss, entropy_loss, approx_kl, clip_fraction, loss;
    double explained_variance, learning_rate, clip_range, grad_norm;
    uint64_t n_updates;
};

struct tars_agent {
    tars_ctx *ctx;
    const struct onp_algo *algo;
    struct onp_index ix;
    uint32_t n_envs, obs_dim, act_width;
    int discrete;
    float *act_low, *act_high; /* box bounds, copied */
    struct ac_policy pol;
    tars_rollout *roll;
    struct agent_norm norm;
    tars_rng rng;
    uint64_t timesteps;
    struct onp_stats stats;
    struct meter meter;
    /* What the last training act saw and chose, for the observe that follows. */
    float *obs_n, *act, *value, *logp;
    /* scratch */
    float *reward, *last_value, *tmp_obs, *tmp_v, *eval_act;
    uint8_t *done;
    uint32_t eval_cap;
    /* minibatch scratch, sized by the algorithm (onp_reserve) */
    uint32_t mb_cap, perm_cap;
    uint32_t *perm;
    float *mb_obs, *mb_act, *mb_oldlp, *mb_oldv, *mb_adv, *mb_ret, *mb_logp, *mb_ent, *mb_val,
        *g_logp, *g_ent, *g_val;
};

int onp_create(const struct onp_algo *algo, tars_ctx *ctx, const tars_env_spec *spec,
               uint32_t n_envs, const tars_params *params, uint64_t seed, tars_agent **out);
void onp_destroy(tars_agent *a);
int onp_act(tars_agent *a, const tars_params *params, const float *obs, uint32_t n, int explore,
            tars_actions *out);
int onp_observe(tars_agent *a, const tars_params *params, const tars_batch *b,
                tars_scalars *scalars);
int onp_save(const tars_agent *a, tars_blob_writer *w);
int onp_load(tars_agent *a, tars_blob_reader *r);

/* Minibatch scratch for n rows, and a permutation of `rows` rollout rows. */
int onp_reserve(tars_agent *a, uint32_t n, uint32_t rows);
/* The fraction of training left, 1 -> 0 over total_steps (linear schedules multiply by it). */
double onp_progress(const tars_agent *a, const tars_params *p);
/* Normalises advantages in place to zero mean, unit (unbiased) std, as SB3 does. */
void onp_normalize(float *adv, uint32_t n);

/* Ops table and descriptor boilerplate for an on-policy algorithm. */
#define ONPOLICY_AGENT_OPS(name, algo)                                                    \
    static int name##_create(tars_ctx *ctx, const tars_env_spec *spec, uint32_t n_envs,   \
                             const tars_params *params, uint64_t seed, tars_agent **out)  \
    {                                                                                     \
        return onp_create(&(algo), ctx, spec, n_envs, params, seed, out);                 \
    }                                                                                     \
    TARS_OPS(tars_agent_ops, name##_ops, .create = name##_create, .destroy = onp_destroy, \
             .act = onp_act, .observe = onp_observe, .save = onp_save, .load = onp_load)

#endif
