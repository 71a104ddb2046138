/*
 * The published parameter pairs of runs (run.h): built, published, held by runners, and
 * freed once retired, a grace period passed and no runner holds them.
 */
#include <stdlib.h>
#include <time.h>
#include "clock.h"
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
    atomic_init(&p->holds, 1); /* the publication's */
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

/* Drops one hold of a retired pair; the last one frees it. */
static void
let_go(struct run_params *p)
{
    if (atomic_fetch_sub_explicit(&p->holds, 1, memory_order_acq_rel) != 1)
        return;
    run_params_free(p);
    atomic_fetch_sub_explicit(&pending, 1, memory_order_release);
}

static void
after_grace(struct rcu_head *head)
{
    rcu_grace_ended(head);
    let_go(caa_container_of(head, struct run_params, rcu));
}

void
run_params_retire(struct run_params *p)
{
    if (!p)
        return;
    atomic_fetch_add_explicit(&pending, 1, memory_order_relaxed);
    rcu_defer(&p->rcu, after_grace);
}

void
run_params_publish(struct run *r, struct run_params *np)
{
    np->published = host_now();
    np->published_step = atomic_load(&r->steps);
    run_params_retire(atomic_exchange_explicit(&r->params, np, memory_order_acq_rel));
}

struct run_params *
run_params_hold(struct run *r)
{
    /* Inside the section the publication's hold cannot go (it goes after a grace period),
     * so the count is at least 1 when we add ours. */
    rcu_enter();
    struct run_params *p = atomic_load_explicit(&r->params, memory_order_acquire);
    atomic_fetch_add_explicit(&p->holds, 1, memory_order_relaxed);
    rcu_leave();
    return p;
}

void
run_params_release(struct run_params *p)
{
    /* A current pair never reaches 0 here (its publication holds it); a retired one may. */
    let_go(p);
}

void
run_params_drain(void)
{
    while (atomic_load_explicit(&pending, memory_order_acquire)) {
        struct timespec ts = {0, 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}
