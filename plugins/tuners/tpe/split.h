/*
 * split — which told trials TPE counts good ("below") and which the rest ("above"), as
 * Optuna 3.x's _get_observation_pairs and _split_observation_pairs: a trial ranks by
 * (-step, loss) — completed trials (step -inf) first by loss, then pruned ones, deepest first,
 * by their last value, then (constant liar) running ones last — and the best
 * gamma(n) = min(ceil(fraction n), max) of n finished trials are below.
 */
#ifndef TARS_TUNER_SPLIT_H
#define TARS_TUNER_SPLIT_H

#include <stddef.h>
#include <stdint.h>
#include "space.h"

struct obs {
    double step_key, loss;
    uint64_t number;
    const struct htrial *t;
};

/*
 * The trials of h TPE learns from (sign: +1 minimise, -1 maximise; liar: running trials too),
 * oldest first, into a malloc'ed array (NULL when out of memory); *n_done counts the finished.
 */
struct obs *split_observations(const struct history *h, double sign, int liar, size_t *n_obs,
                               size_t *n_done);
/* gamma(n_done) = min(ceil(fraction n_done), max), at most n_obs. */
size_t split_n_below(size_t n_done, size_t n_obs, double fraction, int64_t max);
/* Orders o so that its first nb are below and the rest above, each side oldest first. */
void split(struct obs *o, size_t n, size_t nb);

#endif
