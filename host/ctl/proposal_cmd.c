/*
 * tarsctl params set, propose, proposals, proposal, approve and reject: parameter changes and
 * the HyperSync proposals that carry them (SPEC §6). An admin's `params set` applies at once;
 * an operator's is a proposal, as is every `propose`, which the approval mode applies at once
 * or leaves pending for an admin's `approve` or `reject`. Each reply is a proposal's record;
 * the human output says what became of it, old -> new, and how fast it applied.
 */
#include <stdlib.h>
#include <string.h>
#include "api_client.h"
#include "ctl.h"
#include "table.h"

/* The most KEY=VALUE words one command takes (the shell's limit comes first in practice). */
#define CHANGES_MAX 128

static const char *
str(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "-";
}

/* Microseconds as "850 µs", "2.39 ms" or "1.25 s"; "-" when absent. */
static const char *
fmt_micros(char *buf, const json_t *v)
{
    if (!json_is_number(v))
        return fmt_value(buf, NULL);
    double us = json_number_value(v);
    if (us < 1000)
        snprintf(buf, FMT_LEN, "%.3g µs", us);
    else if (us < 1e6)
        snprintf(buf, FMT_LEN, "%.3g ms", us / 1e3);
    else
        snprintf(buf, FMT_LEN, "%.3g s", us / 1e6);
    return buf;
}

/*
 * A diff {params|env_params: {name: {old, new}}} as "name old -> new" items joined by sep, env
 * parameters marked "env "; "no value changed" when empty. Returns a string to free, or NULL.
 */
static char *
diff_text(const json_t *diff, const char *sep)
{
    static const char *const scopes[][2] = {{"params", ""}, {"env_params", "env "}};
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    if (!f)
        return NULL;
    int n = 0;
    for (size_t s = 0; s < 2; s++) {
        const char *name;
        json_t *c;
        char a[FMT_LEN], b[FMT_LEN];
        json_object_foreach(json_object_get(diff, scopes[s][0]), name, c)
        {
            fprintf(f, "%s%s%s %s -> %s", n++ ? sep : "", scopes[s][1], name,
                    fmt_value(a, json_object_get(c, "old")),
                    fmt_value(b, json_object_get(c, "new")));
        }
    }
    if (n == 0)
        fputs("no value changed", f);
    if (fclose(f) != 0) {
        free(out);
        return NULL;
    }
    return out;
}

/* "name (role)" of a {token, name, role}, or "tarsd" for null (the daemon itself). */
static const char *
who(char *buf, size_t len, const json_t *by)
{
    if (!json_is_object(by))
        snprintf(buf, len, "tarsd");
    else
        snprintf(buf, len, "%s (%s)", str(by, "name"), str(by, "role"));
    return buf;
}

/* The latency of an applied change, for a sentence: "published in 2.39 ms, first used ...". */
static void
print_latency(const json_t *rec, FILE *f)
{
    const json_t *o = json_object_get(rec, "outcome");
    char a[FMT_LEN], b[FMT_LEN], s[FMT_LEN];
    if (!json_is_object(o))
        return;
    if (json_is_true(json_object_get(o, "recreated"))) {
        fprintf(f, "re-created in %s", fmt_micros(a, json_object_get(o, "publish_us")));
        return;
    }
    fprintf(f, "published in %s, ", fmt_micros(a, json_object_get(o, "publish_us")));
    if (json_is_number(json_object_get(o, "first_use_us")))
        fprintf(f, "first used after %s at step %s",
                fmt_micros(b, json_object_get(o, "first_use_us")),
                fmt_count(s, json_object_get(o, "first_use_step")));
    else
        fprintf(f, "not stepped with within 2 s (the agent is not running)");
}

/* One line saying what became of a proposal that a command made or decided. */
static void
print_outcome(const json_t *rec)
{
    long long id = (long long)json_integer_value(json_object_get(rec, "id"));
    const char *state = str(rec, "state"), *agent = str(rec, "agent");
    char *what = diff_text(json_object_get(rec, "diff"), ", ");
    const json_t *diff = json_object_get(rec, "diff");
    int nothing = json_object_size(json_object_get(diff, "params")) +
                      json_object_size(json_object_get(diff, "env_params")) ==
                  0;
    if (strcmp(state, "pending_approval") == 0) {
        printf("proposal %lld for %s is pending approval: %s (an admin decides: tarsctl approve "
               "%lld, tarsctl reject %lld)\n",
               id, agent, what ? what : "?", id, id);
    } else if (strcmp(state, "applied") == 0 && nothing) {
        printf("proposal %lld for %s applied: every value was already so, nothing changed\n", id,
               agent);
    } else if (strcmp(state, "applied") == 0) {
        printf("proposal %lld applied to %s: %s (", id, agent, what ? what : "?");
        print_latency(rec, stdout);
        printf(")\n");
    } else if (strcmp(state, "rejected") == 0) {
        printf("proposal %lld for %s rejected: %s\n", id, agent, what ? what : "?");
    } else {
        printf("proposal %lld for %s is %s: %s\n", id, agent, state, what ? what : "?");
    }
    free(what);
}

