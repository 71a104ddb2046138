#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "clock.h"
#include "env_spec.h"
#include "fault.h"
#include "plugin_error.h"
#include "run.h"

const char *
run_state_name(int state)
{
    switch (state) {
    case RUN_READY:
        return "ready";
    case RUN_RUNNING:
        return "running";
    case RUN_STOPPED:
        return "stopped";
    case RUN_FAILED:
        return "failed";
    }
    return "unknown";
}

/* "agent 'random' create failed: <plugin's reason or the code's meaning>" */
static void
op_error(char *err, size_t errlen, const struct plugin *p, const tars_ctx *ctx, const char *op,
         int rc)
{
    plugin_op_error(err, errlen, p->info, PLUGIN_NAME, op, ctx, NULL, rc);
}

int
run_create(const struct run_spec *s, struct run **out, char *err, size_t errlen)
{
    int rc;
    *out = NULL;
    struct run *r = calloc(1, sizeof *r);
    if (!r) {
        tars_params_free(s->agent_params);
        tars_params_free(s->env_params);
        snprintf(err, errlen, "out of memory");
        return TARS_ENOMEM;
    }
    r->params = run_params_new(s->agent_params, s->env_params, 0);
    r->agent_plugin = s->agent;
    r->env_plugin = s->env;
    r->aops = s->agent->info->ops;
    r->eops = s->env->info->ops;
    r->n_envs = s->n_envs;
    r->seed = s->seed;
    atomic_init(&r->mean_return, NAN);
    feed_init(&r->feed);
    atomic_init(&r->last_return, NAN);
    r->id = strdup(s->id);
    if (!r->params) {
        free(r->id);
        free(r);
        snprintf(err, errlen, "out of memory");
        return TARS_ENOMEM;
    }
    char name[80];
    snprintf(name, sizeof name, "%s/env", s->id);
    r->ectx = tars__ctx_new(name, r);
    r->actx = tars__ctx_new(s->id, r);
    if (!r->id || !r->ectx || !r->actx ||
        (s->trial.budget && !(r->trial = run_trial_new(&s->trial)))) {
        snprintf(err, errlen, "out of memory");
        rc = TARS_ENOMEM;
        goto fail;
    }
    if (s->failed) {
        snprintf(r->error, sizeof r->error, "%s", s->failed);
        atomic_store(&r->state, RUN_FAILED);
        *out = r;
        return 0;
    }
    /* Env and agent draw from distinct seeds so that neither's RNG use shifts the other. */
    rc = r->eops->create(r->ectx, r->params->env, r->n_envs, s->seed * 2 + 1, &r->env);
    if (rc) {
        op_error(err, errlen, s->env, r->ectx, "create", rc);
        goto fail;
    }
    memset(&r->spec, 0, sizeof r->spec);
    r->eops->spec(r->env, &r->spec);
    char why[128];
    rc = env_spec_check(&r->spec, why, sizeof why);
    if (rc) {
        snprintf(err, errlen, "env '%s' reports %s", s->env->info->name, why);
        goto fail;
    }
    if (vecbuf_alloc(&r->buf, r->n_envs, &r->spec) ||
        !(r->next_obs = calloc((size_t)r->n_envs * r->buf.obs_width, sizeof(float)))) {
        snprintf(err, errlen, "out of memory");
        rc = TARS_ENOMEM;
        goto fail;
    }
    rc = r->aops->create(r->actx, &r->spec, r->n_envs, r->params->agent, s->seed * 2, &r->agent);
    if (rc) {
        op_error(err, errlen, s->agent, r->actx, "create", rc);
        goto fail;
    }
    rc = r->eops->reset(r->env, r->params->env, r->buf.obs);
    if (rc) {
        op_error(err, errlen, s->env, r->ectx, "reset", rc);
        goto fail;
    }
    *out = r;
    return 0;
fail:
    run_destroy(r);
    return rc;
}

void
run_destroy(struct run *r)
{
    if (!r)
        return;
    if (r->agent)
        r->aops->destroy(r->agent);
    if (r->env)
        r->eops->destroy(r->env);
    if (r->eval_env)
        r->eops->destroy(r->eval_env);
    tars__ctx_free(r->actx);
    tars__ctx_free(r->ectx);
    tars__ctx_free(r->eval_ctx);
    run_trial_free(r->trial);
    run_params_free(r->params); /* retired ones are the publisher's */
    vecbuf_free(&r->buf);
    free(r->next_obs);
    free(r->history);
    feed_free(&r->feed);
    free(r->id);
    free(r);
}

static int
fail_step(struct run *r, const struct plugin *p, const tars_ctx *ctx, const char *op, int rc)
{
    op_error(r->error, sizeof r->error, p, ctx, op, rc);
    atomic_store(&r->state, RUN_FAILED);
    return rc;
}

