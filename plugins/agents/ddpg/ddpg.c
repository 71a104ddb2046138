/*
 * agent "ddpg": Deep Deterministic Policy Gradient (Lillicrap et al. 2016) as
 * Stable-Baselines3 implements it (TD3 without its tricks): a deterministic tanh actor and a
 * Q critic on (obs, action), target networks updated with Polyak tau after every step,
 * Gaussian or Ornstein-Uhlenbeck exploration noise in the [-1, 1] action scale, replay,
 * Adam for both networks. Actions are scaled from [-1, 1] to the env's bounds.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "meter.h"
#include "norm.h"
#include "offpolicy.h"

enum {
    P_LR,
    P_BUFFER_SIZE,
    P_LEARNING_STARTS,
    P_BATCH_SIZE,
    P_TAU,
    P_GAMMA,
    P_TRAIN_FREQ,
    P_GRADIENT_STEPS,
    P_NOISE,
    P_NOISE_SIGMA,
    P_OU_THETA,
    P_OU_DT,
    P_TOTAL_STEPS,
    P_HIDDEN1,
    P_HIDDEN2,
    P_NORMALIZE_OBS,
};

static const char *const noises[] = {"none", "normal", "ou", NULL};

static const tars_param_def ddpg_params[] = {
    [P_LR] = TARS_PARAM_FLOAT_DEF("learning_rate", 1e-3, 1e-7, 1.0, TARS_PARAM_HOT | TARS_PARAM_LOG,
                                  "Adam step size of actor and critic."),
    [P_BUFFER_SIZE] =
        TARS_PARAM_INT_DEF("buffer_size", 1000000, 1, 100000000, 0, "Replay buffer capacity."),
    [P_LEARNING_STARTS] = TARS_PARAM_INT_DEF("learning_starts", 100, 0, 1e12, TARS_PARAM_HOT,
                                             "Env steps of uniform random actions first."),
    [P_BATCH_SIZE] =
        TARS_PARAM_INT_DEF("batch_size", 256, 1, 1000000, TARS_PARAM_HOT, "Minibatch size."),
    [P_TAU] = TARS_PARAM_FLOAT_DEF("tau", 0.005, 0.0, 1.0, TARS_PARAM_HOT,
                                   "Polyak coefficient of the target updates."),
    [P_GAMMA] = TARS_PARAM_FLOAT_DEF("gamma", 0.99, 0.0, 1.0, TARS_PARAM_HOT, "Discount factor."),
    [P_TRAIN_FREQ] = TARS_PARAM_INT_DEF("train_freq", 1, 1, 1000000, TARS_PARAM_HOT,
                                        "Vectorised steps between training rounds."),
    [P_GRADIENT_STEPS] = TARS_PARAM_INT_DEF("gradient_steps", 1, -1, 1000000, TARS_PARAM_HOT,
                                            "Updates per round (-1: one per env step collected)."),
    [P_NOISE] = TARS_PARAM_ENUM_DEF("noise", 0, noises, TARS_PARAM_HOT,
                                    "Exploration noise (SB3 adds none unless asked)."),
    [P_NOISE_SIGMA] = TARS_PARAM_FLOAT_DEF("noise_sigma", 0.1, 0.0, 10.0, TARS_PARAM_HOT,
                                           "Noise scale, in the [-1, 1] action scale."),
    [P_OU_THETA] = TARS_PARAM_FLOAT_DEF("ou_theta", 0.15, 0.0, 10.0, TARS_PARAM_HOT,
                                        "Ornstein-Uhlenbeck mean reversion."),
    [P_OU_DT] = TARS_PARAM_FLOAT_DEF("ou_dt", 0.01, 1e-6, 10.0, TARS_PARAM_HOT,
                                     "Ornstein-Uhlenbeck time step."),
    [P_TOTAL_STEPS] = TARS_PARAM_INT_DEF("total_steps", 1000000, 1, 1e12, TARS_PARAM_HOT,
                                         "Planned training length (for reports)."),
    [P_HIDDEN1] = TARS_PARAM_INT_DEF("hidden1", 400, 1, 4096, 0, "First hidden layer width."),
    [P_HIDDEN2] = TARS_PARAM_INT_DEF("hidden2", 300, 1, 4096, 0, "Second hidden layer width."),
    [P_NORMALIZE_OBS] =
        TARS_PARAM_BOOL_DEF("normalize_obs", 0, 0, "Running observation normalisation."),
};

#define STATE_VERSION 1

struct tars_agent {
    tars_ctx *ctx;
    uint32_t n_envs, obs_dim, act_dim;
    float *low, *high;
    tars_mlp *actor, *critic, *actor_t, *critic_t;
    tars_optim *opt_actor, *opt_critic;
    tars_replay *replay;
    struct agent_norm norm;
    tars_rng rng;
    struct offp_clock clock;
    struct meter meter;
    float *ou;          /* [n_envs][act_dim] Ornstein-Uhlenbeck state */
    float *obs_n, *act; /* the last training act: normalised obs, scaled action */
    float *next_n;
    double critic_loss, actor_loss, q_mean;
    /* minibatch */
    uint32_t cap;
    float *b_obs, *b_act, *b_rew, *b_next, *b_done, *sa, *y, *g_q, *d_sa, *d_act;
};

