/*
 * The API's front door: matches the route, applies the per-address and per-token rate
 * limits, authenticates the bearer token and checks the route's role, reads and checks the
 * JSON body, runs the handler, audits every mutating call, then sends the reply.
 */
#include <civetweb.h>
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "api.h"
#include "proposals.h"
#include "bigstack.h"
#include "audit.h"
#include "host.h"
#include "log.h"
#include "http.h"
#include "http_guard.h"
#include "ratelimit.h"
#include "stream.h"
#include "text.h"
#include "tokens.h"
#include "writer.h"

static const char *const role_names[] = {"none", "viewer", "operator", "admin"};

const char *
api_role_name(enum api_role r)
{
    return r <= ROLE_ADMIN ? role_names[r] : "none";
}

enum api_role
api_role_parse(const char *s)
{
    for (int r = ROLE_VIEWER; r <= ROLE_ADMIN; r++)
        if (strcmp(s, role_names[r]) == 0)
            return (enum api_role)r;
    return ROLE_NONE;
}

int
api_reply(struct api_req *q, int status, json_t *body)
{
    json_decref(q->reply);
    q->reply = body;
    q->status = status;
    return status;
}

int
api_error(struct api_req *q, int status, const char *code, const char *fmt, ...)
{
    /* The message may quote what the client sent (a path, a key): jansson takes UTF-8 only,
     * and vsnprintf may cut a character in two at the limit: room is left for the cut
     * character's bytes, escaped (up to 3 × \xHH). */
    char raw[sizeof q->message - 12];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(raw, sizeof raw, fmt, ap);
    va_end(ap);
    text_utf8_safe(raw, q->message, sizeof q->message);
    return api_reply(q, status,
                     json_pack("{s:{s:s, s:s}}", "error", "code", code, "message", q->message));
}

int
api_errno(struct api_req *q, int rc, const char *msg)
{
    switch (rc) {
    case -ENOENT:
        return api_error(q, 404, "not_found", "%s", msg);
    case -EEXIST:
        return api_error(q, 409, "exists", "%s", msg);
    case -EBUSY:
        return api_error(q, 409, "conflict", "%s", msg);
    case -EPERM:
        return api_error(q, 409, "not_allowed", "%s", msg);
    case -EINVAL:
        return api_error(q, 400, "invalid", "%s", msg);
    case -ENOSPC: /* the state store's disk is full: nothing was changed */
        return api_error(q, 507, "insufficient_storage", "%s", msg);
    default:
        return api_error(q, 500, "internal", "%s", msg);
    }
}

int
api_query(const struct api_req *q, const char *name, char *buf, size_t len)
{
    const char *qs = q->ri->query_string;
    return qs && mg_get_var(qs, strlen(qs), name, buf, len) >= 0;
}

int
api_query_u64(struct api_req *q, const char *name, uint64_t def, uint64_t min, uint64_t max,
              uint64_t *out)
{
    char buf[32], *end;
    *out = def;
    if (!api_query(q, name, buf, sizeof buf))
        return 0;
    errno = 0;
    unsigned long long v = strtoull(buf, &end, 10);
    if (!*buf || *end || errno || buf[0] == '-' || v < min || v > max) {
        api_error(q, 400, "bad_query", "query parameter %s=%s is not an integer in [%llu, %llu]",
                  name, buf, (unsigned long long)min, (unsigned long long)max);
        return -1;
    }
    *out = v;
    return 0;
}

void
api_client_addr(struct host *h, const struct mg_connection *c, char *buf, size_t len)
{
    const struct mg_request_info *ri = mg_get_request_info(c);
    snprintf(buf, len, "%s", ri->remote_addr);
    const char *xff = mg_get_header(c, "X-Forwarded-For");
    int trusted = 0;
    for (size_t i = 0; xff && i < h->cfg.trusted_proxies.n; i++)
        trusted |= strcmp(h->cfg.trusted_proxies.v[i], ri->remote_addr) == 0;
    if (!trusted)
        return;
    /* The proxy appends the address it saw: the last entry is the one to believe. */
    const char *last = strrchr(xff, ',');
    last = last ? last + 1 : xff;
    last += strspn(last, " \t");
    size_t n = strcspn(last, " \t");
    char addr[INET6_ADDRSTRLEN];
    unsigned char bin[sizeof(struct in6_addr)];
    if (n == 0 || n >= sizeof addr || n >= len)
        return;
    memcpy(addr, last, n);
    addr[n] = '\0';
    /* Only an address is believed: anything else (a name, bytes that are not text) would
     * name the client in the audit log and the rate limiter as the proxy never saw it. */
    if (inet_pton(AF_INET, addr, bin) == 1 || inet_pton(AF_INET6, addr, bin) == 1)
        memcpy(buf, addr, n + 1);
}