/* Agents report some scalars only when they update: keep the newest value of each. */
static void
merge_scalars(struct run *r)
{
    for (uint32_t i = 0; i < r->scalars.n; i++) {
        const tars__scalar *it = &r->scalars.items[i];
        uint32_t k = 0;
        while (k < r->latest.n && strcmp(r->latest.items[k].name, it->name) != 0)
            k++;
        if (k == r->latest.n) {
            if (k == TARS__MAX_SCALARS)
                continue;
            r->latest.n++;
        }
        r->latest.items[k] = *it;
    }
    r->latest_fresh = 1;
}

static void
episode_done(struct run *r, uint32_t i)
{
    double ret = r->buf.ep_return[i];
    r->window[r->window_at] = ret;
    r->window_at = (r->window_at + 1) % RUN_RETURN_WINDOW;
    if (r->window_n < RUN_RETURN_WINDOW)
        r->window_n++;
    double sum = 0;
    for (uint32_t k = 0; k < r->window_n; k++)
        sum += r->window[k];
    atomic_store_explicit(&r->mean_return, sum / r->window_n, memory_order_relaxed);
    atomic_store_explicit(&r->last_return, ret, memory_order_relaxed);
    atomic_fetch_add_explicit(&r->episodes, 1, memory_order_relaxed);
    if (r->on_episode)
        r->on_episode(r, i, ret, r->buf.ep_len[i], r->on_episode_user);
    vecbuf_episode_reset(&r->buf, i);
}

int
run_step(struct run *r)
{
    return run_step_with(r, atomic_load_explicit(&r->params, memory_order_acquire));
}

int
run_step_with(struct run *r, struct run_params *pp)
{
    /* One pair for the whole step: act, the env's step and observe see the same one. */
    if (pp->version != r->params_used) {
        r->params_used = pp->version;
        atomic_store_explicit(&pp->first_use_step, atomic_load(&r->steps), memory_order_relaxed);
        atomic_store_explicit(&pp->first_use, host_now(), memory_order_release);
    }
    const tars_params *ap = pp->agent, *ep = pp->env;
    struct vecbuf *b = &r->buf;
    const char *op = NULL;
    struct plugin *agent = r->agent_plugin, *env = r->env_plugin;
    fault_env(env->lib_file, env->lib.sha256);
    fault_op(agent->lib_file, agent->lib.sha256, "act");
    int rc = vecbuf_act_step(b, r->aops, r->agent, ap, 1, r->eops, r->env, ep, &op);
    fault_leave();
    if (rc) {
        int by_agent = strcmp(op, "act") == 0;
        return fail_step(r, by_agent ? r->agent_plugin : r->env_plugin,
                         by_agent ? r->actx : r->ectx, op, rc);
    }
    uint32_t ow = b->obs_width;
    memcpy(r->next_obs, b->new_obs, (size_t)b->n * ow * sizeof(float));
    for (uint32_t i = 0; i < b->n; i++)
        if (vecbuf_done(b, i))
            memcpy(&r->next_obs[i * ow], &b->final_obs[i * ow], ow * sizeof(float));
    tars_batch batch = {b->obs,      b->act_discrete, b->act_continuous, b->reward,
                        r->next_obs, b->terminated,   b->truncated};
    tars__scalars_reset(&r->scalars);
    fault_op(agent->lib_file, agent->lib.sha256, "observe");
    rc = r->aops->observe(r->agent, ap, &batch, &r->scalars);
    fault_leave();
    if (rc)
        return fail_step(r, r->agent_plugin, r->actx, "observe", rc);
    if (r->scalars.n)
        merge_scalars(r);
    for (uint32_t i = 0; i < b->n; i++)
        if (vecbuf_done(b, i))
            episode_done(r, i);
    vecbuf_advance(b);
    atomic_fetch_add_explicit(&r->steps, b->n, memory_order_relaxed);
    return 0;
}

int
run_save_agent(struct run *r, void **data, size_t *len, char *err, size_t errlen)
{
    tars_blob_writer *w;
    const void *bytes;
    if (tars_blob_writer_new(r->agent_plugin->info->name, &w)) {
        snprintf(err, errlen, "out of memory");
        return TARS_ENOMEM;
    }
    int rc = r->aops->save(r->agent, w);
    if (rc) {
        op_error(err, errlen, r->agent_plugin, r->actx, "save", rc);
    } else if ((rc = tars_blob_writer_finish(w, &bytes, len)) == 0) {
        *data = malloc(*len);
        if (*data)
            memcpy(*data, bytes, *len);
        else
            rc = TARS_ENOMEM;
    }
    if (rc == TARS_ENOMEM)
        snprintf(err, errlen, "out of memory");
    tars_blob_writer_free(w);
    return rc;
}
