#include <arpa/inet.h>
#include <civetweb.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include "audit.h"
#include "bigstack.h"
#include "host.h"
#include "http.h"
#include "http_guard.h"
#include "log.h"
#include "rcu.h"
#include "ratelimit.h"
#include "stream.h"
#include "stream_internal.h"
#include "tokens.h"

/* --- a client's queue and sender */

void
stream_enqueue(struct client *c, int opcode, const char *data, size_t len, size_t limit)
{
    struct msg *m = malloc(sizeof *m + len);
    if (!m)
        return;
    m->next = NULL;
    m->opcode = opcode;
    m->len = len;
    memcpy(m->data, data, len);
    pthread_mutex_lock(&c->lock);
    if (c->closing || c->gone) {
        pthread_mutex_unlock(&c->lock);
        free(m);
        return;
    }
    if (limit && c->queued + len > limit) { /* too far behind: drop it */
        for (struct msg *x = c->head, *n; x; x = n) {
            n = x->next;
            free(x);
        }
        c->head = c->tail = NULL;
        c->queued = 0;
        free(m);
        char close[64];
        int n = snprintf(close + 2, sizeof close - 2, "too slow: more than %zu KiB behind",
                         limit >> 10);
        close[0] = (char)(1008 >> 8);
        close[1] = (char)(1008 & 0xff);
        m = malloc(sizeof *m + (size_t)n + 2);
        if (m) {
            m->next = NULL;
            m->opcode = MG_WEBSOCKET_OPCODE_CONNECTION_CLOSE;
            m->len = (size_t)n + 2;
            memcpy(m->data, close, m->len);
        }
        c->closing = 1;
        c->drop_time = host_now();
        atomic_fetch_add(&c->st->dropped, 1);
        hlog(LOG_WARN, "stream", "dropped the client at %s (%s): more than %zu KiB behind", c->addr,
             c->who.name, limit >> 10);
        if (!m) {
            pthread_mutex_unlock(&c->lock);
            return;
        }
    }
    if (m->opcode == MG_WEBSOCKET_OPCODE_CONNECTION_CLOSE)
        c->closing = 1;
    if (c->tail)
        c->tail->next = m;
    else
        c->head = m;
    c->tail = m;
    c->queued += m->len;
    pthread_cond_signal(&c->wake);
    pthread_mutex_unlock(&c->lock);
}

void
stream_enqueue_close(struct client *c, int code, const char *reason)
{
    char buf[128];
    size_t n = strlen(reason) < sizeof buf - 2 ? strlen(reason) : sizeof buf - 2;
    buf[0] = (char)(code >> 8);
    buf[1] = (char)(code & 0xff);
    memcpy(buf + 2, reason, n);
    stream_enqueue(c, MG_WEBSOCKET_OPCODE_CONNECTION_CLOSE, buf, n + 2, 0);
}

void
stream_close_now(struct client *c, int code, const char *reason)
{
    pthread_mutex_lock(&c->lock);
    for (struct msg *x = c->head, *n; x; x = n) {
        n = x->next;
        free(x);
    }
    c->head = c->tail = NULL;
    c->queued = 0;
    if (!c->drop_time)
        c->drop_time = host_now();
    pthread_mutex_unlock(&c->lock);
    stream_enqueue_close(c, code, reason);
}

/* Writes the client's messages in order; may block on a slow client, never the hub. */
static void *
sender_main(void *arg)
{
    struct client *c = arg;
    pthread_mutex_lock(&c->lock);
    for (;;) {
        while (!c->head && !c->gone)
            pthread_cond_wait(&c->wake, &c->lock);
        if (c->gone)
            break;
        struct msg *m = c->head;
        c->head = m->next;
        if (!c->head)
            c->tail = NULL;
        c->queued -= m->len;
        pthread_mutex_unlock(&c->lock);
        int rc = mg_websocket_write(c->conn, m->opcode, m->data, m->len);
        int last = m->opcode == MG_WEBSOCKET_OPCODE_CONNECTION_CLOSE;
        free(m);
        pthread_mutex_lock(&c->lock);
        if (rc <= 0 || last) { /* the connection failed, or we closed it: wait to be told gone */
            c->closing = 1;
            while (!c->gone)
                pthread_cond_wait(&c->wake, &c->lock);
            break;
        }
    }
    pthread_mutex_unlock(&c->lock);
    return NULL;
}

static void
client_free(struct client *c)
{
    for (struct msg *x = c->head, *n; x; x = n) {
        n = x->next;
        free(x);
    }
    for (size_t i = 0; i < c->n_filter; i++)
        free(c->filter[i]);
    pthread_mutex_destroy(&c->lock);
    pthread_cond_destroy(&c->wake);
    free(c);
}

