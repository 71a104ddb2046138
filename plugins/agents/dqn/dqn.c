/*
 * agent "dqn": Deep Q-Network (Mnih et al. 2015) as Stable-Baselines3 implements it: uniform
 * replay, a target network refreshed every target_update_interval env steps (Polyak with
 * tau, 1 = copy), linear epsilon schedule, Huber loss, Adam, gradient clipping, train_freq
 * and gradient_steps; optional Double DQN (van Hasselt et al. 2016). Epsilon-greedy draws
 * per env (SB3 draws once for the whole vector of envs).
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
    P_TARGET_UPDATE,
    P_EXPLORATION_FRACTION,
    P_EPS_INITIAL,
    P_EPS_FINAL,
    P_MAX_GRAD_NORM,
    P_DOUBLE_Q,
    P_TOTAL_STEPS,
    P_HIDDEN,
    P_LAYERS,
    P_NORMALIZE_OBS,
};

static const tars_param_def dqn_params[] = {
    [P_LR] = TARS_PARAM_FLOAT_DEF("learning_rate", 1e-4, 1e-7, 1.0, TARS_PARAM_HOT | TARS_PARAM_LOG,
                                  "Adam step size."),
    [P_BUFFER_SIZE] =
        TARS_PARAM_INT_DEF("buffer_size", 1000000, 1, 100000000, 0, "Replay buffer capacity."),
    [P_LEARNING_STARTS] = TARS_PARAM_INT_DEF("learning_starts", 100, 0, 1e12, TARS_PARAM_HOT,
                                             "Env steps of random play before learning."),
    [P_BATCH_SIZE] =
        TARS_PARAM_INT_DEF("batch_size", 32, 1, 1000000, TARS_PARAM_HOT, "Minibatch size."),
    [P_TAU] = TARS_PARAM_FLOAT_DEF("tau", 1.0, 0.0, 1.0, TARS_PARAM_HOT,
                                   "Target update coefficient (1: hard copy)."),
    [P_GAMMA] = TARS_PARAM_FLOAT_DEF("gamma", 0.99, 0.0, 1.0, TARS_PARAM_HOT, "Discount factor."),
    [P_TRAIN_FREQ] = TARS_PARAM_INT_DEF("train_freq", 4, 1, 1000000, TARS_PARAM_HOT,
                                        "Vectorised steps between training rounds."),
    [P_GRADIENT_STEPS] = TARS_PARAM_INT_DEF("gradient_steps", 1, -1, 1000000, TARS_PARAM_HOT,
                                            "Updates per round (-1: one per env step collected)."),
    [P_TARGET_UPDATE] = TARS_PARAM_INT_DEF("target_update_interval", 10000, 1, 1e12, TARS_PARAM_HOT,
                                           "Env steps between target updates."),
    [P_EXPLORATION_FRACTION] =
        TARS_PARAM_FLOAT_DEF("exploration_fraction", 0.1, 0.0, 1.0, TARS_PARAM_HOT,
                             "Share of total_steps over which epsilon falls."),
    [P_EPS_INITIAL] = TARS_PARAM_FLOAT_DEF("exploration_initial_eps", 1.0, 0.0, 1.0, TARS_PARAM_HOT,
                                           "Epsilon at the start."),
    [P_EPS_FINAL] = TARS_PARAM_FLOAT_DEF("exploration_final_eps", 0.05, 0.0, 1.0, TARS_PARAM_HOT,
                                         "Epsilon after the schedule."),
    [P_MAX_GRAD_NORM] = TARS_PARAM_FLOAT_DEF("max_grad_norm", 10.0, 0.0, 1e6, TARS_PARAM_HOT,
                                             "Global gradient norm limit (0: off)."),
    [P_DOUBLE_Q] = TARS_PARAM_BOOL_DEF("double_q", 0, TARS_PARAM_HOT,
                                       "Double DQN: the online net picks the next action."),
    [P_TOTAL_STEPS] = TARS_PARAM_INT_DEF("total_steps", 1000000, 1, 1e12, TARS_PARAM_HOT,
                                         "Training length the epsilon schedule spans."),
    [P_HIDDEN] = TARS_PARAM_INT_DEF("hidden", 64, 1, 4096, 0, "Width of the hidden layers."),
    [P_LAYERS] = TARS_PARAM_INT_DEF("layers", 2, 1, 6, 0, "Hidden layers."),
    [P_NORMALIZE_OBS] =
        TARS_PARAM_BOOL_DEF("normalize_obs", 0, 0, "Running observation normalisation."),
};

#define STATE_VERSION 1

struct tars_agent {
    tars_ctx *ctx;
    uint32_t n_envs, obs_dim, n_actions;
    tars_mlp *q, *target;
    tars_optim *opt;
    tars_replay *replay;
    struct agent_norm norm;
    tars_rng rng;
    struct offp_clock clock;
    struct meter meter;
    double epsilon, loss, q_mean, grad_norm;
    /* the last training act */
    float *obs_n, *act;
    float *next_n; /* normalised next observations */
    /* minibatch */
    uint32_t cap;
    float *b_obs, *b_act, *b_rew, *b_next, *b_done, *target_q, *pred, *g_pred, *dq;
    int32_t *best_next;
};

