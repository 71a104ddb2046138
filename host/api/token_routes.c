/* Tokens: list, create (the text is shown once), rotate, revoke. Admin only (routes.c). */
#include <errno.h>
#include <string.h>
#include "api.h"
#include "host.h"
#include "tokens.h"

int
api_tokens_list(struct api_req *q)
{
    return api_reply(q, 200, json_pack("{s:o}", "tokens", tokens_list(q->h)));
}

static int
name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64)
        return 0;
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 0;
    return 1;
}

/* A whole number of seconds in [min, max] at key of the body (def when absent): 0, or -1 when
 * it replied 400. */
static int
seconds(struct api_req *q, const char *key, json_int_t def, json_int_t min, json_int_t max,
        json_int_t *out)
{
    json_t *v = json_object_get(q->body, key);
    *out = def;
    if (!v)
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max) {
        api_error(q, 400, "invalid", "%s must be a whole number of seconds from %lld to %lld", key,
                  (long long)min, (long long)max);
        return -1;
    }
    *out = json_integer_value(v);
    return 0;
}

/* Refuses a body that is not an object of these keys: 0, or -1 when it replied 400. */
static int
only_keys(struct api_req *q, const char *const *keys, const char *expected)
{
    const char *key;
    json_t *v;
    if (!json_is_object(q->body)) {
        api_error(q, 400, "invalid", "the body must be an object {%s}", expected);
        return -1;
    }
    json_object_foreach(q->body, key, v)
    {
        int known = 0;
        for (const char *const *k = keys; *k; k++)
            known |= strcmp(key, *k) == 0;
        if (!known) {
            api_error(q, 400, "invalid", "unknown key '%s' (expected %s)", key, expected);
            return -1;
        }
    }
    return 0;
}

int
api_token_create(struct api_req *q)
{
    static const char *const keys[] = {"role", "name", "expires_in", NULL};
    json_int_t expires_in;
    if (only_keys(q, keys, "role, name, expires_in") ||
        seconds(q, "expires_in", 0, 1, TOKEN_EXPIRES_MAX, &expires_in))
        return q->status;
    const char *role_s = json_string_value(json_object_get(q->body, "role"));
    const char *name = json_string_value(json_object_get(q->body, "name"));
    enum api_role role = role_s ? api_role_parse(role_s) : ROLE_NONE;
    if (role == ROLE_NONE)
        return api_error(q, 400, "invalid", "role must be \"viewer\", \"operator\" or \"admin\"");
    if (!name || !name_ok(name))
        return api_error(q, 400, "invalid",
                         "name must be a string of 1 to 64 printable characters");
    char text[TOKEN_TEXT_LEN + 1], id[17], err[512];
    double expires = expires_in ? host_wall() + (double)expires_in : 0;
    int rc = tokens_create(q->h, role, name, q->who.name, expires, text, id, err, sizeof err);
    if (rc)
        return api_errno(q, rc, err);
    if (expires_in)
        snprintf(q->audit, sizeof q->audit, "created %s token %s '%s' expiring in %lld s", role_s,
                 id, name, (long long)expires_in);
    else
        snprintf(q->audit, sizeof q->audit, "created %s token %s '%s'", role_s, id, name);
    json_t *reply =
        json_pack("{s:s, s:s, s:s, s:s}", "id", id, "token", text, "role", role_s, "name", name);
    json_object_set_new(reply, "expires", expires ? json_real(expires) : json_null());
    memset(text, 0, sizeof text);
    return api_reply(q, 201, reply);
}

int
api_token_rotate(struct api_req *q)
{
    static const char *const keys[] = {"grace", NULL};
    json_int_t grace;
    if (q->body && only_keys(q, keys, "grace"))
        return q->status;
    if (seconds(q, "grace", TOKEN_GRACE_DEFAULT, 0, TOKEN_GRACE_MAX, &grace))
        return q->status;
    char text[TOKEN_TEXT_LEN + 1], err[512];
    double until = 0;
    int rc = tokens_rotate(q->h, q->params[0], (double)grace, text, &until, err, sizeof err);
    if (rc)
        return api_errno(q, rc, err);
    struct api_who who;
    tokens_verify(q->h, text, &who); /* its name and role, for the reply */
    snprintf(q->audit, sizeof q->audit,
             "rotated token %s '%s': the old secret works for %lld s more", q->params[0], who.name,
             (long long)grace);
    json_t *reply = json_pack("{s:s, s:s, s:s, s:s, s:I, s:f}", "id", q->params[0], "token", text,
                              "role", api_role_name(who.role), "name", who.name, "grace", grace,
                              "previous_until", until);
    memset(text, 0, sizeof text);
    return api_reply(q, 200, reply);
}

int
api_token_delete(struct api_req *q)
{
    char err[512];
    int rc = tokens_revoke(q->h, q->params[0], err, sizeof err);
    if (rc)
        return api_errno(q, rc, err);
    snprintf(q->audit, sizeof q->audit, "revoked token %s", q->params[0]);
    return api_reply(q, 200, json_pack("{s:s, s:b}", "id", q->params[0], "revoked", 1));
}
