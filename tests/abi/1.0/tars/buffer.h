/*
 * tars/buffer.h — experience storage for agents: a uniform replay buffer (off-policy: DQN,
 * DDPG) and a rollout buffer with generalised advantage estimation (on-policy: A2C, PPO).
 * Both save and load whole, so resuming continues exactly. One thread at a time.
 */
#ifndef TARS_BUFFER_H
#define TARS_BUFFER_H

#include <stddef.h>
#include <stdint.h>
#include "tars/version.h"
#include "tars/blob.h"
#include "tars/rng.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Uniform replay (opaque): a ring of (obs, action, reward, next_obs, done). */
typedef struct tars_replay tars_replay;

/*
 * capacity transitions of obs_dim floats and act_dim floats (a discrete action is stored as
 * one float holding its index). Returns TARS_EINVAL for zero sizes, TARS_ENOMEM.
 */
TARS_EXPORT int tars_replay_new(size_t capacity, uint32_t obs_dim, uint32_t act_dim,
                                tars_replay **out);
TARS_EXPORT void tars_replay_free(tars_replay *r);
/*
 * Adds one transition; once full, overwrites the oldest. `done` is 1 only for a real
 * terminal state (not a time-limit truncation, whose next state still has a value).
 */
TARS_EXPORT void tars_replay_add(tars_replay *r, const float *obs, const float *act, float reward,
                                 const float *next_obs, int done);
TARS_EXPORT size_t tars_replay_size(const tars_replay *r);
/* batch transitions drawn uniformly with replacement into the given arrays (size() > 0). */
TARS_EXPORT void tars_replay_sample(const tars_replay *r, uint32_t batch, tars_rng *rng, float *obs,
                                    float *act, float *reward, float *next_obs, float *done);
TARS_EXPORT int tars_replay_save(const tars_replay *r, tars_blob_writer *w);
TARS_EXPORT int tars_replay_load(tars_replay *r, tars_blob_reader *r_);

/*
 * Rollout buffer (opaque): n_steps vectorised steps of n_envs envs, step-major
 * ([step][env][...]), with the values and log-probabilities seen when acting.
 */
typedef struct tars_rollout tars_rollout;

TARS_EXPORT int tars_rollout_new(uint32_t n_steps, uint32_t n_envs, uint32_t obs_dim,
                                 uint32_t act_dim, tars_rollout **out);
TARS_EXPORT void tars_rollout_free(tars_rollout *r);
/* Empties the buffer for the next rollout. */
TARS_EXPORT void tars_rollout_clear(tars_rollout *r);
/*
 * Appends one step: obs[n_envs][obs_dim] acted on, actions, rewards, done[e] = the episode of
 * env e ended at this step, values V(obs), logp of the actions. TARS_ERANGE when full.
 */
TARS_EXPORT int tars_rollout_add(tars_rollout *r, const float *obs, const float *act,
                                 const float *reward, const uint8_t *done, const float *value,
                                 const float *logp);
TARS_EXPORT uint32_t tars_rollout_steps(const tars_rollout *r);
TARS_EXPORT int tars_rollout_full(const tars_rollout *r);
/* Advantages and returns by GAE(lambda) given V of the observations after the last step. */
TARS_EXPORT void tars_rollout_finish(tars_rollout *r, const float *last_value, double gamma,
                                     double lambda);
/* The stored arrays, steps() * n_envs rows each. */
TARS_EXPORT const float *tars_rollout_obs(const tars_rollout *r);
TARS_EXPORT const float *tars_rollout_act(const tars_rollout *r);
TARS_EXPORT const float *tars_rollout_logp(const tars_rollout *r);
TARS_EXPORT const float *tars_rollout_value(const tars_rollout *r);
TARS_EXPORT const float *tars_rollout_adv(const tars_rollout *r);
TARS_EXPORT const float *tars_rollout_ret(const tars_rollout *r);
TARS_EXPORT int tars_rollout_save(const tars_rollout *r, tars_blob_writer *w);
TARS_EXPORT int tars_rollout_load(tars_rollout *r, tars_blob_reader *rd);

/*
 * Generalised advantage estimation over [n_steps][n_envs] arrays:
 *   delta_t = r_t + gamma (1 - done_t) V_{t+1} - V_t,  A_t = delta_t + gamma lambda (1 - done_t)
 * A_{t+1} with V_{n_steps} = last_value. returns = A + V. (Schulman et al. 2016.)
 */
TARS_EXPORT void tars_gae(const float *reward, const float *value, const uint8_t *done,
                          const float *last_value, uint32_t n_steps, uint32_t n_envs, double gamma,
                          double lambda, float *adv, float *ret);

/* A random permutation of 0..n-1 (Fisher-Yates), for minibatches. */
TARS_EXPORT void tars_shuffle(uint32_t *idx, uint32_t n, tars_rng *rng);

#ifdef __cplusplus
}
#endif

#endif
