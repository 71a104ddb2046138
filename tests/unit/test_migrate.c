/*
 * Code swaps on a run (host/runs/migrate.c) and the loader's staging (host/registry/loader.c):
 * parameter snapshots carried to a new schema by name; a state blob handed over; an agent and an
 * env migrated between two builds at a step boundary, after which the run goes on exactly as an
 * untouched twin does; a migration that fails leaves the run as it was; an order no runner
 * takes is withdrawn; every load gets a copy of its own, removed when it is closed.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "loader.h"
#include "migrate.h"
#include "params_json.h"
#include "rcu.h"
#include "registry.h"
#include "run.h"
#include "tap.h"

static struct registry reg;
static struct loader loader;

/* A build of a test plugin as a generation of its own. */
static struct plugin *
generation(const char *file, uint64_t n)
{
    char err[512], path[1024];
    struct plugin *p = calloc(1, sizeof *p);
    snprintf(path, sizeof path, "%s/%s", TEST_PLUGIN_DIR, file);
    if (!p || loader_open(&loader, path, NULL, &p->lib, err, sizeof err)) {
        diag("%s: %s", file, err);
        free(p);
        return NULL;
    }
    p->info = p->lib.info;
    p->generation = n;
    return p;
}

static void
generation_free(struct plugin *p)
{
    if (p)
        loader_close(&p->lib);
    free(p);
}

/* Sets one parameter from a JSON value (consumed). */
static void
set(tars_params *p, const char *name, json_t *v)
{
    char err[256];
    if (pjson_set(p, name, v, err, sizeof err))
        diag("%s", err);
    json_decref(v);
}

static struct run *
make_run(struct plugin *agent, const char *id, uint64_t seed)
{
    struct run_spec s = {.id = id, .n_envs = 4, .seed = seed, .agent = agent};
    char err[512];
    s.env = registry_get(&reg, "cartpole", TARS_KIND_ENV);
    plugin_params(s.agent, NULL, &s.agent_params, NULL, err, sizeof err);
    plugin_params(s.env, NULL, &s.env_params, NULL, err, sizeof err);
    set(s.agent_params, "epsilon", json_real(0.5));
    struct run *r = NULL;
    if (run_create(&s, &r, err, sizeof err))
        diag("%s", err);
    return r;
}

static int
steps(struct run *r, int n)
{
    for (int i = 0; i < n; i++)
        if (run_step(r))
            return diag("step: %s", r->error), -1;
    return 0;
}

/* The agent's own count of the steps it observed (hotagent reports it as a scalar). */
static double
observed(const struct run *r)
{
    for (uint32_t i = 0; i < r->latest.n; i++)
        if (strcmp(r->latest.items[i].name, "hot/observed") == 0)
            return r->latest.items[i].value;
    return -1;
}

/* Posts an order and carries it out as the run's runner would. */
static int
order(struct run *r, struct swap_order *o)
{
    migrate_post(r, o);
    migrate_take(r);
    return atomic_load(&o->done) ? o->rc : -9999;
}

static void
test_params(struct plugin *v1, struct plugin *v2, struct plugin *narrow)
{
    char err[512];
    tars_params *cur, *next = NULL;
    plugin_params(v1, NULL, &cur, NULL, err, sizeof err);
    set(cur, "epsilon", json_real(0.5));
    set(cur, "mode", json_string("random"));
    is_int(migrate_params(cur, v2, &next, err, sizeof err), 0, "a snapshot carries over to v2");
    is_near(tars_param_value(next, tars_params_index(next, "epsilon")), 0.5, 0, "  by name");
    is_str(tars_param_enum_name(next, tars_params_index(next, "mode")), "random",
           "  an enum by its choice");
    is_near(tars_param_value(next, tars_params_index(next, "bonus")), 0, 0,
            "  a new parameter takes its default");
    tars_params *back = NULL;
    is_int(migrate_params(next, v1, &back, err, sizeof err), 0, "and back to v1");
    is_int(tars_params_index(back, "bonus"), TARS_ENOENT, "  which drops what v1 lacks");
    tars_params *none = NULL;
    ok(migrate_params(cur, narrow, &none, err, sizeof err) != 0 && !none,
       "a value the new schema refuses refuses the swap");
    like(err, "parameter 'epsilon' = 0.5 is out of range", "  naming the parameter and why");
    tars_params_free(cur);
    tars_params_free(next);
    tars_params_free(back);
}

