/*
 * agent "ppo": Proximal Policy Optimization (Schulman et al. 2017) with the clipped surrogate,
 * as Stable-Baselines3 implements it: GAE, n_epochs over shuffled minibatches, advantage
 * normalisation per minibatch, optional value clipping and target-KL early stop, linear
 * schedules for the learning rate and the clip range, Adam (eps 1e-5), global-norm clipping.
 */
#include <math.h>
#include <string.h>
#include "onpolicy.h"

enum {
    P_LR,
    P_LR_SCHEDULE,
    P_N_STEPS,
    P_BATCH_SIZE,
    P_N_EPOCHS,
    P_GAMMA,
    P_GAE_LAMBDA,
    P_CLIP_RANGE,
    P_CLIP_SCHEDULE,
    P_CLIP_RANGE_VF,
    P_NORMALIZE_ADVANTAGE,
    P_ENT_COEF,
    P_VF_COEF,
    P_MAX_GRAD_NORM,
    P_TARGET_KL,
    P_TOTAL_STEPS,
    P_HIDDEN,
    P_LAYERS,
    P_ACTIVATION,
    P_ORTHO_INIT,
    P_LOG_STD_INIT,
    P_NORMALIZE_OBS,
    P_NORMALIZE_REWARD,
};

static const char *const schedules[] = {"constant", "linear", NULL};
static const char *const activations[] = {"tanh", "relu", NULL};

static const tars_param_def ppo_params[] = {
    [P_LR] = TARS_PARAM_FLOAT_DEF("learning_rate", 3e-4, 1e-7, 1.0, TARS_PARAM_HOT | TARS_PARAM_LOG,
                                  "Adam step size (times the schedule)."),
    [P_LR_SCHEDULE] = TARS_PARAM_ENUM_DEF("lr_schedule", 0, schedules, TARS_PARAM_HOT,
                                          "linear: decays to 0 over total_steps."),
    [P_N_STEPS] =
        TARS_PARAM_INT_DEF("n_steps", 2048, 1, 1000000, 0, "Steps per env in each rollout."),
    [P_BATCH_SIZE] =
        TARS_PARAM_INT_DEF("batch_size", 64, 1, 10000000, TARS_PARAM_HOT, "Minibatch size."),
    [P_N_EPOCHS] =
        TARS_PARAM_INT_DEF("n_epochs", 10, 1, 1000, TARS_PARAM_HOT, "Passes over each rollout."),
    [P_GAMMA] = TARS_PARAM_FLOAT_DEF("gamma", 0.99, 0.0, 1.0, TARS_PARAM_HOT, "Discount factor."),
    [P_GAE_LAMBDA] = TARS_PARAM_FLOAT_DEF("gae_lambda", 0.95, 0.0, 1.0, TARS_PARAM_HOT,
                                          "GAE bias-variance trade-off."),
    [P_CLIP_RANGE] = TARS_PARAM_FLOAT_DEF("clip_range", 0.2, 1e-4, 10.0, TARS_PARAM_HOT,
                                          "Surrogate clipping (times the schedule)."),
    [P_CLIP_SCHEDULE] = TARS_PARAM_ENUM_DEF("clip_range_schedule", 0, schedules, TARS_PARAM_HOT,
                                            "linear: the clip range decays to 0 over total_steps."),
    [P_CLIP_RANGE_VF] = TARS_PARAM_FLOAT_DEF("clip_range_vf", 0.0, 0.0, 1000.0, TARS_PARAM_HOT,
                                             "Value clipping around the old values (0: off)."),
    [P_NORMALIZE_ADVANTAGE] = TARS_PARAM_BOOL_DEF("normalize_advantage", 1, TARS_PARAM_HOT,
                                                  "Normalise advantages per minibatch."),
    [P_ENT_COEF] = TARS_PARAM_FLOAT_DEF("ent_coef", 0.0, 0.0, 1.0, TARS_PARAM_HOT,
                                        "Entropy bonus coefficient."),
    [P_VF_COEF] =
        TARS_PARAM_FLOAT_DEF("vf_coef", 0.5, 0.0, 10.0, TARS_PARAM_HOT, "Value loss coefficient."),
    [P_MAX_GRAD_NORM] = TARS_PARAM_FLOAT_DEF("max_grad_norm", 0.5, 0.0, 1000.0, TARS_PARAM_HOT,
                                             "Global gradient norm limit (0: off)."),
    [P_TARGET_KL] = TARS_PARAM_FLOAT_DEF("target_kl", 0.0, 0.0, 10.0, TARS_PARAM_HOT,
                                         "Stop the epochs once KL > 1.5 target (0: off)."),
    [P_TOTAL_STEPS] = TARS_PARAM_INT_DEF("total_steps", 1000000, 1, 1e12, TARS_PARAM_HOT,
                                         "Training length the schedules span."),
    [P_HIDDEN] = TARS_PARAM_INT_DEF("hidden", 64, 1, 4096, 0, "Width of the hidden layers."),
    [P_LAYERS] = TARS_PARAM_INT_DEF("layers", 2, 1, 6, 0, "Hidden layers per network."),
    [P_ACTIVATION] =
        TARS_PARAM_ENUM_DEF("activation", 0, activations, 0, "Hidden-layer activation."),
    [P_ORTHO_INIT] = TARS_PARAM_BOOL_DEF("ortho_init", 1, 0, "Orthogonal initialisation."),
    [P_LOG_STD_INIT] = TARS_PARAM_FLOAT_DEF("log_std_init", 0.0, -20.0, 2.0, 0,
                                            "Initial log std of Gaussian actions."),
    [P_NORMALIZE_OBS] =
        TARS_PARAM_BOOL_DEF("normalize_obs", 0, 0, "Running observation normalisation."),
    [P_NORMALIZE_REWARD] =
        TARS_PARAM_BOOL_DEF("normalize_reward", 0, 0, "Running reward normalisation."),
};

