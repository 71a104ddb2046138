#include <civetweb.h>
#include <dlfcn.h>
#include <errno.h>
#include <netdb.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "api.h"
#include "bigstack.h"
#include "host.h"
#include "http.h"
#include "http_guard.h"
#include "log.h"
#include "rcu.h"

/*
 * CivetWeb's own messages. Those without a connection come from starting and stopping, where
 * mg_start2's error text already says what failed: keep them out of the way at debug level.
 */
static int
on_log(const struct mg_connection *c, const char *msg)
{
    hlog(c ? LOG_WARN : LOG_DEBUG, "http", "%s", msg);
    return 1;
}

/* What CivetWeb's own refusals are called in the API's error replies, and why they happen. */
static const struct {
    int status;
    const char *code, *message;
} civet_errors[] = {
    {400, "bad_request", "the request is not valid HTTP/1.1 (its request line or a header)"},
    {404, "not_found", "there is nothing at this path"},
    {405, "method_not_allowed", "the request method is not one this server serves"},
    {408, "timeout", "the request did not arrive in time"},
    {411, "length_required", "a request with a body needs a valid Content-Length header"},
    {413, "too_large", "the request is larger than this server accepts"},
    {414, "too_large", "the request's path is longer than this server accepts"},
    {417, "expectation_failed", "the request's Expect header is not one this server meets"},
    {431, "too_large", "the request's headers are larger than this server accepts"},
    {500, "internal", "the server failed while reading the request"},
    {503, "busy", "the server is too busy to take the request; retry later"},
    {505, "http_version", "this server speaks HTTP/1.0 and HTTP/1.1 only"},
};

/*
 * CivetWeb's own errors (a request it cannot parse, a missing length, an HTTP version it
 * does not speak) in the API's JSON shape. CivetWeb's reply would be plain text, and its
 * status line repeats the request's version field, which for a request line such as
 * "G ET / HTTP/1.1" is the rest of the request, headers included: this reply is built
 * from fixed text only and never repeats a byte of the request (errmsg may quote it).
 */
static int
on_http_error(struct mg_connection *c, int status, const char *errmsg)
{
    (void)errmsg;
    const char *code = "http_error", *message = "the server cannot serve this request";
    for (size_t i = 0; i < sizeof civet_errors / sizeof civet_errors[0]; i++) {
        if (civet_errors[i].status == status) {
            code = civet_errors[i].code;
            message = civet_errors[i].message;
        }
    }
    char body[256], head[384];
    int n = snprintf(body, sizeof body, "{\"error\":{\"code\":\"%s\",\"message\":\"%s\"}}\n", code,
                     message);
    int m = snprintf(head, sizeof head,
                     "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
                     "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n"
                     "Connection: close\r\n\r\n",
                     status, mg_get_response_code_text(NULL, status), n);
    mg_write(c, head, (size_t)m);
    mg_write(c, body, (size_t)n);
    return 0; /* answered: CivetWeb sends nothing more */
}

/* The stack each worker runs the API's handlers on (bigstack.h). */
#define HANDLER_STACK (8u << 20)

/*
 * CivetWeb's workers run the API handlers, which read shared state under RCU. Its threads
 * run at http_nice: on a machine whose cores the runners fill, requests then take the CPU
 * the runners leave rather than a fair share of it (Linux's niceness is per thread).
 */
static void *
on_thread_start(const struct mg_context *ctx, int thread_type)
{
    const struct host *h = mg_get_user_data(ctx);
    if (h->cfg.http_nice && setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), h->cfg.http_nice))
        hlog(LOG_DEBUG, "http", "could not lower the HTTP threads' priority: %s", strerror(errno));
    if (thread_type != 1)
        return NULL;
    rcu_thread_online();
    return bigstack_new(HANDLER_STACK); /* NULL: its requests get 503 */
}

static void
on_thread_exit(const struct mg_context *ctx, int thread_type, void *thread_pointer)
{
    (void)ctx;
    if (thread_type != 1)
        return;
    bigstack_free(thread_pointer);
    rcu_thread_offline();
}

/*
 * Whether CivetWeb can serve HTTPS here. Debian's CivetWeb 1.15 has the TLS feature but loads
 * libssl at run time and needs SSL_get_peer_certificate, which OpenSSL 3 no longer exports:
 * it then fails to start (or crashes on the first HTTPS connection). Look the way it does.
 */
