/* split — TPE's good and bad trials (see split.h). */
#include "split.h"

#include <math.h>
#include <stdlib.h>

static int
by_number(const void *a, const void *b)
{
    uint64_t x = ((const struct obs *)a)->number, y = ((const struct obs *)b)->number;
    return x < y ? -1 : x > y;
}

static int
by_rank(const void *a, const void *b)
{
    const struct obs *x = a, *y = b;
    if (x->step_key != y->step_key)
        return x->step_key < y->step_key ? -1 : 1;
    if (x->loss != y->loss)
        return x->loss < y->loss ? -1 : 1;
    return x->number < y->number ? -1 : x->number > y->number; /* stable: by age */
}

struct obs *
split_observations(const struct history *h, double sign, int liar, size_t *n_obs, size_t *n_done)
{
    struct obs *o = malloc((h->n ? h->n : 1) * sizeof *o);
    if (!o)
        return NULL;
    size_t n = 0, done = 0;
    for (size_t i = 0; i < h->n; i++) {
        const struct htrial *t = &h->v[i];
        struct obs *x = &o[n];
        x->number = t->number;
        x->t = t;
        if (t->state == TARS_TRIAL_COMPLETE && t->n_values > 0) {
            x->step_key = -INFINITY;
            x->loss = sign * t->values[0];
        } else if (t->state == TARS_TRIAL_PRUNED) {
            /* No report at all ranks after every pruned trial that reported (Optuna: (1, 0)). */
            x->step_key = t->n_values ? -(double)t->last_step : 1;
            x->loss = t->n_values ? sign * t->values[0] : 0;
        } else if (t->state == TARS_TRIAL_RUNNING && liar) {
            x->step_key = INFINITY;
            x->loss = INFINITY;
        } else {
            continue;
        }
        if (isnan(x->loss))
            x->loss = INFINITY;
        done += x->step_key < INFINITY;
        n++;
    }
    qsort(o, n, sizeof *o, by_number);
    *n_obs = n;
    *n_done = done;
    return o;
}

size_t
split_n_below(size_t n_done, size_t n_obs, double fraction, int64_t max)
{
    double g = fmin(ceil(fraction * (double)n_done), (double)max);
    size_t nb = g > 0 ? (size_t)g : 0;
    return nb > n_obs ? n_obs : nb;
}

void
split(struct obs *o, size_t n, size_t nb)
{
    qsort(o, n, sizeof *o, by_rank);
    qsort(o, nb, sizeof *o, by_number);
    qsort(o + nb, n - nb, sizeof *o, by_number);
}
