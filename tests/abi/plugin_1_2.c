/*
 * An agent that calls a function libtars-sdk gains in 1.2 (tests/abi/sdk_1_2.c), so its file
 * records "needs TARS_SDK_1.2": the 1.1 host must refuse it with "built for ABI 1.2, this
 * tarsd has 1.1", not with dlopen's "version not found" (tests/integration/abi.sh).
 */
#include <tars/tars.h>

int tars_feature_1_2(void);

struct tars_agent {
    int unused;
};

static int
create(tars_ctx *ctx, const tars_env_spec *spec, uint32_t n_envs, const tars_params *p,
       uint64_t seed, tars_agent **out)
{
    (void)ctx, (void)spec, (void)n_envs, (void)p, (void)seed, (void)out;
    return tars_feature_1_2() == 12 ? TARS_ENOTSUP : TARS_EINVAL;
}

static void
destroy(tars_agent *a)
{
    (void)a;
}

static int
act(tars_agent *a, const tars_params *p, const float *obs, uint32_t n, int explore,
    tars_actions *out)
{
    (void)a, (void)p, (void)obs, (void)n, (void)explore, (void)out;
    return TARS_ENOTSUP;
}

static int
observe(tars_agent *a, const tars_params *p, const tars_batch *b, tars_scalars *s)
{
    (void)a, (void)p, (void)b, (void)s;
    return TARS_ENOTSUP;
}

static int
save(const tars_agent *a, tars_blob_writer *w)
{
    (void)a, (void)w;
    return TARS_ENOTSUP;
}

static int
load(tars_agent *a, tars_blob_reader *r)
{
    (void)a, (void)r;
    return TARS_ENOTSUP;
}

TARS_OPS(tars_agent_ops, ops, .create = create, .destroy = destroy, .act = act, .observe = observe,
         .save = save, .load = load);
TARS_PLUGIN(.kind = TARS_KIND_AGENT, .name = "abi12-agent", .version = "1.2.0",
            .description = "An agent built against a 1.2 libtars-sdk.", .ops = &ops)
