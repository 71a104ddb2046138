#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "writer.h"

enum item_kind { I_EPISODES, I_CHECKPOINT, I_SCALARS, I_JSON, I_TRUNCATE, I_FORGET, I_PUT, I_DEL };

struct item {
    struct item *next;
    uint64_t serial; /* its place in the order items were queued, from 1 */
    enum item_kind kind;
    char agent[72];        /* agent id, or the JSON record's key */
    unsigned char key[40]; /* I_PUT, I_DEL: a binary key */
    size_t klen;
    enum store_db db;
    struct checkpoint_hdr hdr;
    uint64_t seq, seq2;
    void *data;
    size_t len;
    size_t n; /* episode records in data */
    atomic_int *in_flight;
    int superseded; /* I_CHECKPOINT: a newer one of its agent is queued behind it */
};

/*
 * Progress is counted in item serials. Every attempt takes the whole queue from its head, and
 * a failed one goes back to the head, so "every item up to serial N" is well defined.
 */
struct writer {
    struct store *store;
    struct writer_limits lim;
    void (*on_error)(const char *msg, void *arg);
    void *on_error_arg;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake; /* the writer: work or a flush request */
    pthread_cond_t done; /* flushers: an attempt ended */
    struct item *head, *tail;
    uint64_t queued_episodes;
    uint64_t enqueued;  /* serial of the newest item queued */
    uint64_t committed; /* every item up to this serial is committed (or superseded) */
    uint64_t attempts;  /* attempts ended */
    int attempting;     /* one is under way */
    int gave_up;        /* stopped with items lost */
    unsigned failing;   /* consecutive failed attempts; 0 while the store takes writes */
    int flush_wanted;
    int stopping;
    int last_rc;
    char last_err[512];
    struct writer_stats stats;
};

static double
now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void
item_free(struct item *it)
{
    free(it->data);
    free(it);
}

/* The producer's flag goes down once the writer no longer holds a pointer to it. */
static void
release(struct item *it)
{
    if (it->in_flight)
        atomic_store(it->in_flight, 0);
    it->in_flight = NULL;
}

/*
 * While the store fails, checkpoints pile up behind the one that could not be written; only
 * the newest of each agent is worth keeping (it supersedes the older ones, which retention
 * would delete anyway). Runs under the lock, in one pass over the queue plus one over its
 * checkpoints, as the queue may hold millions of episode items by then.
 */
static void
supersede_checkpoints(struct writer *w)
{
    size_t n = 0;
    for (struct item *it = w->head; it; it = it->next)
        n += it->kind == I_CHECKPOINT;
    struct item **ck = n > 1 ? malloc(n * sizeof *ck) : NULL;
    if (!ck)
        return; /* nothing to supersede, or no memory to find out: keep them all */
    n = 0;
    for (struct item *it = w->head; it; it = it->next)
        if (it->kind == I_CHECKPOINT)
            ck[n++] = it;
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n && !ck[i]->superseded; j++)
            ck[i]->superseded = strcmp(ck[i]->agent, ck[j]->agent) == 0;
    free(ck);
    struct item **link = &w->head, *prev = NULL;
    while (*link) {
        struct item *it = *link;
        if (!it->superseded) {
            prev = it;
            link = &it->next;
            continue;
        }
        *link = it->next; /* never the tail: a newer checkpoint follows it */
        w->stats.superseded++;
        /* The newer one may be the same run's, with the same flag: leave that up. */
        for (struct item *later = it->next; later && it->in_flight; later = later->next)
            if (later->in_flight == it->in_flight)
                it->in_flight = NULL;
        release(it);
        item_free(it);
    }
    w->tail = prev;
}

static int
push(struct writer *w, struct item *it)
{
    pthread_mutex_lock(&w->lock);
    if (w->stopping) {
        pthread_mutex_unlock(&w->lock);
        release(it);
        item_free(it);
        return -1;
    }
    if (it->kind == I_EPISODES) {
        if (w->lim.max_backlog && w->queued_episodes + it->n > w->lim.max_backlog) {
            w->stats.dropped += it->n;
            pthread_mutex_unlock(&w->lock);
            item_free(it);
            return -1;
        }
        w->queued_episodes += it->n;
    }
    it->serial = ++w->enqueued;
    if (w->tail)
        w->tail->next = it;
    else
        w->head = it;
    w->tail = it;
    if (it->kind == I_CHECKPOINT && w->failing)
        supersede_checkpoints(w);
    pthread_mutex_unlock(&w->lock);
    return 0;
}

