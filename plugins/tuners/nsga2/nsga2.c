/*
 * nsga2 — Optuna's NSGAIISampler for two or more objectives (one works too). Each asked trial
 * belongs to a generation: one more than its parents'. The parents are found again at each ask
 * from the completed trials: generation g's, once it holds population_size of them, joined to
 * the previous elite and cut back to population_size by non-dominated rank and crowding
 * distance (elite.c). A trial of generation 0 is drawn at random. Later trials, with probability
 * crossover_prob, are a uniform crossover of two parents. Each parent is chosen by a binary
 * tournament: of two drawn, the first if it dominates the second, else the second. Each
 * dimension is taken from the second parent unless a draw falls below swapping_prob.
 * Otherwise a trial is a copy of a random parent. Each dimension then mutates (is drawn afresh,
 * as RandomSampler) with probability mutation_prob (-1: 1 / dimensions). Trials told without
 * being asked (an enqueued trial) take the generation an ask would have given them. Optuna
 * draws from numpy's generators: the same semantics, other random numbers.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <tars/plugin.h>

#include "elite.h"
#include "space.h"

enum { P_POPULATION, P_MUTATION, P_CROSSOVER, P_SWAPPING };

static const tars_param_def nsga2_params[] = {
    TARS_PARAM_INT_DEF("population_size", 50, 2, 10000, 0,
                       "Trials per generation, and the elite kept between generations."),
    TARS_PARAM_FLOAT_DEF("mutation_prob", -1, -1, 1, TARS_PARAM_HOT,
                         "Chance that a dimension is drawn afresh; -1: 1 / dimensions."),
    TARS_PARAM_FLOAT_DEF("crossover_prob", 0.9, 0, 1, TARS_PARAM_HOT,
                         "Chance that a child is a crossover of two parents, not a copy of one."),
    TARS_PARAM_FLOAT_DEF("swapping_prob", 0.5, 0, 1, TARS_PARAM_HOT,
                         "Chance that a dimension comes from the first parent in a crossover."),
};

struct gen {
    uint64_t number;
    int64_t generation;
};

struct tars_tuner {
    tars_ctx *ctx;
    uint32_t n_dims, n_obj;
    uint32_t dirs[TARS_TUNER_MAX_OBJECTIVES];
    struct dim *dims;
    struct history h;
    struct gen *g; /* the generation of each asked (or told unasked) trial */
    size_t n_g, cap_g;
    /* The parents' generation found at the last ask and its elite (indices into h.v); -1:
     * none. A later ask starts from it; a trial of that generation or an earlier one that
     * completes afterwards (a straggler) clears it. */
    int64_t elite_gen;
    size_t *elite;
    size_t n_elite;
    tars_rng rng;    /* the sampler's draws */
    tars_rng random; /* the fresh values (Optuna's RandomSampler has its own) */
};

static int
nsga2_create(tars_ctx *ctx, const tars_params *p, const tars_study_spec *study, uint64_t seed,
             tars_tuner **out)
{
    (void)p;
    *out = NULL;
    tars_tuner *t = calloc(1, sizeof *t);
    if (!t)
        return TARS_ENOMEM;
    int rc = space_dims(ctx, study, &t->dims);
    if (rc) {
        free(t);
        return rc;
    }
    t->ctx = ctx;
    t->n_dims = study->n_space;
    t->n_obj = study->n_objectives;
    memcpy(t->dirs, study->directions, t->n_obj * sizeof *t->dirs);
    t->h.n_dims = t->n_dims;
    t->elite_gen = -1;
    tars_rng_seed(&t->rng, seed, 0x6e736761);
    tars_rng_seed(&t->random, seed, 0x72616e64);
    *out = t;
    return 0;
}

static void
nsga2_destroy(tars_tuner *t)
{
    if (!t)
        return;
    history_free(&t->h);
    free(t->g);
    free(t->elite);
    free(t->dims);
    free(t);
}

/* The generation of history entry i: t->g is appended with h.v, entry for entry. */
static int64_t
generation_at(const tars_tuner *t, size_t i)
{
    if (i < t->n_g && t->g[i].number == t->h.v[i].number)
        return t->g[i].generation;
    for (size_t j = t->n_g; j-- > 0;)
        if (t->g[j].number == t->h.v[i].number)
            return t->g[j].generation;
    return -1;
}

