/*
 * Parameter tables from the API's schemas (plugin show, params get). The schema says each
 * parameter's type and range, so the reader sees what a value may become beside what it is.
 */
#include <stdlib.h>
#include <string.h>
#include "table.h"

char *
join_strings(const json_t *array, const char *sep)
{
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    if (!f)
        return NULL;
    size_t i;
    json_t *v;
    json_array_foreach((json_t *)array, i, v)
    {
        fprintf(f, "%s%s", i ? sep : "", json_is_string(v) ? json_string_value(v) : "?");
    }
    if (fclose(f) != 0) {
        free(out);
        return NULL;
    }
    return out;
}

/* The range cell: [min, max] for numbers, the choices for enums. */
static void
range_cell(struct table *t, const json_t *d, const char *type)
{
    const json_t *min = json_object_get(d, "min"), *max = json_object_get(d, "max");
    if (strcmp(type, "enum") == 0) {
        char *choices = join_strings(json_object_get(d, "choices"), "|");
        table_add(t, "%s", choices ? choices : "");
        free(choices);
    } else if (strcmp(type, "bool") == 0) {
        table_add(t, "true|false");
    } else if (json_is_number(min) && json_is_number(max)) {
        table_add(t, "[%.15g, %.15g]", json_number_value(min), json_number_value(max));
    } else {
        table_add(t, "-");
    }
}

void
schema_table(const json_t *schema, const json_t *values, FILE *f)
{
    static const char *const heads[] = {"PARAMETER", "VALUE", "TYPE", "DEFAULT",
                                        "RANGE",     "HOT",   "HELP"};
    static const char *const no_value[] = {"PARAMETER", "TYPE", "DEFAULT", "RANGE", "HOT", "HELP"};
    struct table t;
    table_init(&t, values ? heads : no_value, values ? 7 : 6);
    size_t i;
    json_t *d;
    char buf[FMT_LEN];
    json_array_foreach((json_t *)schema, i, d)
    {
        const char *name = json_string_value(json_object_get(d, "name"));
        const char *type = json_string_value(json_object_get(d, "type"));
        table_add(&t, "%s", name ? name : "?");
        if (values)
            table_add(&t, "%s", fmt_value(buf, json_object_get(values, name ? name : "")));
        table_add(&t, "%s%s", type ? type : "?",
                  json_is_true(json_object_get(d, "log")) ? " (log)" : "");
        table_add(&t, "%s", fmt_value(buf, json_object_get(d, "default")));
        range_cell(&t, d, type ? type : "");
        table_add(&t, "%s", json_is_true(json_object_get(d, "hot")) ? "yes" : "no");
        const char *help = json_string_value(json_object_get(d, "help"));
        table_add(&t, "%s", help ? help : "");
    }
    table_print(&t, f);
    table_free(&t);
}
