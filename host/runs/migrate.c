/*
 * A code swap's orders carried out on a run's runner (see migrate.h). Only the runner that
 * owns a run touches its plugin instances, so an order needs no lock: the code-swap thread
 * posts it with a release store, the runner takes it with an exchange at a step boundary and
 * answers with a release store of `done`.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "clock.h"
#include "env_spec.h"
#include "migrate.h"
#include "plugin_blob.h"
#include "plugin_error.h"
#include "params_json.h"

/* "agent 'x' 0.2.0 create failed: <plugin's reason or the code's meaning>" */
static int
op_fail(struct swap_order *o, const struct plugin *p, const tars_ctx *ctx, const char *op, int rc)
{
    o->rc = rc;
    return plugin_op_error(o->error, sizeof o->error, p->info, PLUGIN_NAME_VERSION, op, ctx, NULL,
                           rc);
}

/* The env instance's blob (malloc'd), or none (len 0) when the env cannot save. */
static int
save_env(struct run *r, struct swap_order *o)
{
    const struct plugin *p = atomic_load(&r->env_plugin);
    tars_blob_writer *w = NULL;
    const void *bytes = NULL;
    o->blob = NULL;
    o->len = 0;
    if (!r->eops->save)
        return 0;
    tars__ctx_clear_error(r->ectx);
    int rc = tars_blob_writer_new(p->info->name, &w);
    if (!rc && (rc = r->eops->save(r->env, w)) != 0) {
        op_fail(o, p, r->ectx, "save", rc);
    } else if (!rc && ((rc = tars_blob_writer_finish(w, &bytes, &o->len)) != 0 ||
                       !(o->blob = malloc(o->len ? o->len : 1)))) {
        rc = rc ? rc : TARS_ENOMEM;
        snprintf(o->error, sizeof o->error, "saving env '%s': %s", p->info->name,
                 tars_strerror(rc));
    } else if (!rc) {
        memcpy(o->blob, bytes, o->len);
    } else {
        snprintf(o->error, sizeof o->error, "out of memory");
    }
    if (rc)
        o->len = 0;
    o->rc = rc;
    tars_blob_writer_free(w);
    return rc;
}

static int
save_agent(struct run *r, struct swap_order *o)
{
    tars__ctx_clear_error(r->actx);
    o->rc = run_save_agent(r, &o->blob, &o->len, o->error, sizeof o->error);
    return o->rc;
}

/* Opens a blob for plugin p's load op; the reader's own complaints become o's error. */
static int
open_blob(struct swap_order *o, const struct plugin *p, const void *data, size_t len,
          tars_blob_reader **rd)
{
    return o->rc =
               plugin_blob_open(p->info, data, len, "the old state", rd, o->error, sizeof o->error);
}

/* After the load op: its code, or the reader's verdict on what it left unread. */
static int
close_blob(struct swap_order *o, const struct plugin *p, const tars_ctx *ctx, tars_blob_reader *rd,
           int rc)
{
    return o->rc = plugin_blob_close(p->info, ctx, rd, rc, "load", o->error, sizeof o->error);
}

/*
 * Publishes the order's pair as the run's parameters (API readers may hold the old one: it is
 * retired). The code-swap thread holds the run's claim, under which alone pairs are published,
 * on the runner's behalf.
 */
static void
publish(struct run *r, struct swap_order *o)
{
    struct run_params *np = o->params;
    o->params = NULL;
    run_params_publish(r, np);
}