static void
ddpg_destroy(tars_agent *a)
{
    if (!a)
        return;
    tars_mlp_free(a->actor);
    tars_mlp_free(a->critic);
    tars_mlp_free(a->actor_t);
    tars_mlp_free(a->critic_t);
    tars_optim_free(a->opt_actor);
    tars_optim_free(a->opt_critic);
    tars_replay_free(a->replay);
    agent_norm_free(&a->norm);
    float *arrays[] = {a->low,   a->high,  a->ou,    a->obs_n,  a->act,    a->next_n,
                       a->b_obs, a->b_act, a->b_rew, a->b_next, a->b_done, a->sa,
                       a->y,     a->g_q,   a->d_sa,  a->d_act};
    for (size_t i = 0; i < sizeof arrays / sizeof arrays[0]; i++)
        free(arrays[i]);
    free(a);
}

static int
ddpg_create(tars_ctx *ctx, const tars_env_spec *spec, uint32_t n_envs, const tars_params *p,
            uint64_t seed, tars_agent **out)
{
    if (spec->act.type != TARS_SPACE_BOX || spec->n_agents != 1 || !spec->act.low ||
        !spec->act.high)
        return tars_fail(ctx, TARS_ENOTSUP,
                         "needs a single-agent env with a bounded box of actions");
    tars_agent *a = calloc(1, sizeof *a);
    if (!a)
        return TARS_ENOMEM;
    a->ctx = ctx;
    a->n_envs = n_envs;
    a->obs_dim = spec->obs.dim;
    a->act_dim = spec->act.dim;
    tars_rng_seed(&a->rng, seed, 0);
    uint32_t h1 = (uint32_t)tars_param_int(p, P_HIDDEN1),
             h2 = (uint32_t)tars_param_int(p, P_HIDDEN2);
    const uint32_t actor_sizes[] = {a->obs_dim, h1, h2, a->act_dim};
    const uint32_t critic_sizes[] = {a->obs_dim + a->act_dim, h1, h2, 1};
    int rc = tars_mlp_new(actor_sizes, 4, TARS_ACT_RELU, TARS_ACT_TANH, &a->actor);
    if (!rc)
        rc = tars_mlp_new(critic_sizes, 4, TARS_ACT_RELU, TARS_ACT_NONE, &a->critic);
    if (!rc) {
        tars_mlp_init_default(a->actor, &a->rng);
        tars_mlp_init_default(a->critic, &a->rng);
        rc = tars_mlp_clone(a->actor, &a->actor_t);
    }
    if (!rc)
        rc = tars_mlp_clone(a->critic, &a->critic_t);
    if (!rc)
        rc = tars_adam_new(tars_mlp_n_params(a->actor), 0.9, 0.999, 1e-8, &a->opt_actor);
    if (!rc)
        rc = tars_adam_new(tars_mlp_n_params(a->critic), 0.9, 0.999, 1e-8, &a->opt_critic);
    if (!rc)
        rc = tars_replay_new((size_t)tars_param_int(p, P_BUFFER_SIZE), a->obs_dim, a->act_dim,
                             &a->replay);
    if (!rc)
        rc = agent_norm_init(&a->norm, tars_param_bool(p, P_NORMALIZE_OBS), 0, a->obs_dim, n_envs,
                             tars_param_float(p, P_GAMMA));
    size_t ow = (size_t)n_envs * a->obs_dim, aw = (size_t)n_envs * a->act_dim;
    a->low = malloc(a->act_dim * sizeof(float));
    a->high = malloc(a->act_dim * sizeof(float));
    a->ou = calloc(aw, sizeof(float));
    a->obs_n = malloc(ow * sizeof(float));
    a->next_n = malloc(ow * sizeof(float));
    a->act = malloc(aw * sizeof(float));
    if (!rc && (!a->low || !a->high || !a->ou || !a->obs_n || !a->next_n || !a->act))
        rc = TARS_ENOMEM;
    if (rc) {
        ddpg_destroy(a);
        return rc;
    }
    memcpy(a->low, spec->act.low, a->act_dim * sizeof(float));
    memcpy(a->high, spec->act.high, a->act_dim * sizeof(float));
    a->critic_loss = a->actor_loss = a->q_mean = NAN;
    *out = a;
    return 0;
}

