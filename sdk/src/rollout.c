/* Rollout buffer and generalised advantage estimation. */
#include <stdlib.h>
#include <string.h>
#include "tars/buffer.h"
#include "tars/error.h"

#define ROLLOUT_STATE_VERSION 1

struct tars_rollout {
    uint32_t n_steps, n_envs, obs_dim, act_dim;
    uint32_t t; /* steps stored */
    float *obs, *act, *reward, *value, *logp, *adv, *ret;
    uint8_t *done;
};

int
tars_rollout_new(uint32_t n_steps, uint32_t n_envs, uint32_t obs_dim, uint32_t act_dim,
                 tars_rollout **out)
{
    *out = NULL;
    if (!n_steps || !n_envs || !obs_dim || !act_dim)
        return TARS_EINVAL;
    size_t rows = (size_t)n_steps * n_envs;
    tars_rollout *r = calloc(1, sizeof *r);
    if (!r)
        return TARS_ENOMEM;
    *r = (tars_rollout){
        .n_steps = n_steps, .n_envs = n_envs, .obs_dim = obs_dim, .act_dim = act_dim};
    r->obs = calloc(rows * obs_dim, sizeof(float));
    r->act = calloc(rows * act_dim, sizeof(float));
    r->reward = calloc(rows, sizeof(float));
    r->value = calloc(rows, sizeof(float));
    r->logp = calloc(rows, sizeof(float));
    r->adv = calloc(rows, sizeof(float));
    r->ret = calloc(rows, sizeof(float));
    r->done = calloc(rows, 1);
    if (!r->obs || !r->act || !r->reward || !r->value || !r->logp || !r->adv || !r->ret ||
        !r->done) {
        tars_rollout_free(r);
        return TARS_ENOMEM;
    }
    *out = r;
    return 0;
}

void
tars_rollout_free(tars_rollout *r)
{
    if (!r)
        return;
    free(r->obs);
    free(r->act);
    free(r->reward);
    free(r->value);
    free(r->logp);
    free(r->adv);
    free(r->ret);
    free(r->done);
    free(r);
}

void
tars_rollout_clear(tars_rollout *r)
{
    r->t = 0;
}

int
tars_rollout_add(tars_rollout *r, const float *obs, const float *act, const float *reward,
                 const uint8_t *done, const float *value, const float *logp)
{
    if (r->t >= r->n_steps)
        return TARS_ERANGE;
    size_t row = (size_t)r->t * r->n_envs, n = r->n_envs;
    memcpy(r->obs + row * r->obs_dim, obs, n * r->obs_dim * sizeof(float));
    memcpy(r->act + row * r->act_dim, act, n * r->act_dim * sizeof(float));
    memcpy(r->reward + row, reward, n * sizeof(float));
    memcpy(r->done + row, done, n);
    memcpy(r->value + row, value, n * sizeof(float));
    memcpy(r->logp + row, logp, n * sizeof(float));
    r->t++;
    return 0;
}

uint32_t
tars_rollout_steps(const tars_rollout *r)
{
    return r->t;
}

int
tars_rollout_full(const tars_rollout *r)
{
    return r->t == r->n_steps;
}

void
tars_gae(const float *reward, const float *value, const uint8_t *done, const float *last_value,
         uint32_t n_steps, uint32_t n_envs, double gamma, double lambda, float *adv, float *ret)
{
    for (uint32_t e = 0; e < n_envs; e++) {
        double gae = 0;
        for (uint32_t t = n_steps; t-- > 0;) {
            size_t i = (size_t)t * n_envs + e;
            double next_v = t + 1 == n_steps ? last_value[e] : value[i + n_envs];
            double live = done[i] ? 0.0 : 1.0;
            double delta = reward[i] + gamma * next_v * live - value[i];
            gae = delta + gamma * lambda * live * gae;
            adv[i] = (float)gae;
            ret[i] = (float)(gae + value[i]);
        }
    }
}

void
tars_rollout_finish(tars_rollout *r, const float *last_value, double gamma, double lambda)
{
    tars_gae(r->reward, r->value, r->done, last_value, r->t, r->n_envs, gamma, lambda, r->adv,
             r->ret);
}

const float *
tars_rollout_obs(const tars_rollout *r)
{
    return r->obs;
}

const float *
tars_rollout_act(const tars_rollout *r)
{
    return r->act;
}

const float *
tars_rollout_logp(const tars_rollout *r)
{
    return r->logp;
}

const float *
tars_rollout_value(const tars_rollout *r)
{
    return r->value;
}

const float *
tars_rollout_adv(const tars_rollout *r)
{
    return r->adv;
}

const float *
tars_rollout_ret(const tars_rollout *r)
{
    return r->ret;
}

void
tars_shuffle(uint32_t *idx, uint32_t n, tars_rng *rng)
{
    for (uint32_t i = 0; i < n; i++)
        idx[i] = i;
    for (uint32_t i = n; i > 1; i--) {
        uint32_t j = (uint32_t)tars_rng_below(rng, i);
        uint32_t t = idx[i - 1];
        idx[i - 1] = idx[j];
        idx[j] = t;
    }
}

int
tars_rollout_save(const tars_rollout *r, tars_blob_writer *w)
{
    size_t rows = (size_t)r->t * r->n_envs;
    int rc = tars_blob_put_u32(w, ROLLOUT_STATE_VERSION);
    if (!rc)
        rc = tars_blob_put_u32(w, r->t);
    if (!rc)
        rc = tars_blob_put_f32s(w, r->obs, rows * r->obs_dim);
    if (!rc)
        rc = tars_blob_put_f32s(w, r->act, rows * r->act_dim);
    if (!rc)
        rc = tars_blob_put_f32s(w, r->reward, rows);
    if (!rc)
        rc = tars_blob_put_bytes(w, r->done, rows);
    if (!rc)
        rc = tars_blob_put_f32s(w, r->value, rows);
    if (!rc)
        rc = tars_blob_put_f32s(w, r->logp, rows);
    return rc;
}

int
tars_rollout_load(tars_rollout *r, tars_blob_reader *rd)
{
    uint32_t version, t;
    int rc = tars_blob_get_u32(rd, &version);
    if (!rc && version != ROLLOUT_STATE_VERSION)
        return TARS_EVERSION;
    if (!rc)
        rc = tars_blob_get_u32(rd, &t);
    if (rc)
        return rc;
    if (t > r->n_steps)
        return TARS_EFORMAT;
    size_t rows = (size_t)t * r->n_envs;
    rc = tars_blob_get_f32s(rd, r->obs, rows * r->obs_dim);
    if (!rc)
        rc = tars_blob_get_f32s(rd, r->act, rows * r->act_dim);
    if (!rc)
        rc = tars_blob_get_f32s(rd, r->reward, rows);
    if (!rc)
        rc = tars_blob_get_bytes(rd, r->done, rows);
    if (!rc)
        rc = tars_blob_get_f32s(rd, r->value, rows);
    if (!rc)
        rc = tars_blob_get_f32s(rd, r->logp, rows);
    r->t = rc ? 0 : t;
    return rc;
}
