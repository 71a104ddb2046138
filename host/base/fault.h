/*
 * fault — names the plugin code a thread was in when tarsd dies of a signal.
 *
 * Each runner publishes, with relaxed stores into thread-local slots, which run it steps and
 * which plugin op it is in (fault_run, fault_op); a fatal signal (SIGSEGV, SIGBUS, SIGILL,
 * SIGFPE, SIGABRT) is delivered to the thread that caused it, whose handler reads its own
 * slots. The handler is async-signal-safe: it formats with no library call, writes one record
 * to the supervisor's pipe (when there is one), one line to stderr, and dies of the same
 * signal, so the exit status stays what it was (139 for SIGSEGV).
 *
 * The record (one line, tab-separated): "F <file> <sha256> <op> <run> <signal number>".
 *
 * Threads: fault_install once, on the main thread, before any other thread starts; the
 * publishing calls on the thread they describe.
 */
#ifndef TARS_HOST_FAULT_H
#define TARS_HOST_FAULT_H

#include <stdatomic.h>
#include <stddef.h>

struct fault_slots {
    _Atomic(const char *) run;    /* the run's id */
    _Atomic(const char *) file;   /* the plugin's library file name ("agent-ppo.so") */
    _Atomic(const char *) sha256; /* the build's sha256 (64 hex digits) */
    _Atomic(const char *) op;     /* the op ("observe"); NULL outside plugin code */
    /* A vectorised step's env, which fault_env_op switches to between act and step. */
    _Atomic(const char *) env_file;
    _Atomic(const char *) env_sha256;
};

extern _Thread_local struct fault_slots fault_here;

/* Installs the handler; record_fd < 0: no supervisor, stderr only. 0 or a negative errno. */
int fault_install(int record_fd);

static inline void
fault_run(const char *run)
{
    atomic_store_explicit(&fault_here.run, run, memory_order_relaxed);
}

/* Entering plugin code: the strings must live until fault_leave (a run's plugin does). */
static inline void
fault_op(const char *file, const char *sha256, const char *op)
{
    atomic_store_explicit(&fault_here.file, file, memory_order_relaxed);
    atomic_store_explicit(&fault_here.sha256, sha256, memory_order_relaxed);
    atomic_signal_fence(memory_order_release);
    atomic_store_explicit(&fault_here.op, op, memory_order_relaxed);
}

/* Names the env that fault_env_op switches to, for a step that runs both agent and env. */
static inline void
fault_env(const char *file, const char *sha256)
{
    atomic_store_explicit(&fault_here.env_file, file, memory_order_relaxed);
    atomic_store_explicit(&fault_here.env_sha256, sha256, memory_order_relaxed);
}

/* Now in the env's op (after the agent's act), if fault_env named one. */
static inline void
fault_env_op(const char *op)
{
    const char *file = atomic_load_explicit(&fault_here.env_file, memory_order_relaxed);
    if (file)
        fault_op(file, atomic_load_explicit(&fault_here.env_sha256, memory_order_relaxed), op);
}

static inline void
fault_leave(void)
{
    atomic_store_explicit(&fault_here.op, NULL, memory_order_relaxed);
}

/*
 * Gives the calling thread a stack of its own for the handler, so that a plugin that overflows
 * its thread's stack is still named (runner threads call it when they start, and
 * fault_thread_end before they end). 0 or a negative errno.
 */
int fault_thread_begin(void);
void fault_thread_end(void);

/* "SIGSEGV" for 11 and so on; "signal" for one it does not name. Async-signal-safe. */
const char *fault_signal_name(int sig);

#endif