static void
migrate_agent(struct run *r, struct swap_order *o)
{
    const struct plugin *to = o->to;
    const tars_agent_ops *nops = to->info->ops;
    tars_agent *fresh = NULL;
    tars_blob_reader *rd;
    if (save_agent(r, o))
        return;
    void *blob = o->blob;
    o->blob = NULL;
    tars__ctx_clear_error(r->actx);
    /* The seed is the one the run was created with; the load restores the RNG's state. */
    int rc = nops->create(r->actx, &r->spec, r->n_envs, o->params->agent, r->seed * 2, &fresh);
    if (rc)
        op_fail(o, to, r->actx, "create", rc);
    else if (open_blob(o, to, blob, o->len, &rd) == 0)
        rc = close_blob(o, to, r->actx, rd, nops->load(fresh, rd));
    else
        rc = o->rc;
    free(blob);
    o->len = 0;
    if (rc) {
        if (fresh)
            nops->destroy(fresh);
        return;
    }
    tars_agent *old = r->agent;
    const tars_agent_ops *old_ops = r->aops;
    r->agent = fresh;
    r->aops = nops;
    publish(r, o);
    atomic_store_explicit(&r->agent_plugin, o->to, memory_order_release);
    old_ops->destroy(old);
}

/* Creates the new env instance and loads the old one's blob into it. */
static int
fresh_env(struct run *r, struct swap_order *o, const void *blob, size_t len, tars_env **out)
{
    const struct plugin *to = o->to;
    const tars_env_ops *nops = to->info->ops;
    tars_blob_reader *rd;
    char why[160];
    tars__ctx_clear_error(r->ectx);
    int rc = nops->create(r->ectx, o->params->env, r->n_envs, r->seed * 2 + 1, out);
    if (rc)
        return op_fail(o, to, r->ectx, "create", rc);
    if (open_blob(o, to, blob, len, &rd) == 0)
        rc = close_blob(o, to, r->ectx, rd, nops->load(*out, rd));
    else
        rc = o->rc;
    tars_env_spec spec = {0};
    if (!rc) {
        nops->spec(*out, &spec);
        /* What a create would refuse, and spaces the running agent was not built for. */
        rc = env_spec_check(&spec, why, sizeof why);
        if (!rc)
            rc = env_spec_same(&r->spec, &spec, why, sizeof why);
        if (rc) {
            snprintf(o->error, sizeof o->error, "env '%s' %s reports %s", to->info->name,
                     to->info->version, why);
            o->rc = rc;
        }
    }
    if (rc) {
        nops->destroy(*out);
        *out = NULL;
    }
    return rc;
}

static void
migrate_env(struct run *r, struct swap_order *o)
{
    tars_env *fresh = NULL;
    if (save_env(r, o))
        return;
    void *blob = o->blob;
    size_t len = o->len;
    o->blob = NULL;
    o->len = 0;
    int rc = fresh_env(r, o, blob, len, &fresh);
    free(blob);
    if (rc)
        return;
    tars_env *old = r->env;
    const tars_env_ops *old_ops = r->eops;
    r->env = fresh;
    r->eops = o->to->info->ops;
    memset(&r->spec, 0, sizeof r->spec);
    r->eops->spec(fresh, &r->spec);
    publish(r, o);
    atomic_store_explicit(&r->env_plugin, o->to, memory_order_release);
    old_ops->destroy(old);
    /* The evaluation env is built again on first use, by the new code. */
    if (r->eval_env) {
        old_ops->destroy(r->eval_env);
        r->eval_env = NULL;
    }
}

/*
 * A run without instances (a quarantined build's, run.h) has nothing to save or load: it
 * takes the new generation's name and parameters as they are and stays failed, so that a
 * start rebuilds it on the new code from its last checkpoint (agents.h).
 */
static void
adopt(struct run *r, struct swap_order *o)
{
    if (o->kind != SWAP_MIGRATE)
        return;
    publish(r, o);
    if (o->which == TARS_KIND_AGENT)
        atomic_store_explicit(&r->agent_plugin, o->to, memory_order_release);
    else
        atomic_store_explicit(&r->env_plugin, o->to, memory_order_release);
}

