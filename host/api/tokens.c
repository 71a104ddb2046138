/*
 * Tokens in memory (what authentication reads) over their records in DB_TOKENS (what
 * survives a restart). A change is committed first and made visible in memory after, under
 * `change`; last uses go the other way, memory first and the store lazily (tokens.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "host.h"
#include "persist.h"
#include "log.h"
#include "store.h"
#include "tokens_internal.h"
#include "writer.h"

#define TOKEN_PREFIX "tars_"

static void
token_hash(const char *text, unsigned char hash[TOKEN_HASH_BYTES])
{
    crypto_hash_sha256(hash, (const unsigned char *)text, strlen(text));
}

/* "2026-12-01T21:49:46Z" */
static const char *
iso_time(char buf[32], double t)
{
    time_t s = (time_t)t;
    struct tm tm;
    if (!gmtime_r(&s, &tm) || !strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm))
        snprintf(buf, 32, "%.0f", t);
    return buf;
}

static int
parse_id(const char *id, unsigned char key[TOKEN_ID_BYTES])
{
    size_t n = 0;
    return strlen(id) == 2 * TOKEN_ID_BYTES &&
                   sodium_hex2bin(key, TOKEN_ID_BYTES, id, strlen(id), NULL, &n, NULL) == 0 &&
                   n == TOKEN_ID_BYTES
               ? 0
               : -1;
}

