#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "classic.h"

#define STATE_VERSION 1

struct tars_env {
    const struct classic_def *def;
    tars_ctx *ctx;
    uint32_t n;
    tars_rng rng;
    double *state;   /* [n][state_dim] */
    uint32_t *steps; /* [n] steps into the current episode */
    uint32_t limit_at_create;
};

int
classic_create(const struct classic_def *def, tars_ctx *ctx, const tars_params *params,
               uint32_t n_envs, uint64_t seed, tars_env **out)
{
    tars_env *e = calloc(1, sizeof *e);
    if (!e)
        return TARS_ENOMEM;
    e->def = def;
    e->ctx = ctx;
    e->n = n_envs;
    e->limit_at_create = (uint32_t)tars_param_int(params, def->limit_param);
    e->state = calloc((size_t)n_envs * def->state_dim, sizeof *e->state);
    e->steps = calloc(n_envs, sizeof *e->steps);
    if (!e->state || !e->steps) {
        classic_destroy(e);
        return TARS_ENOMEM;
    }
    tars_rng_seed(&e->rng, seed, 0);
    *out = e;
    return 0;
}

void
classic_destroy(tars_env *e)
{
    if (!e)
        return;
    free(e->state);
    free(e->steps);
    free(e);
}

void
classic_spec(const tars_env *e, tars_env_spec *spec)
{
    const struct classic_def *d = e->def;
    memset(spec, 0, sizeof *spec);
    spec->struct_size = sizeof *spec;
    spec->n_agents = 1;
    spec->obs = (tars_space){
        .type = TARS_SPACE_BOX, .dim = d->obs_dim, .low = d->obs_low, .high = d->obs_high};
    spec->act = (tars_space){.type = d->act_type, .dim = d->act_dim};
    if (d->act_type == TARS_SPACE_BOX) {
        spec->act.low = d->act_low;
        spec->act.high = d->act_high;
    }
    spec->max_episode_steps = e->limit_at_create;
}

static void
reset_one(tars_env *e, uint32_t i, float *obs)
{
    double *s = &e->state[(size_t)i * e->def->state_dim];
    e->def->reset(s, &e->rng);
    e->def->observe(s, obs);
    e->steps[i] = 0;
}

int
classic_reset(tars_env *e, const tars_params *params, float *obs)
{
    (void)params;
    for (uint32_t i = 0; i < e->n; i++)
        reset_one(e, i, &obs[(size_t)i * e->def->obs_dim]);
    return 0;
}

/* Every action is checked before any copy moves, so a bad one leaves all of them as they were. */
static int
check_actions(const tars_env *e, const tars_actions *a)
{
    const struct classic_def *d = e->def;
    for (uint32_t i = 0; i < e->n; i++) {
        if (d->act_type == TARS_SPACE_DISCRETE) {
            int32_t v = a->discrete[i];
            if (v < 0 || (uint32_t)v >= d->act_dim)
                return tars_fail(e->ctx, TARS_EINVAL, "action %d of env %u is not in [0, %u]", v, i,
                                 d->act_dim - 1);
        } else {
            for (uint32_t k = 0; k < d->act_dim; k++)
                if (!isfinite(a->continuous[(size_t)i * d->act_dim + k]))
                    return tars_fail(e->ctx, TARS_EINVAL, "action %u of env %u is not finite", k,
                                     i);
        }
    }
    return 0;
}

int
classic_step(tars_env *e, const tars_params *params, const tars_actions *actions,
             tars_step_out *out)
{
    const struct classic_def *d = e->def;
    uint32_t limit = (uint32_t)tars_param_int(params, d->limit_param);
    int rc = check_actions(e, actions);
    if (rc)
        return rc;
    for (uint32_t i = 0; i < e->n; i++) {
        double *s = &e->state[(size_t)i * d->state_dim];
        float *obs = &out->obs[(size_t)i * d->obs_dim];
        int term = 0;
        const int32_t *ad = d->act_type == TARS_SPACE_DISCRETE ? &actions->discrete[i] : NULL;
        const float *ac =
            d->act_type == TARS_SPACE_BOX ? &actions->continuous[(size_t)i * d->act_dim] : NULL;
        out->reward[i] = (float)d->step(s, ad, ac, params, &term);
        if (d->float32_state)
            for (uint32_t k = 0; k < d->state_dim; k++)
                s[k] = (float)s[k];
        e->steps[i]++;
        d->observe(s, obs);
        out->terminated[i] = (uint8_t)(term != 0);
        out->truncated[i] = e->steps[i] >= limit;
        if (term || e->steps[i] >= limit) {
            memcpy(&out->final_obs[(size_t)i * d->obs_dim], obs, d->obs_dim * sizeof *obs);
            reset_one(e, i, obs);
        }
    }
    return 0;
}

int
classic_save(const tars_env *e, tars_blob_writer *w)
{
    int rc = tars_blob_set_version(w, STATE_VERSION);
    if (!rc)
        rc = tars_blob_put_u32(w, e->n);
    if (!rc)
        rc = tars_blob_put_f64s(w, e->state, (size_t)e->n * e->def->state_dim);
    if (!rc)
        rc = tars_blob_put_bytes(w, e->steps, (size_t)e->n * sizeof *e->steps);
    if (!rc)
        rc = tars_blob_put_rng(w, &e->rng);
    return rc;
}

int
classic_load(tars_env *e, tars_blob_reader *r)
{
    uint32_t n;
    if (tars_blob_version(r) != STATE_VERSION)
        return tars_fail(e->ctx, TARS_EVERSION, "state version %u, expected %u",
                         tars_blob_version(r), STATE_VERSION);
    int rc = tars_blob_get_u32(r, &n);
    if (rc)
        return rc;
    if (n != e->n)
        return tars_fail(e->ctx, TARS_EINVAL, "state has %u envs, this instance %u", n, e->n);
    /* Read into copies so a failed load leaves the instance as it was. */
    size_t sn = (size_t)n * e->def->state_dim;
    double *state = malloc(sn * sizeof *state);
    uint32_t *steps = malloc((size_t)n * sizeof *steps);
    tars_rng rng;
    rc = state && steps ? 0 : TARS_ENOMEM;
    if (!rc)
        rc = tars_blob_get_f64s(r, state, sn);
    if (!rc)
        rc = tars_blob_get_bytes(r, steps, (size_t)n * sizeof *steps);
    if (!rc)
        rc = tars_blob_get_rng(r, &rng);
    if (!rc) {
        memcpy(e->state, state, sn * sizeof *state);
        memcpy(e->steps, steps, (size_t)n * sizeof *steps);
        e->rng = rng;
    }
    free(state);
    free(steps);
    return rc;
}
