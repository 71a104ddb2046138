/* Running mean/variance normalisation of observations and rewards (SB3's VecNormalize). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "tars/error.h"
#include "tars/normalize.h"

#define NORM_STATE_VERSION 1

/* Running statistics with Chan et al.'s parallel update; count starts at 1e-4 as in SB3. */
struct running {
    uint32_t dim;
    double count;
    double *mean, *var;
};

struct tars_normalizer {
    uint32_t dim, n_envs;
    double clip_obs, clip_reward, gamma, eps;
    struct running obs, ret;
    double *returns; /* [n_envs] discounted return so far */
};

static int
running_init(struct running *s, uint32_t dim)
{
    s->dim = dim;
    s->count = 1e-4;
    s->mean = calloc(dim, sizeof(double));
    s->var = malloc(dim * sizeof(double));
    if (!s->mean || !s->var)
        return -1;
    for (uint32_t k = 0; k < dim; k++)
        s->var[k] = 1;
    return 0;
}

/* Folds a batch of n rows x[n][dim] (stride dim) into the statistics. */
static void
running_update(struct running *s, const float *x, uint32_t n, const double *xd)
{
    for (uint32_t k = 0; k < s->dim; k++) {
        double bm = 0, bv = 0;
        for (uint32_t i = 0; i < n; i++)
            bm += xd ? xd[i] : x[(size_t)i * s->dim + k];
        bm /= n;
        for (uint32_t i = 0; i < n; i++) {
            double d = (xd ? xd[i] : x[(size_t)i * s->dim + k]) - bm;
            bv += d * d;
        }
        bv /= n;
        double delta = bm - s->mean[k], tot = s->count + n;
        double m2 = s->var[k] * s->count + bv * n + delta * delta * s->count * n / tot;
        s->mean[k] += delta * n / tot;
        s->var[k] = m2 / tot;
    }
    s->count += n;
}

int
tars_normalizer_new(uint32_t dim, uint32_t n_envs, double clip_obs, double clip_reward,
                    double gamma, double eps, tars_normalizer **out)
{
    *out = NULL;
    if (!dim || !n_envs || !(clip_obs > 0) || !(clip_reward > 0) || !(eps > 0))
        return TARS_EINVAL;
    tars_normalizer *z = calloc(1, sizeof *z);
    if (!z)
        return TARS_ENOMEM;
    *z = (tars_normalizer){.dim = dim,
                           .n_envs = n_envs,
                           .clip_obs = clip_obs,
                           .clip_reward = clip_reward,
                           .gamma = gamma,
                           .eps = eps};
    z->returns = calloc(n_envs, sizeof(double));
    if (!z->returns || running_init(&z->obs, dim) || running_init(&z->ret, 1)) {
        tars_normalizer_free(z);
        return TARS_ENOMEM;
    }
    *out = z;
    return 0;
}

void
tars_normalizer_free(tars_normalizer *z)
{
    if (!z)
        return;
    free(z->obs.mean);
    free(z->obs.var);
    free(z->ret.mean);
    free(z->ret.var);
    free(z->returns);
    free(z);
}

void
tars_normalizer_observe(tars_normalizer *z, const float *obs, uint32_t n)
{
    if (n)
        running_update(&z->obs, obs, n, NULL);
}

static double
clip(double x, double c)
{
    return x > c ? c : x < -c ? -c : x;
}

void
tars_normalizer_obs(const tars_normalizer *z, const float *obs, uint32_t n, float *out)
{
    for (uint32_t i = 0; i < n; i++)
        for (uint32_t k = 0; k < z->dim; k++) {
            size_t at = (size_t)i * z->dim + k;
            double x = (obs[at] - z->obs.mean[k]) / sqrt(z->obs.var[k] + z->eps);
            out[at] = (float)clip(x, z->clip_obs);
        }
}

void
tars_normalizer_reward(tars_normalizer *z, const float *reward, const uint8_t *done, float *out)
{
    for (uint32_t e = 0; e < z->n_envs; e++)
        z->returns[e] = z->returns[e] * z->gamma + reward[e];
    running_update(&z->ret, NULL, z->n_envs, z->returns);
    double scale = sqrt(z->ret.var[0] + z->eps);
    for (uint32_t e = 0; e < z->n_envs; e++) {
        out[e] = (float)clip(reward[e] / scale, z->clip_reward);
        if (done[e])
            z->returns[e] = 0;
    }
}

int
tars_normalizer_save(const tars_normalizer *z, tars_blob_writer *w)
{
    int rc = tars_blob_put_u32(w, NORM_STATE_VERSION);
    if (!rc)
        rc = tars_blob_put_u32(w, z->dim);
    if (!rc)
        rc = tars_blob_put_f64(w, z->obs.count);
    if (!rc)
        rc = tars_blob_put_f64s(w, z->obs.mean, z->dim);
    if (!rc)
        rc = tars_blob_put_f64s(w, z->obs.var, z->dim);
    if (!rc)
        rc = tars_blob_put_f64(w, z->ret.count);
    if (!rc)
        rc = tars_blob_put_f64s(w, z->ret.mean, 1);
    if (!rc)
        rc = tars_blob_put_f64s(w, z->ret.var, 1);
    if (!rc)
        rc = tars_blob_put_f64s(w, z->returns, z->n_envs);
    return rc;
}

int
tars_normalizer_load(tars_normalizer *z, tars_blob_reader *r)
{
    uint32_t version, dim;
    int rc = tars_blob_get_u32(r, &version);
    if (!rc && version != NORM_STATE_VERSION)
        return TARS_EVERSION;
    if (!rc)
        rc = tars_blob_get_u32(r, &dim);
    if (!rc && dim != z->dim)
        return TARS_EFORMAT;
    if (!rc)
        rc = tars_blob_get_f64(r, &z->obs.count);
    if (!rc)
        rc = tars_blob_get_f64s(r, z->obs.mean, dim);
    if (!rc)
        rc = tars_blob_get_f64s(r, z->obs.var, dim);
    if (!rc)
        rc = tars_blob_get_f64(r, &z->ret.count);
    if (!rc)
        rc = tars_blob_get_f64s(r, z->ret.mean, 1);
    if (!rc)
        rc = tars_blob_get_f64s(r, z->ret.var, 1);
    if (!rc)
        rc = tars_blob_get_f64s(r, z->returns, z->n_envs);
    return rc;
}