static int
reserve(tars_agent *a, uint32_t b)
{
    if (b <= a->cap)
        return 0;
    size_t od = a->obs_dim, ad = a->act_dim, sd = od + ad;
    struct {
        float **p;
        size_t w;
    } arrays[] = {{&a->b_obs, od}, {&a->b_act, ad}, {&a->b_rew, 1}, {&a->b_next, od},
                  {&a->b_done, 1}, {&a->sa, sd},    {&a->y, 1},     {&a->g_q, 1},
                  {&a->d_sa, sd},  {&a->d_act, ad}};
    int ok = 1;
    for (size_t i = 0; i < sizeof arrays / sizeof arrays[0]; i++) {
        free(*arrays[i].p);
        ok &= (*arrays[i].p = malloc((size_t)b * arrays[i].w * sizeof(float))) != NULL;
    }
    a->cap = ok ? b : 0;
    return ok ? 0 : TARS_ENOMEM;
}

/* [-1, 1] -> the env's box. */
static void
unscale(const tars_agent *a, const float *scaled, uint32_t n, float *out)
{
    for (uint32_t i = 0; i < n; i++)
        for (uint32_t k = 0; k < a->act_dim; k++) {
            size_t at = (size_t)i * a->act_dim + k;
            out[at] = a->low[k] + 0.5f * (scaled[at] + 1.0f) * (a->high[k] - a->low[k]);
        }
}

static float
clip1(float x)
{
    return x < -1 ? -1 : x > 1 ? 1 : x;
}

static int
ddpg_act(tars_agent *a, const tars_params *p, const float *obs, uint32_t n, int explore,
         tars_actions *out)
{
    if (explore && n != a->n_envs)
        return tars_fail(a->ctx, TARS_EINVAL, "trained on %u envs, asked to act on %u", a->n_envs,
                         n);
    const float *o = agent_norm_obs(&a->norm, obs, n, explore);
    if (!o)
        return TARS_ENOMEM;
    if (!explore) {
        const float *mu = tars_mlp_forward(a->actor, o, n);
        if (!mu)
            return TARS_ENOMEM;
        unscale(a, mu, n, out->continuous);
        return 0;
    }
    memcpy(a->obs_n, o, (size_t)n * a->obs_dim * sizeof(float));
    size_t m = (size_t)n * a->act_dim;
    if ((int64_t)a->clock.timesteps < tars_param_int(p, P_LEARNING_STARTS)) {
        for (size_t i = 0; i < m; i++)
            a->act[i] = (float)tars_rng_range(&a->rng, -1.0, 1.0);
    } else {
        const float *mu = tars_mlp_forward(a->actor, a->obs_n, n);
        if (!mu)
            return TARS_ENOMEM;
        double sigma = tars_param_float(p, P_NOISE_SIGMA);
        uint32_t kind = tars_param_enum(p, P_NOISE);
        double theta = tars_param_float(p, P_OU_THETA), dt = tars_param_float(p, P_OU_DT);
        for (size_t i = 0; i < m; i++) {
            double noise = 0;
            if (kind == 1) {
                noise = sigma * tars_rng_normal(&a->rng);
            } else if (kind == 2) {
                a->ou[i] += (float)(theta * (0 - a->ou[i]) * dt +
                                    sigma * sqrt(dt) * tars_rng_normal(&a->rng));
                noise = a->ou[i];
            }
            a->act[i] = clip1((float)(mu[i] + noise));
        }
    }
    unscale(a, a->act, n, out->continuous);
    return 0;
}

