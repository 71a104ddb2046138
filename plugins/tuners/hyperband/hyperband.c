/*
 * hyperband — Optuna's HyperbandPruner: n_brackets = floor(log_factor(max_resource /
 * min_resource)) + 1 brackets of successive halving, bracket b skipping its first b rungs
 * (min_early_stopping_rate = b), each judging a trial only against the trials of its own bracket.
 * Bracket b gets a share ceil(n_brackets * factor^s / (s + 1)) of the trials, s = n_brackets - 1 -
 * b, and a trial's bracket is chosen as Optuna does, deterministically: CRC-32 of
 * "<seed>_<number>" modulo the shares' sum, walked through the shares in order (Optuna hashes the
 * study's name where tars uses the seed the pruner was created with, so a study of Optuna named
 * by that seed's decimal picks the same brackets). max_resource 0 is Optuna's "auto": the
 * longest completed trial's last step + 1, fixed at the first report after a trial completed;
 * nothing is pruned (or recorded) before. Optuna's TPESampler also restricts itself to the
 * trial's bracket under this pruner; tars's samplers and pruners stay independent.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tars/plugin.h>

#include "rungs.h"
#include "space.h"

enum { P_MIN_RESOURCE, P_MAX_RESOURCE, P_REDUCTION, P_BOOTSTRAP };

#define MAX_BRACKETS 64

static const tars_param_def hb_params[] = {
    TARS_PARAM_INT_DEF("min_resource", 1, 1, 1e15, 0, "Steps to the first rung of bracket 0."),
    TARS_PARAM_INT_DEF("max_resource", 0, 0, 1e15, 0,
                       "The longest a trial runs, in steps; 0: the longest completed trial's + 1."),
    TARS_PARAM_INT_DEF("reduction_factor", 3, 2, 1000, 0,
                       "Each rung keeps the best 1/reduction_factor of its bracket's trials."),
    TARS_PARAM_INT_DEF("bootstrap_count", 0, 0, 100000, 0,
                       "Trials a rung must have seen before it promotes any (needs max_resource)."),
};

struct tars_tuner {
    tars_ctx *ctx;
    int maximise;
    uint64_t seed;
    struct sha_trials trials;
    uint64_t max_resource; /* 0 until known (auto) */
    uint32_t n_brackets;   /* 0 until max_resource is known */
    uint64_t budget[MAX_BRACKETS], total;
    struct rungs b[MAX_BRACKETS];
};

static int
hb_create(tars_ctx *ctx, const tars_params *p, const tars_study_spec *study, uint64_t seed,
          tars_tuner **out)
{
    *out = NULL;
    if (study->n_objectives != 1)
        return tars_fail(ctx, TARS_EINVAL,
                         "hyperband prunes single-objective studies, this one has %u objectives",
                         study->n_objectives);
    if (tars_param_int(p, P_BOOTSTRAP) > 0 && tars_param_int(p, P_MAX_RESOURCE) == 0)
        return tars_fail(ctx, TARS_EINVAL,
                         "bootstrap_count > 0 needs max_resource (it cannot be auto), as Optuna's");
    tars_tuner *t = calloc(1, sizeof *t);
    if (!t)
        return TARS_ENOMEM;
    t->ctx = ctx;
    t->seed = seed;
    t->maximise = study->directions[0] == TARS_MAXIMIZE;
    *out = t;
    return 0;
}

static void
hb_destroy(tars_tuner *t)
{
    if (!t)
        return;
    for (uint32_t i = 0; i < MAX_BRACKETS; i++)
        rungs_free(&t->b[i]);
    free(t->trials.v);
    free(t);
}

/* zlib's CRC-32 (Python's binascii.crc32). */
static uint32_t
crc32_of(const char *s)
{
    uint32_t c = 0xffffffffu;
    for (; *s; s++) {
        c ^= (unsigned char)*s;
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
    }
    return ~c;
}