static int64_t
generation_of(const tars_tuner *t, uint64_t number)
{
    for (size_t i = t->n_g; i-- > 0;)
        if (t->g[i].number == number)
            return t->g[i].generation;
    return -1;
}

/*
 * The parents' generation (-1: none yet) and their elite (into *elite, malloc'd, *n_elite of
 * them), from the completed trials.
 */
static int
parents(tars_tuner *t, size_t size, int64_t *generation, const struct htrial ***elite,
        size_t *n_elite)
{
    const struct htrial **pop = malloc((t->h.n + size + 1) * sizeof *pop);
    const struct htrial **best = malloc((size + 1) * sizeof *best);
    size_t *idx = malloc((size + 1) * sizeof *idx);
    if (!pop || !best || !idx) {
        free(pop);
        free(best);
        free(idx);
        return TARS_ENOMEM;
    }
    size_t nb = 0;
    int64_t g = t->elite_gen;
    for (size_t i = 0; g >= 0 && i < t->n_elite; i++) /* from the last ask's */
        best[nb++] = &t->h.v[t->elite[i]];
    for (;;) {
        size_t n = 0;
        for (size_t i = 0; i < t->h.n; i++) { /* the next generation's completed trials */
            const struct htrial *x = &t->h.v[i];
            if (x->state == TARS_TRIAL_COMPLETE && x->n_values == t->n_obj &&
                generation_at(t, i) == g + 1)
                pop[n++] = x;
        }
        if (n < size)
            break;
        memcpy(pop + n, best, nb * sizeof *best);
        long got = nsga_elite(pop, n + nb, size, t->dirs, t->n_obj, best);
        if (got < 0) {
            free(pop);
            free(best);
            free(idx);
            return TARS_ENOMEM;
        }
        nb = (size_t)got;
        g++;
    }
    for (size_t i = 0; i < nb; i++)
        idx[i] = (size_t)(best[i] - t->h.v);
    free(t->elite);
    t->elite = idx;
    t->n_elite = nb;
    t->elite_gen = g;
    free(pop);
    *generation = g;
    *elite = best;
    *n_elite = nb;
    return 0;
}

/* A binary tournament among pop (but for `skip`): the first drawn if it dominates the second. */
static const struct htrial *
tournament(tars_tuner *t, const struct htrial **pop, size_t n, const struct htrial *skip)
{
    const struct htrial *c[2];
    for (int k = 0; k < 2; k++) {
        size_t m = skip ? n - 1 : n, i = (size_t)tars_rng_below(&t->rng, m);
        for (size_t j = 0; skip && j <= i; j++) /* the i-th of those that are not skip */
            if (pop[j] == skip)
                i++;
        c[k] = pop[i];
    }
    return nsga_dominates(c[0], c[1], t->dirs, t->n_obj) ? c[0] : c[1];
}

static int
remember(tars_tuner *t, uint64_t number, int64_t generation)
{
    void *v = t->g;
    int rc = tuner_grow(&v, t->n_g, &t->cap_g, sizeof *t->g, 64);
    t->g = v;
    if (rc)
        return rc;
    t->g[t->n_g++] = (struct gen){number, generation};
    return 0;
}

