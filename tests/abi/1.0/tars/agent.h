/*
 * tars/agent.h — the agent kind. The host owns the loop:
 *
 *     obs = env.reset()
 *     loop: agent.act(obs, explore=1) -> actions; env.step(actions) -> out;
 *           agent.observe({obs, actions, reward, next_obs=final_obs where done, flags});
 *           obs = out.obs
 *
 * and the agent trains inside observe whenever its rollout or replay schedule says so.
 */
#ifndef TARS_AGENT_H
#define TARS_AGENT_H

#include <stdint.h>
#include "tars/version.h"
#include "tars/host.h"
#include "tars/params.h"
#include "tars/blob.h"
#include "tars/env.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One vectorised transition of the n_envs copies given to create. */
typedef struct tars_batch {
    const float *obs;            /* [n_envs][n_agents][obs dim] the observations acted on */
    const int32_t *act_discrete; /* the actions taken (one pointer is set) */
    const float *act_continuous;
    const float *reward;       /* [n_envs][n_agents] */
    const float *next_obs;     /* the following observation; the final one where an episode ended */
    const uint8_t *terminated; /* [n_envs] */
    const uint8_t *truncated;  /* [n_envs] */
} tars_batch;

typedef struct tars_agent tars_agent; /* defined by each agent plugin */

typedef struct tars_agent_ops {
    uint32_t struct_size; /* sizeof(tars_agent_ops) as the plugin compiled it */
    uint32_t reserved0;
    /*
     * Creates an agent for envs of this spec, stepped n_envs at a time. Returns TARS_ENOTSUP
     * (with tars_fail) for spaces it cannot handle. The spec and its bounds are valid only
     * during this call: copy what you keep.
     */
    int (*create)(tars_ctx *ctx, const tars_env_spec *spec, uint32_t n_envs,
                  const tars_params *params, uint64_t seed, tars_agent **out);
    void (*destroy)(tars_agent *agent);
    /*
     * Chooses actions for n observations (n may differ from n_envs: evaluation uses its own
     * envs). explore = 0 asks for the deterministic policy and must not consume the training
     * RNG, so that evaluating does not change training.
     */
    int (*act)(tars_agent *agent, const tars_params *params, const float *obs, uint32_t n,
               int explore, tars_actions *out);
    /* Records one transition of all n_envs copies; may train; may report scalars. */
    int (*observe)(tars_agent *agent, const tars_params *params, const tars_batch *batch,
                   tars_scalars *scalars);
    /* Everything needed to continue exactly: weights, optimiser, buffers, schedules, RNG. */
    int (*save)(const tars_agent *agent, tars_blob_writer *w);
    int (*load)(tars_agent *agent, tars_blob_reader *r);
    /* Optional (NULL): named weights for exporters. */
    int (*tensors)(const tars_agent *agent, tars_tensor_sink *sink);
    const void *reserved[4];
} tars_agent_ops;

#ifdef __cplusplus
}
#endif

#endif
