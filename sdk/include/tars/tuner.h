/*
 * tars/tuner.h — the tuner kind: samplers and pruners of a study (frozen in ABI 1.1).
 *
 * A study searches a space (a tars_param_def array: an agent's schema, ranges narrowed, LOG
 * marking log-scale dimensions) for the parameters that minimise or maximise one or more
 * objectives. The host numbers trials 0, 1, 2, ... and owns the study's record; a tuner plugin
 * plays one or both of two roles, declared in its ops table (as Optuna separates samplers from
 * pruners, a study picks one of each, independently):
 *
 *   - a SAMPLER proposes a trial's parameters (ask) and learns from finished trials (tell);
 *   - a PRUNER decides from intermediate values (report) whether a running trial stops early,
 *     and learns from finished trials (tell) which of them completed.
 *
 * Every op receives the tuner's own parameter snapshot (its schema: n_startup_trials, ...),
 * like every other kind's ops. tell carries the values a trial ran with, so a trial the tuner
 * did not propose (an enqueued or warm-start trial, as Optuna's enqueue_trial and add_trial)
 * teaches it like one it did. save/load carry everything the tuner learnt and its RNG: a study
 * that resumes from them proposes exactly what the uninterrupted one would have.
 *
 * Lifetimes: the study spec, its space and directions outlive the tuner (create to destroy).
 * A tars_trial and what it points at live for the duration of the call only: copy what you keep.
 *
 * ABI 1.0's tuner table was provisional and nothing ran it: a tuner built for ABI 1.0 is
 * refused ("tuners need ABI 1.1"). This table is frozen from 1.1 on: it grows only at its end.
 */
#ifndef TARS_TUNER_H
#define TARS_TUNER_H

#include <stdint.h>
#include "tars/version.h"
#include "tars/host.h"
#include "tars/params.h"
#include "tars/blob.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum tars_trial_state {
    TARS_TRIAL_COMPLETE = 1, /* ran to the end: values holds every objective */
    TARS_TRIAL_PRUNED = 2,   /* stopped by the pruner: values[0] is its last reported value */
    TARS_TRIAL_FAILED = 3,   /* no value */
    TARS_TRIAL_RUNNING = 4,  /* tell only: a trial started that ask did not propose */
} tars_trial_state;

/* Roles, or'ed into tars_tuner_ops.roles. */
#define TARS_TUNER_SAMPLER 0x1u
#define TARS_TUNER_PRUNER  0x2u

#define TARS_TUNER_MAX_OBJECTIVES 8

typedef enum tars_direction {
    TARS_MINIMIZE = 1,
    TARS_MAXIMIZE = 2,
} tars_direction;

/* What a tuner is created for. */
typedef struct tars_study_spec {
    uint32_t struct_size;        /* sizeof(tars_study_spec) as the host compiled it */
    uint32_t n_objectives;       /* 1..TARS_TUNER_MAX_OBJECTIVES */
    const uint32_t *directions;  /* n_objectives tars_direction values */
    const tars_param_def *space; /* the dimensions, checked by tars_params_check_schema */
    uint32_t n_space;
    uint32_t reserved0;
    const void *reserved[4];
} tars_study_spec;

/* A trial as tell sees it. */
typedef struct tars_trial {
    uint64_t number;
    uint32_t state;    /* tars_trial_state */
    uint32_t n_values; /* COMPLETE: n_objectives; PRUNED: 1 (or 0 with no report); else 0 */
    const double *values;
    const tars_params *params; /* a snapshot of the space: what the trial ran with */
    uint64_t last_step;        /* PRUNED: the step of values[0]; else 0 */
    const void *reserved[2];
} tars_trial;

typedef struct tars_tuner tars_tuner; /* defined by each tuner plugin */

typedef struct tars_tuner_ops {
    uint32_t struct_size; /* sizeof(tars_tuner_ops) as the plugin compiled it */
    uint32_t roles;       /* TARS_TUNER_SAMPLER | TARS_TUNER_PRUNER: at least one */
    /* A study it cannot serve (too many objectives, ...): tars_fail(ctx, TARS_EINVAL, ...). */
    int (*create)(tars_ctx *ctx, const tars_params *params, const tars_study_spec *study,
                  uint64_t seed, tars_tuner **out);
    void (*destroy)(tars_tuner *tuner);
    /* SAMPLER: proposes trial `number`, setting every dimension of `out` (a snapshot of the
     * space holding its defaults). The host calls ask once per trial, in increasing numbers. */
    int (*ask)(tars_tuner *tuner, const tars_params *params, uint64_t number, tars_params *out);
    /* Both roles: a trial finished (COMPLETE, PRUNED, FAILED) or started unasked (RUNNING). */
    int (*tell)(tars_tuner *tuner, const tars_params *params, const tars_trial *trial);
    /* PRUNER: trial `number` reached `step` with value `value` of objective 0; sets *prune to 1
     * when it should stop now, else 0. Steps of one trial increase. */
    int (*report)(tars_tuner *tuner, const tars_params *params, uint64_t number, uint64_t step,
                  double value, int *prune);
    /* Everything learnt, and the RNG: load into a fresh instance resumes it exactly. */
    int (*save)(const tars_tuner *tuner, tars_blob_writer *w);
    int (*load)(tars_tuner *tuner, tars_blob_reader *r);
    const void *reserved[6];
} tars_tuner_ops;

/* "COMPLETE", "PRUNED", "FAILED", "RUNNING", or NULL for another value. Any thread. (1.1) */
TARS_EXPORT const char *tars_trial_state_name(uint32_t state);

#ifdef __cplusplus
}
#endif

#endif