static int
nsga2_ask(tars_tuner *t, const tars_params *p, uint64_t number, tars_params *out)
{
    size_t size = (size_t)tars_param_int(p, P_POPULATION);
    int64_t g;
    const struct htrial **elite;
    size_t n;
    int rc = parents(t, size, &g, &elite, &n);
    if (rc)
        return rc;
    double *x = malloc((t->n_dims + 1) * sizeof *x);
    if (!x || remember(t, number, g + 1)) {
        free(x);
        free(elite);
        return TARS_ENOMEM;
    }
    if (g >= 0 && n >= 2) {
        const struct htrial *a, *b;
        if (tars_rng_uniform(&t->rng) < tars_param_float(p, P_CROSSOVER)) {
            a = tournament(t, elite, n, NULL);
            b = tournament(t, elite, n, a);
            double swap = tars_param_float(p, P_SWAPPING);
            for (uint32_t j = 0; j < t->n_dims; j++)
                x[j] = tars_rng_uniform(&t->rng) >= swap ? b->x[j] : a->x[j];
        } else {
            a = elite[tars_rng_below(&t->rng, n)];
            memcpy(x, a->x, t->n_dims * sizeof *x);
        }
        double mut = tars_param_float(p, P_MUTATION);
        if (mut < 0)
            mut = 1.0 / (t->n_dims ? t->n_dims : 1);
        for (uint32_t j = 0; j < t->n_dims; j++)
            if (tars_rng_uniform(&t->rng) < mut)
                x[j] = dim_random(&t->dims[j], &t->random);
    } else
        for (uint32_t j = 0; j < t->n_dims; j++)
            x[j] = dim_random(&t->dims[j], &t->random);
    free(elite);
    for (uint32_t j = 0; !rc && j < t->n_dims; j++)
        rc = dim_set(t->ctx, out, j, x[j]);
    if (!rc)
        for (uint32_t j = 0; j < t->n_dims; j++)
            x[j] = tars_param_value(out, j);
    rc = rc ? rc : history_asked(&t->h, number, x);
    free(x);
    return rc;
}

static int
nsga2_tell(tars_tuner *t, const tars_params *p, const tars_trial *trial)
{
    int64_t gen = generation_of(t, trial->number);
    if (gen >= 0 && gen <= t->elite_gen && trial->state == TARS_TRIAL_COMPLETE)
        t->elite_gen = -1; /* a straggler of a generation already chosen from: start over */
    if (gen < 0) {         /* told unasked: the generation ask gives */
        int64_t g;
        const struct htrial **elite;
        size_t n;
        int rc = parents(t, (size_t)tars_param_int(p, P_POPULATION), &g, &elite, &n);
        free(rc ? NULL : elite);
        if (rc || (rc = remember(t, trial->number, g + 1)))
            return rc;
    }
    return history_tell(&t->h, trial);
}

static int
nsga2_save(const tars_tuner *t, tars_blob_writer *w)
{
    int rc = tars_blob_set_version(w, 1);
    rc = rc ? rc : tars_blob_put_rng(w, &t->rng);
    rc = rc ? rc : tars_blob_put_rng(w, &t->random);
    rc = rc ? rc : tars_blob_put_u64(w, t->n_g);
    for (size_t i = 0; !rc && i < t->n_g; i++) {
        rc = tars_blob_put_u64(w, t->g[i].number);
        rc = rc ? rc : tars_blob_put_u64(w, (uint64_t)t->g[i].generation);
    }
    return rc ? rc : history_save(&t->h, w);
}

static int
nsga2_load(tars_tuner *t, tars_blob_reader *r)
{
    if (tars_blob_version(r) != 1)
        return tars_fail(t->ctx, TARS_EVERSION, "nsga2 state version %u, expected 1",
                         tars_blob_version(r));
    uint64_t n;
    int rc = tars_blob_get_rng(r, &t->rng);
    rc = rc ? rc : tars_blob_get_rng(r, &t->random);
    rc = rc ? rc : tars_blob_get_u64(r, &n);
    if (!rc && n > (1u << 28))
        rc = TARS_ECORRUPT;
    for (uint64_t i = 0; !rc && i < n; i++) {
        uint64_t number, g;
        rc = tars_blob_get_u64(r, &number);
        rc = rc ? rc : tars_blob_get_u64(r, &g);
        rc = rc ? rc : remember(t, number, (int64_t)g);
    }
    return rc ? rc : history_load(&t->h, r);
}

TARS_OPS(tars_tuner_ops, nsga2_ops, .roles = TARS_TUNER_SAMPLER, .create = nsga2_create,
         .destroy = nsga2_destroy, .ask = nsga2_ask, .tell = nsga2_tell, .save = nsga2_save,
         .load = nsga2_load);
TARS_PLUGIN(.kind = TARS_KIND_TUNER, .name = "nsga2", .version = "1.0.0",
            .description = "NSGA-II sampler for several objectives, as Optuna's NSGAIISampler.",
            .params = nsga2_params, .n_params = TARS_COUNTOF(nsga2_params), .ops = &nsga2_ops)
