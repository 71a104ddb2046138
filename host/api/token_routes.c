/* Tokens: list, create (the text is shown once), revoke. Admin only (routes.c). */
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

int
api_token_create(struct api_req *q)
{
    json_t *b = q->body;
    const char *key;
    json_t *v;
    if (!json_is_object(b))
        return api_error(q, 400, "invalid", "the body must be an object {\"role\", \"name\"}");
    json_object_foreach(b, key, v)
    {
        if (strcmp(key, "role") != 0 && strcmp(key, "name") != 0)
            return api_error(q, 400, "invalid", "unknown key '%s' (expected role, name)", key);
    }
    const char *role_s = json_string_value(json_object_get(b, "role"));
    const char *name = json_string_value(json_object_get(b, "name"));
    enum api_role role = role_s ? api_role_parse(role_s) : ROLE_NONE;
    if (role == ROLE_NONE)
        return api_error(q, 400, "invalid", "role must be \"viewer\", \"operator\" or \"admin\"");
    if (!name || !name_ok(name))
        return api_error(q, 400, "invalid",
                         "name must be a string of 1 to 64 printable characters");
    char text[TOKEN_TEXT_LEN + 1], id[17], err[512];
    if (tokens_create(q->h, role, name, q->who.name, text, id, err, sizeof err))
        return api_error(q, 500, "internal", "%s", err);
    snprintf(q->audit, sizeof q->audit, "created %s token %s '%s'", role_s, id, name);
    int status = api_reply(
        q, 201,
        json_pack("{s:s, s:s, s:s, s:s}", "id", id, "token", text, "role", role_s, "name", name));
    memset(text, 0, sizeof text);
    return status;
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
