/*
 * tars/env.h — the environment kind: vectorised, seedable, auto-resetting.
 *
 * One env instance simulates n_envs independent copies. Arrays are laid out
 * [n_envs][n_agents][...] ; single-agent envs have n_agents == 1.
 */
#ifndef TARS_ENV_H
#define TARS_ENV_H

#include <stdint.h>
#include "tars/version.h"
#include "tars/host.h"
#include "tars/params.h"
#include "tars/blob.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum tars_space_type {
    TARS_SPACE_DISCRETE = 1, /* integers 0 .. dim-1, one per agent */
    TARS_SPACE_BOX = 2,      /* float vectors of length dim */
} tars_space_type;

#define TARS_SPACE_MAX_DIMS 4

/*
 * One agent's observation or action space. Embedded in tars_env_spec, so its layout is frozen
 * for ABI major 1; the reserved slots (zero today) are where it can grow.
 */
typedef struct tars_space {
    uint32_t type; /* tars_space_type; observations are always BOX */
    uint32_t dim;  /* DISCRETE: number of choices; BOX: number of floats (product of shape) */
    uint32_t ndim; /* BOX: rank of shape; 0 or 1 for a flat vector */
    uint32_t shape[TARS_SPACE_MAX_DIMS]; /* BOX with ndim > 1: e.g. {3, 84, 84}, row-major */
    uint32_t reserved0;
    const float *low;  /* BOX: dim lower bounds, or NULL for unbounded */
    const float *high; /* BOX: dim upper bounds, or NULL for unbounded */
    const void *reserved[2];
} tars_space;

/*
 * What an env instance looks like; filled by the env's spec op. Its pointers stay valid while
 * the env instance lives. Agents receive a copy in create that is valid only during that
 * call: an agent copies the bounds it keeps.
 */
typedef struct tars_env_spec {
    uint32_t struct_size; /* sizeof(tars_env_spec) as the plugin compiled it */
    uint32_t n_agents;
    tars_space obs;
    tars_space act;
    uint32_t max_episode_steps; /* truncation limit when created, 0 if none */
    uint32_t reserved0;
    const void *reserved[4];
} tars_env_spec;

/* Actions for n environments: exactly one pointer is used, by the action space's type. */
typedef struct tars_actions {
    int32_t *discrete; /* [n][n_agents] */
    float *continuous; /* [n][n_agents][dim] */
} tars_actions;

/* Where step writes its results; the host allocates every array. */
typedef struct tars_step_out {
    float *obs;          /* [n_envs][n_agents][obs dim]: after the step, reset where done */
    float *final_obs;    /* same shape: where done, the observation that ended the episode */
    float *reward;       /* [n_envs][n_agents] */
    uint8_t *terminated; /* [n_envs]: the episode reached a terminal state */
    uint8_t *truncated;  /* [n_envs]: the episode hit a time limit (may be set with terminated) */
} tars_step_out;

typedef struct tars_env tars_env; /* defined by each env plugin */

typedef struct tars_env_ops {
    uint32_t struct_size; /* sizeof(tars_env_ops) as the plugin compiled it */
    uint32_t reserved0;
    /* Creates n_envs copies seeded from `seed`. Fails with a negative code and tars_fail(). */
    int (*create)(tars_ctx *ctx, const tars_params *params, uint32_t n_envs, uint64_t seed,
                  tars_env **out);
    void (*destroy)(tars_env *env);
    /* Fills the spec; pointers in it stay valid for the life of the instance. */
    void (*spec)(const tars_env *env, tars_env_spec *out);
    /* Resets every copy and writes the first observations. */
    int (*reset)(tars_env *env, const tars_params *params, float *obs);
    /*
     * Advances every copy by one step. A copy whose episode ends (terminated or truncated)
     * is reset at once: out->obs holds its new first observation and out->final_obs the
     * last one of the finished episode.
     */
    int (*step)(tars_env *env, const tars_params *params, const tars_actions *actions,
                tars_step_out *out);
    /* Optional (NULL): the whole simulation state including the RNG. */
    int (*save)(const tars_env *env, tars_blob_writer *w);
    int (*load)(tars_env *env, tars_blob_reader *r);
    const void *reserved[4];
} tars_env_ops;

#ifdef __cplusplus
}
#endif

#endif
