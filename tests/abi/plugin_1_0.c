/*
 * A plugin of each kind as a third party wrote it for ABI 1.0: compiled against the FROZEN
 * copy of the 1.0 headers (tests/abi/1.0/, never updated), so it fills its tables by hand the
 * way 1.0 asked, with 1.0's sizes. tests/integration/abi.sh loads each on the current host and
 * trains the agent on the env: a host that reads past a 1.0 table, or headers whose layout
 * moved, fail there. ABI10_KIND picks the kind (1 agent ... 5 exporter, as tars_kind).
 */
#include <stdlib.h>
#include <string.h>
#include <tars/tars.h>

#if ABI10_KIND == 1
/* An agent for discrete actions that plays action (step % n_actions) and counts its steps. */
struct tars_agent {
    uint32_t n_actions;
    uint64_t steps;
};

static int
agent_create(tars_ctx *ctx, const tars_env_spec *spec, uint32_t n_envs, const tars_params *p,
             uint64_t seed, tars_agent **out)
{
    (void)n_envs, (void)p, (void)seed;
    if (spec->act.type != TARS_SPACE_DISCRETE)
        return tars_fail(ctx, TARS_ENOTSUP, "abi10-agent plays discrete actions only");
    tars_agent *a = calloc(1, sizeof *a);
    if (!a)
        return TARS_ENOMEM;
    a->n_actions = spec->act.dim;
    tars_log(ctx, TARS_LOG_INFO, "abi10-agent plays %u actions", a->n_actions);
    *out = a;
    return 0;
}

static void
agent_destroy(tars_agent *a)
{
    free(a);
}

static int
agent_act(tars_agent *a, const tars_params *p, const float *obs, uint32_t n, int explore,
          tars_actions *out)
{
    (void)p, (void)obs, (void)explore;
    for (uint32_t i = 0; i < n; i++)
        out->discrete[i] = (int32_t)((a->steps + i) % a->n_actions);
    return 0;
}

static int
agent_observe(tars_agent *a, const tars_params *p, const tars_batch *b, tars_scalars *s)
{
    (void)p, (void)b;
    a->steps++;
    return tars_scalar(s, "abi10/steps", (double)a->steps);
}

static int
agent_save(const tars_agent *a, tars_blob_writer *w)
{
    return tars_blob_put_u64(w, a->steps);
}

static int
agent_load(tars_agent *a, tars_blob_reader *r)
{
    return tars_blob_get_u64(r, &a->steps);
}

static const tars_agent_ops ops = {
    .struct_size = sizeof(tars_agent_ops),
    .create = agent_create,
    .destroy = agent_destroy,
    .act = agent_act,
    .observe = agent_observe,
    .save = agent_save,
    .load = agent_load,
};
TARS_PLUGIN(.kind = TARS_KIND_AGENT, .name = "abi10-agent", .version = "1.0.0",
            .description = "An agent built against the frozen ABI 1.0 headers.", .ops = &ops)

#elif ABI10_KIND == 2
/* Two observations in [-1, 1], two actions, a reward of 1 a step, episodes of 10 steps. */
struct tars_env {
    uint32_t n;
    uint32_t *t;
};

static const float obs_low[2] = {-1.0f, -1.0f}, obs_high[2] = {1.0f, 1.0f};

static int
env_create(tars_ctx *ctx, const tars_params *p, uint32_t n_envs, uint64_t seed, tars_env **out)
{
    (void)ctx, (void)p, (void)seed;
    tars_env *e = calloc(1, sizeof *e);
    if (!e || !(e->t = calloc(n_envs, sizeof *e->t))) {
        free(e);
        return TARS_ENOMEM;
    }
    e->n = n_envs;
    *out = e;
    return 0;
}

static void
env_destroy(tars_env *e)
{
    free(e->t);
    free(e);
}

static void
env_spec(const tars_env *e, tars_env_spec *out)
{
    (void)e;
    memset(out, 0, sizeof *out);
    out->struct_size = sizeof *out;
    out->n_agents = 1;
    out->obs.type = TARS_SPACE_BOX;
    out->obs.dim = 2;
    out->obs.low = obs_low;
    out->obs.high = obs_high;
    out->act.type = TARS_SPACE_DISCRETE;
    out->act.dim = 2;
    out->max_episode_steps = 10;
}

static void
observe_into(const tars_env *e, uint32_t i, float *obs)
{
    obs[2 * i] = (float)e->t[i] / 10.0f;
    obs[2 * i + 1] = -(float)e->t[i] / 10.0f;
}

static int
env_reset(tars_env *e, const tars_params *p, float *obs)
{
    (void)p;
    for (uint32_t i = 0; i < e->n; i++) {
        e->t[i] = 0;
        observe_into(e, i, obs);
    }
    return 0;
}

