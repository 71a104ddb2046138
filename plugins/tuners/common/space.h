/*
 * space — a study's dimensions and the trials a tuner has been told of, shared by the tuners.
 *
 * Each dimension is searched in an "internal" coordinate: the log of the value for LOG
 * dimensions, the value itself otherwise, bounded by [low, high]. As in Optuna, an integer
 * (or bool) dimension widens its bounds by half a step each side so that every integer owns an
 * equal interval, and an ENUM dimension is an index in [0, n_choices).
 */
#ifndef TARS_TUNER_SPACE_H
#define TARS_TUNER_SPACE_H

#include <stddef.h>
#include <stdint.h>
#include <tars/plugin.h>

struct dim {
    uint32_t type;      /* tars_param_type; BOOL is searched as a 2-choice ENUM */
    int log;            /* internal coordinate is log(value) */
    double low, high;   /* internal bounds (widened by half a step for integers) */
    double step;        /* internal step of an integer, non-log dimension; 0 otherwise */
    double vmin, vmax;  /* the value's bounds, to clip to */
    uint32_t n_choices; /* ENUM and BOOL: the number of choices; 0 for numbers */
};

/* The dimensions of `study`'s space; TARS_ENOMEM, or TARS_EINVAL with a message. */
int space_dims(tars_ctx *ctx, const tars_study_spec *study, struct dim **out);
/* A value's internal coordinate, and back (rounded and clipped as the type wants). */
double dim_internal(const struct dim *d, double value);
double dim_external(const struct dim *d, double x);
/* A value drawn as Optuna's RandomSampler does: uniform in the internal coordinate. */
double dim_random(const struct dim *d, tars_rng *rng);
/* Writes value into dimension i of out; the tuner's bug if it does not fit (TARS_ERANGE). */
int dim_set(tars_ctx *ctx, tars_params *out, uint32_t i, double value);

/*
 * Makes room for one more element in *v (n used, *cap allocated, elements of `size` bytes),
 * doubling from `first`. 0, or TARS_ENOMEM with *v unchanged.
 */
int tuner_grow(void **v, size_t n, size_t *cap, size_t size, size_t first);

/* One trial as a sampler keeps it: the values it ran with, its state and outcome. */
struct htrial {
    uint64_t number;
    uint32_t state;    /* tars_trial_state */
    uint32_t n_values; /* as told */
    uint64_t last_step;
    double values[TARS_TUNER_MAX_OBJECTIVES];
    double *x; /* n_dims values (external) */
};

struct history {
    uint32_t n_dims;
    struct htrial *v;
    size_t n, cap;
};

/* Records or updates trial t (by number); TARS_ENOMEM leaves h unchanged. */
int history_tell(struct history *h, const tars_trial *t);
/* Records trial `number` as RUNNING with values x (what ask proposed). */
int history_asked(struct history *h, uint64_t number, const double *x);
void history_free(struct history *h);
int history_save(const struct history *h, tars_blob_writer *w);
/* Loads into an empty h of the same n_dims; TARS_ECORRUPT for a blob that does not fit. */
int history_load(struct history *h, tars_blob_reader *r);

#endif