static int
train_step(tars_agent *a, const tars_params *p, uint32_t B)
{
    size_t od = a->obs_dim, ad = a->act_dim, sd = od + ad;
    double gamma = tars_param_float(p, P_GAMMA), lr = tars_param_float(p, P_LR);
    double tau = tars_param_float(p, P_TAU);
    tars_replay_sample(a->replay, B, &a->rng, a->b_obs, a->b_act, a->b_rew, a->b_next, a->b_done);
    /* Target: y = r + gamma (1 - done) Q'(s', mu'(s')). */
    const float *next_a = tars_mlp_forward(a->actor_t, a->b_next, B);
    if (!next_a)
        return TARS_ENOMEM;
    for (uint32_t i = 0; i < B; i++) {
        memcpy(a->sa + i * sd, a->b_next + i * od, od * sizeof(float));
        memcpy(a->sa + i * sd + od, next_a + i * ad, ad * sizeof(float));
    }
    const float *qn = tars_mlp_forward(a->critic_t, a->sa, B);
    if (!qn)
        return TARS_ENOMEM;
    for (uint32_t i = 0; i < B; i++)
        a->y[i] = (float)(a->b_rew[i] + (1.0 - a->b_done[i]) * gamma * qn[i]);
    /* Critic: mean squared error against y. */
    for (uint32_t i = 0; i < B; i++) {
        memcpy(a->sa + i * sd, a->b_obs + i * od, od * sizeof(float));
        memcpy(a->sa + i * sd + od, a->b_act + i * ad, ad * sizeof(float));
    }
    const float *q = tars_mlp_forward(a->critic, a->sa, B);
    if (!q)
        return TARS_ENOMEM;
    a->critic_loss = tars_mse(q, a->y, B, a->g_q);
    tars_mlp_zero_grad(a->critic);
    int rc = tars_mlp_backward(a->critic, a->g_q, NULL);
    if (rc)
        return rc;
    tars_optim_step(a->opt_critic, tars_mlp_params(a->critic), tars_mlp_grads(a->critic), lr);
    /* Actor: maximise Q(s, mu(s)); the critic only passes gradients through, and is not stepped. */
    const float *mu = tars_mlp_forward(a->actor, a->b_obs, B);
    if (!mu)
        return TARS_ENOMEM;
    for (uint32_t i = 0; i < B; i++) {
        memcpy(a->sa + i * sd, a->b_obs + i * od, od * sizeof(float));
        memcpy(a->sa + i * sd + od, mu + i * ad, ad * sizeof(float));
    }
    const float *qa = tars_mlp_forward(a->critic, a->sa, B);
    if (!qa)
        return TARS_ENOMEM;
    double sum = 0;
    for (uint32_t i = 0; i < B; i++) {
        sum += qa[i];
        a->g_q[i] = -1.0f / (float)B;
    }
    a->actor_loss = -sum / B;
    a->q_mean = sum / B;
    rc = tars_mlp_backward_input(a->critic, a->g_q, a->d_sa);
    if (rc)
        return rc;
    for (uint32_t i = 0; i < B; i++)
        memcpy(a->d_act + i * ad, a->d_sa + i * sd + od, ad * sizeof(float));
    tars_mlp_zero_grad(a->actor);
    rc = tars_mlp_backward(a->actor, a->d_act, NULL);
    if (rc)
        return rc;
    tars_optim_step(a->opt_actor, tars_mlp_params(a->actor), tars_mlp_grads(a->actor), lr);
    tars_polyak(tars_mlp_params(a->critic_t), tars_mlp_params(a->critic),
                tars_mlp_n_params(a->critic), tau);
    tars_polyak(tars_mlp_params(a->actor_t), tars_mlp_params(a->actor), tars_mlp_n_params(a->actor),
                tau);
    a->clock.n_updates++;
    return 0;
}

