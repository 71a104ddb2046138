/*
 * runset — the set of runs tarsd trains, published under RCU (rcu.h).
 *
 * Readers (runner threads, the control loop, API handlers) call runs_current inside
 * rcu_enter/rcu_leave and see one consistent, immutable set. Writers (agent create, delete,
 * reset: agents.c) serialise on the set's lock, publish a new set with runs_add/remove/
 * replace, then wait for a grace period before they free what they removed. A runner that
 * steps a run beyond its read-side section holds a reference (run.refs), so a removed run
 * is destroyed only after runs_drain has seen the last reference go.
 */
#ifndef TARS_HOST_RUNSET_H
#define TARS_HOST_RUNSET_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include "run.h"

struct runset {
    size_t n;
    struct run *v[]; /* in creation order */
};

struct runs {
    struct runset *_Atomic cur;
    pthread_mutex_t lock; /* held by writers around a change and its records */
    uint32_t n_runners;   /* runner threads, to share the runs out evenly */
};

int runs_init(struct runs *rs, uint32_t n_runners);
/* Destroys the set and every run in it; no reader may be left. */
void runs_free(struct runs *rs);

/* The current set (inside rcu_enter/rcu_leave, or with the lock held). Never NULL. */
static inline struct runset *
runs_current(struct runs *rs)
{
    return atomic_load_explicit(&rs->cur, memory_order_acquire);
}

/* The run with this id in s, or NULL. */
struct run *runset_find(const struct runset *s, const char *id);

/*
 * Writers, with rs->lock held. Each publishes a new set and frees the old one after a grace
 * period; returns 0, or -1 (out of memory, or r not in the set) with nothing changed.
 * runs_add gives r to the runner with the fewest runs.
 */
int runs_add(struct runs *rs, struct run *r);
int runs_remove(struct runs *rs, struct run *r);
/* Puts fresh in old's place, on old's runner. */
int runs_replace(struct runs *rs, struct run *old, struct run *fresh);

/* Waits until no runner holds r, which has left the set (the caller then destroys it). */
void runs_drain(struct run *r);

#endif
