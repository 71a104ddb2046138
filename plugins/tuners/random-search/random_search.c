/*
 * random-search — Optuna's RandomSampler: every dimension uniform in its internal coordinate
 * (log-uniform for LOG dimensions, each integer an equal cell, each choice equally likely),
 * independent of every trial told. It keeps nothing but its RNG.
 */
#include <stdlib.h>
#include <tars/plugin.h>

#include "space.h"

struct tars_tuner {
    tars_ctx *ctx;
    uint32_t n_dims;
    struct dim *dims;
    tars_rng rng;
};

static int
rs_create(tars_ctx *ctx, const tars_params *p, const tars_study_spec *study, uint64_t seed,
          tars_tuner **out)
{
    (void)p;
    *out = NULL;
    tars_tuner *t = calloc(1, sizeof *t);
    if (!t)
        return TARS_ENOMEM;
    int rc = space_dims(ctx, study, &t->dims);
    if (rc) {
        free(t);
        return rc;
    }
    t->ctx = ctx;
    t->n_dims = study->n_space;
    tars_rng_seed(&t->rng, seed, 0x72616e64);
    *out = t;
    return 0;
}

static void
rs_destroy(tars_tuner *t)
{
    if (t)
        free(t->dims);
    free(t);
}

static int
rs_ask(tars_tuner *t, const tars_params *p, uint64_t number, tars_params *out)
{
    (void)p, (void)number;
    for (uint32_t j = 0; j < t->n_dims; j++) {
        int rc = dim_set(t->ctx, out, j, dim_random(&t->dims[j], &t->rng));
        if (rc)
            return rc;
    }
    return 0;
}

static int
rs_tell(tars_tuner *t, const tars_params *p, const tars_trial *trial)
{
    (void)t, (void)p, (void)trial;
    return 0;
}

static int
rs_save(const tars_tuner *t, tars_blob_writer *w)
{
    int rc = tars_blob_set_version(w, 1);
    return rc ? rc : tars_blob_put_rng(w, &t->rng);
}

static int
rs_load(tars_tuner *t, tars_blob_reader *r)
{
    if (tars_blob_version(r) != 1)
        return tars_fail(t->ctx, TARS_EVERSION, "random-search state version %u, expected 1",
                         tars_blob_version(r));
    return tars_blob_get_rng(r, &t->rng);
}

TARS_OPS(tars_tuner_ops, rs_ops, .roles = TARS_TUNER_SAMPLER, .create = rs_create,
         .destroy = rs_destroy, .ask = rs_ask, .tell = rs_tell, .save = rs_save, .load = rs_load);
TARS_PLUGIN(.kind = TARS_KIND_TUNER, .name = "random-search", .version = "1.0.0",
            .description = "Uniform random sampling of the space, as Optuna's RandomSampler.",
            .ops = &rs_ops)
