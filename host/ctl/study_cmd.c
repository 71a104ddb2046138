/*
 * tarsctl studies, study create|show|trials|best|stop|resume|delete|propose: AutoML studies
 * (docs/studies.md). A study is named by its id or its name. create reads the study's JSON
 * from a file ("-": standard input), as POST /api/v1/studies takes it.
 */
#include <ctype.h>
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

/* The path of a study named by id or name: "/api/v1/studies/<id>" into buf. */
static int
study_path(struct ctl *c, const char *which, const char *tail, char *buf, size_t len)
{
    int digits = *which != 0;
    for (const char *p = which; *p; p++)
        digits &= isdigit((unsigned char)*p) != 0;
    long long id = digits ? atoll(which) : 0;
    if (!digits) {
        json_t *r;
        int json = c->json; /* the look-up is not the command's reply: never printed */
        c->json = 0;
        int rc = api_do(c, "GET", "/api/v1/studies", NULL, 0, &r);
        c->json = json;
        if (rc || !r)
            return rc ? rc : CTL_EXIT_FAIL;
        size_t i;
        json_t *s;
        json_array_foreach(json_object_get(r, "studies"), i,
                           s) if (strcmp(str(s, "name"), which) == 0) id =
            json_integer_value(json_object_get(s, "id"));
        json_decref(r);
        if (!id) {
            fprintf(stderr, "tarsctl: no study named '%s' (tarsctl studies lists them)\n", which);
            return CTL_EXIT_FAIL;
        }
    }
    snprintf(buf, len, "/api/v1/studies/%lld%s", id, tail);
    return 0;
}

/* Parses a command's ID|NAME (and opts), then METHOD on that study's path + tail: 0 with *r
 * (NULL with --json: printed), or the exit code. */
static int
study_call(struct ctl *c, int argc, char **argv, const struct ctl_opt *opts, const char *method,
           const char *tail, json_t *body, const char **which, json_t **r)
{
    char path[256];
    *r = NULL;
    int rc = ctl_parse(c, argc, argv, opts, which, 1);
    if (rc)
        return ctl_parse_exit(rc);
    if ((rc = study_path(c, *which, tail, path, sizeof path)))
        return rc;
    return api_do(c, method, path, body, 0, r);
}

static const char *
fmt_trials(char *buf, const json_t *t)
{
    snprintf(buf, FMT_LEN, "%lld/%lld/%lld/%lld",
             (long long)json_integer_value(json_object_get(t, "running")),
             (long long)json_integer_value(json_object_get(t, "complete")),
             (long long)json_integer_value(json_object_get(t, "pruned")),
             (long long)json_integer_value(json_object_get(t, "failed")));
    return buf;
}

int
cmd_studies(struct ctl *c, int argc, char **argv)
{
    int rc = ctl_parse(c, argc, argv, NULL, NULL, 0);
    if (rc)
        return ctl_parse_exit(rc);
    json_t *r;
    if ((rc = api_do(c, "GET", "/api/v1/studies", NULL, 0, &r)) || !r)
        return rc;
    static const char *const heads[] = {
        ">ID", "NAME", "AGENT", "STATE", ">PROGRESS", "RUN/OK/PRUNED/FAILED", ">BEST"};
    struct table t;
    table_init(&t, heads, 7);
    size_t i;
    json_t *s;
    char buf[FMT_LEN];
    json_array_foreach(json_object_get(r, "studies"), i, s)
    {
        table_add(&t, "%s", fmt_value(buf, json_object_get(s, "id")));
        table_add(&t, "%s", str(s, "name"));
        table_add(&t, "%s", str(s, "agent"));
        table_add(&t, "%s", str(s, "state"));
        json_t *p = json_object_get(s, "progress");
        if (json_is_number(p))
            table_add(&t, "%.0f%%", 100 * json_number_value(p));
        else
            table_add(&t, "-");
        table_add(&t, "%s", fmt_trials(buf, json_object_get(s, "trials")));
        table_add(&t, "%s", fmt_sig(buf, json_object_get(s, "best_value"), 6));
    }
    if (table_rows(&t))
        table_print(&t, stdout);
    else
        printf("no studies (create one with tarsctl study create FILE.json)\n");
    table_free(&t);
    json_decref(r);
    return 0;
}

