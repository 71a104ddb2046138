#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "host_side.h"
#include "params_json.h"

int
pjson_set(tars_params *p, const char *name, json_t *v, char *err, size_t errlen)
{
    int idx = tars_params_index(p, name);
    if (idx < 0 || json_is_string(v))
        return tars_params_parse(p, name, json_is_string(v) ? json_string_value(v) : "", err,
                                 errlen);
    const tars_param_def *d = tars_params_def(p, (uint32_t)idx);
    if (d->type == TARS_PARAM_BOOL) {
        if (!json_is_boolean(v)) {
            snprintf(err, errlen, "parameter '%s' must be true or false", name);
            return -1;
        }
        return tars_params_set(p, (uint32_t)idx, json_is_true(v), err, errlen);
    }
    if (d->type == TARS_PARAM_ENUM || !json_is_number(v)) {
        char choices[256] = "", quoted[80];
        if (d->type == TARS_PARAM_ENUM) {
            for (uint32_t i = 0; d->choices[i]; i++) {
                snprintf(quoted, sizeof quoted, "\"%s\"", d->choices[i]);
                tars__join(choices, sizeof choices, ", ", quoted);
            }
            snprintf(err, errlen, "parameter '%s' must be one of: %s", name, choices);
        } else {
            snprintf(err, errlen, "parameter '%s' must be a number in [%g, %g]", name, d->min,
                     d->max);
        }
        return -1;
    }
    return tars_params_set(p, (uint32_t)idx, json_number_value(v), err, errlen);
}

int
pjson_apply(tars_params *p, json_t *obj, enum pjson_scope scope, const struct jdoc *doc,
            const char *ptr, struct diag *d)
{
    int errors = 0;
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
    {
        char err[512];
        char *at = jptr_key(ptr, key);
        if (scope == PJ_DEFAULTS && json_is_object(v)) {
            tars_params *scratch;
            if (tars_params_clone(p, &scratch) == 0) {
                errors += pjson_apply(scratch, v, PJ_PRESET, doc, at ? at : ptr, d);
                tars_params_free(scratch);
            }
        } else if (scope == PJ_PRESET && strcmp(key, PJ_N_ENVS) == 0) {
            if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 65536) {
                snprintf(err, sizeof err, "a preset's n_envs must be an integer in [1, 65536]");
                if (doc)
                    jdoc_error(doc, d, at ? at : ptr, 0, "%s", err);
                else
                    diag_add(d, "%s", err);
                errors++;
            }
        } else if (pjson_set(p, key, v, err, sizeof err) != 0) {
            if (doc)
                jdoc_error(doc, d, at ? at : ptr, tars_params_index(p, key) < 0, "%s", err);
            else
                diag_add(d, "%s", err);
            errors++;
        }
        free(at);
    }
    return errors;
}

static const char *
type_name(uint32_t t)
{
    switch (t) {
    case TARS_PARAM_FLOAT:
        return "float";
    case TARS_PARAM_INT:
        return "int";
    case TARS_PARAM_BOOL:
        return "bool";
    case TARS_PARAM_ENUM:
        return "enum";
    }
    return "unknown";
}

json_t *
pjson_value(const tars_param_def *d, double v)
{
    switch (d->type) {
    case TARS_PARAM_INT:
        return json_integer((json_int_t)v);
    case TARS_PARAM_BOOL:
        return json_boolean(v != 0);
    case TARS_PARAM_ENUM:
        return json_string(d->choices[(uint32_t)v]);
    default:
        return json_real(v);
    }
}

json_t *
pjson_schema(const tars_param_def *defs, uint32_t n)
{
    json_t *arr = json_array();
    for (uint32_t i = 0; arr && i < n; i++) {
        const tars_param_def *d = &defs[i];
        json_t *o = json_object();
        json_object_set_new(o, "name", json_string(d->name));
        json_object_set_new(o, "type", json_string(type_name(d->type)));
        json_object_set_new(o, "help", json_string(d->help));
        json_object_set_new(o, "default", pjson_value(d, d->def));
        if (d->type == TARS_PARAM_FLOAT || d->type == TARS_PARAM_INT) {
            json_object_set_new(o, "min", isfinite(d->min) ? pjson_value(d, d->min) : json_null());
            json_object_set_new(o, "max", isfinite(d->max) ? pjson_value(d, d->max) : json_null());
        }
        if (d->type == TARS_PARAM_ENUM) {
            json_t *c = json_array();
            for (uint32_t k = 0; d->choices[k]; k++)
                json_array_append_new(c, json_string(d->choices[k]));
            json_object_set_new(o, "choices", c);
        }
        json_object_set_new(o, "hot", json_boolean(d->flags & TARS_PARAM_HOT));
        json_object_set_new(o, "log", json_boolean(d->flags & TARS_PARAM_LOG));
        json_array_append_new(arr, o);
    }
    return arr;
}

json_t *
pjson_values(const tars_params *p)
{
    json_t *o = json_object();
    for (uint32_t i = 0; o && i < tars_params_count(p); i++) {
        const tars_param_def *d = tars_params_def(p, i);
        json_object_set_new(o, d->name, pjson_value(d, tars_param_value(p, i)));
    }
    return o;
}

int
pjson_snapshot(const tars_plugin_info *info, json_t *defaults, json_t *values, tars_params **out,
               char *err, size_t errlen)
{
    char why[384];
    const char *key;
    json_t *v;
    int rc = 0;
    if (tars_params_new(info->params, info->n_params, out)) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    json_object_foreach(defaults, key, v)
    {
        if (!json_is_object(v) && pjson_set(*out, key, v, why, sizeof why)) {
            snprintf(err, errlen, "%s %s: the manifest's defaults: %s", info->name, info->version,
                     why);
            rc = -EINVAL;
            break;
        }
    }
    json_object_foreach(values, key, v)
    {
        if (rc == 0 && tars_params_index(*out, key) >= 0 &&
            pjson_set(*out, key, v, why, sizeof why)) {
            snprintf(err, errlen, "%s %s refuses the running value: %s", info->name, info->version,
                     why);
            rc = -EINVAL;
        }
    }
    if (rc) {
        tars_params_free(*out);
        *out = NULL;
    }
    return rc;
}
