/*
 * tarsctl health, version, whoami, plugins, plugin show, plugin reload and plugin release: what
 * tarsd is, who is asking, which plugins it found, and replacing one's code while it runs.
 */
#include <stdlib.h>
#include <string.h>
#include "api_client.h"
#include "ctl.h"
#include "table.h"
#include "tars/version.h"

/* Fetches path after parsing a command that takes no arguments. */
static int
get_plain(struct ctl *c, int argc, char **argv, const char *path, int flags, json_t **out)
{
    int rc = ctl_parse(c, argc, argv, NULL, NULL, 0);
    if (rc) {
        *out = NULL;
        return ctl_parse_exit(rc);
    }
    return api_do(c, "GET", path, NULL, flags, out);
}

static const char *
str(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "-";
}

/* While state writes fail: since when, how many attempts, and what the backlog dropped. */
static void
print_state_failing(const json_t *state)
{
    char since[FMT_LEN];
    const json_t *dropped = json_object_get(state, "dropped");
    printf("  state writes failing since %s (%lld failed attempts); dropped since the start: %lld "
           "episodes, %lld scalars records, %lld superseded checkpoints\n",
           fmt_time(since, json_object_get(state, "failing_since")),
           (long long)json_integer_value(json_object_get(state, "failed_writes")),
           (long long)json_integer_value(json_object_get(dropped, "episodes")),
           (long long)json_integer_value(json_object_get(dropped, "scalars")),
           (long long)json_integer_value(json_object_get(dropped, "checkpoints")));
}

/* Exits 1 when tarsd is degraded (state writes failing), even with --json, for monitors. */
int
cmd_health(struct ctl *c, int argc, char **argv)
{
    json_t *r;
    int rc = get_plain(c, argc, argv, "/api/v1/health", API_ANON | API_PARSE, &r);
    if (rc || !r)
        return rc;
    int ok = strcmp(str(r, "status"), "ok") == 0;
    if (!c->json) {
        char up[FMT_LEN];
        json_int_t n = json_integer_value(json_object_get(r, "agents"));
        printf("%s: tarsd %s at %s, up %s, %lld agent%s%s\n", str(r, "status"), str(r, "version"),
               c->base, fmt_age(up, json_number_value(json_object_get(r, "uptime_s"))),
               (long long)n, n == 1 ? "" : "s",
               json_is_false(json_object_get(r, "state_writes_ok")) ? ", state writes failing"
                                                                    : "");
        const json_t *state = json_object_get(r, "state");
        if (!ok && json_is_object(state))
            print_state_failing(state);
    }
    json_decref(r);
    return ok ? 0 : CTL_EXIT_FAIL;
}

int
cmd_version(struct ctl *c, int argc, char **argv)
{
    json_t *r;
    int rc = get_plain(c, argc, argv, "/api/v1/version", 0, &r);
    if (rc || !r)
        return rc;
    kv("tarsd", "%s (plugin ABI %s, SDK %s, OpenBLAS %s, CivetWeb %s) at %s", str(r, "version"),
       str(r, "abi"), str(r, "sdk"), str(r, "blas_core"), str(r, "civetweb"), c->base);
    kv("tarsctl", "%s (plugin ABI %d.%d)", TARS_VERSION_STRING, TARS_ABI_MAJOR, TARS_ABI_MINOR);
    json_decref(r);
    return 0;
}

int
cmd_whoami(struct ctl *c, int argc, char **argv)
{
    json_t *r;
    int rc = get_plain(c, argc, argv, "/api/v1/whoami", 0, &r);
    if (rc || !r)
        return rc;
    kv("token", "%s", str(r, "id"));
    kv("name", "%s", str(r, "name"));
    kv("role", "%s", str(r, "role"));
    kv("from", "%s", c->token_from);
    kv("tarsd", "%s", c->base);
    json_decref(r);
    return 0;
}

int
cmd_plugins(struct ctl *c, int argc, char **argv)
{
    json_t *r;
    int rc = get_plain(c, argc, argv, "/api/v1/plugins", 0, &r);
    if (rc || !r)
        return rc;
    static const char *const heads[] = {"NAME", "KIND", "VERSION", "ABI", "STATUS", "DESCRIPTION"};
    struct table t;
    table_init(&t, heads, 6);
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(r, "plugins"), i, p)
    {
        int refused = strcmp(str(p, "status"), "refused") == 0;
        table_add(&t, "%s", str(p, "name"));
        table_add(&t, "%s", str(p, "kind"));
        table_add(&t, "%s", str(p, "version"));
        table_add(&t, "%s", str(p, "abi"));
        table_add(&t, "%s", str(p, "status"));
        table_add(&t, "%s", refused ? str(p, "error") : str(p, "description"));
    }
    if (table_rows(&t))
        table_print(&t, stdout);
    else
        printf("no plugins in tarsd's manifest dirs\n");
    table_free(&t);
    json_decref(r);
    return 0;
}

/* The manifest's named presets (the object members of its defaults), comma-separated. */
static void
print_presets(const json_t *defaults)
{
    const char *key;
    json_t *v;
    int n = 0;
    json_object_foreach((json_t *)defaults, key, v)
    {
        if (json_is_object(v))
            printf("%s%s", n++ ? ", " : "", key);
    }
    printf("%s\n", n ? "" : "none");
}

