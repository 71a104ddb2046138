#include <stdlib.h>
#include <string.h>
#include "feed.h"

#define SCALARS_EVERY_S 0.5

void
feed_init(struct run_feed *f)
{
    memset(f, 0, sizeof *f);
    pthread_mutex_init(&f->lock, NULL);
}

void
feed_free(struct run_feed *f)
{
    pthread_mutex_destroy(&f->lock);
    free(f->ep);
    f->ep = NULL;
}

void
feed_publish(struct run_feed *f, const struct episode_rec *ep, uint32_t n,
             const tars_scalars *scalars, uint64_t step, double now)
{
    int scalars_due = scalars->n && now - f->scalars_time >= SCALARS_EVERY_S;
    if (!n && !scalars_due)
        return;
    if (pthread_mutex_trylock(&f->lock) != 0) {
        f->missed += n;
        return;
    }
    if (!f->ep)
        f->ep = malloc(FEED_MAX_EPISODES * sizeof *f->ep);
    uint32_t room = f->ep ? FEED_MAX_EPISODES - f->n : 0;
    uint32_t take = n < room ? n : room;
    if (take)
        memcpy(f->ep + f->n, ep + (n - take), take * sizeof *ep); /* the newest, if not all */
    f->n += take;
    f->dropped += (n - take) + f->missed;
    f->missed = 0;
    if (scalars_due) {
        f->scalars = *scalars;
        f->scalars_step = step;
        f->scalars_fresh = 1;
        f->scalars_time = now;
    }
    pthread_mutex_unlock(&f->lock);
}

void
feed_take(struct run_feed *f, struct feed_take *out)
{
    pthread_mutex_lock(&f->lock);
    out->n = f->n;
    if (f->n)
        memcpy(out->ep, f->ep, f->n * sizeof *f->ep);
    out->dropped = f->dropped;
    out->has_scalars = f->scalars_fresh;
    if (f->scalars_fresh) {
        out->scalars = f->scalars;
        out->scalars_step = f->scalars_step;
    }
    f->n = 0;
    f->dropped = 0;
    f->scalars_fresh = 0;
    pthread_mutex_unlock(&f->lock);
}
