/*
 * persist — tarsd's use of the state store (SPEC §7): the state dir's lock, agents'
 * records, resuming every agent from its last checkpoint at start, periodic and on-demand
 * checkpoints taken by the runners at step boundaries, the episode history and down-sampled
 * training scalars, and the final checkpoints at a clean stop.
 *
 * Threads: persist_open/restore/tick/request_all/close run on the control thread;
 * persist_after_slice runs on the runner thread that owns the run (the runners' hook), and
 * only queues to the writer thread, which does the I/O.
 */
#ifndef TARS_HOST_PERSIST_H
#define TARS_HOST_PERSIST_H

#include <jansson.h>
#include <stddef.h>
#include "diag.h"
#include "store.h"

struct host;
struct run;
struct run_spec;

/* Locks the state dir against a second tarsd, opens the store, reads the audit log's last
 * number and starts the writer. 0, or a negative errno with err naming the path and cause. */
int persist_open(struct host *h, char *err, size_t errlen);
/*
 * Fills h->runs: the config's agents and the agents the state dir holds (a stored agent is
 * resumed from its record and last checkpoint, not re-created from the config; one stopped
 * by an operator stays stopped). Errors go to d; returns their number.
 */
int persist_restore(struct host *h, struct diag *d);

/* Commits what is queued (writer_flush): 0, or -ENOSPC (the disk is full) or -EIO (another
 * failure), with the store's reason in err. */
int persist_commit(struct host *h, char *err, size_t errlen);
/* The JSON value stored under key in db, or NULL (none, or unreadable). */
json_t *persist_get_json(struct host *h, enum store_db db, const void *key, size_t klen);

/* Agent records (any thread; writes are queued to the writer, see writer_flush). */

/* The JSON record of an agent (malloc'd text): what it takes to build it again. */
char *persist_agent_record(const struct run_spec *s, const char *preset, const char *origin);
/* The stored record of agent id, or NULL when there is none. */
json_t *persist_record(struct host *h, const char *id);
/* Rewrites the record with "paused" set (operators' stop/start survive restarts). */
int persist_set_paused(struct host *h, const char *id, int paused);
/* Rewrites the record with fields' members set (the caller holds the run set's lock). */
int persist_update_record(struct host *h, const char *id, json_t *fields);
/* The plugins and parameters a record names; errors go to d (returns their number). */
int persist_spec(struct host *h, json_t *rec, struct run_spec *s, struct diag *d);
/* Hooks r's finished episodes into the history. */
void persist_attach(struct host *h, struct run *r);
/* Loads the agent's last checkpoint into r, if it has one, and trims what came after it. */
int persist_resume(struct host *h, struct run *r, struct diag *d);
/* Asks the runners for the checkpoints that are due (control loop, every tick). */
void persist_tick(struct host *h);
/* Asks for a checkpoint of every agent now (on demand). */
void persist_request_all(struct host *h);
/* The runners' hook: hands history and scalars to the writer, takes requested checkpoints. */
void persist_after_slice(struct run *r, void *arg);
/*
 * After the runners stopped: a last checkpoint of every agent (when they trained, see
 * host.trained), everything committed, the store closed and the lock released. Returns 0, or -1
 * when something could not be saved (logged).
 */
int persist_close(struct host *h);

#endif
