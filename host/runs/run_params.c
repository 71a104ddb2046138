/* The published parameter pairs of runs (run.h): built, freed, and retired after a grace period. */
#include <stdlib.h>
#include <time.h>
#include "run.h"

/* Pairs retired and not yet freed. Global because a retired pair outlives its run: whoever
 * retires one (run_params_retire: runners, swaps) adds, the grace-period callback subtracts,
 * atomically; run_params_drain waits for zero at teardown. */
static atomic_size_t pending;

struct run_params *
run_params_new(tars_params *agent, tars_params *env, uint64_t version)
{
    struct run_params *p = calloc(1, sizeof *p);
    if (!p) {
        tars_params_free(agent);
        tars_params_free(env);
        return NULL;
    }
    p->agent = agent;
    p->env = env;
    p->version = version;
    atomic_init(&p->first_use, 0);
    atomic_init(&p->first_use_step, 0);
    return p;
}

void
run_params_free(struct run_params *p)
{
    if (!p)
        return;
    tars_params_free(p->agent);
    tars_params_free(p->env);
    free(p);
}

static void
free_after_grace(struct rcu_head *head)
{
    rcu_grace_ended(head);
    run_params_free(caa_container_of(head, struct run_params, rcu));
    atomic_fetch_sub_explicit(&pending, 1, memory_order_release);
}

void
run_params_retire(struct run_params *p)
{
    if (!p)
        return;
    atomic_fetch_add_explicit(&pending, 1, memory_order_relaxed);
    rcu_defer(&p->rcu, free_after_grace);
}

void
run_params_drain(void)
{
    while (atomic_load_explicit(&pending, memory_order_acquire)) {
        struct timespec ts = {0, 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}
