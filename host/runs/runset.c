#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "rcu.h"
#include "runset.h"

#ifdef TARS_RCU_TSAN
char tars_rcu_tsan_sync;
#endif

/* An id claimed by an operation (runs_claim). */
struct runs_claim {
    struct runs_claim *next;
    char id[];
};

static struct runset *
set_new(struct runs *rs, size_t n)
{
    struct runset *s = calloc(1, sizeof *s + (n ? n : 1) * sizeof s->v[0]);
    if (s) {
        s->n = n;
        s->owner = rs;
    }
    return s;
}

int
runs_init(struct runs *rs, uint32_t n_runners)
{
    struct runset *s = set_new(rs, 0);
    if (!s)
        return -ENOMEM;
    atomic_init(&rs->cur, s);
    atomic_init(&rs->pending, 0);
    pthread_mutex_init(&rs->lock, NULL);
    pthread_cond_init(&rs->released, NULL);
    rs->claims = NULL;
    rs->n_runners = n_runners ? n_runners : 1;
    return 0;
}

void
runs_free(struct runs *rs)
{
    struct runset *s = atomic_load(&rs->cur);
    if (!s)
        return;
    /* The sets replaced last are freed on liburcu's thread: wait for them (they point at
     * rs). */
    while (atomic_load_explicit(&rs->pending, memory_order_acquire)) {
        struct timespec ts = {0, 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    for (size_t i = 0; i < s->n; i++)
        run_destroy(s->v[i]);
    free(s);
    atomic_store(&rs->cur, NULL);
    pthread_cond_destroy(&rs->released);
    pthread_mutex_destroy(&rs->lock);
}

struct run *
runset_find(const struct runset *s, const char *id)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->v[i]->id, id) == 0)
            return s->v[i];
    return NULL;
}

static void
free_after_grace(struct rcu_head *head)
{
    rcu_grace_ended(head);
    struct runset *s = caa_container_of(head, struct runset, rcu);
    struct runs *rs = s->owner;
    free(s);
    atomic_fetch_sub_explicit(&rs->pending, 1, memory_order_release);
}

/* Publishes next; the set it replaced is freed once no reader can still see it. */
static void
publish(struct runs *rs, struct runset *next)
{
    struct runset *old = atomic_exchange_explicit(&rs->cur, next, memory_order_acq_rel);
    atomic_fetch_add_explicit(&rs->pending, 1, memory_order_relaxed);
    rcu_defer(&old->rcu, free_after_grace);
}

int
runs_add(struct runs *rs, struct run *r)
{
    struct runset *s = runs_current(rs);
    struct runset *next = set_new(rs, s->n + 1);
    uint32_t *load = calloc(rs->n_runners, sizeof *load);
    if (!next || !load) {
        free(next);
        free(load);
        return -ENOMEM;
    }
    for (size_t i = 0; i < s->n; i++) {
        next->v[i] = s->v[i];
        load[s->v[i]->runner % rs->n_runners]++;
    }
    uint32_t best = 0;
    for (uint32_t t = 1; t < rs->n_runners; t++)
        if (load[t] < load[best])
            best = t;
    free(load);
    r->runner = best;
    next->v[s->n] = r;
    publish(rs, next);
    return 0;
}

int
runs_remove(struct runs *rs, struct run *r)
{
    struct runset *s = runs_current(rs);
    if (s->n == 0)
        return -ENOENT;
    struct runset *next = set_new(rs, s->n - 1);
    size_t k = 0;
    if (!next)
        return -ENOMEM;
    for (size_t i = 0; i < s->n; i++) {
        if (s->v[i] == r)
            continue;
        if (k == next->n) { /* r is not in the set */
            free(next);
            return -ENOENT;
        }
        next->v[k++] = s->v[i];
    }
    if (k != next->n) {
        free(next);
        return -ENOENT;
    }
    publish(rs, next);
    return 0;
}

int
runs_replace(struct runs *rs, struct run *old, struct run *fresh)
{
    struct runset *s = runs_current(rs);
    struct runset *next = set_new(rs, s->n);
    int found = 0;
    if (!next)
        return -ENOMEM;
    for (size_t i = 0; i < s->n; i++) {
        next->v[i] = s->v[i];
        if (s->v[i] == old) {
            next->v[i] = fresh;
            found = 1;
        }
    }
    if (!found) {
        free(next);
        return -ENOENT;
    }
    fresh->runner = old->runner;
    publish(rs, next);
    return 0;
}

void
runs_drain(struct run *r)
{
    /* A runner takes its reference inside a read-side section: once a grace period after
     * the removal has passed, none can take one any more, and the count can only fall. The
     * grace period is short (runners leave their section before they step) and waited for
     * here, outside the set's lock, rather than by the publication. */
    rcu_wait();
    while (atomic_load_explicit(&r->refs, memory_order_acquire) > 0) {
        struct timespec ts = {0, 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

static struct runs_claim **
claim_of(struct runs *rs, const char *id)
{
    struct runs_claim **c = &rs->claims;
    while (*c && strcmp((*c)->id, id) != 0)
        c = &(*c)->next;
    return c;
}

int
runs_claim(struct runs *rs, const char *id)
{
    while (*claim_of(rs, id))
        pthread_cond_wait(&rs->released, &rs->lock);
    size_t len = strlen(id) + 1;
    struct runs_claim *c = malloc(sizeof *c + len);
    if (!c)
        return -ENOMEM;
    memcpy(c->id, id, len);
    c->next = rs->claims;
    rs->claims = c;
    return 0;
}

void
runs_release(struct runs *rs, const char *id)
{
    struct runs_claim **at = claim_of(rs, id);
    struct runs_claim *c = *at;
    if (!c)
        return;
    *at = c->next;
    free(c);
    pthread_cond_broadcast(&rs->released);
}
