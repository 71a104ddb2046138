/*
 * audit — the API's side of the audit log (persist/audit_log.h): the entry of a finished
 * request — when, who (token id, name, role), from where, what (method, path, and what the
 * handler did), and the outcome (status and error). Text that is not UTF-8 is escaped (\xFF).
 *
 * Threads: any (API workers).
 */
#ifndef TARS_HOST_API_AUDIT_H
#define TARS_HOST_API_AUDIT_H

#include "api.h"
#include "audit_log.h"

/* Queues the entry of a finished request. Returns as audit_log_append. */
int audit_append(struct host *h, const struct api_req *q);

#endif
