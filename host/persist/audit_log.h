/*
 * audit_log — the audit log (SPEC §8): one entry per mutating or refused API call (api/audit.h
 * builds those), and one per thing tarsd does on its own that an operator would otherwise have
 * done through the API (a watcher-triggered code swap). Stored in DB_AUDIT under a sequence
 * number (u64 big-endian); the newest `audit_kept` are kept.
 *
 * Threads: any. Appends are queued to the state writer; reads are LMDB read transactions.
 */
#ifndef TARS_HOST_PERSIST_AUDIT_LOG_H
#define TARS_HOST_PERSIST_AUDIT_LOG_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct host;

/* Reads the last sequence number (at start). */
int audit_open(struct host *h);
/*
 * Queues entry e (consumed; NULL: it could not be built) under the next sequence number, and
 * drops the oldest. The number is kept only once the writer queued the entry, so the log's
 * numbers stay contiguous. Returns 0, or -ENOMEM (no number used).
 */
int audit_log_append(struct host *h, json_t *e);
/*
 * Queues the entry of something tarsd did on its own: who is {"token": null, "name": who,
 * "role": "system"}, method and path say what (e.g. "WATCH" and the changed file), status
 * and detail how it went. Returns as audit_log_append.
 */
int audit_append_system(struct host *h, const char *who, const char *method, const char *path,
                        int status, const char *detail);
/* Up to limit entries numbered below `before` (0: from the newest), newest first. */
json_t *audit_list(struct host *h, uint64_t before, size_t limit);
/* s as valid UTF-8 (text.h), malloc'd; NULL when out of memory. */
char *audit_safe_dup(const char *s);

#endif
