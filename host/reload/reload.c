/*
 * The code-swap protocol (codeswap.h, docs/hot-reload.md), one job at a time on the code-swap
 * thread. The running generation cannot go away under it: only this thread frees generations.
 *
 *   1. find     the plugin's running generation (cur)
 *   2. stage    its manifest read again, its library hashed and copied (no code runs); the same
 *               sha256 and manifest: nothing to do; the same sha256, a new manifest: the
 *               manifest alone is swapped
 *   3. smoke    a state blob of a running instance (saved by its runner), then the new build
 *               in a child process (smoke.h)
 *   4. switch   with code_lock (writing) and a claim (runset.h) on each run of cur: map and
 *               check the build, rebuild each instance's parameter snapshot for the new
 *               schema, publish the new generation in the registry, and have every instance
 *               migrate on its runner (migrate.h), runs.lock let go meanwhile; when none
 *               could, put the old generation back (switch.c)
 *   5. free     retired generations no run uses, after a grace period (retire.c)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "host.h"
#include "log.h"
#include "migrate.h"
#include "params_json.h"
#include "reload_internal.h"
#include "smoke.h"

/* 1. The running generation. Returns 0, or -1 with status 404 (or 1 for a refused one). */
static int
find_current(struct swap *x)
{
    struct host *h = x->h;
    int refused = 0;
    pthread_rwlock_rdlock(&h->reg_lock);
    x->cur = registry_get(&h->reg, x->job->name, 0);
    for (size_t i = 0; !x->cur && i < h->reg.n; i++)
        refused |= h->reg.v[i]->m.name && strcmp(h->reg.v[i]->m.name, x->job->name) == 0;
    pthread_rwlock_unlock(&h->reg_lock);
    if (x->cur) {
        snprintf(x->cur_version, sizeof x->cur_version, "%s", x->cur->info->version);
        snprintf(x->cur_sha, sizeof x->cur_sha, "%s", x->cur->lib.sha256);
        x->cur_gen = x->cur->generation;
        return 0;
    }
    if (refused)
        return 1;
    return refuse(x, 404, "no plugin '%s'", x->job->name);
}

/* 2. Stages the new build. Returns 0 to go on, 1 when done (unchanged, manifest), -1 refused. */
static int
stage(struct swap *x)
{
    struct host *h = x->h;
    char why[1024];
    pthread_rwlock_rdlock(&h->reg_lock); /* the loader is the registry's: not during a rescan */
    int rc = registry_stage(&h->reg, x->cur, &x->next, why, sizeof why);
    pthread_rwlock_unlock(&h->reg_lock);
    x->t_staged = host_now();
    if (x->next)
        snprintf(x->cand_sha, sizeof x->cand_sha, "%s", x->next->lib.sha256);
    if (rc)
        return refuse(x, 422, "%s", why);
    if (strcmp(x->next->lib.sha256, x->cur->lib.sha256) != 0)
        return 0;
    if (json_equal(x->next->m.doc.root, x->cur->m.doc.root)) {
        x->outcome = "unchanged";
        return 1;
    }
    if (registry_check_manifest(x->next, x->cur, why, sizeof why))
        return refuse(x, 422, "%s", why);
    pthread_rwlock_wrlock(&h->reg_lock);
    registry_swap_manifest(x->cur, x->next);
    pthread_rwlock_unlock(&h->reg_lock);
    x->outcome = "manifest";
    return 1;
}

/* 3a. A running instance (with runs.lock): the one to copy a state and settings from. */
static struct run *
pick_instance(struct swap *x)
{
    struct runset *set = runs_current(&x->h->runs);
    struct run *best = NULL;
    for (size_t i = 0; i < set->n; i++) {
        struct run *r = set->v[i];
        int state = atomic_load(&r->state);
        if (!retire_uses(r, x->cur) || state == RUN_FAILED || state == RUN_READY)
            continue;
        if (!best || state == RUN_RUNNING)
            best = r;
        if (state == RUN_RUNNING)
            break;
    }
    return best;
}

/* An env generation as the smoke job names it. */
static json_t *
env_entry(const struct plugin *env, const tars_params *params)
{
    return json_pack("{s:s, s:s, s:s, s:o}", "name", env->info->name, "library", env->lib.copy,
                     "sha256", env->lib.sha256, "params",
                     params ? pjson_values(params) : json_object());
}

