/*
 * bench_state: what persistence costs. For agents of growing size: the runner's stall (the
 * run_save that serialises it at a step boundary) and the commit of that checkpoint to LMDB;
 * then the history's append rate through the writer. Medians; asserts nothing.
 *
 *     bench_state MANIFEST_DIR PLUGIN_DIR
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "blas.h"
#include "host.h"
#include "records.h"
#include "registry.h"
#include "run.h"
#include "store.h"
#include "writer.h"

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

struct agent_case {
    const char *name, *agent, *env, *preset;
    const char *overrides;
    uint32_t warm; /* steps before measuring, to fill buffers */
};

static struct run *
make_run(struct registry *reg, const struct agent_case *c)
{
    char err[512];
    struct run_spec s = {.id = c->name, .seed = 1};
    uint32_t envs = 8;
    s.agent = registry_get(reg, c->agent, TARS_KIND_AGENT);
    s.env = registry_get(reg, c->env, TARS_KIND_ENV);
    if (!s.agent || !s.env ||
        plugin_params(s.agent, c->preset, &s.agent_params, &envs, err, sizeof err) ||
        plugin_params(s.env, NULL, &s.env_params, NULL, err, sizeof err))
        return NULL;
    s.n_envs = envs;
    char *list = strdup(c->overrides), *save = NULL;
    for (char *kv = strtok_r(list, " ", &save); kv; kv = strtok_r(NULL, " ", &save)) {
        char *eq = strchr(kv, '=');
        *eq = '\0';
        tars_params_parse(s.agent_params, kv, eq + 1, err, sizeof err);
    }
    free(list);
    struct run *r = NULL;
    if (run_create(&s, &r, err, sizeof err))
        fprintf(stderr, "bench_state: %s\n", err);
    return r;
}

int
main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: bench_state MANIFEST_DIR PLUGIN_DIR\n");
        return 2;
    }
    blas_tune(argv);
    struct registry reg;
    struct strv m = {0}, p = {0};
    struct diag d = {0};
    strv_push(&m, argv[1]);
    strv_push(&p, argv[2]);
    registry_init(&reg, &m, &p, 0);
    registry_scan(&reg, &d);
    char dir[] = "/tmp/tars-bench-state-XXXXXX", err[512];
    if (!mkdtemp(dir))
        return 1;
    struct store *st;
    struct writer *w;
    struct writer_limits lim = {.checkpoints_kept = 3, .episodes_kept = 0, .backlog_bytes = 0};
    if (store_open(&st, dir, 0, 0, err, sizeof err) || writer_start(&w, st, &lim, NULL, NULL)) {
        fprintf(stderr, "bench_state: %s\n", err);
        return 1;
    }
    const struct agent_case cases[] = {
        {"ppo-64x64", "ppo", "cartpole", "cartpole", "", 2000},
        {"dqn-256x256+100k", "dqn", "cartpole", "cartpole", "learning_starts=100000", 12500},
        {"ddpg-400x300+20k", "ddpg", "pendulum", "pendulum", "learning_starts=100000", 20000},
        {"ddpg-400x300+200k", "ddpg", "pendulum", "pendulum", "learning_starts=1000000", 200000},
    };
    printf(
        "== checkpoints (median of 9): the runner stalls for the save only; the writer commits\n");
    printf("%-20s %10s %14s %14s\n", "agent", "bytes", "save (stall)", "commit");
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        struct run *r = make_run(&reg, &cases[c]);
        if (!r)
            continue;
        for (uint32_t i = 0; i < cases[c].warm / r->n_envs; i++)
            run_step(r);
        double saves[9], commits[9];
        size_t len = 0;
        for (int k = 0; k < 9; k++) {
            void *blob;
            double t0 = now();
            run_save(r, &blob, &len, err, sizeof err);
            double t1 = now();
            struct checkpoint_hdr h = {.step = (uint64_t)k + 1};
            writer_checkpoint(w, r->id, &h, blob, len, NULL);
            writer_flush(w, err, sizeof err);
            saves[k] = t1 - t0;
            commits[k] = now() - t1;
        }
        qsort(saves, 9, sizeof saves[0], cmp);
        qsort(commits, 9, sizeof commits[0], cmp);
        printf("%-20s %10zu %11.2f ms %11.2f ms\n", cases[c].name, len, saves[4] * 1e3,
               commits[4] * 1e3);
        run_destroy(r);
    }
    /* History: episodes queued in batches of 64, as runners hand them over. */
    const size_t total = 2000000, batch = 64;
    struct episode_rec e[64];
    double t0 = now();
    for (size_t i = 0; i < total; i += batch) {
        for (size_t k = 0; k < batch; k++)
            e[k] = (struct episode_rec){.episode = i + k + 1,
                                        .step = (i + k) * 20,
                                        .ret = 21,
                                        .length = 20,
                                        .wall_time = 1.8e9};
        writer_episodes(w, "history", e, batch);
    }
    writer_flush(w, err, sizeof err);
    double dt = now() - t0;
    struct writer_stats ws;
    writer_stats(w, &ws);
    printf("== history: %zu episodes appended in %.2f s = %.2f M episodes/s (%llu commits)\n",
           total, dt, total / dt * 1e-6, (unsigned long long)ws.commits);
    writer_stop(w);
    store_close(st);
    registry_free(&reg);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : 1;
}
