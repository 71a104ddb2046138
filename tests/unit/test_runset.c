/*
 * The run set under RCU (host/runs/runset.c) with the runner pool stepping it (host/runs/runner.c):
 * runs join, are replaced and leave while two runners step them; a run that left is never
 * stepped again, is destroyed only once no runner holds it, and the rest keep training.
 * Built under ThreadSanitizer too, where it checks the publication and the grace periods.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "rcu.h"
#include "registry.h"
#include "runner.h"
#include "runset.h"
#include "tap.h"

static struct registry reg;

static struct run *
make_run(const char *id, uint64_t seed)
{
    struct run_spec s = {.id = id, .n_envs = 4, .seed = seed};
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

static void
sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Waits (up to 10 s) until r has stepped past `steps`. */
static int
advances(struct run *r, uint64_t steps)
{
    for (int i = 0; i < 1000; i++) {
        if (atomic_load(&r->steps) > steps)
            return 1;
        sleep_ms(10);
    }
    return 0;
}

static atomic_int slices_of_removed;
static struct run *_Atomic removed;

static void
after_slice(struct run *r, void *arg)
{
    (void)arg;
    if (r == atomic_load(&removed))
        atomic_fetch_add(&slices_of_removed, 1);
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

    struct runs rs;
    ok(runs_init(&rs, 2) == 0, "an empty set for two runners");
    rcu_thread_online();
    struct runner_pool pool = {0};
    ok(runner_pool_start(&pool, 2, 0, &rs, after_slice, NULL) == 0, "two runners start on it");

    struct run *v[6];
    char id[8];
    for (int i = 0; i < 6; i++) {
        snprintf(id, sizeof id, "r%d", i);
        v[i] = make_run(id, (uint64_t)i);
        pthread_mutex_lock(&rs.lock);
        runs_add(&rs, v[i]);
        pthread_mutex_unlock(&rs.lock);
        atomic_store(&v[i]->state, RUN_RUNNING);
    }
    int spread[2] = {0, 0};
    for (int i = 0; i < 6; i++)
        spread[v[i]->runner % 2]++;
    ok(spread[0] == 3 && spread[1] == 3, "runs join the runner with the fewest (%d/%d)", spread[0],
       spread[1]);
    int all = 1;
    for (int i = 0; i < 6; i++)
        all &= advances(v[i], 0);
    ok(all, "every run steps");

    /* Remove one while it steps: after the grace period and the drain, nobody steps it. */
    struct run *gone = v[2];
    atomic_store(&removed, gone);
    pthread_mutex_lock(&rs.lock);
    ok(runs_remove(&rs, gone) == 0, "a run leaves the set");
    pthread_mutex_unlock(&rs.lock);
    runs_drain(gone);
    uint64_t steps = atomic_load(&gone->steps);
    int slices = atomic_load(&slices_of_removed);
    sleep_ms(100);
    ok(atomic_load(&gone->steps) == steps && atomic_load(&slices_of_removed) == slices,
       "once drained it is never stepped again");
    atomic_store(&removed, NULL);
    run_destroy(gone);
    pthread_mutex_lock(&rs.lock);
    ok(runs_remove(&rs, v[2]) != 0, "removing it again fails, changing nothing");
    ok(runs_current(&rs)->n == 5, "five runs are left");
    pthread_mutex_unlock(&rs.lock);

    /* Replace one: the fresh run takes its runner, the old one is drained and destroyed. */
    struct run *fresh = make_run("r3", 33);
    pthread_mutex_lock(&rs.lock);
    ok(runs_replace(&rs, v[3], fresh) == 0, "a run is replaced");
    pthread_mutex_unlock(&rs.lock);
    ok(fresh->runner == v[3]->runner, "  the fresh one on the same runner");
    runs_drain(v[3]);
    run_destroy(v[3]);
    atomic_store(&fresh->state, RUN_RUNNING);
    ok(advances(fresh, 0), "  and it steps");

    /* Churn: add and remove runs many times while the others train. */
    uint64_t before = atomic_load(&v[0]->steps);
    int churn_ok = 1;
    for (int i = 0; i < 40; i++) {
        struct run *t = make_run("tmp", (uint64_t)(100 + i));
        pthread_mutex_lock(&rs.lock);
        churn_ok &= runs_add(&rs, t) == 0;
        pthread_mutex_unlock(&rs.lock);
        atomic_store(&t->state, RUN_RUNNING);
        sleep_ms(2);
        pthread_mutex_lock(&rs.lock);
        churn_ok &= runs_remove(&rs, t) == 0;
        pthread_mutex_unlock(&rs.lock);
        runs_drain(t);
        run_destroy(t);
    }
    ok(churn_ok, "forty runs join and leave");
    ok(advances(v[0], before), "the others train on meanwhile");
    rcu_enter();
    struct runset *set = runs_current(&rs);
    int found = runset_find(set, "r0") == v[0] && runset_find(set, "tmp") == NULL;
    rcu_leave();
    ok(found, "the set holds what it should");

    runner_pool_stop(&pool);
    runs_free(&rs);
    rcu_thread_offline();
    registry_free(&reg);
    diag_free(&d);
    return done_testing();
}