/* The options of params set and propose. */
struct change_opts {
    struct ctl_list env;
    int recreate;
    const char *reason, *expected;
};

/*
 * The body of a change from its words and options ("agent" too when agent is given). Returns
 * 0 or an exit code after one line; *body is the caller's to json_decref either way.
 */
static int
change_body(const struct ctl *c, const char *const *words, int n, const struct change_opts *o,
            const char *agent, json_t **body)
{
    json_t *params = NULL, *env = NULL;
    double expected = 0;
    *body = json_object();
    int rc = ctl_settings(c, "a change", words, n, &params);
    if (rc == 0)
        rc = ctl_settings(c, "--env", o->env.v, o->env.n, &env);
    if (rc == 0 && o->expected)
        rc = ctl_parse_number(c, "--expected", o->expected, &expected);
    if (rc == 0 && json_object_size(params) + json_object_size(env) == 0)
        rc = ctl_usage_error(c, "nothing to change: give KEY=VALUE or --env KEY=VALUE");
    if (rc == 0) {
        if (agent)
            json_object_set_new(*body, "agent", json_string(agent));
        if (json_object_size(params))
            json_object_set(*body, "params", params);
        if (json_object_size(env))
            json_object_set(*body, "env_params", env);
        if (o->recreate)
            json_object_set_new(*body, "recreate", json_true());
        if (o->reason)
            json_object_set_new(*body, "rationale", json_string(o->reason));
        if (o->expected)
            json_object_set_new(*body, "expected_improvement", json_real(expected));
    }
    json_decref(params);
    json_decref(env);
    return rc;
}

/* params set and propose: parse, send, say what became of it. */
static int
change(struct ctl *c, int argc, char **argv, int propose)
{
    struct change_opts o = {0};
    const struct ctl_opt opts[] = {
        {"--env", OPT_LIST, &o.env},
        {"--recreate", OPT_FLAG, &o.recreate},
        {"--reason", OPT_STR, &o.reason},
        {"--expected", OPT_STR, &o.expected},
        {NULL, 0, NULL},
    };
    const char *pos[1 + CHANGES_MAX];
    int n;
    json_t *body = NULL, *r = NULL;
    int rc = ctl_parse_n(c, argc, argv, opts, pos, 1, 1 + CHANGES_MAX, &n);
    if (rc == 0)
        rc = change_body(c, pos + 1, n - 1, &o, propose ? pos[0] : NULL, &body);
    if (rc == 0) {
        char *path =
            propose ? strdup("/api/v1/proposals") : api_path("/api/v1/agents/%s/params", pos[0]);
        rc = path ? api_do(c, propose ? "POST" : "PATCH", path, body, 0, &r) : CTL_EXIT_FAIL;
        free(path);
    }
    json_decref(body);
    if (rc || !r)
        return ctl_parse_exit(rc);
    print_outcome(r);
    json_decref(r);
    return 0;
}

int
cmd_params_set(struct ctl *c, int argc, char **argv)
{
    return change(c, argc, argv, 0);
}

int
cmd_propose(struct ctl *c, int argc, char **argv)
{
    return change(c, argc, argv, 1);
}

/* A proposal id: a whole number from 1. Returns 0 or CTL_EXIT_USAGE after one line. */
static int
proposal_id(const struct ctl *c, const char *text, long long *id)
{
    char *end;
    long long v = strtoll(text, &end, 10);
    if (text[0] < '0' || text[0] > '9' || *end || v < 1)
        return ctl_usage_error(c, "a proposal ID is a whole number from 1, not '%s'", text);
    *id = v;
    return 0;
}

