/* Parameter schemas, validation and immutable snapshots. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "tars/error.h"
#include "host_side.h"
#include "tars/params.h"

/* Integers are stored in doubles: exact up to 2^53. */
#define INT_LIMIT 9007199254740992.0

struct tars_params {
    const tars_param_def *defs;
    uint32_t n;
    uint64_t generation;
    double values[];
};

static int
name_ok(const char *s)
{
    if (!s || !*s)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
            return 0;
    return 1;
}

static uint32_t
n_choices(const tars_param_def *d)
{
    uint32_t n = 0;
    while (d->choices && d->choices[n])
        n++;
    return n;
}

static int
is_integral(double v)
{
    return isfinite(v) && v == floor(v);
}

static int
check_def(const tars_param_def *d, char *err, size_t errlen)
{
    const char *nm = d->name;
    if (!d->help)
        return tars__errf(err, errlen, TARS_ESCHEMA, "parameter '%s' has no help text", nm);
    if (d->reserved[0] || d->reserved[1])
        return tars__errf(err, errlen, TARS_ESCHEMA,
                          "parameter '%s' sets reserved fields (built for a newer ABI?)", nm);
    if (d->flags & ~(TARS_PARAM_HOT | TARS_PARAM_LOG))
        return tars__errf(err, errlen, TARS_ESCHEMA, "parameter '%s' has unknown flags 0x%x", nm,
                          d->flags);
    switch (d->type) {
    case TARS_PARAM_FLOAT:
    case TARS_PARAM_INT:
        if (isnan(d->min) || isnan(d->max) || !(d->min <= d->max))
            return tars__errf(err, errlen, TARS_ESCHEMA,
                              "parameter '%s' has an empty range [%g, %g]", nm, d->min, d->max);
        if (!isfinite(d->def) || d->def < d->min || d->def > d->max)
            return tars__errf(err, errlen, TARS_ESCHEMA,
                              "parameter '%s' default %g is outside its range [%g, %g]", nm, d->def,
                              d->min, d->max);
        if (d->type == TARS_PARAM_INT && (!is_integral(d->min) || !is_integral(d->max) ||
                                          fabs(d->min) > INT_LIMIT || fabs(d->max) > INT_LIMIT))
            return tars__errf(err, errlen, TARS_ESCHEMA,
                              "parameter '%s' is int but its range [%g, %g] is not integral "
                              "within +-2^53",
                              nm, d->min, d->max);
        if (d->type == TARS_PARAM_INT && !is_integral(d->def))
            return tars__errf(err, errlen, TARS_ESCHEMA,
                              "parameter '%s' is int but its default %g is not", nm, d->def);
        if ((d->flags & TARS_PARAM_LOG) && !(d->min > 0))
            return tars__errf(err, errlen, TARS_ESCHEMA,
                              "parameter '%s' is log-scale but its minimum %g is not positive", nm,
                              d->min);
        return 0;
    case TARS_PARAM_BOOL:
        if (d->def != 0 && d->def != 1)
            return tars__errf(err, errlen, TARS_ESCHEMA,
                              "parameter '%s' is bool but its default is %g", nm, d->def);
        break;
    case TARS_PARAM_ENUM: {
        uint32_t k = n_choices(d);
        if (k == 0)
            return tars__errf(err, errlen, TARS_ESCHEMA,
                              "parameter '%s' is an enum without choices", nm);
        for (uint32_t i = 0; i < k; i++)
            if (!name_ok(d->choices[i]))
                return tars__errf(err, errlen, TARS_ESCHEMA,
                                  "parameter '%s' choice %u is not a lower-case identifier", nm, i);
        if (!is_integral(d->def) || d->def < 0 || d->def >= k)
            return tars__errf(err, errlen, TARS_ESCHEMA,
                              "parameter '%s' default index %g is not one of its %u choices", nm,
                              d->def, k);
        break;
    }
    default:
        return tars__errf(err, errlen, TARS_ESCHEMA, "parameter '%s' has unknown type %u", nm,
                          d->type);
    }
    if (d->flags & TARS_PARAM_LOG)
        return tars__errf(err, errlen, TARS_ESCHEMA, "parameter '%s' is log-scale but not numeric",
                          nm);
    return 0;
}

