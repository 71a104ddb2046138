#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "onpolicy.h"

#define ONP_STATE_VERSION 1

static int
find(const tars_params *p, const char *name, int *ix)
{
    *ix = tars_params_index(p, name);
    return *ix < 0;
}

static int
resolve_index(const tars_params *p, struct onp_index *ix)
{
    return find(p, "learning_rate", &ix->learning_rate) | find(p, "lr_schedule", &ix->lr_schedule) |
           find(p, "n_steps", &ix->n_steps) | find(p, "gamma", &ix->gamma) |
           find(p, "gae_lambda", &ix->gae_lambda) | find(p, "ent_coef", &ix->ent_coef) |
           find(p, "vf_coef", &ix->vf_coef) | find(p, "max_grad_norm", &ix->max_grad_norm) |
           find(p, "normalize_advantage", &ix->normalize_advantage) |
           find(p, "total_steps", &ix->total_steps) | find(p, "hidden", &ix->hidden) |
           find(p, "layers", &ix->layers) | find(p, "activation", &ix->activation) |
           find(p, "ortho_init", &ix->ortho_init) | find(p, "log_std_init", &ix->log_std_init) |
           find(p, "normalize_obs", &ix->normalize_obs) |
           find(p, "normalize_reward", &ix->normalize_reward);
}

int
onp_create(const struct onp_algo *algo, tars_ctx *ctx, const tars_env_spec *spec, uint32_t n_envs,
           const tars_params *p, uint64_t seed, tars_agent **out)
{
    struct onp_index ix;
    if (resolve_index(p, &ix))
        return tars_fail(ctx, TARS_ESCHEMA, "schema lacks a parameter the on-policy core needs");
    if (spec->n_agents != 1)
        return tars_fail(ctx, TARS_ENOTSUP, "needs a single-agent env (this one has %u)",
                         spec->n_agents);
    tars_agent *a = calloc(1, sizeof *a);
    if (!a)
        return TARS_ENOMEM;
    a->ctx = ctx;
    a->algo = algo;
    a->ix = ix;
    a->n_envs = n_envs;
    a->obs_dim = spec->obs.dim;
    a->discrete = spec->act.type == TARS_SPACE_DISCRETE;
    a->act_width = a->discrete ? 1 : spec->act.dim;
    tars_rng_seed(&a->rng, seed, 0);
    uint32_t n_steps = (uint32_t)tars_param_int(p, ix.n_steps);
    struct ac_config cfg = {
        .obs_dim = a->obs_dim,
        .discrete = a->discrete,
        .n_out = a->discrete ? spec->act.dim : spec->act.dim,
        .hidden = (uint32_t)tars_param_int(p, ix.hidden),
        .layers = (uint32_t)tars_param_int(p, ix.layers),
        .activation = tars_param_enum(p, ix.activation) == 0 ? TARS_ACT_TANH : TARS_ACT_RELU,
        .ortho_init = tars_param_bool(p, ix.ortho_init),
        .log_std_init = tars_param_float(p, ix.log_std_init),
        .optimizer = algo->optimizer(p),
        .eps = 1e-5,
    };
    size_t n = n_envs, ow = a->obs_dim, aw = a->act_width;
    int rc = ac_init(&a->pol, &cfg, &a->rng);
    if (!rc)
        rc = tars_rollout_new(n_steps, n_envs, a->obs_dim, a->act_width, &a->roll);
    if (!rc)
        rc = agent_norm_init(&a->norm, tars_param_bool(p, ix.normalize_obs),
                             tars_param_bool(p, ix.normalize_reward), a->obs_dim, n_envs,
                             tars_param_float(p, ix.gamma));
    a->obs_n = malloc(n * ow * sizeof(float));
    a->act = malloc(n * aw * sizeof(float));
    a->value = malloc(n * sizeof(float));
    a->logp = malloc(n * sizeof(float));
    a->reward = malloc(n * sizeof(float));
    a->last_value = malloc(n * sizeof(float));
    a->tmp_obs = malloc(n * ow * sizeof(float));
    a->tmp_v = malloc(n * sizeof(float));
    a->done = malloc(n);
    if (!rc && (!a->obs_n || !a->act || !a->value || !a->logp || !a->reward || !a->last_value ||
                !a->tmp_obs || !a->tmp_v || !a->done))
        rc = TARS_ENOMEM;
    if (!rc && !a->discrete) {
        a->act_low = malloc(aw * sizeof(float));
        a->act_high = malloc(aw * sizeof(float));
        if (!a->act_low || !a->act_high)
            rc = TARS_ENOMEM;
        for (uint32_t k = 0; !rc && k < aw; k++) {
            a->act_low[k] = spec->act.low ? spec->act.low[k] : -INFINITY;
            a->act_high[k] = spec->act.high ? spec->act.high[k] : INFINITY;
        }
    }
    if (rc) {
        onp_destroy(a);
        return rc;
    }
    a->stats.clip_range = NAN;
    a->stats.approx_kl = NAN;
    a->stats.clip_fraction = NAN;
    a->stats.explained_variance = NAN;
    *out = a;
    return 0;
}

