#include <errno.h>
#include <malloc.h>
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
    size_t bytes;   /* what it holds in memory, counted in the backlog */
};

/* What was dropped of one agent, by id (a short array: there are tens of agents). */
struct agent_drops {
    char agent[72];
    struct writer_drops d;
};

/*
 * Progress is counted in item serials. Every attempt takes a prefix of the queue from its
 * head, and a failed one goes back to the head, so "every item up to serial N" is well
 * defined (an item dropped from the queue counts as done).
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
    uint64_t enqueued;        /* serial of the newest item queued */
    uint64_t committed;       /* every item up to this serial is committed (or dropped) */
    uint64_t started;         /* attempts begun */
    uint64_t failed_at;       /* the ordinal (in started) of the last attempt that failed */
    int gave_up;              /* stopped with items lost */
    unsigned failing;         /* failed attempts since the store last took every write; else 0 */
    uint64_t fail_mark;       /* the newest serial queued at the last failure */
    uint64_t peak_since_trim; /* the largest backlog since memory was last given back */
    struct agent_drops *drops;
    size_t n_drops;
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

static double
wall(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void
item_free(struct item *it)
{
    free(it->data);
    free(it);
}

static size_t
item_bytes(const struct item *it)
{
    return sizeof *it + (it->kind == I_EPISODES ? it->n * sizeof(struct episode_rec) : it->len);
}

/* The drop counts of an agent, added when absent; NULL without memory. Under the lock. */
static struct writer_drops *
drops_of(struct writer *w, const char *agent)
{
    for (size_t i = 0; i < w->n_drops; i++)
        if (strcmp(w->drops[i].agent, agent) == 0)
            return &w->drops[i].d;
    struct agent_drops *v = realloc(w->drops, (w->n_drops + 1) * sizeof *v);
    if (!v)
        return NULL;
    w->drops = v;
    v += w->n_drops++;
    memset(v, 0, sizeof *v);
    snprintf(v->agent, sizeof v->agent, "%s", agent);
    return &v->d;
}

/* An agent forgotten with its record starts from zero if its id comes back. Under the lock. */
static void
forget_drops(struct writer *w, const char *agent)
{
    for (size_t i = 0; i < w->n_drops; i++)
        if (strcmp(w->drops[i].agent, agent) == 0) {
            w->drops[i] = w->drops[--w->n_drops];
            return;
        }
}

/* Frees a queued item the store will never see, counting it as dropped. Under the lock. */
static void
drop(struct writer *w, struct item *it)
{
    struct writer_drops *d = drops_of(w, it->agent);
    if (it->kind == I_EPISODES) {
        w->stats.dropped += it->n;
        if (d)
            d->episodes += it->n;
    } else if (it->kind == I_SCALARS) {
        w->stats.dropped_scalars++;
        if (d)
            d->scalars++;
    } else if (it->kind == I_CHECKPOINT) {
        w->stats.superseded++;
        if (d)
            d->checkpoints++;
    }
    w->stats.backlog -= it->bytes;
    item_free(it);
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
        /* The newer one may be the same run's, with the same flag: leave that up. */
        for (struct item *later = it->next; later && it->in_flight; later = later->next)
            if (later->in_flight == it->in_flight)
                it->in_flight = NULL;
        release(it);
        drop(w, it);
    }
    w->tail = prev;
}

/*
 * Keeps the memory the queue holds under backlog_bytes by dropping its oldest history:
 * episode and scalars records feed the curves, and a gap there is what a full disk may cost;
 * everything else is kept. A batch under attempt is left alone (the store has it). Drops down
 * to 7/8 of the limit, so that a queue at its limit is not walked again for every record.
 * Under the lock.
 */
