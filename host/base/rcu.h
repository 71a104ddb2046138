/*
 * rcu — the read-copy-update primitives of tarsd, over liburcu's urcu-memb flavour.
 *
 * Shared structures that readers must see whole (the set of runs, parameter snapshots, the
 * plugin generation a run uses, see codeswap.h) are published by pointer: readers load it inside
 * rcu_enter/rcu_leave and never keep it after; a writer publishes a new copy and calls rcu_wait
 * before freeing the old one.
 *
 * Pointers are published with C11 release stores and read with acquire loads (rather than
 * liburcu's macros) so that ThreadSanitizer sees the ordering; under TSan the grace period is
 * announced to it too (liburcu itself is not instrumented), so a free after rcu_wait is not
 * reported as racing with readers that left before it.
 *
 * Threads: every thread that calls rcu_enter must have called rcu_thread_online first (and
 * rcu_thread_offline before it exits). rcu_wait must not be called between rcu_enter and
 * rcu_leave.
 */
#ifndef TARS_HOST_RCU_H
#define TARS_HOST_RCU_H

#include <urcu/urcu-memb.h>

#if defined(__SANITIZE_THREAD__)
#include <sanitizer/tsan_interface.h>
#define TARS_RCU_TSAN 1
/* The object whose release/acquire stands for "a reader left" / "a grace period ended". */
extern char tars_rcu_tsan_sync;
#endif

static inline void
rcu_thread_online(void)
{
    urcu_memb_register_thread();
}

static inline void
rcu_thread_offline(void)
{
    urcu_memb_unregister_thread();
}

static inline void
rcu_enter(void)
{
    urcu_memb_read_lock();
}

static inline void
rcu_leave(void)
{
#ifdef TARS_RCU_TSAN
    __tsan_release(&tars_rcu_tsan_sync);
#endif
    urcu_memb_read_unlock();
}

/* Waits until every reader that was inside rcu_enter/rcu_leave when called has left. */
static inline void
rcu_wait(void)
{
    urcu_memb_synchronize_rcu();
#ifdef TARS_RCU_TSAN
    __tsan_acquire(&tars_rcu_tsan_sync);
#endif
}

/*
 * Calls fn(head) after a grace period, on liburcu's call_rcu thread; for objects a thread
 * cannot wait for (an API handler replying, a runner). Callers must be RCU threads, and
 * count what they defer if they must wait for it (liburcu's rcu_barrier is not
 * instrumented for TSan: see run_params_drain).
 */
static inline void
rcu_defer(struct rcu_head *head, void (*fn)(struct rcu_head *head))
{
#ifdef TARS_RCU_TSAN
    __tsan_release(head); /* what the caller did before: liburcu's queue is not instrumented */
#endif
    urcu_memb_call_rcu(head, fn);
}

/* The first thing a deferred call does: under TSan, its caller's past and the grace period. */
static inline void
rcu_grace_ended(struct rcu_head *head)
{
#ifdef TARS_RCU_TSAN
    __tsan_acquire(head);
    __tsan_acquire(&tars_rcu_tsan_sync);
#else
    (void)head;
#endif
}

#endif
