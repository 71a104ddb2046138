/*
 * bench_env: raw step rate of an env plugin through its ops table (no agent, no host loop):
 * uniformly random discrete actions drawn beforehand, `steps` env transitions per run, the
 * median of `runs` runs. Prints one row per n_envs. Asserts nothing.
 *
 *     bench_env PLUGIN.so [steps] [runs]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "host_side.h"
#include "loader.h"
#include "tars/plugin.h"

static double
now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int
cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int
main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_env PLUGIN.so [steps] [runs]\n");
        return 2;
    }
    long steps = argc > 2 ? atol(argv[2]) : 4000000;
    int runs = argc > 3 ? atoi(argv[3]) : 5;
    struct loader loader = {0};
    struct lib lib;
    char err[512];
    if (loader_open(&loader, argv[1], NULL, &lib, err, sizeof err) ||
        lib.info->kind != TARS_KIND_ENV) {
        fprintf(stderr, "bench_env: %s\n", *err ? err : "not an env plugin");
        return 1;
    }
    const tars_env_ops *ops = lib.info->ops;
    tars_params *params;
    tars_params_new(lib.info->params, lib.info->n_params, &params);
    tars_ctx *ctx = tars__ctx_new("bench", NULL);
    printf("%-12s %6s %12s %10s\n", "env", "n_envs", "steps/s", "ns/step");
    const uint32_t sizes[] = {1, 8, 64};
    for (size_t s = 0; s < 3; s++) {
        uint32_t n = sizes[s];
        tars_env *env;
        if (ops->create(ctx, params, n, 1, &env)) {
            fprintf(stderr, "bench_env: create failed: %s\n", tars__ctx_error(ctx));
            return 1;
        }
        tars_env_spec spec;
        ops->spec(env, &spec);
        uint32_t ow = spec.n_agents * spec.obs.dim;
        float *obs = calloc((size_t)n * ow, sizeof(float));
        float *fin = calloc((size_t)n * ow, sizeof(float));
        float *rew = calloc((size_t)n * spec.n_agents, sizeof(float));
        uint8_t *term = calloc(n, 1), *trunc = calloc(n, 1);
        /* 4096 steps' worth of actions, cycled, so drawing them costs nothing in the loop. */
        int32_t *acts = calloc((size_t)4096 * n * spec.n_agents, sizeof(int32_t));
        tars_rng rng;
        tars_rng_seed(&rng, 2, 0);
        for (size_t i = 0; i < (size_t)4096 * n * spec.n_agents; i++)
            acts[i] = (int32_t)tars_rng_below(&rng, spec.act.dim);
        ops->reset(env, params, obs);
        double rates[32];
        long iters = steps / n;
        for (int r = 0; r < runs && r < 32; r++) {
            double t0 = now();
            for (long i = 0; i < iters; i++) {
                tars_actions a = {&acts[(size_t)(i & 4095) * n * spec.n_agents], NULL};
                tars_step_out out = {obs, fin, rew, term, trunc};
                ops->step(env, params, &a, &out);
            }
            rates[r] = (double)iters * n / (now() - t0);
        }
        qsort(rates, (size_t)runs, sizeof rates[0], cmp);
        double med = rates[runs / 2];
        printf("%-12s %6u %12.0f %10.1f\n", lib.info->name, n, med, 1e9 / med);
        ops->destroy(env);
        free(obs);
        free(fin);
        free(rew);
        free(term);
        free(trunc);
        free(acts);
    }
    tars__ctx_free(ctx);
    tars_params_free(params);
    loader_close(&lib);
    loader_fini(&loader);
    return 0;
}
