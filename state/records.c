#include <string.h>
#include "records.h"

#define CHECKPOINT_MAGIC "TCKP"

/* Little-endian field writers for the fixed-size records. */
static void
put64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t
get64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static void
putf64(unsigned char *p, double d)
{
    uint64_t v;
    memcpy(&v, &d, 8);
    put64(p, v);
}

static double
getf64(const unsigned char *p)
{
    uint64_t v = get64(p);
    double d;
    memcpy(&d, &v, 8);
    return d;
}

/* episode: u64 episode | u64 step | f64 return | u32 length | u32 0 | f64 wall time */
void
episode_encode(const struct episode_rec *e, unsigned char out[EPISODE_REC_SIZE])
{
    memset(out, 0, EPISODE_REC_SIZE);
    put64(out, e->episode);
    put64(out + 8, e->step);
    putf64(out + 16, e->ret);
    put64(out + 24, e->length);
    putf64(out + 32, e->wall_time);
}

int
episode_decode(const void *data, size_t len, struct episode_rec *e)
{
    const unsigned char *p = data;
    if (len != EPISODE_REC_SIZE)
        return MDB_CORRUPTED;
    e->episode = get64(p);
    e->step = get64(p + 8);
    e->ret = getf64(p + 16);
    e->length = (uint32_t)get64(p + 24);
    e->wall_time = getf64(p + 32);
    return 0;
}

static int
put_at(MDB_txn *txn, MDB_dbi dbi, const char *agent, uint64_t n, const void *data, size_t len)
{
    char key[128];
    MDB_val k = {store_agent_key(key, sizeof key, agent, n), key}, v = {len, (void *)data};
    return k.mv_size ? mdb_put(txn, dbi, &k, &v, 0) : MDB_BAD_VALSIZE;
}

int
rec_put_json(struct store *s, MDB_txn *txn, enum store_db db, const char *key, const char *json,
             size_t len)
{
    MDB_val k = {strlen(key), (void *)key}, v = {len, (void *)json};
    return mdb_put(txn, store_dbi(s, db), &k, &v, 0);
}

/* Positions c on the agent's first record numbered >= n; MDB_NOTFOUND when none. */
static int
seek(MDB_cursor *c, const char *agent, uint64_t n, MDB_val *k, MDB_val *v)
{
    char key[128];
    k->mv_size = store_agent_key(key, sizeof key, agent, n);
    k->mv_data = key;
    int rc = mdb_cursor_get(c, k, v, MDB_SET_RANGE);
    if (!rc && store_agent_key_n(k, agent) == UINT64_MAX)
        rc = MDB_NOTFOUND;
    return rc;
}

/* Positions c on the agent's last record; MDB_NOTFOUND when it has none. */
static int
seek_last(MDB_cursor *c, const char *agent, MDB_val *k, MDB_val *v)
{
    char key[128];
    k->mv_size = store_agent_key(key, sizeof key, agent, UINT64_MAX);
    k->mv_data = key;
    int rc = mdb_cursor_get(c, k, v, MDB_SET_RANGE);
    if (rc == MDB_NOTFOUND) /* nothing at or after: the last record of all may be ours */
        rc = mdb_cursor_get(c, k, v, MDB_LAST);
    else if (!rc && store_agent_key_n(k, agent) != UINT64_MAX)
        return 0; /* a record numbered UINT64_MAX */
    else if (!rc)
        rc = mdb_cursor_get(c, k, v, MDB_PREV); /* we stopped on the next agent's first */
    if (!rc && store_agent_key_n(k, agent) == UINT64_MAX)
        rc = MDB_NOTFOUND;
    return rc;
}

/*
 * Retention: deletes the agent's records in dbi numbered below `below`, walking from its
 * first record, so that a lowered limit shrinks what an older, larger one kept. When there
 * is nothing to delete this costs one seek.
 */
static int
trim_below(MDB_txn *txn, MDB_dbi dbi, const char *agent, uint64_t below)
{
    MDB_cursor *c;
    MDB_val k, v;
    int rc = mdb_cursor_open(txn, dbi, &c);
    if (rc)
        return rc;
    for (rc = seek(c, agent, 0, &k, &v); !rc; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        uint64_t n = store_agent_key_n(&k, agent);
        if (n == UINT64_MAX || n >= below)
            break;
        rc = mdb_cursor_del(c, 0);
        if (rc)
            break;
    }
    mdb_cursor_close(c);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

int
rec_put_episodes(struct store *s, MDB_txn *txn, const char *agent, const struct episode_rec *e,
                 size_t n, uint64_t keep)
{
    MDB_dbi dbi = store_dbi(s, DB_EPISODES);
    uint64_t newest = 0;
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        unsigned char v[EPISODE_REC_SIZE];
        episode_encode(&e[i], v);
        rc = put_at(txn, dbi, agent, e[i].episode, v, sizeof v);
        newest = e[i].episode > newest ? e[i].episode : newest;
    }
    if (!rc && keep && newest > keep)
        rc = trim_below(txn, dbi, agent, newest - keep + 1);
    return rc;
}