void
onp_destroy(tars_agent *a)
{
    if (!a)
        return;
    ac_free(&a->pol);
    tars_rollout_free(a->roll);
    agent_norm_free(&a->norm);
    free(a->act_low);
    free(a->act_high);
    free(a->obs_n);
    free(a->act);
    free(a->value);
    free(a->logp);
    free(a->reward);
    free(a->last_value);
    free(a->tmp_obs);
    free(a->tmp_v);
    free(a->done);
    free(a->eval_act);
    free(a->perm);
    float **mb[] = {&a->mb_obs,  &a->mb_act, &a->mb_oldlp, &a->mb_oldv, &a->mb_adv, &a->mb_ret,
                    &a->mb_logp, &a->mb_ent, &a->mb_val,   &a->g_logp,  &a->g_ent,  &a->g_val};
    for (size_t i = 0; i < sizeof mb / sizeof mb[0]; i++)
        free(*mb[i]);
    free(a);
}

int
onp_reserve(tars_agent *a, uint32_t n, uint32_t rows)
{
    if (rows > a->perm_cap) {
        free(a->perm);
        a->perm = malloc((size_t)rows * sizeof(uint32_t));
        a->perm_cap = a->perm ? rows : 0;
        if (!a->perm)
            return TARS_ENOMEM;
    }
    if (n <= a->mb_cap)
        return 0;
    struct {
        float **p;
        size_t width;
    } arrays[] = {{&a->mb_obs, a->obs_dim}, {&a->mb_act, a->act_width},
                  {&a->mb_oldlp, 1},        {&a->mb_oldv, 1},
                  {&a->mb_adv, 1},          {&a->mb_ret, 1},
                  {&a->mb_logp, 1},         {&a->mb_ent, 1},
                  {&a->mb_val, 1},          {&a->g_logp, 1},
                  {&a->g_ent, 1},           {&a->g_val, 1}};
    int ok = 1;
    for (size_t i = 0; i < sizeof arrays / sizeof arrays[0]; i++) {
        free(*arrays[i].p);
        *arrays[i].p = malloc((size_t)n * arrays[i].width * sizeof(float));
        ok &= *arrays[i].p != NULL;
    }
    a->mb_cap = ok ? n : 0;
    return ok ? 0 : TARS_ENOMEM;
}

double
onp_progress(const tars_agent *a, const tars_params *p)
{
    double total = (double)tars_param_int(p, a->ix.total_steps);
    double left = 1.0 - (double)a->timesteps / total;
    return left < 0 ? 0 : left > 1 ? 1 : left;
}

void
onp_normalize(float *adv, uint32_t n)
{
    if (n < 2)
        return;
    double mean = 0, var = 0;
    for (uint32_t i = 0; i < n; i++)
        mean += adv[i];
    mean /= n;
    for (uint32_t i = 0; i < n; i++)
        var += (adv[i] - mean) * (adv[i] - mean);
    double sd = sqrt(var / (n - 1)); /* torch.std is unbiased */
    for (uint32_t i = 0; i < n; i++)
        adv[i] = (float)((adv[i] - mean) / (sd + 1e-8));
}

