/*
 * The tokens' records in DB_TOKENS: loaded into memory at start, written when a token
 * changes (tokens.c), and the last uses queued lazily — every TOKENS_PERSIST_S from the
 * stream's hub, and at close — so that no request waits for a commit to record a use.
 */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "host.h"
#include "log.h"
#include "persist.h"
#include "store.h"
#include "tokens_internal.h"
#include "writer.h"

static const char *
or_empty(const char *s)
{
    return s ? s : "";
}

static int
hex_to_hash(const char *hex, unsigned char out[TOKEN_HASH_BYTES])
{
    size_t n = 0;
    return hex && sodium_hex2bin(out, TOKEN_HASH_BYTES, hex, strlen(hex), NULL, &n, NULL) == 0 &&
                   n == TOKEN_HASH_BYTES
               ? 0
               : -1;
}
double
tokens__number(const json_t *rec, const char *key)
{
    return json_is_number(json_object_get(rec, key)) ? json_number_value(json_object_get(rec, key))
                                                     : 0;
}
/* The token a stored record describes; -1 when it is not one (a record of before this release
 * has no expiry, rotation or use: all of them read as absent). */
static int
token_from_record(const void *key, size_t klen, const json_t *rec, struct token *t)
{
    memset(t, 0, sizeof *t);
    if (klen != TOKEN_ID_BYTES ||
        hex_to_hash(json_string_value(json_object_get(rec, "hash")), t->hash))
        return -1;
    memcpy(t->id, key, TOKEN_ID_BYTES);
    t->role = api_role_parse(or_empty(json_string_value(json_object_get(rec, "role"))));
    snprintf(t->name, sizeof t->name, "%s",
             or_empty(json_string_value(json_object_get(rec, "name"))));
    t->expires = tokens__number(rec, "expires");
    t->has_previous =
        hex_to_hash(json_string_value(json_object_get(rec, "previous_hash")), t->previous) == 0;
    t->previous_until = tokens__number(rec, "previous_until");
    t->last_used = tokens__number(rec, "last_used");
    snprintf(t->last_address, sizeof t->last_address, "%s",
             or_empty(json_string_value(json_object_get(rec, "last_address"))));
    t->previous_last_used = tokens__number(rec, "previous_last_used");
    return t->role == ROLE_NONE ? -1 : 0;
}
struct token *
tokens__find(struct tokens *ts, const unsigned char id[TOKEN_ID_BYTES])
{
    for (size_t i = 0; i < ts->n; i++)
        if (memcmp(ts->v[i].id, id, TOKEN_ID_BYTES) == 0)
            return &ts->v[i];
    return NULL;
}
int
tokens__append(struct tokens *ts, const struct token *t)
{
    if (ts->n == ts->cap) {
        size_t cap = ts->cap ? ts->cap * 2 : 16;
        struct token *v = realloc(ts->v, cap * sizeof *v);
        if (!v)
            return -ENOMEM;
        ts->v = v;
        ts->cap = cap;
    }
    ts->v[ts->n++] = *t;
    return 0;
}
int
tokens_open(struct host *h, char *err, size_t errlen)
{
    struct tokens *ts = calloc(1, sizeof *ts);
    MDB_txn *txn;
    MDB_cursor *c;
    MDB_val k, v;
    if (!ts) {
        snprintf(err, errlen, "cannot load the tokens: out of memory");
        return -1;
    }
    pthread_mutex_init(&ts->lock, NULL);
    pthread_mutex_init(&ts->change, NULL);
    ts->persisted = host_now();
    h->api->tokens = ts;
    if (store_read_begin(h->store, &txn)) {
        snprintf(err, errlen, "cannot read the tokens from the state store");
        return -1;
    }
    int rc = mdb_cursor_open(txn, store_dbi(h->store, DB_TOKENS), &c);
    if (rc == 0) {
        for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); !rc;
             rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
            json_t *rec = json_loadb(v.mv_data, v.mv_size, 0, NULL);
            struct token t;
            if (token_from_record(k.mv_data, k.mv_size, rec, &t) != 0)
                hlog(LOG_WARN, "api", "ignored an unreadable token record in the state store");
            else if (tokens__append(ts, &t) != 0)
                rc = ENOMEM;
            json_decref(rec);
            if (rc)
                break;
        }
        mdb_cursor_close(c);
    }
    store_read_end(h->store, txn);
    if (rc != MDB_NOTFOUND) { /* MDB_NOTFOUND: the cursor's end */
        snprintf(err, errlen, "cannot read the tokens from the state store: %s",
                 rc == ENOMEM ? "out of memory" : mdb_strerror(rc));
        return -1;
    }
    return 0;
}
/* The record with the last uses of t set (they are the only fields memory knows better). */
void
tokens__set_uses(json_t *rec, const struct token *t)
{
    if (t->last_used > 0) {
        json_object_set_new(rec, "last_used", json_real(t->last_used));
        json_object_set_new(rec, "last_address", json_string(t->last_address));
    }
    if (t->previous_last_used > 0)
        json_object_set_new(rec, "previous_last_used", json_real(t->previous_last_used));
}
/* Queues rec under id; 0 or -ENOMEM. */
int
tokens__queue_record(struct host *h, const unsigned char id[TOKEN_ID_BYTES], const json_t *rec)
{
    char *value = rec ? json_dumps(rec, JSON_COMPACT | JSON_REAL_PRECISION(17)) : NULL;
    int rc =
        value && writer_put(h->writer, DB_TOKENS, id, TOKEN_ID_BYTES, value, strlen(value)) == 0
            ? 0
            : -ENOMEM;
    free(value);
    return rc;
}
/* Queues the uses the store has not got (under change). */
static void
persist_uses(struct host *h)
{
    struct tokens *ts = h->api->tokens;
    for (size_t i = 0;; i++) {
        struct token t;
        pthread_mutex_lock(&ts->lock);
        int more = i < ts->n;
        if (more) {
            t = ts->v[i];
            ts->v[i].dirty = 0;
        }
        pthread_mutex_unlock(&ts->lock);
        if (!more)
            break;
        if (!t.dirty)
            continue;
        /* Changes commit before they are seen, so the stored record is the current one. */
        json_t *rec = persist_get_json(h, DB_TOKENS, t.id, TOKEN_ID_BYTES);
        if (rec) {
            tokens__set_uses(rec, &t);
            tokens__queue_record(h, t.id, rec);
        }
        json_decref(rec);
    }
    ts->persisted = host_now();
}
void
tokens_tick(struct host *h)
{
    struct tokens *ts = h->api ? h->api->tokens : NULL;
    /* The caller is the stream's hub: it does not wait for a change to commit. */
    if (!ts || pthread_mutex_trylock(&ts->change) != 0)
        return;
    if (host_now() - ts->persisted >= TOKENS_PERSIST_S)
        persist_uses(h);
    pthread_mutex_unlock(&ts->change);
}
void
tokens_close(struct host *h)
{
    struct tokens *ts = h->api ? h->api->tokens : NULL;
    if (!ts)
        return;
    pthread_mutex_lock(&ts->change);
    persist_uses(h);
    pthread_mutex_unlock(&ts->change);
    pthread_mutex_destroy(&ts->change);
    pthread_mutex_destroy(&ts->lock);
    sodium_memzero(ts->v, ts->cap * sizeof *ts->v);
    free(ts->v);
    free(ts);
    h->api->tokens = NULL;
}
