/*
 * writer — the one write path into the store (LMDB has a single writer). Producers (runner
 * threads, the control loop) queue records without touching the disk; a writer thread
 * commits whatever has accumulated in one transaction, every WRITER_PERIOD_MS or sooner
 * when asked to flush. Records of one producer commit in the order they were queued, so an
 * agent's episodes always land no later than the checkpoint that follows them.
 *
 * Threads: every writer_* call is thread-safe and never blocks on I/O, except writer_flush
 * and writer_stop, which wait for the commit.
 */
#ifndef TARS_STATE_WRITER_H
#define TARS_STATE_WRITER_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include "records.h"
#include "store.h"

#define WRITER_PERIOD_MS 100

struct writer_limits {
    unsigned checkpoints_kept; /* per agent */
    uint64_t episodes_kept;    /* per agent, 0: all */
    uint64_t scalars_kept;     /* per agent, 0: all */
    uint64_t max_backlog;      /* queued episode records beyond which new ones are dropped */
};

struct writer_stats {
    uint64_t commits;
    uint64_t episodes;     /* committed */
    uint64_t checkpoints;  /* committed */
    uint64_t dropped;      /* episode records dropped because the writer fell behind */
    uint64_t failures;     /* batches that could not be committed */
    double commit_seconds; /* total time in store_write */
};

struct writer;

/* Starts the writer thread. The error callback (may be NULL) reports failed batches. */
int writer_start(struct writer **out, struct store *s, const struct writer_limits *lim,
                 void (*on_error)(const char *msg, void *arg), void *arg);
/* Commits everything queued, then stops the thread and frees the writer. */
void writer_stop(struct writer *w);

/* Queues n episode records of an agent (copied). Returns 0, or -1 when dropped. */
int writer_episodes(struct writer *w, const char *agent, const struct episode_rec *e, size_t n);
/*
 * Queues a checkpoint (the writer takes ownership of blob, malloc'd). When in_flight is
 * non-NULL it is cleared once the checkpoint is committed (or has failed).
 */
int writer_checkpoint(struct writer *w, const char *agent, const struct checkpoint_hdr *h,
                      void *blob, size_t len, atomic_int *in_flight);
/* Queues a scalars record (json copied). */
int writer_scalars(struct writer *w, const char *agent, uint64_t seq, const char *json, size_t len);
/* Queues a JSON record put into db under key. */
int writer_json(struct writer *w, enum store_db db, const char *key, const char *json, size_t len);
/* Queues the deletion of an agent's checkpoints, episodes and scalars, and (unless
 * keep_record) of its record. */
int writer_forget(struct writer *w, const char *agent, int keep_record);
/* Queues a put of a binary key (at most 40 bytes) and value (copied) into db. */
int writer_put(struct writer *w, enum store_db db, const void *key, size_t klen, const void *val,
               size_t len);
/* Queues the deletion of a binary key from db (absent is not an error). */
int writer_del(struct writer *w, enum store_db db, const void *key, size_t klen);
/* Queues the deletion of an agent's episodes after `episodes` and scalars after `scalars`
 * (UINT64_MAX: none). */
int writer_truncate(struct writer *w, const char *agent, uint64_t episodes, uint64_t scalars);

/* Waits until everything queued before the call is committed; 0 or the error, in err. */
int writer_flush(struct writer *w, char *err, size_t errlen);
void writer_stats(struct writer *w, struct writer_stats *out);

#endif