static struct item *
new_item(enum item_kind kind, const char *agent)
{
    struct item *it = calloc(1, sizeof *it);
    if (it) {
        it->kind = kind;
        snprintf(it->agent, sizeof it->agent, "%s", agent);
    }
    return it;
}

int
writer_episodes(struct writer *w, const char *agent, const struct episode_rec *e, size_t n)
{
    struct item *it = new_item(I_EPISODES, agent);
    if (!it || !(it->data = malloc(n * sizeof *e))) {
        free(it);
        return -1;
    }
    memcpy(it->data, e, n * sizeof *e);
    it->n = n;
    return push(w, it);
}

int
writer_checkpoint(struct writer *w, const char *agent, const struct checkpoint_hdr *h, void *blob,
                  size_t len, atomic_int *in_flight)
{
    struct item *it = new_item(I_CHECKPOINT, agent);
    if (!it) {
        free(blob);
        if (in_flight)
            atomic_store(in_flight, 0);
        return -1;
    }
    it->hdr = *h;
    it->data = blob;
    it->len = len;
    it->in_flight = in_flight;
    return push(w, it);
}

static int
copy_item(enum item_kind kind, const char *key, const void *data, size_t len, struct item **out)
{
    struct item *it = new_item(kind, key);
    if (!it || (len && !(it->data = malloc(len)))) {
        free(it);
        return -1;
    }
    if (len)
        memcpy(it->data, data, len);
    it->len = len;
    *out = it;
    return 0;
}

int
writer_scalars(struct writer *w, const char *agent, uint64_t seq, const char *json, size_t len)
{
    struct item *it;
    if (copy_item(I_SCALARS, agent, json, len, &it))
        return -1;
    it->seq = seq;
    return push(w, it);
}

int
writer_json(struct writer *w, enum store_db db, const char *key, const char *json, size_t len)
{
    struct item *it;
    if (copy_item(I_JSON, key, json, len, &it))
        return -1;
    it->db = db;
    return push(w, it);
}

int
writer_forget(struct writer *w, const char *agent, int keep_record)
{
    struct item *it = new_item(I_FORGET, agent);
    if (!it)
        return -1;
    it->seq = keep_record != 0;
    return push(w, it);
}

int
writer_put(struct writer *w, enum store_db db, const void *key, size_t klen, const void *val,
           size_t len)
{
    struct item *it;
    if (klen == 0 || klen > sizeof it->key || copy_item(I_PUT, "", val, len, &it))
        return -1;
    memcpy(it->key, key, klen);
    it->klen = klen;
    it->db = db;
    return push(w, it);
}

int
writer_del(struct writer *w, enum store_db db, const void *key, size_t klen)
{
    struct item *it;
    if (klen == 0 || klen > sizeof it->key || !(it = new_item(I_DEL, "")))
        return -1;
    memcpy(it->key, key, klen);
    it->klen = klen;
    it->db = db;
    return push(w, it);
}

int
writer_truncate(struct writer *w, const char *agent, uint64_t episodes, uint64_t scalars)
{
    struct item *it = new_item(I_TRUNCATE, agent);
    if (!it)
        return -1;
    it->seq = episodes;
    it->seq2 = scalars;
    return push(w, it);
}

struct batch {
    struct writer *w;
    struct item *items;
};