static int
env_step(tars_env *e, const tars_params *p, const tars_actions *a, tars_step_out *out)
{
    (void)p, (void)a;
    for (uint32_t i = 0; i < e->n; i++) {
        e->t[i]++;
        out->reward[i] = 1.0f;
        out->terminated[i] = 0;
        out->truncated[i] = e->t[i] >= 10;
        if (out->truncated[i]) {
            observe_into(e, i, out->final_obs);
            e->t[i] = 0;
        }
        observe_into(e, i, out->obs);
    }
    return 0;
}

static const tars_env_ops ops = {
    .struct_size = sizeof(tars_env_ops),
    .create = env_create,
    .destroy = env_destroy,
    .spec = env_spec,
    .reset = env_reset,
    .step = env_step,
};
TARS_PLUGIN(.kind = TARS_KIND_ENV, .name = "abi10-env", .version = "1.0.0",
            .description = "An env built against the frozen ABI 1.0 headers.", .ops = &ops)

#elif ABI10_KIND == 3
/* The provisional kinds load (their tables are checked); nothing runs them yet. */
struct tars_solver {
    int unused;
};

static int
solver_create(tars_ctx *ctx, const tars_params *p, tars_solver **out)
{
    (void)ctx, (void)p;
    *out = calloc(1, sizeof **out);
    return *out ? 0 : TARS_ENOMEM;
}

static void
solver_destroy(tars_solver *s)
{
    free(s);
}

static int
solver_solve(tars_solver *s, const tars_params *p, const char *problem, size_t len,
             tars_buf *result)
{
    (void)s, (void)p;
    return tars_buf_append(result, problem, len);
}

static const tars_solver_ops ops = {
    .struct_size = sizeof(tars_solver_ops),
    .create = solver_create,
    .destroy = solver_destroy,
    .solve = solver_solve,
};
TARS_PLUGIN(.kind = TARS_KIND_SOLVER, .name = "abi10-solver", .version = "1.0.0",
            .description = "A solver built against the frozen ABI 1.0 headers.", .ops = &ops)

#elif ABI10_KIND == 4
struct tars_tuner {
    int unused;
};

static int
tuner_create(tars_ctx *ctx, const tars_params *p, const tars_param_def *space, uint32_t n_space,
             uint64_t seed, tars_tuner **out)
{
    (void)ctx, (void)p, (void)space, (void)n_space, (void)seed;
    *out = calloc(1, sizeof **out);
    return *out ? 0 : TARS_ENOMEM;
}

static void
tuner_destroy(tars_tuner *t)
{
    free(t);
}

static int
tuner_ask(tars_tuner *t, uint64_t trial, tars_params *out)
{
    (void)t, (void)trial, (void)out;
    return 0;
}

static int
tuner_tell(tars_tuner *t, uint64_t trial, tars_trial_state state, double value)
{
    (void)t, (void)trial, (void)state, (void)value;
    return 0;
}

static int
tuner_report(tars_tuner *t, uint64_t trial, uint64_t step, double value, int *prune)
{
    (void)t, (void)trial, (void)step, (void)value;
    *prune = 0;
    return 0;
}

static const tars_tuner_ops ops = {
    .struct_size = sizeof(tars_tuner_ops),
    .create = tuner_create,
    .destroy = tuner_destroy,
    .ask = tuner_ask,
    .tell = tuner_tell,
    .report = tuner_report,
};
TARS_PLUGIN(.kind = TARS_KIND_TUNER, .name = "abi10-tuner", .version = "1.0.0",
            .description = "A tuner built against the frozen ABI 1.0 headers.", .ops = &ops)

#elif ABI10_KIND == 5
struct tars_exporter {
    int unused;
};

static int
exporter_create(tars_ctx *ctx, const tars_params *p, tars_exporter **out)
{
    (void)ctx, (void)p;
    *out = calloc(1, sizeof **out);
    return *out ? 0 : TARS_ENOMEM;
}

static void
exporter_destroy(tars_exporter *x)
{
    free(x);
}

static int
exporter_metrics(tars_exporter *x, const tars_params *p, const tars_metric *m, size_t n,
                 tars_buf *out)
{
    (void)x, (void)p;
    for (size_t i = 0; i < n; i++)
        if (tars_buf_printf(out, "%s %g\n", m[i].name, m[i].value))
            return TARS_ENOMEM;
    return 0;
}

static const tars_exporter_ops ops = {
    .struct_size = sizeof(tars_exporter_ops),
    .inputs = TARS_EXPORT_METRICS,
    .content_type = "text/plain",
    .create = exporter_create,
    .destroy = exporter_destroy,
    .metrics = exporter_metrics,
};
TARS_PLUGIN(.kind = TARS_KIND_EXPORTER, .name = "abi10-exporter", .version = "1.0.0",
            .description = "An exporter built against the frozen ABI 1.0 headers.", .ops = &ops)
#endif
