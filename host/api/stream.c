#include <arpa/inet.h>
#include <civetweb.h>
#include <dirent.h>
#include <math.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "api.h"
#include "bigstack.h"
#include "host.h"
#include "log.h"
#include "rcu.h"
#include "ratelimit.h"
#include "stream.h"
#include "tokens.h"

#define PERIOD_MS       100
#define PROGRESS_EVERY  0.5 /* seconds */
#define SIGN_IN_TIMEOUT 10.0
#define MAX_FILTER      64
#define SOCKET_SNDBUF   (64 << 10) /* kernel buffering of a client: small, so lag shows */
#define DROP_GRACE      2.0        /* seconds a dropped client has to take its close frame */

struct msg {
    struct msg *next;
    int opcode;
    size_t len;
    char data[];
};

struct client {
    struct client *next; /* the hub's list, under stream.lock */
    struct stream *st;
    struct mg_connection *conn;
    char addr[48];
    double opened;
    int fd;           /* its socket, or -1 when not found */
    double drop_time; /* when it was dropped (hub), 0: not */
    int shut;         /* the hub shut its socket down */
    /* Under lock. */
    pthread_mutex_t lock;
    pthread_cond_t wake;
    struct msg *head, *tail;
    size_t queued; /* bytes */
    int closing;   /* a close frame is queued: nothing else will be */
    int gone;      /* the connection is closing: the sender must stop */
    /* Set on sign-in (worker thread, under stream.lock), read by the hub under it. */
    int signed_in;
    struct api_who who;
    char *filter[MAX_FILTER];
    size_t n_filter; /* 0: every agent */
    pthread_t sender;
    int sender_started;
};

/* What the hub remembers of each agent between batches. */
struct seen {
    char id[72];
    int state;
    int present;
    double progress_time;
};

struct stream {
    struct host *h;
    pthread_t hub;
    int hub_started;
    atomic_int stop;
    pthread_mutex_t lock;
    struct client *clients;
    size_t n_clients;
    struct seen *seen; /* the hub's own */
    size_t n_seen, cap_seen;
    struct episode_rec *take_buf;
    _Atomic uint64_t dropped, batches, signed_in;
};

static double
unix_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* --- a client's queue and sender */

static void
enqueue(struct client *c, int opcode, const char *data, size_t len, size_t limit)
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