int
tars_params_check_schema(const tars_param_def *defs, uint32_t n, char *err, size_t errlen)
{
    if (n && !defs)
        return tars__errf(err, errlen, TARS_ESCHEMA, "schema declares %u parameters but no table",
                          n);
    for (uint32_t i = 0; i < n; i++) {
        if (!name_ok(defs[i].name))
            return tars__errf(err, errlen, TARS_ESCHEMA,
                              "parameter %u has no name or one outside [a-z0-9_]", i);
        for (uint32_t j = 0; j < i; j++)
            if (strcmp(defs[i].name, defs[j].name) == 0)
                return tars__errf(err, errlen, TARS_ESCHEMA, "parameter '%s' is declared twice",
                                  defs[i].name);
        int rc = check_def(&defs[i], err, errlen);
        if (rc)
            return rc;
    }
    return 0;
}

int
tars_params_new(const tars_param_def *defs, uint32_t n, tars_params **out)
{
    *out = NULL;
    tars_params *p = malloc(sizeof *p + (size_t)n * sizeof(double));
    if (!p)
        return TARS_ENOMEM;
    p->defs = defs;
    p->n = n;
    p->generation = 1;
    for (uint32_t i = 0; i < n; i++)
        p->values[i] = defs[i].def;
    *out = p;
    return 0;
}

int
tars_params_clone(const tars_params *src, tars_params **out)
{
    size_t size = sizeof *src + (size_t)src->n * sizeof(double);
    tars_params *p = malloc(size);
    *out = NULL;
    if (!p)
        return TARS_ENOMEM;
    memcpy(p, src, size);
    p->generation = src->generation + 1;
    *out = p;
    return 0;
}

void
tars_params_free(tars_params *p)
{
    free(p);
}

static int
typed(const tars_params *p, uint32_t idx, uint32_t type)
{
    return p && idx < p->n && p->defs[idx].type == type;
}

double
tars_param_float(const tars_params *p, uint32_t idx)
{
    return typed(p, idx, TARS_PARAM_FLOAT) ? p->values[idx] : 0.0;
}

int64_t
tars_param_int(const tars_params *p, uint32_t idx)
{
    return typed(p, idx, TARS_PARAM_INT) ? (int64_t)p->values[idx] : 0;
}

int
tars_param_bool(const tars_params *p, uint32_t idx)
{
    return typed(p, idx, TARS_PARAM_BOOL) ? p->values[idx] != 0 : 0;
}

uint32_t
tars_param_enum(const tars_params *p, uint32_t idx)
{
    return typed(p, idx, TARS_PARAM_ENUM) ? (uint32_t)p->values[idx] : 0;
}

const char *
tars_param_enum_name(const tars_params *p, uint32_t idx)
{
    return typed(p, idx, TARS_PARAM_ENUM) ? p->defs[idx].choices[(uint32_t)p->values[idx]] : "";
}

double
tars_param_value(const tars_params *p, uint32_t idx)
{
    return p && idx < p->n ? p->values[idx] : 0.0;
}

uint32_t
tars_params_count(const tars_params *p)
{
    return p ? p->n : 0;
}

const tars_param_def *
tars_params_def(const tars_params *p, uint32_t idx)
{
    return p && idx < p->n ? &p->defs[idx] : NULL;
}

int
tars_params_index(const tars_params *p, const char *name)
{
    for (uint32_t i = 0; p && name && i < p->n; i++)
        if (strcmp(p->defs[i].name, name) == 0)
            return (int)i;
    return TARS_ENOENT;
}

uint64_t
tars_params_generation(const tars_params *p)
{
    return p ? p->generation : 0;
}

/* "[min, max]" with integers printed as integers. */
static void
range_text(const tars_param_def *d, char *buf, size_t len)
{
    if (d->type == TARS_PARAM_INT)
        snprintf(buf, len, "[%.0f, %.0f]", d->min, d->max);
    else
        snprintf(buf, len, "[%g, %g]", d->min, d->max);
}

static void
choices_text(const tars_param_def *d, char *buf, size_t len)
{
    buf[0] = '\0';
    for (uint32_t i = 0; d->choices[i]; i++)
        tars__join(buf, len, ", ", d->choices[i]);
}