/* One transaction for the whole batch; repeatable, as store_write may run it again. */
static int
apply(MDB_txn *txn, void *arg)
{
    struct batch *b = arg;
    struct writer *w = b->w;
    struct store *s = w->store;
    int rc = 0;
    for (struct item *it = b->items; it && !rc; it = it->next) {
        switch (it->kind) {
        case I_EPISODES:
            rc = rec_put_episodes(s, txn, it->agent, it->data, it->n, w->lim.episodes_kept);
            break;
        case I_CHECKPOINT:
            rc = rec_put_checkpoint(s, txn, it->agent, &it->hdr, it->data, it->len,
                                    w->lim.checkpoints_kept);
            break;
        case I_SCALARS:
            rc =
                rec_put_scalars(s, txn, it->agent, it->seq, it->data, it->len, w->lim.scalars_kept);
            break;
        case I_JSON:
            rc = rec_put_json(s, txn, it->db, it->agent, it->data, it->len);
            break;
        case I_TRUNCATE:
            if (it->seq < UINT64_MAX)
                rc = rec_delete_from(s, txn, DB_EPISODES, it->agent, it->seq + 1);
            if (!rc && it->seq2 < UINT64_MAX)
                rc = rec_delete_from(s, txn, DB_SCALARS, it->agent, it->seq2 + 1);
            break;
        case I_FORGET:
            rc = rec_delete_from(s, txn, DB_CHECKPOINTS, it->agent, 0);
            if (!rc)
                rc = rec_delete_from(s, txn, DB_EPISODES, it->agent, 0);
            if (!rc)
                rc = rec_delete_from(s, txn, DB_SCALARS, it->agent, 0);
            if (!rc && !it->seq) {
                MDB_val k = {strlen(it->agent), it->agent};
                rc = mdb_del(txn, store_dbi(s, DB_AGENTS), &k, NULL);
                rc = rc == MDB_NOTFOUND ? 0 : rc;
            }
            break;
        case I_PUT: {
            MDB_val k = {it->klen, it->key}, v = {it->len, it->data};
            rc = mdb_put(txn, store_dbi(s, it->db), &k, &v, 0);
            break;
        }
        case I_DEL: {
            MDB_val k = {it->klen, it->key};
            rc = mdb_del(txn, store_dbi(s, it->db), &k, NULL);
            rc = rc == MDB_NOTFOUND ? 0 : rc;
            break;
        }
        }
    }
    return rc;
}

/*
 * One attempt at a batch: the whole queue as it was taken, items through `last`. Committed,
 * the items are freed. Failed (a full disk, say), they go back to the head of the queue, ahead
 * of what was queued meanwhile, so that order holds and nothing is lost: the writer retries
 * them. Returns 0 or the store's error.
 */
static int
attempt(struct writer *w, struct item *items, struct item *last)
{
    struct batch b = {w, items};
    char err[512] = "";
    double t0 = now();
    int rc = store_write(w->store, apply, &b, err, sizeof err);
    double dt = now() - t0;
    uint64_t episodes = 0, checkpoints = 0;
    for (struct item *it = items; it; it = it->next) {
        episodes += it->kind == I_EPISODES ? it->n : 0;
        checkpoints += it->kind == I_CHECKPOINT;
        /* Committed or not, the producer may go on (and free what the flag lives in): a
         * failed checkpoint stays queued, but the writer forgets where its flag was. */
        release(it);
    }
    /* Reported before a flusher can learn of the failure, so that it sees it counted. */
    if (rc && w->on_error)
        w->on_error(err, w->on_error_arg);
    pthread_mutex_lock(&w->lock);
    w->stats.commit_seconds += dt;
    w->attempts++;
    w->attempting = 0;
    if (rc) {
        w->failing++;
        w->stats.failures++;
        w->last_rc = rc;
        snprintf(w->last_err, sizeof w->last_err, "%s", err);
        last->next = w->head;
        if (!w->head)
            w->tail = last;
        w->head = items;
        supersede_checkpoints(w);
    } else {
        w->failing = 0;
        w->committed = last->serial;
        w->queued_episodes -= episodes;
        w->stats.commits++;
        w->stats.episodes += episodes;
        w->stats.checkpoints += checkpoints;
    }
    pthread_cond_broadcast(&w->done);
    pthread_mutex_unlock(&w->lock);
    for (struct item *it = rc ? NULL : items, *next; it; it = next) {
        next = it->next;
        item_free(it);
    }
    return rc;
}

/* At stop, on a store that still fails: what is queued is lost, and counted. Under the lock. */
static void
give_up(struct writer *w)
{
    for (struct item *it = w->head, *next; it; it = next) {
        next = it->next;
        w->stats.lost += it->kind == I_EPISODES ? it->n : 1;
        release(it);
        item_free(it);
    }
    w->head = w->tail = NULL;
    w->queued_episodes = 0;
    w->gave_up = 1;
    pthread_cond_broadcast(&w->done);
}

/* Absolute CLOCK_MONOTONIC time `seconds` from now, for the condition variable. */
static struct timespec
deadline(double seconds)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    double t = (double)ts.tv_sec + ts.tv_nsec * 1e-9 + seconds;
    ts.tv_sec = (time_t)t;
    ts.tv_nsec = (long)((t - (double)ts.tv_sec) * 1e9);
    return ts;
}

