/*
 * The web UI's files: / and everything outside /api come from www_dir, and /vendor/chart.js/
 * from Debian's Chart.js (chartjs_dir). Only plain names are served (no "..", no hidden
 * files), with headers that keep the pages to their own origin. Nothing outside those two
 * dirs is ever served: a file is opened beneath its dir (openat2 RESOLVE_BENEATH), so a
 * relative symlink that stays inside (Debian's Chart.js -> chart.js) is followed, while one
 * that leads out, or any absolute one, is answered 404 like a missing file. Requests are rate
 * limited per address (static_rate, static_burst), apart from the API's own limits. Errors
 * are the API's JSON errors.
 *
 * tarsd sends the files itself: CivetWeb's file sending formats its Date header with gmtime(),
 * whose buffer every thread shares, so two workers serving files at once race (ThreadSanitizer
 * saw it with a browser loading its modules in parallel).
 */
#include <civetweb.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include "api.h"
#include "bigstack.h"
#include "host.h"
#include "ratelimit.h"
#include "text.h"

#define CHARTJS_PREFIX "/vendor/chart.js/"

/* Strict: the UI loads nothing from elsewhere, and runs no inline code. */
static const char headers[] =
    "Content-Security-Policy: default-src 'self'; img-src 'self' data:; "
    "style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'\r\n"
    "X-Content-Type-Options: nosniff\r\nReferrer-Policy: no-referrer\r\n";

static const char *
mime(const char *path)
{
    static const char *const types[][2] = {{".html", "text/html; charset=utf-8"},
                                           {".js", "text/javascript; charset=utf-8"},
                                           {".mjs", "text/javascript; charset=utf-8"},
                                           {".css", "text/css; charset=utf-8"},
                                           {".svg", "image/svg+xml"},
                                           {".png", "image/png"},
                                           {".ico", "image/x-icon"},
                                           {".json", "application/json"},
                                           {".map", "application/json"}};
    const char *dot = strrchr(path, '.');
    for (size_t i = 0; dot && i < sizeof types / sizeof types[0]; i++)
        if (strcmp(dot, types[i][0]) == 0)
            return types[i][1];
    return NULL;
}

/* A path of segments of [A-Za-z0-9._-], none starting with a dot. */
static int
plain(const char *p)
{
    if (*p != '/')
        return 0;
    for (; *p; p++) {
        if (*p == '/' && (p[1] == '.' || p[1] == '/'))
            return 0;
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '.' || *p == '_' || *p == '-' || *p == '/'))
            return 0;
    }
    return 1;
}

#define MAX_FILE (16u << 20)

/* An error as the API words them: {"error": {"code", "message"}}, with extra header lines. */
static int
reply_error(struct mg_connection *c, int status, const char *code, const char *message,
            const char *extra)
{
    json_t *o = json_pack("{s:{s:s, s:s}}", "error", "code", code, "message", message);
    char *body = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    char *out = NULL;
    int n = body ? asprintf(&out,
                            "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
                            "Content-Length: %zu\r\nCache-Control: no-store\r\n%s%s\r\n%s\n",
                            status, mg_get_response_code_text(c, status), strlen(body) + 1, headers,
                            extra, body)
                 : -1;
    if (n > 0)
        mg_write(c, out, (size_t)n);
    else
        mg_printf(c, "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n");
    free(out);
    free(body);
    return n > 0 ? status : 500;
}

static int
no_file(struct mg_connection *c)
{
    return reply_error(c, 404, "not_found", "no such file", "");
}

/*
 * Opens rel (no leading slash) beneath the dir root, refusing any path that resolves out of it
 * (a symlink to /etc/passwd, an absolute symlink). Kernels without openat2 get the same rule
 * from realpath. An fd, or -1 with errno.
 */
static int
open_beneath(const char *root, const char *rel)
{
    int dir = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0)
        return -1;
    struct open_how how = {.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY,
                           .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS};
    int fd = (int)syscall(SYS_openat2, dir, rel, &how, sizeof how);
    int err = errno;
    close(dir);
    if (fd >= 0 || err != ENOSYS)
        return errno = err, fd;
    char real_root[PATH_MAX], path[PATH_MAX], real[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    if (!realpath(root, real_root) || !realpath(path, real))
        return -1;
    size_t n = strlen(real_root);
    if (strncmp(real, real_root, n) != 0 || real[n] != '/')
        return errno = EXDEV, -1;
    return open(real, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW);
}