static void
enqueue_close(struct client *c, int code, const char *reason)
{
    char buf[128];
    size_t n = strlen(reason) < sizeof buf - 2 ? strlen(reason) : sizeof buf - 2;
    buf[0] = (char)(code >> 8);
    buf[1] = (char)(code & 0xff);
    memcpy(buf + 2, reason, n);
    enqueue(c, MG_WEBSOCKET_OPCODE_CONNECTION_CLOSE, buf, n + 2, 0);
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
 * The socket of a connection, found by its peer address among our descriptors: CivetWeb
 * does not expose it, and the stream needs it to bound the kernel's buffering of a client
 * (so that a stalled client shows as one) and to cut a dropped client off.
 */
static int
find_socket(const struct mg_request_info *ri, int local_port)
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
            struct sockaddr_in *p = (struct sockaddr_in *)&peer;
            inet_ntop(AF_INET, &p->sin_addr, text, sizeof text);
            pport = ntohs(p->sin_port);
            sport = ntohs(((struct sockaddr_in *)&self)->sin_port);
        } else if (peer.ss_family == AF_INET6) {
            struct sockaddr_in6 *p = (struct sockaddr_in6 *)&peer;
            inet_ntop(AF_INET6, &p->sin6_addr, text, sizeof text);
            pport = ntohs(p->sin6_port);
            sport = ntohs(((struct sockaddr_in6 *)&self)->sin6_port);
        } else {
            continue;
        }
        if (pport == ri->remote_port && sport == local_port && strcmp(text, ri->remote_addr) == 0)
            found = fd;
    }
    if (dir)
        closedir(dir);
    return found;
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
        return 1; /* refused: CivetWeb answers the upgrade with an error */
    struct client *c = calloc(1, sizeof *c);
    if (!c)
        return 1;
    c->st = st;
    c->conn = (struct mg_connection *)conn;
    c->opened = host_now();
    snprintf(c->addr, sizeof c->addr, "%s", addr);
    c->fd = find_socket(ri, h->http.port);
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
        hlog(LOG_WARN, "stream",
             "refused a client at %s: all %u HTTP threads but two are streaming", c->addr,
             h->cfg.http_threads);
        client_free(c);
        return 1;
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
        json_array_append_new(agents, api_run_json(set->v[i]));
    rcu_leave();
    return json_pack("{s:f, s:[{s:s, s:o}]}", "t", unix_now(), "events", "type", "snapshot",
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
    d->keep = 1;
    pthread_mutex_lock(&st->lock);
    int signed_in = c->signed_in;
    pthread_mutex_unlock(&st->lock);
    if (!signed_in && (!token || tokens_verify(d->h, token, &who) != 0)) {
        enqueue_close(c, 1008, "sign in first: {\"token\": \"...\"} (missing or invalid token)");
    } else if (!json_is_object(m) || (agents && !json_is_array(agents))) {
        enqueue_close(c, 1003, "messages are {\"agents\": [\"id\", ...]}");
    } else {
        pthread_mutex_lock(&st->lock);
        int bad = set_filter(c, agents);
        if (!signed_in && !bad) {
            c->who = who;
            c->signed_in = 1;
            atomic_fetch_add(&st->signed_in, 1);
        }
        pthread_mutex_unlock(&st->lock);
        if (bad) {
            enqueue_close(c, 1008, "at most 64 agents in a filter");
        } else if (!signed_in) {
            json_t *snap = snapshot(d->h);
            char *text = snap ? json_dumps(snap, JSON_COMPACT | JSON_REAL_PRECISION(15)) : NULL;
            json_decref(snap);
            if (text)
                enqueue(c, MG_WEBSOCKET_OPCODE_TEXT, text, strlen(text), 0);
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

/* --- the hub */

struct event {
    char agent[72];
    json_t *json;
};

struct batch {
    struct event *v;
    size_t n, cap;
};

static void
add_event(struct batch *b, const char *agent, json_t *json)
{
    if (!json)
        return;
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        struct event *v = realloc(b->v, cap * sizeof *v);
        if (!v) {
            json_decref(json);
            return;
        }
        b->v = v;
        b->cap = cap;
    }
    snprintf(b->v[b->n].agent, sizeof b->v[b->n].agent, "%s", agent);
    b->v[b->n++].json = json;
}

static struct seen *
find_seen(struct stream *st, const char *id)
{
    for (size_t i = 0; i < st->n_seen; i++)
        if (strcmp(st->seen[i].id, id) == 0)
            return &st->seen[i];
    if (st->n_seen == st->cap_seen) {
        size_t cap = st->cap_seen ? st->cap_seen * 2 : 16;
        struct seen *v = realloc(st->seen, cap * sizeof *v);
        if (!v)
            return NULL;
        st->seen = v;
        st->cap_seen = cap;
    }
    struct seen *s = &st->seen[st->n_seen++];
    memset(s, 0, sizeof *s);
    snprintf(s->id, sizeof s->id, "%s", id);
    s->state = -1;
    return s;
}

static json_t *
num(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static void
episodes_event(struct batch *b, struct run *r, const struct feed_take *t)
{
    json_t *ret = json_array(), *len = json_array(), *step = json_array();
    for (uint32_t i = 0; i < t->n; i++) {
        json_array_append_new(ret, num(t->ep[i].ret));
        json_array_append_new(len, json_integer(t->ep[i].length));
        json_array_append_new(step, json_integer((json_int_t)t->ep[i].step));
    }
    add_event(b, r->id,
              json_pack("{s:s, s:s, s:I, s:o, s:o, s:o, s:I}", "type", "episodes", "agent", r->id,
                        "first", (json_int_t)(t->n ? t->ep[0].episode : 0), "returns", ret,
                        "lengths", len, "steps", step, "dropped", (json_int_t)t->dropped));
}

static void
scalars_event(struct batch *b, struct run *r, const struct feed_take *t)
{
    json_t *values = json_object();
    for (uint32_t i = 0; i < t->scalars.n; i++)
        json_object_set_new(values, t->scalars.items[i].name, num(t->scalars.items[i].value));
    add_event(b, r->id,
              json_pack("{s:s, s:s, s:I, s:o}", "type", "scalars", "agent", r->id, "step",
                        (json_int_t)t->scalars_step, "values", values));
}

/* This period's events of every agent. */
static void
collect(struct stream *st, struct batch *b, double now)
{
    for (size_t i = 0; i < st->n_seen; i++)
        st->seen[i].present = 0;
    rcu_enter();
    struct runset *set = runs_current(&st->h->runs);
    for (size_t i = 0; i < set->n; i++) {
        struct run *r = set->v[i];
        struct seen *s = find_seen(st, r->id);
        if (!s)
            continue;
        s->present = 1;
        int state = atomic_load(&r->state);
        if (s->state == -1)
            add_event(b, r->id, json_pack("{s:s, s:o}", "type", "added", "agent", api_run_json(r)));
        else if (state != s->state)
            add_event(b, r->id,
                      json_pack("{s:s, s:s, s:s, s:s?}", "type", "status", "agent", r->id, "state",
                                run_state_name(state), "error",
                                state == RUN_FAILED ? r->error : NULL));
        s->state = state;
        struct feed_take t = {.ep = st->take_buf};
        feed_take(&r->feed, &t);
        if (t.n || t.dropped)
            episodes_event(b, r, &t);
        if (t.has_scalars)
            scalars_event(b, r, &t);
        if (now - s->progress_time >= PROGRESS_EVERY) {
            s->progress_time = now;
            add_event(b, r->id,
                      json_pack("{s:s, s:s, s:I, s:I, s:o, s:o, s:o}", "type", "progress", "agent",
                                r->id, "steps", (json_int_t)atomic_load(&r->steps), "episodes",
                                (json_int_t)atomic_load(&r->episodes), "sps",
                                num(atomic_load(&r->sps)), "mean_return",
                                num(atomic_load(&r->mean_return)), "last_return",
                                num(atomic_load(&r->last_return))));
        }
    }
    rcu_leave();
    for (size_t i = 0; i < st->n_seen;) { /* agents that left */
        if (st->seen[i].present) {
            i++;
            continue;
        }
        add_event(b, st->seen[i].id,
                  json_pack("{s:s, s:s}", "type", "removed", "agent", st->seen[i].id));
        st->seen[i] = st->seen[--st->n_seen];
    }
}

static int
wanted(const struct client *c, const char *agent)
{
    if (!c->n_filter)
        return 1;
    for (size_t i = 0; i < c->n_filter; i++)
        if (strcmp(c->filter[i], agent) == 0)
            return 1;
    return 0;
}

/* The batch as one client sees it (NULL when nothing is for it). */
static char *
render(const struct batch *b, const struct client *c, double t)
{
    json_t *events = json_array();
    for (size_t i = 0; i < b->n; i++)
        if (!c || wanted(c, b->v[i].agent))
            json_array_append(events, b->v[i].json);
    char *text = NULL;
    if (json_array_size(events)) {
        json_t *o = json_pack("{s:f, s:O}", "t", t, "events", events);
        text = o ? json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(15)) : NULL;
        json_decref(o);
    }
    json_decref(events);
    return text;
}

static void
deliver(struct stream *st, const struct batch *b, double t)
{
    size_t limit = st->h->cfg.stream_buffer;
    char *all = NULL;
    int all_done = 0;
    pthread_mutex_lock(&st->lock);
    for (struct client *c = st->clients; c; c = c->next) {
        pthread_mutex_lock(&c->lock);
        int cut = c->drop_time && !c->shut && c->fd >= 0 && host_now() - c->drop_time > DROP_GRACE;
        if (cut) { /* dropped, and still not gone: wake its sender and its worker */
            shutdown(c->fd, SHUT_RDWR);
            c->shut = 1;
        }
        pthread_mutex_unlock(&c->lock);
        if (!c->signed_in) {
            if (host_now() - c->opened > SIGN_IN_TIMEOUT)
                enqueue_close(c, 1008, "sign in first: {\"token\": \"...\"}");
            continue;
        }
        char *mine = NULL;
        const char *text;
        if (c->n_filter) {
            text = mine = render(b, c, t);
        } else {
            if (!all_done) {
                all = render(b, NULL, t);
                all_done = 1;
            }
            text = all;
        }
        if (text) {
            enqueue(c, MG_WEBSOCKET_OPCODE_TEXT, text, strlen(text), limit);
            atomic_fetch_add(&st->batches, 1);
        }
        free(mine);
    }
    pthread_mutex_unlock(&st->lock);
    free(all);
}

static void *
hub_main(void *arg)
{
    struct stream *st = arg;
    rcu_thread_online();
    while (!atomic_load(&st->stop)) {
        struct timespec ts = {0, PERIOD_MS * 1000 * 1000};
        nanosleep(&ts, NULL);
        struct batch b = {0};
        double now = host_now();
        collect(st, &b, now);
        if (b.n || st->clients)
            deliver(st, &b, unix_now());
        for (size_t i = 0; i < b.n; i++)
            json_decref(b.v[i].json);
        free(b.v);
    }
    rcu_thread_offline();
    return NULL;
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
    if (!st->take_buf || pthread_create(&st->hub, NULL, hub_main, st) != 0) {
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
