/*
 * Runs (host/runs/run.c, host/runs/evaluate.c): the host loop over a real agent and env — step and
 * episode counting, determinism for a seed, and evaluation that leaves training untouched.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "registry.h"
#include "run.h"
#include "tap.h"

static struct registry reg;

static struct run *
make_run(const char *id, uint32_t n_envs, uint64_t seed)
{
    struct run_spec s = {.id = id, .n_envs = n_envs, .seed = seed};
    char err[512];
    s.agent = registry_get(&reg, "random", TARS_KIND_AGENT);
    s.env = registry_get(&reg, "cartpole", TARS_KIND_ENV);
    plugin_params(s.agent, NULL, &s.agent_params, NULL, err, sizeof err);
    plugin_params(s.env, NULL, &s.env_params, NULL, err, sizeof err);
    struct run *r = NULL;
    if (run_create(&s, &r, err, sizeof err))
        diag("%s", err);
    return r;
}

struct log {
    double returns[4096];
    uint32_t lens[4096];
    int n;
};

static void
record(struct run *r, uint32_t env, double ret, uint32_t len, void *user)
{
    (void)r, (void)env;
    struct log *l = user;
    if (l->n < 4096) {
        l->returns[l->n] = ret;
        l->lens[l->n++] = len;
    }
}

int
main(void)
{
    struct strv m = {0}, p = {0};
    struct diag d = {0};
    strv_push(&m, TARS_SOURCE_DIR "/manifests");
    strv_push(&p, TARS_PLUGIN_DIR);
    registry_init(&reg, &m, &p, 0);
    is_int(registry_scan(&reg, &d), 0, "the bundled manifests load");
    strv_free(&m);
    strv_free(&p);

    struct run *a = make_run("a", 8, 11), *b = make_run("b", 8, 11), *c = make_run("c", 8, 12);
    ok(a && b && c, "three runs created");
    struct log la = {0}, lb = {0}, lc = {0};
    a->on_episode = record, a->on_episode_user = &la;
    b->on_episode = record, b->on_episode_user = &lb;
    c->on_episode = record, c->on_episode_user = &lc;
    int fails = 0;
    for (int i = 0; i < 1000; i++) {
        fails += run_step(a) != 0;
        fails += run_step(b) != 0;
        fails += run_step(c) != 0;
        if (i == 500) {
            double mean, std;
            char err[256];
            /* Evaluating a (and not b) must not change what a does next. */
            fails += run_evaluate(a, 10, &mean, &std, err, sizeof err) != 0;
            ok(mean > 5 && mean < 100, "random cartpole evaluates to a plausible mean (%.1f)",
               mean);
        }
    }
    is_int(fails, 0, "every step succeeds");
    is_int(atomic_load(&a->steps), 8000, "steps count env transitions (n_envs per step)");
    is_int(atomic_load(&a->episodes), la.n, "every finished episode is counted once");
    uint64_t total_len = 0;
    for (int i = 0; i < la.n; i++)
        total_len += la.lens[i];
    ok(total_len <= 8000 && total_len > 8000 - 8 * 500, "episode lengths add up to the steps");
    int same = la.n == lb.n;
    for (int i = 0; same && i < la.n; i++)
        same = la.returns[i] == lb.returns[i] && la.lens[i] == lb.lens[i];
    ok(same, "same seed, same episodes (%d), evaluation in between or not", la.n);
    int differ = la.n != lc.n;
    for (int i = 0; !differ && i < la.n; i++)
        differ = la.returns[i] != lc.returns[i];
    ok(differ, "another seed, other episodes");
    double mean = atomic_load(&a->mean_return);
    ok(isfinite(mean) && mean > 5 && mean < 100, "rolling mean return is plausible (%.1f)", mean);
    int ret_is_len = la.n > 0;
    for (int i = 0; i < la.n; i++)
        ret_is_len &= la.returns[i] == la.lens[i];
    ok(ret_is_len, "every cartpole return equals its length (reward 1 per step)");

    /* Evaluations of different sizes use differently sized evaluation envs. */
    char err[256];
    double m1, m2, m3, sd;
    ok(run_evaluate(a, 10, &m1, &sd, err, sizeof err) == 0 &&
           run_evaluate(a, 2, &m2, &sd, err, sizeof err) == 0 &&
           run_evaluate(a, 13, &m3, &sd, err, sizeof err) == 0,
       "evaluations of 10, then 2, then 13 episodes");
    ok(m1 > 5 && m2 > 5 && m3 > 5 && m1 < 100 && m2 < 100 && m3 < 100,
       "each gives a plausible mean (%.1f, %.1f, %.1f)", m1, m2, m3);

    void *blob;
    size_t len;
    ok(run_save_agent(a, &blob, &len, err, sizeof err) == 0 && len > 0, "agent state saved");
    free(blob);

    run_destroy(a);
    run_destroy(b);
    run_destroy(c);
    registry_free(&reg);
    return done_testing();
}
