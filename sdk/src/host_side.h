/*
 * host_side.h — the host's half of libtars-sdk (not installed, not for plugins).
 *
 * The SDK functions that plugins call (tars_log, tars_fail, tars_scalar, tars_buf_*...) act on
 * objects that the host creates with these. The structs are defined here so the host can read
 * them directly; plugins only ever see the opaque types.
 *
 * None of these is exported by libtars-sdk.so (its version script, sdk/libtars-sdk.map, lists
 * the public API only): the host links them from the static library tars-sdk-host
 * (host_private.c, text.c). The two halves share no state: what the host configures (the log
 * sink) travels in the objects it creates. tarsd and libtars-sdk ship from one build, so the
 * struct layouts below agree.
 */
#ifndef TARS_SDK_HOST_SIDE_H
#define TARS_SDK_HOST_SIDE_H

#include <stddef.h>
#include <stdint.h>
#include "tars/blob.h"
#include "tars/host.h"
#include "tars/version.h"

/* Receives every tars_log line. Called on the logging thread; must be thread-safe. */
typedef void (*tars__log_fn)(const tars_ctx *ctx, tars_log_level level, const char *msg);

/*
 * Routes plugin logs of contexts created from now on to fn (NULL: stderr). Call before any
 * thread starts.
 */
void tars__set_log_sink(tars__log_fn fn);

#define TARS__ERR_LEN 512

struct tars_ctx {
    tars__log_fn log; /* where tars_log sends lines; NULL: stderr */
    char name[64];
    void *host_data;           /* the host's object for this instance */
    char error[TARS__ERR_LEN]; /* last tars_fail message */
};

/* A context named `name`. NULL on allocation failure. */
tars_ctx *tars__ctx_new(const char *name, void *host_data);
void tars__ctx_free(tars_ctx *ctx);
/* The last message given to tars_fail, or "" (then the caller uses tars_strerror). */
const char *tars__ctx_error(const tars_ctx *ctx);
void tars__ctx_clear_error(tars_ctx *ctx);

#define TARS__SCALAR_NAME 48
#define TARS__MAX_SCALARS 32

typedef struct tars__scalar {
    char name[TARS__SCALAR_NAME];
    double value;
} tars__scalar;

struct tars_scalars {
    uint32_t n;
    tars__scalar items[TARS__MAX_SCALARS];
};

/* The host resets a scalar set before each observe call. */
void tars__scalars_reset(tars_scalars *s);

struct tars_buf {
    char *data; /* NUL-terminated for convenience; len excludes the NUL */
    size_t len;
    size_t cap;
    int failed; /* an append ran out of memory */
};

void tars__buf_init(tars_buf *b);
void tars__buf_free(tars_buf *b);

struct tars_tensor_sink {
    int (*fn)(void *user, const tars_tensor *t);
    void *user;
};

/*
 * Appends item to the NUL-terminated buf (size len), preceded by sep unless buf is empty;
 * truncates instead of overflowing. For "known: a, b, c" lists.
 */
void tars__join(char *buf, size_t len, const char *sep, const char *item);
/* Formats one sentence into err (if non-NULL) and returns rc: `return tars__errf(...)`. */
int tars__errf(char *err, size_t errlen, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/*
 * Finishes a blob and hands its buffer (malloc'd) to the caller, who frees it; the writer is
 * left empty (free it as usual). Saves copying large states.
 */
int tars__blob_writer_take(tars_blob_writer *w, void **data, size_t *len);

/*
 * Copies in to out (size len) as one line of valid UTF-8: newlines and tabs become \n and \t,
 * other control characters and invalid bytes \xHH. Truncates at a character boundary.
 */
void tars__escape_line(const char *in, char *out, size_t len);

#endif
