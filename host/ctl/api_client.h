/*
 * api_client — tarsctl's one way to tarsd: an HTTP request to the API with the bearer token
 * and a timeout (libcurl), the reply parsed, and failures turned into one line on stderr.
 * Single-threaded: api_init once before any request, api_cleanup once at exit.
 */
#ifndef TARS_CTL_API_CLIENT_H
#define TARS_CTL_API_CLIENT_H

#include <jansson.h>
#include "ctl.h"

/* Seconds a request may take when --timeout is not given. */
#define API_TIMEOUT_S 30

/* api_do flags */
#define API_ANON  1 /* send no token: for the routes that need none (health) */
#define API_PARSE 2 /* with --json, parse the reply into *out as well as printing it */

/* libcurl's global set-up. Returns 0, or -1 after one line. */
int api_init(void);
void api_cleanup(void);

/*
 * Sends METHOD <base>path with body as JSON (NULL: none; borrowed) and waits for the reply.
 * On a 2xx reply returns 0: with --json the body was printed as it came and *out is NULL;
 * otherwise (or with API_PARSE) *out holds the parsed body (the caller json_decrefs it). On any
 * failure — tarsd unreachable, too slow, or answering with an error — prints one line "tarsctl:
 * ...", with
 * --json also prints an error body the API sent to stdout, sets *out to NULL and returns
 * CTL_EXIT_FAIL (CTL_EXIT_USAGE when --url or the token options are wrong).
 */
int api_do(struct ctl *c, const char *method, const char *path, json_t *body, int flags,
           json_t **out);

/*
 * GETs path and writes the reply's bytes, whatever they are, to file (through file.tmp and a
 * rename, so a failure leaves no half file): 0 with *len, or as api_do on failure.
 */
int api_download(struct ctl *c, const char *path, const char *file, size_t *len);

/*
 * fmt with each "%s" replaced by the next argument, percent-encoded so that an id cannot
 * change the path (api_path("/api/v1/agents/%s", id)). fmt holds no other conversions.
 * Returns a string to free, or NULL when out of memory.
 */
char *api_path(const char *fmt, ...);

#endif
