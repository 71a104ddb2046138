/*
 * tars/normalize.h — running observation and reward normalisation, as Stable-Baselines3's
 * VecNormalize does it: observations become (x - mean) / sqrt(var + eps) clipped to
 * +-clip_obs, with mean and variance tracked over everything seen in training; rewards are
 * divided by the standard deviation of the running discounted return, clipped to
 * +-clip_reward. Saved with the agent's state. One thread at a time.
 */
#ifndef TARS_NORMALIZE_H
#define TARS_NORMALIZE_H

#include <stdint.h>
#include "tars/version.h"
#include "tars/blob.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tars_normalizer tars_normalizer;

/* For obs of `dim` floats from n_envs envs. SB3's defaults: clip 10 and 10, eps 1e-8. */
TARS_EXPORT int tars_normalizer_new(uint32_t dim, uint32_t n_envs, double clip_obs,
                                    double clip_reward, double gamma, double eps,
                                    tars_normalizer **out);
TARS_EXPORT void tars_normalizer_free(tars_normalizer *z);
/* Adds n observations to the running statistics (training only). */
TARS_EXPORT void tars_normalizer_observe(tars_normalizer *z, const float *obs, uint32_t n);
/* Normalises n observations into out (may equal obs). */
TARS_EXPORT void tars_normalizer_obs(const tars_normalizer *z, const float *obs, uint32_t n,
                                     float *out);
/*
 * Normalises the rewards of one step of all n_envs envs, updating the return statistics;
 * done[e] resets env e's running return after this step.
 */
TARS_EXPORT void tars_normalizer_reward(tars_normalizer *z, const float *reward,
                                        const uint8_t *done, float *out);
TARS_EXPORT int tars_normalizer_save(const tars_normalizer *z, tars_blob_writer *w);
TARS_EXPORT int tars_normalizer_load(tars_normalizer *z, tars_blob_reader *r);

#ifdef __cplusplus
}
#endif

#endif
