/*
 * tokens — bearer tokens (SPEC §8): random 256-bit values, shown once, stored as their
 * SHA-256 in DB_TOKENS under the first 8 bytes of the hash (the token's public id, 16 hex
 * digits), compared in constant time. Text form: "tars_" and 43 base64url characters.
 *
 * Threads: any. Reads are LMDB read transactions; changes go through the state writer and
 * are committed before the call returns.
 */
#ifndef TARS_HOST_API_TOKENS_H
#define TARS_HOST_API_TOKENS_H

#include <jansson.h>
#include <stddef.h>
#include "api.h"

#define TOKEN_TEXT_LEN 48 /* "tars_" + 43 */

/*
 * Creates a token. Writes its text (shown once, NUL-terminated) and id. Returns 0, or -1
 * with one sentence in err (nothing stored then).
 */
int tokens_create(struct host *h, enum api_role role, const char *name, const char *by,
                  char text[TOKEN_TEXT_LEN + 1], char id[17], char *err, size_t errlen);
/* Fills who from a token's text; 0 when it is valid, -1 otherwise (who->role = ROLE_NONE). */
int tokens_verify(struct host *h, const char *text, struct api_who *who);
/* Revokes the token with this id: 0, or -ENOENT, or -EIO with err. */
int tokens_revoke(struct host *h, const char *id, char *err, size_t errlen);
/* [{id, name, role, created, created_by}], oldest first. */
json_t *tokens_list(struct host *h);
/*
 * At start: when the store holds no admin token, creates one and writes it to
 * <state>/admin.token (mode 0600), logging the path. Returns 0, or -1 with err.
 */
int tokens_bootstrap(struct host *h, char *err, size_t errlen);

#endif
