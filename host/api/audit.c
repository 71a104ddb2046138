#include <math.h>
#include <string.h>
#include <time.h>
#include "audit.h"
#include "host.h"
#include "records.h"
#include "store.h"
#include "writer.h"

int
audit_open(struct host *h)
{
    uint64_t last;
    int rc = rec_u64_last(h->store, DB_AUDIT, &last);
    atomic_store(&h->audit_seq, last);
    return rc;
}

/* Queues entry e (consumed) under sequence number seq, and drops the oldest. */
static void
append(struct host *h, uint64_t seq, json_t *e)
{
    char *text = e ? json_dumps(e, JSON_COMPACT) : NULL;
    json_decref(e);
    unsigned char key[8];
    rec_u64_key(seq, key);
    if (text)
        writer_put(h->writer, DB_AUDIT, key, sizeof key, text, strlen(text));
    free(text);
    if (h->cfg.audit_kept && seq > h->cfg.audit_kept) {
        rec_u64_key(seq - h->cfg.audit_kept, key);
        writer_del(h->writer, DB_AUDIT, key, sizeof key);
    }
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
                     "time", host_wall(), "who", who, "address", q->addr, "method", q->method,
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
                     (json_int_t)seq, "time", host_wall(), "who", "token", "name", who, "role",
                     "system", "address", "", "method", method, "path", path, "status", status,
                     "outcome", status < 400 ? "ok" : "refused", "detail", detail));
}

/* Collects entries up to a limit. */
struct listing {
    json_t *out;
    size_t limit;
};

static int
add_entry(const MDB_val *v, void *arg)
{
    struct listing *l = arg;
    json_t *e = json_loadb(v->mv_data, v->mv_size, 0, NULL);
    if (e)
        json_array_append_new(l->out, e);
    return json_array_size(l->out) >= l->limit;
}

json_t *
audit_list(struct host *h, uint64_t before, size_t limit)
{
    struct listing l = {json_array(), limit};
    if (l.out && limit)
        rec_u64_each_back(h->store, DB_AUDIT, before, add_entry, &l);
    return l.out;
}