static void
dqn_destroy(tars_agent *a)
{
    if (!a)
        return;
    tars_mlp_free(a->q);
    tars_mlp_free(a->target);
    tars_optim_free(a->opt);
    tars_replay_free(a->replay);
    agent_norm_free(&a->norm);
    float *arrays[] = {a->obs_n,  a->act,    a->next_n,   a->b_obs, a->b_act,  a->b_rew,
                       a->b_next, a->b_done, a->target_q, a->pred,  a->g_pred, a->dq};
    for (size_t i = 0; i < sizeof arrays / sizeof arrays[0]; i++)
        free(arrays[i]);
    free(a->best_next);
    free(a);
}

static int
dqn_create(tars_ctx *ctx, const tars_env_spec *spec, uint32_t n_envs, const tars_params *p,
           uint64_t seed, tars_agent **out)
{
    if (spec->act.type != TARS_SPACE_DISCRETE || spec->n_agents != 1)
        return tars_fail(ctx, TARS_ENOTSUP, "needs a single-agent env with discrete actions");
    tars_agent *a = calloc(1, sizeof *a);
    if (!a)
        return TARS_ENOMEM;
    a->ctx = ctx;
    a->n_envs = n_envs;
    a->obs_dim = spec->obs.dim;
    a->n_actions = spec->act.dim;
    tars_rng_seed(&a->rng, seed, 0);
    uint32_t sizes[TARS_MLP_MAX_LAYERS + 1], n = 0;
    sizes[n++] = a->obs_dim;
    for (int64_t i = 0; i < tars_param_int(p, P_LAYERS); i++)
        sizes[n++] = (uint32_t)tars_param_int(p, P_HIDDEN);
    sizes[n++] = a->n_actions;
    int rc = tars_mlp_new(sizes, n, TARS_ACT_RELU, TARS_ACT_NONE, &a->q);
    if (!rc) {
        tars_mlp_init_default(a->q, &a->rng);
        rc = tars_mlp_clone(a->q, &a->target);
    }
    if (!rc)
        rc = tars_adam_new(tars_mlp_n_params(a->q), 0.9, 0.999, 1e-8, &a->opt);
    if (!rc)
        rc = tars_replay_new((size_t)tars_param_int(p, P_BUFFER_SIZE), a->obs_dim, 1, &a->replay);
    if (!rc)
        rc = agent_norm_init(&a->norm, tars_param_bool(p, P_NORMALIZE_OBS), 0, a->obs_dim, n_envs,
                             tars_param_float(p, P_GAMMA));
    a->obs_n = malloc((size_t)n_envs * a->obs_dim * sizeof(float));
    a->next_n = malloc((size_t)n_envs * a->obs_dim * sizeof(float));
    a->act = malloc(n_envs * sizeof(float));
    if (!rc && (!a->obs_n || !a->next_n || !a->act))
        rc = TARS_ENOMEM;
    if (rc) {
        dqn_destroy(a);
        return rc;
    }
    a->epsilon = tars_param_float(p, P_EPS_INITIAL);
    a->loss = NAN;
    a->q_mean = NAN;
    *out = a;
    return 0;
}

static int
reserve(tars_agent *a, uint32_t b)
{
    if (b <= a->cap)
        return 0;
    float **f[] = {&a->b_obs, &a->b_next};
    float **g[] = {&a->b_act, &a->b_rew, &a->b_done, &a->target_q, &a->pred, &a->g_pred};
    int ok = 1;
    for (size_t i = 0; i < 2; i++) {
        free(*f[i]);
        ok &= (*f[i] = malloc((size_t)b * a->obs_dim * sizeof(float))) != NULL;
    }
    for (size_t i = 0; i < sizeof g / sizeof g[0]; i++) {
        free(*g[i]);
        ok &= (*g[i] = malloc((size_t)b * sizeof(float))) != NULL;
    }
    free(a->dq);
    free(a->best_next);
    ok &= (a->dq = malloc((size_t)b * a->n_actions * sizeof(float))) != NULL;
    ok &= (a->best_next = malloc((size_t)b * sizeof(int32_t))) != NULL;
    a->cap = ok ? b : 0;
    return ok ? 0 : TARS_ENOMEM;
}

