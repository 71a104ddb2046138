/*
 * elite — NSGA-II's survivor selection, as Optuna's NSGAIISampler does it: the fast
 * non-dominated sort into ranks (in Optuna's order within each rank), whole ranks taken while
 * they fit, and the rank that does not fit cut by crowding distance (largest first).
 */
#ifndef TARS_TUNERS_NSGA2_ELITE_H
#define TARS_TUNERS_NSGA2_ELITE_H

#include <stddef.h>
#include <stdint.h>
#include "space.h"

/* Whether a dominates b: every objective at least as good, not all equal (Optuna's
 * _dominates on completed trials). dirs: tars_direction per objective. */
int nsga_dominates(const struct htrial *a, const struct htrial *b, const uint32_t *dirs,
                   uint32_t n_obj);
/*
 * Selects at most size of the n trials in pop (pointers, in Optuna's order: the generation's
 * trials by number, then the previous elite) into out (room for size), returning how many.
 * TARS_ENOMEM as a negative count.
 */
long nsga_elite(const struct htrial **pop, size_t n, size_t size, const uint32_t *dirs,
                uint32_t n_obj, const struct htrial **out);

#endif
