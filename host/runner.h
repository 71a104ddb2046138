/*
 * runner — the pool of threads that step agents. Run i belongs to thread i mod n; each thread
 * steps its runs in turn, each for a 2 ms slice (at least one vectorised step), until stopped. A
 * run whose step fails is marked failed (with its reason) and skipped; the others go on.
 *
 * Threads: runner_pool_start/stop are called by the control thread. The runs array is fixed
 * while the pool runs; runs' shared fields are atomics (see run.h).
 */
#ifndef TARS_HOST_RUNNER_H
#define TARS_HOST_RUNNER_H

#include <pthread.h>
#include <stdatomic.h>
#include "run.h"

struct runner;

struct runner_pool {
    struct runner *threads;
    uint32_t n;
    atomic_int stop;
    /* Called on the runner thread after each run's slice (NULL: nothing), e.g. to persist. */
    void (*after_slice)(struct run *r, void *arg);
    void *after_slice_arg;
};

/*
 * Starts min(n_threads, n_runs) threads (at least one); after_slice may be NULL. Returns 0
 * or a negative errno.
 */
int runner_pool_start(struct runner_pool *p, uint32_t n_threads, struct run **runs, size_t n_runs,
                      void (*after_slice)(struct run *r, void *arg), void *arg);
/* Asks every thread to stop after its current step and joins them. Idempotent. */
void runner_pool_stop(struct runner_pool *p);

#endif
