/*
 * rungs — successive halving's rungs, shared by asha (one set) and hyperband (one per
 * bracket): the values recorded at each rung, and the climb of one trial up them at a report,
 * as Optuna's SuccessiveHalvingPruner does it.
 */
#ifndef TARS_TUNERS_RUNGS_H
#define TARS_TUNERS_RUNGS_H

#include <stddef.h>
#include <stdint.h>
#include <tars/plugin.h>

struct rung {
    double *v; /* the values recorded at this rung, by every trial that reached it */
    size_t n, cap;
};

struct rungs {
    struct rung *r;
    size_t n, cap;
};

/* How successive halving is set. */
struct sha {
    uint64_t min_resource; /* steps to the first rung (> 0) */
    int64_t factor;        /* reduction factor (>= 2) */
    int64_t rate;          /* min_early_stopping_rate: rungs skipped */
    int64_t bootstrap;     /* values a rung must hold before it promotes any */
    int maximise;
};

/* A trial as successive halving keeps it. */
struct sha_trial {
    uint64_t number;
    uint32_t rung;      /* the next rung to reach */
    uint16_t complete;  /* told COMPLETE */
    uint16_t reported;  /* reported a step at least once */
    uint64_t last_step; /* the latest step reported */
};

struct sha_trials {
    struct sha_trial *v;
    size_t n, cap;
};

/* Trial `number`'s record, added when new; NULL when out of memory. */
struct sha_trial *sha_trial_of(struct sha_trials *ts, uint64_t number);
/* A finished trial: a COMPLETE one counts for auto resources; 0 or TARS_ENOMEM. */
int sha_told(struct sha_trials *ts, const tars_trial *trial);
/* The longest last step of the completed trials that reported (0 and *any = 0 when none). */
uint64_t sha_longest(const struct sha_trials *ts, int *any);
int sha_trials_save(const struct sha_trials *ts, tars_blob_writer *w);
int sha_trials_load(struct sha_trials *ts, tars_blob_reader *r);

void rungs_free(struct rungs *rs);
/* Records value at rung k; TARS_ENOMEM leaves the rungs as they were. */
int rungs_record(struct rungs *rs, uint32_t k, double value);
/*
 * A trial at *rung (the next rung it is to reach) reports value at step: it records the value
 * at every rung the step has reached and stops (*prune = 1) at the first where it is not among
 * the best 1/factor (or the rung holds bootstrap values or fewer, or the value is NaN).
 * Returns 0 or TARS_ENOMEM.
 */
int rungs_climb(struct rungs *rs, const struct sha *c, uint32_t *rung, uint64_t step, double value,
                int *prune);
int rungs_save(const struct rungs *rs, tars_blob_writer *w);
int rungs_load(struct rungs *rs, tars_blob_reader *r);

#endif