static enum ac_optimizer
ppo_optimizer(const tars_params *p)
{
    (void)p;
    return AC_ADAM;
}

/* Copies rollout row `src` of every array into minibatch row `dst`. */
static void
gather(tars_agent *a, uint32_t dst, uint32_t src)
{
    memcpy(a->mb_obs + (size_t)dst * a->obs_dim,
           tars_rollout_obs(a->roll) + (size_t)src * a->obs_dim, a->obs_dim * sizeof(float));
    memcpy(a->mb_act + (size_t)dst * a->act_width,
           tars_rollout_act(a->roll) + (size_t)src * a->act_width, a->act_width * sizeof(float));
    a->mb_oldlp[dst] = tars_rollout_logp(a->roll)[src];
    a->mb_oldv[dst] = tars_rollout_value(a->roll)[src];
    a->mb_adv[dst] = tars_rollout_adv(a->roll)[src];
    a->mb_ret[dst] = tars_rollout_ret(a->roll)[src];
}

struct mb_losses {
    double pg, vf, ent, kl, clipped;
};

/*
 * The gradients of loss = pg + ent_coef * (-mean H) + vf_coef * value_loss with respect to
 * each sample's log-prob, entropy and value, given the forward pass's outputs.
 */
static void
losses(tars_agent *a, const tars_params *p, uint32_t m, double clip, struct mb_losses *l)
{
    double ent_coef = tars_param_float(p, P_ENT_COEF), vf_coef = tars_param_float(p, P_VF_COEF);
    double clip_vf = tars_param_float(p, P_CLIP_RANGE_VF);
    memset(l, 0, sizeof *l);
    for (uint32_t i = 0; i < m; i++) {
        double log_ratio = (double)a->mb_logp[i] - a->mb_oldlp[i], ratio = exp(log_ratio);
        double adv = a->mb_adv[i];
        double clamped = fmin(fmax(ratio, 1 - clip), 1 + clip);
        double unclipped_obj = adv * ratio, clipped_obj = adv * clamped;
        /* -min(u, c): the gradient flows through u when u <= c (ties included), else through
         * the clamp, which passes nothing outside the range and equals u inside it. */
        l->pg += -fmin(unclipped_obj, clipped_obj);
        a->g_logp[i] = unclipped_obj <= clipped_obj ? (float)(-adv * ratio / m) : 0.0f;
        l->clipped += fabs(ratio - 1) > clip;
        l->kl += (ratio - 1) - log_ratio;
        double v = a->mb_val[i], dv = 1;
        if (clip_vf > 0) {
            double delta = v - a->mb_oldv[i];
            if (delta > clip_vf || delta < -clip_vf)
                dv = 0;
            v = a->mb_oldv[i] + fmin(fmax(delta, -clip_vf), clip_vf);
        }
        double err = v - a->mb_ret[i];
        l->vf += err * err;
        a->g_val[i] = (float)(vf_coef * 2 * err * dv / m);
        l->ent += a->mb_ent[i];
        a->g_ent[i] = (float)(-ent_coef / m);
    }
    l->pg /= m;
    l->vf /= m;
    l->ent = -l->ent / m;
    l->kl /= m;
    l->clipped /= m;
}