/* Matches path against pattern, copying the {placeholders}' segments into q->params. */
static int
match(const char *pattern, const char *path, struct api_req *q)
{
    int n = 0;
    while (*pattern && *path) {
        if (*pattern == '{') {
            size_t len = strcspn(path, "/");
            if (len == 0 || len >= sizeof q->params[0] || n == API_MAX_PARAMS)
                return 0;
            memcpy(q->params[n], path, len);
            q->params[n++][len] = '\0';
            path += len;
            pattern = strchr(pattern, '}');
            if (!pattern)
                return 0;
            pattern++;
            continue;
        }
        if (*pattern++ != *path++)
            return 0;
    }
    return *pattern == '\0' && *path == '\0';
}

static const struct api_route *
find_route(struct api_req *q, int *path_known)
{
    *path_known = 0;
    for (size_t i = 0; i < api_n_routes; i++) {
        if (!match(api_routes[i].pattern, q->path, q))
            continue;
        *path_known = 1;
        if (strcmp(api_routes[i].method, q->method) == 0)
            return &api_routes[i];
    }
    return NULL;
}

static int
too_many(struct api_req *q, double wait, const char *whose)
{
    int secs = (int)ceil(wait);
    snprintf(q->headers, sizeof q->headers, "Retry-After: %d\r\n", secs < 1 ? 1 : secs);
    return api_error(q, 429, "rate_limited", "too many requests from this %s; retry in %d s", whose,
                     secs < 1 ? 1 : secs);
}

static int
authenticate(struct api_req *q)
{
    const char *auth = mg_get_header(q->c, "Authorization");
    snprintf(q->headers, sizeof q->headers, "WWW-Authenticate: Bearer realm=\"tars\"\r\n");
    if (!auth)
        return api_error(q, 401, "unauthorized",
                         "this call needs a token: send Authorization: Bearer <token>");
    if (strncasecmp(auth, "Bearer ", 7) != 0)
        return api_error(q, 401, "unauthorized", "the Authorization header is not a Bearer token");
    char why[256];
    if (tokens_authenticate(q->h, auth + 7, q->addr, &q->who, NULL, why, sizeof why) != 0)
        return api_error(q, 401, "unauthorized", "%s", why);
    q->headers[0] = '\0';
    return 0;
}

/* Who sent a call that no route takes, for its audit entry: no token, or a bad one, is no one. */
static void
identify(struct api_req *q)
{
    const char *auth = mg_get_header(q->c, "Authorization");
    if (auth && strncasecmp(auth, "Bearer ", 7) == 0 && tokens_verify(q->h, auth + 7, &q->who) != 0)
        q->who.role = ROLE_NONE;
}

/* Deepest nesting of arrays and objects in JSON text (strings skipped). */
static unsigned
json_depth(const char *s, size_t len)
{
    unsigned depth = 0, deepest = 0;
    int in_string = 0;
    for (size_t i = 0; i < len; i++) {
        char ch = s[i];
        if (in_string) {
            if (ch == '\\')
                i++;
            else if (ch == '"')
                in_string = 0;
        } else if (ch == '"') {
            in_string = 1;
        } else if (ch == '[' || ch == '{') {
            if (++depth > deepest)
                deepest = depth;
        } else if ((ch == ']' || ch == '}') && depth) {
            depth--;
        }
    }
    return deepest;
}