static int
ddpg_observe(tars_agent *a, const tars_params *p, const tars_batch *b, tars_scalars *s)
{
    const float *next = agent_norm_obs(&a->norm, b->next_obs, a->n_envs, 0);
    if (!next)
        return TARS_ENOMEM;
    memcpy(a->next_n, next, (size_t)a->n_envs * a->obs_dim * sizeof(float));
    for (uint32_t e = 0; e < a->n_envs; e++) {
        tars_replay_add(a->replay, a->obs_n + (size_t)e * a->obs_dim,
                        a->act + (size_t)e * a->act_dim, b->reward[e],
                        a->next_n + (size_t)e * a->obs_dim, b->terminated[e]);
        if (b->terminated[e] || b->truncated[e])
            memset(a->ou + (size_t)e * a->act_dim, 0, a->act_dim * sizeof(float));
    }
    offp_tick(&a->clock, a->n_envs);
    uint64_t due =
        offp_due(&a->clock, a->n_envs, tars_param_int(p, P_TRAIN_FREQ),
                 tars_param_int(p, P_GRADIENT_STEPS), tars_param_int(p, P_LEARNING_STARTS));
    uint32_t batch = (uint32_t)tars_param_int(p, P_BATCH_SIZE);
    if (due && reserve(a, batch))
        return TARS_ENOMEM;
    tars_mlp *nets[] = {a->actor, a->critic, a->actor_t, a->critic_t};
    if (due)
        meter_start(&a->meter, nets, 4);
    for (uint64_t k = 0; k < due; k++) {
        int rc = train_step(a, p, batch);
        if (rc)
            return rc;
    }
    if (due)
        meter_stop(&a->meter, nets, 4);
    meter_report(&a->meter, s);
    tars_scalar(s, "learning_rate", tars_param_float(p, P_LR));
    tars_scalar(s, "noise_sigma",
                tars_param_enum(p, P_NOISE) ? tars_param_float(p, P_NOISE_SIGMA) : 0);
    tars_scalar(s, "n_updates", (double)a->clock.n_updates);
    if (isfinite(a->critic_loss)) {
        tars_scalar(s, "critic_loss", a->critic_loss);
        tars_scalar(s, "actor_loss", a->actor_loss);
        tars_scalar(s, "q_mean", a->q_mean);
    }
    return 0;
}

/* Saved after the OU noise: clock, RNG, the four networks, both Adams, replay, normalisation. */
#define DDPG_PARTS(a)                                                                      \
    (struct offp_parts)                                                                    \
    {                                                                                      \
        .clock = &(a)->clock, .rng = &(a)->rng,                                            \
        .nets = (tars_mlp *const[]){(a)->actor, (a)->critic, (a)->actor_t, (a)->critic_t}, \
        .n_nets = 4, .optims = (tars_optim *const[]){(a)->opt_actor, (a)->opt_critic},     \
        .n_optims = 2, .replay = (a)->replay, .norm = &(a)->norm                           \
    }

static int
ddpg_save(const tars_agent *a, tars_blob_writer *w)
{
    tars_agent *m = (tars_agent *)a; /* the parts are only read */
    int rc = tars_blob_set_version(w, STATE_VERSION);
    if (!rc)
        rc = tars_blob_put_f32s(w, a->ou, (size_t)a->n_envs * a->act_dim);
    if (!rc)
        rc = offp_save_parts(&DDPG_PARTS(m), w);
    return rc;
}

static int
ddpg_load(tars_agent *a, tars_blob_reader *r)
{
    if (tars_blob_version(r) != STATE_VERSION)
        return tars_fail(a->ctx, TARS_EVERSION, "state version %u, this build reads %u",
                         tars_blob_version(r), STATE_VERSION);
    int rc = tars_blob_get_f32s(r, a->ou, (size_t)a->n_envs * a->act_dim);
    if (!rc)
        rc = offp_load_parts(&DDPG_PARTS(a), a->ctx, r);
    return rc;
}

TARS_OPS(tars_agent_ops, ddpg_ops, .create = ddpg_create, .destroy = ddpg_destroy, .act = ddpg_act,
         .observe = ddpg_observe, .save = ddpg_save, .load = ddpg_load);

TARS_PLUGIN(.kind = TARS_KIND_AGENT, .name = "ddpg", .version = "1.0.0",
            .description = "Deep Deterministic Policy Gradient with target networks (as SB3).",
            .params = ddpg_params, .n_params = TARS_COUNTOF(ddpg_params), .ops = &ddpg_ops)