/* The agent moves to another build mid-run; a twin that never moves must be matched. */
static void
test_agent(struct plugin *v1, struct plugin *v2, struct plugin *broken)
{
    char err[512];
    struct run *r = make_run(v1, "moves", 7), *twin = make_run(v1, "stays", 7);
    ok(r && twin && !steps(r, 300) && !steps(twin, 300), "two identical runs step");
    struct swap_order save = {.kind = SWAP_SAVE, .which = TARS_KIND_AGENT};
    is_int(order(r, &save), 0, "SWAP_SAVE hands over the agent's state");
    ok(save.blob && save.len > 0, "  a blob of %zu bytes", save.len);
    free(save.blob);
    struct swap_order o = {.kind = SWAP_MIGRATE, .which = TARS_KIND_AGENT, .to = v2};
    struct run_params *before = atomic_load(&r->params), *next;
    uint64_t version = before->version; /* the migration retires `before`: not read after it */
    migrate_pair(before, TARS_KIND_AGENT, v2, &o.params, err, sizeof err);
    next = o.params;
    tars_agent *old_agent = r->agent;
    is_int(order(r, &o), 0, "the agent migrates to 0.2.0");
    ok(atomic_load(&r->agent_plugin) == v2 && r->agent != old_agent, "  new instance, new build");
    ok(atomic_load(&r->params) == next && !o.params && next->version == version + 1,
       "  the run publishes its next parameter pair (the old one is retired)");
    ok(tars_params_index(next->agent, "bonus") >= 0, "  the agent's side in the new schema");
    ok(atomic_load(&r->checkpoint_request), "  and asks for a checkpoint");
    is_int(atomic_load(&r->steps), 1200, "  its steps stay where they were");
    ok(!steps(r, 300) && !steps(twin, 300), "both go on");
    is_int(atomic_load(&r->steps), atomic_load(&twin->steps), "  the same steps");
    is_int(atomic_load(&r->episodes), atomic_load(&twin->episodes), "  the same episodes");
    is_near(atomic_load(&r->mean_return), atomic_load(&twin->mean_return), 0,
            "  the same returns: its RNG and counters moved with it");
    is_near(observed(r) * 4, (double)atomic_load(&r->steps), 0,
            "  the agent observed every step the run made");

    struct swap_order bad = {.kind = SWAP_MIGRATE, .which = TARS_KIND_AGENT, .to = broken};
    migrate_pair(atomic_load(&r->params), TARS_KIND_AGENT, broken, &bad.params, err, sizeof err);
    tars_agent *kept = r->agent;
    ok(order(r, &bad) != 0, "a build whose load fails does not take over");
    like(bad.error, "cannot read state blobs", "  saying why");
    ok(atomic_load(&r->agent_plugin) == v2 && r->agent == kept && atomic_load(&r->params) == next,
       "  the old instance stays, with its parameters");
    run_params_free(bad.params);
    ok(!steps(r, 100), "  and keeps stepping");
    is_near(observed(r) * 4, (double)atomic_load(&r->steps), 0, "  with no step lost");
    run_destroy(r);
    run_destroy(twin);
}

