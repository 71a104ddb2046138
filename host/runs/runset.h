/*
 * runset — the set of runs tarsd trains, published under RCU (rcu.h).
 *
 * Readers (runner threads, the control loop, API handlers) call runs_current inside
 * rcu_enter/rcu_leave and see one consistent, immutable set. Writers (agent create, delete,
 * reset: agents.c; parameter swaps and code swaps) serialise on the set's lock, publish a new
 * set with runs_add/remove/replace and let go: the old set is freed after a grace period, on
 * liburcu's thread, so that no writer — and no API call waiting for the lock — ever waits for
 * one. A runner that steps a run beyond its read-side section holds a reference (run.refs),
 * so a removed run is destroyed only after runs_drain has seen the last reference go.
 *
 * The lock is held for a lookup and a publication only: never across a grace period, an LMDB
 * commit, a checkpoint wait or a training update (runs_drain). What must stay still across
 * such a wait — an agent being created, stopped, deleted — is claimed by id instead
 * (runs_claim): operations on one agent take turns, the others go on.
 */
#ifndef TARS_HOST_RUNSET_H
#define TARS_HOST_RUNSET_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include "rcu.h"
#include "run.h"

struct runs;

struct runset {
    struct rcu_head rcu; /* its deferred free, once replaced */
    struct runs *owner;
    size_t n;
    struct run *v[]; /* in creation order */
};

struct runs_claim;

struct runs {
    struct runset *_Atomic cur;
    pthread_mutex_t lock;      /* held by writers around a change (never across a wait) */
    pthread_cond_t released;   /* a claim was let go (with lock) */
    struct runs_claim *claims; /* the ids claimed (with lock) */
    atomic_size_t pending;     /* replaced sets not yet freed */
    uint32_t n_runners;        /* runner threads, to share the runs out evenly */
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
 * Writers, with rs->lock held; callers are RCU threads (rcu.h). Each publishes a new set and
 * has the old one freed after a grace period, without waiting for it; returns 0, or -ENOMEM
 * or -ENOENT (r not in the set) with nothing changed. runs_add gives r to the runner with the
 * fewest runs.
 */
int runs_add(struct runs *rs, struct run *r);
int runs_remove(struct runs *rs, struct run *r);
/* Puts fresh in old's place, on old's runner. */
int runs_replace(struct runs *rs, struct run *old, struct run *fresh);

/* Waits for a grace period, then until no runner holds r, which has left the set (the caller
 * then destroys it). Not inside a read-side section. */
void runs_drain(struct run *r);

/*
 * With rs->lock held: claims id for one operation, waiting (the lock let go meanwhile) while
 * another holds it; runs_release lets it go (with the lock). A claim lets its holder drop
 * the lock across a long wait while nobody else creates, stops, starts, resets or deletes
 * that agent. 0 or -ENOMEM.
 */
int runs_claim(struct runs *rs, const char *id);
void runs_release(struct runs *rs, const char *id);

#endif
