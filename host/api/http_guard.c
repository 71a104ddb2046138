#include <arpa/inet.h>
#include <civetweb.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <time.h>
#include "host.h"
#include "http.h"
#include "http_guard.h"
#include "log.h"

/* What a worker's connection is doing. */
enum phase {
    FREE,    /* no connection */
    HEAD,    /* waiting for a request head (a new or a keep-alive connection) */
    HANDLER, /* a handler runs (a WebSocket stays here) */
    BODY,    /* the API reads the request body */
};

struct slot {
    const struct mg_connection *conn; /* CivetWeb's per-worker connection object */
    enum phase phase;
    double since;    /* host_now() when the phase began */
    double deadline; /* when a HEAD or BODY phase must be over */
    char addr[48];   /* the peer, as CivetWeb writes it */
    int port, local_port;
    int trusted; /* a trusted proxy: no per-address cap */
    int cut;     /* cut off: its request is not served */
};

struct http_guard {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    pthread_t reaper;
    int reaper_started, stop; /* under lock */
    double header_timeout, body_timeout;
    unsigned per_address, budget;
    int plain; /* HTTP, not HTTPS: a 408 can be written in clear */
    /* Where a connection keeps its request info (peer_info); under lock. */
    ptrdiff_t info_offset;
    int calibrated;
    /* cut off since the last report (under lock) */
    unsigned long heads_cut, bodies_cut;
    double reported;
    size_t n;
    struct slot slots[];
};

/* Reports and deadline checks: often enough that a deadline is kept within 0.1 s. */
#define REAP_PERIOD_NS (100 * 1000 * 1000)
#define REPORT_EVERY_S 10.0
/* How long a wait for a head or a body makes a connection slow (is_slow). */
#define SLOW_AFTER_S 0.25

/* NULL for a connection served without the guard (the fuzzers' fake connections). */
static struct http_guard *
guard_of(const struct mg_connection *c)
{
    const struct mg_context *ctx = mg_get_context(c);
    const struct host *h = ctx ? mg_get_user_data(ctx) : NULL;
    return h && h->http ? h->http->guard : NULL;
}

int
http_find_socket(const char *addr, int port, int local_port)
{
    DIR *dir = opendir("/proc/self/fd");
    struct dirent *e;
    int found = -1;
    while (dir && found < 0 && (e = readdir(dir))) {
        int fd = atoi(e->d_name);
        struct sockaddr_storage peer, self;
        socklen_t pl = sizeof peer, sl = sizeof self;
        char text[INET6_ADDRSTRLEN];
        if (fd <= 2 || getpeername(fd, (struct sockaddr *)&peer, &pl) != 0 ||
            getsockname(fd, (struct sockaddr *)&self, &sl) != 0)
            continue;
        int pport, sport;
        if (peer.ss_family == AF_INET) {
            inet_ntop(AF_INET, &((struct sockaddr_in *)&peer)->sin_addr, text, sizeof text);
            pport = ntohs(((struct sockaddr_in *)&peer)->sin_port);
            sport = ntohs(((struct sockaddr_in *)&self)->sin_port);
        } else if (peer.ss_family == AF_INET6) {
            inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&peer)->sin6_addr, text, sizeof text);
            pport = ntohs(((struct sockaddr_in6 *)&peer)->sin6_port);
            sport = ntohs(((struct sockaddr_in6 *)&self)->sin6_port);
        } else {
            continue;
        }
        if (pport == port && sport == local_port && strcmp(text, addr) == 0)
            found = fd;
    }
    if (dir)
        closedir(dir);
    return found;
}

/* A JSON error written straight to the socket: nothing of a reply to its request has been sent. */
static void
say(struct http_guard *g, int fd, int status, const char *code, const char *message)
{
    if (!g->plain)
        return;
    char body[256], reply[512];
    int n = snprintf(body, sizeof body, "{\"error\":{\"code\":\"%s\",\"message\":\"%s\"}}\n", code,
                     message);
    int m = snprintf(reply, sizeof reply,
                     "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
                     "Cache-Control: no-store\r\nConnection: close\r\n\r\n%s",
                     status, mg_get_response_code_text(NULL, status), n, body);
    if (m > 0 && (size_t)m < sizeof reply)
        send(fd, reply, (size_t)m, MSG_DONTWAIT | MSG_NOSIGNAL);
}

