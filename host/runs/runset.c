#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "rcu.h"
#include "runset.h"

#ifdef TARS_RCU_TSAN
char tars_rcu_tsan_sync;
#endif

static struct runset *
set_new(size_t n)
{
    struct runset *s = calloc(1, sizeof *s + (n ? n : 1) * sizeof s->v[0]);
    if (s)
        s->n = n;
    return s;
}

int
runs_init(struct runs *rs, uint32_t n_runners)
{
    struct runset *s = set_new(0);
    if (!s)
        return -1;
    atomic_init(&rs->cur, s);
    pthread_mutex_init(&rs->lock, NULL);
    rs->n_runners = n_runners ? n_runners : 1;
    return 0;
}

void
runs_free(struct runs *rs)
{
    struct runset *s = atomic_load(&rs->cur);
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++)
        run_destroy(s->v[i]);
    free(s);
    atomic_store(&rs->cur, NULL);
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

/* Publishes next and frees the set it replaced once no reader can still see it. */
static void
publish(struct runs *rs, struct runset *next)
{
    struct runset *old = atomic_exchange_explicit(&rs->cur, next, memory_order_acq_rel);
    rcu_wait();
    free(old);
}

int
runs_add(struct runs *rs, struct run *r)
{
    struct runset *s = runs_current(rs);
    struct runset *next = set_new(s->n + 1);
    uint32_t *load = calloc(rs->n_runners, sizeof *load);
    if (!next || !load) {
        free(next);
        free(load);
        return -1;
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
        return -1;
    struct runset *next = set_new(s->n - 1);
    size_t k = 0;
    if (!next)
        return -1;
    for (size_t i = 0; i < s->n; i++) {
        if (s->v[i] == r)
            continue;
        if (k == next->n) { /* r is not in the set */
            free(next);
            return -1;
        }
        next->v[k++] = s->v[i];
    }
    if (k != next->n) {
        free(next);
        return -1;
    }
    publish(rs, next);
    return 0;
}

int
runs_replace(struct runs *rs, struct run *old, struct run *fresh)
{
    struct runset *s = runs_current(rs);
    struct runset *next = set_new(s->n);
    int found = 0;
    if (!next)
        return -1;
    for (size_t i = 0; i < s->n; i++) {
        next->v[i] = s->v[i];
        if (s->v[i] == old) {
            next->v[i] = fresh;
            found = 1;
        }
    }
    if (!found) {
        free(next);
        return -1;
    }
    fresh->runner = old->runner;
    publish(rs, next);
    return 0;
}

void
runs_drain(struct run *r)
{
    /* A runner takes its reference inside a read-side section, and the grace period that
     * followed the removal has passed: the count can only fall now. */
    while (atomic_load_explicit(&r->refs, memory_order_acquire) > 0) {
        struct timespec ts = {0, 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}
