/*
 * classic — the vectorised driver shared by the classic-control envs (cartpole, pendulum,
 * acrobot, mountaincar, mountaincar-continuous). An env describes one copy: its state size,
 * spaces, how it resets, steps and is observed; the driver runs n copies with same-step
 * auto-reset, time-limit truncation, action checks and save/load. State is kept in double
 * precision and observed as float, as Gymnasium does.
 */
#ifndef TARS_PLUGINS_CLASSIC_H
#define TARS_PLUGINS_CLASSIC_H

#include <tars/tars.h>

#define CLASSIC_MAX_STATE 8
#define CLASSIC_MAX_OBS   8

struct classic_def {
    uint32_t state_dim;
    uint32_t obs_dim;
    uint32_t act_type; /* TARS_SPACE_DISCRETE or TARS_SPACE_BOX */
    uint32_t act_dim;  /* choices, or box length */
    float act_low[CLASSIC_MAX_OBS], act_high[CLASSIC_MAX_OBS];
    float obs_low[CLASSIC_MAX_OBS], obs_high[CLASSIC_MAX_OBS];
    uint32_t limit_param; /* index of the int parameter max_episode_steps */
    int float32_state;    /* round the state to float after each step (as Gymnasium does) */
    void (*reset)(double *s, tars_rng *rng);
    /* Advances s by the action (int32 index or floats); returns the reward, sets *terminated. */
    double (*step)(double *s, const int32_t *discrete, const float *continuous,
                   const tars_params *params, int *terminated);
    void (*observe)(const double *s, float *obs);
};

/* The ops every classic env shares; create takes its definition. */
int classic_create(const struct classic_def *def, tars_ctx *ctx, const tars_params *params,
                   uint32_t n_envs, uint64_t seed, tars_env **out);
void classic_destroy(tars_env *e);
void classic_spec(const tars_env *e, tars_env_spec *spec);
int classic_reset(tars_env *e, const tars_params *params, float *obs);
int classic_step(tars_env *e, const tars_params *params, const tars_actions *actions,
                 tars_step_out *out);
int classic_save(const tars_env *e, tars_blob_writer *w);
int classic_load(tars_env *e, tars_blob_reader *r);

/* Defines NAME_create and NAME_ops for a definition `def`. */
#define CLASSIC_ENV_OPS(name, def)                                                          \
    static int name##_create(tars_ctx *ctx, const tars_params *params, uint32_t n_envs,     \
                             uint64_t seed, tars_env **out)                                 \
    {                                                                                       \
        return classic_create(&(def), ctx, params, n_envs, seed, out);                      \
    }                                                                                       \
    TARS_OPS(tars_env_ops, name##_ops, .create = name##_create, .destroy = classic_destroy, \
             .spec = classic_spec, .reset = classic_reset, .step = classic_step,            \
             .save = classic_save, .load = classic_load)

#endif
