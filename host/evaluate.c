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

/* An episode that has not ended after this many steps (with no time limit) is an error. */
#define EVAL_MAX_EPISODE_STEPS 1000000u

struct eval_bufs {
    float *obs, *new_obs, *final_obs, *reward;
    uint8_t *term, *trunc;
    int32_t *act_d;
    float *act_c;
    double *ret;
    uint32_t *len, *target, *done;
};

static void
free_bufs(struct eval_bufs *b)
{
    free(b->obs);
    free(b->new_obs);
    free(b->final_obs);
    free(b->reward);
    free(b->term);
    free(b->trunc);
    free(b->act_d);
    free(b->act_c);
    free(b->ret);
    free(b->len);
    free(b->target);
    free(b->done);
}

static int
alloc_bufs(struct eval_bufs *b, const struct run *r, uint32_t n)
{
    memset(b, 0, sizeof *b);
    size_t ow = r->obs_width, na = r->spec.n_agents;
    b->obs = calloc(n * ow, sizeof(float));
    b->new_obs = calloc(n * ow, sizeof(float));
    b->final_obs = calloc(n * ow, sizeof(float));
    b->reward = calloc(n * na, sizeof(float));
    b->term = calloc(n, 1);
    b->trunc = calloc(n, 1);
    b->act_d = calloc((size_t)n * r->act_width, sizeof(int32_t));
    b->act_c = calloc((size_t)n * r->act_width, sizeof(float));
    b->ret = calloc(n, sizeof(double));
    b->len = calloc(n, sizeof(uint32_t));
    b->target = calloc(n, sizeof(uint32_t));
    b->done = calloc(n, sizeof(uint32_t));
    return b->obs && b->new_obs && b->final_obs && b->reward && b->term && b->trunc && b->act_d &&
                   b->act_c && b->ret && b->len && b->target && b->done
               ? 0
               : -1;
}

static int
eval_error(char *err, size_t errlen, const struct run *r, const struct plugin *p,
           const tars_ctx *ctx, const char *op, int rc)
{
    const char *why = tars__ctx_error(ctx);
    snprintf(err, errlen, "evaluating '%s': %s '%s' %s failed: %s", r->id,
             tars_kind_name(p->info->kind), p->info->name, op, *why ? why : tars_strerror(rc));
    return rc;
}

int
run_evaluate(struct run *r, uint32_t episodes, double *mean, double *std, char *err, size_t errlen)
{
    uint32_t n = episodes < r->n_envs ? episodes : r->n_envs;
    *mean = *std = NAN;
    if (episodes == 0)
        return 0;
    if (!r->eval_env) {
        char name[80];
        snprintf(name, sizeof name, "%s/eval", r->id);
        r->eval_ctx = tars__ctx_new(name, r);
        /* n copies, seeded far from the training env's seed. */
        int rc = r->eval_ctx ? r->eops->create(r->eval_ctx, r->env_params, n,
                                               r->seed * 2 + 1 + 0x5eed0000ULL, &r->eval_env)
                             : TARS_ENOMEM;
        if (rc)
            return eval_error(err, errlen, r, r->env_plugin, r->eval_ctx, "create", rc);
    }
    struct eval_bufs b;
    if (alloc_bufs(&b, r, n)) {
        free_bufs(&b);
        snprintf(err, errlen, "out of memory");
        return TARS_ENOMEM;
    }
    const tars_params *ap = __atomic_load_n(&r->agent_params, __ATOMIC_ACQUIRE);
    const tars_params *ep = __atomic_load_n(&r->env_params, __ATOMIC_ACQUIRE);
    for (uint32_t i = 0; i < n; i++)
        b.target[i] = (episodes + i) / n;
    double sum = 0, sum2 = 0;
    uint32_t finished = 0;
    int rc = r->eops->reset(r->eval_env, ep, b.obs);
    if (rc)
        eval_error(err, errlen, r, r->env_plugin, r->eval_ctx, "reset", rc);
    uint32_t na = r->spec.n_agents;
    while (!rc && finished < episodes) {
        tars_actions act = {b.act_d, b.act_c};
        rc = r->aops->act(r->agent, ap, b.obs, n, 0, &act);
        if (rc) {
            eval_error(err, errlen, r, r->agent_plugin, r->actx, "act", rc);
            break;
        }
        tars_step_out out = {b.new_obs, b.final_obs, b.reward, b.term, b.trunc};
        rc = r->eops->step(r->eval_env, ep, &act, &out);
        if (rc) {
            eval_error(err, errlen, r, r->env_plugin, r->eval_ctx, "step", rc);
            break;
        }
        for (uint32_t i = 0; i < n; i++) {
            for (uint32_t k = 0; k < na; k++)
                b.ret[i] += b.reward[i * na + k];
            b.len[i]++;
            if (b.term[i] || b.trunc[i]) {
                if (b.done[i] < b.target[i]) {
                    sum += b.ret[i];
                    sum2 += b.ret[i] * b.ret[i];
                    b.done[i]++;
                    finished++;
                }
                b.ret[i] = 0;
                b.len[i] = 0;
            } else if (b.len[i] >= EVAL_MAX_EPISODE_STEPS) {
                snprintf(err, errlen, "evaluating '%s': an episode did not end within %u steps",
                         r->id, EVAL_MAX_EPISODE_STEPS);
                rc = TARS_ERANGE;
                break;
            }
        }
        float *t = b.obs;
        b.obs = b.new_obs;
        b.new_obs = t;
    }
    free_bufs(&b);
    if (rc)
        return rc;
    *mean = sum / episodes;
    double var = sum2 / episodes - *mean * *mean;
    *std = var > 0 ? sqrt(var) : 0;
    return 0;
}