/* After n failed attempts in a row: WRITER_PERIOD_MS doubled n - 1 times, at most 5 s. */
static double
backoff(unsigned n)
{
    double s = WRITER_PERIOD_MS / 1000.0;
    for (unsigned i = 1; i < n && s < WRITER_RETRY_MAX_S; i++)
        s *= 2;
    return s < WRITER_RETRY_MAX_S ? s : WRITER_RETRY_MAX_S;
}

/*
 * Commits what accumulated at most every WRITER_PERIOD_MS, so that many small records make
 * few transactions; a flush or stop request commits at once. A failed batch is retried with
 * backoff (a full disk is not freed in milliseconds), and at once for a flush or a stop. At
 * stop, a batch that fails once more is given up.
 */
static void *
writer_main(void *arg)
{
    struct writer *w = arg;
    double next_commit = 0;
    pthread_setname_np(pthread_self(), "tars-writer");
    pthread_mutex_lock(&w->lock);
    for (;;) {
        while (!w->stopping && !w->flush_wanted && (!w->head || now() < next_commit)) {
            struct timespec until =
                deadline(w->head ? next_commit - now() : WRITER_PERIOD_MS / 1000.0);
            pthread_cond_timedwait(&w->wake, &w->lock, &until);
        }
        w->flush_wanted = 0;
        if (!w->head) {
            pthread_cond_broadcast(&w->done); /* a flush with nothing queued */
            if (w->stopping)
                break;
            continue;
        }
        int final = w->stopping;
        struct item *items = w->head, *last = w->tail;
        w->head = w->tail = NULL;
        w->attempting = 1;
        pthread_mutex_unlock(&w->lock);
        int rc = attempt(w, items, last);
        pthread_mutex_lock(&w->lock);
        if (rc && final) {
            give_up(w);
            break;
        }
        next_commit = now() + (rc ? backoff(w->failing) : WRITER_PERIOD_MS / 1000.0);
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

int
writer_start(struct writer **out, struct store *s, const struct writer_limits *lim,
             void (*on_error)(const char *msg, void *arg), void *arg)
{
    struct writer *w = calloc(1, sizeof *w);
    *out = NULL;
    if (!w)
        return ENOMEM;
    w->store = s;
    w->lim = *lim;
    w->on_error = on_error;
    w->on_error_arg = arg;
    pthread_mutex_init(&w->lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&w->wake, &attr);
    pthread_condattr_destroy(&attr);
    pthread_cond_init(&w->done, NULL);
    int rc = pthread_create(&w->thread, NULL, writer_main, w);
    if (rc) {
        pthread_mutex_destroy(&w->lock);
        pthread_cond_destroy(&w->wake);
        pthread_cond_destroy(&w->done);
        free(w);
        return rc;
    }
    *out = w;
    return 0;
}

/*
 * Waits for everything queued before the call to commit, or for one attempt that began after
 * the call (and so held all of it) to fail: a flush never answers from an older attempt, and
 * asks for one at once, even while the writer backs off.
 */
int
writer_flush(struct writer *w, char *err, size_t errlen)
{
    pthread_mutex_lock(&w->lock);
    uint64_t target = w->enqueued;
    uint64_t after = w->attempts + (w->attempting ? 1 : 0);
    while (w->committed < target && w->attempts <= after && !w->gave_up) {
        w->flush_wanted = 1;
        pthread_cond_signal(&w->wake);
        pthread_cond_wait(&w->done, &w->lock);
    }
    int rc = 0;
    if (w->committed < target) {
        rc = w->last_rc ? w->last_rc : EIO;
        if (err)
            snprintf(err, errlen, "%s", w->last_err);
    }
    pthread_mutex_unlock(&w->lock);
    return rc;
}

int
writer_stop(struct writer *w)
{
    if (!w)
        return 0;
    pthread_mutex_lock(&w->lock);
    w->stopping = 1;
    pthread_cond_signal(&w->wake);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->thread, NULL);
    int rc = w->stats.lost ? -1 : 0;
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->wake);
    pthread_cond_destroy(&w->done);
    free(w);
    return rc;
}

void
writer_stats(struct writer *w, struct writer_stats *out)
{
    pthread_mutex_lock(&w->lock);
    *out = w->stats;
    pthread_mutex_unlock(&w->lock);
}
