/*
 * Plugins: the registry's entries (loaded and refused), one with its parameter schema, its
 * generations and its last reload, the reload itself (codeswap.h), and the release of a
 * quarantined build (registry/quarantine.h). Entries are read under
 * the registry's read lock; the runs using them under RCU.
 */
#include <errno.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include "api.h"
#include "codeswap.h"
#include "host.h"
#include "log.h"
#include "params_json.h"
#include "quarantine.h"
#include "rcu.h"

/*
 * One entry. status is "loaded" or "refused" (with error); a loaded plugin whose newest build
 * was refused while this one runs on has refused_build {sha256, error, time} from refused (the
 * code swap's list, codeswap_refused_builds), so a drop-in that did not take shows, with why.
 */
static json_t *
plugin_json(const struct plugin *p, const json_t *refused)
{
    const tars_plugin_info *info = p->info;
    const char *name = info ? info->name : p->m.name;
    char abi[16] = "";
    if (info)
        snprintf(abi, sizeof abi, "%u.%u", info->abi_major, info->abi_minor);
    json_t *o = json_pack("{s:s?, s:s, s:s?, s:s?, s:s, s:s?, s:s?, s:s, s:s?, s:s?}", "name", name,
                          "kind", info ? tars_kind_name(info->kind) : "unknown", "version",
                          info ? info->version : p->m.version, "description",
                          info ? info->description : p->m.description, "abi", abi, "manifest",
                          p->manifest_path, "library", p->lib_path, "status",
                          !info            ? "refused"
                          : p->quarantined ? "quarantined"
                                           : "loaded",
                          "error", p->error ? p->error : p->quarantined, "warning", p->warning);
    if (o && info && p->lib.sha256[0])
        json_object_set_new(o, "sha256", json_string(p->lib.sha256));
    if (o && info) {
        json_object_set_new(o, "generation", json_integer((json_int_t)p->generation));
        json_object_set_new(o, "loaded_at", json_real(p->loaded_at));
        json_t *build = json_object_get(refused, info->name);
        if (build)
            json_object_set_new(o, "refused_build", json_deep_copy(build));
    }
    return o;
}

int
api_plugins_list(struct api_req *q)
{
    struct host *h = q->h;
    json_t *list = json_array();
    json_t *refused = codeswap_refused_builds(h); /* before reg_lock: never both locks */
    pthread_rwlock_rdlock(&h->reg_lock);
    for (size_t i = 0; list && i < h->reg.n; i++)
        json_array_append_new(list, plugin_json(h->reg.v[i], refused));
    pthread_rwlock_unlock(&h->reg_lock);
    json_decref(refused);
    return api_reply(q, 200, json_pack("{s:o}", "plugins", list ? list : json_array()));
}

/* The ids of the agents that use plugin p. */
static json_t *
users(struct host *h, const struct plugin *p)
{
    json_t *ids = json_array();
    rcu_enter();
    struct runset *set = runs_current(&h->runs);
    for (size_t i = 0; i < set->n; i++)
        if (set->v[i]->agent_plugin == p || set->v[i]->env_plugin == p)
            json_array_append_new(ids, json_string(set->v[i]->id));
    rcu_leave();
    return ids;
}

/* Superseded generations of plugin `name` that agents still run (reg_lock held). */
static json_t *
retired(struct host *h, const char *name)
{
    json_t *list = json_array();
    for (size_t i = 0; i < h->reg.n_retired; i++) {
        const struct plugin *p = h->reg.retired[i];
        if (strcmp(p->info->name, name) == 0)
            json_array_append_new(list,
                                  json_pack("{s:I, s:s, s:s, s:o}", "generation",
                                            (json_int_t)p->generation, "version", p->info->version,
                                            "sha256", p->lib.sha256, "agents", users(h, p)));
    }
    return list;
}

