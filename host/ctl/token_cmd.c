/*
 * tarsctl token create|list|rotate|revoke (admin). A new token's text is printed once, alone
 * on the first line so that `tarsctl token create ... | head -n 1` captures it; tarsd keeps
 * only its hash, so this is the one chance to store it. Rotation prints the new secret the
 * same way. No other command prints a token.
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
    long long expires_in = -1;
    const struct ctl_opt opts[] = {{"--role", OPT_STR, &role},
                                   {"--name", OPT_STR, &name},
                                   {"--expires-in", OPT_UINT, &expires_in},
                                   {NULL, 0, NULL}};
    int rc = ctl_parse(c, argc, argv, opts, NULL, 0);
    if (rc)
        return ctl_parse_exit(rc);
    if (!role || !name)
        return ctl_usage_error(c, "missing %s", role ? "--name" : "--role");
    json_t *body = json_pack("{s:s, s:s}", "role", role, "name", name), *r;
    if (body && expires_in >= 0) /* tarsd checks the range and says it */
        json_object_set_new(body, "expires_in", json_integer(expires_in));
    rc = body ? api_do(c, "POST", "/api/v1/tokens", body, 0, &r) : CTL_EXIT_FAIL;
    json_decref(body);
    if (rc || !r)
        return rc;
    char when[FMT_LEN];
    printf("%s\n", str(r, "token"));
    printf("token id %s, role %s, name '%s', expires %s: store it now, tarsd shows it only once\n",
           str(r, "id"), str(r, "role"), str(r, "name"),
           json_is_number(json_object_get(r, "expires"))
               ? fmt_time(when, json_object_get(r, "expires"))
               : "never");
    json_decref(r);
    return 0;
}

/* "2026-12-01 22:10:00 from 127.0.0.1", or "-". */
static const char *
last_use(char *buf, const json_t *k)
{
    char when[FMT_LEN];
    if (!json_is_number(json_object_get(k, "last_used")))
        return "-";
    snprintf(buf, FMT_LEN, "%s from %s", fmt_time(when, json_object_get(k, "last_used")),
             str(k, "last_address"));
    return buf;
}

/* "never", "2026-12-02 21:00:00", or "2026-12-02 21:00:00 (expired)". */
static const char *
expiry(char *buf, const json_t *k)
{
    char when[FMT_LEN];
    if (!json_is_number(json_object_get(k, "expires")))
        return "never";
    snprintf(buf, FMT_LEN, "%s%s", fmt_time(when, json_object_get(k, "expires")),
             json_is_true(json_object_get(k, "expired")) ? " (expired)" : "");
    return buf;
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
    static const char *const heads[] = {
        "ID", "NAME", "ROLE", "CREATED", "BY", "EXPIRES", "OLD SECRET UNTIL", "LAST USED"};
    struct table t;
    table_init(&t, heads, 8);
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
        table_add(&t, "%s", expiry(buf, k));
        table_add(&t, "%s", fmt_time(buf, json_object_get(k, "previous_until")));
        table_add(&t, "%s", last_use(buf, k));
    }
    table_print(&t, stdout);
    table_free(&t);
    json_decref(r);
    return 0;
}

int
cmd_token_rotate(struct ctl *c, int argc, char **argv)
{
    const char *id;
    long long grace = -1;
    const struct ctl_opt opts[] = {{"--grace", OPT_UINT, &grace}, {NULL, 0, NULL}};
    int rc = ctl_parse(c, argc, argv, opts, &id, 1);
    if (rc)
        return ctl_parse_exit(rc);
    char *path = api_path("/api/v1/tokens/%s/rotate", id);
    json_t *body = grace >= 0 ? json_pack("{s:I}", "grace", (json_int_t)grace) : NULL, *r;
    rc = path ? api_do(c, "POST", path, body, 0, &r) : CTL_EXIT_FAIL;
    free(path);
    json_decref(body);
    if (rc || !r)
        return rc;
    char when[FMT_LEN];
    printf("%s\n", str(r, "token"));
    printf("token id %s ('%s', %s) rotated: the old secret works until %s; store the new one now, "
           "tarsd shows it only once\n",
           str(r, "id"), str(r, "name"), str(r, "role"),
           fmt_time(when, json_object_get(r, "previous_until")));
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