int
tars_params_set(tars_params *p, uint32_t idx, double v, char *err, size_t errlen)
{
    if (!p || idx >= p->n)
        return tars__errf(err, errlen, TARS_EINVAL, "parameter index %u out of range", idx);
    const tars_param_def *d = &p->defs[idx];
    char range[96];
    switch (d->type) {
    case TARS_PARAM_FLOAT:
    case TARS_PARAM_INT:
        range_text(d, range, sizeof range);
        if (!isfinite(v))
            return tars__errf(err, errlen, TARS_EINVAL, "parameter '%s' must be a finite number",
                              d->name);
        if (d->type == TARS_PARAM_INT && !is_integral(v))
            return tars__errf(err, errlen, TARS_EINVAL,
                              "parameter '%s' must be an integer in %s, not %g", d->name, range, v);
        if (v < d->min || v > d->max)
            return tars__errf(err, errlen, TARS_ERANGE, "parameter '%s' = %g is out of range %s",
                              d->name, v, range);
        break;
    case TARS_PARAM_BOOL:
        if (v != 0 && v != 1)
            return tars__errf(err, errlen, TARS_EINVAL, "parameter '%s' must be true or false",
                              d->name);
        break;
    case TARS_PARAM_ENUM:
        if (!is_integral(v) || v < 0 || v >= n_choices(d)) {
            choices_text(d, range, sizeof range);
            return tars__errf(err, errlen, TARS_ERANGE, "parameter '%s' must be one of: %s",
                              d->name, range);
        }
        break;
    }
    p->values[idx] = v;
    return 0;
}

static int
parse_bool(const char *t, double *v)
{
    static const char *const yes[] = {"true", "1", "yes", "on"};
    static const char *const no[] = {"false", "0", "no", "off"};
    for (int i = 0; i < 4; i++) {
        if (strcasecmp(t, yes[i]) == 0)
            return *v = 1, 0;
        if (strcasecmp(t, no[i]) == 0)
            return *v = 0, 0;
    }
    return -1;
}

int
tars_params_parse(tars_params *p, const char *name, const char *text, char *err, size_t errlen)
{
    int idx = tars_params_index(p, name);
    if (idx < 0) {
        char known[512] = "";
        for (uint32_t i = 0; p && i < p->n; i++)
            tars__join(known, sizeof known, ", ", p->defs[i].name);
        if (!p || p->n == 0)
            return tars__errf(err, errlen, TARS_ENOENT,
                              "unknown parameter '%s' (this plugin has no parameters)", name);
        return tars__errf(err, errlen, TARS_ENOENT, "unknown parameter '%s' (known: %s)", name,
                          known);
    }
    const tars_param_def *d = &p->defs[idx];
    double v = 0;
    if (d->type == TARS_PARAM_BOOL) {
        if (parse_bool(text, &v))
            return tars__errf(err, errlen, TARS_EINVAL,
                              "parameter '%s' must be true or false, not '%s'", name, text);
    } else if (d->type == TARS_PARAM_ENUM) {
        uint32_t k = n_choices(d);
        uint32_t i = 0;
        while (i < k && strcmp(d->choices[i], text) != 0)
            i++;
        if (i == k) {
            char choices[256];
            choices_text(d, choices, sizeof choices);
            return tars__errf(err, errlen, TARS_ERANGE,
                              "parameter '%s' must be one of: %s, not '%s'", name, choices, text);
        }
        v = i;
    } else {
        char *end = NULL;
        v = strtod(text, &end);
        if (end == text || *end != '\0' || !isfinite(v))
            return tars__errf(err, errlen, TARS_EINVAL, "parameter '%s' needs a number, not '%s'",
                              name, text);
    }
    return tars_params_set(p, (uint32_t)idx, v, err, errlen);
}

int
tars_params_format(const tars_params *p, uint32_t idx, char *buf, size_t len)
{
    if (!p || idx >= p->n)
        return snprintf(buf, len, "?");
    const tars_param_def *d = &p->defs[idx];
    double v = p->values[idx];
    switch (d->type) {
    case TARS_PARAM_BOOL:
        return snprintf(buf, len, "%s", v != 0 ? "true" : "false");
    case TARS_PARAM_ENUM:
        return snprintf(buf, len, "%s", d->choices[(uint32_t)v]);
    case TARS_PARAM_INT:
        return snprintf(buf, len, "%.0f", v);
    default: {
        /* The shortest text that reads back to the same double. */
        char tmp[40];
        snprintf(tmp, sizeof tmp, "%.15g", v);
        if (strtod(tmp, NULL) != v)
            snprintf(tmp, sizeof tmp, "%.17g", v);
        return snprintf(buf, len, "%s", tmp);
    }
    }
}
