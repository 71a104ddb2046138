/*
 * vecbuf — the buffers of one vectorised env instance and the act-then-step half of the host
 * loop, shared by training runs (run.c) and evaluation (evaluate.c).
 */
#ifndef TARS_HOST_VECBUF_H
#define TARS_HOST_VECBUF_H

#include <stdint.h>
#include "tars/plugin.h"

struct vecbuf {
    uint32_t n; /* env copies */
    uint32_t n_agents;
    uint32_t obs_width; /* floats per env */
    uint32_t act_width; /* action values per env */
    float *obs;         /* acted on */
    float *new_obs;     /* after the step (reset where an episode ended) */
    float *final_obs;   /* where an episode ended: its last observation */
    float *reward;
    uint8_t *terminated;
    uint8_t *truncated;
    int32_t *act_discrete; /* one of the two, by the action space */
    float *act_continuous;
    double *ep_return; /* of each env's current episode, summed over agents */
    uint32_t *ep_len;
};

/* Buffers for n copies of envs with this spec. Returns 0 or TARS_ENOMEM (nothing to free). */
int vecbuf_alloc(struct vecbuf *b, uint32_t n, const tars_env_spec *spec);
void vecbuf_free(struct vecbuf *b);

/*
 * agent.act on obs, then env.step; adds rewards to ep_return and one to ep_len. On failure
 * returns the op's code and sets *failed to "act" or "step".
 */
int vecbuf_act_step(struct vecbuf *b, const tars_agent_ops *aops, tars_agent *agent,
                    const tars_params *ap, int explore, const tars_env_ops *eops, tars_env *env,
                    const tars_params *ep, const char **failed);

/* Whether env i's episode ended in the last step. */
static inline int
vecbuf_done(const struct vecbuf *b, uint32_t i)
{
    return b->terminated[i] || b->truncated[i];
}

/* Starts env i's next episode count; call after reading ep_return[i] and ep_len[i]. */
static inline void
vecbuf_episode_reset(struct vecbuf *b, uint32_t i)
{
    b->ep_return[i] = 0;
    b->ep_len[i] = 0;
}

/* The observations after the step become the ones to act on. */
void vecbuf_advance(struct vecbuf *b);

#endif
