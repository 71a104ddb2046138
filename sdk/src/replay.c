/* Uniform replay buffer: a ring of transitions in flat arrays. */
#include <stdlib.h>
#include <string.h>
#include "tars/buffer.h"
#include "tars/error.h"

#define REPLAY_STATE_VERSION 1

struct tars_replay {
    size_t cap, size, next;
    uint32_t obs_dim, act_dim;
    float *obs, *act, *reward, *next_obs, *done;
};

int
tars_replay_new(size_t capacity, uint32_t obs_dim, uint32_t act_dim, tars_replay **out)
{
    *out = NULL;
    if (!capacity || !obs_dim || !act_dim || capacity > ((size_t)1 << 32))
        return TARS_EINVAL;
    tars_replay *r = calloc(1, sizeof *r);
    if (!r)
        return TARS_ENOMEM;
    *r = (tars_replay){.cap = capacity, .obs_dim = obs_dim, .act_dim = act_dim};
    r->obs = malloc(capacity * obs_dim * sizeof(float));
    r->next_obs = malloc(capacity * obs_dim * sizeof(float));
    r->act = malloc(capacity * act_dim * sizeof(float));
    r->reward = malloc(capacity * sizeof(float));
    r->done = malloc(capacity * sizeof(float));
    if (!r->obs || !r->next_obs || !r->act || !r->reward || !r->done) {
        tars_replay_free(r);
        return TARS_ENOMEM;
    }
    *out = r;
    return 0;
}

void
tars_replay_free(tars_replay *r)
{
    if (!r)
        return;
    free(r->obs);
    free(r->next_obs);
    free(r->act);
    free(r->reward);
    free(r->done);
    free(r);
}

void
tars_replay_add(tars_replay *r, const float *obs, const float *act, float reward,
                const float *next_obs, int done)
{
    size_t i = r->next;
    memcpy(r->obs + i * r->obs_dim, obs, r->obs_dim * sizeof(float));
    memcpy(r->next_obs + i * r->obs_dim, next_obs, r->obs_dim * sizeof(float));
    memcpy(r->act + i * r->act_dim, act, r->act_dim * sizeof(float));
    r->reward[i] = reward;
    r->done[i] = done ? 1.0f : 0.0f;
    r->next = (i + 1) % r->cap;
    if (r->size < r->cap)
        r->size++;
}

size_t
tars_replay_size(const tars_replay *r)
{
    return r->size;
}

void
tars_replay_sample(const tars_replay *r, uint32_t batch, tars_rng *rng, float *obs, float *act,
                   float *reward, float *next_obs, float *done)
{
    uint32_t od = r->obs_dim, ad = r->act_dim;
    for (uint32_t b = 0; b < batch; b++) {
        size_t i = (size_t)tars_rng_below(rng, r->size);
        memcpy(obs + (size_t)b * od, r->obs + i * od, od * sizeof(float));
        memcpy(next_obs + (size_t)b * od, r->next_obs + i * od, od * sizeof(float));
        memcpy(act + (size_t)b * ad, r->act + i * ad, ad * sizeof(float));
        reward[b] = r->reward[i];
        done[b] = r->done[i];
    }
}

int
tars_replay_save(const tars_replay *r, tars_blob_writer *w)
{
    /* Only the filled part is written: a fresh buffer saves small. */
    size_t n = r->size;
    int rc = tars_blob_put_u32(w, REPLAY_STATE_VERSION);
    if (!rc)
        rc = tars_blob_put_u64(w, r->cap);
    if (!rc)
        rc = tars_blob_put_u32(w, r->obs_dim);
    if (!rc)
        rc = tars_blob_put_u32(w, r->act_dim);
    if (!rc)
        rc = tars_blob_put_u64(w, r->size);
    if (!rc)
        rc = tars_blob_put_u64(w, r->next);
    if (!rc)
        rc = tars_blob_put_f32s(w, r->obs, n * r->obs_dim);
    if (!rc)
        rc = tars_blob_put_f32s(w, r->next_obs, n * r->obs_dim);
    if (!rc)
        rc = tars_blob_put_f32s(w, r->act, n * r->act_dim);
    if (!rc)
        rc = tars_blob_put_f32s(w, r->reward, n);
    if (!rc)
        rc = tars_blob_put_f32s(w, r->done, n);
    return rc;
}

int
tars_replay_load(tars_replay *r, tars_blob_reader *rd)
{
    uint32_t version, od, ad;
    uint64_t cap, size, next;
    int rc = tars_blob_get_u32(rd, &version);
    if (!rc && version != REPLAY_STATE_VERSION)
        return TARS_EVERSION;
    if (!rc)
        rc = tars_blob_get_u64(rd, &cap);
    if (!rc)
        rc = tars_blob_get_u32(rd, &od);
    if (!rc)
        rc = tars_blob_get_u32(rd, &ad);
    if (!rc)
        rc = tars_blob_get_u64(rd, &size);
    if (!rc)
        rc = tars_blob_get_u64(rd, &next);
    if (rc)
        return rc;
    if (cap != r->cap || od != r->obs_dim || ad != r->act_dim || size > cap || next >= cap)
        return TARS_EFORMAT;
    /* Arrays are read in place; on failure the buffer is emptied rather than left mixed. */
    rc = tars_blob_get_f32s(rd, r->obs, size * od);
    if (!rc)
        rc = tars_blob_get_f32s(rd, r->next_obs, size * od);
    if (!rc)
        rc = tars_blob_get_f32s(rd, r->act, size * ad);
    if (!rc)
        rc = tars_blob_get_f32s(rd, r->reward, size);
    if (!rc)
        rc = tars_blob_get_f32s(rd, r->done, size);
    r->size = rc ? 0 : size;
    r->next = rc ? 0 : next;
    return rc;
}
