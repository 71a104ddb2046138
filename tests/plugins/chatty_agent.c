/*
 * chattyagent — a test agent that logs a line at every step (tests/integration/log_stall.sh:
 * a stalled reader of tarsd's stderr must not stall the runner that logs). Acts 0, 1, 0, ...
 */
#include <stdlib.h>
#include <tars/tars.h>

struct tars_agent {
    tars_ctx *ctx;
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
act(tars_agent *ag, const tars_params *p, const float *obs, uint32_t n, int explore,
    tars_actions *out)
{
    (void)p, (void)obs, (void)explore;
    for (uint32_t i = 0; i < n; i++)
        out->discrete[i] = (uint32_t)(ag->steps + i) % 2;
    return 0;
}

static int
observe(tars_agent *ag, const tars_params *p, const tars_batch *b, tars_scalars *s)
{
    (void)p, (void)b, (void)s;
    ag->steps++;
    tars_log(ag->ctx, TARS_LOG_INFO,
             "step %llu: a line of the log, padded to fill a pipe soon "
             "................................................................................",
             (unsigned long long)ag->steps);
    return 0;
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

static const tars_agent_ops ops = {
    .struct_size = sizeof(tars_agent_ops),
    .create = create,
    .destroy = destroy,
    .act = act,
    .observe = observe,
    .save = save,
    .load = load,
};

static const tars_plugin_info info = {
    .struct_size = sizeof(tars_plugin_info),
    .abi_major = TARS_ABI_MAJOR,
    .abi_minor = TARS_ABI_MINOR,
    .kind = TARS_KIND_AGENT,
    .name = "chattyagent",
    .version = "0.1.0",
    .description = "Logs a line at every step.",
    .ops = &ops,
};

TARS_EXPORT const tars_plugin_info *tars_plugin_init(void);
TARS_EXPORT const tars_plugin_info *
tars_plugin_init(void)
{
    return &info;
}