int
rec_put_episode(struct store *s, MDB_txn *txn, const char *agent, const struct episode_rec *e,
                uint64_t keep)
{
    return rec_put_episodes(s, txn, agent, e, 1, keep);
}

int
rec_put_scalars(struct store *s, MDB_txn *txn, const char *agent, uint64_t seq, const char *json,
                size_t len, uint64_t keep)
{
    MDB_dbi dbi = store_dbi(s, DB_SCALARS);
    int rc = put_at(txn, dbi, agent, seq, json, len);
    if (!rc && keep && seq > keep)
        rc = trim_below(txn, dbi, agent, seq - keep + 1);
    return rc;
}

int
rec_delete_from(struct store *s, MDB_txn *txn, enum store_db db, const char *agent, uint64_t from)
{
    MDB_cursor *c;
    MDB_val k, v;
    int rc = mdb_cursor_open(txn, store_dbi(s, db), &c);
    if (rc)
        return rc;
    for (rc = seek(c, agent, from, &k, &v); !rc; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        if (store_agent_key_n(&k, agent) == UINT64_MAX)
            break;
        rc = mdb_cursor_del(c, 0);
        if (rc)
            break;
    }
    mdb_cursor_close(c);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

/* The number after the agent's newest record in dbi: 1 when it has none. */
static int
next_number(MDB_txn *txn, MDB_dbi dbi, const char *agent, uint64_t *next)
{
    MDB_cursor *c;
    MDB_val k, v;
    int rc = mdb_cursor_open(txn, dbi, &c);
    if (rc)
        return rc;
    rc = seek_last(c, agent, &k, &v);
    if (rc == 0)
        *next = store_agent_key_n(&k, agent) + 1;
    else if (rc == MDB_NOTFOUND)
        *next = 1, rc = 0;
    mdb_cursor_close(c);
    return rc;
}

int
rec_put_checkpoint(struct store *s, MDB_txn *txn, const char *agent, const struct checkpoint_hdr *h,
                   const void *blob, size_t len, unsigned keep)
{
    MDB_dbi dbi = store_dbi(s, DB_CHECKPOINTS);
    /* Keyed by the order they were taken, not by step: a run reset or rolled back to fewer
     * steps still makes its newest checkpoint the last one. */
    uint64_t seq;
    int rc = next_number(txn, dbi, agent, &seq);
    if (rc)
        return rc;
    char key[128];
    MDB_val k = {store_agent_key(key, sizeof key, agent, seq), key};
    MDB_val v = {CHECKPOINT_HDR_SIZE + len, NULL};
    if (!k.mv_size)
        return MDB_BAD_VALSIZE;
    /* MDB_RESERVE: the blob is copied once, straight into the map. */
    rc = mdb_put(txn, dbi, &k, &v, MDB_RESERVE);
    if (rc)
        return rc;
    unsigned char *p = v.mv_data;
    memcpy(p, CHECKPOINT_MAGIC, 4);
    memset(p + 4, 0, 4);
    put64(p + 8, h->step);
    put64(p + 16, h->episodes);
    putf64(p + 24, h->wall_time);
    put64(p + 32, h->scalar_seq);
    memcpy(p + CHECKPOINT_HDR_SIZE, blob, len);
    if (keep && seq > keep)
        rc = trim_below(txn, dbi, agent, seq - keep + 1);
    return rc;
}

int
checkpoint_decode(const void *data, size_t len, struct checkpoint_hdr *h)
{
    const unsigned char *p = data;
    if (len < CHECKPOINT_HDR_SIZE || memcmp(p, CHECKPOINT_MAGIC, 4) != 0)
        return MDB_CORRUPTED;
    h->step = get64(p + 8);
    h->episodes = get64(p + 16);
    h->wall_time = getf64(p + 24);
    h->scalar_seq = get64(p + 32);
    return 0;
}

int
rec_last_checkpoint(struct store *s, MDB_txn *txn, const char *agent, struct checkpoint_hdr *h,
                    const void **blob, size_t *len)
{
    MDB_cursor *c;
    MDB_val k, v;
    int rc = mdb_cursor_open(txn, store_dbi(s, DB_CHECKPOINTS), &c);
    if (rc)
        return rc;
    rc = seek_last(c, agent, &k, &v);
    if (!rc)
        rc = checkpoint_decode(v.mv_data, v.mv_size, h);
    if (!rc) {
        *blob = (const unsigned char *)v.mv_data + CHECKPOINT_HDR_SIZE;
        *len = v.mv_size - CHECKPOINT_HDR_SIZE;
    }
    mdb_cursor_close(c);
    return rc;
}

int
rec_last_n(struct store *s, MDB_txn *txn, enum store_db db, const char *agent, uint64_t *last,
           uint64_t *count)
{
    MDB_cursor *c;
    MDB_val k, v;
    *last = 0;
    *count = 0;
    int rc = mdb_cursor_open(txn, store_dbi(s, db), &c);
    if (rc)
        return rc;
    uint64_t first = UINT64_MAX;
    if (seek(c, agent, 0, &k, &v) == 0)
        first = store_agent_key_n(&k, agent);
    if (first != UINT64_MAX && seek_last(c, agent, &k, &v) == 0) {
        *last = store_agent_key_n(&k, agent);
        *count = *last - first + 1; /* numbers are contiguous in the databases that use this */
    }
    mdb_cursor_close(c);
    return 0;
}

int
rec_each(struct store *s, MDB_txn *txn, enum store_db db, const char *agent, uint64_t from,
         uint64_t to, int (*fn)(uint64_t n, const MDB_val *v, void *arg), void *arg)
{
    MDB_cursor *c;
    MDB_val k, v;
    int rc = mdb_cursor_open(txn, store_dbi(s, db), &c);
    if (rc)
        return rc;
    for (rc = seek(c, agent, from, &k, &v); !rc; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        uint64_t n = store_agent_key_n(&k, agent);
        if (n == UINT64_MAX || n > to || fn(n, &v, arg))
            break;
    }
    mdb_cursor_close(c);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

/* Databases numbered by a u64 (audit, proposals). */

void
rec_u64_key(uint64_t n, unsigned char key[8])
{
    for (int i = 7; i >= 0; i--, n >>= 8)
        key[i] = (unsigned char)n;
}

uint64_t
rec_u64_of(const MDB_val *k)
{
    uint64_t n = 0;
    const unsigned char *p = k->mv_data;
    for (size_t i = 0; i < 8 && i < k->mv_size; i++)
        n = n << 8 | p[i];
    return n;
}

int
rec_u64_last(struct store *s, enum store_db db, uint64_t *last)
{
    MDB_txn *txn;
    MDB_cursor *c;
    MDB_val k, v;
    *last = 0;
    int rc = store_read_begin(s, &txn);
    if (rc)
        return rc;
    if ((rc = mdb_cursor_open(txn, store_dbi(s, db), &c)) == 0) {
        if (mdb_cursor_get(c, &k, &v, MDB_LAST) == 0 && k.mv_size == 8)
            *last = rec_u64_of(&k);
        mdb_cursor_close(c);
    }
    store_read_end(s, txn);
    return rc;
}

int
rec_u64_each_back(struct store *s, enum store_db db, uint64_t before,
                  int (*fn)(const MDB_val *v, void *arg), void *arg)
{
    MDB_txn *txn;
    MDB_cursor *c;
    MDB_val k, v;
    unsigned char key[8];
    int rc = store_read_begin(s, &txn);
    if (rc)
        return rc;
    if ((rc = mdb_cursor_open(txn, store_dbi(s, db), &c)) == 0) {
        if (before) { /* the first entry at or after `before`, then one back */
            rec_u64_key(before, key);
            k = (MDB_val){8, key};
            rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
            rc = rc == MDB_NOTFOUND ? mdb_cursor_get(c, &k, &v, MDB_LAST)
                                    : mdb_cursor_get(c, &k, &v, MDB_PREV);
            if (!rc && rec_u64_of(&k) >= before)
                rc = MDB_NOTFOUND;
        } else {
            rc = mdb_cursor_get(c, &k, &v, MDB_LAST);
        }
        while (!rc && fn(&v, arg) == 0)
            rc = mdb_cursor_get(c, &k, &v, MDB_PREV);
        mdb_cursor_close(c);
    }
    store_read_end(s, txn);
    return rc == MDB_NOTFOUND ? 0 : rc;
}
