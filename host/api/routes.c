/* The route table of /api/v1: method, path, the role it needs, the handler. */
#include "api.h"

const struct api_route api_routes[] = {
    {"GET", "/api/v1/health", ROLE_NONE, api_health},
    {"GET", "/api/v1/openapi.json", ROLE_NONE, api_openapi},
    {"GET", "/api/v1/version", ROLE_VIEWER, api_version},
    {"GET", "/api/v1/whoami", ROLE_VIEWER, api_whoami},
    {"GET", "/api/v1/plugins", ROLE_VIEWER, api_plugins_list},
    {"GET", "/api/v1/plugins/{name}", ROLE_VIEWER, api_plugin_get},
    {"POST", "/api/v1/plugins/rescan", ROLE_ADMIN, api_plugins_rescan},
    {"POST", "/api/v1/plugins/{name}/reload", ROLE_ADMIN, api_plugin_reload},
    {"POST", "/api/v1/plugins/{name}/release", ROLE_ADMIN, api_plugin_release},
    {"GET", "/api/v1/agents", ROLE_VIEWER, api_agents_list},
    {"POST", "/api/v1/agents", ROLE_OPERATOR, api_agent_create},
    {"GET", "/api/v1/agents/{id}", ROLE_VIEWER, api_agent_get},
    {"DELETE", "/api/v1/agents/{id}", ROLE_ADMIN, api_agent_delete},
    {"POST", "/api/v1/agents/{id}/start", ROLE_OPERATOR, api_agent_start},
    {"POST", "/api/v1/agents/{id}/stop", ROLE_OPERATOR, api_agent_stop},
    {"POST", "/api/v1/agents/{id}/reset", ROLE_OPERATOR, api_agent_reset},
    {"GET", "/api/v1/agents/{id}/params", ROLE_VIEWER, api_agent_params},
    {"PATCH", "/api/v1/agents/{id}/params", ROLE_OPERATOR, api_agent_params_patch},
    {"GET", "/api/v1/agents/{id}/history", ROLE_VIEWER, api_agent_history},
    {"GET", "/api/v1/agents/{id}/checkpoints", ROLE_VIEWER, api_agent_checkpoints},
    {"GET", "/api/v1/agents/{id}/scalars", ROLE_VIEWER, api_agent_scalars},
    {"GET", "/api/v1/agents/{id}/export", ROLE_OPERATOR, api_agent_export},
    {"GET", "/api/v1/proposals", ROLE_VIEWER, api_proposals_list},
    {"POST", "/api/v1/proposals", ROLE_OPERATOR, api_proposal_create},
    {"GET", "/api/v1/proposals/{id}", ROLE_VIEWER, api_proposal_get},
    {"POST", "/api/v1/proposals/{id}/approve", ROLE_ADMIN, api_proposal_approve},
    {"POST", "/api/v1/proposals/{id}/reject", ROLE_ADMIN, api_proposal_reject},
    {"GET", "/api/v1/audit", ROLE_VIEWER, api_audit_list},
    {"GET", "/api/v1/tokens", ROLE_ADMIN, api_tokens_list},
    {"POST", "/api/v1/tokens", ROLE_ADMIN, api_token_create},
    {"DELETE", "/api/v1/tokens/{id}", ROLE_ADMIN, api_token_delete},
    {"POST", "/api/v1/tokens/{id}/rotate", ROLE_ADMIN, api_token_rotate},
};

const size_t api_n_routes = sizeof api_routes / sizeof api_routes[0];