/* A fresh secret's text and hash. */
static void
new_secret(char text[TOKEN_TEXT_LEN + 1], unsigned char hash[TOKEN_HASH_BYTES])
{
    unsigned char secret[32];
    char b64[64];
    randombytes_buf(secret, sizeof secret);
    sodium_bin2base64(b64, sizeof b64, secret, sizeof secret,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(secret, sizeof secret);
    memcpy(text, TOKEN_PREFIX, 5);
    memcpy(text + 5, b64, TOKEN_TEXT_LEN - 5); /* 32 bytes are 43 base64url characters */
    text[TOKEN_TEXT_LEN] = '\0';
    sodium_memzero(b64, sizeof b64);
    token_hash(text, hash);
}

int
tokens_create(struct host *h, enum api_role role, const char *name, const char *by, double expires,
              char text[TOKEN_TEXT_LEN + 1], char id[17], char *err, size_t errlen)
{
    struct tokens *ts = h->api->tokens;
    struct token t = {.role = role, .expires = expires};
    char hex[2 * TOKEN_HASH_BYTES + 1];
    snprintf(t.name, sizeof t.name, "%s", name);
    pthread_mutex_lock(&ts->change);
    int taken;
    do { /* 64-bit ids do not collide, but a collision would replace a token */
        new_secret(text, t.hash);
        memcpy(t.id, t.hash, TOKEN_ID_BYTES);
        pthread_mutex_lock(&ts->lock);
        taken = tokens__find(ts, t.id) != NULL;
        pthread_mutex_unlock(&ts->lock);
    } while (taken);
    sodium_bin2hex(hex, sizeof hex, t.hash, sizeof t.hash);
    sodium_bin2hex(id, 17, t.id, TOKEN_ID_BYTES);
    json_t *rec = json_pack("{s:s, s:s, s:s, s:f, s:s}", "hash", hex, "name", name, "role",
                            api_role_name(role), "created", host_wall(), "created_by", by);
    if (rec && expires > 0)
        json_object_set_new(rec, "expires", json_real(expires));
    int rc = tokens__queue_record(h, t.id, rec);
    json_decref(rec);
    if (rc) {
        snprintf(err, errlen, "cannot create the token: out of memory");
    } else if ((rc = persist_commit(h, err, errlen)) != 0) {
        /* The put stays queued for a retry; a token the caller never saw must not follow. */
        writer_del(h->writer, DB_TOKENS, t.id, TOKEN_ID_BYTES);
    } else {
        pthread_mutex_lock(&ts->lock);
        rc = tokens__append(ts, &t);
        pthread_mutex_unlock(&ts->lock);
        if (rc)
            snprintf(err, errlen, "cannot create the token: out of memory");
    }
    pthread_mutex_unlock(&ts->change);
    sodium_memzero(&t, sizeof t);
    if (rc)
        sodium_memzero(text, TOKEN_TEXT_LEN + 1);
    return rc;
}

/* Why t, matched by its current secret (previous: the one before), does not work now; NULL
 * when it does. */
static const char *
refusal(const struct token *t, int previous, double now, char *why, size_t whylen)
{
    char when[32];
    if (t->expires > 0 && now >= t->expires) {
        snprintf(why, whylen, "the token '%s' expired at %s", t->name, iso_time(when, t->expires));
        return why;
    }
    if (previous && now >= t->previous_until) {
        snprintf(why, whylen,
                 "this secret of the token '%s' was rotated out: it stopped working at %s", t->name,
                 iso_time(when, t->previous_until));
        return why;
    }
    return NULL;
}

int
tokens_authenticate(struct host *h, const char *text, const char *addr, struct api_who *who,
                    struct token_grant *grant, char *why, size_t whylen)
{
    struct tokens *ts = h->api->tokens;
    unsigned char hash[TOKEN_HASH_BYTES];
    char spare[256];
    if (!why) {
        why = spare;
        whylen = sizeof spare;
    }
    memset(who, 0, sizeof *who);
    snprintf(why, whylen, "the token is not valid (revoked or mistyped?)");
    if (!ts || strlen(text) != TOKEN_TEXT_LEN || strncmp(text, TOKEN_PREFIX, 5) != 0)
        return -EACCES; /* !ts: the API is not installed (a harness without tokens_open) */
    token_hash(text, hash);
    double now = host_wall();
    int rc = -EACCES;
    pthread_mutex_lock(&ts->lock);
    for (size_t i = 0; i < ts->n; i++) {
        struct token *t = &ts->v[i];
        int current = sodium_memcmp(t->hash, hash, sizeof hash) == 0;
        int previous =
            !current && t->has_previous && sodium_memcmp(t->previous, hash, sizeof hash) == 0;
        if (!current && !previous)
            continue;
        if (refusal(t, previous, now, why, whylen)) {
            rc = -EKEYEXPIRED;
            break;
        }
        sodium_bin2hex(who->id, sizeof who->id, t->id, TOKEN_ID_BYTES);
        snprintf(who->name, sizeof who->name, "%s", t->name);
        who->role = t->role;
        if (grant) {
            memcpy(grant->id, t->id, TOKEN_ID_BYTES);
            memcpy(grant->hash, hash, sizeof hash);
        }
        if (addr) { /* the token's last use, whichever secret; and the old secret's own */
            t->last_used = now;
            if (previous)
                t->previous_last_used = now;
            snprintf(t->last_address, sizeof t->last_address, "%s", addr);
            t->dirty = 1;
        }
        rc = 0;
        break;
    }
    pthread_mutex_unlock(&ts->lock);
    sodium_memzero(hash, sizeof hash);
    return rc;
}

int
tokens_verify(struct host *h, const char *text, struct api_who *who)
{
    return tokens_authenticate(h, text, NULL, who, NULL, NULL, 0) == 0 ? 0 : -1;
}

int
tokens_grant_check(struct host *h, const struct token_grant *g, char *why, size_t whylen)
{
    struct tokens *ts = h->api->tokens;
    double now = host_wall();
    int rc = 0;
    if (!ts) {
        snprintf(why, whylen, "token revoked");
        return -EKEYREVOKED;
    }
    pthread_mutex_lock(&ts->lock);
    const struct token *t = tokens__find(ts, g->id);
    if (!t) {
        snprintf(why, whylen, "token revoked");
        rc = -EKEYREVOKED;
    } else if (t->expires > 0 && now >= t->expires) {
        snprintf(why, whylen, "token expired");
        rc = -EKEYEXPIRED;
    } else if (sodium_memcmp(t->hash, g->hash, sizeof g->hash) != 0 &&
               !(t->has_previous && sodium_memcmp(t->previous, g->hash, sizeof g->hash) == 0 &&
                 now < t->previous_until)) {
        snprintf(why, whylen, "token rotated: the old secret's grace period ended");
        rc = -EKEYEXPIRED;
    }
    pthread_mutex_unlock(&ts->lock);
    return rc;
}

/* Copies the token with this text id out of memory: 0 or -ENOENT (with err). */
static int
lookup(struct tokens *ts, const char *id, struct token *out, char *err, size_t errlen)
{
    unsigned char key[TOKEN_ID_BYTES];
    const struct token *t = NULL;
    pthread_mutex_lock(&ts->lock);
    if (parse_id(id, key) == 0 && (t = tokens__find(ts, key)) != NULL)
        *out = *t;
    pthread_mutex_unlock(&ts->lock);
    if (!t)
        snprintf(err, errlen, "no token '%s'", id);
    return t ? 0 : -ENOENT;
}

/* Gives t a new secret (text) and moves its current one to previous for grace seconds, in t
 * and in its record rec. */
static void
rotate_record(struct token *t, json_t *rec, double grace, char text[TOKEN_TEXT_LEN + 1])
{
    char hex[2 * TOKEN_HASH_BYTES + 1];
    double now = host_wall();
    memcpy(t->previous, t->hash, sizeof t->hash);
    t->has_previous = 1;
    t->previous_until = now + grace;
    t->previous_last_used = 0;
    new_secret(text, t->hash);
    sodium_bin2hex(hex, sizeof hex, t->hash, sizeof t->hash);
    json_object_set_new(rec, "hash", json_string(hex));
    sodium_bin2hex(hex, sizeof hex, t->previous, sizeof t->previous);
    json_object_set_new(rec, "previous_hash", json_string(hex));
    json_object_set_new(rec, "previous_until", json_real(t->previous_until));
    json_object_del(rec, "previous_last_used");
    json_object_set_new(rec, "rotated", json_real(now));
}

/* Makes a committed rotation of t seen, keeping the uses made meanwhile. */
static void
publish_rotation(struct tokens *ts, const struct token *t)
{
    pthread_mutex_lock(&ts->lock);
    struct token *live = tokens__find(ts, t->id);
    if (live) {
        memcpy(live->hash, t->hash, sizeof t->hash);
        memcpy(live->previous, t->previous, sizeof t->previous);
        live->has_previous = 1;
        live->previous_until = t->previous_until;
        live->previous_last_used = 0;
    }
    pthread_mutex_unlock(&ts->lock);
}

int
tokens_rotate(struct host *h, const char *id, double grace, char text[TOKEN_TEXT_LEN + 1],
              double *previous_until, char *err, size_t errlen)
{
    struct tokens *ts = h->api->tokens;
    struct token t;
    pthread_mutex_lock(&ts->change);
    int rc = lookup(ts, id, &t, err, errlen);
    json_t *stored = rc ? NULL : persist_get_json(h, DB_TOKENS, t.id, TOKEN_ID_BYTES);
    json_t *rec = stored ? json_deep_copy(stored) : NULL;
    if (!rc && !rec) {
        snprintf(err, errlen, "cannot rotate the token '%s': its record cannot be read", id);
        rc = -EIO;
    }
    if (rc)
        goto out;
    rotate_record(&t, rec, grace, text);
    tokens__set_uses(rec, &t);
    if ((rc = tokens__queue_record(h, t.id, rec)) != 0) {
        snprintf(err, errlen, "cannot rotate the token '%s': out of memory", id);
    } else if ((rc = persist_commit(h, err, errlen)) != 0) {
        /* The new record stays queued for a retry: queue the old one behind it, so that a
         * secret the caller never saw does not replace the one it has. */
        tokens__set_uses(stored, &t);
        tokens__queue_record(h, t.id, stored);
    } else {
        publish_rotation(ts, &t);
        *previous_until = t.previous_until;
    }
out:
    pthread_mutex_unlock(&ts->change);
    json_decref(stored);
    json_decref(rec);
    sodium_memzero(&t, sizeof t);
    if (rc)
        sodium_memzero(text, TOKEN_TEXT_LEN + 1);
    return rc;
}

int
tokens_revoke(struct host *h, const char *id, char *err, size_t errlen)
{
    struct tokens *ts = h->api->tokens;
    struct token t;
    pthread_mutex_lock(&ts->change);
    int rc = lookup(ts, id, &t, err, errlen);
    if (!rc) {
        writer_del(h->writer, DB_TOKENS, t.id, TOKEN_ID_BYTES);
        rc = persist_commit(h, err, errlen);
        if (rc == -ENOSPC)
            rc = -EIO; /* the revocation stands (below): not "nothing was changed" */
        /* Even when the commit failed: the deletion stays queued and is retried, and a token
         * an operator meant to revoke must not keep working meanwhile. */
        pthread_mutex_lock(&ts->lock);
        struct token *live = tokens__find(ts, t.id);
        if (live) {
            *live = ts->v[--ts->n];
            sodium_memzero(&ts->v[ts->n], sizeof ts->v[ts->n]);
        }
        pthread_mutex_unlock(&ts->lock);
    }
    pthread_mutex_unlock(&ts->change);
    return rc;
}

static json_t *
time_or_null(double t)
{
    return t > 0 ? json_real(t) : json_null();
}

/* A stored record as the list shows it, with what memory knows better. */
static void
list_entry(json_t *rec, const struct token *t, double now)
{
    static const char *const secret[] = {"hash", "previous_hash"}; /* never leave the store */
    for (size_t i = 0; i < 2; i++)
        json_object_del(rec, secret[i]);
    json_object_set_new(rec, "expires", time_or_null(t->expires));
    json_object_set_new(rec, "expired", json_boolean(t->expires > 0 && now >= t->expires));
    json_object_set_new(rec, "rotated", time_or_null(tokens__number(rec, "rotated")));
    json_object_set_new(rec, "previous_until",
                        time_or_null(t->has_previous ? t->previous_until : 0));
    json_object_set_new(rec, "previous_last_used", time_or_null(t->previous_last_used));
    json_object_set_new(rec, "last_used", time_or_null(t->last_used));
    json_object_set_new(rec, "last_address",
                        t->last_used > 0 ? json_string(t->last_address) : json_null());
}

struct by_created {
    double created;
    json_t *rec;
};

static int
cmp_created(const void *pa, const void *pb)
{
    const struct by_created *a = pa, *b = pb;
    return (a->created > b->created) - (a->created < b->created);
}

/* Oldest first, by creation time: O(n log n), as there may be tens of thousands (the
 * insertion sort this replaces took seconds for 14,000 tokens, and timed clients out). */
static void
sort_by_created(json_t *out)
{
    size_t n = json_array_size(out);
    struct by_created *v = n > 1 ? malloc(n * sizeof *v) : NULL;
    if (!v)
        return; /* one entry, or out of memory: the store's order */
    for (size_t i = 0; i < n; i++) {
        v[i].rec = json_incref(json_array_get(out, i));
        v[i].created = json_number_value(json_object_get(v[i].rec, "created"));
    }
    qsort(v, n, sizeof *v, cmp_created);
    for (size_t i = 0; i < n; i++)
        json_array_set_new(out, i, v[i].rec);
    free(v);
}

json_t *
tokens_list(struct host *h)
{
    struct tokens *ts = h->api->tokens;
    json_t *out = json_array();
    double now = host_wall();
    for (size_t i = 0; out && ts; i++) {
        struct token t;
        pthread_mutex_lock(&ts->lock);
        int more = i < ts->n;
        if (more)
            t = ts->v[i];
        pthread_mutex_unlock(&ts->lock);
        if (!more)
            break;
        json_t *rec = persist_get_json(h, DB_TOKENS, t.id, TOKEN_ID_BYTES);
        char id[17];
        if (!json_is_object(rec)) {
            json_decref(rec);
            continue;
        }
        sodium_bin2hex(id, sizeof id, t.id, TOKEN_ID_BYTES);
        json_object_set_new(rec, "id", json_string(id));
        list_entry(rec, &t, now);
        json_array_append_new(out, rec);
        sodium_memzero(&t, sizeof t);
    }
    sort_by_created(out);
    return out;
}

/* Whether some admin token works (has not expired). */
static int
has_admin(struct host *h)
{
    struct tokens *ts = h->api->tokens;
    double now = host_wall();
    int found = 0;
    pthread_mutex_lock(&ts->lock);
    for (size_t i = 0; i < ts->n; i++)
        found |= ts->v[i].role == ROLE_ADMIN && !(ts->v[i].expires > 0 && now >= ts->v[i].expires);
    pthread_mutex_unlock(&ts->lock);
    return found;
}

int
tokens_bootstrap(struct host *h, char *err, size_t errlen)
{
    char text[TOKEN_TEXT_LEN + 1], id[17], path[4096], tmp[4200];
    if (has_admin(h))
        return 0;
    snprintf(path, sizeof path, "%s/admin.token", h->cfg.state_dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    if (tokens_create(h, ROLE_ADMIN, "admin (first start)", "tarsd", 0, text, id, err, errlen))
        return -1;
    mode_t mode = h->cfg.admin_token_group ? 0640 : 0600;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
    int ok = fd >= 0 && fchmod(fd, mode) == 0 &&
             write(fd, text, strlen(text)) == (ssize_t)strlen(text) && write(fd, "\n", 1) == 1 &&
             fsync(fd) == 0;
    if (fd >= 0)
        ok = close(fd) == 0 && ok;
    ok = ok && rename(tmp, path) == 0;
    sodium_memzero(text, sizeof text);
    if (!ok) {
        snprintf(err, errlen, "cannot write the admin token to %s: %s", path, strerror(errno));
        unlink(tmp);
        tokens_revoke(h, id, tmp, sizeof tmp);
        return -1;
    }
    hlog(LOG_INFO, "api",
         "no admin token that works in the state dir: created one in %s (token id %s)", path, id);
    return 0;
}