static int
tls_usable(void)
{
    if (!mg_check_feature(2))
        return 0;
    void *ssl = dlopen("libssl.so", RTLD_LAZY | RTLD_LOCAL);
    int ok = ssl && dlsym(ssl, "SSL_get_peer_certificate") != NULL;
    if (ssl)
        dlclose(ssl);
    return ok;
}

/* IPV4:PORT or [IPV6]:PORT, numeric, port 0-65535 in decimal digits only. */
static int
parse_listen(const char *listen, char *host, size_t hostlen, long *port, int *v6)
{
    const char *colon = strrchr(listen, ':');
    if (!colon || !colon[1] || strlen(colon + 1) > 5 ||
        strspn(colon + 1, "0123456789") != strlen(colon + 1))
        return -1;
    *port = strtol(colon + 1, NULL, 10);
    const char *start = listen;
    size_t len = (size_t)(colon - listen);
    *v6 = listen[0] == '[';
    if (*v6) {
        if (len < 3 || listen[len - 1] != ']')
            return -1;
        start++;
        len -= 2;
    }
    if (*port > 65535 || len == 0 || len >= hostlen)
        return -1;
    memcpy(host, start, len);
    host[len] = '\0';
    unsigned char addr[sizeof(struct in6_addr)];
    return inet_pton(*v6 ? AF_INET6 : AF_INET, host, addr) == 1 ? 0 : -1;
}

/*
 * Binds the address once ourselves: CivetWeb reports a busy port only as a failed start,
 * while bind() tells the cause (in use, not available, permission).
 */
static int
probe_bind(struct http *s, const char *host, long port, char *why, size_t len)
{
    char service[24];
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICHOST | AI_PASSIVE};
    struct addrinfo *ai = NULL;
    snprintf(service, sizeof service, "%ld", port);
    int rc = getaddrinfo(*host ? host : NULL, service, &hints, &ai);
    if (rc) {
        snprintf(why, len, "'%s' is not a numeric IP address", host);
        return -1;
    }
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1, ok = fd >= 0;
    if (ok)
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (ok && bind(fd, ai->ai_addr, ai->ai_addrlen) != 0)
        ok = 0;
    if (!ok)
        snprintf(why, len, "%s", strerror(errno));
    if (fd >= 0)
        close(fd);
    if (ok && ai->ai_addrlen <= sizeof s->addr) {
        memcpy(&s->addr, ai->ai_addr, ai->ai_addrlen);
        s->addrlen = ai->ai_addrlen;
    }
    freeaddrinfo(ai);
    return ok ? 0 : -1;
}

/* Whether tarsd can listen on `listen` (the address, IPv6 and TLS support, a bind that works):
 * its host, port and family in host, *port and *v6. */
static int
check_listen(struct http *s, const char *listen, const struct host *h, char *host, size_t hostlen,
             long *port, int *v6, char *err, size_t errlen)
{
    char why[256] = "";
    if (parse_listen(listen, host, hostlen, port, v6)) {
        snprintf(err, errlen,
                 "listen address '%s' is not IPV4:PORT or [IPV6]:PORT (e.g. 127.0.0.1:8080)",
                 listen);
        return -1;
    }
    if (*v6 && !mg_check_feature(8)) {
        snprintf(err, errlen, "cannot listen on %s: this CivetWeb build has no IPv6 support",
                 listen);
        return -1;
    }
    if (h->cfg.tls_cert && !tls_usable()) {
        snprintf(err, errlen,
                 "tls_cert is set (%s) but this CivetWeb build cannot serve HTTPS; put a TLS proxy "
                 "such as nginx in front of tarsd (docs/admin-guide.md, \"TLS\")",
                 h->cfg.tls_cert);
        return -1;
    }
    if (probe_bind(s, host, *port, why, sizeof why)) {
        snprintf(err, errlen, "cannot listen on %s: %s", listen, why);
        return -1;
    }
    return 0;
}