/* Appends "?key=value" or "&key=value" to f, the value percent-encoded; *n counts them. */
static void
query_add(FILE *f, int *n, const char *key, const char *value)
{
    char *v = api_path("%s", value);
    fprintf(f, "%c%s=%s", (*n)++ ? '&' : '?', key, v ? v : "");
    free(v);
}

/* GET /api/v1/proposals with the list's options. Returns the path to free, or NULL. */
static char *
list_path(const char *agent, const char *state, long long limit, long long before)
{
    char *out = NULL, num[32];
    size_t len = 0;
    int n = 0;
    FILE *f = open_memstream(&out, &len);
    if (!f)
        return NULL;
    fputs("/api/v1/proposals", f);
    if (agent)
        query_add(f, &n, "agent", agent);
    if (state)
        query_add(f, &n, "state", state);
    if (limit >= 0) {
        snprintf(num, sizeof num, "%lld", limit);
        query_add(f, &n, "limit", num);
    }
    if (before >= 0) {
        snprintf(num, sizeof num, "%lld", before);
        query_add(f, &n, "before", num);
    }
    if (fclose(f) != 0) {
        free(out);
        return NULL;
    }
    return out;
}

/* One proposal as a row: id, agent, state, changes, by, when. */
static void
proposal_row(struct table *t, const json_t *p)
{
    char buf[FMT_LEN], by[160];
    const json_t *hist = json_object_get(p, "history");
    const json_t *last = json_array_get(hist, json_array_size(hist) - 1);
    char *what = diff_text(json_object_get(p, "diff"), ", ");
    table_add(t, "%s", fmt_value(buf, json_object_get(p, "id")));
    table_add(t, "%s", str(p, "agent"));
    table_add(t, "%s", str(p, "state"));
    table_add(t, "%s%s", what ? what : "?",
              json_is_true(json_object_get(json_object_get(p, "request"), "recreate"))
                  ? " (re-creates)"
                  : "");
    table_add(t, "%s", who(by, sizeof by, json_object_get(p, "by")));
    table_add(t, "%s", fmt_time(buf, json_object_get(last ? last : p, last ? "time" : "created")));
    free(what);
}

int
cmd_proposals(struct ctl *c, int argc, char **argv)
{
    const char *agent = NULL, *state = NULL;
    long long limit = -1, before = -1;
    const struct ctl_opt opts[] = {
        {"--agent", OPT_STR, &agent},
        {"--state", OPT_STR, &state},
        {"--limit", OPT_UINT, &limit},
        {"--before", OPT_UINT, &before},
        {NULL, 0, NULL},
    };
    int rc = ctl_parse(c, argc, argv, opts, NULL, 0);
    if (rc)
        return ctl_parse_exit(rc);
    if (limit == 0 || limit > 1000)
        return ctl_usage_error(c, "--limit needs a number in [1, 1000], not %lld", limit);
    if (before == 0)
        return ctl_usage_error(c, "--before needs a proposal ID from 1, not 0");
    char *path = list_path(agent, state, limit, before);
    json_t *r = NULL;
    rc = path ? api_do(c, "GET", path, NULL, 0, &r) : CTL_EXIT_FAIL;
    free(path);
    if (rc || !r)
        return rc;
    static const char *const heads[] = {">ID", "AGENT", "STATE", "CHANGES", "BY", "WHEN"};
    struct table t;
    table_init(&t, heads, 6);
    size_t i;
    json_t *p;
    const json_t *list = json_object_get(r, "proposals");
    json_array_foreach(list, i, p)
    {
        proposal_row(&t, p);
    }
    if (table_rows(&t))
        table_print(&t, stdout);
    else
        printf("no proposals%s%s%s%s%s\n", state ? " " : "", state ? state : "",
               agent ? " for " : "", agent ? agent : "", before > 0 ? " before that" : "");
    const char *mode = str(r, "mode");
    printf("approval mode %s", mode);
    if (strcmp(mode, "threshold") == 0)
        printf(" (expected improvement >= %g)", json_number_value(json_object_get(r, "threshold")));
    putchar('\n');
    size_t n = json_array_size(list);
    if (n && n == (size_t)(limit > 0 ? limit : 100)) {
        long long oldest =
            (long long)json_integer_value(json_object_get(json_array_get(list, n - 1), "id"));
        if (oldest > 1) {
            printf("older proposals: tarsctl proposals --before %lld", oldest);
            if (limit > 0)
                printf(" --limit %lld", limit);
            if (agent)
                printf(" --agent %s", agent);
            if (state)
                printf(" --state %s", state);
            putchar('\n');
        }
    }
    table_free(&t);
    json_decref(r);
    return 0;
}

