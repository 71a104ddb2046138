/* The API's audit entries: one per finished request that changed something or was refused. */
#include <stdlib.h>
#include "audit.h"
#include "host.h"

int
audit_append(struct host *h, const struct api_req *q)
{
    const char *detail = q->status < 400 ? q->audit : q->message;
    char *method = audit_safe_dup(q->method), *path = audit_safe_dup(q->path),
         *what = audit_safe_dup(detail);
    json_t *who = q->who.role == ROLE_NONE
                      ? json_null()
                      : json_pack("{s:s, s:s, s:s}", "token", q->who.id, "name", q->who.name,
                                  "role", api_role_name(q->who.role));
    json_t *e =
        method && path && what && who
            ? json_pack("{s:f, s:o, s:s, s:s, s:s, s:i, s:s, s:s}", "time", host_wall(), "who", who,
                        "address", q->addr, "method", method, "path", path, "status", q->status,
                        "outcome", q->status < 400 ? "ok" : "refused", "detail", what)
            : (json_decref(who), NULL);
    free(method);
    free(path);
    free(what);
    return audit_log_append(h, e);
}
