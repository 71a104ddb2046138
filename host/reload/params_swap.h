/*
 * params_swap — changing a running agent's parameters (SPEC §6).
 *
 * A change names new values for the agent's parameters and/or its env's. It is validated
 * against the plugins' schemas (name, type, range, choices). When every parameter it changes
 * is HOT, the agent's rewritten record is queued to the writer, then a new pair of snapshots
 * is published with one pointer store (struct run_params): the runner steps with it from its
 * next step, and the old pair is freed after an RCU grace period. The caller commits
 * (writer_flush) outside its locks, so that concurrent changes share a commit; the writer
 * keeps a failed batch and retries it, so a change is never published and then forgotten
 * while tarsd runs. A change to a parameter
 * that is not HOT is refused, or, when the request asks for it, applied by re-creating the
 * agent from its saved state with the new values (agents_recreate).
 *
 * Threads: API handlers (RCU threads with a full-size stack). Changes to one tarsd are
 * serialised on the run set's lock, which is released before waiting for the runner.
 *
 * Errors: 0, or a negative errno with one sentence in err: -ENOENT (no such agent), -EINVAL
 * (a value the schema refuses, or nothing to change), -EPERM (a parameter that is not HOT,
 * without recreate), -EBUSY (a failed agent), -EIO (the state store failed), -ENOMEM.
 */
#ifndef TARS_HOST_RELOAD_PARAMS_SWAP_H
#define TARS_HOST_RELOAD_PARAMS_SWAP_H

#include <jansson.h>
#include <stdint.h>

struct host;

struct param_request {
    json_t *params;     /* {name: value} for the agent, or NULL */
    json_t *env_params; /* the same for its env, or NULL */
    int recreate;       /* changes that are not HOT re-create the agent from its state */
};

struct param_outcome {
    json_t *diff;      /* {"params": {name: {"old", "new"}}, "env_params": {...}}; owned */
    uint64_t version;  /* the version published (the same as before: nothing changed) */
    int recreated;     /* applied by re-creating the agent */
    double publish_us; /* from the request to publication (validation, record, publish) */
};

/*
 * The diff a request would make to agent id (*diff owned by the caller), without changing
 * anything; *needs_recreate says whether it changes a parameter that is not HOT. Without
 * recreate such a change is refused (-EPERM) with the message of params_apply, which names
 * the parameter.
 */
int params_check(struct host *h, const char *id, const struct param_request *rq, json_t **diff,
                 int *needs_recreate, char *err, size_t errlen);

/*
 * Applies a request: queued to the writer and published (the caller commits). The runner
 * steps with it from its next step (struct run_params records when that was).
 */
int params_apply(struct host *h, const char *id, const struct param_request *rq,
                 struct param_outcome *out, char *err, size_t errlen);

#endif
