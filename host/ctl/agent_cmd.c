/*
 * tarsctl agents, agent show|create|start|stop|reset|delete, params get: the agents tarsd
 * trains. Values given with --set are typed the way a shell user means them (numbers,
 * true/false, else text); tarsd checks them against the plugin's schema and its message is
 * what the user sees.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
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
cmd_agents(struct ctl *c, int argc, char **argv)
{
    int rc = ctl_parse(c, argc, argv, NULL, NULL, 0);
    if (rc)
        return ctl_parse_exit(rc);
    json_t *r;
    if ((rc = api_do(c, "GET", "/api/v1/agents", NULL, 0, &r)) || !r)
        return rc;
    static const char *const heads[] = {"ID",     "AGENT",    "ENV",       "STATE",
                                        ">STEPS", ">STEPS/S", ">EPISODES", ">MEAN RETURN"};
    struct table t;
    table_init(&t, heads, 8);
    size_t i;
    json_t *a;
    char buf[FMT_LEN];
    json_array_foreach(json_object_get(r, "agents"), i, a)
    {
        table_add(&t, "%s", str(a, "id"));
        table_add(&t, "%s", str(a, "agent"));
        table_add(&t, "%s", str(a, "env"));
        table_add(&t, "%s", str(a, "state"));
        table_add(&t, "%s", fmt_count(buf, json_object_get(a, "steps")));
        table_add(&t, "%s", fmt_rate(buf, json_object_get(a, "sps")));
        table_add(&t, "%s", fmt_count(buf, json_object_get(a, "episodes")));
        table_add(&t, "%s", fmt_fixed(buf, json_object_get(a, "mean_return"), 2));
    }
    if (table_rows(&t))
        table_print(&t, stdout);
    else
        printf("no agents (create one with tarsctl agent create)\n");
    table_free(&t);
    json_decref(r);
    return 0;
}

/*
 * An object's members as "key=value key=value", but for skip (NULL: none); reals to digits
 * significant digits, or exactly when digits is 0.
 */
static void
kv_members(const char *key, const json_t *o, const char *skip, int digits)
{
    printf("%-13s", key);
    const char *k;
    json_t *v;
    int n = 0;
    char buf[FMT_LEN];
    json_object_foreach((json_t *)o, k, v)
    {
        if (!skip || strcmp(k, skip) != 0)
            printf("%s%s=%s", n++ ? " " : "", k,
                   digits ? fmt_sig(buf, v, digits) : fmt_value(buf, v));
    }
    printf("%s\n", n ? "" : "-");
}

/* The last scalars record: when, then each value. */
static void
kv_scalars(const json_t *s)
{
    char a[FMT_LEN], b[FMT_LEN];
    if (!json_is_object(s)) {
        kv("scalars", "none yet");
        return;
    }
    kv("scalars at", "step %s, %s", fmt_count(a, json_object_get(s, "step")),
       fmt_time(b, json_object_get(s, "t")));
    json_t *copy = json_deep_copy(s);
    json_object_del(copy, "step");
    kv_members("scalars", copy, "t", 4);
    json_decref(copy);
}

/* The lines of agent show about progress: steps, returns, checkpoint, history. */
static void
show_progress(const json_t *r)
{
    char a[FMT_LEN], b[FMT_LEN], t[FMT_LEN];
    kv("steps", "%s (%s steps/s)", fmt_count(a, json_object_get(r, "steps")),
       fmt_rate(b, json_object_get(r, "sps")));
    kv("episodes", "%s", fmt_count(a, json_object_get(r, "episodes")));
    kv("return", "mean %s, last %s", fmt_fixed(a, json_object_get(r, "mean_return"), 2),
       fmt_fixed(b, json_object_get(r, "last_return"), 2));
    if (json_integer_value(json_object_get(r, "checkpoint_step")) > 0)
        kv("checkpoint", "step %s at %s", fmt_count(a, json_object_get(r, "checkpoint_step")),
           fmt_time(t, json_object_get(r, "checkpoint_time")));
    else
        kv("checkpoint", "none yet");
    const json_t *h = json_object_get(r, "history");
    kv("history", "episodes %s to %s (%s kept)", fmt_count(a, json_object_get(h, "first")),
       fmt_count(b, json_object_get(h, "last")), fmt_count(t, json_object_get(h, "count")));
}

