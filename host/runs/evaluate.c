/*
 * Deterministic evaluation of a run's agent on an env instance of its own. Episodes are
 * spread over min(episodes, n_envs) copies with fixed per-copy targets (as SB3's
 * evaluate_policy does), so short episodes cannot crowd out long ones.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "run.h"
#include "plugin_error.h"

/* An episode that has not ended after this many steps (with no time limit) is an error. */
#define EVAL_MAX_EPISODE_STEPS 1000000u

static int
eval_error(char *err, size_t errlen, const struct run *r, const struct plugin *p,
           const tars_ctx *ctx, const char *op, int rc)
{
    char what[512];
    plugin_op_error(what, sizeof what, p->info, PLUGIN_NAME, op, ctx, NULL, rc);
    snprintf(err, errlen, "evaluating '%s': %s", r->id, what);
    return rc;
}

int
run_evaluate(struct run *r, uint32_t episodes, double *mean, double *std, char *err, size_t errlen)
{
    uint32_t n = episodes < r->n_envs ? episodes : r->n_envs;
    *mean = *std = NAN;
    if (episodes == 0)
        return 0;
    if (r->eval_env && r->eval_n != n) {
        /* Another episode count spreads over another number of copies. */
        r->eops->destroy(r->eval_env);
        r->eval_env = NULL;
    }
    if (!r->eval_env) {
        char name[80];
        snprintf(name, sizeof name, "%s/eval", r->id);
        if (!r->eval_ctx)
            r->eval_ctx = tars__ctx_new(name, r);
        /* n copies, seeded far from the training env's seed. */
        int rc = r->eval_ctx ? r->eops->create(r->eval_ctx, r->params->env, n,
                                               r->seed * 2 + 1 + 0x5eed0000ULL, &r->eval_env)
                             : TARS_ENOMEM;
        if (rc)
            return eval_error(err, errlen, r, r->env_plugin, r->eval_ctx, "create", rc);
        r->eval_n = n;
    }
    struct vecbuf b;
    uint32_t *target = calloc(n, sizeof *target), *done = calloc(n, sizeof *done);
    if (!target || !done || vecbuf_alloc(&b, n, &r->spec)) {
        free(target);
        free(done);
        snprintf(err, errlen, "out of memory");
        return TARS_ENOMEM;
    }
    /* The owner thread: no swap frees its parameters while it evaluates. */
    const struct run_params *pp = atomic_load_explicit(&r->params, memory_order_acquire);
    const tars_params *ap = pp->agent, *ep = pp->env;
    for (uint32_t i = 0; i < n; i++)
        target[i] = (episodes + i) / n;
    double sum = 0, sum2 = 0;
    uint32_t finished = 0;
    int rc = r->eops->reset(r->eval_env, ep, b.obs);
    if (rc)
        eval_error(err, errlen, r, r->env_plugin, r->eval_ctx, "reset", rc);
    while (!rc && finished < episodes) {
        const char *op = NULL;
        rc = vecbuf_act_step(&b, r->aops, r->agent, ap, 0, r->eops, r->eval_env, ep, &op);
        if (rc) {
            int by_agent = strcmp(op, "act") == 0;
            eval_error(err, errlen, r, by_agent ? r->agent_plugin : r->env_plugin,
                       by_agent ? r->actx : r->eval_ctx, op, rc);
            break;
        }
        for (uint32_t i = 0; i < n; i++) {
            if (vecbuf_done(&b, i)) {
                if (done[i] < target[i]) {
                    sum += b.ep_return[i];
                    sum2 += b.ep_return[i] * b.ep_return[i];
                    done[i]++;
                    finished++;
                }
                vecbuf_episode_reset(&b, i);
            } else if (b.ep_len[i] >= EVAL_MAX_EPISODE_STEPS) {
                snprintf(err, errlen, "evaluating '%s': an episode did not end within %u steps",
                         r->id, EVAL_MAX_EPISODE_STEPS);
                rc = TARS_ERANGE;
                break;
            }
        }
        vecbuf_advance(&b);
    }
    vecbuf_free(&b);
    free(target);
    free(done);
    if (rc)
        return rc;
    *mean = sum / episodes;
    double var = sum2 / episodes - *mean * *mean;
    *std = var > 0 ? sqrt(var) : 0;
    return 0;
}
