#include <stdlib.h>
#include <string.h>
#include "vecbuf.h"
#include "fault.h"

int
vecbuf_alloc(struct vecbuf *b, uint32_t n, const tars_env_spec *spec)
{
    memset(b, 0, sizeof *b);
    b->n = n;
    b->n_agents = spec->n_agents;
    b->obs_width = spec->n_agents * spec->obs.dim;
    b->act_width = spec->n_agents * (spec->act.type == TARS_SPACE_DISCRETE ? 1 : spec->act.dim);
    size_t ow = (size_t)n * b->obs_width, aw = (size_t)n * b->act_width;
    b->obs = calloc(ow, sizeof(float));
    b->new_obs = calloc(ow, sizeof(float));
    b->final_obs = calloc(ow, sizeof(float));
    b->reward = calloc((size_t)n * b->n_agents, sizeof(float));
    b->terminated = calloc(n, 1);
    b->truncated = calloc(n, 1);
    b->ep_return = calloc(n, sizeof(double));
    b->ep_len = calloc(n, sizeof(uint32_t));
    if (spec->act.type == TARS_SPACE_DISCRETE)
        b->act_discrete = calloc(aw, sizeof(int32_t));
    else
        b->act_continuous = calloc(aw, sizeof(float));
    if (b->obs && b->new_obs && b->final_obs && b->reward && b->terminated && b->truncated &&
        b->ep_return && b->ep_len && (b->act_discrete || b->act_continuous))
        return 0;
    vecbuf_free(b);
    return TARS_ENOMEM;
}

void
vecbuf_free(struct vecbuf *b)
{
    free(b->obs);
    free(b->new_obs);
    free(b->final_obs);
    free(b->reward);
    free(b->terminated);
    free(b->truncated);
    free(b->act_discrete);
    free(b->act_continuous);
    free(b->ep_return);
    free(b->ep_len);
    memset(b, 0, sizeof *b);
}

int
vecbuf_act_step(struct vecbuf *b, const tars_agent_ops *aops, tars_agent *agent,
                const tars_params *ap, int explore, const tars_env_ops *eops, tars_env *env,
                const tars_params *ep, const char **failed)
{
    tars_actions act = {b->act_discrete, b->act_continuous};
    int rc = aops->act(agent, ap, b->obs, b->n, explore, &act);
    if (rc) {
        *failed = "act";
        return rc;
    }
    tars_step_out out = {b->new_obs, b->final_obs, b->reward, b->terminated, b->truncated};
    fault_env_op("step");
    rc = eops->step(env, ep, &act, &out);
    if (rc) {
        *failed = "step";
        return rc;
    }
    for (uint32_t i = 0; i < b->n; i++) {
        for (uint32_t k = 0; k < b->n_agents; k++)
            b->ep_return[i] += b->reward[i * b->n_agents + k];
        b->ep_len[i]++;
    }
    return 0;
}

void
vecbuf_advance(struct vecbuf *b)
{
    float *t = b->obs;
    b->obs = b->new_obs;
    b->new_obs = t;
}
