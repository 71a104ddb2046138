/*
 * tarsctl history, scalars, checkpoints and audit: the records tarsd keeps, a page at a
 * time. Each table ends with the command that shows the next page, since the API pages by
 * number and a reader should not have to work the numbers out.
 */
#include <stdlib.h>
#include <string.h>
#include "api_client.h"
#include "ctl.h"
#include "table.h"

/* The paging options of history and scalars. */
struct page_opts {
    long long tail, from, limit;
};

/* The query for the paging options, or "" (a static buffer). Returns 0 or CTL_EXIT_USAGE. */
static int
page_query(const struct ctl *c, const struct page_opts *p, char *q, size_t qlen)
{
    q[0] = '\0';
    if (p->tail >= 0 && (p->from >= 0 || p->limit >= 0))
        return ctl_usage_error(c, "give --tail or --from/--limit, not both");
    if (p->tail >= 0)
        snprintf(q, qlen, "?tail=%lld", p->tail);
    else if (p->from >= 0 && p->limit >= 0)
        snprintf(q, qlen, "?from=%lld&limit=%lld", p->from, p->limit);
    else if (p->from >= 0)
        snprintf(q, qlen, "?from=%lld", p->from);
    else if (p->limit >= 0)
        snprintf(q, qlen, "?limit=%lld", p->limit);
    return 0;
}

/* GET /api/v1/agents/ID/what with the paging options; *r as api_do sets it. */
static int
paged_call(struct ctl *c, int argc, char **argv, const char *what, const char **id,
           struct page_opts *p, json_t **r)
{
    const struct ctl_opt opts[] = {
        {"--tail", OPT_UINT, &p->tail},
        {"--from", OPT_UINT, &p->from},
        {"--limit", OPT_UINT, &p->limit},
        {NULL, 0, NULL},
    };
    char query[96];
    *r = NULL;
    int rc = ctl_parse(c, argc, argv, opts, id, 1);
    if (rc == 0)
        rc = page_query(c, p, query, sizeof query);
    if (rc)
        return ctl_parse_exit(rc);
    char *path = api_path("/api/v1/agents/%s/", *id);
    char *full = NULL;
    if (path && asprintf(&full, "%s%s%s", path, what, query) < 0)
        full = NULL;
    rc = full ? api_do(c, "GET", full, NULL, 0, r) : CTL_EXIT_FAIL;
    free(path);
    free(full);
    return rc;
}

/* The line under a page: what is kept, and how to get the next page. */
static void
page_footer(const json_t *r, const char *cmd, const char *id, const char *noun,
            const struct page_opts *p)
{
    char a[FMT_LEN], b[FMT_LEN];
    const json_t *next = json_object_get(r, "next");
    if (json_integer_value(json_object_get(r, "last")) == 0) {
        printf("no %s recorded for %s yet\n", noun, id);
        return;
    }
    printf("%s %s to %s kept", noun, fmt_count(a, json_object_get(r, "first")),
           fmt_count(b, json_object_get(r, "last")));
    if (json_is_integer(next)) {
        printf("; next page: tarsctl %s %s --from %lld", cmd, id,
               (long long)json_integer_value(next));
        if (p->limit >= 0)
            printf(" --limit %lld", p->limit);
    }
    putchar('\n');
}

int
cmd_history(struct ctl *c, int argc, char **argv)
{
    struct page_opts p = {-1, -1, -1};
    const char *id;
    json_t *r;
    int rc = paged_call(c, argc, argv, "history", &id, &p, &r);
    if (rc || !r)
        return rc;
    static const char *const heads[] = {">EPISODE", ">STEP", ">RETURN", ">LENGTH", "TIME"};
    struct table t;
    table_init(&t, heads, 5);
    size_t i;
    json_t *e;
    char buf[FMT_LEN];
    json_array_foreach(json_object_get(r, "episodes"), i, e)
    {
        table_add(&t, "%s", fmt_count(buf, json_object_get(e, "episode")));
        table_add(&t, "%s", fmt_count(buf, json_object_get(e, "step")));
        table_add(&t, "%s", fmt_fixed(buf, json_object_get(e, "return"), 2));
        table_add(&t, "%s", fmt_count(buf, json_object_get(e, "length")));
        table_add(&t, "%s", fmt_time(buf, json_object_get(e, "time")));
    }
    if (table_rows(&t))
        table_print(&t, stdout);
    page_footer(r, "history", id, "episodes", &p);
    table_free(&t);
    json_decref(r);
    return 0;
}

