/*
 * audit — the audit log (SPEC §8): one entry per mutating API call, whatever its outcome:
 * when, who (token id, name, role), from where, what (method, path, and what the handler
 * did), and the outcome (status and error). Stored in DB_AUDIT under a sequence number
 * (u64 big-endian); the newest `audit_kept` are kept.
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
/* Queues the entry of a finished request. */
void audit_append(struct host *h, const struct api_req *q);
/* Up to limit entries numbered below `before` (0: from the newest), newest first. */
json_t *audit_list(struct host *h, uint64_t before, size_t limit);

#endif
