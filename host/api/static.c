/*
 * The web UI's files: / and everything outside /api come from www_dir, and /vendor/chart.js/
 * from Debian's Chart.js (chartjs_dir). Only plain names are served (no "..", no hidden
 * files), with headers that keep the pages to their own origin.
 *
 * tarsd sends the files itself: CivetWeb's file sending formats its Date header with gmtime(),
 * whose buffer every thread shares, so two workers serving files at once race (ThreadSanitizer
 * saw it with a browser loading its modules in parallel).
 */
#include <civetweb.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>
#include <sys/stat.h>
#include "api.h"
#include "bigstack.h"
#include "host.h"

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

/* A short plain-text reply (errors). */
static int
reply_text(struct mg_connection *c, int status, const char *text)
{
    char *out = NULL;
    int n = asprintf(&out,
                     "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\n"
                     "Content-Length: %zu\r\nCache-Control: no-store\r\n%s\r\n%s\n",
                     status, mg_get_response_code_text(c, status), strlen(text) + 1, headers, text);
    if (n > 0)
        mg_write(c, out, (size_t)n);
    free(out);
    return status;
}

/* The whole file, or NULL (with errno) when it cannot be read. */
static char *
slurp(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    char *buf = NULL;
    if (fd < 0)
        return NULL;
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
send_file(struct mg_connection *c, const char *path, const char *type, int head)
{
    size_t len = 0;
    char *body = slurp(path, &len);
    if (!body)
        return reply_text(c, 404, "No such file.");
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

static int
serve_file(struct mg_connection *c, struct host *h)
{
    const struct mg_request_info *ri = mg_get_request_info(c);
    const char *uri = ri->local_uri ? ri->local_uri : "/";
    char path[4096];
    int head = strcmp(ri->request_method, "HEAD") == 0;
    if (strcmp(ri->request_method, "GET") != 0 && !head)
        return reply_text(c, 405, "Only GET here.");
    if (strcmp(uri, "/") == 0)
        uri = "/index.html";
    const char *type = mime(uri);
    if (!plain(uri) || !type)
        return reply_text(c, 404, "No such file.");
    if (strncmp(uri, CHARTJS_PREFIX, strlen(CHARTJS_PREFIX)) == 0)
        snprintf(path, sizeof path, "%s/%s", h->cfg.chartjs_dir, uri + strlen(CHARTJS_PREFIX));
    else
        snprintf(path, sizeof path, "%s%s", h->cfg.www_dir, uri);
    return send_file(c, path, type, head);
}

int
api_static_install(struct mg_context *ctx, struct host *h)
{
    mg_set_request_handler(ctx, "/", handle, h);
    return 0;
}
