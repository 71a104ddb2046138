#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "actor_critic.h"

#define AC_STATE_VERSION 1

static int
make_mlp(const struct ac_config *c, uint32_t outputs, tars_mlp **out)
{
    uint32_t sizes[TARS_MLP_MAX_LAYERS + 1];
    uint32_t n = 0;
    sizes[n++] = c->obs_dim;
    for (uint32_t i = 0; i < c->layers; i++)
        sizes[n++] = c->hidden;
    sizes[n++] = outputs;
    return tars_mlp_new(sizes, n, c->activation, TARS_ACT_NONE, out);
}

static int
make_optim(const struct ac_config *c, size_t n, tars_optim **out)
{
    /* SB3: Adam with eps 1e-5 for PPO; RMSprop(alpha 0.99, eps 1e-5) for A2C. */
    return c->optimizer == AC_ADAM ? tars_adam_new(n, 0.9, 0.999, c->eps, out)
                                   : tars_rmsprop_new(n, 0.99, c->eps, out);
}

int
ac_init(struct ac_policy *p, const struct ac_config *cfg, tars_rng *rng)
{
    memset(p, 0, sizeof *p);
    p->cfg = *cfg;
    int rc = make_mlp(cfg, cfg->n_out, &p->pi);
    if (!rc)
        rc = make_mlp(cfg, 1, &p->vf);
    if (rc)
        goto fail;
    if (cfg->ortho_init) {
        tars_mlp_init_orthogonal(p->pi, sqrt(2.0), 0.01, rng);
        tars_mlp_init_orthogonal(p->vf, sqrt(2.0), 1.0, rng);
    } else {
        tars_mlp_init_default(p->pi, rng);
        tars_mlp_init_default(p->vf, rng);
    }
    rc = make_optim(cfg, tars_mlp_n_params(p->pi), &p->opt_pi);
    if (!rc)
        rc = make_optim(cfg, tars_mlp_n_params(p->vf), &p->opt_vf);
    if (!rc && !cfg->discrete) {
        p->log_std = malloc(cfg->n_out * sizeof(float));
        p->g_log_std = calloc(cfg->n_out, sizeof(float));
        rc = p->log_std && p->g_log_std ? make_optim(cfg, cfg->n_out, &p->opt_ls) : TARS_ENOMEM;
        for (uint32_t k = 0; !rc && k < cfg->n_out; k++)
            p->log_std[k] = (float)cfg->log_std_init;
    }
    if (!rc)
        return 0;
fail:
    ac_free(p);
    return rc ? rc : TARS_ENOMEM;
}

void
ac_free(struct ac_policy *p)
{
    tars_mlp_free(p->pi);
    tars_mlp_free(p->vf);
    tars_optim_free(p->opt_pi);
    tars_optim_free(p->opt_vf);
    tars_optim_free(p->opt_ls);
    free(p->log_std);
    free(p->g_log_std);
    free(p->dlogits);
    free(p->idx);
    memset(p, 0, sizeof *p);
}

static int
reserve(struct ac_policy *p, uint32_t n)
{
    if (n <= p->cap)
        return 0;
    free(p->dlogits);
    free(p->idx);
    p->dlogits = malloc((size_t)n * p->cfg.n_out * sizeof(float));
    p->idx = malloc((size_t)n * sizeof(int32_t));
    if (!p->dlogits || !p->idx) {
        p->cap = 0;
        return TARS_ENOMEM;
    }
    p->cap = n;
    return 0;
}

/* Discrete actions travel as floats holding the index; the distributions want int32. */
static void
to_index(const float *act, uint32_t n, int32_t *idx)
{
    for (uint32_t i = 0; i < n; i++)
        idx[i] = (int32_t)act[i];
}

int
ac_act(struct ac_policy *p, const float *obs, uint32_t n, int explore, tars_rng *rng,
       float *act_out, float *value, float *logp)
{
    const struct ac_config *c = &p->cfg;
    if (reserve(p, n))
        return TARS_ENOMEM;
    const float *out = tars_mlp_forward(p->pi, obs, n);
    if (!out)
        return TARS_ENOMEM;
    if (c->discrete) {
        tars_categorical_sample(out, n, c->n_out, explore, rng, p->idx);
        for (uint32_t i = 0; i < n; i++)
            act_out[i] = (float)p->idx[i];
        if (logp)
            tars_categorical(out, n, c->n_out, p->idx, logp, NULL);
    } else {
        if (explore)
            tars_gaussian_sample(out, p->log_std, n, c->n_out, rng, act_out);
        else
            memcpy(act_out, out, (size_t)n * c->n_out * sizeof(float));
        if (logp)
            tars_gaussian(out, p->log_std, n, c->n_out, act_out, logp);
    }
    return value ? ac_value(p, obs, n, value) : 0;
}

int
ac_value(struct ac_policy *p, const float *obs, uint32_t n, float *value)
{
    const float *v = tars_mlp_forward(p->vf, obs, n);
    if (!v)
        return TARS_ENOMEM;
    memcpy(value, v, (size_t)n * sizeof(float));
    return 0;
}

