/*
 * tarsctl token create|list|revoke (admin). A new token's text is printed once, alone on the
 * first line so that `tarsctl token create ... | head -n 1` captures it; tarsd keeps only its
 * hash, so this is the one chance to store it. No other command prints a token.
 */
#include <stdlib.h>
#include "api_client.h"
#include "ctl.h"
#include "table.h"

static const char *
str(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "-";
}

int
cmd_token_create(struct ctl *c, int argc, char **argv)
{
    const char *role = NULL, *name = NULL;
    const struct ctl_opt opts[] = {
        {"--role", OPT_STR, &role}, {"--name", OPT_STR, &name}, {NULL, 0, NULL}};
    int rc = ctl_parse(c, argc, argv, opts, NULL, 0);
    if (rc)
        return ctl_parse_exit(rc);
    if (!role || !name)
        return ctl_usage_error(c, "missing %s", role ? "--name" : "--role");
    json_t *body = json_pack("{s:s, s:s}", "role", role, "name", name), *r;
    rc = body ? api_do(c, "POST", "/api/v1/tokens", body, 0, &r) : CTL_EXIT_FAIL;
    json_decref(body);
    if (rc || !r)
        return rc;
    printf("%s\n", str(r, "token"));
    printf("token id %s, role %s, name '%s': store it now, tarsd shows it only once\n",
           str(r, "id"), str(r, "role"), str(r, "name"));
    json_decref(r);
    return 0;
}

int
cmd_token_list(struct ctl *c, int argc, char **argv)
{
    int rc = ctl_parse(c, argc, argv, NULL, NULL, 0);
    if (rc)
        return ctl_parse_exit(rc);
    json_t *r;
    if ((rc = api_do(c, "GET", "/api/v1/tokens", NULL, 0, &r)) || !r)
        return rc;
    static const char *const heads[] = {"ID", "NAME", "ROLE", "CREATED", "BY"};
    struct table t;
    table_init(&t, heads, 5);
    size_t i;
    json_t *k;
    char buf[FMT_LEN];
    json_array_foreach(json_object_get(r, "tokens"), i, k)
    {
        table_add(&t, "%s", str(k, "id"));
        table_add(&t, "%s", str(k, "name"));
        table_add(&t, "%s", str(k, "role"));
        table_add(&t, "%s", fmt_time(buf, json_object_get(k, "created")));
        table_add(&t, "%s", str(k, "created_by"));
    }
    table_print(&t, stdout);
    table_free(&t);
    json_decref(r);
    return 0;
}

int
cmd_token_revoke(struct ctl *c, int argc, char **argv)
{
    const char *id;
    int rc = ctl_parse(c, argc, argv, NULL, &id, 1);
    if (rc)
        return ctl_parse_exit(rc);
    char *path = api_path("/api/v1/tokens/%s", id);
    json_t *r;
    rc = path ? api_do(c, "DELETE", path, NULL, 0, &r) : CTL_EXIT_FAIL;
    free(path);
    if (rc || !r)
        return rc;
    printf("revoked token %s\n", id);
    json_decref(r);
    return 0;
}