static void
test_env(struct plugin *v1)
{
    char err[512], path[1024];
    struct plugin *cp2 = calloc(1, sizeof *cp2);
    snprintf(path, sizeof path, "%s/env-cartpole.so", TARS_PLUGIN_DIR);
    ok(loader_open(&loader, path, NULL, &cp2->lib, err, sizeof err) == 0,
       "a second build of cartpole loads beside the first");
    cp2->info = cp2->lib.info;
    struct run *r = make_run(v1, "env-moves", 9), *twin = make_run(v1, "env-stays", 9);
    ok(!steps(r, 250) && !steps(twin, 250), "two identical runs step");
    struct swap_order o = {.kind = SWAP_MIGRATE, .which = TARS_KIND_ENV, .to = cp2};
    migrate_pair(atomic_load(&r->params), TARS_KIND_ENV, cp2, &o.params, err, sizeof err);
    is_int(order(r, &o), 0, "the env migrates");
    ok(atomic_load(&r->env_plugin) == cp2, "  to the new build");
    ok(!steps(r, 400) && !steps(twin, 400), "both go on");
    is_int(atomic_load(&r->episodes), atomic_load(&twin->episodes),
           "  the same episodes: the simulation's state moved with it");
    is_near(atomic_load(&r->mean_return), atomic_load(&twin->mean_return), 0, "  the same returns");
    run_destroy(r);
    run_destroy(twin);
    generation_free(cp2);
}

static void
test_withdraw(struct plugin *v1)
{
    struct run *r = make_run(v1, "idle", 1);
    struct swap_order o = {.kind = SWAP_SAVE, .which = TARS_KIND_AGENT}, *op = &o;
    migrate_post(r, &o);
    migrate_wait(&r, &op, 1, 0.01, NULL);
    is_int(o.rc, -ETIMEDOUT, "an order no runner takes is withdrawn");
    like(o.error, "did not reach a step boundary", "  saying so");
    ok(atomic_load(&r->swap) == NULL, "  the run has no order left");
    run_destroy(r);
}

static void
test_copies(void)
{
    char err[512], path[1024];
    struct lib a, b;
    struct stat st;
    snprintf(path, sizeof path, "%s/hot-v1.so", TEST_PLUGIN_DIR);
    ok(loader_stage(&loader, path, NULL, &a, err, sizeof err) == 0 && !a.handle,
       "staging copies without mapping");
    ok(loader_stage(&loader, path, NULL, &b, err, sizeof err) == 0, "the same bytes again");
    ok(strcmp(a.copy, b.copy) != 0 && strstr(b.copy, a.sha256), "  get a copy of their own: %s",
       b.copy);
    ok(loader_map(&loader, path, &a, err, sizeof err) == 0 &&
           loader_map(&loader, path, &b, err, sizeof err) == 0 && a.handle != b.handle,
       "  both map, as two libraries");
    char copy[1024];
    snprintf(copy, sizeof copy, "%s", a.copy);
    ok(stat(copy, &st) == 0, "the copy exists while mapped");
    is_int(loader_close(&a), 0, "closing unloads it");
    ok(stat(copy, &st) != 0, "  and removes its copy");
    loader_close(&b);
}

int
main(void)
{
    struct strv m = {0}, p = {0};
    struct diag d = {0};
    rcu_thread_online(); /* this thread retires parameter pairs, as runners do */
    strv_push(&m, TARS_SOURCE_DIR "/manifests");
    strv_push(&p, TARS_PLUGIN_DIR);
    registry_init(&reg, &m, &p, 0);
    is_int(registry_scan(&reg, &d), 0, "the bundled manifests load");
    strv_free(&m);
    strv_free(&p);
    struct plugin *v1 = generation("hot-v1.so", 1), *v2 = generation("hot-v2.so", 2),
                  *narrow = generation("hot-narrow.so", 3),
                  *broken = generation("hot-loadfail.so", 4);
    ok(v1 && v2 && narrow && broken, "the test agent's builds load");
    if (v1 && v2 && narrow && broken) {
        test_params(v1, v2, narrow);
        test_agent(v1, v2, broken);
        test_env(v1);
        test_withdraw(v1);
        test_copies();
    }
    generation_free(v1);
    generation_free(v2);
    generation_free(narrow);
    generation_free(broken);
    run_params_drain(); /* the retired pairs, freed after their grace periods */
    registry_free(&reg);
    loader_fini(&loader);
    diag_free(&d);
    rcu_thread_offline();
    return done_testing();
}