static int32_t
argmax(const float *q, uint32_t n)
{
    int32_t best = 0;
    for (uint32_t k = 1; k < n; k++)
        if (q[k] > q[best])
            best = (int32_t)k;
    return best;
}

static int
dqn_act(tars_agent *a, const tars_params *p, const float *obs, uint32_t n, int explore,
        tars_actions *out)
{
    const float *o = agent_norm_obs(&a->norm, obs, n, explore);
    if (!o)
        return TARS_ENOMEM;
    if (explore && n != a->n_envs)
        return tars_fail(a->ctx, TARS_EINVAL, "trained on %u envs, asked to act on %u", a->n_envs,
                         n);
    int warmup = explore && (int64_t)a->clock.timesteps < tars_param_int(p, P_LEARNING_STARTS);
    const float *q = warmup ? NULL : tars_mlp_forward(a->q, o, n);
    if (!warmup && !q)
        return TARS_ENOMEM;
    for (uint32_t i = 0; i < n; i++) {
        int32_t act;
        if (warmup || (explore && tars_rng_uniform(&a->rng) < a->epsilon))
            act = (int32_t)tars_rng_below(&a->rng, a->n_actions);
        else
            act = argmax(q + (size_t)i * a->n_actions, a->n_actions);
        out->discrete[i] = act;
        if (explore)
            a->act[i] = (float)act;
    }
    if (explore)
        memcpy(a->obs_n, o, (size_t)n * a->obs_dim * sizeof(float));
    return 0;
}

/*
 * The sampled actions are indices below na: a replay restored from a checkpoint on disk may
 * hold anything (the checkpoint fuzzer found a NaN there, which indexed the Q rows), and the
 * agent fails with the reason rather than read out of bounds. NaN fails every comparison.
 */
static int
check_actions(tars_agent *a, uint32_t batch)
{
    for (uint32_t i = 0; i < batch; i++) {
        float x = a->b_act[i];
        if (!(x >= 0 && x < (float)a->n_actions && x == floorf(x)))
            return tars_fail(a->ctx, TARS_EINVAL,
                             "the replay holds action %g, not one of 0..%u: its checkpoint is "
                             "corrupt",
                             (double)x, a->n_actions - 1);
    }
    return 0;
}

/* One gradient step on a minibatch; returns the Huber loss. */
static int
train_step(tars_agent *a, const tars_params *p, uint32_t batch)
{
    double gamma = tars_param_float(p, P_GAMMA);
    uint32_t na = a->n_actions;
    tars_replay_sample(a->replay, batch, &a->rng, a->b_obs, a->b_act, a->b_rew, a->b_next,
                       a->b_done);
    int bad = check_actions(a, batch);
    if (bad)
        return bad;
    if (tars_param_bool(p, P_DOUBLE_Q)) {
        const float *qn = tars_mlp_forward(a->q, a->b_next, batch);
        if (!qn)
            return TARS_ENOMEM;
        for (uint32_t i = 0; i < batch; i++)
            a->best_next[i] = argmax(qn + (size_t)i * na, na);
    }
    const float *qt = tars_mlp_forward(a->target, a->b_next, batch);
    if (!qt)
        return TARS_ENOMEM;
    for (uint32_t i = 0; i < batch; i++) {
        const float *row = qt + (size_t)i * na;
        float next = tars_param_bool(p, P_DOUBLE_Q) ? row[a->best_next[i]] : row[argmax(row, na)];
        a->target_q[i] = (float)(a->b_rew[i] + (1.0 - a->b_done[i]) * gamma * next);
    }
    const float *q = tars_mlp_forward(a->q, a->b_obs, batch);
    if (!q)
        return TARS_ENOMEM;
    double qsum = 0;
    for (uint32_t i = 0; i < batch; i++) {
        a->pred[i] = q[(size_t)i * na + (int32_t)a->b_act[i]];
        qsum += a->pred[i];
    }
    a->loss = tars_huber(a->pred, a->target_q, batch, 1.0, a->g_pred);
    a->q_mean = qsum / batch;
    memset(a->dq, 0, (size_t)batch * na * sizeof(float));
    for (uint32_t i = 0; i < batch; i++)
        a->dq[(size_t)i * na + (int32_t)a->b_act[i]] = a->g_pred[i];
    tars_mlp_zero_grad(a->q);
    int rc = tars_mlp_backward(a->q, a->dq, NULL);
    if (rc)
        return rc;
    double max_norm = tars_param_float(p, P_MAX_GRAD_NORM);
    float *g = tars_mlp_grads(a->q);
    size_t np = tars_mlp_n_params(a->q);
    a->grad_norm = max_norm > 0 ? tars_clip_grad_norm(g, np, max_norm) : tars_l2_norm(g, np);
    tars_optim_step(a->opt, tars_mlp_params(a->q), g, tars_param_float(p, P_LR));
    a->clock.n_updates++;
    return 0;
}

