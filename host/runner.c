#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "log.h"
#include "host.h"
#include "runner.h"

/* How long a run steps before the thread turns to its next run. */
#define RUNNER_SLICE_S 0.002

struct runner {
    pthread_t thread;
    int started;
    struct runner_pool *pool;
    struct run **runs; /* this thread's share */
    size_t n_runs;
};

static void *
runner_main(void *arg)
{
    struct runner *self = arg;
    struct runner_pool *pool = self->pool;
    for (size_t i = 0; i < self->n_runs; i++) {
        int ready = RUN_READY;
        atomic_compare_exchange_strong(&self->runs[i]->state, &ready, RUN_RUNNING);
    }
    while (!atomic_load_explicit(&pool->stop, memory_order_relaxed)) {
        size_t active = 0;
        for (size_t i = 0; i < self->n_runs; i++) {
            struct run *r = self->runs[i];
            if (atomic_load_explicit(&r->state, memory_order_relaxed) != RUN_RUNNING)
                continue;
            active++;
            /* Each run steps for a time slice rather than once, so that a cheap agent sharing
             * a thread with an expensive one still gets its share of the CPU. */
            double until = host_now() + RUNNER_SLICE_S;
            do {
                if (run_step(r) != 0) {
                    hlog(LOG_ERROR, r->id, "stopped: %s", r->error);
                    break;
                }
            } while (host_now() < until &&
                     !atomic_load_explicit(&pool->stop, memory_order_relaxed));
            if (pool->after_slice)
                pool->after_slice(r, pool->after_slice_arg);
        }
        if (!active) {
            /* Nothing left to step: wait for the stop request without spinning. */
            struct timespec ts = {0, 20 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
    }
    for (size_t i = 0; i < self->n_runs; i++) {
        int running = RUN_RUNNING;
        atomic_compare_exchange_strong(&self->runs[i]->state, &running, RUN_STOPPED);
    }
    return NULL;
}

int
runner_pool_start(struct runner_pool *p, uint32_t n_threads, struct run **runs, size_t n_runs,
                  void (*after_slice)(struct run *r, void *arg), void *arg)
{
    memset(p, 0, sizeof *p);
    p->after_slice = after_slice;
    p->after_slice_arg = arg;
    atomic_init(&p->stop, 0);
    uint32_t n = n_threads;
    if (n > n_runs)
        n = (uint32_t)n_runs;
    if (n == 0)
        n = 1;
    p->threads = calloc(n, sizeof *p->threads);
    if (!p->threads)
        return -ENOMEM;
    p->n = n;
    for (uint32_t t = 0; t < n; t++) {
        struct runner *self = &p->threads[t];
        self->pool = p;
        self->runs = calloc(n_runs / n + 1, sizeof *self->runs);
        if (!self->runs) {
            runner_pool_stop(p);
            return -ENOMEM;
        }
        for (size_t i = t; i < n_runs; i += n)
            self->runs[self->n_runs++] = runs[i];
    }
    for (uint32_t t = 0; t < n; t++) {
        int rc = pthread_create(&p->threads[t].thread, NULL, runner_main, &p->threads[t]);
        if (rc) {
            runner_pool_stop(p);
            return -rc;
        }
        p->threads[t].started = 1;
    }
    return 0;
}

void
runner_pool_stop(struct runner_pool *p)
{
    if (!p->threads)
        return;
    atomic_store(&p->stop, 1);
    for (uint32_t t = 0; t < p->n; t++) {
        if (p->threads[t].started)
            pthread_join(p->threads[t].thread, NULL);
        free(p->threads[t].runs);
    }
    free(p->threads);
    p->threads = NULL;
    p->n = 0;
}
