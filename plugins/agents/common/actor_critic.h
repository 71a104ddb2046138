/*
 * actor_critic — the policy PPO and A2C share, shaped like Stable-Baselines3's MlpPolicy:
 * separate policy and value MLPs (tanh, orthogonal init with gains sqrt 2, 0.01 for the
 * policy head, 1 for the value head), a categorical distribution over discrete actions or a
 * diagonal Gaussian with a state-independent log std for boxes.
 *
 * One optimiser per parameter array: Adam and RMSprop are element-wise, so this is the same
 * as one optimiser over their concatenation; gradient clipping uses the joint norm.
 */
#ifndef TARS_PLUGINS_ACTOR_CRITIC_H
#define TARS_PLUGINS_ACTOR_CRITIC_H

#include <tars/tars.h>

enum ac_optimizer { AC_ADAM, AC_RMSPROP };

struct ac_config {
    uint32_t obs_dim;
    int discrete;
    uint32_t n_out; /* discrete: choices; box: action dim */
    uint32_t hidden;
    uint32_t layers;
    tars_activation activation;
    int ortho_init;
    double log_std_init;
    enum ac_optimizer optimizer;
    double eps; /* Adam's or RMSprop's epsilon */
};

struct ac_policy {
    struct ac_config cfg;
    tars_mlp *pi, *vf;
    float *log_std, *g_log_std; /* box only: [n_out] */
    tars_optim *opt_pi, *opt_vf, *opt_ls;
    /* scratch for one batch */
    uint32_t cap;
    float *dlogits;
    int32_t *idx;
    const float *pi_out; /* pi's outputs from the last ac_forward, for ac_backward */
};

int ac_init(struct ac_policy *p, const struct ac_config *cfg, tars_rng *rng);
void ac_free(struct ac_policy *p);

/*
 * Acts on n (normalised) observations. explore samples (from rng), otherwise takes the mode.
 * Writes raw actions (discrete index or unclipped Gaussian sample) into act_out[n][n_out or 1]
 * as floats, and, when non-NULL, V(obs) and log pi(action).
 */
int ac_act(struct ac_policy *p, const float *obs, uint32_t n, int explore, tars_rng *rng,
           float *act_out, float *value, float *logp);
/* V(obs) only. */
int ac_value(struct ac_policy *p, const float *obs, uint32_t n, float *value);

/*
 * Training pass over a minibatch: forward both networks, writing log pi(a), entropy and V.
 * Then ac_backward adds the gradients of L = sum(g_logp*logp + g_ent*entropy + g_value*V).
 */
int ac_forward(struct ac_policy *p, const float *obs, const float *act, uint32_t n, float *logp,
               float *entropy, float *value);
int ac_backward(struct ac_policy *p, const float *act, uint32_t n, const float *g_logp,
                const float *g_ent, const float *g_value);
/* Zeroes the gradients. */
void ac_zero_grad(struct ac_policy *p);
/* Clips the joint gradient norm (max_norm <= 0: no clipping), steps; returns the norm. */
double ac_step(struct ac_policy *p, double lr, double max_norm);

int ac_save(const struct ac_policy *p, tars_blob_writer *w);
int ac_load(struct ac_policy *p, tars_blob_reader *r);

/* 1 - Var(returns - values) / Var(returns), as SB3 reports it (NaN when Var(returns) is 0). */
double explained_variance(const float *values, const float *returns, size_t n);

#endif