static int
read_body(struct api_req *q)
{
    size_t max = q->h->cfg.api_max_body;
    long long declared = q->ri->content_length;
    if (declared > (long long)max) {
        snprintf(q->headers, sizeof q->headers, "Connection: close\r\n");
        return api_error(q, 413, "too_large", "the request body has %lld bytes; at most %zu",
                         declared, max);
    }
    char *text = malloc(max + 1);
    size_t len = 0;
    if (!text)
        return api_error(q, 503, "busy", "out of memory");
    http_guard_body_begin(q->c); /* the whole body has a deadline (http_guard.h) */
    for (;;) {
        int n = mg_read(q->c, text + len, max + 1 - len);
        if (n <= 0)
            break;
        len += (size_t)n;
        if (len > max)
            break;
    }
    int late = http_guard_body_end(q->c);
    if (late || len > max) {
        free(text);
        snprintf(q->headers, sizeof q->headers, "Connection: close\r\n");
        if (late)
            return api_error(q, 408, "timeout",
                             "the request body came too slowly (%zu bytes; a body has %g s, "
                             "http_body_timeout_s)",
                             len, q->h->cfg.http_body_timeout_s);
        return api_error(q, 413, "too_large", "the request body exceeds %zu bytes", max);
    }
    if (len == 0 || strspn(text, " \t\r\n") == len) {
        free(text);
        return 0;
    }
    unsigned depth = json_depth(text, len);
    if (depth > q->h->cfg.api_max_depth) {
        free(text);
        return api_error(q, 400, "too_deep", "the request body nests %u levels deep; at most %u",
                         depth, q->h->cfg.api_max_depth);
    }
    json_error_t e;
    q->body = json_loadb(text, len, JSON_REJECT_DUPLICATES, &e);
    if (!q->body) {
        free(text);
        return api_error(q, 400, "bad_json", "request body:%d:%d: %s", e.line, e.column, e.text);
    }
    q->body_text = text;
    q->body_len = len;
    return 0;
}

/* The reply when none could be built (out of memory, or text jansson refused). */
static const char no_reply[] =
    "{\"error\":{\"code\":\"internal\",\"message\":\"the reply could not be built\"}}";

/* One write for head and body: small writes would meet Nagle and delayed ACKs (40 ms). */
static void
send_reply(struct api_req *q)
{
    int file = q->file && q->status < 400;
    char *body = file       ? NULL
                 : q->reply ? json_dumps(q->reply, JSON_COMPACT | JSON_REAL_PRECISION(15))
                            : NULL;
    if (!file && !body) {
        q->status = 500;
        q->headers[0] = '\0';
    }
    const char *text = file ? "" : body ? body : no_reply;
    size_t len = file ? q->file_len : strlen(text) + 1;
    char *out = NULL;
    int n = asprintf(&out,
                     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n"
                     "Content-Length: %zu\r\nCache-Control: no-store\r\n"
                     "X-Content-Type-Options: nosniff\r\n%s\r\n%s%s",
                     q->status, mg_get_response_code_text(q->c, q->status),
                     file ? "application/octet-stream" : "application/json", len, q->headers, text,
                     file ? "" : "\n");
    if (n < 0) {
        mg_printf(q->c, "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n");
        q->status = 500;
    } else {
        mg_write(q->c, out, (size_t)n);
        if (file)
            mg_write(q->c, q->file, q->file_len);
    }
    free(out);
    free(body);
}

struct api_call {
    struct mg_connection *c;
    struct host *h;
    int status;
};

/*
 * From the limits to the handler: the first check that fails replies. *rt is the route
 * found (NULL: none), *ran whether its handler was called.
 */
static void
route(struct api_req *q, char *path, size_t path_len, const struct api_route **rt, int *ran)
{
    struct host *h = q->h;
    char why[128];
    int known, mutating = strcmp(q->method, "GET") != 0 && strcmp(q->method, "HEAD") != 0;
    double wait, now = host_now();
    *rt = NULL;
    *ran = 0;
    if ((wait = ratelimit_take(h->api->per_address, q->addr, now)) > 0) {
        too_many(q, wait, "address");
    } else if (!path) {
        api_error(q, 503, "busy", "out of memory");
    } else if (text_path_decode(q->path, path, path_len, why, sizeof why)) {
        api_error(q, 400, "bad_path", "%s", why);
    } else if (q->path = path, !(*rt = find_route(q, &known))) {
        identify(q);
        if (known)
            api_error(q, 405, "method_not_allowed", "%s is not allowed on %s", q->method, q->path);
        else
            api_error(q, 404, "not_found", "no route %s %s", q->method, q->path);
    } else if ((*rt)->role != ROLE_NONE && authenticate(q)) {
        /* replied 401 */
    } else if ((*rt)->role > q->who.role) {
        api_error(q, 403, "forbidden", "%s %s needs the %s role; this token is %s", q->method,
                  (*rt)->pattern, api_role_name((*rt)->role), api_role_name(q->who.role));
    } else if ((*rt)->role != ROLE_NONE &&
               (wait = ratelimit_take(h->api->per_token, q->who.id, now)) > 0) {
        too_many(q, wait, "token");
    } else if (mutating && read_body(q)) {
        /* replied 400 or 413 */
    } else {
        *ran = 1;
        (*rt)->fn(q);
    }
}

