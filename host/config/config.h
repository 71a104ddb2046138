/*
 * config — tarsd's one JSON config file. Every key is optional; with no file at all tarsd
 * runs on the embedded default (config_default_text). Command-line flags override the file.
 * Relative paths in a file are taken relative to that file's directory.
 */
#ifndef TARS_HOST_CONFIG_H
#define TARS_HOST_CONFIG_H

#include <stdint.h>
#include "jdoc.h"
#include "schema.h"

struct agent_conf {
    char *ptr; /* JSON pointer of this entry in the config, for messages */
    const char *id;
    const char *agent;
    const char *env;
    const char *preset; /* NULL when absent */
    uint32_t n_envs;    /* 0 when not given */
    uint64_t seed;
    json_t *params;     /* NULL when absent */
    json_t *env_params; /* NULL when absent */
};

struct strv {
    char **v;
    size_t n;
};

/* A new build's smoke test (smoke.h) is killed after this long. */
#define SMOKE_TIMEOUT_S_DEFAULT 10.0

/* The control plane first: when training fills every core, an API call or a smoke test gets
 * the CPU before a runner (Linux's niceness is per thread), so it answers in milliseconds and
 * a code swap does not wait behind training (docs/performance.md). */
#define HTTP_NICE_DEFAULT   0
#define RUNNER_NICE_DEFAULT 5

struct config {
    struct jdoc doc; /* the file (or the embedded default) */
    char *listen;
    char *state_dir;
    struct strv manifest_dirs;
    struct strv plugin_dirs;
    char *log_format; /* "auto", "text" or "json" */
    char *log_level;
    int require_pins;
    int admin_token_group;  /* admin.token is 0640, not 0600 (the package's _tars group) */
    int watch_plugins;      /* reload a loaded plugin when its library or manifest changes */
    double smoke_timeout_s; /* how long a new build's smoke test may take */
    uint32_t runners;
    uint32_t http_threads;
    int http_nice;
    int runner_nice; /* added to the process's niceness for the runner threads */
    /* slow clients (http_guard.h) */
    double http_header_timeout_s, http_body_timeout_s;
    uint32_t http_max_per_address;  /* connections one address may hold on workers */
    uint32_t http_reserved_workers; /* workers kept from clients still sending a request */
    int hypersync_mode;             /* enum approval_mode (reload/proposals.h) */
    double hypersync_threshold;
    /* persistence */
    double checkpoint_every_s;       /* 0: only on demand and at shutdown */
    uint64_t checkpoint_every_steps; /* 0: by time only */
    uint32_t checkpoints_kept;
    uint64_t history_kept; /* episodes per agent, 0: all */
    uint64_t scalars_kept; /* scalars records per agent, 0: all */
    double scalars_every_s;
    uint64_t state_map_mb;
    uint64_t state_backlog_mb; /* state writes held in memory while they fail */
    /* API, UI and stream */
    char *www_dir; /* NULL until paths_defaults */
    char *chartjs_dir;
    char *tls_cert;                             /* NULL: plain HTTP */
    struct strv trusted_proxies;                /* peers whose X-Forwarded-For is believed */
    double api_rate, api_burst;                 /* per token; rate 0: unlimited */
    double api_address_rate, api_address_burst; /* per client address */
    double static_rate, static_burst;           /* the UI's files, per client address */
    size_t api_max_body;                        /* bytes */
    uint32_t api_max_depth;
    size_t stream_buffer; /* bytes */
    uint64_t audit_kept;  /* 0: all */
    struct agent_conf *agents;
    size_t n_agents;
};

extern const struct sch_field config_schema[];
/* One agent entry (of the config's "agents", or an API request creating an agent). */
extern const struct sch_field config_agent_schema[];
extern const char config_default_text[];

/* Loads file, or the embedded default when file is NULL. Errors go to d; returns 0 or -1. */
int config_load(struct config *c, const char *file, struct diag *d);
void config_free(struct config *c);

/* Fills a (all but ptr) from an entry validated against config_agent_schema; borrows o. */
void config_agent_read(json_t *o, struct agent_conf *a);

/* The agent entry with this id, or NULL. */
const struct agent_conf *config_agent(const struct config *c, const char *id);

int strv_push(struct strv *s, const char *v);
void strv_free(struct strv *s);

/*
 * What a command line overrides in the config (tarsd's common flags, tarsctl's --config and
 * --state): NULL or empty where not given. Borrowed strings; the lists are the caller's.
 */
struct config_flags {
    const char *config; /* the file; NULL: paths_config_file(), else the embedded default */
    const char *listen;
    const char *state;
    const char *log_format;
    struct strv manifests;
    struct strv plugins;
};

/* Fills the manifest, plugin and state dirs the config left empty (source tree or install). */
int paths_defaults(struct config *c);
/* An installed tarsd's config file (/etc/tars/tarsd.json) when it exists; else NULL. */
const char *paths_config_file(void);

#endif