/* The address http_stop pokes at: the bound port, loopback in place of a wildcard. */
static void
set_poke_address(struct http *s)
{
    if (s->addr.ss_family == AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *)&s->addr;
        in->sin_port = htons((uint16_t)s->port);
        if (in->sin_addr.s_addr == htonl(INADDR_ANY))
            in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    } else if (s->addr.ss_family == AF_INET6) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&s->addr;
        in6->sin6_port = htons((uint16_t)s->port);
        if (memcmp(&in6->sin6_addr, &in6addr_any, sizeof in6addr_any) == 0)
            in6->sin6_addr = in6addr_loopback;
    }
}

int
http_start(struct http *s, const char *listen, unsigned n_threads, struct host *h, char *err,
           size_t errlen)
{
    memset(s, 0, sizeof *s);
    char host[64], ports_opt[96], why[256] = "";
    long port;
    int v6;
    if (check_listen(s, listen, h, host, sizeof host, &port, &v6, err, errlen))
        return -1;
    snprintf(ports_opt, sizeof ports_opt, v6 ? "[%s]:%ld%s" : "%s:%ld%s", host, port,
             h->cfg.tls_cert ? "s" : "");
    char threads[16];
    snprintf(threads, sizeof threads, "%u", n_threads);
    /* One pair per line. */
    // clang-format off
    const char *options[] = {
        "listening_ports", ports_opt,
        "num_threads", threads,
        "enable_keep_alive", "yes",
        "tcp_nodelay", "1",
        "request_timeout_ms", "10000",
        "enable_auth_domain_check", "no",
        /* tarsd decodes paths itself (api/text.h): CivetWeb's decoding ends them at a %00. */
        "decode_url", "no",
        /* Stream clients only listen: ping them rather than time them out. */
        "enable_websocket_ping_pong", "yes",
        "websocket_timeout_ms", "5000",
        h->cfg.tls_cert ? "ssl_certificate" : NULL, h->cfg.tls_cert,
        NULL};
    // clang-format on
    if (http_guard_new(h, &s->guard)) {
        snprintf(err, errlen, "cannot listen on %s: out of memory", listen);
        return -1;
    }
    struct mg_callbacks cb;
    memset(&cb, 0, sizeof cb);
    http_guard_callbacks(&cb);
    cb.log_message = on_log;
    cb.http_error = on_http_error;
    cb.init_thread = on_thread_start;
    cb.exit_thread = on_thread_exit;
    mg_init_library(0);
    unsigned code = 0;
    struct mg_init_data init = {.callbacks = &cb, .user_data = h, .configuration_options = options};
    struct mg_error_data error = {.code = &code, .text = why, .text_buffer_size = sizeof why};
    s->ctx = mg_start2(&init, &error);
    if (!s->ctx) {
        snprintf(err, errlen, "cannot listen on %s: %s", listen,
                 *why ? why : "the HTTP server failed to start");
        mg_exit_library();
        http_guard_free(s->guard);
        s->guard = NULL;
        return -1;
    }
    struct mg_server_port ports[4];
    int n = mg_get_server_ports(s->ctx, 4, ports);
    s->port = n > 0 ? ports[0].port : (int)port;
    set_poke_address(s);
    if (!h->cfg.tls_cert && s->addrlen)
        http_guard_calibrate((const struct sockaddr *)&s->addr, s->addrlen);
    if (api_install(s->ctx, h, err, errlen)) {
        http_stop(s);
        return -1;
    }
    return 0;
}

struct poke {
    const struct http *s;
    atomic_int done;
};

/*
 * CivetWeb's master thread polls its listening socket with a 2 s timeout and only then sees
 * the stop flag; a connection wakes it at once. Knock until mg_stop has returned.
 */
static void *
poke_main(void *arg)
{
    struct poke *p = arg;
    while (!atomic_load(&p->done)) {
        int fd = socket(p->s->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd >= 0) {
            connect(fd, (const struct sockaddr *)&p->s->addr, p->s->addrlen);
            close(fd);
        }
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return NULL;
}

void
http_stop(struct http *s)
{
    if (!s->ctx)
        return;
    struct poke p = {.s = s};
    atomic_init(&p.done, 0);
    pthread_t t;
    int poking = s->addrlen && pthread_create(&t, NULL, poke_main, &p) == 0;
    mg_stop(s->ctx);
    if (poking) {
        atomic_store(&p.done, 1);
        pthread_join(t, NULL);
    }
    mg_exit_library();
    s->ctx = NULL;
    http_guard_free(s->guard); /* after mg_stop: no worker calls into it any more */
    s->guard = NULL;
}