int
cmd_plugin_show(struct ctl *c, int argc, char **argv)
{
    const char *name;
    int rc = ctl_parse(c, argc, argv, NULL, &name, 1);
    if (rc)
        return ctl_parse_exit(rc);
    char *path = api_path("/api/v1/plugins/%s", name);
    json_t *r;
    rc = path ? api_do(c, "GET", path, NULL, 0, &r) : CTL_EXIT_FAIL;
    free(path);
    if (rc || !r)
        return rc;
    kv("name", "%s (%s %s, ABI %s)", str(r, "name"), str(r, "kind"), str(r, "version"),
       str(r, "abi"));
    kv("status", "%s", str(r, "status"));
    kv("description", "%s", str(r, "description"));
    if (json_is_string(json_object_get(r, "error")))
        kv("error", "%s", str(r, "error"));
    if (json_is_string(json_object_get(r, "warning")))
        kv("warning", "%s", str(r, "warning"));
    kv("library", "%s", str(r, "library"));
    kv("sha256", "%s", str(r, "sha256"));
    if (json_is_integer(json_object_get(r, "generation"))) {
        char at[FMT_LEN];
        kv("generation", "%lld, loaded %s",
           (long long)json_integer_value(json_object_get(r, "generation")),
           fmt_time(at, json_object_get(r, "loaded_at")));
    }
    const json_t *last = json_object_get(r, "last_reload");
    if (json_is_object(last))
        kv("last reload", "%s", str(last, "message"));
    kv("manifest", "%s", str(r, "manifest"));
    char *agents = join_strings(json_object_get(r, "agents"), ", ");
    kv("used by", "%s", agents && *agents ? agents : "no agent");
    free(agents);
    printf("%-13s", "presets");
    print_presets(json_object_get(r, "defaults"));
    json_t *schema = json_object_get(r, "schema");
    if (json_array_size(schema)) {
        putchar('\n');
        schema_table(schema, NULL, stdout);
    }
    json_decref(r);
    return 0;
}

/* One line per instance of a reload's outcome: migrated (with its stall) or kept (why). */
static void
print_instances(const json_t *list)
{
    size_t i;
    json_t *it;
    json_array_foreach(list, i, it)
    {
        const char *error = json_string_value(json_object_get(it, "error"));
        if (error)
            printf("  %-12s kept the old build: %s\n", str(it, "agent"), error);
        else
            printf("  %-12s migrated (runner stall %.2f ms)\n", str(it, "agent"),
                   json_number_value(json_object_get(it, "stall_ms")));
    }
}

int
cmd_plugin_reload(struct ctl *c, int argc, char **argv)
{
    const char *name;
    int rc = ctl_parse(c, argc, argv, NULL, &name, 1);
    if (rc)
        return ctl_parse_exit(rc);
    char *path = api_path("/api/v1/plugins/%s/reload", name);
    json_t *r;
    /* A reload runs a smoke test and waits for every runner: give it time, unless told. */
    if (!c->timeout_s)
        c->timeout_s = 120;
    rc = path ? api_do(c, "POST", path, NULL, 0, &r) : CTL_EXIT_FAIL;
    free(path);
    if (rc || !r)
        return rc;
    printf("%s\n", str(r, "message"));
    print_instances(json_object_get(r, "instances"));
    const json_t *t = json_object_get(r, "timings_ms");
    if (json_object_size(t) && strcmp(str(r, "outcome"), "unchanged") != 0)
        printf("took %.1f ms: stage %.1f, smoke test %.1f, load %.1f, migrate %.1f, free %.1f\n",
               json_number_value(json_object_get(t, "total")),
               json_number_value(json_object_get(t, "stage")),
               json_number_value(json_object_get(t, "smoke")),
               json_number_value(json_object_get(t, "load")),
               json_number_value(json_object_get(t, "migrate")),
               json_number_value(json_object_get(t, "free")));
    rc = strcmp(str(r, "outcome"), "partial") == 0 ? CTL_EXIT_FAIL : 0;
    json_decref(r);
    return rc;
}

/* Lifts the quarantine of a plugin's current build (one that crashed tarsd). */
int
cmd_plugin_release(struct ctl *c, int argc, char **argv)
{
    const char *name;
    int rc = ctl_parse(c, argc, argv, NULL, &name, 1);
    if (rc)
        return ctl_parse_exit(rc);
    char *path = api_path("/api/v1/plugins/%s/release", name);
    json_t *r;
    rc = path ? api_do(c, "POST", path, NULL, 0, &r) : CTL_EXIT_FAIL;
    free(path);
    if (rc || !r)
        return rc;
    printf("plugin '%s' released (sha256 %.12s…); it was quarantined: %s\n", str(r, "plugin"),
           str(r, "sha256"), str(r, "released"));
    printf("start its failed agents to resume them from their checkpoints\n");
    json_decref(r);
    return 0;
}

int
cmd_plugin_rescan(struct ctl *c, int argc, char **argv)
{
    int rc = ctl_parse(c, argc, argv, NULL, NULL, 0);
    if (rc)
        return ctl_parse_exit(rc);
    json_t *r;
    /* New manifests' plugins are loaded and checked: give it time, unless told. */
    if (!c->timeout_s)
        c->timeout_s = 120;
    rc = api_do(c, "POST", "/api/v1/plugins/rescan", NULL, 0, &r);
    if (rc || !r)
        return rc;
    const json_t *added = json_object_get(r, "added"), *refusals = json_object_get(r, "refusals");
    printf("rescanned the manifests: %zu new, %zu refused\n", json_array_size(added),
           json_array_size(refusals));
    for (size_t i = 0; i < json_array_size(added); i++) {
        const json_t *p = json_array_get(added, i);
        printf("loaded %s %s %s\n", str(p, "kind"), str(p, "name"), str(p, "version"));
    }
    for (size_t i = 0; i < json_array_size(refusals); i++)
        printf("refused: %s\n", json_string_value(json_array_get(refusals, i)));
    json_decref(r);
    return 0;
}
