/*
 * Studies (host/studies): create, list, detail, trials, best, stop/resume/delete, ask,
 * report and tell, and the best trial as a HyperSync proposal.
 */
#include <civetweb.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "api.h"
#include "host.h"
#include "studies.h"

/* The {id} (and {n}) of the path, or a 404 reply (-1). */
static int
path_u64(struct api_req *q, int i, uint64_t *out, const char *what)
{
    char *end;
    unsigned long long v = strtoull(q->params[i], &end, 10);
    if (!q->params[i][0] || *end || (i == 0 && v == 0))
        return api_error(q, 404, "not_found", "no %s '%s'", what, q->params[i]), -1;
    *out = v;
    return 0;
}

static int
done(struct api_req *q, int rc, int status, json_t *out, const char *err)
{
    if (rc) /* a reply built before a commit failed */
        json_decref(out);
    if (rc == -EIO)
        return api_error(q, 503, "store_failed", "%s", err);
    return rc ? api_errno(q, rc, err) : api_reply(q, status, out);
}

int
api_studies_list(struct api_req *q)
{
    return api_reply(q, 200, json_pack("{s:o}", "studies", studies_list(q->h)));
}

int
api_study_create(struct api_req *q)
{
    char err[1024];
    json_t *out = NULL;
    if (!json_is_object(q->body))
        return api_error(
            q, 400, "invalid",
            "the body must be a study: {\"name\", \"agent\", \"env\", \"space\", ...}");
    int rc = studies_create(q->h, q->body, &out, err, sizeof err);
    if (!rc)
        snprintf(q->audit, sizeof q->audit, "created study %lld '%s'",
                 (long long)json_integer_value(json_object_get(out, "id")),
                 json_string_value(json_object_get(out, "name")));
    return done(q, rc, 201, out, err);
}

/* A read of one study by the {id} of the path. */
static int
read_study(struct api_req *q, int (*fn)(struct host *, uint64_t, json_t **, char *, size_t))
{
    uint64_t id;
    char err[512];
    json_t *out = NULL;
    if (path_u64(q, 0, &id, "study"))
        return q->status;
    int rc = fn(q->h, id, &out, err, sizeof err);
    return done(q, rc, 200, out, err);
}

int
api_study_get(struct api_req *q)
{
    return read_study(q, studies_get);
}

int
api_study_trials(struct api_req *q)
{
    uint64_t id, from, limit;
    char err[512], state[16];
    json_t *out = NULL;
    if (path_u64(q, 0, &id, "study") || api_query_u64(q, "from", 0, 0, UINT64_MAX, &from) ||
        api_query_u64(q, "limit", 1000, 1, 10000, &limit))
        return q->status;
    int has = api_query(q, "state", state, sizeof state);
    if (has && strcmp(state, "RUNNING") && strcmp(state, "COMPLETE") && strcmp(state, "PRUNED") &&
        strcmp(state, "FAILED"))
        return api_error(q, 400, "invalid", "state: RUNNING, COMPLETE, PRUNED or FAILED");
    int rc =
        studies_trials(q->h, id, has ? state : NULL, from, (size_t)limit, &out, err, sizeof err);
    return done(q, rc, 200, out, err);
}

int
api_study_trial(struct api_req *q)
{
    uint64_t id, n;
    char err[512];
    json_t *out = NULL;
    if (path_u64(q, 0, &id, "study") || path_u64(q, 1, &n, "trial"))
        return q->status;
    int rc = studies_trial(q->h, id, n, &out, err, sizeof err);
    return done(q, rc, 200, out, err);
}

int
api_study_best(struct api_req *q)
{
    return read_study(q, studies_best);
}

static int
lifecycle(struct api_req *q, const char *verb)
{
    uint64_t id;
    char err[1024];
    if (path_u64(q, 0, &id, "study"))
        return q->status;
    int rc = strcmp(verb, "stop") == 0     ? studies_stop(q->h, id, err, sizeof err)
             : strcmp(verb, "resume") == 0 ? studies_resume(q->h, id, err, sizeof err)
                                           : studies_delete(q->h, id, err, sizeof err);
    if (rc)
        return done(q, rc, 200, NULL, err);
    snprintf(q->audit, sizeof q->audit, "%s study %llu", verb, (unsigned long long)id);
    json_t *out = NULL;
    if (strcmp(verb, "delete") == 0)
        return api_reply(q, 200, json_pack("{s:I, s:b}", "id", (json_int_t)id, "deleted", 1));
    rc = studies_get(q->h, id, &out, err, sizeof err);
    return done(q, rc, 200, out, err);
}

