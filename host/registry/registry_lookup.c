/*
 * What callers ask of the registry: how many plugins are loaded, a loaded plugin by name and
 * kind (registry_get), the list of loaded names for a refusal, the one-sentence refusal of a
 * name that is unknown, refused, of another kind or quarantined (registry_lookup), and a
 * plugin's parameter snapshot with its manifest's defaults and presets (plugin_params). These
 * only read the entries; registry.c makes them (scans, staging, generations).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "host_side.h"
#include "params_json.h"
#include "registry.h"

size_t
registry_loaded(const struct registry *r)
{
    size_t n = 0;
    for (size_t i = 0; i < r->n; i++)
        n += r->v[i]->info != NULL;
    return n;
}

struct plugin *
registry_get(const struct registry *r, const char *name, uint32_t kind)
{
    for (size_t i = 0; i < r->n; i++) {
        struct plugin *p = r->v[i];
        if (p->info && strcmp(p->info->name, name) == 0 && (!kind || p->info->kind == kind))
            return p;
    }
    return NULL;
}

void
registry_names(const struct registry *r, uint32_t kind, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < r->n && used < len; i++) {
        const struct plugin *p = r->v[i];
        if (p->info && (!kind || p->info->kind == kind))
            used +=
                (size_t)snprintf(buf + used, len - used, "%s%s", used ? ", " : "", p->info->name);
    }
    if (!used)
        snprintf(buf, len, "none loaded");
}

int
plugin_params(const struct plugin *p, const char *preset, tars_params **out, uint32_t *n_envs,
              char *err, size_t errlen)
{
    const tars_plugin_info *info = p->info;
    struct diag d = {0};
    *out = NULL;
    tars_params *params;
    if (tars_params_new(info->params, info->n_params, &params)) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    json_t *defaults = p->m.defaults;
    /* The manifest's defaults were validated at load, so only a missing preset can fail. */
    pjson_apply(params, defaults, PJ_DEFAULTS, NULL, "", &d);
    if (preset) {
        json_t *set = json_object_get(defaults, preset);
        if (!json_is_object(set)) {
            char names[256] = "";
            const char *key;
            json_t *v;
            json_object_foreach(defaults, key, v)
            {
                if (json_is_object(v))
                    tars__join(names, sizeof names, ", ", key);
            }
            snprintf(err, errlen, "unknown preset '%s' for %s '%s' (%s%s)", preset,
                     tars_kind_name(info->kind), info->name, *names ? "presets: " : "it has none",
                     names);
            tars_params_free(params);
            diag_free(&d);
            return -ENOENT;
        }
        pjson_apply(params, set, PJ_PRESET, NULL, "", &d);
        if (n_envs && json_is_integer(json_object_get(set, PJ_N_ENVS)))
            *n_envs = (uint32_t)json_integer_value(json_object_get(set, PJ_N_ENVS));
    }
    diag_free(&d);
    *out = params;
    return 0;
}

int
registry_lookup(const struct registry *r, const char *name, uint32_t kind, struct plugin **out,
                char *err, size_t errlen)
{
    *out = registry_get(r, name, kind);
    const char *kn = tars_kind_name(kind);
    if (*out && (*out)->quarantined) {
        snprintf(err, errlen,
                 "%s '%s' is quarantined: %s; a new build or POST /api/v1/plugins/%s/release "
                 "lifts it",
                 kn, name, (*out)->quarantined, name);
        *out = NULL;
        return -EPERM;
    }
    if (*out)
        return 0;
    for (size_t i = 0; i < r->n; i++) {
        const struct plugin *p = r->v[i];
        if (!p->m.name || strcmp(p->m.name, name) != 0)
            continue;
        if (p->error)
            snprintf(err, errlen, "%s '%s' was refused: %s", kn, name, p->error);
        else
            snprintf(err, errlen, "'%s' is a plugin of kind '%s', not '%s'", name,
                     tars_kind_name(p->info->kind), kn);
        return TARS_EINVAL;
    }
    char names[512];
    registry_names(r, kind, names, sizeof names);
    snprintf(err, errlen, "unknown %s '%s' (available: %s)", kn, name, names);
    return TARS_ENOENT;
}
