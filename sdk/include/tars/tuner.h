/*
 * tars/tuner.h — the tuner kind: ask/tell search over a space built from a parameter schema.
 *
 * The search space is a tars_param_def array (usually a subset of an agent's schema with
 * narrowed ranges; TARS_PARAM_LOG marks log-scale dimensions). The host numbers trials; the
 * tuner minimises the values it is told.
 *
 * PROVISIONAL: tars_tuner_ops is not frozen yet. The host checks and loads tuner plugins, but
 * nothing runs them until the issue that implements the kind freezes this table; it may change
 * before then (the agent and env tables, and everything else of ABI 1.0, do not).
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
    TARS_TRIAL_COMPLETE = 1,
    TARS_TRIAL_PRUNED = 2,
    TARS_TRIAL_FAILED = 3,
} tars_trial_state;

typedef struct tars_tuner tars_tuner; /* defined by each tuner plugin */

typedef struct tars_tuner_ops {
    uint32_t struct_size; /* sizeof(tars_tuner_ops) as the plugin compiled it */
    uint32_t reserved0;
    int (*create)(tars_ctx *ctx, const tars_params *params, const tars_param_def *space,
                  uint32_t n_space, uint64_t seed, tars_tuner **out);
    void (*destroy)(tars_tuner *tuner);
    /* Proposes trial `trial`: sets every dimension of `out` (a snapshot of the space). */
    int (*ask)(tars_tuner *tuner, uint64_t trial, tars_params *out);
    /* The final outcome of a trial; value is ignored unless state is COMPLETE or PRUNED. */
    int (*tell)(tars_tuner *tuner, uint64_t trial, tars_trial_state state, double value);
    /* An intermediate value at `step`; sets *prune to 1 if the trial should stop now. */
    int (*report)(tars_tuner *tuner, uint64_t trial, uint64_t step, double value, int *prune);
    /* Optional (NULL): the tuner's history, so a study survives a restart. */
    int (*save)(const tars_tuner *tuner, tars_blob_writer *w);
    int (*load)(tars_tuner *tuner, tars_blob_reader *r);
    const void *reserved[4];
} tars_tuner_ops;

#ifdef __cplusplus
}
#endif

#endif
