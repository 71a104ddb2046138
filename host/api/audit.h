/*
 * audit — the audit log (SPEC §8): one entry per mutating API call, whatever its outcome:
 * when, who (token id, name, role), from where, what (method, path, and what the handler
 * did), and the outcome (status and error); and one per thing tarsd does on its own that an
 * operator would otherwise have done through the API (a watcher-triggered code swap). Stored
 * in DB_AUDIT under a sequence number (u64 big-endian); the newest `audit_kept` are kept.
 *
 * Threads: any. Appends are queued to the state writer; reads are LMDB read transactions.
 */
#ifndef TARS_HOST_API_AUDIT_H
#define TARS_HOST_API_AUDIT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include "api.h"

/* Reads the last sequence number (at start). */
int audit_open(struct host *h);
/*
 * Queues the entry of a finished request; text that is not UTF-8 is escaped (\xFF). Returns
 * 0, or -ENOMEM when the entry could not be built or queued: no sequence number is used then,
 * so the log's numbers stay contiguous.
 */
int audit_append(struct host *h, const struct api_req *q);
/*
 * Queues the entry of something tarsd did on its own (a code swap the plugin dir watch
 * started): who is {"token": null, "name": who, "role": "system"}, method and path say what
 * (e.g. "WATCH" and the changed file), status and detail how it went. Returns as
 * audit_append.
 */
int audit_append_system(struct host *h, const char *who, const char *method, const char *path,
                        int status, const char *detail);
/* Up to limit entries numbered below `before` (0: from the newest), newest first. */
json_t *audit_list(struct host *h, uint64_t before, size_t limit);

#endif
