/*
 * A study's search space: dimensions taken from an agent's schema (every HOT parameter, every
 * parameter, or those named, each with its range unless overridden), or declared by the
 * client for an external objective. Numeric choices become a categorical dimension whose
 * choices are the numbers' text, parsed back into the agent's parameter.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "host.h"
#include "params_json.h"
#include "study_internal.h"

static char *
own(struct study *s, const char *text)
{
    char *c = strdup(text);
    char **v = c ? realloc(s->owned, (s->n_owned + 1) * sizeof *v) : NULL;
    if (!v) {
        free(c);
        return NULL;
    }
    s->owned = v;
    v[s->n_owned++] = c;
    return c;
}

void
study_space_free(struct study *s)
{
    for (size_t i = 0; i < s->n_owned; i++)
        free(s->owned[i]);
    for (uint32_t i = 0; s->choices && i < s->n_space; i++) {
        free(s->choices[i]);
        free(s->choice_text[i]);
    }
    free(s->owned);
    free(s->choices);
    free(s->choice_text);
    s->choice_text = NULL;
    free(s->space);
    s->owned = NULL;
    s->choices = NULL;
    s->space = NULL;
    s->n_owned = s->n_space = 0;
}

/* A choice's text: a string as it is, numbers and booleans as JSON writes them; -1 for
 * another type. */
static int
choice_text_of(json_t *v, char *text, size_t len)
{
    if (json_is_string(v))
        snprintf(text, len, "%s", json_string_value(v));
    else if (json_is_integer(v))
        snprintf(text, len, "%lld", (long long)json_integer_value(v));
    else if (json_is_real(v))
        snprintf(text, len, "%.17g", json_real_value(v));
    else if (json_is_boolean(v))
        snprintf(text, len, "%s", json_is_true(v) ? "true" : "false");
    else
        return -1;
    return 0;
}

/* Choices from a JSON array: names of an enum's choices, or numbers / strings. */
static int
set_choices(struct study *s, uint32_t i, json_t *arr, const tars_param_def *base, char *err,
            size_t errlen)
{
    tars_param_def *d = &s->space[i];
    size_t n = json_array_size(arr);
    if (!json_is_array(arr) || n == 0 || n > 1000) {
        snprintf(err, errlen, "space.%s.choices: a list of 1 to 1000 values", d->name);
        return -1;
    }
    const char **c = calloc(n + 1, sizeof *c), **texts = calloc(n + 1, sizeof *texts);
    if (!c || !texts) {
        free(c);
        free(texts);
        return -1;
    }
    free(s->choices[i]); /* an override's choices replace the schema's */
    free(s->choice_text[i]);
    s->choices[i] = c;
    s->choice_text[i] = texts;
    for (size_t k = 0; k < n; k++) {
        json_t *v = json_array_get(arr, k);
        char text[64];
        if (choice_text_of(v, text, sizeof text)) {
            snprintf(err, errlen, "space.%s.choices[%zu]: a number, string or boolean", d->name, k);
            return -1;
        }
        for (size_t j = 0; j < k; j++)
            if (strcmp(s->choice_text[i][j], text) == 0) {
                snprintf(err, errlen, "space.%s.choices: '%s' is listed twice", d->name, text);
                return -1;
            }
        if (base && base->type == TARS_PARAM_ENUM) {
            int known = 0;
            for (size_t j = 0; base->choices[j]; j++)
                known |= strcmp(base->choices[j], text) == 0;
            if (!known) {
                snprintf(err, errlen, "space.%s.choices: '%s' is not one of its choices", d->name,
                         text);
                return -1;
            }
        }
        /* The tuner sees identifiers (a choice name is [a-z0-9_]); the API and the agent the
         * text: 0.001, -1, "ReLU" are all choices. */
        char id[16];
        snprintf(id, sizeof id, "c%zu", k);
        if (!(c[k] = own(s, id)) || !(s->choice_text[i][k] = own(s, text)))
            return -1;
    }
    d->type = TARS_PARAM_ENUM;
    d->flags = 0;
    d->min = d->max = d->def = 0;
    d->choices = c;
    return 0;
}

