/*
 * What codeswap.c (the thread, its jobs and the reports), reload.c (the protocol) and watch.c
 * (the watch of the plugin and manifest dirs) share.
 */
#ifndef TARS_HOST_CODESWAP_INTERNAL_H
#define TARS_HOST_CODESWAP_INTERNAL_H

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include "codeswap.h"

/* How long a runner may take to reach a step boundary before its order is withdrawn. */
#define RELOAD_MIGRATE_TIMEOUT_S 30.0
/* The quiet time after a file's last change before it is looked at (cp writes in chunks). */
#define WATCH_DEBOUNCE_MS 250

struct cs_job {
    struct cs_job *next;
    int rescan;       /* a rescan of the manifest dirs, not a reload */
    char name[128];   /* the plugin */
    char trigger[16]; /* "api", "watcher", "manifest" */
    char who[72];     /* the token's name, or "watcher" */
    char file[1024];  /* the file whose change triggered it ("" for the API) */
    double requested; /* host_now() when asked */
    int waiting;      /* a caller waits for it (and frees it) */
    int done;         /* under codeswap.lock */
    int status;       /* HTTP status of the outcome; 0: nothing happened worth a report */
    json_t *result;   /* the outcome */
};

struct watch;

struct codeswap {
    struct host *h;
    pthread_t thread;
    int started;
    atomic_int stop;
    pthread_mutex_t lock; /* the queue, the reports below, and job.done */
    pthread_cond_t wake;  /* a job was queued, or stop */
    pthread_cond_t done;  /* a job finished */
    struct cs_job *head, *tail;
    json_t *last;   /* plugin name -> its last reload's outcome */
    json_t *events; /* outcomes not yet taken by the stream */
    /* plugin name -> the build refused last, while the running generation still runs:
     * {sha256, manifest (the candidate's, or null), error, time}. The watch does not retry the
     * same build with the same manifest; GET /api/v1/plugins shows it as refused_build. */
    json_t *refused;
    uint64_t seq; /* reloads reported so far */
    struct watch *watch;
};

/*
 * reload.c, on the code-swap thread. Runs a reload job (or a rescan job) to its end and
 * returns its HTTP status, with the outcome in *result. Status 0 means the watch's change
 * turned out to be nothing to report (the running build, or one refused before).
 */
int reload_run(struct codeswap *cs, struct cs_job *job, json_t **result);
/* Frees the retired generations no run uses any more (after a grace period); returns their
 * descriptions (an array, the caller's). */
json_t *reload_reap(struct codeswap *cs);

/* retire.c. Whether run r uses generation p (inside a read-side section, or with runs.lock). */
struct run;
struct plugin;
int retire_uses(struct run *r, const struct plugin *p);
/* Takes up to cap retired generations no run uses off the retired list into out (code_lock
 * held for writing, and runs.lock); returns how many. */
size_t retire_unused(struct host *h, struct plugin **out, size_t cap);
/* Frees them (after rcu_wait): their descriptions, with "resident" when dlclose left one. */
json_t *retire_free(struct plugin **v, size_t n);

/*
 * codeswap.c. cs_refused_before: whether this build (sha256) with this manifest (its parsed
 * root; NULL when it did not parse) is the one last refused for the plugin: a new manifest
 * beside a refused build is a new candidate (copy, then regenerate the manifest).
 * cs_note_outcome keeps or forgets the refused build after a reload's outcome: "refused"
 * keeps it (with the reason), "reloaded", "partial", "unchanged" and "manifest" forget it (the
 * files are a running generation's again).
 */
int cs_refused_before(struct codeswap *cs, const char *name, const char *sha,
                      const json_t *manifest);
void cs_note_outcome(struct codeswap *cs, const char *name, const char *outcome, const char *sha,
                     const json_t *manifest, const char *error);

/* watch.c, on the control thread. */
int watch_start(struct host *h, struct watch **out);
void watch_free(struct watch *w);

#endif
