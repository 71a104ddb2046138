#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "host.h"
#include "log.h"
#include "params_json.h"

int
host_check_sdk(char *err, size_t errlen)
{
    /* tarsd reads some libtars-sdk structs directly: it must run on the SDK it was built with. */
    if (strcmp(tars_sdk_version(), TARS_VERSION_STRING) == 0)
        return 0;
    snprintf(err, errlen,
             "libtars-sdk %s is loaded but this program was built with %s; reinstall tars",
             tars_sdk_version(), TARS_VERSION_STRING);
    return -1;
}

static int
replace_dirs(struct strv *dst, const struct strv *src)
{
    if (!src->n)
        return 0;
    strv_free(dst);
    for (size_t i = 0; i < src->n; i++)
        if (strv_push(dst, src->v[i]))
            return -1;
    return 0;
}

static int
replace_str(char **dst, const char *src)
{
    if (!src)
        return 0;
    free(*dst);
    *dst = strdup(src);
    return *dst ? 0 : -1;
}

int
host_configure(struct host *h, const struct config_flags *o, struct diag *d)
{
    memset(h, 0, sizeof *h);
    h->lock_fd = -1;
    h->started = host_now();
    pthread_mutex_init(&h->proposals_lock, NULL);
    pthread_mutex_init(&h->audit_lock, NULL);
    if (pthread_rwlock_init(&h->reg_lock, NULL) == 0)
        h->reg_lock_ready = 1;
    /* Writer-preferring: a stream of agent creations must not hold a code swap off. */
    pthread_rwlockattr_t attr;
    pthread_rwlockattr_init(&attr);
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    if (pthread_rwlock_init(&h->code_lock, &attr) == 0)
        h->code_lock_ready = 1;
    pthread_rwlockattr_destroy(&attr);
    if (config_load(&h->cfg, o->config ? o->config : paths_config_file(), d))
        return -1;
    struct config *c = &h->cfg;
    if (!h->reg_lock_ready || !h->code_lock_ready || runs_init(&h->runs, c->runners)) {
        diag_add(d, "out of memory");
        return -1;
    }
    h->runs_ready = 1;
    if (replace_dirs(&c->manifest_dirs, &o->manifests) ||
        replace_dirs(&c->plugin_dirs, &o->plugins) || replace_str(&c->listen, o->listen) ||
        replace_str(&c->state_dir, o->state) || replace_str(&c->log_format, o->log_format) ||
        paths_defaults(c)) {
        diag_add(d, "out of memory, or cannot find tarsd's own location");
        return -1;
    }
    log_setup(c->log_format, c->log_level);
    tars__set_log_sink(log_plugin_line);
    return 0;
}

int
host_setup(struct host *h, const struct config_flags *o, int plugins_fatal, struct diag *d)
{
    void (*on_configured)(struct host *) = h->on_configured;
    long pid = h->pid;
    if (host_configure(h, o, d))
        return -1;
    h->on_configured = on_configured; /* the caller's, kept */
    h->pid = pid;
    struct config *c = &h->cfg;
    if (registry_init(&h->reg, &c->manifest_dirs, &c->plugin_dirs, c->require_pins)) {
        diag_add(d, "out of memory");
        return -1;
    }
    h->reg.state_dir = c->state_dir; /* builds that crashed tarsd stay quarantined */
    if (h->on_configured)
        h->on_configured(h);
    if (registry_check_dirs(&h->reg, d))
        return -1;
    if (plugins_fatal)
        return registry_scan(&h->reg, d) ? -1 : 0;
    /* The daemon and train go on without a refused plugin; using it names the refusal. */
    struct diag scan = {0};
    registry_scan(&h->reg, &scan);
    for (size_t i = 0; i < scan.n; i++)
        hlog(LOG_WARN, "registry", "%s", scan.lines[i]);
    diag_free(&scan);
    return 0;
}

void
host_teardown(struct host *h)
{
    if (h->runs_ready)
        runs_free(&h->runs);
    run_params_drain(); /* parameters retired by swaps */
    if (h->reg_lock_ready)
        pthread_rwlock_destroy(&h->reg_lock);
    if (h->code_lock_ready)
        pthread_rwlock_destroy(&h->code_lock);
    registry_free(&h->reg);
    free(h->plugin_cache);
    config_free(&h->cfg);
    strv_free(&h->waiting);
    pthread_mutex_destroy(&h->proposals_lock);
    pthread_mutex_destroy(&h->audit_lock);
    memset(h, 0, sizeof *h);
}

int
host_resolve_agent(struct host *h, const struct jdoc *doc, const struct agent_conf *a,
                   struct run_spec *s, struct diag *d)
{
    char err[768];
    char *at = NULL;
    int errors = 0;
    memset(s, 0, sizeof *s);
    s->id = a->id;
    /* An explicit n_envs wins over the preset's, which wins over the default of 8. */
    uint32_t preset_envs = 8;
    s->seed = a->seed;
    if (registry_lookup(&h->reg, a->agent, TARS_KIND_AGENT, &s->agent, err, sizeof err)) {
        at = jptr_key(a->ptr, "agent");
        jdoc_error(doc, d, at ? at : a->ptr, 0, "%s", err);
        free(at);
        errors++;
    }
    if (registry_lookup(&h->reg, a->env, TARS_KIND_ENV, &s->env, err, sizeof err)) {
        at = jptr_key(a->ptr, "env");
        jdoc_error(doc, d, at ? at : a->ptr, 0, "%s", err);
        free(at);
        errors++;
    }
    if (s->agent) {
        if (plugin_params(s->agent, a->preset, &s->agent_params, &preset_envs, err, sizeof err)) {
            at = jptr_key(a->ptr, "preset");
            jdoc_error(doc, d, at ? at : a->ptr, 0, "%s", err);
            free(at);
            errors++;
        } else if (a->params) {
            at = jptr_key(a->ptr, "params");
            errors += pjson_apply(s->agent_params, a->params, PJ_PARAMS, doc, at ? at : a->ptr, d);
            free(at);
        }
    }
    s->n_envs = a->n_envs ? a->n_envs : preset_envs;
    if (s->env && plugin_params(s->env, NULL, &s->env_params, NULL, err, sizeof err) == 0 &&
        a->env_params) {
        at = jptr_key(a->ptr, "env_params");
        errors += pjson_apply(s->env_params, a->env_params, PJ_PARAMS, doc, at ? at : a->ptr, d);
        free(at);
    }
    return errors;
}

int
host_check_agents(struct host *h, struct diag *d)
{
    int errors = 0;
    for (size_t i = 0; i < h->cfg.n_agents; i++) {
        struct run_spec s;
        errors += host_resolve_agent(h, &h->cfg.doc, &h->cfg.agents[i], &s, d);
        tars_params_free(s.agent_params);
        tars_params_free(s.env_params);
    }
    return errors;
}
