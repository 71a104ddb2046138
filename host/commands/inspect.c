/*
 * tarsd inspect: a read-only view of a state dir, safe while a daemon runs on it (LMDB
 * readers never block the writer). Schema, and per agent its plugins, steps and episodes at
 * the last checkpoint, and what the history holds (checked for gaps). --history ID lists one
 * agent's recorded episodes.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "commands.h"
#include "host.h"
#include "records.h"
#include "store.h"

struct span {
    uint64_t count, first, last, missing;
};

/* Counts an agent's records and the numbers missing between the first and the last. */
static int
span_step(uint64_t n, const MDB_val *v, void *arg)
{
    (void)v;
    struct span *s = arg;
    if (s->count && n != s->last + 1)
        s->missing += n - s->last - 1;
    if (!s->count)
        s->first = n;
    s->last = n;
    s->count++;
    return 0;
}

static json_t *
agent_json(struct store *st, MDB_txn *txn, const char *id, json_t *rec)
{
    struct checkpoint_hdr h;
    const void *blob;
    size_t len;
    struct span ep = {0}, sc = {0};
    rec_each(st, txn, DB_EPISODES, id, 0, UINT64_MAX, span_step, &ep);
    rec_each(st, txn, DB_SCALARS, id, 0, UINT64_MAX, span_step, &sc);
    json_t *o = json_pack("{s:s, s:O, s:O, s:O, s:O, s:O}", "id", id, "agent",
                          json_object_get(rec, "agent"), "env", json_object_get(rec, "env"),
                          "n_envs", json_object_get(rec, "n_envs"), "seed",
                          json_object_get(rec, "seed"), "origin", json_object_get(rec, "origin"));
    if (!o)
        return NULL;
    if (rec_last_checkpoint(st, txn, id, &h, &blob, &len) == 0) {
        json_object_set_new(o, "steps", json_integer((json_int_t)h.step));
        json_object_set_new(o, "episodes", json_integer((json_int_t)h.episodes));
        json_object_set_new(o, "checkpoint",
                            json_pack("{s:I, s:f, s:I}", "step", (json_int_t)h.step, "time",
                                      h.wall_time, "bytes", (json_int_t)len));
    } else {
        json_object_set_new(o, "steps", json_integer(0));
        json_object_set_new(o, "episodes", json_integer(0));
        json_object_set_new(o, "checkpoint", json_null());
    }
    json_object_set_new(o, "history",
                        json_pack("{s:I, s:I, s:I, s:I}", "recorded", (json_int_t)ep.count, "first",
                                  (json_int_t)ep.first, "last", (json_int_t)ep.last, "missing",
                                  (json_int_t)ep.missing));
    json_object_set_new(o, "scalars", json_integer((json_int_t)sc.count));
    return o;
}

static int
history_row(uint64_t n, const MDB_val *v, void *arg)
{
    struct episode_rec e;
    (void)n;
    if (episode_decode(v->mv_data, v->mv_size, &e) == 0)
        json_array_append_new(arg,
                              json_pack("{s:I, s:I, s:f, s:i, s:f}", "episode",
                                        (json_int_t)e.episode, "step", (json_int_t)e.step, "return",
                                        e.ret, "length", (int)e.length, "time", e.wall_time));
    return 0;
}

static void
print_text(json_t *out)
{
    printf("state dir %s, schema %lld, created by tars %s\n",
           json_string_value(json_object_get(out, "state_dir")),
           json_integer_value(json_object_get(out, "schema_version")),
           json_string_value(json_object_get(out, "tars_version")));
    printf("%-16s %-8s %-22s %12s %10s %12s %s\n", "AGENT", "PLUGIN", "ENV", "STEPS", "EPISODES",
           "HISTORY", "LAST CHECKPOINT");
    size_t i;
    json_t *a;
    json_array_foreach(json_object_get(out, "agents"), i, a)
    {
        json_t *ck = json_object_get(a, "checkpoint");
        char when[64] = "none";
        if (json_is_object(ck)) {
            time_t t = (time_t)json_real_value(json_object_get(ck, "time"));
            struct tm tm;
            gmtime_r(&t, &tm);
            strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
        }
        printf("%-16s %-8s %-22s %12lld %10lld %12lld %s\n",
               json_string_value(json_object_get(a, "id")),
               json_string_value(json_object_get(a, "agent")),
               json_string_value(json_object_get(a, "env")),
               json_integer_value(json_object_get(a, "steps")),
               json_integer_value(json_object_get(a, "episodes")),
               json_integer_value(json_object_get(json_object_get(a, "history"), "recorded")),
               when);
    }
}

static json_t *
overview(struct store *st, MDB_txn *txn)
{
    MDB_val k = {14, "schema_version"}, v;
    uint32_t schema = 0;
    if (mdb_get(txn, store_dbi(st, DB_META), &k, &v) == 0 && v.mv_size == 4)
        memcpy(&schema, v.mv_data, 4);
    k = (MDB_val){12, "tars_version"};
    char version[64] = "?";
    if (mdb_get(txn, store_dbi(st, DB_META), &k, &v) == 0)
        snprintf(version, sizeof version, "%.*s", (int)v.mv_size, (const char *)v.mv_data);
    json_t *agents = json_array();
    MDB_cursor *c;
    if (mdb_cursor_open(txn, store_dbi(st, DB_AGENTS), &c) == 0) {
        for (int rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); !rc;
             rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
            char id[128];
            snprintf(id, sizeof id, "%.*s", (int)k.mv_size, (const char *)k.mv_data);
            json_t *rec = json_loadb(v.mv_data, v.mv_size, 0, NULL);
            json_t *a = rec ? agent_json(st, txn, id, rec) : NULL;
            if (a)
                json_array_append_new(agents, a);
            json_decref(rec);
        }
        mdb_cursor_close(c);
    }
    return json_pack("{s:s, s:i, s:s, s:o}", "state_dir", store_dir(st), "schema_version",
                     (int)schema, "tars_version", version, "agents", agents);
}

int
cmd_inspect(const struct opts *o)
{
    struct host *h = calloc(1, sizeof *h);
    struct diag d = {0};
    struct store *st = NULL;
    char err[768];
    int rc = 1;
    if (!h || host_configure(h, &o->flags, &d)) {
        diag_print(&d, stderr, "tarsd: ");
        goto out;
    }
    if (store_open(&st, h->cfg.state_dir, STORE_RDONLY, 0, err, sizeof err)) {
        fprintf(stderr, "tarsd: %s\n", err);
        goto out;
    }
    MDB_txn *txn;
    int mrc = store_read_begin(st, &txn);
    if (mrc) {
        fprintf(stderr, "tarsd: cannot read %s: %s\n", h->cfg.state_dir, store_strerror(mrc));
        goto out;
    }
    json_t *out;
    if (o->history) {
        out = json_array();
        rec_each(st, txn, DB_EPISODES, o->history, 0, UINT64_MAX, history_row, out);
    } else {
        out = overview(st, txn);
    }
    store_read_end(st, txn);
    if (o->json || o->history) {
        char *text = out ? json_dumps(out, JSON_COMPACT) : NULL;
        if (text)
            printf("%s\n", text);
        free(text);
    } else if (out) {
        print_text(out);
    }
    json_decref(out);
    rc = out ? 0 : 1;
out:
    store_close(st);
    diag_free(&d);
    if (h)
        host_teardown(h);
    free(h);
    return rc;
}
