#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "clock.h"
#include "fault.h"
#include "log.h"
#include "migrate.h"
#include "rcu.h"
#include "runner.h"

/* How long a run steps before the thread turns to its next run. */
#define RUNNER_SLICE_S 0.002
/* How long a thread with nothing to step sleeps before it looks again. */
#define RUNNER_IDLE_NS (10 * 1000 * 1000)

struct runner {
    pthread_t thread;
    int started;
    uint32_t index;
    struct runner_pool *pool;
    struct run **mine; /* this round's runs, each held */
    size_t cap;
};

/* Takes a reference to each of this thread's runs in the current set. */
static size_t
take_mine(struct runner *self)
{
    size_t n = 0;
    rcu_enter();
    struct runset *s = runs_current(self->pool->runs);
    if (s->n > self->cap) {
        struct run **v = realloc(self->mine, s->n * sizeof *v);
        if (v) {
            self->mine = v;
            self->cap = s->n;
        }
    }
    for (size_t i = 0; i < s->n && n < self->cap; i++) {
        struct run *r = s->v[i];
        if (r->runner != self->index)
            continue;
        atomic_fetch_add_explicit(&r->refs, 1, memory_order_relaxed);
        self->mine[n++] = r;
    }
    rcu_leave();
    return n;
}

static int
stopping(const struct runner_pool *p)
{
    return atomic_load_explicit(&((struct runner_pool *)p)->stop, memory_order_relaxed);
}

/* Steps r for a slice; returns 1 when it stepped. */
static int
slice(struct runner_pool *pool, struct run *r)
{
    /* Announce the slice before reading the state: one who stops the run sets the state,
     * then waits for `stepping` to clear, so no step starts after a stop returned. */
    atomic_store(&r->stepping, 1);
    fault_run(r->id); /* for the fault handler: the run this thread is in */
    int state = atomic_load(&r->state);
    if (r->trial)
        run_trial_before_slice(r);
    /* A trial that spent its budget waits for its study, unstepped (trial.h). */
    int steps = state == RUN_RUNNING && !run_trial_spent(r);
    if (steps) {
        /* Each run steps for a time slice rather than once, so that a cheap agent sharing
         * a thread with an expensive one still gets its share of the CPU. */
        double until = host_now() + RUNNER_SLICE_S;
        int rc;
        do {
            /* Each step holds its pair rather than reading it in a read-side section: a step
             * may be a long training update, and no grace period (an agent created, deleted,
             * a pair retired) may wait for one. */
            struct run_params *pp = run_params_hold(r);
            rc = run_step_with(r, pp);
            run_params_release(pp);
            if (rc != 0)
                hlog(LOG_ERROR, r->id, "stopped: %s", r->error);
        } while (rc == 0 && host_now() < until && !stopping(pool) &&
                 atomic_load_explicit(&r->state, memory_order_relaxed) == RUN_RUNNING &&
                 !run_trial_spent(r) &&
                 !atomic_load_explicit(&r->swap, memory_order_relaxed)); /* see below */
    }
    /* Evaluations (trial.h) run inside the slice, at its step boundary, where the fault
     * handler knows the run; a trial's before persist's hook, so that the checkpoint it asks
     * for is taken at the evaluated step. */
    int at = atomic_load_explicit(&r->state, memory_order_relaxed);
    if (at == RUN_RUNNING || at == RUN_STOPPED) {
        if (r->trial)
            run_trial_after_slice(r);
        run_eval_serve(r);
    }
    /* A code swap's order (migrate.h) is carried out here, at a step boundary, whatever the
     * run's state (stopped and failed runs migrate too); a posted one ends the slice early.
     * One load when there is none. */
    if (atomic_load_explicit(&r->swap, memory_order_acquire))
        migrate_take(r);
    fault_run(NULL);
    atomic_store(&r->stepping, 0);
    /* A failed run's state is suspect: it takes no more checkpoints. */
    int now = atomic_load_explicit(&r->state, memory_order_relaxed);
    if (pool->after_slice && (now == RUN_RUNNING || now == RUN_STOPPED))
        pool->after_slice(r, pool->after_slice_arg);
    return steps;
}

