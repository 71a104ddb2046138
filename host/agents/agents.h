/*
 * agents — the changes an operator makes to the agents of a running tarsd (through the API):
 * create, stop, start, reset, delete. Each change claims the agent's id (runs_claim,
 * runset.h), takes the run set's lock only to look up and publish, and waits for its records
 * to be committed before it returns, so a reply that says done is durable; no lock an API
 * call waits for is held across those waits (a create's commit, a stop's checkpoint, a
 * delete's wait for the runner).
 *
 * Threads: API handlers (CivetWeb workers). Never a runner or the control loop: the changes
 * wait for grace periods and for the runners to let go of a run. They run plugin code, which
 * needs a full-size stack (API handlers run on one, see bigstack.h). Whoever looked up the
 * plugins of a run_spec holds host.code_lock for reading until agents_create returns, so that
 * no code swap frees them in between (agents_reset and agents_delete take it themselves, until
 * the run they retire is destroyed; see codeswap.h).
 *
 * Errors: 0, or a negative errno with one sentence in err: -ENOENT (no such agent), -EEXIST
 * (id taken), -EINVAL (the plugins refused it), -EBUSY (not in a state that allows it),
 * -EPERM (listed in the config), -EIO (the state store failed), -ENOMEM.
 */
#ifndef TARS_HOST_AGENTS_H
#define TARS_HOST_AGENTS_H

#include <stddef.h>
#include "run.h"

struct host;

/* Builds and starts an agent (consumes s's snapshots, even on failure). */
int agents_create(struct host *h, struct run_spec *s, const char *preset, char *err, size_t errlen);
/* Stops (checkpointing it) or starts a run; stays so across restarts. */
int agents_set_running(struct host *h, const char *id, int running, char *err, size_t errlen);
/* Replaces the agent by a fresh one of the same record: step 0, no history, no checkpoints. */
int agents_reset(struct host *h, const char *id, char *err, size_t errlen);
/*
 * Re-creates the agent of old with new parameter snapshots (consumed, even on failure), from
 * its state at a step boundary: steps, episodes, history and checkpoints continue, and the
 * new pair is published as version `version`. The caller holds old's claim, not the run
 * set's lock (building a large network, draining old and a commit take long: runset.h), and
 * rewrites the record. On failure old goes on as it was.
 */
int agents_recreate(struct host *h, struct run *old, tars_params *ap, tars_params *ep,
                    uint64_t version, char *err, size_t errlen);
/* Deletes the agent and every record of it. */
int agents_delete(struct host *h, const char *id, char *err, size_t errlen);

#endif
