/*
 * The services plugins call: logging, failure messages, scalars, buffers, tensor sinks. The
 * host's half (creating and reading these objects) is in host_private.c, which is not part of
 * libtars-sdk.so.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tars/error.h"
#include "host_side.h"

void
tars_log(const tars_ctx *ctx, tars_log_level level, const char *fmt, ...)
{
    char raw[1024], msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(raw, sizeof raw, fmt, ap);
    va_end(ap);
    tars__escape_line(raw, msg, sizeof msg);
    /* The sink travels in the context (set by the host's tars__ctx_new): libtars-sdk keeps no
     * state of the host's, so the host needs no hook into it (host_side.h). */
    if (ctx && ctx->log) {
        ctx->log(ctx, level, msg);
        return;
    }
    static const char *const names[] = {"debug", "info", "warn", "error"};
    const char *lvl = (unsigned)level < 4 ? names[level] : "info";
    fprintf(stderr, "%s: %s: %s\n", ctx ? ctx->name : "plugin", lvl, msg);
}

int
tars_fail(tars_ctx *ctx, int err, const char *fmt, ...)
{
    if (ctx) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(ctx->error, sizeof ctx->error, fmt, ap);
        va_end(ap);
    }
    return err < 0 ? err : TARS_EPLUGIN;
}

const char *
tars_ctx_name(const tars_ctx *ctx)
{
    return ctx ? ctx->name : "";
}

static int
scalar_name_ok(const char *name)
{
    size_t n = 0;
    for (const char *p = name; *p; p++, n++) {
        char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '/'))
            return 0;
    }
    return n > 0 && n < TARS__SCALAR_NAME;
}

int
tars_scalar(tars_scalars *s, const char *name, double value)
{
    if (!s || !name || !scalar_name_ok(name))
        return TARS_EINVAL;
    for (uint32_t i = 0; i < s->n; i++) {
        if (strcmp(s->items[i].name, name) == 0) {
            s->items[i].value = value;
            return 0;
        }
    }
    if (s->n == TARS__MAX_SCALARS)
        return TARS_ENOMEM;
    tars__scalar *it = &s->items[s->n++];
    strcpy(it->name, name);
    it->value = value;
    return 0;
}

static int
buf_reserve(tars_buf *b, size_t extra)
{
    if (b->failed)
        return TARS_ENOMEM;
    if (b->len + extra + 1 <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1)
        cap *= 2;
    char *p = realloc(b->data, cap);
    if (!p) {
        b->failed = 1;
        return TARS_ENOMEM;
    }
    b->data = p;
    b->cap = cap;
    return 0;
}

int
tars_buf_append(tars_buf *b, const void *data, size_t len)
{
    int rc = buf_reserve(b, len);
    if (rc)
        return rc;
    memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
    return 0;
}

int
tars_buf_printf(tars_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return TARS_EINVAL;
    int rc = buf_reserve(b, (size_t)n);
    if (rc)
        return rc;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

int
tars_tensor_emit(tars_tensor_sink *sink, const tars_tensor *t)
{
    if (!sink || !t || !t->name || t->ndim > TARS_TENSOR_MAX_DIMS || !t->data)
        return TARS_EINVAL;
    return sink->fn(sink->user, t);
}