/* Every loaded env, for an agent no instance of which runs (reg_lock held). */
static void
all_envs(struct host *h, json_t *envs)
{
    for (size_t i = 0; i < h->reg.n; i++) {
        const struct plugin *p = h->reg.v[i];
        if (p->info && p->info->kind == TARS_KIND_ENV && p->lib.copy)
            json_array_append_new(envs, env_entry(p, NULL));
    }
}

/* Writes the saved state for the child; "" in x->blob when there is none. */
static void
keep_blob(struct swap *x, const struct swap_order *o)
{
    x->blob[0] = '\0';
    if (o->rc || !o->len)
        return;
    snprintf(x->blob, sizeof x->blob, "%s/smoke-state-%llu.bin", x->h->reg.loader.cache_dir,
             (unsigned long long)x->cs->seq + 1);
    FILE *f = fopen(x->blob, "wb");
    int ok = f && fwrite(o->blob, 1, o->len, f) == o->len;
    if (f)
        ok = fclose(f) == 0 && ok;
    if (!ok) {
        hlog(LOG_WARN, "reload", "cannot write %s; the smoke test goes without the old state",
             x->blob);
        unlink(x->blob);
        x->blob[0] = '\0';
    }
}

/* The running instance's settings and state into the smoke job (r claimed: nobody else
 * publishes its parameters or takes it out of the set). */
static void
from_instance(struct swap *x, struct run *r, json_t *job)
{
    struct swap_order o = {.kind = SWAP_SAVE, .which = x->cur->info->kind};
    struct swap_order *op = &o;
    int agent = o.which == TARS_KIND_AGENT;
    /* Pairs are published by claim holders alone, and this thread holds r's: it stays. */
    const struct run_params *rp = atomic_load_explicit(&r->params, memory_order_acquire);
    const tars_params *ap = rp->agent, *ep = rp->env;
    json_object_set_new(job, "params", pjson_values(agent ? ap : ep));
    json_object_set_new(job, "n_envs", json_integer(r->n_envs));
    json_object_set_new(job, "seed", json_integer((json_int_t)r->seed));
    if (agent)
        json_array_append_new(json_object_get(job, "envs"), env_entry(r->env_plugin, ep));
    migrate_post(r, &o);
    migrate_wait(&r, &op, 1, RELOAD_MIGRATE_TIMEOUT_S, &x->cs->stop);
    if (o.rc)
        hlog(LOG_WARN, "reload", "plugin '%s': no state from agent '%s' for the smoke test: %s",
             x->cur->info->name, r->id, o.error);
    keep_blob(x, &o);
    free(o.blob);
    if (*x->blob)
        json_object_set_new(job, "state", json_string(x->blob));
}

/* 3. The smoke test of the staged build. */
static int
smoke(struct swap *x)
{
    struct host *h = x->h;
    const struct plugin *n = x->next;
    json_t *job = json_pack(
        "{s:s, s:s, s:s, s:s, s:o, s:i, s:[]}", "kind", tars_kind_name(x->cur->info->kind), "name",
        x->cur->info->name, "library", n->lib.copy, "sha256", n->lib.sha256, "defaults",
        n->m.defaults ? json_incref(n->m.defaults) : json_object(), "steps", SMOKE_STEPS, "envs");
    if (!job)
        return refuse(x, 500, "out of memory");
    /* The instance is claimed, not locked, while its runner saves it (a training update
     * may be in the way): API calls on other agents go on meanwhile. */
    char id[256] = "";
    pthread_mutex_lock(&h->runs.lock);
    struct run *r = pick_instance(x);
    if (r && snprintf(id, sizeof id, "%s", r->id) < (int)sizeof id && !runs_claim(&h->runs, id)) {
        r = runset_find(runs_current(&h->runs), id); /* the claim may have waited */
        if (r && !retire_uses(r, x->cur))
            r = NULL;
    } else {
        r = NULL;
        id[0] = '\0';
    }
    pthread_mutex_unlock(&h->runs.lock);
    if (r)
        from_instance(x, r, job);
    if (id[0]) {
        pthread_mutex_lock(&h->runs.lock);
        runs_release(&h->runs, id);
        pthread_mutex_unlock(&h->runs.lock);
    }
    if (!r && x->cur->info->kind == TARS_KIND_AGENT) {
        pthread_rwlock_rdlock(&h->reg_lock);
        all_envs(h, json_object_get(job, "envs"));
        pthread_rwlock_unlock(&h->reg_lock);
    }
    char why[900];
    x->t_saved = host_now();
    int rc = smoke_run(h->reg.loader.cache_dir, job, h->cfg.smoke_timeout_s, &x->cs->stop, why,
                       sizeof why);
    json_decref(job);
    if (*x->blob)
        unlink(x->blob);
    x->t_smoked = host_now();
    return rc ? refuse(x, 422, "%s", why) : 0;
}

