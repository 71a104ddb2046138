/*
 * smoke — a new build's smoke test, in a child process, before the daemon maps the build: a
 * library that crashes, hangs or fails its ops is refused with the cause, and never runs a
 * line of code inside tarsd (not even its constructors).
 *
 * The child is a fork of the smoke helper (smoke_server.h), a process the worker forked at
 * its start, before any thread; without the helper, tarsd itself started afresh (posix_spawn
 * of /proc/self/exe, which stays the running tarsd after a package upgrade replaced its file,
 * with the hidden subcommand `tarsd __smoke JOB.json`). Never a fork of the daemon itself:
 * forking a multi-threaded daemon and going on in the child is unsafe (locks held by threads
 * that do not exist there). Either way the build is tested as the daemon would load it. The job
 * (JSON, written by the code swap) names the staged copy of the build and its sha256, its kind and
 * name, the parameter values and n_envs of a running instance, and a state blob saved by a running
 * instance of the old version:
 *
 *   agent  create it on the env (and env parameters) of a running instance, or on each loaded
 *          env in turn until one has spaces it accepts; step `steps` times; save; load into a
 *          fresh instance; load the old version's blob into another and step again;
 *   env    create, reset, step with random actions; when it can save: save, load into a fresh
 *          instance, load the old version's blob and step again;
 *   other  load and check only.
 *
 * Job keys: kind, name, library, sha256, params (values by name; names the build does not
 * declare are skipped), defaults (the manifest's), n_envs, seed, steps, state (a file, or
 * absent), envs (agent: [{name, library, sha256, params}]), cpu_s and as_mb (the rlimits the
 * child sets on itself before it loads anything: CPU time, address space; smoke_run sets them).
 *
 * The child gets nothing of the daemon's but its environment: no file descriptor past stderr
 * (not the state dir's lock, not a socket), default signal handling, a process group of its
 * own (killed whole when the test ends, so nothing it forked outlives it), and TMPDIR
 * pointing into the daemon's plugin cache, where its own cache lands and is removed after it
 * whatever became of it.
 *
 * Threads: smoke_run on the code-swap thread; smoke_main is the child's main.
 */
#ifndef TARS_HOST_SMOKE_H
#define TARS_HOST_SMOKE_H

#include <jansson.h>
#include <stdatomic.h>
#include <stddef.h>

#define SMOKE_COMMAND "__smoke"
#define SMOKE_STEPS   32   /* vectorised steps before and after each load */
#define SMOKE_AS_MB   8192 /* the child's address space (not in sanitizer builds) */

/*
 * Writes job to dir, runs the child on it and waits at most timeout_s, or until *stop is set
 * (stop may be NULL). Returns 0 when it passed; otherwise -1 with one sentence in err: the
 * child's own (its last line on stderr), the signal that killed it with its last output
 * ("SIGSEGV (Segmentation fault)"), the timeout, or that tarsd is stopping.
 */
int smoke_run(const char *dir, json_t *job, double timeout_s, const atomic_int *stop, char *err,
              size_t errlen);

/* The child: `tarsd __smoke JOB.json`. Returns its exit status (0 passed, 1 refused). */
int smoke_main(const char *job_path);

#endif
