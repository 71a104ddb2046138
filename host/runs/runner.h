/*
 * runner — the pool of threads that step agents. Each run names its runner (given when it
 * joins the set of runs, runset.h); each thread steps its running runs in turn, each for a
 * 2 ms slice (at least one vectorised step), until stopped. A run whose step fails is marked
 * failed (with its reason) and skipped; the others go on. Runs come and go while the pool
 * runs: a thread reads the set under RCU once per round and holds a reference to each run it
 * steps, outside the read-side section, and each step holds its parameter pair
 * (run_params_hold): a training update may take long, and no grace period (an agent created
 * or deleted, a pair retired) ever waits for one.
 *
 * Threads: runner_pool_start/stop are called by the control thread.
 */
#ifndef TARS_HOST_RUNNER_H
#define TARS_HOST_RUNNER_H

#include <pthread.h>
#include <stdatomic.h>
#include "run.h"
#include "runset.h"

struct runner;

struct runner_pool {
    struct runner *threads;
    uint32_t n;
    struct runs *runs;
    atomic_int stop;
    /* Called on the runner thread after each slice of a run that is not failed, and every
     * round for a stopped one (NULL: nothing), e.g. to persist. */
    void (*after_slice)(struct run *r, void *arg);
    void *after_slice_arg;
    int nice; /* each thread's niceness, set on itself at start (0: the process's) */
    /* An idle thread waits on this for RUNNER_IDLE_NS, or until runner_pool_wake. */
    pthread_mutex_t idle_lock;
    pthread_cond_t idle_cond;
    atomic_uint wakes;     /* counts runner_pool_wake calls: a wake during a round is not lost */
    atomic_int idle_ready; /* set once start has made them; the API may wake before that */
};

/*
 * Starts n_threads threads (at least one) at niceness nice (0: the process's own); after_slice
 * may be NULL. p is zeroed before its first start (it is part of struct host). 0 or a
 * negative errno.
 */
int runner_pool_start(struct runner_pool *p, uint32_t n_threads, int nice, struct runs *runs,
                      void (*after_slice)(struct run *r, void *arg), void *arg);
/* Asks every thread to stop after its current step and joins them. Idempotent. */
void runner_pool_stop(struct runner_pool *p);
/*
 * Ends the idle wait of every thread now: for whoever asked a run something that its runner
 * does next round (a checkpoint of a run just stopped, a run just started), so that the
 * answer comes in microseconds, not after an idle thread's 10 ms sleep. Safe on a pool that
 * has stopped, or never started.
 */
void runner_pool_wake(struct runner_pool *p);

#endif