/* The scalar names of a page (all but seq, step and t), in order of first appearance. */
static json_t *
scalar_names(const json_t *records)
{
    json_t *names = json_object();
    size_t i;
    json_t *rec, *v;
    const char *k;
    json_array_foreach((json_t *)records, i, rec)
    {
        json_object_foreach(rec, k, v)
        {
            if (strcmp(k, "seq") && strcmp(k, "step") && strcmp(k, "t"))
                json_object_set_new(names, k, json_null());
        }
    }
    return names;
}

/* The heads of a scalars table: seq, step, time, then one right-aligned column per name. */
static char **
scalar_heads(const json_t *names, size_t *ncols)
{
    *ncols = 3 + json_object_size(names);
    char **heads = calloc(*ncols, sizeof *heads);
    if (!heads)
        return NULL;
    int ok =
        (heads[0] = strdup(">SEQ")) && (heads[1] = strdup(">STEP")) && (heads[2] = strdup("TIME"));
    size_t col = 3;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)names, k, v)
    {
        if (asprintf(&heads[col++], ">%s", k) < 0) {
            heads[col - 1] = NULL;
            ok = 0;
        }
    }
    if (!ok) {
        for (size_t i = 0; i < *ncols; i++)
            free(heads[i]);
        free(heads);
        return NULL;
    }
    return heads;
}

static void
scalars_table(const json_t *records, const json_t *names, char **heads, size_t ncols)
{
    struct table t;
    table_init(&t, (const char *const *)heads, ncols);
    size_t i;
    json_t *rec, *v;
    const char *k;
    char buf[FMT_LEN];
    json_array_foreach((json_t *)records, i, rec)
    {
        table_add(&t, "%s", fmt_count(buf, json_object_get(rec, "seq")));
        table_add(&t, "%s", fmt_count(buf, json_object_get(rec, "step")));
        table_add(&t, "%s", fmt_time(buf, json_object_get(rec, "t")));
        json_object_foreach((json_t *)names, k, v)
        {
            table_add(&t, "%s", fmt_sig(buf, json_object_get(rec, k), 4));
        }
    }
    if (table_rows(&t))
        table_print(&t, stdout);
    table_free(&t);
}

int
cmd_scalars(struct ctl *c, int argc, char **argv)
{
    struct page_opts p = {-1, -1, -1};
    const char *id;
    json_t *r;
    int rc = paged_call(c, argc, argv, "scalars", &id, &p, &r);
    if (rc || !r)
        return rc;
    json_t *records = json_object_get(r, "scalars"), *names = scalar_names(records);
    size_t ncols;
    char **heads = names ? scalar_heads(names, &ncols) : NULL;
    if (heads) {
        scalars_table(records, names, heads, ncols);
        page_footer(r, "scalars", id, "scalar records", &p);
        for (size_t i = 0; i < ncols; i++)
            free(heads[i]);
        free(heads);
    } else {
        fprintf(stderr, "tarsctl: out of memory\n");
        rc = CTL_EXIT_FAIL;
    }
    json_decref(names);
    json_decref(r);
    return rc;
}

