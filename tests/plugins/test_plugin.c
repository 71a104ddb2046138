/*
 * Test plugins for the loader: each build defines one TEST_* and gets one defect.
 * TEST_GOOD is a correct agent with one parameter of every type.
 */
#include <stdlib.h>
#include <tars/tars.h>

static const char *const modes[] = {"fast", "slow", NULL};

static const tars_param_def params[] = {
    TARS_PARAM_FLOAT_DEF("lr", 0.001, 1e-6, 1.0, TARS_PARAM_HOT | TARS_PARAM_LOG, "Learning rate."),
    TARS_PARAM_INT_DEF("batch", 64, 1, 4096, 0, "Batch size."),
    TARS_PARAM_BOOL_DEF("double_q", 1, 0, "Use double Q-learning."),
    TARS_PARAM_ENUM_DEF("mode", 0, modes, TARS_PARAM_HOT, "Speed mode."),
#ifdef TEST_BAD_SCHEMA
    TARS_PARAM_FLOAT_DEF("gamma", 2.0, 0.0, 1.0, 0, "Discount; the default is out of range."),
#endif
};

struct tars_agent {
    int unused;
};

static int
create(tars_ctx *ctx, const tars_env_spec *spec, uint32_t n_envs, const tars_params *p,
       uint64_t seed, tars_agent **out)
{
    (void)ctx, (void)spec, (void)n_envs, (void)p, (void)seed;
    *out = calloc(1, sizeof **out);
    return *out ? 0 : TARS_ENOMEM;
}

static void
destroy(tars_agent *a)
{
    free(a);
}

static int
act(tars_agent *a, const tars_params *p, const float *obs, uint32_t n, int explore,
    tars_actions *out)
{
    (void)a, (void)p, (void)obs, (void)explore;
    for (uint32_t i = 0; i < n; i++)
        out->discrete[i] = 0;
    return 0;
}

__attribute__((unused)) static int
observe(tars_agent *a, const tars_params *p, const tars_batch *b, tars_scalars *s)
{
    (void)a, (void)p, (void)b, (void)s;
    return 0;
}

static int
save(const tars_agent *a, tars_blob_writer *w)
{
    (void)a;
    return tars_blob_set_version(w, 1);
}

static int
load(tars_agent *a, tars_blob_reader *r)
{
    (void)a, (void)r;
    return 0;
}

static const tars_agent_ops ops = {
#ifdef TEST_SMALL_OPS
    .struct_size = 8,
#else
    .struct_size = sizeof(tars_agent_ops),
#endif
    .create = create,
    .destroy = destroy,
    .act = act,
#ifndef TEST_MISSING_OP
    .observe = observe,
#endif
    .save = save,
    .load = load,
};

#ifndef TEST_NO_ENTRY
static const tars_plugin_info info = {
    .struct_size = sizeof(tars_plugin_info),
#ifdef TEST_ABI_MAJOR
    .abi_major = TARS_ABI_MAJOR + 1,
#else
    .abi_major = TARS_ABI_MAJOR,
#endif
#ifdef TEST_ABI_MINOR
    .abi_minor = TARS_ABI_MINOR + 1,
#else
    .abi_minor = TARS_ABI_MINOR,
#endif
#ifdef TEST_BAD_KIND
    .kind = 42,
#else
    .kind = TARS_KIND_AGENT,
#endif
    .name = "testagent",
    .version = "0.1.0",
    .description = "A plugin for the loader tests.",
    .params = params,
    .n_params = TARS_COUNTOF(params),
    .ops = &ops,
#ifdef TEST_RESERVED
    .reserved = {"a field from the future"},
#endif
};

TARS_EXPORT const tars_plugin_info *tars_plugin_init(void);
TARS_EXPORT const tars_plugin_info *
tars_plugin_init(void)
{
#ifdef TEST_NULL_INFO
    return info.name ? NULL : &info;
#else
    return &info;
#endif
}
#else
/* Exports something, but not the entry point. */
TARS_EXPORT const void *not_the_entry(void);
TARS_EXPORT const void *
not_the_entry(void)
{
    return params[0].name ? (const void *)&ops : NULL;
}
#endif
