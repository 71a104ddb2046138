/*
 * norm — optional observation and reward normalisation for agents (SB3's VecNormalize done
 * inside the agent, so that its statistics are saved with the agent's state).
 */
#ifndef TARS_PLUGINS_NORM_H
#define TARS_PLUGINS_NORM_H

#include <tars/tars.h>

struct agent_norm {
    tars_normalizer *z; /* NULL when both are off */
    int obs, reward;
    float *buf; /* normalised observations */
    uint32_t cap;
    uint32_t dim;
    float *rbuf;   /* normalised rewards */
    uint8_t *dbuf; /* episode ends */
};

int agent_norm_init(struct agent_norm *n, int norm_obs, int norm_reward, uint32_t dim,
                    uint32_t n_envs, double gamma);
void agent_norm_free(struct agent_norm *n);
/*
 * rows observations as the networks should see them: normalised (adding them to the
 * statistics when `update`) or the input itself. The result lives until the next call.
 */
const float *agent_norm_obs(struct agent_norm *n, const float *obs, uint32_t rows, int update);
/* One step's rewards of all envs as the learner should see them. */
const float *agent_norm_reward(struct agent_norm *n, const float *reward, const uint8_t *term,
                               const uint8_t *trunc, uint32_t n_envs);
int agent_norm_save(const struct agent_norm *n, tars_blob_writer *w);
int agent_norm_load(struct agent_norm *n, tars_blob_reader *r);

#endif