/* The whole regular file behind fd (closed), or NULL. */
static char *
slurp(int fd, size_t *len)
{
    struct stat st;
    char *buf = NULL;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (size_t)st.st_size <= MAX_FILE &&
        (buf = malloc((size_t)st.st_size + 1))) {
        size_t got = 0;
        ssize_t n;
        while (got < (size_t)st.st_size && (n = read(fd, buf + got, (size_t)st.st_size - got)) > 0)
            got += (size_t)n;
        *len = got;
    }
    close(fd);
    return buf;
}

static int
send_file(struct mg_connection *c, const char *root, const char *rel, const char *type, int head)
{
    size_t len = 0;
    int fd = open_beneath(root, rel);
    char *body = fd >= 0 ? slurp(fd, &len) : NULL;
    if (!body)
        return no_file(c);
    char *out = NULL;
    int n = asprintf(&out,
                     "HTTP/1.1 200 OK\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                     "Cache-Control: no-cache\r\n%s\r\n",
                     type, len, headers);
    if (n > 0) {
        mg_write(c, out, (size_t)n);
        if (!head)
            mg_write(c, body, len);
    }
    free(out);
    free(body);
    return n > 0 ? 200 : 500;
}

struct file_call {
    struct mg_connection *c;
    struct host *h;
    int status;
};

static int serve_file(struct mg_connection *c, struct host *h);

static void
serve_call(void *arg)
{
    struct file_call *f = arg;
    f->status = serve_file(f->c, f->h);
}

/* CivetWeb's entry: sending a file takes more stack than CivetWeb leaves (bigstack.h). */
static int
handle(struct mg_connection *c, void *data)
{
    struct file_call f = {c, data, 500};
    struct bigstack *bs = mg_get_thread_pointer(c);
    if (!bs) {
        mg_printf(c, "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n");
        return 503;
    }
    bigstack_call(bs, serve_call, &f);
    return f.status;
}

/* The per-address limit of static files: 429 with Retry-After, or 0 to go on. */
static int
limited(struct mg_connection *c, struct host *h)
{
    char addr[48];
    api_client_addr(h, c, addr, sizeof addr);
    double wait = ratelimit_take(h->api->static_per_address, addr, host_now());
    if (wait <= 0)
        return 0;
    int secs = wait < 1 ? 1 : (int)ceil(wait);
    char extra[48], message[96];
    snprintf(extra, sizeof extra, "Retry-After: %d\r\n", secs);
    snprintf(message, sizeof message, "too many requests from this address; retry in %d s", secs);
    return reply_error(c, 429, "rate_limited", message, extra);
}

static int
serve_file(struct mg_connection *c, struct host *h)
{
    const struct mg_request_info *ri = mg_get_request_info(c);
    /* Still percent-encoded (decode_url is off, http.c). */
    const char *raw = ri->local_uri ? ri->local_uri : "/";
    char uri[4096], why[128];
    int head = strcmp(ri->request_method, "HEAD") == 0;
    int status = limited(c, h);
    if (status)
        return status;
    if (strlen(raw) >= sizeof uri)
        return reply_error(c, 414, "too_long", "the path is too long", "");
    if (text_path_decode(raw, uri, sizeof uri, why, sizeof why))
        return reply_error(c, 400, "bad_path", why, "");
    if (strcmp(ri->request_method, "GET") != 0 && !head)
        return reply_error(c, 405, "method_not_allowed", "only GET and HEAD here", "");
    const char *path = strcmp(uri, "/") == 0 ? "/index.html" : uri;
    const char *type = mime(path);
    if (!plain(path) || !type)
        return no_file(c);
    if (strncmp(path, CHARTJS_PREFIX, strlen(CHARTJS_PREFIX)) == 0)
        return send_file(c, h->cfg.chartjs_dir, path + strlen(CHARTJS_PREFIX), type, head);
    return send_file(c, h->cfg.www_dir, path + 1, type, head);
}

int
api_static_install(struct mg_context *ctx, struct host *h)
{
    mg_set_request_handler(ctx, "/", handle, h);
    return 0;
}
