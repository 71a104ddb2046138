/*
 * proposals — the HyperSync workflow of the T.A.R.S. design (SPEC §6): every parameter
 * change is a proposal that goes Proposed → Validated → PendingApproval → Approved →
 * Applying → Applied, or ends Rejected or Failed; each is kept in the store (tars-proposals)
 * with its history, so the list of proposals is also the record of every applied change:
 * old → new, who, when, and the swap's latency.
 *
 * Who may do what: an operator proposes; an admin approves or rejects, and an admin's own
 * change is approved by its author and applied at once. The approval mode decides what
 * happens to an operator's proposal once validated: `manual` waits for an admin,
 * `threshold` approves it when its expected improvement reaches hypersync_threshold (and
 * waits otherwise), `always` approves it.
 *
 * Threads: API handlers. Decisions are serialised on the host's proposals lock; each state
 * change is committed before the call returns.
 *
 * Errors: 0, or a negative errno with one sentence in err (as params_swap.h), and -EBUSY for
 * a decision on a proposal that is not pending approval.
 */
#ifndef TARS_HOST_RELOAD_PROPOSALS_H
#define TARS_HOST_RELOAD_PROPOSALS_H

#include <jansson.h>
#include <stdint.h>
#include "params_swap.h"

struct host;

enum approval_mode { APPROVE_MANUAL = 0, APPROVE_THRESHOLD, APPROVE_ALWAYS };
extern const char *const approval_mode_names[]; /* "manual", "threshold", "always", NULL */

/* What is proposed, and by whom ("who" is the caller's token name and id, as the audit log). */
struct proposal_input {
    const char *agent;
    struct param_request change;
    const char *rationale;       /* or NULL */
    double expected_improvement; /* NaN when not given */
    json_t *who;                 /* {"token", "name", "role"} */
    int decide_now;              /* the author approves it (an admin's own change) */
};

/* Reads the last proposal id from the store (at start). */
int proposals_open(struct host *h);
/* Settles the proposals a stopped tarsd left applying: applied or failed (at start). */
void proposals_recover(struct host *h);

/*
 * Records and runs a proposal as far as the mode lets it go; *out is its record. Invalid
 * values fail without a record (-EINVAL, -EPERM for a parameter that is not HOT without
 * recreate); a proposal that fails while applying is recorded as failed and returns 0.
 */
int proposals_submit(struct host *h, const struct proposal_input *in, json_t **out, char *err,
                     size_t errlen);
/* Approves (then applies) or rejects a pending proposal; *out is its record. */
int proposals_decide(struct host *h, uint64_t id, int approve, json_t *who, const char *reason,
                     json_t **out, char *err, size_t errlen);
/* One proposal's record, or NULL. */
json_t *proposals_get(struct host *h, uint64_t id);
/* The newest first, below id `before` (0: from the newest), filtered by agent and state. */
json_t *proposals_list(struct host *h, const char *agent, const char *state, uint64_t before,
                       size_t limit);

#endif
