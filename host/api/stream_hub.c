/*
 * The stream's hub: every PERIOD_MS it collects each agent's events (state changes, what the
 * runners handed over through their feeds, progress twice a second) into one batch, renders
 * it once per distinct filter and queues it to every signed-in client.
 */
#include <civetweb.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "codeswap.h"
#include "host.h"
#include "log.h"
#include "params_json.h"
#include "rcu.h"
#include "stream.h"
#include "studies.h"
#include "stream_internal.h"
#include "tokens.h"

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

/* Whether r was added, reset, changed state or took a checkpoint since the last period. */
static void
changes(struct stream *st, struct batch *b, struct seen *s, struct run *r)
{
    int state = atomic_load(&r->state);
    const struct run_params *pp = atomic_load_explicit(&r->params, memory_order_acquire);
    if (s->state == -1 || s->run != r) {
        /* Another run under the same id: a reset starts from the record (version 0); a
         * change of parameters that are not HOT re-creates it with a newer version. */
        const char *type = s->state == -1 ? "added" : pp->version ? "recreated" : "reset";
        add_event(b, r->id, json_pack("{s:s, s:o}", "type", type, "agent", api_run_json(st->h, r)));
    } else if (state != s->state) {
        add_event(b, r->id,
                  json_pack("{s:s, s:s, s:s, s:s?}", "type", "status", "agent", r->id, "state",
                            run_state_name(state), "error", state == RUN_FAILED ? r->error : NULL));
    }
    int checkpointed = atomic_load(&r->checkpointed);
    uint64_t step = atomic_load(&r->checkpoint_step);
    if (checkpointed && s->run == r && (!s->checkpointed || step != s->checkpoint_step))
        add_event(b, r->id,
                  json_pack("{s:s, s:s, s:I, s:o}", "type", "checkpoint", "agent", r->id, "step",
                            (json_int_t)step, "time", num(atomic_load(&r->checkpoint_time))));
    if (s->state != -1 && pp->version != s->params_version)
        add_event(b, r->id,
                  json_pack("{s:s, s:s, s:I, s:o, s:o}", "type", "params", "agent", r->id,
                            "version", (json_int_t)pp->version, "params", pjson_values(pp->agent),
                            "env_params", pjson_values(pp->env)));
    s->params_version = pp->version;
    s->run = r;
    s->state = state;
    s->checkpointed = checkpointed;
    s->checkpoint_step = step;
}

/* This period's events of every agent. */
/* Seconds between two studies events. */
#define STUDIES_EVERY 2.0

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
        changes(st, b, s, r);
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
    /* The studies' trials per state, best values and trials per hour: for everyone. */
    if (st->h->studies && now - st->studies_time >= STUDIES_EVERY) {
        st->studies_time = now;
        json_t *m = studies_metrics(st->h);
        json_object_set_new(m, "type", json_string("studies"));
        add_event(b, "", m);
    }
    json_t *reloads = codeswap_take_events(st->h), *e; /* plugin code swaps: for everyone */
    size_t k;
    json_array_foreach(reloads, k, e) add_event(b, "", json_incref(e));
    json_decref(reloads);
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
    if (!c->n_filter || !*agent) /* no filter, or an event of no agent (reload) */
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

/*
 * Whether the token c signed in with stopped working (revoked, expired, rotated out): then it
 * is closed with 1008 and the reason, within a period of the change. Under stream.lock.
 */
static int
token_refused(struct stream *st, struct client *c)
{
    char why[100];
    if (tokens_grant_check(st->h, &c->grant, why, sizeof why) == 0)
        return 0;
    c->refused = 1;
    stream_close_now(c, 1008, why);
    hlog(LOG_INFO, "stream", "closed the client at %s (%s): %s", c->addr, c->who.name, why);
    return 1;
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
                stream_enqueue_close(c, 1008, "sign in first: {\"token\": \"...\"}");
            continue;
        }
        if (c->refused || token_refused(st, c))
            continue;
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
            stream_enqueue(c, MG_WEBSOCKET_OPCODE_TEXT, text, strlen(text), limit);
            atomic_fetch_add(&st->batches, 1);
        }
        free(mine);
    }
    pthread_mutex_unlock(&st->lock);
    free(all);
}

void *
stream_hub_main(void *arg)
{
    struct stream *st = arg;
    pthread_setname_np(pthread_self(), "tars-stream");
    rcu_thread_online();
    while (!atomic_load(&st->stop)) {
        struct timespec ts = {0, PERIOD_MS * 1000 * 1000};
        nanosleep(&ts, NULL);
        struct batch b = {0};
        double now = host_now();
        collect(st, &b, now);
        tokens_tick(st->h);
        /* The workers add and remove clients under the lock (a read without it raced with a
         * client closing at shutdown, when the runners have stopped and batches are empty). */
        pthread_mutex_lock(&st->lock);
        int listened = st->clients != NULL;
        pthread_mutex_unlock(&st->lock);
        if (b.n || listened)
            deliver(st, &b, host_wall());
        for (size_t i = 0; i < b.n; i++)
            json_decref(b.v[i].json);
        free(b.v);
    }
    rcu_thread_offline();
    return NULL;
}