/*
 * Cuts a slot's connection off (under lock). A head is closed both ways: its worker sees the
 * end of the stream. Past its deadline it gets a 408 first; displaced, it is closed without
 * one, since it may be an idle keep-alive connection whose client is about to send a request
 * and would take a 408 for the reply (a client retries a request on a connection closed
 * before it answered). A body is closed for reading only, so that the API can still answer
 * its 408 (http_guard_body_end).
 */
static void
cut(struct http_guard *g, struct slot *s, int late)
{
    int fd = s->port ? http_find_socket(s->addr, s->port, s->local_port) : -1;
    s->cut = 1;
    if (s->phase == BODY) {
        g->bodies_cut++;
        if (fd >= 0)
            shutdown(fd, SHUT_RD);
        return;
    }
    g->heads_cut++;
    if (fd >= 0) {
        if (late)
            say(g, fd, 408, "timeout", "the request head did not arrive in time");
        shutdown(fd, SHUT_RDWR);
    }
}

/*
 * Whether a slot's connection is slow: it has waited for a head or a body for longer than a
 * prompt client ever makes a worker wait. Between a reply and the next request on a busy
 * keep-alive connection there is well under a millisecond; CivetWeb itself closes an idle
 * keep-alive connection after 500 ms.
 */
static int
is_slow(const struct slot *s, double now)
{
    return !s->cut && (s->phase == HEAD || s->phase == BODY) && now - s->since >= SLOW_AFTER_S;
}

/* The slowest connection (of addr, unless NULL): the longest wait for a head, else for a
 * body. NULL when none is slow. */
static struct slot *
slowest(struct http_guard *g, const char *addr, double now)
{
    struct slot *best = NULL;
    for (size_t i = 0; i < g->n; i++) {
        struct slot *s = &g->slots[i];
        if (!is_slow(s, now) || (addr && strcmp(s->addr, addr) != 0))
            continue;
        if (!best || (s->phase == HEAD && best->phase == BODY) ||
            (s->phase == best->phase && s->since < best->since))
            best = s;
    }
    return best;
}

/* An address (not a trusted proxy's) with more slow connections than it may keep, or NULL. */
static const char *
address_over_cap(struct http_guard *g, double now)
{
    for (size_t i = 0; i < g->n; i++) {
        const struct slot *s = &g->slots[i];
        if (!is_slow(s, now) || s->trusted || !*s->addr)
            continue;
        unsigned same = 0;
        for (size_t j = 0; j < g->n; j++)
            same += is_slow(&g->slots[j], now) && strcmp(g->slots[j].addr, s->addr) == 0;
        if (same > g->per_address)
            return s->addr;
    }
    return NULL;
}

static struct slot *
slot_of(struct http_guard *g, const struct mg_connection *c)
{
    for (size_t i = 0; i < g->n; i++)
        if (g->slots[i].conn == c)
            return &g->slots[i];
    return NULL;
}

/*
 * Applies the per-address cap, then the budget, to the slow connections (under lock): each
 * over it loses its slowest connection until it is within.
 */
static void
enforce(struct http_guard *g, double now)
{
    const char *addr;
    while ((addr = address_over_cap(g, now)))
        cut(g, slowest(g, addr, now), 0);
    unsigned slow = 0;
    for (size_t i = 0; i < g->n; i++)
        slow += is_slow(&g->slots[i], now);
    for (; slow > g->budget; slow--)
        cut(g, slowest(g, NULL, now), 0);
}

/*
 * The peer of a connection that has not sent its head yet. CivetWeb fills in the peer's
 * address and ports before init_connection, but mg_get_request_info returns NULL until a
 * request has been read. The request info is a member of CivetWeb's connection object, at
 * an offset fixed by the library build: the guard learns it from mg_get_request_info on the
 * first request (http_guard_calibrate makes one at start) and checks what it reads there.
 * NULL when it does not know yet or the fields do not look like a peer (then the connection
 * is counted but cannot be cut off). Under lock.
 */