static void
show_agent(const json_t *r)
{
    char a[FMT_LEN], b[FMT_LEN];
    kv("id", "%s", str(r, "id"));
    kv("agent", "%s %s", str(r, "agent"), str(r, "agent_version"));
    kv("env", "%s %s (%s envs, seed %s)", str(r, "env"), str(r, "env_version"),
       fmt_value(a, json_object_get(r, "n_envs")), fmt_value(b, json_object_get(r, "seed")));
    kv("state", "%s", str(r, "state"));
    if (json_is_string(json_object_get(r, "error")))
        kv("error", "%s", str(r, "error"));
    kv("preset", "%s", str(r, "preset"));
    kv("origin", "%s, created %s", str(r, "origin"), fmt_time(a, json_object_get(r, "created")));
    show_progress(r);
    kv_members("params", json_object_get(r, "params"), NULL, 0);
    kv_members("env params", json_object_get(r, "env_params"), NULL, 0);
    kv_scalars(json_object_get(r, "scalars"));
}

/* GET or POST /api/v1/agents/ID[/action] after parsing "ID"; *r as api_do sets it. */
static int
agent_call(struct ctl *c, int argc, char **argv, const char *method, const char *action,
           const char **id, json_t **r)
{
    *r = NULL;
    int rc = ctl_parse(c, argc, argv, NULL, id, 1);
    if (rc)
        return ctl_parse_exit(rc);
    char *path =
        action ? api_path("/api/v1/agents/%s/%s", *id, action) : api_path("/api/v1/agents/%s", *id);
    rc = path ? api_do(c, method, path, NULL, 0, r) : CTL_EXIT_FAIL;
    free(path);
    return rc;
}

int
cmd_agent_show(struct ctl *c, int argc, char **argv)
{
    const char *id;
    json_t *r;
    int rc = agent_call(c, argc, argv, "GET", NULL, &id, &r);
    if (rc || !r)
        return rc;
    show_agent(r);
    json_decref(r);
    return 0;
}

/* start, stop and reset answer with the agent's status. */
static int
lifecycle(struct ctl *c, int argc, char **argv, const char *action)
{
    const char *id;
    json_t *r;
    int rc = agent_call(c, argc, argv, "POST", action, &id, &r);
    if (rc || !r)
        return rc;
    char buf[FMT_LEN];
    printf("agent %s is %s at step %s\n", str(r, "id"), str(r, "state"),
           fmt_count(buf, json_object_get(r, "steps")));
    json_decref(r);
    return 0;
}

int
cmd_agent_start(struct ctl *c, int argc, char **argv)
{
    return lifecycle(c, argc, argv, "start");
}

int
cmd_agent_stop(struct ctl *c, int argc, char **argv)
{
    return lifecycle(c, argc, argv, "stop");
}

int
cmd_agent_reset(struct ctl *c, int argc, char **argv)
{
    return lifecycle(c, argc, argv, "reset");
}

int
cmd_agent_delete(struct ctl *c, int argc, char **argv)
{
    const char *id;
    json_t *r;
    int rc = agent_call(c, argc, argv, "DELETE", NULL, &id, &r);
    if (rc || !r)
        return rc;
    printf("deleted agent %s and its records\n", id);
    json_decref(r);
    return 0;
}

int
cmd_params_get(struct ctl *c, int argc, char **argv)
{
    const char *id;
    json_t *r;
    int rc = agent_call(c, argc, argv, "GET", "params", &id, &r);
    if (rc || !r)
        return rc;
    printf("agent parameters of %s:\n", id);
    schema_table(json_object_get(r, "schema"), json_object_get(r, "params"), stdout);
    printf("\nenv parameters of %s:\n", id);
    schema_table(json_object_get(r, "env_schema"), json_object_get(r, "env_params"), stdout);
    json_decref(r);
    return 0;
}

