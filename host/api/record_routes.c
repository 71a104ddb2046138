/*
 * An agent's stored records, paged: episode history, training scalars, checkpoints. Pages
 * are ranges of record numbers: `from` and `limit`, or `tail` for the newest; a reply says
 * the range the store holds (first, last) and where the next page starts (null: none).
 */
#include <string.h>
#include "api.h"
#include "host.h"
#include "rcu.h"
#include "records.h"
#include "store.h"

#define PAGE_MAX 10000

static int
exists(struct api_req *q)
{
    rcu_enter();
    int found = runset_find(runs_current(&q->h->runs), q->params[0]) != NULL;
    rcu_leave();
    if (!found)
        api_error(q, 404, "not_found", "no agent '%s'", q->params[0]);
    return found;
}

struct page {
    enum store_db db;
    json_t *items;
    uint64_t first, last, from, to;
};

/* The range asked for, within what the store holds. Returns -1 after replying 400. */
static int
page_range(struct api_req *q, MDB_txn *txn, struct page *p)
{
    uint64_t count, from, limit, tail;
    rec_last_n(q->h->store, txn, p->db, q->params[0], &p->last, &count);
    p->first = count ? p->last - count + 1 : 0;
    if (api_query_u64(q, "tail", 0, 1, PAGE_MAX, &tail) ||
        api_query_u64(q, "from", p->first, 0, UINT64_MAX, &from) ||
        api_query_u64(q, "limit", 100, 1, PAGE_MAX, &limit))
        return -1;
    if (tail) {
        from = p->last >= tail ? p->last - tail + 1 : 0;
        limit = tail;
    }
    p->from = from < p->first ? p->first : from;
    p->to = p->from + limit - 1 < p->from ? UINT64_MAX : p->from + limit - 1;
    return 0;
}

static int
add_episode(uint64_t n, const MDB_val *v, void *arg)
{
    struct page *p = arg;
    struct episode_rec e;
    if (episode_decode(v->mv_data, v->mv_size, &e) == 0)
        json_array_append_new(p->items,
                              json_pack("{s:I, s:I, s:f, s:i, s:f}", "episode", (json_int_t)n,
                                        "step", (json_int_t)e.step, "return", e.ret, "length",
                                        (int)e.length, "time", e.wall_time));
    return 0;
}

static int
add_scalars(uint64_t n, const MDB_val *v, void *arg)
{
    struct page *p = arg;
    json_t *o = json_loadb(v->mv_data, v->mv_size, 0, NULL);
    if (o) {
        json_object_set_new(o, "seq", json_integer((json_int_t)n));
        json_array_append_new(p->items, o);
    }
    return 0;
}

static int
paged(struct api_req *q, enum store_db db, const char *name,
      int (*add)(uint64_t n, const MDB_val *v, void *arg))
{
    MDB_txn *txn;
    struct page p = {.db = db, .items = json_array()};
    if (!exists(q) || !p.items) {
        json_decref(p.items);
        return q->status;
    }
    int rc = store_read_begin(q->h->store, &txn);
    if (rc) {
        json_decref(p.items);
        return api_error(q, 500, "internal", "cannot read the state store: %s", store_strerror(rc));
    }
    int bad = page_range(q, txn, &p);
    if (!bad && p.last)
        rec_each(q->h->store, txn, db, q->params[0], p.from, p.to, add, &p);
    store_read_end(q->h->store, txn);
    if (bad) {
        json_decref(p.items);
        return q->status;
    }
    int more = p.last && p.to < p.last;
    return api_reply(q, 200,
                     json_pack("{s:s, s:I, s:I, s:o, s:o}", "id", q->params[0], "first",
                               (json_int_t)p.first, "last", (json_int_t)p.last, name, p.items,
                               "next", more ? json_integer((json_int_t)p.to + 1) : json_null()));
}

int
api_agent_history(struct api_req *q)
{
    return paged(q, DB_EPISODES, "episodes", add_episode);
}

int
api_agent_scalars(struct api_req *q)
{
    return paged(q, DB_SCALARS, "scalars", add_scalars);
}

static int
add_checkpoint(uint64_t n, const MDB_val *v, void *arg)
{
    (void)n;
    json_t *list = arg;
    struct checkpoint_hdr hdr;
    if (checkpoint_decode(v->mv_data, v->mv_size, &hdr) == 0)
        json_array_append_new(list, json_pack("{s:I, s:I, s:f, s:I}", "step", (json_int_t)hdr.step,
                                              "episodes", (json_int_t)hdr.episodes, "time",
                                              hdr.wall_time, "bytes", (json_int_t)v->mv_size));
    return 0;
}

int
api_agent_checkpoints(struct api_req *q)
{
    MDB_txn *txn;
    if (!exists(q))
        return q->status;
    json_t *list = json_array();
    int rc = store_read_begin(q->h->store, &txn);
    if (rc) {
        json_decref(list);
        return api_error(q, 500, "internal", "cannot read the state store: %s", store_strerror(rc));
    }
    rec_each(q->h->store, txn, DB_CHECKPOINTS, q->params[0], 0, UINT64_MAX, add_checkpoint, list);
    store_read_end(q->h->store, txn);
    return api_reply(q, 200, json_pack("{s:s, s:o}", "id", q->params[0], "checkpoints", list));
}
