/*
 * The code-swap test agent (tests/integration/hot_code*.sh, tests/bench/hot_code.sh): one
 * source built several ways, each a build a user could drop over the running one.
 *
 *   HOT_VERSION     its version string
 *   HOT_V2          declares one more parameter ("bonus"): a schema change
 *   HOT_LOAD_FAILS  its load refuses every state blob
 *   HOT_CRASH       dies of SIGSEGV a few steps after it is created
 *   HOT_ABI_MAJOR   built for the next ABI major
 *   HOT_NARROW      'epsilon' may be at most 0.1 (the test's agents run with more)
 *   HOT_PICKY       refuses to be created for fewer than 4 envs (some instances cannot move)
 *   HOT_HANG        stops answering a few steps after it is created
 *   HOT_CRASH_AFTER=N  dies of SIGSEGV in observe after N observes of one instance (counted
 *                   from its creation, not carried in its state: it passes the smoke test)
 *   HOT_CTOR_CRASH  dies of SIGSEGV in its constructor, when the library is mapped
 *
 * It plays CartPole-like envs (discrete actions, the second observation's sign... any box):
 * with probability epsilon a random action, else one that leans against observation 2 (the
 * pole's angle on CartPole). Its state blob (format 1, the same in every build, so builds may
 * replace each other in any order): the steps it observed and its RNG.
 */
#include <stdlib.h>
#include <time.h>
#include <tars/tars.h>

#ifndef HOT_VERSION
#define HOT_VERSION "0.1.0"
#endif

static const char *const modes[] = {"lean", "random", NULL};

static const tars_param_def params[] = {
#ifdef HOT_NARROW
    TARS_PARAM_FLOAT_DEF("epsilon", 0.05, 0.0, 0.1, TARS_PARAM_HOT, "Chance of a random action."),
#else
    TARS_PARAM_FLOAT_DEF("epsilon", 0.1, 0.0, 1.0, TARS_PARAM_HOT, "Chance of a random action."),
#endif
    TARS_PARAM_ENUM_DEF("mode", 0, modes, TARS_PARAM_HOT, "lean: against the pole; random."),
    TARS_PARAM_INT_DEF("work_us", 0, 0, 100000, TARS_PARAM_HOT,
                       "Microseconds each step sleeps (a stand-in for real work)."),
#ifdef HOT_V2
    TARS_PARAM_FLOAT_DEF("bonus", 0.0, 0.0, 1.0, 0, "A parameter the first build did not have."),
#endif
};

struct tars_agent {
    tars_ctx *ctx;
    uint32_t n, obs_dim, actions;
    uint64_t observed;
    uint64_t since_create; /* observes of this instance, not in its state blob */
    tars_rng rng;
};

#ifdef HOT_CTOR_CRASH
static volatile uintptr_t page_zero = 16; /* volatile: the compiler cannot see it is bad */

__attribute__((constructor)) static void
crash_when_mapped(void)
{
    *(volatile int *)page_zero = 1; /* in page 0, unmapped: SIGSEGV */
}
#endif

static int
create(tars_ctx *ctx, const tars_env_spec *spec, uint32_t n_envs, const tars_params *p,
       uint64_t seed, tars_agent **out)
{
    (void)p;
    if (spec->act.type != TARS_SPACE_DISCRETE || spec->n_agents != 1)
        return tars_fail(ctx, TARS_ENOTSUP, "hotagent plays one agent with discrete actions");
#ifdef HOT_PICKY
    if (n_envs < 4)
        return tars_fail(ctx, TARS_EINVAL, "this build needs at least 4 envs, not %u", n_envs);
#endif
    tars_agent *a = calloc(1, sizeof *a);
    if (!a)
        return TARS_ENOMEM;
    a->ctx = ctx;
    a->n = n_envs;
    a->obs_dim = spec->obs.dim;
    a->actions = spec->act.dim;
    tars_rng_seed(&a->rng, seed, 11);
    *out = a;
    return 0;
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
    double eps = tars_param_float(p, 0);
    int random = tars_param_enum(p, 1) == 1;
    for (uint32_t i = 0; i < n; i++) {
        const float *o = &obs[(size_t)i * a->obs_dim];
        float angle = a->obs_dim > 2 ? o[2] : o[0];
        int32_t lean = angle > 0 ? 1 : 0;
        if (explore && (random || tars_rng_uniform(&a->rng) < eps))
            lean = (int32_t)tars_rng_below(&a->rng, a->actions);
        out->discrete[i] = lean < (int32_t)a->actions ? lean : 0;
    }
    return 0;
}

static int
observe(tars_agent *a, const tars_params *p, const tars_batch *b, tars_scalars *s)
{
    (void)b;
    a->observed++;
    int64_t us = tars_param_int(p, 2);
    if (us > 0) {
        struct timespec ts = {us / 1000000, (long)(us % 1000000) * 1000};
        nanosleep(&ts, NULL);
    }
#ifdef HOT_CRASH
    if (a->observed > 4)
        *(volatile int *)(uintptr_t)(16 * a->observed) = 1; /* in page 0, unmapped: SIGSEGV */
#endif
#ifdef HOT_CRASH_AFTER
    if (++a->since_create > HOT_CRASH_AFTER)
        *(volatile int *)(uintptr_t)(16 * a->observed) = 1; /* in page 0, unmapped: SIGSEGV */
#endif
#ifdef HOT_HANG
    while (a->observed > 4) {
        struct timespec ts = {1, 0};
        nanosleep(&ts, NULL);
    }
#endif
    return tars_scalar(s, "hot/observed", (double)a->observed);
}

static int
save(const tars_agent *a, tars_blob_writer *w)
{
    int rc = tars_blob_set_version(w, 1);
    if (!rc)
        rc = tars_blob_put_u64(w, a->observed);
    if (!rc)
        rc = tars_blob_put_rng(w, &a->rng);
    return rc;
}

static int
load(tars_agent *a, tars_blob_reader *r)
{
#ifdef HOT_LOAD_FAILS
    (void)r;
    return tars_fail(a->ctx, TARS_EFORMAT, "this build cannot read state blobs (a test build)");
#else
    uint64_t observed;
    tars_rng rng;
    if (tars_blob_version(r) != 1)
        return tars_fail(a->ctx, TARS_EVERSION, "state format %u is not 1", tars_blob_version(r));
    int rc = tars_blob_get_u64(r, &observed);
    if (!rc)
        rc = tars_blob_get_rng(r, &rng);
    if (!rc) {
        a->observed = observed;
        a->rng = rng;
    }
    return rc;
#endif
}

TARS_OPS(tars_agent_ops, ops, .create = create, .destroy = destroy, .act = act, .observe = observe,
         .save = save, .load = load);

static const tars_plugin_info info = {
    .struct_size = sizeof(tars_plugin_info),
#ifdef HOT_ABI_MAJOR
    .abi_major = TARS_ABI_MAJOR + 1,
#else
    .abi_major = TARS_ABI_MAJOR,
#endif
    .abi_minor = TARS_ABI_MINOR,
    .kind = TARS_KIND_AGENT,
    .name = "hotagent",
    .version = HOT_VERSION,
    .description = "The code-swap test agent.",
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