/* Raw policy outputs to what the env takes: an index, or a sample clipped to the box. */
static void
to_env(const tars_agent *a, const float *raw, uint32_t n, tars_actions *out)
{
    if (a->discrete) {
        for (uint32_t i = 0; i < n; i++)
            out->discrete[i] = (int32_t)raw[i];
        return;
    }
    for (uint32_t i = 0; i < n; i++)
        for (uint32_t k = 0; k < a->act_width; k++) {
            float v = raw[(size_t)i * a->act_width + k];
            out->continuous[(size_t)i * a->act_width + k] = v < a->act_low[k]    ? a->act_low[k]
                                                            : v > a->act_high[k] ? a->act_high[k]
                                                                                 : v;
        }
}

int
onp_act(tars_agent *a, const tars_params *p, const float *obs, uint32_t n, int explore,
        tars_actions *out)
{
    (void)p;
    if (!explore) {
        /* Evaluation: frozen statistics, the policy's mode, and nothing of training touched. */
        if (n > a->eval_cap) {
            float *b = realloc(a->eval_act, (size_t)n * a->act_width * sizeof(float));
            if (!b)
                return TARS_ENOMEM;
            a->eval_act = b;
            a->eval_cap = n;
        }
        const float *o = agent_norm_obs(&a->norm, obs, n, 0);
        int rc = o ? ac_act(&a->pol, o, n, 0, NULL, a->eval_act, NULL, NULL) : TARS_ENOMEM;
        if (!rc)
            to_env(a, a->eval_act, n, out);
        return rc;
    }
    if (n != a->n_envs)
        return tars_fail(a->ctx, TARS_EINVAL, "trained on %u envs, asked to act on %u", a->n_envs,
                         n);
    const float *o = agent_norm_obs(&a->norm, obs, n, 1);
    if (!o)
        return TARS_ENOMEM;
    memcpy(a->obs_n, o, (size_t)n * a->obs_dim * sizeof(float));
    int rc = ac_act(&a->pol, a->obs_n, n, 1, &a->rng, a->act, a->value, a->logp);
    if (!rc)
        to_env(a, a->act, n, out);
    return rc;
}

/* SB3's answer to time limits: the truncated step's reward gains gamma V(final obs). */
static int
bootstrap_truncated(tars_agent *a, const tars_batch *b, double gamma)
{
    uint32_t k = 0, ow = a->obs_dim;
    for (uint32_t e = 0; e < a->n_envs; e++)
        if (b->truncated[e] && !b->terminated[e])
            memcpy(a->tmp_obs + (size_t)k++ * ow, b->next_obs + (size_t)e * ow, ow * sizeof(float));
    if (!k)
        return 0;
    const float *o = agent_norm_obs(&a->norm, a->tmp_obs, k, 0);
    int rc = o ? ac_value(&a->pol, o, k, a->tmp_v) : TARS_ENOMEM;
    for (uint32_t e = 0, j = 0; !rc && e < a->n_envs; e++)
        if (b->truncated[e] && !b->terminated[e])
            a->reward[e] += (float)(gamma * a->tmp_v[j++]);
    return rc;
}

static void
report(const tars_agent *a, tars_scalars *s)
{
    const struct onp_stats *st = &a->stats;
    tars_scalar(s, "loss", st->loss);
    tars_scalar(s, "policy_loss", st->policy_loss);
    tars_scalar(s, "value_loss", st->value_loss);
    tars_scalar(s, "entropy", -st->entropy_loss);
    tars_scalar(s, "explained_variance", st->explained_variance);
    tars_scalar(s, "learning_rate", st->learning_rate);
    tars_scalar(s, "grad_norm", st->grad_norm);
    tars_scalar(s, "n_updates", (double)st->n_updates);
    if (isfinite(st->approx_kl))
        tars_scalar(s, "approx_kl", st->approx_kl);
    if (isfinite(st->clip_fraction))
        tars_scalar(s, "clip_fraction", st->clip_fraction);
    if (isfinite(st->clip_range))
        tars_scalar(s, "clip_range", st->clip_range);
    if (!a->discrete) {
        double sd = 0;
        for (uint32_t k = 0; k < a->act_width; k++)
            sd += exp(a->pol.log_std[k]);
        tars_scalar(s, "std", sd / a->act_width);
    }
}

