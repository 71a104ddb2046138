/*
 * http — the CivetWeb server: start, stop, routes, JSON replies. Threads: CivetWeb's
 * workers run the handlers; handlers only read shared state (atomics, RCU snapshots).
 */
#ifndef TARS_HOST_HTTP_H
#define TARS_HOST_HTTP_H

#include <jansson.h>
#include <stddef.h>
#include <sys/socket.h>

struct mg_connection;
struct host;
struct http_guard;

struct http {
    struct mg_context *ctx;
    int port;                     /* the port actually bound (useful with port 0) */
    struct sockaddr_storage addr; /* where to reach the server (loopback for wildcards) */
    socklen_t addrlen;
    struct http_guard *guard; /* slow clients (http_guard.h); set before CivetWeb starts */
};

/*
 * Listens on listen ("ADDR:PORT") with n_threads workers and installs the API, the stream
 * and the UI for h (host/api). On failure (bad address, port in use, TLS asked for but not
 * available) returns -1 with one sentence in err.
 */
int http_start(struct http *s, const char *listen, unsigned n_threads, struct host *h, char *err,
               size_t errlen);
void http_stop(struct http *s);

#endif