int
cmd_checkpoints(struct ctl *c, int argc, char **argv)
{
    const char *id;
    int rc = ctl_parse(c, argc, argv, NULL, &id, 1);
    if (rc)
        return ctl_parse_exit(rc);
    char *path = api_path("/api/v1/agents/%s/checkpoints", id);
    json_t *r;
    rc = path ? api_do(c, "GET", path, NULL, 0, &r) : CTL_EXIT_FAIL;
    free(path);
    if (rc || !r)
        return rc;
    static const char *const heads[] = {">STEP", ">EPISODES", "TIME", ">SIZE"};
    struct table t;
    table_init(&t, heads, 4);
    size_t i;
    json_t *k;
    char buf[FMT_LEN];
    json_array_foreach(json_object_get(r, "checkpoints"), i, k)
    {
        table_add(&t, "%s", fmt_count(buf, json_object_get(k, "step")));
        table_add(&t, "%s", fmt_count(buf, json_object_get(k, "episodes")));
        table_add(&t, "%s", fmt_time(buf, json_object_get(k, "time")));
        table_add(&t, "%s", fmt_bytes(buf, json_object_get(k, "bytes")));
    }
    if (table_rows(&t))
        table_print(&t, stdout);
    else
        printf("no checkpoints of %s yet\n", id);
    table_free(&t);
    json_decref(r);
    return 0;
}

/* One audit entry as a row; who is "name (role)", "-" for calls without a token. */
static void
audit_row(struct table *t, const json_t *e)
{
    char buf[FMT_LEN];
    const json_t *who = json_object_get(e, "who");
    const char *name = json_string_value(json_object_get(who, "name"));
    const char *role = json_string_value(json_object_get(who, "role"));
    const char *detail = json_string_value(json_object_get(e, "detail"));
    table_add(t, "%s", fmt_value(buf, json_object_get(e, "seq")));
    table_add(t, "%s", fmt_time(buf, json_object_get(e, "time")));
    if (name)
        table_add(t, "%s (%s)", name, role ? role : "?");
    else
        table_add(t, "-");
    table_add(t, "%s", fmt_value(buf, json_object_get(e, "address")));
    table_add(t, "%s", fmt_value(buf, json_object_get(e, "method")));
    table_add(t, "%s", fmt_value(buf, json_object_get(e, "path")));
    table_add(t, "%s", fmt_value(buf, json_object_get(e, "status")));
    table_add(t, "%s", detail ? detail : "");
}

int
cmd_audit(struct ctl *c, int argc, char **argv)
{
    long long limit = -1, before = -1;
    const struct ctl_opt opts[] = {
        {"--limit", OPT_UINT, &limit}, {"--before", OPT_UINT, &before}, {NULL, 0, NULL}};
    int rc = ctl_parse(c, argc, argv, opts, NULL, 0);
    if (rc)
        return ctl_parse_exit(rc);
    char path[128];
    int n = snprintf(path, sizeof path, "/api/v1/audit");
    if (limit >= 0)
        n += snprintf(path + n, sizeof path - (size_t)n, "?limit=%lld", limit);
    if (before >= 0)
        snprintf(path + n, sizeof path - (size_t)n, "%cbefore=%lld", limit >= 0 ? '&' : '?',
                 before);
    json_t *r;
    if ((rc = api_do(c, "GET", path, NULL, 0, &r)) || !r)
        return rc;
    static const char *const heads[] = {">SEQ",   "TIME", "WHO",     "ADDRESS",
                                        "METHOD", "PATH", ">STATUS", "DETAIL"};
    struct table t;
    table_init(&t, heads, 8);
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(r, "entries"), i, e)
    {
        audit_row(&t, e);
    }
    if (table_rows(&t))
        table_print(&t, stdout);
    else
        printf("no audit entries%s\n", before >= 0 ? " before that" : "");
    const json_t *next = json_object_get(r, "next_before");
    if (json_is_integer(next)) {
        printf("older entries: tarsctl audit --before %lld", (long long)json_integer_value(next));
        if (limit >= 0)
            printf(" --limit %lld", limit);
        putchar('\n');
    }
    table_free(&t);
    json_decref(r);
    return 0;
}
