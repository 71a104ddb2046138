/*
 * The host's half of the SDK (host_side.h): creating and reading the objects that plugins
 * reach through libtars-sdk. Linked into the host as a static library, never exported by
 * libtars-sdk.so, so plugins cannot call these and the .so's symbol table is the public API.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "blob_layout.h"
#include "host_side.h"

/* Written once by the host before its threads start (tars__set_log_sink), read by ctx_new. */
static tars__log_fn log_sink;

void
tars__set_log_sink(tars__log_fn fn)
{
    log_sink = fn;
}

tars_ctx *
tars__ctx_new(const char *name, void *host_data)
{
    tars_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx)
        return NULL;
    snprintf(ctx->name, sizeof ctx->name, "%s", name ? name : "");
    ctx->host_data = host_data;
    ctx->log = log_sink;
    return ctx;
}

void
tars__ctx_free(tars_ctx *ctx)
{
    free(ctx);
}

const char *
tars__ctx_error(const tars_ctx *ctx)
{
    return ctx ? ctx->error : "";
}

void
tars__ctx_clear_error(tars_ctx *ctx)
{
    if (ctx)
        ctx->error[0] = '\0';
}

void
tars__scalars_reset(tars_scalars *s)
{
    s->n = 0;
}

void
tars__buf_init(tars_buf *b)
{
    memset(b, 0, sizeof *b);
}

void
tars__buf_free(tars_buf *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

int
tars__blob_writer_take(tars_blob_writer *w, void **data, size_t *len)
{
    const void *d;
    int rc = tars_blob_writer_finish(w, &d, len);
    if (rc)
        return rc;
    *data = w->data;
    w->data = NULL;
    w->len = w->cap = 0;
    return 0;
}