/* --- CivetWeb callbacks (workers) */

/*
 * The stream needs its client's socket to bound the kernel's buffering of a client (so that a
 * stalled client shows as one) and to cut a dropped client off (http_find_socket).
 */
/* A refused upgrade, audited as any refused call is (no token yet: who is null). Returns 1. */
static int
refuse_upgrade(struct host *h, const char *addr, int status, const char *why)
{
    struct api_req q = {.h = h, .method = "GET", .path = STREAM_PATH, .status = status};
    snprintf(q.addr, sizeof q.addr, "%s", addr);
    snprintf(q.message, sizeof q.message, "%s", why);
    if (audit_append(h, &q))
        hlog(LOG_WARN, "stream", "a refused client at %s is not in the audit log: out of memory",
             addr);
    return 1; /* CivetWeb answers the upgrade with an error */
}

static int
on_connect(const struct mg_connection *conn, void *data)
{
    struct host *h = data;
    struct stream *st = h->api->stream;
    const struct mg_request_info *ri = mg_get_request_info(conn);
    char addr[48];
    api_client_addr(h, conn, addr, sizeof addr);
    if (ratelimit_take(h->api->per_address, addr, host_now()) > 0)
        return refuse_upgrade(h, addr, 429, "too many requests from this address");
    struct client *c = calloc(1, sizeof *c);
    if (!c)
        return refuse_upgrade(h, addr, 503, "out of memory");
    c->st = st;
    c->conn = (struct mg_connection *)conn;
    c->opened = host_now();
    snprintf(c->addr, sizeof c->addr, "%s", addr);
    /* No server (the fuzzers): no socket to tune. */
    c->fd = h->http ? http_find_socket(ri->remote_addr, ri->remote_port, h->http->port) : -1;
    if (c->fd >= 0) {
        int size = SOCKET_SNDBUF;
        setsockopt(c->fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
    }
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->wake, NULL);
    pthread_mutex_lock(&st->lock);
    /* Each client holds a worker: keep two for the API. */
    int full = st->n_clients + 2 >= h->cfg.http_threads;
    if (!full) {
        c->next = st->clients;
        st->clients = c;
        st->n_clients++;
    }
    pthread_mutex_unlock(&st->lock);
    if (full) {
        char why[160];
        snprintf(why, sizeof why, "all %u HTTP threads but two are streaming", h->cfg.http_threads);
        hlog(LOG_WARN, "stream", "refused a client at %s: %s", c->addr, why);
        client_free(c);
        return refuse_upgrade(h, addr, 503, why);
    }
    mg_set_user_connection_data(conn, c);
    return 0;
}

static void
on_ready(struct mg_connection *conn, void *data)
{
    (void)data;
    struct client *c = mg_get_user_connection_data(conn);
    if (c && pthread_create(&c->sender, NULL, sender_main, c) == 0)
        c->sender_started = 1;
}

/* The events of one agent as the snapshot lists them. */
static json_t *
snapshot(struct host *h)
{
    json_t *agents = json_array();
    rcu_enter();
    struct runset *set = runs_current(&h->runs);
    for (size_t i = 0; i < set->n; i++)
        json_array_append_new(agents, api_run_json(h, set->v[i]));
    rcu_leave();
    return json_pack("{s:f, s:[{s:s, s:o}]}", "t", host_wall(), "events", "type", "snapshot",
                     "agents", agents);
}

/* Reads {"agents": [...]} into the client's filter (under stream.lock). */
static int
set_filter(struct client *c, json_t *agents)
{
    if (agents && (!json_is_array(agents) || json_array_size(agents) > MAX_FILTER))
        return -1;
    for (size_t i = 0; i < c->n_filter; i++)
        free(c->filter[i]);
    c->n_filter = 0;
    size_t i;
    json_t *v;
    json_array_foreach(agents, i, v)
    {
        if (json_is_string(v) && (c->filter[c->n_filter] = strdup(json_string_value(v))))
            c->n_filter++;
    }
    return 0;
}

struct data_call {
    struct mg_connection *conn;
    struct host *h;
    const char *data;
    size_t len;
    int keep;
};