static const struct mg_request_info *
peer_info(const struct http_guard *g, const struct mg_connection *c)
{
    if (!g->calibrated)
        return NULL;
    const struct mg_request_info *ri =
        (const struct mg_request_info *)((const char *)c + g->info_offset);
    unsigned char addr[sizeof(struct in6_addr)];
    if (!memchr(ri->remote_addr, '\0', sizeof ri->remote_addr) || ri->remote_port <= 0 ||
        ri->remote_port > 65535 || ri->server_port <= 0 || ri->server_port > 65535 ||
        (inet_pton(AF_INET, ri->remote_addr, addr) != 1 &&
         inet_pton(AF_INET6, ri->remote_addr, addr) != 1))
        return NULL;
    return ri;
}

static int
on_init_connection(const struct mg_connection *c, void **conn_data)
{
    *conn_data = NULL;
    struct http_guard *g = guard_of(c);
    const struct host *h = mg_get_user_data(mg_get_context(c));
    pthread_mutex_lock(&g->lock);
    const struct mg_request_info *ri = peer_info(g, c);
    struct slot *s = slot_of(g, c);
    if (!s)
        s = slot_of(g, NULL);
    if (s) {
        double now = host_now();
        *s = (struct slot){
            .conn = c, .phase = HEAD, .since = now, .deadline = now + g->header_timeout};
        if (ri) {
            s->port = ri->remote_port;
            s->local_port = ri->server_port;
            snprintf(s->addr, sizeof s->addr, "%s", ri->remote_addr);
            for (size_t i = 0; i < h->cfg.trusted_proxies.n; i++)
                s->trusted |= strcmp(h->cfg.trusted_proxies.v[i], s->addr) == 0;
        }
        enforce(g, now);
    }
    pthread_mutex_unlock(&g->lock);
    return 0;
}

/* A request head has arrived: serve it, unless its connection was cut off meanwhile. */
static int
on_begin_request(struct mg_connection *c)
{
    struct http_guard *g = guard_of(c);
    const struct mg_request_info *ri = mg_get_request_info(c);
    pthread_mutex_lock(&g->lock);
    if (!g->calibrated && ri) {
        g->info_offset = (const char *)ri - (const char *)c;
        g->calibrated = 1;
    }
    struct slot *s = slot_of(g, c);
    int cut_off = s && s->cut;
    if (s)
        s->phase = HANDLER;
    pthread_mutex_unlock(&g->lock);
    return cut_off ? 408 : 0; /* non-zero: CivetWeb sends nothing and closes */
}

/* Replied: a keep-alive connection now waits for its next head, on the same deadline. */
static void
on_end_request(const struct mg_connection *c, int status)
{
    (void)status;
    struct http_guard *g = guard_of(c);
    pthread_mutex_lock(&g->lock);
    struct slot *s = slot_of(g, c);
    if (s) {
        s->phase = HEAD;
        s->since = host_now();
        s->deadline = s->since + g->header_timeout;
    }
    pthread_mutex_unlock(&g->lock);
}

static void
on_connection_close(const struct mg_connection *c)
{
    struct http_guard *g = guard_of(c);
    pthread_mutex_lock(&g->lock);
    struct slot *s = slot_of(g, c);
    if (s)
        s->phase = FREE; /* the slot stays this worker's: conn is the worker's own */
    pthread_mutex_unlock(&g->lock);
}

void
http_guard_body_begin(const struct mg_connection *c)
{
    struct http_guard *g = guard_of(c);
    if (!g)
        return;
    pthread_mutex_lock(&g->lock);
    struct slot *s = slot_of(g, c);
    if (s && s->phase == HANDLER) {
        s->phase = BODY;
        s->since = host_now();
        s->deadline = s->since + g->body_timeout;
    }
    pthread_mutex_unlock(&g->lock);
}

