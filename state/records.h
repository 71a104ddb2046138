/*
 * records — the values tars keeps per agent, how they are encoded (docs/state.md), and the
 * writes and reads on them. Writes take an open write transaction (they run inside
 * store_write, batched by the writer thread); reads take a read transaction.
 */
#ifndef TARS_STATE_RECORDS_H
#define TARS_STATE_RECORDS_H

#include <stddef.h>
#include <stdint.h>
#include "store.h"

/* One finished episode (episode numbers start at 1 and are contiguous per agent). */
struct episode_rec {
    uint64_t episode;
    uint64_t step;    /* env steps of the agent when the episode ended */
    double ret;       /* return, summed over agents */
    uint32_t length;  /* steps in the episode */
    double wall_time; /* Unix time in seconds */
};

#define EPISODE_REC_SIZE 40

/* The header of a checkpoint; the run blob follows. */
struct checkpoint_hdr {
    uint64_t step;
    uint64_t episodes;
    double wall_time;
    uint64_t scalar_seq; /* the last scalars record written before it */
};

#define CHECKPOINT_HDR_SIZE 40

/* The header of a stored checkpoint value: 0, or MDB_CORRUPTED when it is not one. */
int checkpoint_decode(const void *data, size_t len, struct checkpoint_hdr *h);

void episode_encode(const struct episode_rec *e, unsigned char out[EPISODE_REC_SIZE]);
int episode_decode(const void *data, size_t len, struct episode_rec *e);

/* Writes (inside a write transaction). Each returns 0 or an LMDB code. */

/*
 * Retention: a put that keeps `keep` records (0: all) deletes every record of the agent
 * numbered `keep` or more below the newest it put, not only the one that just fell out, so
 * that lowering a limit shrinks what is stored at the next put.
 */

/* Puts n episodes of an agent and keeps its newest `keep` episode numbers. */
int rec_put_episodes(struct store *s, MDB_txn *txn, const char *agent, const struct episode_rec *e,
                     size_t n, uint64_t keep);
int rec_put_episode(struct store *s, MDB_txn *txn, const char *agent, const struct episode_rec *e,
                    uint64_t keep);
/*
 * Puts a checkpoint under the agent's next sequence number (1 after its newest, 1 when it has
 * none) and keeps its newest `keep` (0: all) by sequence: the last taken is the last, whatever
 * its step.
 */
int rec_put_checkpoint(struct store *s, MDB_txn *txn, const char *agent,
                       const struct checkpoint_hdr *h, const void *blob, size_t len, unsigned keep);
/* Puts a scalars record under sequence `seq` and keeps the newest `keep` sequences. */
int rec_put_scalars(struct store *s, MDB_txn *txn, const char *agent, uint64_t seq,
                    const char *json, size_t len, uint64_t keep);
/* Puts (or replaces) an agent's or plugin's JSON record. */
int rec_put_json(struct store *s, MDB_txn *txn, enum store_db db, const char *key, const char *json,
                 size_t len);
/* Deletes the agent's records in db numbered `from` or above. */
int rec_delete_from(struct store *s, MDB_txn *txn, enum store_db db, const char *agent,
                    uint64_t from);

/* Reads (inside any transaction). */

/*
 * The agent's newest checkpoint (the highest sequence): header and a pointer to the blob
 * inside the map (valid while the transaction is open). MDB_NOTFOUND when there is none.
 */
int rec_last_checkpoint(struct store *s, MDB_txn *txn, const char *agent, struct checkpoint_hdr *h,
                        const void **blob, size_t *len);
/* The number of the agent's last record in db (0 when none), and how many it has. */
int rec_last_n(struct store *s, MDB_txn *txn, enum store_db db, const char *agent, uint64_t *last,
               uint64_t *count);
/* Calls fn for each of the agent's records in db with number in [from, to]; fn returns
 * non-zero to stop. */
int rec_each(struct store *s, MDB_txn *txn, enum store_db db, const char *agent, uint64_t from,
             uint64_t to, int (*fn)(uint64_t n, const MDB_val *v, void *arg), void *arg);

/* Databases numbered by a u64 (audit, proposals): keys are 8 bytes, big-endian. */
void rec_u64_key(uint64_t n, unsigned char key[8]);
uint64_t rec_u64_of(const MDB_val *k);
/* The largest number in db (0 when it is empty). */
int rec_u64_last(struct store *s, enum store_db db, uint64_t *last);
/*
 * Calls fn on each value below number `before` (0: from the newest), newest first, until fn
 * returns non-zero (values are valid during the call only).
 */
int rec_u64_each_back(struct store *s, enum store_db db, uint64_t before,
                      int (*fn)(const MDB_val *v, void *arg), void *arg);

#endif
