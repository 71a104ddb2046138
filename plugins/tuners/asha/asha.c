/*
 * asha — asynchronous successive halving, as Optuna's SuccessiveHalvingPruner: rung r is reached
 * at step min_resource * reduction_factor^(min_early_stopping_rate + r); a trial reaching it
 * records its value there and goes on only if that value is among the best
 * 1/reduction_factor of all values recorded at that rung so far (the best one while fewer than
 * reduction_factor have been), and if more than bootstrap_count have been. A NaN value at a
 * rung stops the trial. min_resource 0 is Optuna's "auto": the longest completed trial's
 * last step / 100 (at least 1), fixed at the first report after a trial completed; nothing
 * is pruned before. Optuna's default reduction_factor is 4; tars's is 3 (the issue's).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <tars/plugin.h>

#include "rungs.h"
#include "space.h"

enum { P_MIN_RESOURCE, P_REDUCTION, P_MIN_RATE, P_BOOTSTRAP };

static const tars_param_def asha_params[] = {
    TARS_PARAM_INT_DEF("min_resource", 0, 0, 1e15, 0,
                       "Steps to the first rung; 0: the longest completed trial's / 100."),
    TARS_PARAM_INT_DEF("reduction_factor", 3, 2, 1000, 0,
                       "Each rung keeps the best 1/reduction_factor of the trials."),
    TARS_PARAM_INT_DEF("min_early_stopping_rate", 0, 0, 60, 0,
                       "Rungs skipped: the first is at min_resource * factor^rate."),
    TARS_PARAM_INT_DEF("bootstrap_count", 0, 0, 100000, 0,
                       "Trials a rung must have seen before it promotes any."),
};

struct tars_tuner {
    tars_ctx *ctx;
    int maximise;
    struct sha_trials trials;
    struct rungs rungs;
    uint64_t min_resource; /* 0 until known (auto) */
};

static int
asha_create(tars_ctx *ctx, const tars_params *p, const tars_study_spec *study, uint64_t seed,
            tars_tuner **out)
{
    (void)seed;
    *out = NULL;
    if (study->n_objectives != 1)
        return tars_fail(ctx, TARS_EINVAL,
                         "asha prunes single-objective studies, this one has %u objectives",
                         study->n_objectives);
    tars_tuner *t = calloc(1, sizeof *t);
    if (!t)
        return TARS_ENOMEM;
    t->ctx = ctx;
    t->maximise = study->directions[0] == TARS_MAXIMIZE;
    t->min_resource = (uint64_t)tars_param_int(p, P_MIN_RESOURCE);
    *out = t;
    return 0;
}

static void
asha_destroy(tars_tuner *t)
{
    if (!t)
        return;
    rungs_free(&t->rungs);
    free(t->trials.v);
    free(t);
}

static int
asha_report(tars_tuner *t, const tars_params *p, uint64_t number, uint64_t step, double value,
            int *prune)
{
    *prune = 0;
    struct sha_trial *a = sha_trial_of(&t->trials, number);
    if (!a)
        return TARS_ENOMEM;
    a->last_step = step;
    a->reported = 1;
    if (!t->min_resource) { /* auto: fixed at the first report after a trial completed */
        int any;
        uint64_t longest = sha_longest(&t->trials, &any);
        if (!any)
            return 0;
        t->min_resource = longest / 100 ? longest / 100 : 1;
    }
    struct sha c = {.min_resource = t->min_resource,
                    .factor = tars_param_int(p, P_REDUCTION),
                    .rate = tars_param_int(p, P_MIN_RATE),
                    .bootstrap = tars_param_int(p, P_BOOTSTRAP),
                    .maximise = t->maximise};
    return rungs_climb(&t->rungs, &c, &a->rung, step, value, prune);
}

static int
asha_tell(tars_tuner *t, const tars_params *p, const tars_trial *trial)
{
    (void)p;
    return sha_told(&t->trials, trial);
}

static int
asha_save(const tars_tuner *t, tars_blob_writer *w)
{
    int rc = tars_blob_set_version(w, 1);
    rc = rc ? rc : tars_blob_put_u64(w, t->min_resource);
    rc = rc ? rc : sha_trials_save(&t->trials, w);
    return rc ? rc : rungs_save(&t->rungs, w);
}

static int
asha_load(tars_tuner *t, tars_blob_reader *r)
{
    if (tars_blob_version(r) != 1)
        return tars_fail(t->ctx, TARS_EVERSION, "asha state version %u, expected 1",
                         tars_blob_version(r));
    int rc = tars_blob_get_u64(r, &t->min_resource);
    rc = rc ? rc : sha_trials_load(&t->trials, r);
    return rc ? rc : rungs_load(&t->rungs, r);
}

TARS_OPS(tars_tuner_ops, asha_ops, .roles = TARS_TUNER_PRUNER, .create = asha_create,
         .destroy = asha_destroy, .report = asha_report, .tell = asha_tell, .save = asha_save,
         .load = asha_load);
TARS_PLUGIN(.kind = TARS_KIND_TUNER, .name = "asha", .version = "1.0.0",
            .description = "Asynchronous successive halving pruner, as Optuna's.",
            .params = asha_params, .n_params = TARS_COUNTOF(asha_params), .ops = &asha_ops)
