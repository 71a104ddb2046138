#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "host_side.h"
#include "schema.h"

static const char *
type_word(enum sch_type t)
{
    switch (t) {
    case SCH_STRING:
        return "a string";
    case SCH_INT:
        return "an integer";
    case SCH_NUMBER:
        return "a number";
    case SCH_BOOL:
        return "true or false";
    case SCH_OBJECT:
    case SCH_MAP:
        return "an object";
    case SCH_ARRAY:
        return "an array";
    }
    return "?";
}

static void
key_list(const struct sch_field *fields, char *buf, size_t len)
{
    buf[0] = '\0';
    for (const struct sch_field *f = fields; f->key; f++)
        tars__join(buf, len, ", ", f->key);
}

static int
has_range(const struct sch_field *f)
{
    return !(f->min == 0 && f->max == 0);
}

static int validate_value(const struct sch_field *f, enum sch_type type, json_t *v, const char *ptr,
                          const char *what, const struct jdoc *doc, struct diag *d);

static int
validate_string(const struct sch_field *f, json_t *v, const char *ptr, const char *what,
                const struct jdoc *doc, struct diag *d)
{
    const char *s = json_string_value(v);
    if (f->choices) {
        for (const char *const *c = f->choices; *c; c++)
            if (strcmp(*c, s) == 0)
                return 0;
        char list[256] = "";
        for (const char *const *c = f->choices; *c; c++)
            tars__join(list, sizeof list, ", ", *c);
        jdoc_error(doc, d, ptr, 0, "%s must be one of: %s (not \"%s\")", what, list, s);
        return 1;
    }
    if (f->check && !f->check(s)) {
        jdoc_error(doc, d, ptr, 0, "%s \"%s\" is not %s", what, s, f->expect);
        return 1;
    }
    return 0;
}

static int
validate_value(const struct sch_field *f, enum sch_type type, json_t *v, const char *ptr,
               const char *what, const struct jdoc *doc, struct diag *d)
{
    int ok;
    switch (type) {
    case SCH_STRING:
        ok = json_is_string(v);
        break;
    case SCH_INT:
        ok = json_is_integer(v) ||
             (json_is_real(v) && json_real_value(v) == floor(json_real_value(v)));
        break;
    case SCH_NUMBER:
        ok = json_is_number(v);
        break;
    case SCH_BOOL:
        ok = json_is_boolean(v);
        break;
    case SCH_OBJECT:
    case SCH_MAP:
        ok = json_is_object(v);
        break;
    case SCH_ARRAY:
        ok = json_is_array(v);
        break;
    default:
        ok = 0;
    }
    if (!ok) {
        if ((type == SCH_INT || type == SCH_NUMBER) && has_range(f))
            jdoc_error(doc, d, ptr, 0, "%s must be %s in [%g, %g]", what, type_word(type), f->min,
                       f->max);
        else
            jdoc_error(doc, d, ptr, 0, "%s must be %s", what, type_word(type));
        return 1;
    }
    if ((type == SCH_INT || type == SCH_NUMBER) && has_range(f)) {
        double x = json_number_value(v);
        if (x < f->min || x > f->max) {
            jdoc_error(doc, d, ptr, 0, "%s = %g is out of range [%g, %g]", what, x, f->min, f->max);
            return 1;
        }
    }
    if (type == SCH_STRING)
        return validate_string(f, v, ptr, what, doc, d);
    if (type == SCH_OBJECT)
        return sch_validate(f->fields, v, ptr, doc, d);
    if (type == SCH_ARRAY) {
        int errors = 0;
        size_t i;
        json_t *el;
        json_array_foreach(v, i, el)
        {
            char *p = jptr_index(ptr, i);
            char *w = NULL;
            if (!p || asprintf(&w, "element %zu of '%s'", i, f->key) < 0) {
                free(p);
                return errors + 1;
            }
            errors += validate_value(f, f->elem, el, p, w, doc, d);
            free(p);
            free(w);
        }
        return errors;
    }
    return 0;
}

int
sch_validate(const struct sch_field *fields, json_t *obj, const char *ptr, const struct jdoc *doc,
             struct diag *d)
{
    int errors = 0;
    const char *key;
    json_t *v;
    if (!json_is_object(obj)) {
        jdoc_error(doc, d, ptr, 0, "expected an object");
        return 1;
    }
    json_object_foreach(obj, key, v)
    {
        const struct sch_field *f = fields;
        while (f->key && strcmp(f->key, key) != 0)
            f++;
        char *p = jptr_key(ptr, key);
        if (!p)
            return errors + 1;
        if (!f->key) {
            char list[512];
            key_list(fields, list, sizeof list);
            jdoc_error(doc, d, p, 1, "unknown key '%s' (expected one of: %s)", key, list);
            errors++;
        } else {
            char *what = NULL;
            if (asprintf(&what, "'%s'", key) >= 0) {
                errors += validate_value(f, f->type, v, p, what, doc, d);
                free(what);
            }
        }
        free(p);
    }
    for (const struct sch_field *f = fields; f->key; f++) {
        if ((f->flags & SCH_REQUIRED) && !json_object_get(obj, f->key)) {
            jdoc_error(doc, d, ptr, 0, "missing required key '%s'", f->key);
            errors++;
        }
    }
    return errors;
}

const char *
sch_str(json_t *obj, const char *key, const char *def)
{
    json_t *v = json_object_get(obj, key);
    return json_is_string(v) ? json_string_value(v) : def;
}

long long
sch_int(json_t *obj, const char *key, long long def)
{
    json_t *v = json_object_get(obj, key);
    return json_is_number(v) ? (long long)json_number_value(v) : def;
}

int
sch_bool(json_t *obj, const char *key, int def)
{
    json_t *v = json_object_get(obj, key);
    return json_is_boolean(v) ? json_is_true(v) : def;
}
