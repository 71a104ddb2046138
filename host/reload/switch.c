/*
 * Step 4 of a code swap (reload.c has the others): the switch, and the order its locks and
 * migrations go in. code_lock is taken for writing, then runs.lock; cur's runs are claimed by
 * id, the new build is mapped and checked, every run's parameter snapshot is rebuilt for it,
 * and it is published in the registry. runs.lock is let go while the runners migrate (the
 * claims keep cur's runs in the set) and taken again to settle: when no instance could move,
 * the old generation goes back in its place. What no run uses any more is freed after an RCU
 * grace period. switch_movable, the 409 of an env that cannot save its state, is asked before
 * the smoke test too.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "host.h"
#include "log.h"
#include "migrate.h"
#include "params_json.h"
#include "persist.h"
#include "rcu.h"
#include "reload_internal.h"

/* "a, b" of the agents using p, or "" (with runs.lock). */
static void
users(struct host *h, const struct plugin *p, char *buf, size_t len)
{
    struct runset *set = runs_current(&h->runs);
    buf[0] = '\0';
    for (size_t i = 0; i < set->n; i++)
        if (retire_uses(set->v[i], p))
            tars__join(buf, len, ", ", set->v[i]->id);
}

/* An env whose instances are in use must save and load, or they cannot move (409). */
int
switch_movable(struct swap *x, const struct plugin *p)
{
    char names[512];
    if (p->info->kind != TARS_KIND_ENV || ((const tars_env_ops *)p->info->ops)->save)
        return 0;
    users(x->h, x->cur, names, sizeof names);
    if (!*names)
        return 0;
    return refuse(x, 409,
                  "env '%s' %s cannot save and load its state, so the agents using it (%s) "
                  "cannot move to another build; stop using it first",
                  p->info->name, p->info->version, names);
}

/* 4a. Maps the build in the daemon and checks it. */
static int
map_next(struct swap *x)
{
    char why[1024];
    pthread_rwlock_rdlock(&x->h->reg_lock);
    int rc = registry_map(&x->h->reg, x->next, x->cur, why, sizeof why);
    pthread_rwlock_unlock(&x->h->reg_lock);
    x->t_mapped = host_now();
    return rc ? refuse(x, 422, "%s", why) : 0;
}

/*
 * 4b'. Claims every run of cur by id (runs.lock held; waits, letting it go, while a stop or
 * a parameter change of one is in flight). With code_lock held for writing nobody creates,
 * resets or deletes an agent meanwhile, and a re-creation keeps its id and plugins: the set
 * of cur's ids stays what it was.
 */
static int
claim_users(struct swap *x)
{
    struct runset *set = runs_current(&x->h->runs);
    x->claimed = calloc(set->n + 1, sizeof *x->claimed); /* NULL-terminated */
    if (!x->claimed)
        return refuse(x, 500, "out of memory");
    size_t n = 0;
    for (size_t i = 0; i < set->n; i++)
        if (retire_uses(set->v[i], x->cur) && !(x->claimed[n++] = strdup(set->v[i]->id)))
            return refuse(x, 500, "out of memory");
    for (size_t i = 0; i < n; i++) {
        if (runs_claim(&x->h->runs, x->claimed[i]))
            return refuse(x, 500, "out of memory");
        x->n_claimed = i + 1;
    }
    return 0;
}

/* Lets go of the claims (runs.lock held). */
static void
release_users(struct swap *x)
{
    for (size_t i = 0; x->claimed && x->claimed[i]; i++) {
        if (i < x->n_claimed)
            runs_release(&x->h->runs, x->claimed[i]);
        free(x->claimed[i]);
    }
    free(x->claimed);
    x->claimed = NULL;
    x->n_claimed = 0;
}

/* 4b. An order for every run of cur, with its snapshot rebuilt for next (runs.lock held). */
static int
prepare_orders(struct swap *x)
{
    struct runset *set = runs_current(&x->h->runs);
    uint32_t kind = x->cur->info->kind;
    char why[768];
    x->runs = calloc(set->n ? set->n : 1, sizeof *x->runs);
    x->orders = calloc(set->n ? set->n : 1, sizeof *x->orders);
    x->optrs = calloc(set->n ? set->n : 1, sizeof *x->optrs);
    if (!x->runs || !x->orders || !x->optrs)
        return refuse(x, 500, "out of memory");
    for (size_t i = 0; i < set->n; i++) {
        struct run *r = set->v[i];
        if (!retire_uses(r, x->cur))
            continue;
        struct swap_order *o = &x->orders[x->n];
        const struct run_params *rp = atomic_load_explicit(&r->params, memory_order_acquire);
        *o = (struct swap_order){.kind = SWAP_MIGRATE, .which = kind, .to = x->next};
        x->runs[x->n] = r;
        x->optrs[x->n++] = o;
        if (migrate_pair(rp, kind, x->next, &o->params, why, sizeof why))
            return refuse(x, 422, "agent '%s': %s", r->id, why);
    }
    return 0;
}