static void
enforce_limit(struct writer *w)
{
    uint64_t limit = w->lim.backlog_bytes;
    if (!limit || w->stats.backlog <= limit)
        return;
    uint64_t low = limit - limit / 8;
    struct item **link = &w->head, *prev = NULL;
    while (*link && w->stats.backlog > low) {
        struct item *it = *link;
        if (it->kind != I_EPISODES && it->kind != I_SCALARS) {
            prev = it;
            link = &it->next;
            continue;
        }
        *link = it->next;
        if (it == w->tail)
            w->tail = prev;
        drop(w, it);
    }
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
    it->bytes = item_bytes(it);
    it->serial = ++w->enqueued;
    if (w->tail)
        w->tail->next = it;
    else
        w->head = it;
    w->tail = it;
    w->stats.backlog += it->bytes;
    if (w->stats.backlog > w->stats.backlog_peak)
        w->stats.backlog_peak = w->stats.backlog;
    if (w->stats.backlog > w->peak_since_trim)
        w->peak_since_trim = w->stats.backlog;
    if (it->kind == I_FORGET && !it->seq)
        forget_drops(w, it->agent);
    if (it->kind == I_CHECKPOINT && w->failing)
        supersede_checkpoints(w);
    enforce_limit(w);
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
 * One attempt at a batch: a prefix of the queue as it was taken, items through `last`.
 * Committed, the items are freed (and, once a large backlog has drained, the memory given
 * back). Failed (a full disk, say), they go back to the head of the queue, ahead of what was
 * queued meanwhile, so that order holds and nothing is lost but what the backlog's limit
 * drops: the writer retries them. Returns 0 or the store's error.
 */
static int
attempt(struct writer *w, struct item *items, struct item *last)
{
    struct batch b = {w, items};
    char err[512] = "";
    double t0 = now();
    int rc = store_write(w->store, apply, &b, err, sizeof err);
    double dt = now() - t0;
    uint64_t episodes = 0, checkpoints = 0, bytes = 0;
    for (struct item *it = items; it; it = it->next) {
        episodes += it->kind == I_EPISODES ? it->n : 0;
        checkpoints += it->kind == I_CHECKPOINT;
        bytes += it->bytes;
        /* Committed or not, the producer may go on (and free what the flag lives in): a
         * failed checkpoint stays queued, but the writer forgets where its flag was. */
        release(it);
    }
    /* Reported before a flusher can learn of the failure, so that it sees it counted. */
    if (rc && w->on_error)
        w->on_error(err, w->on_error_arg);
    int trim = 0;
    pthread_mutex_lock(&w->lock);
    w->stats.commit_seconds += dt;
    if (rc) {
        if (!w->failing++)
            w->stats.failing_since = wall();
        w->failed_at = w->started;
        w->fail_mark = w->enqueued;
        w->stats.failures++;
        w->last_rc = rc;
        snprintf(w->last_err, sizeof w->last_err, "%s", err);
        last->next = w->head;
        if (!w->head)
            w->tail = last;
        w->head = items;
        supersede_checkpoints(w);
        enforce_limit(w);
    } else {
        /* With nothing left queued, whatever was dropped from the queue's end is done too. */
        w->committed = w->head ? last->serial : w->enqueued;
        /* The store takes writes again once all that was pending at the last failure is in:
         * a prefix that happens to fit (history only, say) is not recovery yet. */
        if (w->committed >= w->fail_mark) {
            w->failing = 0;
            w->stats.failing_since = 0;
        }
        w->stats.backlog -= bytes;
        w->stats.commits++;
        w->stats.episodes += episodes;
        w->stats.checkpoints += checkpoints;
        if (!w->head && w->peak_since_trim > WRITER_TRIM_BYTES) {
            trim = 1;
            w->peak_since_trim = 0;
        }
    }
    pthread_cond_broadcast(&w->done);
    pthread_mutex_unlock(&w->lock);
    for (struct item *it = rc ? NULL : items, *next; it; it = next) {
        next = it->next;
        item_free(it);
    }
    /* The queue's records were allocated by many threads, in many arenas: without this, a
     * drained backlog of hundreds of megabytes would stay resident. */
    if (trim)
        malloc_trim(0);
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
    w->stats.backlog = 0;
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
 * Detaches the head of the queue, at most WRITER_BATCH_BYTES of it but at least one item, for
 * one transaction. While the store fails, a smaller probe (WRITER_PROBE_BYTES): a full disk
 * shows only at commit, after the whole batch was built, and a caller waits for that answer.
 * Returns its last item. Under the lock, with the queue not empty.
 */
static struct item *
take_prefix(struct writer *w)
{
    size_t budget = w->failing ? WRITER_PROBE_BYTES : WRITER_BATCH_BYTES;
    struct item *last = w->head;
    size_t bytes = last->bytes;
    while (last->next && bytes + last->next->bytes <= budget) {
        last = last->next;
        bytes += last->bytes;
    }
    w->head = last->next;
    if (!w->head)
        w->tail = NULL;
    last->next = NULL;
    return last;
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
            w->committed = w->enqueued;       /* the queue's end was dropped: done too */
            pthread_cond_broadcast(&w->done); /* a flush with nothing queued */
            if (w->stopping)
                break;
            continue;
        }
        int final = w->stopping;
        struct item *items = w->head, *last = take_prefix(w);
        int more = w->head != NULL;
        w->started++;
        pthread_mutex_unlock(&w->lock);
        int rc = attempt(w, items, last);
        pthread_mutex_lock(&w->lock);
        if (rc && final) {
            give_up(w);
            break;
        }
        /* The rest of a long backlog follows at once; a failure backs off. */
        next_commit = now() + (rc ? backoff(w->failing) : more ? 0 : WRITER_PERIOD_MS / 1000.0);
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
        return -ENOMEM;
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
        return -rc; /* pthread_create's code is a positive errno */
    }
    *out = w;
    return 0;
}

/*
 * Waits for everything queued before the call to commit (in one transaction or several), or
 * for one attempt that began after the call (and so held the oldest of it) to fail: a flush
 * never answers from an older attempt, and asks for one at once, even while the writer backs
 * off.
 */
int
writer_flush(struct writer *w, char *err, size_t errlen)
{
    pthread_mutex_lock(&w->lock);
    uint64_t target = w->enqueued;
    uint64_t begun = w->started; /* attempts that began before the call, or under way */
    while (w->committed < target && w->failed_at <= begun && !w->gave_up) {
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
    free(w->drops);
    free(w);
    return rc;
}

void
writer_stats(struct writer *w, struct writer_stats *out)
{
    pthread_mutex_lock(&w->lock);
    *out = w->stats;
    out->failing = w->failing;
    pthread_mutex_unlock(&w->lock);
}

void
writer_drops(struct writer *w, const char *agent, struct writer_drops *out)
{
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&w->lock);
    for (size_t i = 0; i < w->n_drops; i++)
        if (strcmp(w->drops[i].agent, agent) == 0)
            *out = w->drops[i].d;
    pthread_mutex_unlock(&w->lock);
}