/* Nothing to step: waits RUNNER_IDLE_NS, or less if woken since `seen` was read. */
static void
idle_wait(struct runner_pool *pool, unsigned seen)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_nsec += RUNNER_IDLE_NS;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&pool->idle_lock);
    while (atomic_load(&pool->wakes) == seen && !stopping(pool) &&
           pthread_cond_timedwait(&pool->idle_cond, &pool->idle_lock, &until) == 0)
        ;
    pthread_mutex_unlock(&pool->idle_lock);
}

void
runner_pool_wake(struct runner_pool *p)
{
    if (!atomic_load(&p->idle_ready))
        return;
    atomic_fetch_add(&p->wakes, 1);
    pthread_mutex_lock(&p->idle_lock);
    pthread_cond_broadcast(&p->idle_cond);
    pthread_mutex_unlock(&p->idle_lock);
}

static void *
runner_main(void *arg)
{
    struct runner *self = arg;
    struct runner_pool *pool = self->pool;
    char name[16];
    snprintf(name, sizeof name, "tars-runner-%u", self->index % 1000);
    pthread_setname_np(pthread_self(), name); /* top -H, and tests/bench/api.sh's accounting */
    /* Linux's niceness is per thread: the runners yield to the control plane and to smoke
     * tests when both want the CPU, and take every core the rest leaves. */
    if (pool->nice && setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid),
                                  getpriority(PRIO_PROCESS, 0) + pool->nice))
        hlog(LOG_DEBUG, "runner", "could not lower a runner's priority: %s", strerror(errno));
    rcu_thread_online();
    fault_thread_begin(); /* without it (out of memory), a stack overflow goes unnamed */
    while (!stopping(pool)) {
        unsigned seen = atomic_load(&pool->wakes); /* before the round: no wake is missed */
        size_t n = take_mine(self), active = 0;
        for (size_t i = 0; i < n; i++) {
            if (!stopping(pool))
                active += slice(pool, self->mine[i]);
            atomic_fetch_sub_explicit(&self->mine[i]->refs, 1, memory_order_release);
        }
        if (!active)
            idle_wait(pool, seen);
    }
    fault_thread_end();
    rcu_thread_offline();
    return NULL;
}

int
runner_pool_start(struct runner_pool *p, uint32_t n_threads, int nice, struct runs *runs,
                  void (*after_slice)(struct run *r, void *arg), void *arg)
{
    /* Field by field, not memset: an API call may read idle_ready (to wake) meanwhile. */
    p->threads = NULL;
    p->n = 0;
    p->nice = nice;
    p->runs = runs;
    p->after_slice = after_slice;
    p->after_slice_arg = arg;
    atomic_store(&p->stop, 0);
    if (!atomic_load(&p->idle_ready)) {
        pthread_condattr_t ca;
        if (pthread_condattr_init(&ca) || pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) ||
            pthread_mutex_init(&p->idle_lock, NULL) || pthread_cond_init(&p->idle_cond, &ca))
            return -ENOMEM;
        pthread_condattr_destroy(&ca);
        atomic_store(&p->idle_ready, 1);
    }
    uint32_t n = n_threads ? n_threads : 1;
    p->threads = calloc(n, sizeof *p->threads);
    if (!p->threads)
        return -ENOMEM;
    p->n = n;
    for (uint32_t t = 0; t < n; t++) {
        struct runner *self = &p->threads[t];
        self->pool = p;
        self->index = t;
        int rc = pthread_create(&self->thread, NULL, runner_main, self);
        if (rc) {
            runner_pool_stop(p);
            return -rc;
        }
        self->started = 1;
    }
    return 0;
}

void
runner_pool_stop(struct runner_pool *p)
{
    if (!p->threads)
        return;
    atomic_store(&p->stop, 1);
    runner_pool_wake(p);
    for (uint32_t t = 0; t < p->n; t++) {
        if (p->threads[t].started)
            pthread_join(p->threads[t].thread, NULL);
        free(p->threads[t].mine);
    }
    free(p->threads);
    p->threads = NULL;
    p->n = 0;
    /* idle_lock and idle_cond stay: an API call that stops a run during shutdown may still
     * wake a pool that has stopped (harmless: nobody waits). */
}