int
http_guard_body_end(const struct mg_connection *c)
{
    struct http_guard *g = guard_of(c);
    if (!g)
        return 0;
    pthread_mutex_lock(&g->lock);
    struct slot *s = slot_of(g, c);
    int cut_off = s && s->cut;
    if (s && s->phase == BODY)
        s->phase = HANDLER;
    pthread_mutex_unlock(&g->lock);
    return cut_off ? -ETIMEDOUT : 0;
}

/* Under lock: one line for what was cut off since the last one. */
static void
report(struct http_guard *g, double now)
{
    if (now - g->reported < REPORT_EVERY_S || !(g->heads_cut || g->bodies_cut))
        return;
    hlog(LOG_INFO, "http",
         "slow clients: cut off %lu request heads and %lu request bodies (counts since the "
         "last such line)",
         g->heads_cut, g->bodies_cut);
    g->heads_cut = g->bodies_cut = 0;
    g->reported = now;
}

static void *
reaper_main(void *arg)
{
    struct http_guard *g = arg;
    pthread_mutex_lock(&g->lock);
    while (!g->stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += REAP_PERIOD_NS;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&g->wake, &g->lock, &ts);
        double now = host_now();
        for (size_t i = 0; i < g->n; i++) {
            struct slot *s = &g->slots[i];
            if ((s->phase == HEAD || s->phase == BODY) && !s->cut && now > s->deadline)
                cut(g, s, 1);
        }
        enforce(g, now);
        report(g, now);
    }
    pthread_mutex_unlock(&g->lock);
    return NULL;
}

int
http_guard_new(struct host *h, struct http_guard **out)
{
    *out = NULL;
    size_t n = h->cfg.http_threads;
    struct http_guard *g = calloc(1, sizeof *g + n * sizeof g->slots[0]);
    if (!g)
        return -ENOMEM;
    g->n = n;
    g->header_timeout = h->cfg.http_header_timeout_s;
    g->body_timeout = h->cfg.http_body_timeout_s;
    g->per_address = h->cfg.http_max_per_address;
    g->budget = n > h->cfg.http_reserved_workers ? (unsigned)n - h->cfg.http_reserved_workers : 1;
    g->plain = h->cfg.tls_cert == NULL;
    g->reported = host_now() - REPORT_EVERY_S; /* the first cut is reported at once */
    pthread_mutex_init(&g->lock, NULL);
    pthread_cond_init(&g->wake, NULL);
    if (pthread_create(&g->reaper, NULL, reaper_main, g) != 0) {
        http_guard_free(g);
        return -ENOMEM;
    }
    pthread_setname_np(g->reaper, "tars-http-guard");
    g->reaper_started = 1;
    *out = g;
    return 0;
}

void
http_guard_free(struct http_guard *g)
{
    if (!g)
        return;
    if (g->reaper_started) {
        pthread_mutex_lock(&g->lock);
        g->stop = 1;
        pthread_cond_signal(&g->wake);
        pthread_mutex_unlock(&g->lock);
        pthread_join(g->reaper, NULL);
    }
    pthread_cond_destroy(&g->wake);
    pthread_mutex_destroy(&g->lock);
    free(g);
}

void
http_guard_callbacks(struct mg_callbacks *cb)
{
    cb->init_connection = on_init_connection;
    cb->begin_request = on_begin_request;
    cb->end_request = on_end_request;
    cb->connection_close = on_connection_close;
}

int
http_guard_calibrate(const struct sockaddr *addr, socklen_t len)
{
    int fd = socket(addr->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    static const char req[] =
        "GET /tars-calibrate HTTP/1.1\r\nHost: tarsd\r\nConnection: close\r\n\r\n";
    int rc = 0;
    if (connect(fd, addr, len) != 0 || send(fd, req, sizeof req - 1, MSG_NOSIGNAL) < 0)
        rc = -errno;
    char buf[512];
    while (rc == 0 && recv(fd, buf, sizeof buf, 0) > 0)
        ; /* until CivetWeb closes: its begin_request has run */
    close(fd);
    return rc;
}
