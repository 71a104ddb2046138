/* The /api/v1 routes. This issue serves health; the full API follows (SPEC §8). */
#include <civetweb.h>
#include <math.h>
#include <string.h>
#include "host.h"
#include "http.h"
#include "rcu.h"
#include "tars/version.h"

static json_t *
number_or_null(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static json_t *
run_json(const struct run *r)
{
    struct run *m = (struct run *)r; /* atomics are read through non-const pointers */
    return json_pack("{s:s, s:s, s:s, s:s, s:i, s:I, s:I, s:o, s:o, s:o}", "id", r->id, "agent",
                     r->agent_plugin->info->name, "env", r->env_plugin->info->name, "state",
                     run_state_name(atomic_load(&m->state)), "n_envs", (int)r->n_envs, "steps",
                     (json_int_t)atomic_load(&m->steps), "episodes",
                     (json_int_t)atomic_load(&m->episodes), "sps",
                     number_or_null(atomic_load(&m->sps)), "mean_return",
                     number_or_null(atomic_load(&m->mean_return)), "last_return",
                     number_or_null(atomic_load(&m->last_return)));
}

static int
health(struct mg_connection *c, struct host *h)
{
    json_t *agents = json_array();
    rcu_enter();
    struct runset *set = runs_current(&h->runs);
    for (size_t i = 0; agents && i < set->n; i++)
        json_array_append_new(agents, run_json(set->v[i]));
    rcu_leave();
    return http_reply_json(c, 200,
                           json_pack("{s:s, s:s, s:f, s:o}", "status", "ok", "version",
                                     TARS_VERSION_STRING, "uptime_s", host_now() - h->started,
                                     "agents", agents ? agents : json_array()));
}

/* The route table: one handler per method and exact path. */
static const struct route {
    const char *method;
    const char *path;
    int (*fn)(struct mg_connection *c, struct host *h);
} routes[] = {
    {"GET", "/api/v1/health", health},
};

static int
dispatch(struct mg_connection *c, void *data)
{
    struct host *h = data;
    const struct mg_request_info *ri = mg_get_request_info(c);
    const char *path = ri->local_uri ? ri->local_uri : "";
    int path_known = 0;
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        if (strcmp(routes[i].path, path) != 0)
            continue;
        path_known = 1;
        if (strcmp(routes[i].method, ri->request_method) == 0)
            return routes[i].fn(c, h);
    }
    if (path_known)
        return http_reply_error(c, 405, "method_not_allowed", "%s is not allowed on %s",
                                ri->request_method, path);
    return http_reply_error(c, 404, "not_found", "no route %s %s", ri->request_method, path);
}

void
api_install(struct mg_context *ctx, struct host *h)
{
    mg_set_request_handler(ctx, "/api", dispatch, h);
}