static int
dqn_observe(tars_agent *a, const tars_params *p, const tars_batch *b, tars_scalars *s)
{
    const float *next = agent_norm_obs(&a->norm, b->next_obs, a->n_envs, 0);
    if (!next)
        return TARS_ENOMEM;
    memcpy(a->next_n, next, (size_t)a->n_envs * a->obs_dim * sizeof(float));
    for (uint32_t e = 0; e < a->n_envs; e++)
        tars_replay_add(a->replay, a->obs_n + (size_t)e * a->obs_dim, &a->act[e], b->reward[e],
                        a->next_n + (size_t)e * a->obs_dim, b->terminated[e]);
    offp_tick(&a->clock, a->n_envs);
    /* SB3's _on_step: target refresh every interval/n_envs calls, then the epsilon schedule. */
    uint64_t every = (uint64_t)tars_param_int(p, P_TARGET_UPDATE) / a->n_envs;
    if (a->clock.calls % (every ? every : 1) == 0)
        tars_polyak(tars_mlp_params(a->target), tars_mlp_params(a->q), tars_mlp_n_params(a->q),
                    tars_param_float(p, P_TAU));
    a->epsilon = offp_linear(tars_param_float(p, P_EPS_INITIAL), tars_param_float(p, P_EPS_FINAL),
                             tars_param_float(p, P_EXPLORATION_FRACTION), a->clock.timesteps,
                             (double)tars_param_int(p, P_TOTAL_STEPS));
    uint64_t due =
        offp_due(&a->clock, a->n_envs, tars_param_int(p, P_TRAIN_FREQ),
                 tars_param_int(p, P_GRADIENT_STEPS), tars_param_int(p, P_LEARNING_STARTS));
    uint32_t batch = (uint32_t)tars_param_int(p, P_BATCH_SIZE);
    if (due && reserve(a, batch))
        return TARS_ENOMEM;
    tars_mlp *nets[] = {a->q, a->target};
    if (due)
        meter_start(&a->meter, nets, 2);
    for (uint64_t k = 0; k < due; k++) {
        int rc = train_step(a, p, batch);
        if (rc)
            return rc;
    }
    if (due)
        meter_stop(&a->meter, nets, 2);
    meter_report(&a->meter, s);
    tars_scalar(s, "epsilon", a->epsilon);
    tars_scalar(s, "learning_rate", tars_param_float(p, P_LR));
    tars_scalar(s, "n_updates", (double)a->clock.n_updates);
    if (isfinite(a->loss)) {
        tars_scalar(s, "loss", a->loss);
        tars_scalar(s, "q_mean", a->q_mean);
        tars_scalar(s, "grad_norm", a->grad_norm);
    }
    return 0;
}

/* Saved after the epsilon: the clock, RNG, both networks, Adam, replay, normalisation. */
#define DQN_PARTS(a)                                                                              \
    (struct offp_parts)                                                                           \
    {                                                                                             \
        .clock = &(a)->clock, .rng = &(a)->rng, .nets = (tars_mlp *const[]){(a)->q, (a)->target}, \
        .n_nets = 2, .optims = (tars_optim *const[]){(a)->opt}, .n_optims = 1,                    \
        .replay = (a)->replay, .norm = &(a)->norm                                                 \
    }

static int
dqn_save(const tars_agent *a, tars_blob_writer *w)
{
    tars_agent *m = (tars_agent *)a; /* the parts are only read */
    int rc = tars_blob_set_version(w, STATE_VERSION);
    if (!rc)
        rc = tars_blob_put_f64(w, a->epsilon);
    if (!rc)
        rc = offp_save_parts(&DQN_PARTS(m), w);
    return rc;
}

static int
dqn_load(tars_agent *a, tars_blob_reader *r)
{
    if (tars_blob_version(r) != STATE_VERSION)
        return tars_fail(a->ctx, TARS_EVERSION, "state version %u, this build reads %u",
                         tars_blob_version(r), STATE_VERSION);
    double eps;
    int rc = tars_blob_get_f64(r, &eps);
    if (!rc)
        rc = offp_load_parts(&DQN_PARTS(a), a->ctx, r);
    if (!rc)
        a->epsilon = eps;
    return rc;
}

TARS_OPS(tars_agent_ops, dqn_ops, .create = dqn_create, .destroy = dqn_destroy, .act = dqn_act,
         .observe = dqn_observe, .save = dqn_save, .load = dqn_load);

TARS_PLUGIN(.kind = TARS_KIND_AGENT, .name = "dqn", .version = "1.0.0",
            .description = "Deep Q-Network with replay and a target network (as SB3).",
            .params = dqn_params, .n_params = TARS_COUNTOF(dqn_params), .ops = &dqn_ops)