/* Parses "ID" and opts. Returns 0 or an exit code (CTL_HELP_SHOWN after --help). */
static int
proposal_args(struct ctl *c, int argc, char **argv, const struct ctl_opt *opts, long long *id)
{
    const char *text;
    int rc = ctl_parse(c, argc, argv, opts, &text, 1);
    return rc ? rc : proposal_id(c, text, id);
}

/* GET /api/v1/proposals/ID, or POST .../ID/action with body; *r as api_do sets it. */
static int
proposal_call(struct ctl *c, long long id, const char *action, json_t *body, json_t **r)
{
    char path[96];
    snprintf(path, sizeof path, "/api/v1/proposals/%lld%s%s", id, action ? "/" : "",
             action ? action : "");
    return api_do(c, action ? "POST" : "GET", path, body, 0, r);
}

/* The detail of one proposal, its history last. */
static void
show_proposal(const json_t *p)
{
    char a[FMT_LEN], b[FMT_LEN], by[160];
    const json_t *req = json_object_get(p, "request");
    const json_t *o = json_object_get(p, "outcome");
    char *what = diff_text(json_object_get(p, "diff"), "\n             ");
    kv("id", "%s", fmt_value(a, json_object_get(p, "id")));
    kv("agent", "%s", str(p, "agent"));
    kv("state", "%s", str(p, "state"));
    kv("changes", "%s", what ? what : "?");
    kv("recreate", "%s", json_is_true(json_object_get(req, "recreate")) ? "yes" : "no");
    kv("rationale", "%s", str(p, "rationale"));
    kv("expected", "%s", fmt_value(a, json_object_get(p, "expected_improvement")));
    kv("proposed by", "%s, %s", who(by, sizeof by, json_object_get(p, "by")),
       fmt_time(b, json_object_get(p, "created")));
    if (json_is_object(json_object_get(p, "decided_by")))
        kv("decided by", "%s", who(by, sizeof by, json_object_get(p, "decided_by")));
    if (json_is_object(o)) {
        printf("%-13sversion %s, ", "outcome", fmt_value(a, json_object_get(o, "version")));
        print_latency(p, stdout);
        putchar('\n');
    }
    if (json_is_string(json_object_get(p, "error")))
        kv("error", "%s", str(p, "error"));
    free(what);

    static const char *const heads[] = {"TIME", "STATE", "BY", "NOTE"};
    struct table t;
    table_init(&t, heads, 4);
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(p, "history"), i, e)
    {
        const char *note = json_string_value(json_object_get(e, "note"));
        table_add(&t, "%s", fmt_time(a, json_object_get(e, "time")));
        table_add(&t, "%s", str(e, "state"));
        table_add(&t, "%s", who(by, sizeof by, json_object_get(e, "by")));
        table_add(&t, "%s", note ? note : "");
    }
    printf("\nhistory:\n");
    table_print(&t, stdout);
    table_free(&t);
}

int
cmd_proposal_show(struct ctl *c, int argc, char **argv)
{
    long long id;
    json_t *r;
    int rc = proposal_args(c, argc, argv, NULL, &id);
    if (rc)
        return ctl_parse_exit(rc);
    if ((rc = proposal_call(c, id, NULL, NULL, &r)) || !r)
        return rc;
    show_proposal(r);
    json_decref(r);
    return 0;
}

/* approve and reject: the decision, with --reason. */
static int
decide(struct ctl *c, int argc, char **argv, const char *action)
{
    const char *reason = NULL;
    const struct ctl_opt opts[] = {{"--reason", OPT_STR, &reason}, {NULL, 0, NULL}};
    long long id;
    json_t *r;
    int rc = proposal_args(c, argc, argv, opts, &id);
    if (rc)
        return ctl_parse_exit(rc);
    json_t *body = reason ? json_pack("{s:s}", "reason", reason) : NULL;
    rc = proposal_call(c, id, action, body, &r);
    json_decref(body);
    if (rc || !r)
        return rc;
    print_outcome(r);
    json_decref(r);
    return 0;
}

int
cmd_approve(struct ctl *c, int argc, char **argv)
{
    return decide(c, argc, argv, "approve");
}

int
cmd_reject(struct ctl *c, int argc, char **argv)
{
    return decide(c, argc, argv, "reject");
}
