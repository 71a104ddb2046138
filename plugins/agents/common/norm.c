#include <stdlib.h>
#include <string.h>
#include "norm.h"

int
agent_norm_init(struct agent_norm *n, int norm_obs, int norm_reward, uint32_t dim, uint32_t n_envs,
                double gamma)
{
    memset(n, 0, sizeof *n);
    n->obs = norm_obs;
    n->reward = norm_reward;
    n->dim = dim;
    if (!norm_obs && !norm_reward)
        return 0;
    n->rbuf = malloc(n_envs * sizeof(float));
    n->dbuf = malloc(n_envs);
    if (!n->rbuf || !n->dbuf)
        return TARS_ENOMEM;
    /* VecNormalize's defaults: clip 10 and 10, epsilon 1e-8; the discount is the agent's. */
    return tars_normalizer_new(dim, n_envs, 10.0, 10.0, gamma, 1e-8, &n->z);
}

void
agent_norm_free(struct agent_norm *n)
{
    tars_normalizer_free(n->z);
    free(n->buf);
    free(n->rbuf);
    free(n->dbuf);
    memset(n, 0, sizeof *n);
}

const float *
agent_norm_obs(struct agent_norm *n, const float *obs, uint32_t rows, int update)
{
    if (!n->obs)
        return obs;
    if (rows > n->cap) {
        float *b = realloc(n->buf, (size_t)rows * n->dim * sizeof(float));
        if (!b)
            return NULL;
        n->buf = b;
        n->cap = rows;
    }
    if (update)
        tars_normalizer_observe(n->z, obs, rows);
    tars_normalizer_obs(n->z, obs, rows, n->buf);
    return n->buf;
}

const float *
agent_norm_reward(struct agent_norm *n, const float *reward, const uint8_t *term,
                  const uint8_t *trunc, uint32_t n_envs)
{
    if (!n->reward)
        return reward;
    for (uint32_t e = 0; e < n_envs; e++)
        n->dbuf[e] = term[e] || trunc[e];
    tars_normalizer_reward(n->z, reward, n->dbuf, n->rbuf);
    return n->rbuf;
}

int
agent_norm_save(const struct agent_norm *n, tars_blob_writer *w)
{
    return n->z ? tars_normalizer_save(n->z, w) : 0;
}

int
agent_norm_load(struct agent_norm *n, tars_blob_reader *r)
{
    return n->z ? tars_normalizer_load(n->z, r) : 0;
}
