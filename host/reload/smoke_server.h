/*
 * smoke_server — the smoke tests' fork server (smoke.h): a helper process forked at the
 * worker's start, before any thread, that forks one child per smoke test. A child forked from
 * it starts in ~1 ms instead of the tens a fresh tarsd takes to map its libraries (OpenBLAS's
 * included), and it is still a clean process: single-threaded, no plugin mapped, no store
 * open, no socket, the daemon's code as it started (a package upgrade that replaced tarsd's
 * file changes nothing in it).
 *
 * The helper keeps only its socket to the worker and stderr; it dies with the worker
 * (PR_SET_PDEATHSIG) or when the socket closes. For each request it opens the output file,
 * forks the child in a process group of its own (stdin /dev/null, stdout and stderr to the
 * file, TMPDIR set, every other descriptor closed), says its pid, waits for it, kills its
 * group once it exited and says its wait status. The child runs smoke_main on the job.
 *
 * Threads: smoke_server_start in main, before any thread; smoke_server_run on the code-swap
 * thread only (one test at a time).
 */
#ifndef TARS_HOST_SMOKE_SERVER_H
#define TARS_HOST_SMOKE_SERVER_H

#include <stdatomic.h>
#include <stddef.h>

/* Forks the helper. 0, or a negative errno (smoke tests then start tarsd afresh). */
int smoke_server_start(void);

/* What smoke_server_run returns besides 0 (the child exited, *status is its wait status). */
enum smoke_server_result {
    SMOKE_SERVER_KILLED = 1,  /* timed out or stopped: its group was killed (*status set) */
    SMOKE_SERVER_FAILED = -1, /* the test could not be run or waited for: err says why */
    SMOKE_SERVER_ABSENT = -2, /* no helper (never started, or gone before this test began) */
};

/*
 * Runs `smoke_main(job)` in a child of the helper with TMPDIR=dir and its output in out, and
 * waits for it at most timeout_s, or until *stop (stop may be NULL).
 */
int smoke_server_run(const char *dir, const char *job, const char *out, double timeout_s,
                     const atomic_int *stop, int *status, char *err, size_t errlen);

#endif
