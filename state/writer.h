/*
 * writer — the one write path into the store (LMDB has a single writer). Producers (runner
 * threads, the control loop) queue records without touching the disk; a writer thread
 * commits whatever has accumulated in one transaction, every WRITER_PERIOD_MS or sooner
 * when asked to flush. Records of one producer commit in the order they were queued, so an
 * agent's episodes always land no later than the checkpoint that follows them.
 *
 * A batch that fails (a full disk, say) is not lost: it goes back to the head of the queue and
 * is retried, WRITER_PERIOD_MS after the first failure, then backing off to one attempt every
 * WRITER_RETRY_MAX_S (at once when a flush or the stop asks). Meanwhile records keep queueing,
 * and the memory they hold stays bounded: when the queue holds more than backlog_bytes, the
 * oldest queued history (episode and scalars records, which only feed the curves) is dropped,
 * and counted per agent; of the checkpoints queued behind a failure only the newest of each
 * agent is kept (also counted). Truncates, forgets, puts, deletes and JSON records (agents,
 * tokens, audit entries) are never dropped: their producers flush and fail when the store does.
 * Only writer_stop gives up on a store that still fails, and says so.
 *
 * A transaction takes at most WRITER_BATCH_BYTES of the queue (at least one record), so that a
 * long backlog commits in several and LMDB's dirty pages stay bounded too; while the store
 * fails, WRITER_PROBE_BYTES, so that a flush learns of the failure quickly. Once a backlog of
 * more than WRITER_TRIM_BYTES has drained, the writer gives the freed memory back to the
 * system (malloc_trim).
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

#define WRITER_PERIOD_MS   100
#define WRITER_RETRY_MAX_S 5.0
#define WRITER_BATCH_BYTES (4u << 20)
#define WRITER_PROBE_BYTES (256u << 10)
#define WRITER_TRIM_BYTES  (8u << 20)

struct writer_limits {
    unsigned checkpoints_kept; /* per agent */
    uint64_t episodes_kept;    /* per agent, 0: all */
    uint64_t scalars_kept;     /* per agent, 0: all */
    /* Bytes the queue may hold (records and their data) before its oldest history is
     * dropped; 0: no limit. */
    uint64_t backlog_bytes;
};

struct writer_stats {
    uint64_t commits;
    uint64_t episodes;        /* committed */
    uint64_t checkpoints;     /* committed */
    uint64_t dropped;         /* episode records dropped to keep the backlog under its limit */
    uint64_t dropped_scalars; /* scalars records, likewise */
    /*
     * Failed attempts at a batch since the writer started (each is retried). Non-zero means
     * some write failed since start, even if a retry later committed it: the host then exits
     * non-zero at stop, as dropped records may have gone with it.
     */
    uint64_t failures;
    uint64_t superseded;   /* queued checkpoints replaced by a newer one while failing */
    uint64_t lost;         /* records given up by writer_stop on a store that still failed */
    double commit_seconds; /* total time in store_write */
    uint64_t backlog;      /* bytes queued now (records and their data, in an attempt too) */
    uint64_t backlog_peak; /* the most bytes ever queued */
    /* Failed attempts since the store last took every write: non-zero from a failure until
     * all that was queued by then is committed (or dropped); and since when (Unix time, 0
     * when not failing). */
    uint64_t failing;
    double failing_since;
};

/* What the writer dropped of one agent's records (writer_drops). */
struct writer_drops {
    uint64_t episodes;
    uint64_t scalars;
    uint64_t checkpoints; /* superseded by a newer one of the agent while the store failed */
};

struct writer;

/* Starts the writer thread. The error callback (may be NULL) reports failed batches. Returns 0,
 * or a negative errno (-ENOMEM, -EAGAIN: no thread) with *out NULL. */
int writer_start(struct writer **out, struct store *s, const struct writer_limits *lim,
                 void (*on_error)(const char *msg, void *arg), void *arg);
/*
 * Commits everything queued, then stops the thread and frees the writer. When the store still
 * fails, what is queued is given up after one more attempt: returns -1 then (0 otherwise).
 */
int writer_stop(struct writer *w);

/* Queues n episode records of an agent (copied). Returns 0, or -1 when out of memory or
 * stopping. The oldest history may be dropped to make room (see above). */
int writer_episodes(struct writer *w, const char *agent, const struct episode_rec *e, size_t n);
/*
 * Queues a checkpoint (the writer takes ownership of blob, malloc'd). When in_flight is
 * non-NULL it is cleared once the checkpoint is committed, or its first attempt failed (it
 * stays queued and is retried, but the writer no longer touches in_flight), or a newer
 * checkpoint of the agent superseded it, or it was refused; so after a writer_flush that
 * covered it, in_flight may be freed whatever the flush returned.
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

/*
 * Waits until everything queued before the call is committed: 0. When an attempt that began
 * after the call fails instead, returns its error (an LMDB or errno code), with the store's
 * sentence in err; the records stay queued and are retried.
 */
int writer_flush(struct writer *w, char *err, size_t errlen);
void writer_stats(struct writer *w, struct writer_stats *out);
/* What was dropped of an agent's records since the writer started (zeros when nothing, or
 * since writer_forget removed the agent with its record). */
void writer_drops(struct writer *w, const char *agent, struct writer_drops *out);

#endif