static void
dispatch(void *arg)
{
    struct api_call *call = arg;
    struct host *h = call->h;
    struct api_req q = {.c = call->c, .h = h, .status = 500};
    q.ri = mg_get_request_info(q.c);
    q.method = q.ri->request_method;
    /* Still percent-encoded (decode_url is off, http.c): route() decodes it, refusing a NUL. */
    q.path = q.ri->local_uri ? q.ri->local_uri : "";
    api_client_addr(h, q.c, q.addr, sizeof q.addr);
    size_t path_len = strlen(q.path) + 1;
    char *path = malloc(path_len);
    const struct api_route *rt;
    int ran, mutating = strcmp(q.method, "GET") != 0 && strcmp(q.method, "HEAD") != 0;
    route(&q, path, path_len, &rt, &ran);
    if (!q.reply && !q.file) /* out of memory, or text jansson refused: audit what is sent */
        api_error(&q, 500, "internal", "the reply could not be built");
    /* Every call that mutates, is refused or reads what the route says to watch. */
    if (mutating || q.status >= 400 || q.audit_read) {
        int failed = audit_append(h, &q) != 0;
        if (failed)
            hlog(LOG_ERROR, "api", "the audit log could not record %s %s: out of memory", q.method,
                 rt ? rt->pattern : "(no route)");
        /* A call is durable, and audited, before it is answered — but a client over its rate
         * limit does not get to make the store commit for each refusal, nor does a read. */
        char err[256];
        if (mutating && rt && q.status != 429 && writer_flush(h->writer, err, sizeof err) && ran &&
            q.status < 400)
            api_error(&q, 500, "internal", "the state store failed: %s", err);
        else if (failed && ran && q.status < 400)
            api_error(&q, 500, "internal", "the audit log could not record this call");
    }
    send_reply(&q);
    free(path);
    free(q.file);
    free((char *)q.body_text);
    json_decref(q.body);
    json_decref(q.reply);
    call->status = q.status;
}

/* CivetWeb's entry: the request is served on the worker's big stack (bigstack.h). */
static int
handle(struct mg_connection *c, void *data)
{
    struct api_call call = {c, data, 500};
    struct bigstack *bs = mg_get_thread_pointer(c);
    if (!bs) { /* its worker could not get one: too little stack left to serve safely */
        mg_printf(c, "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n");
        return 503;
    }
    bigstack_call(bs, dispatch, &call);
    return call.status;
}

int
api_install(struct mg_context *ctx, struct host *h, char *err, size_t errlen)
{
    h->api = calloc(1, sizeof *h->api); /* the audit log was opened with the store */
    if (!h->api) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (tokens_open(h, err, errlen) != 0)
        return -1;
    if (proposals_open(h) != 0) {
        snprintf(err, errlen, "cannot read the proposals");
        return -1;
    }
    proposals_recover(h);
    h->api->per_token = ratelimit_new(h->cfg.api_rate, h->cfg.api_burst);
    h->api->per_address = ratelimit_new(h->cfg.api_address_rate, h->cfg.api_address_burst);
    h->api->static_per_address = ratelimit_new(h->cfg.static_rate, h->cfg.static_burst);
    if (stream_start(ctx, h)) {
        snprintf(err, errlen, "cannot start the stream: out of memory");
        return -1;
    }
    api_static_install(ctx, h);
    mg_set_request_handler(ctx, "/api", handle, h);
    return 0;
}

void
api_uninstall(struct host *h)
{
    if (!h->api)
        return;
    stream_stop(h);
    tokens_close(h); /* after the stream's hub, which persists last uses too */
    ratelimit_free(h->api->per_token);
    ratelimit_free(h->api->per_address);
    ratelimit_free(h->api->static_per_address);
    free(h->api);
    h->api = NULL;
}
