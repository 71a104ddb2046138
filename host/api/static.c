/*
 * The web UI's files: / and everything outside /api come from www_dir, and /vendor/chart.js/
 * from Debian's Chart.js (chartjs_dir). Only plain names are served (no "..", no hidden
 * files), with headers that keep the pages to their own origin.
 */
#include <civetweb.h>
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

static void
not_found(struct mg_connection *c, const char *path)
{
    mg_send_http_error(c, 404, "No file %s here.", path);
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
    struct stat st;
    if (strcmp(ri->request_method, "GET") != 0 && strcmp(ri->request_method, "HEAD") != 0) {
        mg_send_http_error(c, 405, "Only GET here.");
        return 405;
    }
    if (strcmp(uri, "/") == 0)
        uri = "/index.html";
    const char *type = mime(uri);
    if (!plain(uri) || !type) {
        not_found(c, uri);
        return 404;
    }
    if (strncmp(uri, CHARTJS_PREFIX, strlen(CHARTJS_PREFIX)) == 0)
        snprintf(path, sizeof path, "%s/%s", h->cfg.chartjs_dir, uri + strlen(CHARTJS_PREFIX));
    else
        snprintf(path, sizeof path, "%s%s", h->cfg.www_dir, uri);
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
        not_found(c, uri);
        return 404;
    }
    mg_send_mime_file2(c, path, type, headers);
    return 200;
}

int
api_static_install(struct mg_context *ctx, struct host *h)
{
    mg_set_request_handler(ctx, "/", handle, h);
    return 0;
}