/* A refused plugin named by a reload, or a new manifest the watch saw: a rescan loads it. */
static int
rescan_job(struct codeswap *cs, const struct cs_job *job, json_t **result)
{
    struct host *h = cs->h;
    char why[1024] = "";
    codeswap_rescan(h, job->trigger);
    if (!job->name[0]) {
        *result = NULL;
        return 0;
    }
    pthread_rwlock_rdlock(&h->reg_lock);
    const struct plugin *p = registry_get(&h->reg, job->name, 0);
    for (size_t i = 0; !p && i < h->reg.n; i++)
        if (h->reg.v[i]->m.name && strcmp(h->reg.v[i]->m.name, job->name) == 0)
            snprintf(why, sizeof why, "%s", h->reg.v[i]->error ? h->reg.v[i]->error : "refused");
    json_t *o =
        p ? json_pack("{s:s, s:s, s:s, s:I, s:s, s:s}", "plugin", job->name, "outcome", "loaded",
                      "message", "loaded by a rescan", "generation", (json_int_t)p->generation,
                      "version", p->info->version, "sha256", p->lib.sha256)
          : json_pack("{s:s, s:s, s:s, s:s}", "plugin", job->name, "outcome", "refused", "message",
                      "a rescan did not load it", "error", why);
    pthread_rwlock_unlock(&h->reg_lock);
    *result = o;
    return p ? 200 : 422;
}

static double
ms(double from, double to)
{
    return from > 0 && to >= from ? (to - from) * 1e3 : 0;
}

/* Where the time went, in milliseconds; total is request -> every instance migrated. */
static json_t *
timings(const struct swap *x)
{
    double end = x->t_migrated > 0 ? x->t_migrated : host_now();
    return json_pack("{s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f}", "queued",
                     ms(x->job->requested, x->t_start), "stage", ms(x->t_start, x->t_staged),
                     "smoke", ms(x->t_staged, x->t_smoked), "smoke_state",
                     ms(x->t_staged, x->t_saved), "load", ms(x->t_smoked, x->t_mapped), "migrate",
                     ms(x->t_published, x->t_migrated), "free", ms(x->t_migrated, x->t_freed),
                     "total", ms(x->job->requested, end));
}

/* The outcome in one sentence, for the reply, the log and the audit log. */
static void
message(const struct swap *x, char *buf, size_t len)
{
    const char *name = x->job->name, *o = x->outcome;
    char sha[9];
    memcpy(sha, x->cand_sha, 8);
    sha[8] = '\0';
    if (strcmp(o, "unchanged") == 0)
        snprintf(buf, len,
                 "plugin '%s': the library has the sha256 of generation %llu (%s): "
                 "nothing to do",
                 name, (unsigned long long)x->cur_gen, x->cur_version);
    else if (strcmp(o, "manifest") == 0)
        snprintf(buf, len,
                 "plugin '%s': the manifest changed, the library did not: generation "
                 "%llu (%s) goes on with the new manifest",
                 name, (unsigned long long)x->cur_gen, x->cur_version);
    else if (strcmp(o, "refused") == 0 && x->status == 404)
        snprintf(buf, len, "%s", x->err);
    else if (strcmp(o, "refused") == 0)
        snprintf(buf, len, "plugin '%s': the new build%s%s%s was refused: %s; %s keeps running",
                 name, *sha ? " (sha256 " : "", sha, *sha ? ")" : "", x->err,
                 *x->cur_version ? x->cur_version : "the old version");
    else
        snprintf(buf, len,
                 "plugin '%s': generation %llu (%s, sha256 %s) replaced %llu (%s); "
                 "%zu of %zu instances migrated in %.1f ms (longest runner stall %.2f ms)%s%s",
                 name, (unsigned long long)x->next->generation, x->next->info->version, sha,
                 (unsigned long long)x->cur_gen, x->cur_version, x->migrated, x->n,
                 ms(x->job->requested, x->t_migrated), x->stall_max * 1e3, *x->err ? "; " : "",
                 x->err);
}

