/*
 * api — the JSON API under /api/v1 (SPEC §8, docs/openapi.json): the router, bearer-token
 * auth with roles, rate limits, request bodies with size and depth limits, the audit log,
 * and the handlers. Handlers run on CivetWeb's workers; they read shared state under RCU
 * (the run set) or in LMDB read transactions, and change it only through agents.h and the
 * state writer: nothing here takes a lock a runner waits on.
 */
#ifndef TARS_HOST_API_API_H
#define TARS_HOST_API_API_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct host;
struct mg_connection;
struct mg_context;
struct mg_request_info;

enum api_role { ROLE_NONE = 0, ROLE_VIEWER, ROLE_OPERATOR, ROLE_ADMIN };

const char *api_role_name(enum api_role r);
/* ROLE_NONE when s names no role. */
enum api_role api_role_parse(const char *s);

/* Who made a request: a token's public id, name and role (ROLE_NONE: no valid token). */
struct api_who {
    char id[17];
    char name[65];
    enum api_role role;
};

#define API_MAX_PARAMS 2

struct api_req {
    struct mg_connection *c;
    struct host *h;
    const struct mg_request_info *ri;
    const char *method;
    const char *path;
    char params[API_MAX_PARAMS][128]; /* the path's {placeholders}, in order */
    struct api_who who;
    char addr[48];
    json_t *body;          /* the parsed JSON body of POST, PATCH and PUT (NULL when empty) */
    const char *body_text; /* and its text (for errors by line and column) */
    size_t body_len;
    char audit[256]; /* what a mutating handler did, for the audit log */
    int audit_read;  /* set by a read whose success is audited too (what it gives away matters) */
    /* The reply, sent by the router once the call is audited. */
    int status;
    json_t *reply;
    void *file; /* a download (malloc'd, sent as application/octet-stream) instead of reply */
    size_t file_len;
    char headers[384];  /* extra header lines, each ending in CRLF */
    char message[1024]; /* an error's message, for the audit log */
};

/* The state the API keeps beside the host's. */
struct ratelimit;
struct stream;
struct tokens;
struct api {
    struct ratelimit *per_token;
    struct ratelimit *per_address;
    struct ratelimit *static_per_address; /* the UI's files (static.c), counted apart */
    struct stream *stream;
    struct tokens *tokens; /* tokens.h */
};

/* Sets the reply (consuming body) and returns the status. */
int api_reply(struct api_req *q, int status, json_t *body);
/* {"error": {"code", "message"}} with status. */
int api_error(struct api_req *q, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* The error reply of an agents.h failure (negative errno and its sentence). */
int api_errno(struct api_req *q, int rc, const char *msg);

/* The client's address: the peer, or the IP address a trusted proxy says it forwarded. */
void api_client_addr(struct host *h, const struct mg_connection *c, char *buf, size_t len);

/* Query-string values. Returns 1 when present (value copied), 0 when absent. */
int api_query(const struct api_req *q, const char *name, char *buf, size_t len);
/*
 * An unsigned integer query parameter in [min, max] (def when absent). A malformed or
 * out-of-range value replies 400 and returns -1.
 */
int api_query_u64(struct api_req *q, const char *name, uint64_t def, uint64_t min, uint64_t max,
                  uint64_t *out);

/* The route table: routes.c. */
typedef int (*api_handler)(struct api_req *q);
struct api_route {
    const char *method;
    const char *pattern; /* "/api/v1/agents/{id}/start": {x} matches one segment */
    enum api_role role;  /* ROLE_NONE: no token needed */
    api_handler fn;
};
extern const struct api_route api_routes[];
extern const size_t api_n_routes;

/* Handlers. */
int api_health(struct api_req *q);
int api_version(struct api_req *q);
int api_openapi(struct api_req *q);
int api_whoami(struct api_req *q);
int api_plugins_list(struct api_req *q);
int api_plugin_get(struct api_req *q);
int api_plugin_reload(struct api_req *q);
int api_plugin_release(struct api_req *q);
int api_plugins_rescan(struct api_req *q);
int api_agents_list(struct api_req *q);
int api_agent_create(struct api_req *q);
int api_agent_get(struct api_req *q);
int api_agent_start(struct api_req *q);
int api_agent_stop(struct api_req *q);
int api_agent_reset(struct api_req *q);
int api_agent_delete(struct api_req *q);
int api_agent_params(struct api_req *q);
int api_agent_params_patch(struct api_req *q);
int api_proposals_list(struct api_req *q);
int api_proposal_create(struct api_req *q);
int api_proposal_get(struct api_req *q);
int api_proposal_approve(struct api_req *q);
int api_proposal_reject(struct api_req *q);
int api_agent_history(struct api_req *q);
int api_agent_checkpoints(struct api_req *q);
int api_agent_scalars(struct api_req *q);
int api_agent_export(struct api_req *q);
int api_audit_list(struct api_req *q);
int api_studies_list(struct api_req *q);
int api_study_create(struct api_req *q);
int api_study_get(struct api_req *q);
int api_study_delete(struct api_req *q);
int api_study_stop(struct api_req *q);
int api_study_resume(struct api_req *q);
int api_study_trials(struct api_req *q);
int api_study_trial(struct api_req *q);
int api_study_best(struct api_req *q);
int api_study_ask(struct api_req *q);
int api_study_report(struct api_req *q);
int api_study_tell(struct api_req *q);
int api_study_propose(struct api_req *q);
int api_study_view(struct api_req *q);
int api_tokens_list(struct api_req *q);
int api_token_create(struct api_req *q);
int api_token_delete(struct api_req *q);
int api_token_rotate(struct api_req *q);

/* The JSON of a run as the lists show it (inside rcu_enter). */
struct run;
json_t *api_run_json(struct host *h, struct run *r);

/* Serves the UI's files (static.c). */
int api_static_install(struct mg_context *ctx, struct host *h);

/* Installs the /api/v1 routes, the stream and the UI's files on ctx. */
int api_install(struct mg_context *ctx, struct host *h, char *err, size_t errlen);
void api_uninstall(struct host *h);

#endif