int
api_plugin_get(struct api_req *q)
{
    struct host *h = q->h;
    json_t *o = NULL;
    json_t *refused = codeswap_refused_builds(h);
    pthread_rwlock_rdlock(&h->reg_lock);
    for (size_t i = 0; !o && i < h->reg.n; i++) {
        const struct plugin *p = h->reg.v[i];
        const char *name = p->info ? p->info->name : p->m.name;
        if (!name || strcmp(name, q->params[0]) != 0)
            continue;
        o = plugin_json(p, refused);
        if (o && p->info) {
            json_object_set_new(o, "schema", pjson_schema(p->info->params, p->info->n_params));
            json_object_set_new(o, "defaults",
                                p->m.defaults ? json_deep_copy(p->m.defaults) : json_object());
            json_object_set_new(o, "agents", users(h, p));
            json_object_set_new(o, "retired", retired(h, p->info->name));
        }
    }
    pthread_rwlock_unlock(&h->reg_lock);
    json_decref(refused);
    if (!o)
        return api_error(q, 404, "not_found", "no plugin '%s'", q->params[0]);
    json_t *last = codeswap_last(h, q->params[0]);
    json_object_set_new(o, "last_reload", last ? last : json_null());
    return api_reply(q, 200, o);
}

int
api_plugin_reload(struct api_req *q)
{
    json_t *res = NULL;
    int rc = codeswap_reload(q->h, q->params[0], q->who.name, &res);
    const char *msg = json_string_value(json_object_get(res, "message"));
    const char *why = json_string_value(json_object_get(res, "error"));
    if (rc == 0) {
        snprintf(q->audit, sizeof q->audit, "%s", msg ? msg : "reloaded");
        return api_reply(q, 200, res);
    }
    /* The HTTP status of each outcome is chosen here, and only here. */
    int status = rc == -ENOENT      ? 404
                 : rc == -EBUSY     ? 409
                 : rc == -EINVAL    ? 422
                 : rc == -ESHUTDOWN ? 503
                                    : 500;
    const char *code = status == 404   ? "not_found"
                       : status == 409 ? "conflict"
                       : status == 422 ? "refused"
                       : status == 503 ? "unavailable"
                                       : "internal";
    api_error(q, status, code, "%s", msg ? msg : why ? why : "the reload failed");
    if (q->reply && res)
        json_object_set_new(q->reply, "reload", res);
    else
        json_decref(res);
    return status;
}

/*
 * An admin lifts the quarantine of a plugin's current build: its record leaves the state dir
 * and its failed agents may be started again (on that same build).
 */
int
api_plugin_release(struct api_req *q)
{
    struct host *h = q->h;
    char sha[65] = "", why[640] = "";
    int found = 0;
    pthread_rwlock_wrlock(&h->reg_lock); /* p->quarantined changes: readers hold it for reading */
    for (size_t i = 0; i < h->reg.n; i++) {
        struct plugin *p = h->reg.v[i];
        if (!p->info || strcmp(p->info->name, q->params[0]) != 0)
            continue;
        found = 1;
        if (p->quarantined) {
            snprintf(sha, sizeof sha, "%s", p->lib.sha256);
            snprintf(why, sizeof why, "%s", p->quarantined);
            free(p->quarantined);
            p->quarantined = NULL;
        }
    }
    pthread_rwlock_unlock(&h->reg_lock);
    if (!found)
        return api_error(q, 404, "not_found", "no loaded plugin '%s'", q->params[0]);
    if (!sha[0])
        return api_error(q, 409, "conflict", "plugin '%s' is not quarantined", q->params[0]);
    int rc = quarantine_lift(h->cfg.state_dir, sha);
    if (rc && rc != -ENOENT)
        return api_error(q, 500, "internal",
                         "plugin '%s' is released in this tarsd, but its record in %s/quarantine "
                         "could not be removed: %s",
                         q->params[0], h->cfg.state_dir, strerror(-rc));
    snprintf(q->audit, sizeof q->audit, "released %.12s… (%.200s)", sha, why);
    hlog(LOG_WARN, "registry", "plugin '%s' released from quarantine by '%s' (was: %s)",
         q->params[0], q->who.name, why);
    return api_reply(
        q, 200,
        json_pack("{s:s, s:s, s:s}", "plugin", q->params[0], "sha256", sha, "released", why));
}

int
api_plugins_rescan(struct api_req *q)
{
    char why[128];
    snprintf(why, sizeof why, "POST /api/v1/plugins/rescan by '%s'", q->who.name);
    json_t *res = codeswap_rescan_report(q->h, why);
    if (!res)
        return api_error(q, 500, "internal",
                         "the manifests were rescanned but the report could not be built (out "
                         "of memory): see the log");
    size_t added = json_array_size(json_object_get(res, "added"));
    int refused = (int)json_integer_value(json_object_get(res, "refused"));
    snprintf(q->audit, sizeof q->audit, "rescanned manifests: %zu new, %d refused", added, refused);
    return api_reply(q, 200, res);
}