static void
on_message(void *arg)
{
    struct data_call *d = arg;
    struct client *c = mg_get_user_connection_data(d->conn);
    struct stream *st = d->h->api->stream;
    json_t *m = json_loadb(d->data, d->len, 0, NULL);
    const char *token = json_string_value(json_object_get(m, "token"));
    json_t *agents = json_object_get(m, "agents");
    struct api_who who;
    struct token_grant grant;
    d->keep = 1;
    pthread_mutex_lock(&st->lock);
    int signed_in = c->signed_in;
    pthread_mutex_unlock(&st->lock);
    int auth =
        signed_in || !token ? 0 : tokens_authenticate(d->h, token, c->addr, &who, &grant, NULL, 0);
    if (!signed_in && (!token || auth == -EACCES)) {
        stream_enqueue_close(c, 1008,
                             "sign in first: {\"token\": \"...\"} (missing or invalid token)");
    } else if (!signed_in && auth) {
        stream_enqueue_close(c, 1008, "sign in first: the token expired or was rotated out");
    } else if (!json_is_object(m) || (agents && !json_is_array(agents))) {
        stream_enqueue_close(c, 1003, "messages are {\"agents\": [\"id\", ...]}");
    } else {
        pthread_mutex_lock(&st->lock);
        int bad = set_filter(c, agents);
        if (!signed_in && !bad) {
            c->who = who;
            c->grant = grant;
            c->signed_in = 1;
            atomic_fetch_add(&st->signed_in, 1);
        }
        pthread_mutex_unlock(&st->lock);
        if (bad) {
            stream_enqueue_close(c, 1008, "at most 64 agents in a filter");
        } else if (!signed_in) {
            json_t *snap = snapshot(d->h);
            char *text = snap ? json_dumps(snap, JSON_COMPACT | JSON_REAL_PRECISION(15)) : NULL;
            json_decref(snap);
            if (text)
                stream_enqueue(c, MG_WEBSOCKET_OPCODE_TEXT, text, strlen(text), 0);
            free(text);
        }
    }
    json_decref(m);
}

static int
on_data(struct mg_connection *conn, int flags, char *data, size_t len, void *arg)
{
    struct host *h = arg;
    int opcode = flags & 0x0f;
    if (opcode == MG_WEBSOCKET_OPCODE_CONNECTION_CLOSE)
        return 0;
    if (opcode != MG_WEBSOCKET_OPCODE_TEXT)
        return 1; /* pongs and the like */
    struct data_call d = {conn, h, data, len, 0};
    struct bigstack *bs = mg_get_thread_pointer(conn);
    if (!bs || !mg_get_user_connection_data(conn))
        return 0;
    bigstack_call(bs, on_message, &d);
    return d.keep;
}

static void
on_close(const struct mg_connection *conn, void *data)
{
    struct host *h = data;
    struct stream *st = h->api->stream;
    struct client *c = mg_get_user_connection_data(conn);
    if (!c)
        return;
    pthread_mutex_lock(&st->lock);
    for (struct client **p = &st->clients; *p; p = &(*p)->next) {
        if (*p == c) {
            *p = c->next;
            st->n_clients--;
            break;
        }
    }
    if (c->signed_in)
        atomic_fetch_sub(&st->signed_in, 1);
    pthread_mutex_unlock(&st->lock);
    pthread_mutex_lock(&c->lock);
    c->gone = 1;
    pthread_cond_signal(&c->wake);
    pthread_mutex_unlock(&c->lock);
    if (c->sender_started)
        pthread_join(c->sender, NULL);
    client_free(c);
}

int
stream_start(struct mg_context *ctx, struct host *h)
{
    struct stream *st = calloc(1, sizeof *st);
    if (!st)
        return -1;
    st->h = h;
    st->take_buf = malloc(FEED_MAX_EPISODES * sizeof *st->take_buf);
    pthread_mutex_init(&st->lock, NULL);
    h->api->stream = st;
    if (!st->take_buf || pthread_create(&st->hub, NULL, stream_hub_main, st) != 0) {
        stream_stop(h);
        return -1;
    }
    st->hub_started = 1;
    mg_set_websocket_handler(ctx, STREAM_PATH, on_connect, on_ready, on_data, on_close, h);
    return 0;
}

void
stream_stop(struct host *h)
{
    struct stream *st = h->api ? h->api->stream : NULL;
    if (!st)
        return;
    atomic_store(&st->stop, 1);
    if (st->hub_started)
        pthread_join(st->hub, NULL);
    free(st->seen);
    free(st->take_buf);
    pthread_mutex_destroy(&st->lock);
    free(st);
    h->api->stream = NULL;
}

void
stream_stats(struct host *h, struct stream_stats *out)
{
    struct stream *st = h->api->stream;
    out->clients = atomic_load(&st->signed_in);
    out->dropped = atomic_load(&st->dropped);
    out->batches = atomic_load(&st->batches);
}
