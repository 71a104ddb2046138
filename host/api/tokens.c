#include <errno.h>
#include <fcntl.h>
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
#include "tokens.h"
#include "writer.h"

#define TOKEN_PREFIX "tars_"
#define ID_BYTES     8

static const char *
or_empty(const char *s)
{
    return s ? s : "";
}

static void
token_hash(const char *text, unsigned char hash[crypto_hash_sha256_BYTES])
{
    crypto_hash_sha256(hash, (const unsigned char *)text, strlen(text));
}

int
tokens_create(struct host *h, enum api_role role, const char *name, const char *by,
              char text[TOKEN_TEXT_LEN + 1], char id[17], char *err, size_t errlen)
{
    unsigned char secret[32], hash[crypto_hash_sha256_BYTES];
    char b64[64], hex[2 * crypto_hash_sha256_BYTES + 1];
    randombytes_buf(secret, sizeof secret);
    sodium_bin2base64(b64, sizeof b64, secret, sizeof secret,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(secret, sizeof secret);
    memcpy(text, TOKEN_PREFIX, 5);
    memcpy(text + 5, b64, TOKEN_TEXT_LEN - 5); /* 32 bytes are 43 base64url characters */
    text[TOKEN_TEXT_LEN] = '\0';
    sodium_memzero(b64, sizeof b64);
    token_hash(text, hash);
    sodium_bin2hex(hex, sizeof hex, hash, sizeof hash);
    sodium_bin2hex(id, 17, hash, ID_BYTES);
    json_t *rec = json_pack("{s:s, s:s, s:s, s:f, s:s}", "hash", hex, "name", name, "role",
                            api_role_name(role), "created", (double)time(NULL), "created_by", by);
    char *value = rec ? json_dumps(rec, JSON_COMPACT) : NULL;
    json_decref(rec);
    if (!value || writer_put(h->writer, DB_TOKENS, hash, ID_BYTES, value, strlen(value))) {
        free(value);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    free(value);
    if (persist_commit(h, err, errlen)) {
        /* The put stays queued for a retry; a token the caller never saw must not follow. */
        writer_del(h->writer, DB_TOKENS, hash, ID_BYTES);
        return -1;
    }
    return 0;
}

/* The record stored under a token id (8 bytes), or NULL. */
static json_t *
lookup(struct host *h, const unsigned char key[ID_BYTES])
{
    return persist_get_json(h, DB_TOKENS, key, ID_BYTES);
}

int
tokens_verify(struct host *h, const char *text, struct api_who *who)
{
    unsigned char hash[crypto_hash_sha256_BYTES], stored[crypto_hash_sha256_BYTES];
    memset(who, 0, sizeof *who);
    if (strlen(text) != TOKEN_TEXT_LEN || strncmp(text, TOKEN_PREFIX, 5) != 0)
        return -1;
    token_hash(text, hash);
    json_t *rec = lookup(h, hash);
    const char *hex = json_string_value(json_object_get(rec, "hash"));
    size_t n = 0;
    int ok = hex && sodium_hex2bin(stored, sizeof stored, hex, strlen(hex), NULL, &n, NULL) == 0 &&
             n == sizeof stored && sodium_memcmp(stored, hash, sizeof hash) == 0;
    if (ok) {
        sodium_bin2hex(who->id, sizeof who->id, hash, ID_BYTES);
        snprintf(who->name, sizeof who->name, "%s",
                 or_empty(json_string_value(json_object_get(rec, "name"))));
        who->role = api_role_parse(or_empty(json_string_value(json_object_get(rec, "role"))));
    }
    json_decref(rec);
    return ok && who->role != ROLE_NONE ? 0 : -1;
}

int
tokens_revoke(struct host *h, const char *id, char *err, size_t errlen)
{
    unsigned char key[ID_BYTES];
    size_t n = 0;
    if (strlen(id) != 2 * ID_BYTES ||
        sodium_hex2bin(key, sizeof key, id, strlen(id), NULL, &n, NULL) != 0 || n != ID_BYTES) {
        snprintf(err, errlen, "no token '%s'", id);
        return -ENOENT;
    }
    json_t *rec = lookup(h, key);
    json_decref(rec);
    if (!rec) {
        snprintf(err, errlen, "no token '%s'", id);
        return -ENOENT;
    }
    writer_del(h->writer, DB_TOKENS, key, ID_BYTES);
    return persist_commit(h, err, errlen);
}

json_t *
tokens_list(struct host *h)
{
    json_t *out = json_array();
    MDB_txn *txn;
    MDB_cursor *c;
    MDB_val k, v;
    if (!out || store_read_begin(h->store, &txn))
        return out;
    if (mdb_cursor_open(txn, store_dbi(h->store, DB_TOKENS), &c) == 0) {
        for (int rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); !rc;
             rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
            json_t *rec = json_loadb(v.mv_data, v.mv_size, 0, NULL);
            char id[17];
            if (!rec || k.mv_size != ID_BYTES) {
                json_decref(rec);
                continue;
            }
            sodium_bin2hex(id, sizeof id, k.mv_data, ID_BYTES);
            json_object_del(rec, "hash"); /* never leaves the store */
            json_object_set_new(rec, "id", json_string(id));
            json_array_append_new(out, rec);
        }
        mdb_cursor_close(c);
    }
    store_read_end(h->store, txn);
    /* Oldest first: the keys are hashes, so order by creation time. */
    size_t n = json_array_size(out);
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0; j--) {
            json_t *a = json_array_get(out, j - 1), *b = json_array_get(out, j);
            if (json_number_value(json_object_get(a, "created")) <=
                json_number_value(json_object_get(b, "created")))
                break;
            json_incref(a);
            json_array_set(out, j - 1, b);
            json_array_set_new(out, j, a);
        }
    return out;
}

static int
has_admin(struct host *h)
{
    json_t *all = tokens_list(h);
    size_t i;
    json_t *t;
    int found = 0;
    json_array_foreach(all, i, t)
    {
        found |=
            api_role_parse(or_empty(json_string_value(json_object_get(t, "role")))) == ROLE_ADMIN;
    }
    json_decref(all);
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
    if (tokens_create(h, ROLE_ADMIN, "admin (first start)", "tarsd", text, id, err, errlen))
        return -1;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    int ok = fd >= 0 && fchmod(fd, 0600) == 0 &&
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
    hlog(LOG_INFO, "api", "no admin token in the state dir: created one in %s (token id %s)", path,
         id);
    return 0;
}
