/*
 * Freeing superseded plugin generations (codeswap.h): a retired generation is freed once no run
 * in the set uses it — nothing else can: runs being built or destroyed (agents.c) hold
 * code_lock for reading, which this takes for writing — and an RCU grace period has passed
 * since its last use was replaced, so that no
 * reader still holds a pointer into it or its library. Thread: the code-swap thread.
 */
#include <stdio.h>
#include "codeswap_internal.h"
#include "host.h"
#include "log.h"
#include "rcu.h"

int
retire_uses(struct run *r, const struct plugin *p)
{
    return atomic_load(&r->agent_plugin) == p || atomic_load(&r->env_plugin) == p;
}

/* Takes the retired generations no run uses off the list (code_lock and runs.lock held). */
size_t
retire_unused(struct host *h, struct plugin **out, size_t cap)
{
    struct runset *set = runs_current(&h->runs);
    size_t n = 0;
    pthread_rwlock_wrlock(&h->reg_lock);
    for (size_t i = 0; i < h->reg.n_retired && n < cap;) {
        struct plugin *p = h->reg.retired[i];
        int used = atomic_load(&p->pins) > 0;
        for (size_t k = 0; k < set->n && !used; k++)
            used = retire_uses(set->v[k], p);
        if (used) {
            i++;
            continue;
        }
        registry_unretire(&h->reg, p);
        out[n++] = p;
    }
    pthread_rwlock_unlock(&h->reg_lock);
    return n;
}

/* Frees generations after the grace period that follows their last use. */
json_t *
retire_free(struct plugin **v, size_t n)
{
    json_t *freed = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_pack("{s:I, s:s, s:s}", "generation", (json_int_t)v[i]->generation,
                              "version", v[i]->info->version, "sha256", v[i]->lib.sha256);
        char what[160];
        snprintf(what, sizeof what, "%s %s (generation %llu)", v[i]->info->name,
                 v[i]->info->version, (unsigned long long)v[i]->generation);
        int resident = plugin_free(v[i]);
        if (resident)
            hlog(LOG_WARN, "reload",
                 "%s was closed but stays mapped (unique symbols or RTLD_NODELETE?)", what);
        else
            hlog(LOG_DEBUG, "reload", "%s unloaded", what);
        json_object_set_new(o, "resident", json_boolean(resident));
        json_array_append_new(freed, o);
    }
    return freed;
}

json_t *
reload_reap(struct codeswap *cs)
{
    struct host *h = cs->h;
    struct plugin *gone[64];
    pthread_rwlock_wrlock(&h->code_lock);
    pthread_mutex_lock(&h->runs.lock);
    size_t n = retire_unused(h, gone, sizeof gone / sizeof gone[0]);
    pthread_mutex_unlock(&h->runs.lock);
    pthread_rwlock_unlock(&h->code_lock);
    if (!n)
        return json_array();
    rcu_wait();
    return retire_free(gone, n);
}