/* Applies an override object ({"low", "high", "log", "choices"}) to dimension i. */
static int
override(struct study *s, uint32_t i, json_t *o, const tars_param_def *base, char *err,
         size_t errlen)
{
    tars_param_def *d = &s->space[i];
    if (json_is_true(o) || (json_is_object(o) && json_object_size(o) == 0))
        return 0;
    if (!json_is_object(o)) {
        snprintf(err, errlen, "space.%s: an object {\"low\", \"high\", \"log\"} or {\"choices\"}",
                 d->name);
        return -1;
    }
    const char *key;
    json_t *v;
    json_object_foreach(o, key, v)
    {
        if (strcmp(key, "low") && strcmp(key, "high") && strcmp(key, "log") &&
            strcmp(key, "choices") && strcmp(key, "type")) {
            snprintf(err, errlen, "space.%s: unknown key '%s' (low, high, log, choices)", d->name,
                     key);
            return -1;
        }
    }
    json_t *choices = json_object_get(o, "choices");
    if (choices)
        return set_choices(s, i, choices, base, err, errlen);
    if (d->type == TARS_PARAM_ENUM || d->type == TARS_PARAM_BOOL) {
        if (json_object_get(o, "low") || json_object_get(o, "high")) {
            snprintf(err, errlen, "space.%s: a categorical parameter takes choices, not a range",
                     d->name);
            return -1;
        }
        return 0;
    }
    json_t *lo = json_object_get(o, "low"), *hi = json_object_get(o, "high");
    json_t *lg = json_object_get(o, "log");
    if ((lo && !json_is_number(lo)) || (hi && !json_is_number(hi)) ||
        (lg && !json_is_boolean(lg))) {
        snprintf(err, errlen, "space.%s: low and high are numbers, log true or false", d->name);
        return -1;
    }
    if (lo)
        d->min = json_number_value(lo);
    if (hi)
        d->max = json_number_value(hi);
    if (lg)
        d->flags = json_is_true(lg) ? d->flags | TARS_PARAM_LOG : d->flags & ~TARS_PARAM_LOG;
    if (base && (d->min < base->min || d->max > base->max)) {
        snprintf(err, errlen, "space.%s: [%g, %g] leaves the parameter's range [%g, %g]", d->name,
                 d->min, d->max, base->min, base->max);
        return -1;
    }
    if (!(d->min <= d->max)) {
        snprintf(err, errlen, "space.%s: low %g is above high %g", d->name, d->min, d->max);
        return -1;
    }
    d->def = d->min > 0 || d->max < 0 ? d->min : 0;
    if (d->def < d->min || d->def > d->max)
        d->def = d->min;
    return 0;
}

/* An external study's dimension: {"type": "float"|"int"|"categorical", ...}. */
static int
declare(struct study *s, uint32_t i, json_t *o, char *err, size_t errlen)
{
    tars_param_def *d = &s->space[i];
    const char *type = json_string_value(json_object_get(o, "type"));
    if (!json_is_object(o) || !type) {
        snprintf(err, errlen,
                 "space.%s: an external study declares each dimension: {\"type\": \"float\", "
                 "\"low\", \"high\", \"log\"}, {\"type\": \"int\", ...} or {\"type\": "
                 "\"categorical\", \"choices\"}",
                 d->name);
        return -1;
    }
    if (strcmp(type, "categorical") == 0) {
        d->type = TARS_PARAM_ENUM;
        return set_choices(s, i, json_object_get(o, "choices"), NULL, err, errlen);
    }
    if (strcmp(type, "float") && strcmp(type, "int")) {
        snprintf(err, errlen, "space.%s.type: '%s' is not float, int or categorical", d->name,
                 type);
        return -1;
    }
    d->type = strcmp(type, "int") == 0 ? TARS_PARAM_INT : TARS_PARAM_FLOAT;
    if (!json_is_number(json_object_get(o, "low")) || !json_is_number(json_object_get(o, "high"))) {
        snprintf(err, errlen, "space.%s: low and high are required numbers", d->name);
        return -1;
    }
    return override(s, i, o, NULL, err, errlen);
}

