/*
 * pairagent — a test agent that checks what the host promises about parameter swaps: every
 * op of a step sees one snapshot, whole. The tests only ever set b = -a (both HOT); act and
 * observe fail the run (with the values they saw) when a snapshot breaks the pair, or when
 * observe sees another snapshot than the act of the same step.
 */
#include <stdlib.h>
#include <tars/tars.h>

enum { P_A, P_B };

static const tars_param_def params[] = {
    TARS_PARAM_FLOAT_DEF("a", 1.0, -1e6, 1e6, TARS_PARAM_HOT, "One of the pair."),
    TARS_PARAM_FLOAT_DEF("b", -1.0, -1e6, 1e6, TARS_PARAM_HOT, "Always -a."),
};

struct tars_agent {
    tars_ctx *ctx;
    double a_at_act; /* what act saw this step */
    uint64_t steps;
};

static int
create(tars_ctx *ctx, const tars_env_spec *spec, uint32_t n_envs, const tars_params *p,
       uint64_t seed, tars_agent **out)
{
    (void)spec, (void)n_envs, (void)p, (void)seed;
    *out = calloc(1, sizeof **out);
    if (!*out)
        return TARS_ENOMEM;
    (*out)->ctx = ctx;
    return 0;
}

static void
destroy(tars_agent *a)
{
    free(a);
}

static int
whole(tars_agent *ag, const tars_params *p, const char *op)
{
    double a = tars_param_float(p, P_A), b = tars_param_float(p, P_B);
    if (b != -a)
        return tars_fail(ag->ctx, TARS_EINVAL, "%s saw a torn snapshot: a = %g, b = %g", op, a, b);
    return 0;
}

static int
act(tars_agent *ag, const tars_params *p, const float *obs, uint32_t n, int explore,
    tars_actions *out)
{
    (void)obs, (void)explore;
    for (uint32_t i = 0; i < n; i++)
        out->discrete[i] = (uint32_t)(ag->steps + i) % 2;
    ag->a_at_act = tars_param_float(p, P_A);
    return whole(ag, p, "act");
}

static int
observe(tars_agent *ag, const tars_params *p, const tars_batch *b, tars_scalars *s)
{
    (void)b, (void)s;
    ag->steps++;
    if (tars_param_float(p, P_A) != ag->a_at_act)
        return tars_fail(ag->ctx, TARS_EINVAL, "observe saw a = %g, act of the same step a = %g",
                         tars_param_float(p, P_A), ag->a_at_act);
    return whole(ag, p, "observe");
}

static int
save(const tars_agent *a, tars_blob_writer *w)
{
    int rc = tars_blob_set_version(w, 1);
    return rc ? rc : tars_blob_put_u64(w, a->steps);
}

static int
load(tars_agent *a, tars_blob_reader *r)
{
    return tars_blob_get_u64(r, &a->steps);
}

TARS_OPS(tars_agent_ops, ops, .create = create, .destroy = destroy, .act = act, .observe = observe,
         .save = save, .load = load);

static const tars_plugin_info info = {
    .struct_size = sizeof(tars_plugin_info),
    .abi_major = TARS_ABI_MAJOR,
    .abi_minor = TARS_ABI_MINOR,
    .kind = TARS_KIND_AGENT,
    .name = "pairagent",
    .version = "0.1.0",
    .description = "Checks that every step sees one parameter snapshot, whole.",
    .params = params,
    .n_params = TARS_COUNTOF(params),
    .ops = &ops,
};

TARS_EXPORT const tars_plugin_info *tars_plugin_init(void);
TARS_EXPORT const tars_plugin_info *
tars_plugin_init(void)
{
    return &info;
}
