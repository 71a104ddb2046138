/*
 * tokens — bearer tokens (SPEC §8): random 256-bit values, shown once, stored as their
 * SHA-256 in DB_TOKENS under the first 8 bytes of the first secret's hash (the token's public
 * id, 16 hex digits), compared in constant time. Text form: "tars_" and 43 base64url
 * characters.
 *
 * Lifecycle: a token may expire (`expires`, Unix time, absent: never). A rotation gives it a
 * new secret under the same id, name and role; the previous secret keeps working until
 * `previous_until`, then stops (one previous secret at a time: a second rotation drops the
 * first one's at once). The last use of each token (time and client address) is kept in
 * memory and written to its record lazily: at most every TOKENS_PERSIST_S by tokens_tick, and
 * at tokens_close; so a request never waits for a commit to say it used a token.
 *
 * Threads: any. The tokens live in memory (loaded by tokens_open), behind a mutex held only
 * for lookups and copies; changes are serialised by a second mutex, committed to the store
 * through the state writer, and only then made visible in memory.
 */
#ifndef TARS_HOST_API_TOKENS_H
#define TARS_HOST_API_TOKENS_H

#include <jansson.h>
#include <stddef.h>
#include "api.h"

#define TOKEN_TEXT_LEN      48        /* "tars_" + 43 */
#define TOKEN_ID_BYTES      8         /* the public id: the first bytes of the first hash */
#define TOKEN_HASH_BYTES    32        /* SHA-256 */
#define TOKENS_PERSIST_S    30.0      /* how often last uses reach the store */
#define TOKEN_EXPIRES_MAX   315360000 /* expires_in: at most ten years */
#define TOKEN_GRACE_DEFAULT 3600      /* a rotation's grace for the old secret: an hour */
#define TOKEN_GRACE_MAX     604800    /* and at most a week */

/* What a client authenticated with, to check later that it still stands (the stream). */
struct token_grant {
    unsigned char id[TOKEN_ID_BYTES];
    unsigned char hash[TOKEN_HASH_BYTES];
};

/* Loads the stored tokens into memory (after persist_open). Returns 0, or -1 with err. */
int tokens_open(struct host *h, char *err, size_t errlen);
/* Queues the last uses not yet stored, then frees the tokens (the writer commits them). */
void tokens_close(struct host *h);

/*
 * Creates a token that expires at `expires` (Unix time; 0: never). Writes its text (shown
 * once, NUL-terminated) and id. Returns 0, or -EIO/-ENOMEM with one sentence in err (nothing
 * stored then).
 */
int tokens_create(struct host *h, enum api_role role, const char *name, const char *by,
                  double expires, char text[TOKEN_TEXT_LEN + 1], char id[17], char *err,
                  size_t errlen);
/*
 * Checks a token's text and fills who (who->role = ROLE_NONE on failure) and, when grant is
 * not NULL, what the stream needs to check it again. A success records the use from addr
 * (may be NULL: not recorded). Returns 0; -EACCES for an unknown or malformed token;
 * -EKEYEXPIRED for one that expired or an old secret past its grace. why (may be NULL) gets
 * the sentence for the client.
 */
int tokens_authenticate(struct host *h, const char *text, const char *addr, struct api_who *who,
                        struct token_grant *grant, char *why, size_t whylen);
/* tokens_authenticate without an address, grant or sentence: 0 when valid, -1 otherwise. */
int tokens_verify(struct host *h, const char *text, struct api_who *who);
/*
 * Whether what a client authenticated with still works: 0; -EKEYREVOKED (the token is gone)
 * or -EKEYEXPIRED (it expired, or the secret was rotated out), with a short sentence in why
 * (at most 100 bytes: it goes in a WebSocket close frame).
 */
int tokens_grant_check(struct host *h, const struct token_grant *g, char *why, size_t whylen);
/*
 * Gives token id a new secret (text, shown once); the current one keeps working for grace
 * seconds (0: stops now), until *previous_until (Unix time). Returns 0, -ENOENT, or -EIO with
 * err; nothing changes on failure.
 */
int tokens_rotate(struct host *h, const char *id, double grace, char text[TOKEN_TEXT_LEN + 1],
                  double *previous_until, char *err, size_t errlen);
/* Revokes the token with this id: 0, or -ENOENT, or -EIO with err. */
int tokens_revoke(struct host *h, const char *id, char *err, size_t errlen);
/*
 * [{id, name, role, created, created_by, expires, expired, rotated, previous_until,
 * last_used, last_address}], oldest first (absent times are null).
 */
json_t *tokens_list(struct host *h);
/* Queues the last uses to the store when TOKENS_PERSIST_S passed since the last time. */
void tokens_tick(struct host *h);
/*
 * At start: when the store holds no admin token that works (none, or all expired), creates
 * one and writes it to <state>/admin.token (mode 0600), logging the path. Returns 0, or -1
 * with err.
 */
int tokens_bootstrap(struct host *h, char *err, size_t errlen);

#endif
