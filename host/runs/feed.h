/*
 * feed — what a run hands the live stream (host/api/stream.c): its finished episodes and its
 * newest training scalars. The runner publishes after each slice and only with a trylock, so
 * it never waits for the stream; the stream hub takes everything ten times a second. When
 * the hub falls behind (or holds the lock at that moment) episodes are dropped and counted.
 *
 * Threads: feed_publish on the run's runner; feed_take on the hub; init/free by the owner
 * of the run.
 */
#ifndef TARS_HOST_FEED_H
#define TARS_HOST_FEED_H

#include <pthread.h>
#include <stdint.h>
#include "host_side.h"
#include "records.h"

#define FEED_MAX_EPISODES 512 /* held between two takes (ten a second): the newest are kept */

struct run_feed {
    pthread_mutex_t lock;
    struct episode_rec *ep;
    uint32_t n;
    uint64_t dropped; /* episodes lost since the last take */
    tars_scalars scalars;
    uint64_t scalars_step;
    int scalars_fresh;
    /* The runner's own. */
    uint64_t missed;     /* episodes it could not hand over */
    double scalars_time; /* when it last published scalars */
};

void feed_init(struct run_feed *f);
void feed_free(struct run_feed *f);

/* Hands over n episodes and, at most every 0.5 s, the scalars (never blocks). */
void feed_publish(struct run_feed *f, const struct episode_rec *ep, uint32_t n,
                  const tars_scalars *scalars, uint64_t step, double now);

/* What the hub takes: episodes into out (up to FEED_MAX_EPISODES), and the scalars when fresh. */
struct feed_take {
    struct episode_rec *ep; /* FEED_MAX_EPISODES long, the hub's */
    uint32_t n;
    uint64_t dropped;
    tars_scalars scalars;
    uint64_t scalars_step;
    int has_scalars;
};
void feed_take(struct run_feed *f, struct feed_take *out);

#endif
