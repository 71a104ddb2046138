/*
 * migrate — what a code swap (codeswap.h) asks of a run, carried out by the runner that owns
 * the run at its next step boundary, so that nothing else ever touches a plugin instance:
 *
 *   SWAP_SAVE     hand over a state blob of the running agent or env instance (the smoke test
 *                 loads it into the new build, smoke.h);
 *   SWAP_MIGRATE  move the instance to a new generation of its plugin: save on the old code,
 *                 create and load on the new, swap the instance, its ops and its plugin
 *                 pointer, publish the run's next parameter pair (struct run_params, the
 *                 migrating side rebuilt for the new schema) and retire the old pair, then
 *                 destroy the old instance. The step counters, episode accumulators and buffers
 *                 are the run's and do not move: training goes on at the next step. On any
 *                 failure the old instance is left exactly as it was and keeps running.
 *
 * A successful migration asks for a checkpoint (taken in the same slice by persist), so that a
 * restart resumes on the new code.
 *
 * Threads: migrate_post, migrate_wait and migrate_pair on the code-swap thread, which holds a
 * claim on each run (runs_claim, runset.h) and not the run set's lock while it waits: the runs
 * stay in the set, nobody else starts or stops them, and nobody else publishes their
 * parameters (params_swap.h claims too), so the runner publishes a pair on the claim
 * holder's behalf. migrate_take on the run's runner (slice() in runner.c), outside any
 * read-side section.
 */
#ifndef TARS_HOST_MIGRATE_H
#define TARS_HOST_MIGRATE_H

#include <stdatomic.h>
#include <stddef.h>
#include "run.h"

enum swap_kind { SWAP_SAVE = 1, SWAP_MIGRATE = 2 };

struct swap_order {
    int kind;                  /* enum swap_kind */
    uint32_t which;            /* TARS_KIND_AGENT or TARS_KIND_ENV: the instance concerned */
    struct plugin *to;         /* SWAP_MIGRATE: the new generation */
    struct run_params *params; /* SWAP_MIGRATE: the run's next pair (migrate_pair): published
                                * by the runner on success, freed by the poster otherwise */
    /* Results, written by the runner; read once done is set. */
    int rc;          /* 0 or the failed op's negative code */
    char error[512]; /* why, when rc != 0 */
    void *blob;      /* SWAP_SAVE: the state blob (malloc'd; the poster frees it) */
    size_t len;      /* SWAP_SAVE: may be 0 for an env that cannot save */
    double stall_s;  /* the runner's time on the order: its stall */
    atomic_int done;
};

/* Runner: carries out r's posted order, if any. */
void migrate_take(struct run *r);

/* Posts o (filled but for its results) on r; r must have no order pending. */
void migrate_post(struct run *r, struct swap_order *o);

/*
 * Waits until every order orders[i] posted on runs[i] is done. One its runner has not taken
 * within timeout_s (or once *stop is set) is withdrawn: it fails with -ETIMEDOUT and the run
 * is untouched. One the runner took is always waited for, however long its ops take.
 */
void migrate_wait(struct run **runs, struct swap_order **orders, size_t n, double timeout_s,
                  const atomic_int *stop);

/*
 * The snapshot a run of plugin `to` gets in place of cur: to's defaults (schema, then the
 * manifest's), then every value of cur whose name to still has, carried by name (an enum by
 * its choice's name). A name to dropped is ignored; one it added keeps its default. Fails
 * (-EINVAL, one sentence in err naming the parameter and why) when to refuses a carried value.
 */
int migrate_params(const tars_params *cur, const struct plugin *to, tars_params **out, char *err,
                   size_t errlen);
/*
 * The pair a run publishes when its `which` side (TARS_KIND_AGENT or TARS_KIND_ENV) moves to
 * `to`: that side from migrate_params, the other a copy of cur's, version cur's + 1. Fails like
 * migrate_params.
 */
int migrate_pair(const struct run_params *cur, uint32_t which, const struct plugin *to,
                 struct run_params **out, char *err, size_t errlen);

#endif