struct create_opts {
    const char *agent, *env, *preset;
    long long n_envs, seed;
    struct ctl_list sets, env_sets;
};

/* The request body of agent create from its options. Returns 0 or CTL_EXIT_USAGE. */
static int
create_body(const struct ctl *c, const char *id, const struct create_opts *o, json_t **body)
{
    if (!o->agent || !o->env)
        return ctl_usage_error(c, "missing %s", o->agent ? "--env" : "--agent");
    *body = json_pack("{s:s, s:s, s:s}", "id", id, "agent", o->agent, "env", o->env);
    json_t *params = NULL, *env_params = NULL;
    int rc = ctl_settings(c, "--set", o->sets.v, o->sets.n, &params);
    if (rc == 0)
        rc = ctl_settings(c, "--env-set", o->env_sets.v, o->env_sets.n, &env_params);
    if (o->preset)
        json_object_set_new(*body, "preset", json_string(o->preset));
    if (o->n_envs >= 0)
        json_object_set_new(*body, "n_envs", json_integer(o->n_envs));
    if (o->seed >= 0)
        json_object_set_new(*body, "seed", json_integer(o->seed));
    if (json_object_size(params))
        json_object_set(*body, "params", params);
    if (json_object_size(env_params))
        json_object_set(*body, "env_params", env_params);
    json_decref(params);
    json_decref(env_params);
    return rc;
}

int
cmd_agent_create(struct ctl *c, int argc, char **argv)
{
    struct create_opts o = {.n_envs = -1, .seed = -1};
    const struct ctl_opt opts[] = {
        {"--agent", OPT_STR, &o.agent},       {"--env", OPT_STR, &o.env},
        {"--preset", OPT_STR, &o.preset},     {"--n-envs", OPT_UINT, &o.n_envs},
        {"--seed", OPT_UINT, &o.seed},        {"--set", OPT_LIST, &o.sets},
        {"--env-set", OPT_LIST, &o.env_sets}, {NULL, 0, NULL},
    };
    const char *id;
    json_t *body = NULL, *r = NULL;
    int rc = ctl_parse(c, argc, argv, opts, &id, 1);
    if (rc == 0)
        rc = create_body(c, id, &o, &body);
    if (rc == 0)
        rc = api_do(c, "POST", "/api/v1/agents", body, 0, &r);
    json_decref(body);
    if (rc || !r)
        return ctl_parse_exit(rc);
    char buf[FMT_LEN];
    printf("created agent %s: %s on %s, %s envs, %s\n", str(r, "id"), str(r, "agent"),
           str(r, "env"), fmt_value(buf, json_object_get(r, "n_envs")), str(r, "state"));
    json_decref(r);
    return 0;
}

int
cmd_agent_export(struct ctl *c, int argc, char **argv)
{
    const char *id, *file = NULL, *format = NULL;
    const struct ctl_opt opts[] = {
        {"-o", OPT_STR, &file}, {"--format", OPT_STR, &format}, {NULL, OPT_FLAG, NULL}};
    int rc = ctl_parse(c, argc, argv, opts, &id, 1);
    if (rc)
        return ctl_parse_exit(rc);
    if (!file) {
        fprintf(stderr, "tarsctl: agent export needs -o FILE (the checkpoint is binary)\n");
        return CTL_EXIT_USAGE;
    }
    char *path = format ? api_path("/api/v1/agents/%s/export?format=%s", id, format)
                        : api_path("/api/v1/agents/%s/export", id);
    size_t len = 0;
    rc = path ? api_download(c, path, file, &len) : CTL_EXIT_FAIL;
    free(path);
    if (rc)
        return rc;
    json_t *o = c->json
                    ? json_pack("{s:s, s:s, s:I}", "id", id, "file", file, "bytes", (json_int_t)len)
                    : NULL;
    if (o) {
        json_dumpf(o, stdout, JSON_COMPACT);
        printf("\n");
        json_decref(o);
    } else
        printf("wrote agent %s's latest checkpoint to %s (%zu bytes)\n", id, file, len);
    return 0;
}
