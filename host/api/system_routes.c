/* Health, version, the OpenAPI document, whoami and the audit log. */
#include <civetweb.h>
#include <string.h>
#include "api.h"
#include "blas.h"
#include "audit.h"
#include "host.h"
#include "rcu.h"
#include "tars/version.h"
#include "writer.h"

/* docs/openapi.json, embedded at build time (host/CMakeLists.txt). */
extern const unsigned char api_openapi_json[];
extern const unsigned long api_openapi_len;

/*
 * The state writer's view: degraded while its last attempt failed (and ok again as soon as
 * one commits), since when and how many attempts in a row, what the backlog holds and what it
 * dropped since the start. No paths or error texts: health needs no token.
 */
static json_t *
state_health(struct host *h, int *writes_ok)
{
    struct writer_stats st = {0};
    if (h->writer)
        writer_stats(h->writer, &st);
    *writes_ok = st.failing == 0;
    return json_pack("{s:o, s:I, s:I, s:{s:I, s:I, s:I}, s:I, s:I}", "failing_since",
                     st.failing ? json_real(st.failing_since) : json_null(), "failed_writes",
                     (json_int_t)st.failing, "failed_writes_total", (json_int_t)st.failures,
                     "dropped", "episodes", (json_int_t)st.dropped, "scalars",
                     (json_int_t)st.dropped_scalars, "checkpoints", (json_int_t)st.superseded,
                     "backlog_bytes", (json_int_t)st.backlog, "backlog_limit_bytes",
                     (json_int_t)(h->cfg.state_backlog_mb << 20));
}

int
api_health(struct api_req *q)
{
    struct host *h = q->h;
    rcu_enter();
    size_t n = runs_current(&h->runs)->n;
    rcu_leave();
    int writes_ok;
    json_t *state = state_health(h, &writes_ok);
    return api_reply(q, 200,
                     json_pack("{s:s, s:s, s:f, s:I, s:b, s:o}", "status",
                               writes_ok ? "ok" : "degraded", "version", TARS_VERSION_STRING,
                               "uptime_s", host_now() - h->started, "agents", (json_int_t)n,
                               "state_writes_ok", writes_ok, "state", state));
}

int
api_version(struct api_req *q)
{
    char abi[16];
    snprintf(abi, sizeof abi, "%d.%d", TARS_ABI_MAJOR, TARS_ABI_MINOR);
    return api_reply(q, 200,
                     json_pack("{s:s, s:s, s:s, s:s, s:s}", "version", TARS_VERSION_STRING, "abi",
                               abi, "sdk", tars_sdk_version(), "blas_core", blas_core(), "civetweb",
                               mg_version()));
}

int
api_openapi(struct api_req *q)
{
    json_error_t e;
    json_t *doc = json_loadb((const char *)api_openapi_json, api_openapi_len, 0, &e);
    if (!doc)
        return api_error(q, 500, "internal", "the embedded OpenAPI document is not JSON");
    return api_reply(q, 200, doc);
}

int
api_whoami(struct api_req *q)
{
    return api_reply(q, 200,
                     json_pack("{s:s, s:s, s:s}", "id", q->who.id, "name", q->who.name, "role",
                               api_role_name(q->who.role)));
}

int
api_audit_list(struct api_req *q)
{
    uint64_t before, limit;
    if (api_query_u64(q, "before", 0, 0, UINT64_MAX, &before) ||
        api_query_u64(q, "limit", 100, 1, 1000, &limit))
        return q->status;
    json_t *entries = audit_list(q->h, before, (size_t)limit);
    size_t n = json_array_size(entries);
    json_t *last = json_array_get(entries, n ? n - 1 : 0);
    json_int_t oldest = n ? json_integer_value(json_object_get(last, "seq")) : 0;
    return api_reply(q, 200,
                     json_pack("{s:o, s:o}", "entries", entries, "next_before",
                               n == limit && oldest > 1 ? json_integer(oldest) : json_null()));
}
