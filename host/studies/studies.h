/*
 * studies — AutoML in tarsd (docs/studies.md): a study searches an agent's parameters (or,
 * for an objective computed elsewhere, any space a client declares) with a sampler and a
 * pruner, tuner plugins chosen independently (tars/tuner.h). A study of an agent runs each
 * trial as ordinary runs on the runners (one per seed, trial.h), which evaluate themselves
 * every eval_every steps; a driver thread reports those evaluations to the pruner, prunes or
 * completes trials, tells the sampler and starts the next ones, `parallel` at a time. An
 * external study is driven by ask, report and tell calls. Studies, trials and the tuners'
 * state (saved after every ask, report and tell) are kept in the store (docs/state.md): after
 * a crash a study resumes, its completed trials intact and its running ones resumed from
 * their runs' last checkpoints.
 *
 * Threads: every function here is for API handlers (CivetWeb workers, on a full-size stack:
 * tuner plugin code runs inside), but studies_open/start/close (the control thread). One lock
 * serialises the studies' state; nothing here holds it across a wait for a runner.
 *
 * Errors: 0, or a negative errno with one sentence in err: -EINVAL (a bad request, said where),
 * -ENOENT (no such study or trial), -EBUSY (not in a state that allows it), -EEXIST (the name
 * is taken), -EIO (the store failed), -ENOMEM.
 */
#ifndef TARS_HOST_STUDIES_H
#define TARS_HOST_STUDIES_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct host;

/* Reads the stored studies and their trials, rebuilding their tuners (after persist_restore:
 * the runs of their running trials are in the set). Problems are logged; returns 0 or -ENOMEM. */
int studies_open(struct host *h);
/* Starts the driver thread (once the runners run). 0 or a negative errno. */
int studies_start(struct host *h);
/* Stops the driver thread (before the runners stop: it waits for them). Idempotent. */
void studies_halt(struct host *h);
/* Stops the driver and frees the studies (their state is already in the store). */
void studies_close(struct host *h);

/* Creates a study from a request body (docs/studies.md); *out is its JSON. */
int studies_create(struct host *h, json_t *body, json_t **out, char *err, size_t errlen);
/* Every study, newest first, without trials. */
json_t *studies_list(struct host *h);
/* One study with its summary; trials (thinned to at most `limit`, 0: none) when asked. */
int studies_get(struct host *h, uint64_t id, json_t **out, char *err, size_t errlen);
/* Trials of a study, filtered by state (NULL: all), from number `from`, at most limit. */
int studies_trials(struct host *h, uint64_t id, const char *state, uint64_t from, size_t limit,
                   json_t **out, char *err, size_t errlen);
/* One trial in full (intermediate values included). */
int studies_trial(struct host *h, uint64_t id, uint64_t number, json_t **out, char *err,
                  size_t errlen);
/* The best trial (single objective) or the Pareto front (several). */
int studies_best(struct host *h, uint64_t id, json_t **out, char *err, size_t errlen);
/* stop: no new trials, running ones paused; resume: the reverse; delete: gone with its
 * trials' agents and records. */
int studies_stop(struct host *h, uint64_t id, char *err, size_t errlen);
int studies_resume(struct host *h, uint64_t id, char *err, size_t errlen);
int studies_delete(struct host *h, uint64_t id, char *err, size_t errlen);

/* Ask and tell (any study; for one of an agent, trials run by the host are not told here).
 * ask: body {} or {"params": {...}} (an enqueued trial's values). */
int studies_ask(struct host *h, uint64_t id, json_t *body, json_t **out, char *err, size_t errlen);
/* {"step", "value"} -> {"prune": bool}. */
int studies_report(struct host *h, uint64_t id, uint64_t number, json_t *body, json_t **out,
                   char *err, size_t errlen);
/* {"values": [...]} or {"value": x}, or {"state": "PRUNED"|"FAILED"}. */
int studies_tell(struct host *h, uint64_t id, uint64_t number, json_t *body, json_t **out,
                 char *err, size_t errlen);

/*
 * Turns the best trial into a HyperSync proposal for a running agent of the same plugin:
 * its searched parameters, with the expected improvement = the best value − the agent's
 * evaluation now (as many episodes as the study's), for the approval modes. who is the
 * caller ({"token", "name", "role"}); *out is the proposal's record.
 */
int studies_propose(struct host *h, uint64_t id, json_t *body, json_t *who, int decide_now,
                    json_t **out, char *err, size_t errlen);

/* What the study page draws, thinned to about max points (view.c). */
int studies_view(struct host *h, uint64_t id, size_t max, json_t **out, char *err, size_t errlen);

/* The stream's and the health route's view: trials per state, best values, trials per hour. */
json_t *studies_metrics(struct host *h);

#endif
