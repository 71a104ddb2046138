#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include "ratelimit.h"

#define SLOTS 4096 /* power of two */
#define PROBE 8

struct bucket {
    uint64_t key; /* 0: free */
    double tokens;
    double last;
};

struct ratelimit {
    double rate, burst;
    pthread_mutex_t lock;
    struct bucket v[SLOTS];
};

struct ratelimit *
ratelimit_new(double rate, double burst)
{
    if (rate <= 0)
        return NULL;
    struct ratelimit *rl = calloc(1, sizeof *rl);
    if (!rl)
        return NULL;
    rl->rate = rate;
    rl->burst = burst < 1 ? 1 : burst;
    pthread_mutex_init(&rl->lock, NULL);
    return rl;
}

void
ratelimit_free(struct ratelimit *rl)
{
    if (!rl)
        return;
    pthread_mutex_destroy(&rl->lock);
    free(rl);
}

static uint64_t
fnv1a(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
    return h ? h : 1;
}

double
ratelimit_take(struct ratelimit *rl, const char *key, double now)
{
    if (!rl)
        return 0;
    uint64_t k = fnv1a(key);
    pthread_mutex_lock(&rl->lock);
    struct bucket *b = NULL, *free_slot = NULL, *lru = NULL;
    for (unsigned i = 0; i < PROBE && !b; i++) {
        struct bucket *s = &rl->v[(k + i) & (SLOTS - 1)];
        if (s->key == k)
            b = s;
        else if (s->key == 0 && !free_slot)
            free_slot = s;
        else if (s->key != 0 && (!lru || s->last < lru->last))
            lru = s;
    }
    if (!b) { /* a new key takes a free slot, or the least recently used one */
        b = free_slot ? free_slot : lru;
        b->key = k;
        b->tokens = rl->burst;
        b->last = now;
    }
    b->tokens += (now - b->last) * rl->rate;
    if (b->tokens > rl->burst)
        b->tokens = rl->burst;
    b->last = now;
    double wait = 0;
    if (b->tokens >= 1)
        b->tokens -= 1;
    else
        wait = (1 - b->tokens) / rl->rate;
    pthread_mutex_unlock(&rl->lock);
    return wait;
}
