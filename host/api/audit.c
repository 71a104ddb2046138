#include <math.h>
#include <string.h>
#include <time.h>
#include "audit.h"
#include "host.h"
#include "store.h"
#include "writer.h"

static void
key_of(uint64_t seq, unsigned char key[8])
{
    for (int i = 7; i >= 0; i--, seq >>= 8)
        key[i] = (unsigned char)seq;
}

static uint64_t
seq_of(const MDB_val *k)
{
    uint64_t seq = 0;
    const unsigned char *p = k->mv_data;
    for (size_t i = 0; i < 8 && i < k->mv_size; i++)
        seq = seq << 8 | p[i];
    return seq;
}

int
audit_open(struct host *h)
{
    MDB_txn *txn;
    MDB_cursor *c;
    MDB_val k, v;
    uint64_t last = 0;
    int rc = store_read_begin(h->store, &txn);
    if (rc)
        return rc;
    if ((rc = mdb_cursor_open(txn, store_dbi(h->store, DB_AUDIT), &c)) == 0) {
        if (mdb_cursor_get(c, &k, &v, MDB_LAST) == 0 && k.mv_size == 8)
            last = seq_of(&k);
        mdb_cursor_close(c);
    }
    store_read_end(h->store, txn);
    atomic_store(&h->audit_seq, last);
    return rc;
}

/* Queues entry e (consumed) under the next sequence number, and drops the oldest. */
static void
append(struct host *h, uint64_t seq, json_t *e)
{
    char *text = e ? json_dumps(e, JSON_COMPACT) : NULL;
    json_decref(e);
    unsigned char key[8];
    key_of(seq, key);
    if (text)
        writer_put(h->writer, DB_AUDIT, key, sizeof key, text, strlen(text));
    free(text);
    if (h->cfg.audit_kept && seq > h->cfg.audit_kept) {
        key_of(seq - h->cfg.audit_kept, key);
        writer_del(h->writer, DB_AUDIT, key, sizeof key);
    }
}

static double
unix_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

void
audit_append(struct host *h, const struct api_req *q)
{
    uint64_t seq = atomic_fetch_add(&h->audit_seq, 1) + 1;
    json_t *who = q->who.role == ROLE_NONE
                      ? json_null()
                      : json_pack("{s:s, s:s, s:s}", "token", q->who.id, "name", q->who.name,
                                  "role", api_role_name(q->who.role));
    append(h, seq,
           json_pack("{s:I, s:f, s:o, s:s, s:s, s:s, s:i, s:s, s:s}", "seq", (json_int_t)seq,
                     "time", unix_now(), "who", who, "address", q->addr, "method", q->method,
                     "path", q->path, "status", q->status, "outcome",
                     q->status < 400 ? "ok" : "refused", "detail",
                     q->status < 400 ? q->audit : q->message));
}

void
audit_append_system(struct host *h, const char *who, const char *method, const char *path,
                    int status, const char *detail)
{
    uint64_t seq = atomic_fetch_add(&h->audit_seq, 1) + 1;
    append(h, seq,
           json_pack("{s:I, s:f, s:{s:n, s:s, s:s}, s:s, s:s, s:s, s:i, s:s, s:s}", "seq",
                     (json_int_t)seq, "time", unix_now(), "who", "token", "name", who, "role",
                     "system", "address", "", "method", method, "path", path, "status", status,
                     "outcome", status < 400 ? "ok" : "refused", "detail", detail));
}

json_t *
audit_list(struct host *h, uint64_t before, size_t limit)
{
    json_t *out = json_array();
    MDB_txn *txn;
    MDB_cursor *c;
    MDB_val k, v;
    unsigned char key[8];
    if (!out || store_read_begin(h->store, &txn))
        return out;
    if (mdb_cursor_open(txn, store_dbi(h->store, DB_AUDIT), &c) == 0) {
        int rc;
        if (before) { /* the first entry at or after `before`, then step back */
            key_of(before, key);
            k = (MDB_val){8, key};
            rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
            rc = rc == MDB_NOTFOUND ? mdb_cursor_get(c, &k, &v, MDB_LAST)
                                    : mdb_cursor_get(c, &k, &v, MDB_PREV);
            if (!rc && seq_of(&k) >= before)
                rc = MDB_NOTFOUND;
        } else {
            rc = mdb_cursor_get(c, &k, &v, MDB_LAST);
        }
        for (; !rc && json_array_size(out) < limit; rc = mdb_cursor_get(c, &k, &v, MDB_PREV)) {
            json_t *e = json_loadb(v.mv_data, v.mv_size, 0, NULL);
            if (e)
                json_array_append_new(out, e);
        }
        mdb_cursor_close(c);
    }
    store_read_end(h->store, txn);
    return out;
}