int
ac_forward(struct ac_policy *p, const float *obs, const float *act, uint32_t n, float *logp,
           float *entropy, float *value)
{
    const struct ac_config *c = &p->cfg;
    if (reserve(p, n))
        return TARS_ENOMEM;
    const float *out = tars_mlp_forward(p->pi, obs, n);
    if (!out)
        return TARS_ENOMEM;
    p->pi_out = out; /* valid until pi's next forward, which backward does not do */
    if (c->discrete) {
        to_index(act, n, p->idx);
        tars_categorical(out, n, c->n_out, p->idx, logp, entropy);
    } else {
        double h = tars_gaussian(out, p->log_std, n, c->n_out, act, logp);
        for (uint32_t i = 0; i < n; i++)
            entropy[i] = (float)h;
    }
    return ac_value(p, obs, n, value);
}

int
ac_backward(struct ac_policy *p, const float *act, uint32_t n, const float *g_logp,
            const float *g_ent, const float *g_value)
{
    const struct ac_config *c = &p->cfg;
    if (!p->pi_out || n > p->cap)
        return TARS_EINVAL;
    if (c->discrete) {
        tars_categorical_backward(p->pi_out, n, c->n_out, p->idx, g_logp, g_ent, p->dlogits);
    } else {
        double ge = 0;
        for (uint32_t i = 0; g_ent && i < n; i++)
            ge += g_ent[i];
        tars_gaussian_backward(p->pi_out, p->log_std, n, c->n_out, act, g_logp, ge, p->dlogits,
                               p->g_log_std);
    }
    int rc = tars_mlp_backward(p->pi, p->dlogits, NULL);
    if (!rc)
        rc = tars_mlp_backward(p->vf, g_value, NULL);
    return rc;
}

void
ac_zero_grad(struct ac_policy *p)
{
    tars_mlp_zero_grad(p->pi);
    tars_mlp_zero_grad(p->vf);
    if (p->g_log_std)
        memset(p->g_log_std, 0, p->cfg.n_out * sizeof(float));
}

double
ac_step(struct ac_policy *p, double lr, double max_norm)
{
    float *gp = tars_mlp_grads(p->pi), *gv = tars_mlp_grads(p->vf);
    size_t np = tars_mlp_n_params(p->pi), nv = tars_mlp_n_params(p->vf), nl = 0;
    double a = tars_l2_norm(gp, np), b = tars_l2_norm(gv, nv), l = 0;
    if (p->g_log_std) {
        nl = p->cfg.n_out;
        l = tars_l2_norm(p->g_log_std, nl);
    }
    double norm = sqrt(a * a + b * b + l * l);
    /* PyTorch's clip_grad_norm_ over all parameters of the policy at once. */
    double coef = max_norm > 0 ? max_norm / (norm + 1e-6) : 1;
    if (coef < 1) {
        tars_scale(gp, np, coef);
        tars_scale(gv, nv, coef);
        if (nl)
            tars_scale(p->g_log_std, nl, coef);
    }
    tars_optim_step(p->opt_pi, tars_mlp_params(p->pi), gp, lr);
    tars_optim_step(p->opt_vf, tars_mlp_params(p->vf), gv, lr);
    if (nl)
        tars_optim_step(p->opt_ls, p->log_std, p->g_log_std, lr);
    return norm;
}

int
ac_save(const struct ac_policy *p, tars_blob_writer *w)
{
    int rc = tars_blob_put_u32(w, AC_STATE_VERSION);
    if (!rc)
        rc = tars_mlp_save(p->pi, w);
    if (!rc)
        rc = tars_mlp_save(p->vf, w);
    if (!rc)
        rc = tars_optim_save(p->opt_pi, w);
    if (!rc)
        rc = tars_optim_save(p->opt_vf, w);
    if (!rc && p->log_std) {
        rc = tars_blob_put_f32s(w, p->log_std, p->cfg.n_out);
        if (!rc)
            rc = tars_optim_save(p->opt_ls, w);
    }
    return rc;
}

int
ac_load(struct ac_policy *p, tars_blob_reader *r)
{
    uint32_t version;
    int rc = tars_blob_get_u32(r, &version);
    if (!rc && version != AC_STATE_VERSION)
        return TARS_EVERSION;
    if (!rc)
        rc = tars_mlp_load(p->pi, r);
    if (!rc)
        rc = tars_mlp_load(p->vf, r);
    if (!rc)
        rc = tars_optim_load(p->opt_pi, r);
    if (!rc)
        rc = tars_optim_load(p->opt_vf, r);
    if (!rc && p->log_std) {
        rc = tars_blob_get_f32s(r, p->log_std, p->cfg.n_out);
        if (!rc)
            rc = tars_optim_load(p->opt_ls, r);
    }
    return rc;
}

double
explained_variance(const float *values, const float *returns, size_t n)
{
    double my = 0, md = 0;
    for (size_t i = 0; i < n; i++) {
        my += returns[i];
        md += returns[i] - values[i];
    }
    my /= n;
    md /= n;
    double vy = 0, vd = 0;
    for (size_t i = 0; i < n; i++) {
        double y = returns[i] - my, d = returns[i] - values[i] - md;
        vy += y * y;
        vd += d * d;
    }
    return vy == 0 ? NAN : 1 - vd / vy;
}