/* The brackets and their shares, once max_resource is known (0 when it is not yet). */
static int
init_brackets(tars_tuner *t, const tars_params *p)
{
    if (!t->max_resource) {
        t->max_resource = (uint64_t)tars_param_int(p, P_MAX_RESOURCE);
        if (!t->max_resource) {
            int any;
            uint64_t longest = sha_longest(&t->trials, &any);
            if (!any)
                return 0;
            t->max_resource = longest + 1;
        }
    }
    double min = (double)tars_param_int(p, P_MIN_RESOURCE);
    double factor = (double)tars_param_int(p, P_REDUCTION);
    double n = floor(log((double)t->max_resource / min) / log(factor)) + 1;
    t->n_brackets = n < 1 ? 1 : n > MAX_BRACKETS ? MAX_BRACKETS : (uint32_t)n;
    t->total = 0;
    for (uint32_t b = 0; b < t->n_brackets; b++) {
        uint32_t s = t->n_brackets - 1 - b;
        t->budget[b] = (uint64_t)ceil(t->n_brackets * pow(factor, s) / (s + 1));
        t->total += t->budget[b];
    }
    return 1;
}

static uint32_t
bracket_of(const tars_tuner *t, uint64_t number)
{
    char key[48];
    snprintf(key, sizeof key, "%llu_%llu", (unsigned long long)t->seed, (unsigned long long)number);
    int64_t n = (int64_t)(crc32_of(key) % t->total);
    for (uint32_t b = 0; b < t->n_brackets; b++)
        if ((n -= (int64_t)t->budget[b]) < 0)
            return b;
    return t->n_brackets - 1;
}

static int
hb_report(tars_tuner *t, const tars_params *p, uint64_t number, uint64_t step, double value,
          int *prune)
{
    *prune = 0;
    struct sha_trial *a = sha_trial_of(&t->trials, number);
    if (!a)
        return TARS_ENOMEM;
    a->last_step = step;
    a->reported = 1;
    if (!t->n_brackets && !init_brackets(t, p))
        return 0;
    uint32_t b = bracket_of(t, number);
    struct sha c = {.min_resource = (uint64_t)tars_param_int(p, P_MIN_RESOURCE),
                    .factor = tars_param_int(p, P_REDUCTION),
                    .rate = b,
                    .bootstrap = tars_param_int(p, P_BOOTSTRAP),
                    .maximise = t->maximise};
    return rungs_climb(&t->b[b], &c, &a->rung, step, value, prune);
}

static int
hb_tell(tars_tuner *t, const tars_params *p, const tars_trial *trial)
{
    (void)p;
    return sha_told(&t->trials, trial);
}

static int
hb_save(const tars_tuner *t, tars_blob_writer *w)
{
    int rc = tars_blob_set_version(w, 1);
    rc = rc ? rc : tars_blob_put_u64(w, t->seed); /* the brackets' hash: part of the state */
    rc = rc ? rc : tars_blob_put_u64(w, t->max_resource);
    rc = rc ? rc : tars_blob_put_u32(w, t->n_brackets);
    rc = rc ? rc : sha_trials_save(&t->trials, w);
    for (uint32_t b = 0; !rc && b < t->n_brackets; b++)
        rc = rungs_save(&t->b[b], w);
    return rc;
}

/* The brackets' shares follow from the parameters and max_resource: the next report
 * computes them again (n_brackets stays 0 until then). */
static int
hb_load(tars_tuner *t, tars_blob_reader *r)
{
    if (tars_blob_version(r) != 1)
        return tars_fail(t->ctx, TARS_EVERSION, "hyperband state version %u, expected 1",
                         tars_blob_version(r));
    uint32_t brackets;
    int rc = tars_blob_get_u64(r, &t->seed);
    rc = rc ? rc : tars_blob_get_u64(r, &t->max_resource);
    rc = rc ? rc : tars_blob_get_u32(r, &brackets); /* the rung sets that follow */
    if (!rc && brackets > MAX_BRACKETS)
        rc = TARS_ECORRUPT;
    rc = rc ? rc : sha_trials_load(&t->trials, r);
    for (uint32_t b = 0; !rc && b < brackets; b++)
        rc = rungs_load(&t->b[b], r);
    return rc;
}

TARS_OPS(tars_tuner_ops, hb_ops, .roles = TARS_TUNER_PRUNER, .create = hb_create,
         .destroy = hb_destroy, .report = hb_report, .tell = hb_tell, .save = hb_save,
         .load = hb_load);
TARS_PLUGIN(.kind = TARS_KIND_TUNER, .name = "hyperband", .version = "1.0.0",
            .description = "Hyperband pruner: brackets of successive halving, as Optuna's.",
            .params = hb_params, .n_params = TARS_COUNTOF(hb_params), .ops = &hb_ops)