/* 4c. The new generation takes cur's place in the registry. */
static int
publish(struct swap *x)
{
    pthread_rwlock_wrlock(&x->h->reg_lock);
    int rc = registry_supersede(&x->h->reg, x->cur, x->next);
    pthread_rwlock_unlock(&x->h->reg_lock);
    x->t_published = host_now();
    return rc ? refuse(x, 500, "out of memory") : 0;
}

/* The agent's record follows its plugins' versions and parameters (a restart rebuilds it). */
static void
record_run(struct host *h, struct run *r)
{
    const struct run_params *rp = atomic_load_explicit(&r->params, memory_order_acquire);
    json_t *fields =
        json_pack("{s:s, s:s, s:o, s:o}", "agent_version", r->agent_plugin->info->version,
                  "env_version", r->env_plugin->info->version, "params", pjson_values(rp->agent),
                  "env_params", pjson_values(rp->env));
    if (!fields || persist_update_record(h, r->id, fields))
        hlog(LOG_ERROR, r->id,
             "its record could not be rewritten: a restart rebuilds it with the old versions' "
             "parameters");
    json_decref(fields);
}

/* 4d. Every instance migrates on its runner; the outcome of each. */
static void
migrate_all(struct swap *x)
{
    for (size_t i = 0; i < x->n; i++)
        migrate_post(x->runs[i], x->optrs[i]);
    migrate_wait(x->runs, x->optrs, x->n, RELOAD_MIGRATE_TIMEOUT_S, &x->cs->stop);
    x->t_migrated = host_now();
    x->instances = json_array();
    for (size_t i = 0; i < x->n; i++) {
        struct swap_order *o = x->optrs[i];
        int moved = o->rc == 0;
        x->migrated += moved;
        if (o->stall_s > x->stall_max)
            x->stall_max = o->stall_s;
        json_array_append_new(x->instances,
                              json_pack("{s:s, s:s, s:f, s:s?}", "agent", x->runs[i]->id, "outcome",
                                        moved ? "migrated" : "kept", "stall_ms", o->stall_s * 1e3,
                                        "error", moved ? NULL : o->error));
        if (moved)
            record_run(x->h, x->runs[i]);
        else
            hlog(LOG_ERROR, x->runs[i]->id, "stays on %s %s: %s", x->cur->info->name,
                 x->cur->info->version, o->error);
        run_params_free(o->params); /* not taken: the migration failed */
        o->params = NULL;
    }
}

/* 4e. When no instance could move, the old generation goes back in its place. */
static void
settle(struct swap *x)
{
    if (x->n && !x->migrated) {
        pthread_rwlock_wrlock(&x->h->reg_lock);
        registry_rollback(&x->h->reg, x->next, x->cur);
        pthread_rwlock_unlock(&x->h->reg_lock);
        x->rolled_back = 1;
        refuse(x, 422, "no instance could move to the new build: %s", x->optrs[0]->error);
        return;
    }
    x->outcome = x->migrated == x->n ? "reloaded" : "partial";
    if (x->migrated < x->n)
        for (size_t i = 0; i < x->n; i++)
            if (x->optrs[i]->rc) {
                snprintf(x->err, sizeof x->err, "agent '%s' stays on %s: %s", x->runs[i]->id,
                         x->cur->info->version, x->optrs[i]->error);
                break;
            }
}

/*
 * 4. The switch, under code_lock (writing) and claims on cur's runs; runs.lock is held for
 * the look-ups and let go while the runners migrate. Then what it left is freed.
 */
void
switch_code(struct swap *x)
{
    struct host *h = x->h;
    struct plugin *gone[64];
    pthread_rwlock_wrlock(&h->code_lock);
    pthread_mutex_lock(&h->runs.lock);
    int go = !claim_users(x) && !map_next(x) && !switch_movable(x, x->next) && !prepare_orders(x) &&
             !publish(x);
    pthread_mutex_unlock(&h->runs.lock);
    if (go)
        migrate_all(x);
    pthread_mutex_lock(&h->runs.lock);
    if (go)
        settle(x);
    size_t n_gone = retire_unused(h, gone, sizeof gone / sizeof gone[0]);
    release_users(x);
    pthread_mutex_unlock(&h->runs.lock);
    pthread_rwlock_unlock(&h->code_lock);
    /* Readers that saw the old generations (inside rcu_enter) are gone after it; the runners
     * retired the old parameter pairs themselves (run_params_retire). */
    rcu_wait();
    x->freed = retire_free(gone, n_gone);
    x->t_freed = host_now();
}
