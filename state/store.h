/*
 * store — tars's state: one LMDB environment in the state dir (SPEC §7). The schema (named
 * databases, key layout, value encoding) is documented in docs/state.md and declared here.
 *
 * Threads: a process opens the store once. Reads run in short read transactions
 * (store_read_begin/end), from any thread (the environment uses MDB_NOTLS). All writes go
 * through store_write, and in tarsd through the one writer thread (writer.h), which batches
 * them; store_write grows the map and retries when LMDB reports it full.
 *
 * Caveats: never hold a read transaction across a long computation (it pins old pages and
 * blocks map growth); never open the same state dir twice in one process.
 */
#ifndef TARS_STATE_STORE_H
#define TARS_STATE_STORE_H

#include <lmdb.h>
#include <stddef.h>
#include <stdint.h>

/* The schema this build writes, and the oldest it can migrate from. */
#define STORE_SCHEMA_VERSION 1

enum store_db {
    DB_META,        /* "schema_version" -> u32 LE, "created" -> f64, "tars_version" -> text */
    DB_PLUGINS,     /* plugin name -> JSON record */
    DB_AGENTS,      /* agent id -> JSON record */
    DB_CHECKPOINTS, /* agent id \0 u64 BE sequence -> checkpoint (header + run blob) */
    DB_EPISODES,    /* agent id \0 u64 BE episode number -> 32-byte episode record */
    DB_SCALARS,     /* agent id \0 u64 BE sequence -> JSON object of training scalars */
    DB_PROPOSALS,   /* u64 BE id -> JSON proposal (hot reload) */
    DB_STUDIES,     /* u64 BE id -> JSON study (tuners) */
    DB_TRIALS,      /* u64 BE study id, u64 BE trial -> JSON trial */
    DB_TOKENS,      /* 8-byte token id (hash prefix) -> JSON {hash, name, role, created...} */
    DB_AUDIT,       /* u64 BE sequence -> JSON {seq, time, who, method, path, status...} */
    DB_COUNT
};

struct store;

#define STORE_RDONLY 0x1u

/*
 * Opens (creating when absent and not read-only) the store in dir: clears stale reader slots,
 * checks that it is a tars store of a schema this build reads, migrates older schemas.
 * A foreign, corrupt or truncated data.mdb, a newer schema, a missing or unwritable dir fail
 * with one sentence naming the path and the cause, and nothing is written. initial_map is the map
 * size to start with (0: 64 MiB); the map grows as needed.
 */
int store_open(struct store **out, const char *dir, unsigned flags, size_t initial_map, char *err,
               size_t errlen);
void store_close(struct store *s);

const char *store_dir(const struct store *s);
MDB_dbi store_dbi(const struct store *s, enum store_db db);
/* Stale reader slots cleared at open, and the current map size in bytes. */
int store_stale_readers(const struct store *s);
size_t store_map_size(const struct store *s);

/* A read transaction; pair with store_read_end. Returns 0 or an LMDB/errno code. */
int store_read_begin(struct store *s, MDB_txn **txn);
void store_read_end(struct store *s, MDB_txn *txn);

/*
 * Runs fn in one write transaction and commits. When the map is full, aborts, doubles the
 * map and runs fn again (fn must be repeatable). Returns 0 or the first error (fn's, or
 * LMDB's, e.g. ENOSPC), with one sentence in err; then nothing of fn's writes is kept.
 */
int store_write(struct store *s, int (*fn)(MDB_txn *txn, void *arg), void *arg, char *err,
                size_t errlen);

/*
 * A consistent, compacted copy (one read transaction) into dir/data.mdb. dir must not exist
 * (it is created, mode 0700) or be an empty directory. The copy is written to
 * dir/data.mdb.tmp (mode 0600), synced, then renamed: on failure (a full disk, say) the
 * partial copy is removed, and so is dir when this call created it; err says why.
 */
int store_backup(struct store *s, const char *dir, char *err, size_t errlen);

/* The text of an LMDB or errno code. */
const char *store_strerror(int rc);

/* Keys of per-agent records: id \0 u64 big-endian. Returns the key length. */
size_t store_agent_key(char *buf, size_t len, const char *agent, uint64_t n);
/* The number after the id in such a key, or UINT64_MAX when it is not the agent's key. */
uint64_t store_agent_key_n(const MDB_val *key, const char *agent);

#endif