int
onp_observe(tars_agent *a, const tars_params *p, const tars_batch *b, tars_scalars *scalars)
{
    double gamma = tars_param_float(p, a->ix.gamma);
    const float *r = agent_norm_reward(&a->norm, b->reward, b->terminated, b->truncated, a->n_envs);
    memcpy(a->reward, r, a->n_envs * sizeof(float));
    int rc = bootstrap_truncated(a, b, gamma);
    if (rc)
        return rc;
    for (uint32_t e = 0; e < a->n_envs; e++)
        a->done[e] = b->terminated[e] || b->truncated[e];
    rc = tars_rollout_add(a->roll, a->obs_n, a->act, a->reward, a->done, a->value, a->logp);
    if (rc)
        return tars_fail(a->ctx, rc, "rollout buffer overflow");
    a->timesteps += a->n_envs;
    if (tars_rollout_full(a->roll)) {
        /* Values of what comes next; where an episode ended the bootstrap is masked anyway. */
        const float *o = agent_norm_obs(&a->norm, b->next_obs, a->n_envs, 0);
        rc = o ? ac_value(&a->pol, o, a->n_envs, a->last_value) : TARS_ENOMEM;
        if (rc)
            return rc;
        tars_rollout_finish(a->roll, a->last_value, gamma, tars_param_float(p, a->ix.gae_lambda));
        size_t rows = (size_t)a->n_envs * tars_rollout_steps(a->roll);
        a->stats.explained_variance =
            explained_variance(tars_rollout_value(a->roll), tars_rollout_ret(a->roll), rows);
        tars_mlp *nets[] = {a->pol.pi, a->pol.vf};
        meter_start(&a->meter, nets, 2);
        rc = a->algo->train(a, p);
        meter_stop(&a->meter, nets, 2);
        tars_rollout_clear(a->roll);
        if (rc)
            return rc;
    }
    report(a, scalars);
    meter_report(&a->meter, scalars);
    return 0;
}

int
onp_save(const tars_agent *a, tars_blob_writer *w)
{
    int rc = tars_blob_set_version(w, ONP_STATE_VERSION);
    if (!rc)
        rc = tars_blob_put_u64(w, a->timesteps);
    if (!rc)
        rc = tars_blob_put_u64(w, a->stats.n_updates);
    if (!rc)
        rc = tars_blob_put_rng(w, &a->rng);
    if (!rc)
        rc = ac_save(&a->pol, w);
    if (!rc)
        rc = tars_rollout_save(a->roll, w);
    if (!rc)
        rc = agent_norm_save(&a->norm, w);
    return rc;
}

int
onp_load(tars_agent *a, tars_blob_reader *r)
{
    if (tars_blob_version(r) != ONP_STATE_VERSION)
        return tars_fail(a->ctx, TARS_EVERSION, "state version %u, this build reads %u",
                         tars_blob_version(r), ONP_STATE_VERSION);
    uint64_t timesteps, updates;
    tars_rng rng;
    int rc = tars_blob_get_u64(r, &timesteps);
    if (!rc)
        rc = tars_blob_get_u64(r, &updates);
    if (!rc)
        rc = tars_blob_get_rng(r, &rng);
    if (!rc)
        rc = ac_load(&a->pol, r);
    if (!rc)
        rc = tars_rollout_load(a->roll, r);
    if (!rc)
        rc = agent_norm_load(&a->norm, r);
    if (rc)
        return tars_fail(a->ctx, rc, "cannot load the state: %s",
                         *tars_blob_reader_error(r) ? tars_blob_reader_error(r)
                                                    : "its shape differs from this agent's");
    a->timesteps = timesteps;
    a->stats.n_updates = updates;
    a->rng = rng;
    return 0;
}