int
cmd_study_create(struct ctl *c, int argc, char **argv)
{
    const char *file;
    int rc = ctl_parse(c, argc, argv, NULL, &file, 1);
    if (rc)
        return ctl_parse_exit(rc);
    json_error_t e;
    json_t *body = strcmp(file, "-") == 0 ? json_loadf(stdin, 0, &e) : json_load_file(file, 0, &e);
    if (!body) {
        fprintf(stderr, "tarsctl: %s:%d:%d: %s\n", strcmp(file, "-") ? file : "stdin", e.line,
                e.column, e.text);
        return CTL_EXIT_USAGE;
    }
    json_t *r;
    rc = api_do(c, "POST", "/api/v1/studies", body, 0, &r);
    json_decref(body);
    if (rc || !r)
        return rc;
    printf("study %lld '%s' created: %lld trials of %s on %s\n",
           (long long)json_integer_value(json_object_get(r, "id")), str(r, "name"),
           (long long)json_integer_value(json_object_get(r, "n_trials")),
           str(json_object_get(r, "spec"), "agent"), str(json_object_get(r, "spec"), "env"));
    json_decref(r);
    return 0;
}

/* "name=value ..." of a trial's parameters. */
static void
print_params(const json_t *params)
{
    const char *k;
    json_t *v;
    int n = 0;
    char buf[FMT_LEN];
    json_object_foreach((json_t *)params, k, v)
    {
        printf("%s%s=%s", n++ ? " " : "", k, fmt_sig(buf, v, 6));
    }
}

int
cmd_study_show(struct ctl *c, int argc, char **argv)
{
    const char *which;
    char buf[FMT_LEN];
    json_t *r;
    int rc = study_call(c, argc, argv, NULL, "GET", "", NULL, &which, &r);
    if (rc || !r)
        return rc;
    json_t *spec = json_object_get(r, "spec");
    kv("study", "%s (id %s)", str(r, "name"), fmt_value(buf, json_object_get(r, "id")));
    kv("state", "%s", str(r, "state"));
    if (json_object_get(r, "error"))
        kv("error", "%s", str(r, "error"));
    kv("agent", "%s on %s", str(spec, "agent"), str(spec, "env"));
    kv("sampler", "%s", str(json_object_get(spec, "sampler"), "name"));
    kv("pruner", "%s",
       json_is_object(json_object_get(spec, "pruner"))
           ? str(json_object_get(spec, "pruner"), "name")
           : "none");
    kv("trials", "%s of %s (running/complete/pruned/failed)",
       fmt_trials(buf, json_object_get(r, "trials")),
       fmt_value((char[FMT_LEN]){0}, json_object_get(r, "n_trials")));
    kv("best", "%s (trial %s)", fmt_sig(buf, json_object_get(r, "best_value"), 6),
       fmt_value((char[FMT_LEN]){0}, json_object_get(r, "best_trial")));
    kv("trials/hour", "%s", fmt_sig(buf, json_object_get(r, "trials_per_hour"), 4));
    json_decref(r);
    return 0;
}