int
api_study_stop(struct api_req *q)
{
    return lifecycle(q, "stop");
}

int
api_study_resume(struct api_req *q)
{
    return lifecycle(q, "resume");
}

int
api_study_delete(struct api_req *q)
{
    return lifecycle(q, "delete");
}

int
api_study_ask(struct api_req *q)
{
    uint64_t id;
    char err[1024];
    json_t *out = NULL;
    if (path_u64(q, 0, &id, "study"))
        return q->status;
    if (q->body && !json_is_object(q->body))
        return api_error(q, 400, "invalid", "the body must be {} or {\"params\": {...}}");
    int rc = studies_ask(q->h, id, q->body, &out, err, sizeof err);
    if (!rc)
        snprintf(q->audit, sizeof q->audit, "study %llu: asked trial %lld", (unsigned long long)id,
                 (long long)json_integer_value(json_object_get(out, "number")));
    return done(q, rc, 201, out, err);
}

int
api_study_report(struct api_req *q)
{
    uint64_t id, n;
    char err[1024];
    json_t *out = NULL;
    if (path_u64(q, 0, &id, "study") || path_u64(q, 1, &n, "trial"))
        return q->status;
    if (!json_is_object(q->body))
        return api_error(q, 400, "invalid", "the body must be {\"step\", \"value\"}");
    int rc = studies_report(q->h, id, n, q->body, &out, err, sizeof err);
    if (!rc)
        snprintf(q->audit, sizeof q->audit, "study %llu: trial %llu reported",
                 (unsigned long long)id, (unsigned long long)n);
    return done(q, rc, 200, out, err);
}

int
api_study_tell(struct api_req *q)
{
    uint64_t id, n;
    char err[1024];
    json_t *out = NULL;
    if (path_u64(q, 0, &id, "study") || path_u64(q, 1, &n, "trial"))
        return q->status;
    if (!json_is_object(q->body))
        return api_error(q, 400, "invalid",
                         "the body must be {\"values\": [...]} or {\"state\": \"PRUNED\"}");
    int rc = studies_tell(q->h, id, n, q->body, &out, err, sizeof err);
    if (!rc)
        snprintf(q->audit, sizeof q->audit, "study %llu: trial %llu told", (unsigned long long)id,
                 (unsigned long long)n);
    return done(q, rc, 200, out, err);
}

int
api_study_propose(struct api_req *q)
{
    uint64_t id;
    char err[1024];
    json_t *out = NULL;
    if (path_u64(q, 0, &id, "study"))
        return q->status;
    if (!json_is_object(q->body))
        return api_error(q, 400, "invalid", "the body must be {\"agent\": \"id\"}");
    json_t *who = json_pack("{s:s, s:s, s:s}", "token", q->who.id, "name", q->who.name, "role",
                            api_role_name(q->who.role));
    int rc =
        studies_propose(q->h, id, q->body, who, q->who.role >= ROLE_ADMIN, &out, err, sizeof err);
    json_decref(who);
    if (!rc)
        snprintf(q->audit, sizeof q->audit, "study %llu: proposal %lld for agent '%s'",
                 (unsigned long long)id, (long long)json_integer_value(json_object_get(out, "id")),
                 json_string_value(json_object_get(q->body, "agent")));
    return done(q, rc, 201, out, err);
}

int
api_study_view(struct api_req *q)
{
    uint64_t id, points;
    char err[512];
    json_t *out = NULL;
    if (path_u64(q, 0, &id, "study") || api_query_u64(q, "points", 1000, 10, 10000, &points))
        return q->status;
    int rc = studies_view(q->h, id, (size_t)points, &out, err, sizeof err);
    return done(q, rc, 200, out, err);
}