void
migrate_take(struct run *r)
{
    struct swap_order *o = atomic_exchange_explicit(&r->swap, NULL, memory_order_acq_rel);
    if (!o)
        return;
    double t0 = host_now();
    int agent = o->which == TARS_KIND_AGENT;
    if (!r->agent) {
        adopt(r, o);
    } else if (o->kind == SWAP_SAVE)
        agent ? save_agent(r, o) : save_env(r, o);
    else if (agent)
        migrate_agent(r, o);
    else
        migrate_env(r, o);
    /* A failed run's state is suspect: it takes no checkpoints (see checkpoints.c). */
    if (o->kind == SWAP_MIGRATE && o->rc == 0 && atomic_load(&r->state) != RUN_FAILED)
        atomic_store(&r->checkpoint_request, 1);
    o->stall_s = host_now() - t0;
    atomic_store_explicit(&o->done, 1, memory_order_release);
}

void
migrate_post(struct run *r, struct swap_order *o)
{
    o->rc = 0;
    o->error[0] = '\0';
    o->blob = NULL;
    o->len = 0;
    o->stall_s = 0;
    atomic_init(&o->done, 0);
    atomic_store_explicit(&r->swap, o, memory_order_release);
}

/* Withdraws the orders not taken yet; returns how many are still to wait for. */
static size_t
withdraw(struct run **runs, struct swap_order **orders, size_t n, double waited)
{
    size_t left = 0;
    for (size_t i = 0; i < n; i++) {
        struct swap_order *o = orders[i];
        if (atomic_load_explicit(&o->done, memory_order_acquire))
            continue;
        struct swap_order *expect = o;
        if (atomic_compare_exchange_strong(&runs[i]->swap, &expect, NULL)) {
            o->rc = -ETIMEDOUT;
            snprintf(o->error, sizeof o->error,
                     "agent '%s' did not reach a step boundary within %.0f s", runs[i]->id, waited);
            atomic_store_explicit(&o->done, 1, memory_order_release);
        } else {
            left++;
        }
    }
    return left;
}

void
migrate_wait(struct run **runs, struct swap_order **orders, size_t n, double timeout_s,
             const atomic_int *stop)
{
    double start = host_now();
    int withdrawn = 0;
    long sleep_ns = 20 * 1000;
    for (;;) {
        size_t pending = 0;
        for (size_t i = 0; i < n; i++)
            pending += !atomic_load_explicit(&orders[i]->done, memory_order_acquire);
        if (!pending)
            return;
        int stopping = stop && atomic_load(stop);
        if (!withdrawn && (host_now() - start > timeout_s || stopping)) {
            withdraw(runs, orders, n, host_now() - start);
            withdrawn = 1;
            continue;
        }
        /* Runners visit their runs every 2 ms slice (idle ones every 10 ms): poll finely at
         * first, then back off. */
        struct timespec ts = {0, sleep_ns};
        nanosleep(&ts, NULL);
        if (sleep_ns < 1000 * 1000)
            sleep_ns += sleep_ns / 4;
    }
}

int
migrate_params(const tars_params *cur, const struct plugin *to, tars_params **out, char *err,
               size_t errlen)
{
    *out = NULL;
    json_t *values = pjson_values(cur);
    if (!values) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    int rc = pjson_snapshot(to->info, to->m.defaults, values, out, err, errlen);
    json_decref(values);
    return rc;
}

int
migrate_pair(const struct run_params *cur, uint32_t which, const struct plugin *to,
             struct run_params **out, char *err, size_t errlen)
{
    tars_params *moved = NULL, *kept = NULL;
    int agent = which == TARS_KIND_AGENT;
    *out = NULL;
    int rc = migrate_params(agent ? cur->agent : cur->env, to, &moved, err, errlen);
    if (rc)
        return rc;
    if (tars_params_clone(agent ? cur->env : cur->agent, &kept) ||
        !(*out = agent ? run_params_new(moved, kept, cur->version + 1)
                       : run_params_new(kept, moved, cur->version + 1))) {
        if (!kept)
            tars_params_free(moved);
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    return 0;
}