int
cmd_study_trials(struct ctl *c, int argc, char **argv)
{
    const char *which, *state = NULL;
    long long limit = 100, from = 0;
    const struct ctl_opt opts[] = {{"--state", OPT_STR, &state},
                                   {"--limit", OPT_UINT, &limit},
                                   {"--from", OPT_UINT, &from},
                                   {NULL, OPT_FLAG, NULL}};
    char path[256], tail[96], buf[FMT_LEN];
    int rc = ctl_parse(c, argc, argv, opts, &which, 1);
    if (rc)
        return ctl_parse_exit(rc);
    snprintf(tail, sizeof tail, "/trials?from=%lld&limit=%lld%s%s", from, limit,
             state ? "&state=" : "", state ? state : "");
    json_t *r;
    if ((rc = study_path(c, which, tail, path, sizeof path)) ||
        (rc = api_do(c, "GET", path, NULL, 0, &r)) || !r)
        return rc;
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(r, "trials"), i, t)
    {
        printf("%5s  %-8s  %12s  step %-8s  ", fmt_value(buf, json_object_get(t, "number")),
               str(t, "state"), fmt_sig((char[FMT_LEN]){0}, json_object_get(t, "value"), 6),
               fmt_value((char[FMT_LEN]){0}, json_object_get(t, "last_step")));
        print_params(json_object_get(t, "params"));
        printf("\n");
    }
    if (!json_array_size(json_object_get(r, "trials")))
        printf("no trials%s%s\n", state ? " in state " : "", state ? state : "");
    json_decref(r);
    return 0;
}

int
cmd_study_best(struct ctl *c, int argc, char **argv)
{
    const char *which;
    char buf[FMT_LEN];
    json_t *r;
    int rc = study_call(c, argc, argv, NULL, "GET", "/best", NULL, &which, &r);
    if (rc || !r)
        return rc;
    json_t *b = json_object_get(r, "best");
    json_t *front = json_object_get(r, "pareto_front");
    size_t i;
    json_t *t;
    if (b) {
        printf("trial %s: %s  ", fmt_value(buf, json_object_get(b, "number")),
               fmt_sig((char[FMT_LEN]){0}, json_object_get(b, "value"), 8));
        print_params(json_object_get(b, "params"));
        printf("\n");
    }
    json_array_foreach(front, i, t)
    {
        char *values = join_strings(json_object_get(t, "values"), ", ");
        printf("trial %s: [%s]  ", fmt_value(buf, json_object_get(t, "number")),
               values ? values : "");
        free(values);
        print_params(json_object_get(t, "params"));
        printf("\n");
    }
    json_decref(r);
    return 0;
}

static int
lifecycle(struct ctl *c, int argc, char **argv, const char *method, const char *tail,
          const char *done)
{
    const char *which;
    json_t *r;
    int rc = study_call(c, argc, argv, NULL, method, tail, NULL, &which, &r);
    if (rc || !r)
        return rc;
    printf("study %s %s\n", which, done);
    json_decref(r);
    return 0;
}

int
cmd_study_stop(struct ctl *c, int argc, char **argv)
{
    return lifecycle(c, argc, argv, "POST", "/stop", "stopped (its running trials are paused)");
}

int
cmd_study_resume(struct ctl *c, int argc, char **argv)
{
    return lifecycle(c, argc, argv, "POST", "/resume", "resumed");
}

int
cmd_study_delete(struct ctl *c, int argc, char **argv)
{
    return lifecycle(c, argc, argv, "DELETE", "", "deleted, with its trials' agents");
}

int
cmd_study_propose(struct ctl *c, int argc, char **argv)
{
    const char *which, *agent = NULL;
    int recreate = 0;
    const struct ctl_opt opts[] = {
        {"--agent", OPT_STR, &agent}, {"--recreate", OPT_FLAG, &recreate}, {NULL, OPT_FLAG, NULL}};
    char path[160], buf[FMT_LEN];
    int rc = ctl_parse(c, argc, argv, opts, &which, 1);
    if (rc)
        return ctl_parse_exit(rc);
    if (!agent)
        return ctl_usage_error(c, "--agent: the running agent the best trial is proposed for");
    json_t *body = json_pack("{s:s, s:b}", "agent", agent, "recreate", recreate), *r;
    rc = study_path(c, which, "/propose", path, sizeof path);
    if (!rc)
        rc = api_do(c, "POST", path, body, 0, &r);
    json_decref(body);
    if (rc || !r)
        return rc;
    printf("proposal %s for agent '%s': %s (expected improvement %s)\n",
           fmt_value(buf, json_object_get(r, "id")), agent, str(r, "state"),
           fmt_sig((char[FMT_LEN]){0}, json_object_get(r, "expected_improvement"), 4));
    json_decref(r);
    return 0;
}