/*
 * Dimension i, copied from an agent's schema (base), made the study's own: its name, help and
 * choices copied, so that nothing points into a plugin library a code swap may unload.
 */
static int
own_def(struct study *s, uint32_t i, const tars_param_def *base, char *err, size_t errlen)
{
    tars_param_def *d = &s->space[i];
    if (!(d->name = own(s, base->name)) || !(d->help = own(s, base->help ? base->help : ""))) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (d->type != TARS_PARAM_ENUM || s->choices[i])
        return 0;
    json_t *names = json_array();
    for (size_t k = 0; base->choices[k]; k++)
        json_array_append_new(names, json_string(base->choices[k]));
    int rc = set_choices(s, i, names, base, err, errlen);
    json_decref(names);
    return rc;
}

static int
grow_space(struct study *s, uint32_t n)
{
    s->space = calloc(n ? n : 1, sizeof *s->space);
    s->choices = calloc(n ? n : 1, sizeof *s->choices);
    s->choice_text = calloc(n ? n : 1, sizeof *s->choice_text);
    return s->space && s->choices && s->choice_text ? 0 : -1;
}

int
study_space_build(struct host *h, struct study *s, json_t *space, const struct plugin *agent,
                  char *err, size_t errlen)
{
    (void)h;
    const tars_plugin_info *info = agent ? agent->info : NULL;
    const char *all = json_string_value(space);
    if (!agent && !json_is_object(space)) {
        snprintf(err, errlen, "space: an external study declares its dimensions in an object");
        return -1;
    }
    if (agent && !json_is_object(space) &&
        !(all && (strcmp(all, "hot") == 0 || strcmp(all, "all") == 0))) {
        snprintf(err, errlen,
                 "space: \"hot\" (every HOT parameter), \"all\", or an object of parameters");
        return -1;
    }
    uint32_t n = all ? info->n_params : (uint32_t)json_object_size(space);
    if (grow_space(s, n)) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (all) {
        for (uint32_t k = 0; k < info->n_params; k++)
            if (strcmp(all, "all") == 0 || (info->params[k].flags & TARS_PARAM_HOT)) {
                tars_param_def *d = &s->space[s->n_space++];
                *d = info->params[k];
                d->flags &= TARS_PARAM_LOG;
                if (own_def(s, s->n_space - 1, &info->params[k], err, errlen))
                    return -1;
            }
    } else {
        const char *key;
        json_t *v;
        json_object_foreach(space, key, v)
        {
            tars_param_def *d = &s->space[s->n_space];
            const tars_param_def *base = NULL;
            for (uint32_t k = 0; info && k < info->n_params; k++)
                if (strcmp(info->params[k].name, key) == 0)
                    base = &info->params[k];
            if (info && !base) {
                snprintf(err, errlen, "space.%s: agent '%s' has no parameter '%s'", key, info->name,
                         key);
                return -1;
            }
            if (base)
                *d = *base;
            else
                memset(d, 0, sizeof *d);
            d->flags &= TARS_PARAM_LOG;
            if (!(d->name = own(s, key)) || !(d->help = own(s, base ? base->help : "searched"))) {
                snprintf(err, errlen, "out of memory");
                return -1;
            }
            s->n_space++;
            if (base && own_def(s, s->n_space - 1, base, err, errlen))
                return -1;
            if (base ? override(s, s->n_space - 1, v, base, err, errlen)
                     : declare(s, s->n_space - 1, v, err, errlen))
                return -1;
        }
    }
    if (s->n_space == 0) {
        snprintf(err, errlen, "space: it has no dimension to search");
        return -1;
    }
    char why[256];
    if (tars_params_check_schema(s->space, s->n_space, why, sizeof why)) {
        snprintf(err, errlen, "space: %s", why);
        return -1;
    }
    return 0;
}

