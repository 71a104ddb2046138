/*
 * quarantine — plugin builds (by sha256) that crashed tarsd, kept in the state dir as
 * <state_dir>/quarantine/<sha256>.json, one small JSON object each:
 *
 *   {"sha256", "file", "op", "run", "signal", "time" (Unix), "reason", "announced"}
 *
 * The supervising parent of `tarsd serve` writes a record when its worker died of a signal in
 * a plugin's op (commands/supervise.c); the worker reads them at start (the registry refuses
 * to run a quarantined build: its agents come back failed with the reason) and announces each
 * new one once in the log and the audit. A new build of the plugin (another sha256) is not
 * concerned; an admin's release (POST /api/v1/plugins/{name}/release) removes the record.
 *
 * Threads: any; each call reads or writes whole files (written to a temporary, then renamed).
 */
#ifndef TARS_HOST_QUARANTINE_H
#define TARS_HOST_QUARANTINE_H

#include <stddef.h>

struct quarantine {
    char sha256[65];
    char file[256];  /* the library's file name */
    char op[32];     /* the op it crashed in ("observe"; "load" for its constructors) */
    char run[128];   /* the agent it ran for ("" when none) */
    char signal[16]; /* "SIGSEGV" */
    double time;     /* Unix time of the crash */
    char reason[640];
    int announced; /* logged and audited by a worker */
};

/* Fills q->reason: "hot.so (sha256 ab12cd34ef56…) crashed tarsd in observe at 12:03:04: SIGSEGV".
 */
void quarantine_describe(struct quarantine *q);
/* Writes q's record. 0 or a negative errno with one sentence in err. */
int quarantine_add(const char *state_dir, const struct quarantine *q, char *err, size_t errlen);
/* Reads the record of a build: 0, -ENOENT when it is not quarantined, or another negative errno. */
int quarantine_get(const char *state_dir, const char *sha256, struct quarantine *out);
/* Removes the record of a build: 0, -ENOENT when there was none. */
int quarantine_lift(const char *state_dir, const char *sha256);

#endif
