/*
 * agent "a2c": synchronous Advantage Actor-Critic (Mnih et al. 2016) as Stable-Baselines3
 * implements it: n-step rollouts (GAE with lambda 1 gives the n-step returns), one gradient
 * step per rollout on policy-gradient + value + entropy losses, RMSprop (alpha 0.99,
 * eps 1e-5) or Adam, global-norm clipping.
 */
#include <math.h>
#include <string.h>
#include "onpolicy.h"

enum {
    P_LR,
    P_LR_SCHEDULE,
    P_N_STEPS,
    P_GAMMA,
    P_GAE_LAMBDA,
    P_NORMALIZE_ADVANTAGE,
    P_ENT_COEF,
    P_VF_COEF,
    P_MAX_GRAD_NORM,
    P_RMS_PROP,
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

static const tars_param_def a2c_params[] = {
    [P_LR] = TARS_PARAM_FLOAT_DEF("learning_rate", 7e-4, 1e-7, 1.0, TARS_PARAM_HOT | TARS_PARAM_LOG,
                                  "Optimiser step size (times the schedule)."),
    [P_LR_SCHEDULE] = TARS_PARAM_ENUM_DEF("lr_schedule", 0, schedules, TARS_PARAM_HOT,
                                          "linear: decays to 0 over total_steps."),
    [P_N_STEPS] = TARS_PARAM_INT_DEF("n_steps", 5, 1, 1000000, 0, "Steps per env in each update."),
    [P_GAMMA] = TARS_PARAM_FLOAT_DEF("gamma", 0.99, 0.0, 1.0, TARS_PARAM_HOT, "Discount factor."),
    [P_GAE_LAMBDA] = TARS_PARAM_FLOAT_DEF("gae_lambda", 1.0, 0.0, 1.0, TARS_PARAM_HOT,
                                          "GAE lambda (1: plain n-step returns)."),
    [P_NORMALIZE_ADVANTAGE] = TARS_PARAM_BOOL_DEF("normalize_advantage", 0, TARS_PARAM_HOT,
                                                  "Normalise advantages per update."),
    [P_ENT_COEF] = TARS_PARAM_FLOAT_DEF("ent_coef", 0.0, 0.0, 1.0, TARS_PARAM_HOT,
                                        "Entropy bonus coefficient."),
    [P_VF_COEF] =
        TARS_PARAM_FLOAT_DEF("vf_coef", 0.5, 0.0, 10.0, TARS_PARAM_HOT, "Value loss coefficient."),
    [P_MAX_GRAD_NORM] = TARS_PARAM_FLOAT_DEF("max_grad_norm", 0.5, 0.0, 1000.0, TARS_PARAM_HOT,
                                             "Global gradient norm limit (0: off)."),
    [P_RMS_PROP] = TARS_PARAM_BOOL_DEF("rms_prop", 1, 0, "RMSprop (as SB3) rather than Adam."),
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
a2c_optimizer(const tars_params *p)
{
    return tars_param_bool(p, P_RMS_PROP) ? AC_RMSPROP : AC_ADAM;
}

static int
a2c_train(tars_agent *a, const tars_params *p)
{
    uint32_t m = tars_rollout_steps(a->roll) * a->n_envs;
    if (onp_reserve(a, m, 0))
        return TARS_ENOMEM;
    double lr =
        tars_param_float(p, P_LR) * (tars_param_enum(p, P_LR_SCHEDULE) ? onp_progress(a, p) : 1);
    double ent_coef = tars_param_float(p, P_ENT_COEF), vf_coef = tars_param_float(p, P_VF_COEF);
    const float *act = tars_rollout_act(a->roll);
    memcpy(a->mb_adv, tars_rollout_adv(a->roll), m * sizeof(float));
    if (tars_param_bool(p, P_NORMALIZE_ADVANTAGE))
        onp_normalize(a->mb_adv, m);
    int rc =
        ac_forward(&a->pol, tars_rollout_obs(a->roll), act, m, a->mb_logp, a->mb_ent, a->mb_val);
    if (rc)
        return rc;
    const float *ret = tars_rollout_ret(a->roll);
    double pg = 0, vf = 0, ent = 0;
    for (uint32_t i = 0; i < m; i++) {
        pg += -(double)a->mb_adv[i] * a->mb_logp[i];
        a->g_logp[i] = -a->mb_adv[i] / (float)m;
        double err = (double)a->mb_val[i] - ret[i];
        vf += err * err;
        a->g_val[i] = (float)(vf_coef * 2 * err / m);
        ent += a->mb_ent[i];
        a->g_ent[i] = (float)(-ent_coef / m);
    }
    pg /= m;
    vf /= m;
    ent = -ent / m;
    ac_zero_grad(&a->pol);
    rc = ac_backward(&a->pol, act, m, a->g_logp, a->g_ent, a->g_val);
    if (rc)
        return rc;
    struct onp_stats *st = &a->stats;
    st->grad_norm = ac_step(&a->pol, lr, tars_param_float(p, P_MAX_GRAD_NORM));
    st->policy_loss = pg;
    st->value_loss = vf;
    st->entropy_loss = ent;
    st->loss = pg + ent_coef * ent + vf_coef * vf;
    st->learning_rate = lr;
    st->n_updates++;
    return 0;
}

static const struct onp_algo a2c = {.optimizer = a2c_optimizer, .train = a2c_train};

ONPOLICY_AGENT_OPS(a2c, a2c);

TARS_PLUGIN(.kind = TARS_KIND_AGENT, .name = "a2c", .version = "1.0.0",
            .description = "Advantage Actor-Critic, synchronous n-step (as SB3).",
            .params = a2c_params, .n_params = TARS_COUNTOF(a2c_params), .ops = &a2c_ops)