int
study_space_apply(const struct study *s, const tars_params *trial, tars_params *agent, char *err,
                  size_t errlen)
{
    for (uint32_t i = 0; i < s->n_space; i++) {
        const tars_param_def *d = &s->space[i];
        int idx = tars_params_index(agent, d->name);
        int rc =
            idx < 0 ? idx
            : d->type == TARS_PARAM_ENUM
                ? tars_params_parse(agent, d->name, s->choice_text[i][tars_param_enum(trial, i)],
                                    err, errlen)
                : tars_params_set(agent, (uint32_t)idx, tars_param_value(trial, i), err, errlen);
        if (rc) {
            if (idx < 0)
                snprintf(err, errlen, "the agent has no parameter '%s'", d->name);
            return -1;
        }
    }
    return 0;
}

int
study_space_values(const struct study *s, json_t *values, tars_params **out, char *err,
                   size_t errlen)
{
    if (tars_params_new(s->space, s->n_space, out)) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    const char *key;
    json_t *v;
    json_object_foreach(values, key, v)
    {
        int i = tars_params_index(*out, key), rc;
        if (i >= 0 && s->space[i].type == TARS_PARAM_ENUM) {
            char text[64];
            rc = -1;
            for (uint32_t k = 0; !choice_text_of(v, text, sizeof text) && s->choices[i][k]; k++)
                if (strcmp(s->choice_text[i][k], text) == 0)
                    rc = tars_params_set(*out, (uint32_t)i, k, err, errlen);
            if (rc == -1)
                snprintf(err, errlen, "%s: not one of the dimension's choices", key);
        } else
            rc = pjson_set(*out, key, v, err, errlen);
        if (rc) {
            tars_params_free(*out);
            *out = NULL;
            return -1;
        }
    }
    return 0;
}

/* A choice's text as JSON: a number or boolean when it reads as one, else a string. */
static json_t *
choice_json(const char *text)
{
    if (strcmp(text, "true") == 0 || strcmp(text, "false") == 0)
        return json_boolean(text[0] == 't');
    json_error_t e;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &e);
    if (json_is_number(v))
        return v;
    json_decref(v);
    return json_string(text);
}

json_t *
study_values_json(const struct study *s, const tars_params *p)
{
    json_t *o = json_object();
    for (uint32_t i = 0; p && i < s->n_space; i++) {
        const tars_param_def *d = &s->space[i];
        json_object_set_new(o, d->name,
                            d->type == TARS_PARAM_ENUM
                                ? choice_json(s->choice_text[i][tars_param_enum(p, i)])
                                : pjson_value(d, tars_param_value(p, i)));
    }
    return o;
}

json_t *
study_space_resolved(const struct study *s)
{
    json_t *o = json_object();
    for (uint32_t i = 0; i < s->n_space; i++) {
        const tars_param_def *d = &s->space[i];
        json_t *dim;
        if (d->type == TARS_PARAM_ENUM) {
            json_t *c = json_array();
            for (uint32_t k = 0; d->choices[k]; k++)
                json_array_append_new(c, choice_json(s->choice_text[i][k]));
            dim = json_pack("{s:o}", "choices", c);
        } else if (d->type == TARS_PARAM_BOOL)
            dim = json_object();
        else
            dim = json_pack("{s:o, s:o, s:b}", "low", pjson_value(d, d->min), "high",
                            pjson_value(d, d->max), "log", (d->flags & TARS_PARAM_LOG) != 0);
        if (!s->agent && dim)
            json_object_set_new(dim, "type",
                                json_string(d->type == TARS_PARAM_ENUM  ? "categorical"
                                            : d->type == TARS_PARAM_INT ? "int"
                                                                        : "float"));
        json_object_set_new(o, d->name, dim);
    }
    return o;
}

json_t *
study_space_json(const struct study *s)
{
    json_t *arr = pjson_schema(s->space, s->n_space);
    for (uint32_t i = 0; i < s->n_space; i++) {
        if (s->space[i].type != TARS_PARAM_ENUM)
            continue;
        json_t *dim = json_array_get(arr, i), *c = json_array();
        for (uint32_t k = 0; s->space[i].choices[k]; k++)
            json_array_append_new(c, choice_json(s->choice_text[i][k]));
        json_object_set_new(dim, "choices", c);
        json_object_set_new(dim, "default",
                            choice_json(s->choice_text[i][(uint32_t)s->space[i].def]));
    }
    return arr;
}