static json_t *
result_json(const struct swap *x)
{
    char msg[2048];
    message(x, msg, sizeof msg);
    int swapped = !strcmp(x->outcome, "reloaded") || !strcmp(x->outcome, "partial");
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s?, s:s?}", "plugin", x->job->name, "outcome",
                          x->outcome, "trigger", x->job->trigger, "message", msg, "error",
                          *x->err ? x->err : NULL, "file", *x->job->file ? x->job->file : NULL);
    if (!o || !x->cur_gen)
        return o;
    json_object_set_new(o, "generation",
                        json_integer((json_int_t)(swapped ? x->next->generation : x->cur_gen)));
    json_object_set_new(o, "version",
                        json_string(swapped ? x->next->info->version : x->cur_version));
    json_object_set_new(o, "sha256", json_string(swapped ? x->next->lib.sha256 : x->cur_sha));
    if (*x->cand_sha)
        json_object_set_new(o, "candidate_sha256", json_string(x->cand_sha));
    if (swapped)
        json_object_set_new(o, "previous",
                            json_pack("{s:I, s:s, s:s}", "generation", (json_int_t)x->cur_gen,
                                      "version", x->cur_version, "sha256", x->cur_sha));
    if (x->instances)
        json_object_set(o, "instances", x->instances);
    json_object_set_new(o, "migrated", json_integer((json_int_t)x->migrated));
    json_object_set_new(o, "kept",
                        json_integer((json_int_t)(x->instances ? x->n - x->migrated : 0)));
    json_object_set_new(o, "stall_max_ms", json_real(x->stall_max * 1e3));
    json_object_set_new(
        o, "took_ms",
        json_real(ms(x->job->requested, x->t_migrated > 0 ? x->t_migrated : host_now())));
    json_object_set_new(o, "timings_ms", timings(x));
    json_object_set_new(o, "freed", x->freed ? json_incref(x->freed) : json_array());
    return o;
}

static void
cleanup(struct swap *x)
{
    int published = !strcmp(x->outcome, "reloaded") || !strcmp(x->outcome, "partial");
    if (x->next && !published)
        plugin_free(x->next);         /* never published, or rolled back before the grace period */
    for (size_t i = 0; i < x->n; i++) /* pairs built for orders never posted (a refusal) */
        run_params_free(x->optrs[i]->params);
    free(x->runs);
    free(x->orders);
    free(x->optrs);
    json_decref(x->instances);
    json_decref(x->freed);
}

int
reload_run(struct codeswap *cs, struct cs_job *job, json_t **result)
{
    struct swap x = {.cs = cs,
                     .h = cs->h,
                     .job = job,
                     .status = 200,
                     .outcome = "refused",
                     .t_start = host_now()};
    int rc = job->rescan ? 1 : find_current(&x); /* a rescan (SIGHUP) names no plugin */
    if (rc == 1)
        return rescan_job(cs, job, result);
    if (!rc)
        rc = stage(&x);
    const json_t *cand_manifest = x.next ? x.next->m.doc.root : NULL;
    int quiet =
        strcmp(job->trigger, "api") != 0 &&
        (!strcmp(x.outcome, "unchanged") ||
         (rc < 0 && x.next && cs_refused_before(cs, job->name, x.cand_sha, cand_manifest)) ||
         (!rc && cs_refused_before(cs, job->name, x.cand_sha, cand_manifest)));
    if (!rc && !quiet && !switch_movable(&x, x.cur) && !smoke(&x))
        switch_code(&x);
    if (x.status != 404 && (!quiet || !strcmp(x.outcome, "unchanged")))
        cs_note_outcome(cs, job->name, x.outcome, x.cand_sha, cand_manifest, x.err);
    *result = quiet ? NULL : result_json(&x);
    int status = quiet ? 0 : x.status;
    cleanup(&x);
    return status;
}
