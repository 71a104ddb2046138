/*
 * Parameter changes and HyperSync proposals (reload/proposals.h): PATCH an agent's params
 * (an admin's change applies at once, an operator's is a proposal), propose, list, approve,
 * reject.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "api.h"
#include "host.h"
#include "proposals.h"

static const char *const change_keys[] = {"params",    "env_params",           "recreate",
                                          "rationale", "expected_improvement", NULL};

/* Reads a change from the body; agent_key also allows "agent". Replies 400 and returns -1. */
static int
read_change(struct api_req *q, int agent_key, struct proposal_input *in)
{
    json_t *b = q->body;
    const char *key;
    json_t *v;
    if (!json_is_object(b))
        return api_error(q, 400, "invalid",
                         "the body must be a change: {\"params\", \"env_params\", \"recreate\", "
                         "\"rationale\", \"expected_improvement\"}"),
               -1;
    json_object_foreach(b, key, v)
    {
        int known = agent_key && strcmp(key, "agent") == 0;
        for (size_t i = 0; !known && change_keys[i]; i++)
            known = strcmp(key, change_keys[i]) == 0;
        if (!known)
            return api_error(q, 400, "invalid",
                             "unknown key '%s' in the body (known: %s params, env_params, "
                             "recreate, rationale, expected_improvement)",
                             key, agent_key ? "agent," : ""),
                   -1;
    }
    json_t *rec = json_object_get(b, "recreate"), *why = json_object_get(b, "rationale");
    json_t *e = json_object_get(b, "expected_improvement");
    const char *bad = rec && !json_is_boolean(rec)  ? "\"recreate\" must be true or false"
                      : why && !json_is_string(why) ? "\"rationale\" must be a string"
                      : e && !json_is_number(e)     ? "\"expected_improvement\" must be a number"
                                                    : NULL;
    if (agent_key && !bad && !json_is_string(json_object_get(b, "agent")))
        bad = "\"agent\" must name the agent the proposal changes";
    if (bad)
        return api_error(q, 400, "invalid", "%s", bad), -1;
    in->change.params = json_object_get(b, "params");
    in->change.env_params = json_object_get(b, "env_params");
    in->change.recreate = json_is_true(rec);
    in->rationale = json_string_value(why);
    in->expected_improvement = e ? json_number_value(e) : NAN;
    if (agent_key)
        in->agent = json_string_value(json_object_get(b, "agent"));
    return 0;
}

static json_t *
who_json(const struct api_req *q)
{
    return json_pack("{s:s, s:s, s:s}", "token", q->who.id, "name", q->who.name, "role",
                     api_role_name(q->who.role));
}

/* The reply for a proposal's record: 200 applied, 202 pending, 409 failed, 200 rejected. */
static int
reply_record(struct api_req *q, json_t *rec, int created)
{
    const char *state = json_string_value(json_object_get(rec, "state"));
    long long id = (long long)json_integer_value(json_object_get(rec, "id"));
    snprintf(q->audit, sizeof q->audit, "proposal %lld for agent '%s': %s", id,
             json_string_value(json_object_get(rec, "agent")), state);
    if (strcmp(state, "failed") == 0) {
        int st = api_error(q, 409, "failed", "proposal %lld failed: %s", id,
                           json_string_value(json_object_get(rec, "error")));
        json_object_set_new(json_object_get(q->reply, "error"), "proposal", rec);
        return st;
    }
    int status = strcmp(state, "pending_approval") == 0 ? 202 : created ? 201 : 200;
    return api_reply(q, status, rec);
}

static int
submit(struct api_req *q, struct proposal_input *in, int created)
{
    char err[1024];
    json_t *rec;
    in->who = who_json(q);
    int rc = proposals_submit(q->h, in, &rec, err, sizeof err);
    json_decref(in->who);
    if (rc == -EIO)
        return api_error(q, 503, "store_failed", "%s", err);
    return rc ? api_errno(q, rc, err) : reply_record(q, rec, created);
}

int
api_agent_params_patch(struct api_req *q)
{
    struct proposal_input in = {.agent = q->params[0]};
    if (read_change(q, 0, &in))
        return q->status;
    in.decide_now = q->who.role >= ROLE_ADMIN;
    return submit(q, &in, 0);
}

int
api_proposal_create(struct api_req *q)
{
    struct proposal_input in = {0};
    if (read_change(q, 1, &in))
        return q->status;
    return submit(q, &in, 1);
}

/* The {id} of the path, or a 400/404 reply (-1). */
static int
path_id(struct api_req *q, uint64_t *id)
{
    char *end;
    unsigned long long v = strtoull(q->params[0], &end, 10);
    if (!q->params[0][0] || *end || v == 0)
        return api_error(q, 404, "not_found", "no proposal '%s'", q->params[0]), -1;
    *id = v;
    return 0;
}

int
api_proposal_get(struct api_req *q)
{
    uint64_t id;
    if (path_id(q, &id))
        return q->status;
    json_t *rec = proposals_get(q->h, id);
    return rec ? api_reply(q, 200, rec)
               : api_error(q, 404, "not_found", "no proposal %llu", (unsigned long long)id);
}

/* Whether s is a state of the workflow (a filter on another would match nothing, silently). */
static int
known_state(const char *s)
{
    static const char *const states[] = {"proposed", "validated", "pending_approval",
                                         "approved", "applying",  "applied",
                                         "rejected", "failed",    NULL};
    for (size_t i = 0; states[i]; i++)
        if (strcmp(s, states[i]) == 0)
            return 1;
    return 0;
}

int
api_proposals_list(struct api_req *q)
{
    char agent[128], state[32];
    uint64_t before, limit;
    if (api_query_u64(q, "before", 0, 0, UINT64_MAX, &before) ||
        api_query_u64(q, "limit", 100, 1, 1000, &limit))
        return q->status;
    int by_agent = api_query(q, "agent", agent, sizeof agent);
    int by_state = api_query(q, "state", state, sizeof state);
    if (by_state && !known_state(state))
        return api_error(q, 400, "invalid",
                         "unknown state '%s' (known: proposed, validated, pending_approval, "
                         "approved, applying, applied, rejected, failed)",
                         state);
    json_t *l = proposals_list(q->h, by_agent ? agent : NULL, by_state ? state : NULL, before,
                               (size_t)limit);
    return api_reply(q, 200,
                     json_pack("{s:o, s:s, s:f}", "proposals", l, "mode",
                               approval_mode_names[q->h->cfg.hypersync_mode], "threshold",
                               q->h->cfg.hypersync_threshold));
}

static int
decide(struct api_req *q, int approve)
{
    uint64_t id;
    char err[1024];
    json_t *rec;
    if (path_id(q, &id))
        return q->status;
    json_t *reason = q->body ? json_object_get(q->body, "reason") : NULL;
    if ((q->body && !json_is_object(q->body)) || (reason && !json_is_string(reason)))
        return api_error(q, 400, "invalid", "the body, when given, must be {\"reason\": TEXT}");
    json_t *who = who_json(q);
    int rc =
        proposals_decide(q->h, id, approve, who, json_string_value(reason), &rec, err, sizeof err);
    json_decref(who);
    if (rc == -EIO)
        return api_error(q, 503, "store_failed", "%s", err);
    return rc ? api_errno(q, rc, err) : reply_record(q, rec, 0);
}

int
api_proposal_approve(struct api_req *q)
{
    return decide(q, 1);
}

int
api_proposal_reject(struct api_req *q)
{
    return decide(q, 0);
}