static int
ppo_train(tars_agent *a, const tars_params *p)
{
    uint32_t rows = tars_rollout_steps(a->roll) * a->n_envs;
    uint32_t batch = (uint32_t)tars_param_int(p, P_BATCH_SIZE);
    if (batch > rows)
        batch = rows;
    if (onp_reserve(a, batch, rows))
        return TARS_ENOMEM;
    double progress = onp_progress(a, p);
    double lr = tars_param_float(p, P_LR) * (tars_param_enum(p, P_LR_SCHEDULE) ? progress : 1);
    double clip =
        tars_param_float(p, P_CLIP_RANGE) * (tars_param_enum(p, P_CLIP_SCHEDULE) ? progress : 1);
    double target_kl = tars_param_float(p, P_TARGET_KL);
    int norm_adv = tars_param_bool(p, P_NORMALIZE_ADVANTAGE);
    uint32_t epochs = (uint32_t)tars_param_int(p, P_N_EPOCHS);
    double sum_pg = 0, sum_vf = 0, sum_ent = 0, sum_clip = 0, last_kl = NAN, loss = 0, norm = 0;
    uint32_t n_mb = 0;
    int stop = 0;
    for (uint32_t epoch = 0; epoch < epochs && !stop; epoch++) {
        tars_shuffle(a->perm, rows, &a->rng);
        for (uint32_t start = 0; start < rows; start += batch) {
            uint32_t m = rows - start < batch ? rows - start : batch;
            for (uint32_t i = 0; i < m; i++)
                gather(a, i, a->perm[start + i]);
            if (norm_adv)
                onp_normalize(a->mb_adv, m);
            int rc = ac_forward(&a->pol, a->mb_obs, a->mb_act, m, a->mb_logp, a->mb_ent, a->mb_val);
            if (rc)
                return rc;
            struct mb_losses l;
            losses(a, p, m, clip, &l);
            last_kl = l.kl;
            if (target_kl > 0 && l.kl > 1.5 * target_kl) {
                /* SB3 stops before applying this minibatch's gradient. */
                stop = 1;
                break;
            }
            ac_zero_grad(&a->pol);
            rc = ac_backward(&a->pol, a->mb_act, m, a->g_logp, a->g_ent, a->g_val);
            if (rc)
                return rc;
            norm = ac_step(&a->pol, lr, tars_param_float(p, P_MAX_GRAD_NORM));
            sum_pg += l.pg;
            sum_vf += l.vf;
            sum_ent += l.ent;
            sum_clip += l.clipped;
            loss = l.pg + tars_param_float(p, P_ENT_COEF) * l.ent +
                   tars_param_float(p, P_VF_COEF) * l.vf;
            n_mb++;
            a->stats.n_updates++;
        }
    }
    struct onp_stats *st = &a->stats;
    if (n_mb) {
        st->policy_loss = sum_pg / n_mb;
        st->value_loss = sum_vf / n_mb;
        st->entropy_loss = sum_ent / n_mb;
        st->clip_fraction = sum_clip / n_mb;
    }
    st->approx_kl = last_kl;
    st->loss = loss;
    st->learning_rate = lr;
    st->clip_range = clip;
    st->grad_norm = norm;
    return 0;
}

static const struct onp_algo ppo = {.optimizer = ppo_optimizer, .train = ppo_train};

ONPOLICY_AGENT_OPS(ppo, ppo);

TARS_PLUGIN(.kind = TARS_KIND_AGENT, .name = "ppo", .version = "1.0.0",
            .description = "Proximal Policy Optimization with the clipped surrogate (as SB3).",
            .params = ppo_params, .n_params = TARS_COUNTOF(ppo_params), .ops = &ppo_ops)
