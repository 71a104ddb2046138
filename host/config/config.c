#include <errno.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include "config.h"

const char config_default_text[] = "{\n"
                                   "  \"listen\": \"127.0.0.1:8080\",\n"
                                   "  \"log_format\": \"auto\",\n"
                                   "  \"log_level\": \"info\",\n"
                                   "  \"require_pins\": false,\n"
                                   "  \"runners\": 2,\n"
                                   "  \"http_threads\": 16,\n"
                                   "  \"http_nice\": 0,\n"
                                   "  \"agents\": []\n"
                                   "}\n";

static int
id_ok(const char *s)
{
    size_t n = 0;
    for (; *s; s++, n++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-' || *s == '_'))
            return 0;
    return n > 0 && n <= 64;
}

static int
nonempty(const char *s)
{
    return *s != '\0';
}

/* As approval_mode_names (reload/proposals.h), in the same order. */
static const char *const approval_modes[] = {"manual", "threshold", "always", NULL};
static const char *const log_formats[] = {"auto", "text", "json", NULL};
static const char *const log_levels[] = {"debug", "info", "warn", "error", NULL};

const struct sch_field config_agent_schema[] = {
    {.key = "id",
     .type = SCH_STRING,
     .flags = SCH_REQUIRED,
     .help = "Unique agent id, [a-z0-9_-], at most 64 characters.",
     .check = id_ok,
     .expect = "an id of [a-z0-9_-] such as \"policy\""},
    {.key = "agent", .type = SCH_STRING, .flags = SCH_REQUIRED, .help = "Agent plugin name."},
    {.key = "env", .type = SCH_STRING, .flags = SCH_REQUIRED, .help = "Env plugin name."},
    {.key = "n_envs",
     .type = SCH_INT,
     .min = 1,
     .max = 65536,
     .help = "Environment copies stepped together (default: the preset's, else 8)."},
    {.key = "seed",
     .type = SCH_INT,
     .min = 0,
     .max = 9007199254740991.0,
     .help = "Seed of the agent and its envs (default 0)."},
    {.key = "preset",
     .type = SCH_STRING,
     .help = "Named preset from the agent manifest's defaults."},
    {.key = "params", .type = SCH_MAP, .help = "Agent parameter values."},
    {.key = "env_params", .type = SCH_MAP, .help = "Env parameter values."},
    {0},
};

const struct sch_field config_schema[] = {
    {.key = "listen",
     .type = SCH_STRING,
     .check = nonempty,
     .expect = "an address",
     .help = "Address and port of the API and UI, ADDR:PORT (port 0 picks a free one)."},
    {.key = "state_dir",
     .type = SCH_STRING,
     .check = nonempty,
     .expect = "a directory",
     .help = "Directory of the LMDB state store."},
    {.key = "manifest_dirs",
     .type = SCH_ARRAY,
     .elem = SCH_STRING,
     .check = nonempty,
     .expect = "a directory",
     .help = "Directories searched for plugin manifests (*.json)."},
    {.key = "plugin_dirs",
     .type = SCH_ARRAY,
     .elem = SCH_STRING,
     .check = nonempty,
     .expect = "a directory",
     .help = "Directories searched for the libraries manifests name."},
    {.key = "log_format",
     .type = SCH_STRING,
     .choices = log_formats,
     .help = "auto: text on a terminal, JSON lines otherwise."},
    {.key = "log_level", .type = SCH_STRING, .choices = log_levels, .help = "Lowest level logged."},
    {.key = "require_pins",
     .type = SCH_BOOL,
     .help = "Refuse plugins whose manifest has no sha256 pin."},
    {.key = "admin_token_group",
     .type = SCH_BOOL,
     .help = "Write the first start's admin token group-readable (0640), so that members of "
             "tarsd's group find it as tarsctl's default; else 0600 (the default)."},
    {.key = "watch_plugins",
     .type = SCH_BOOL,
     .help = "Reload a loaded plugin when its library or manifest changes on disk (code swap)."},
    {.key = "smoke_timeout_s",
     .type = SCH_NUMBER,
     .min = 0.1,
     .max = 3600,
     .help =
         "Seconds a new build's smoke test may take before it is killed and the build refused."},
    {.key = "runners",
     .type = SCH_INT,
     .min = 1,
     .max = 256,
     .help = "Runner threads that step the agents."},
    {.key = "http_threads",
     .type = SCH_INT,
     .min = 1,
     .max = 1024,
     .help = "CivetWeb worker threads: one per concurrent keep-alive client or WebSocket."},
    {.key = "http_header_timeout_s",
     .type = SCH_NUMBER,
     .min = 0.1,
     .max = 3600,
     .help = "Seconds a client has to send a request head (from connecting, or from the previous "
             "reply on a keep-alive connection); 408 after it."},
    {.key = "http_body_timeout_s",
     .type = SCH_NUMBER,
     .min = 0.1,
     .max = 3600,
     .help = "Seconds a client has to send a whole request body; 408 after it."},
    {.key = "http_max_per_address",
     .type = SCH_INT,
     .min = 1,
     .max = 1024,
     .help = "Slow connections (waiting 0.25 s or more for a request head or body) one client "
             "address may keep on HTTP threads; beyond it, its slowest are cut off (trusted "
             "proxies are exempt)."},
    {.key = "http_reserved_workers",
     .type = SCH_INT,
     .min = 0,
     .max = 1024,
     .help = "HTTP threads that slow connections (see http_max_per_address) may never hold, so "
             "that prompt clients always find one."},
    {.key = "hypersync_mode",
     .type = SCH_STRING,
     .choices = approval_modes,
     .help = "What happens to an operator's parameter proposal: manual (an admin approves), "
             "threshold (approved when its expected improvement reaches hypersync_threshold), "
             "always."},
    {.key = "hypersync_threshold",
     .type = SCH_NUMBER,
     .min = -1e9,
     .max = 1e9,
     .help = "The expected improvement at which the threshold mode approves a proposal."},
    {.key = "http_nice",
     .type = SCH_INT,
     .min = 0,
     .max = 19,
     .help =
         "Niceness of the HTTP threads (default 0, a fair share): above 0, training gets the CPU "
         "first when both want it."},
    {.key = "runner_nice",
     .type = SCH_INT,
     .min = 0,
     .max = 19,
     .help =
         "Niceness the runner threads add to tarsd's (default 5): API calls and smoke tests get "
         "the CPU first when training wants it too; 0 for a fair share."},
    {.key = "checkpoint_every_s",
     .type = SCH_NUMBER,
     .min = 0,
     .max = 1e7,
     .help = "Seconds between an agent's periodic checkpoints (0: only on demand and at stop)."},
    {.key = "checkpoint_every_steps",
     .type = SCH_INT,
     .min = 0,
     .max = 1e15,
     .help = "Env steps between periodic checkpoints as well (0: by time only)."},
    {.key = "checkpoints_kept",
     .type = SCH_INT,
     .min = 1,
     .max = 1000,
     .help = "Checkpoints kept per agent (the newest)."},
    {.key = "history_kept",
     .type = SCH_INT,
     .min = 0,
     .max = 1e15,
     .help = "Episodes kept per agent in the history (0: all)."},
    {.key = "scalars_kept",
     .type = SCH_INT,
     .min = 0,
     .max = 1e15,
     .help = "Training-scalar records kept per agent (0: all)."},
    {.key = "scalars_every_s",
     .type = SCH_NUMBER,
     .min = 0.001,
     .max = 3600,
     .help = "Seconds between recorded training scalars (they are down-sampled)."},
    {.key = "state_map_mb",
     .type = SCH_INT,
     .min = 1,
     .max = 1048576,
     .help = "Initial LMDB map size in MiB (it grows when full)."},
    {.key = "state_backlog_mb",
     .type = SCH_INT,
     .min = 1,
     .max = 1048576,
     .help = "MiB of state writes tarsd may hold in memory while the disk refuses them (a full "
             "disk, say); beyond it the oldest queued episode history and training scalars are "
             "dropped, and counted."},
    {.key = "www_dir",
     .type = SCH_STRING,
     .check = nonempty,
     .expect = "a directory",
     .help = "The web UI's files (default: www/ of the source tree, or share/tars/www)."},
    {.key = "chartjs_dir",
     .type = SCH_STRING,
     .check = nonempty,
     .expect = "a directory",
     .help = "Debian's Chart.js, served to the UI (default /usr/share/javascript/chart.js)."},
    {.key = "tls_cert",
     .type = SCH_STRING,
     .check = nonempty,
     .expect = "a PEM file",
     .help = "Certificate and key (PEM) for HTTPS; see docs/admin-guide.md on TLS."},
    {.key = "trusted_proxies",
     .type = SCH_ARRAY,
     .elem = SCH_STRING,
     .help = "Addresses of reverse proxies (e.g. nginx for TLS) whose X-Forwarded-For names the "
             "client, for rate limits and the audit log."},
    {.key = "api_rate",
     .type = SCH_NUMBER,
     .min = 0,
     .max = 1e9,
     .help = "API requests per second allowed per token (0: no limit)."},
    {.key = "api_burst",
     .type = SCH_NUMBER,
     .min = 1,
     .max = 1e9,
     .help = "Requests a token may make at once before api_rate applies."},
    {.key = "api_address_rate",
     .type = SCH_NUMBER,
     .min = 0,
     .max = 1e9,
     .help = "API requests per second allowed per client address (0: no limit)."},
    {.key = "api_address_burst",
     .type = SCH_NUMBER,
     .min = 1,
     .max = 1e9,
     .help = "Requests an address may make at once before api_address_rate applies."},
    {.key = "static_rate",
     .type = SCH_NUMBER,
     .min = 0,
     .max = 1e9,
     .help = "UI file requests per second allowed per client address (0: no limit)."},
    {.key = "static_burst",
     .type = SCH_NUMBER,
     .min = 1,
     .max = 1e9,
     .help = "UI file requests an address may make at once before static_rate applies."},
    {.key = "api_max_body_kb",
     .type = SCH_INT,
     .min = 1,
     .max = 65536,
     .help = "Largest request body accepted, in KiB."},
    {.key = "api_max_depth",
     .type = SCH_INT,
     .min = 1,
     .max = 1000,
     .help = "Deepest nesting of arrays and objects accepted in a request body."},
    {.key = "stream_buffer_kb",
     .type = SCH_INT,
     .min = 4,
     .max = 1048576,
     .help = "Unsent stream data a WebSocket client may fall behind by before it is dropped."},
    {.key = "audit_kept",
     .type = SCH_INT,
     .min = 0,
     .max = 1e15,
     .help = "Audit log entries kept (the newest; 0: all)."},
    {.key = "agents",
     .type = SCH_ARRAY,
     .elem = SCH_OBJECT,
     .fields = config_agent_schema,
     .help = "Agents started at boot (resumed from the state dir when they exist there)."},
    {0},
};

int
strv_push(struct strv *s, const char *v)
{
    char **n = realloc(s->v, (s->n + 1) * sizeof *n);
    if (!n)
        return -1;
    s->v = n;
    if (!(s->v[s->n] = strdup(v)))
        return -1;
    s->n++;
    return 0;
}

void
strv_free(struct strv *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    s->v = NULL;
    s->n = 0;
}

/* A path from the file, made relative to the file's directory. */
static char *
resolve(const char *file, const char *p)
{
    if (!file || p[0] == '/')
        return strdup(p);
    char *copy = strdup(file);
    char *out = NULL;
    if (copy && asprintf(&out, "%s/%s", dirname(copy), p) < 0)
        out = NULL;
    free(copy);
    return out;
}

static int
load_dirs(struct strv *dst, json_t *arr, const char *file)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        char *p = resolve(file, json_string_value(v));
        int rc = p ? strv_push(dst, p) : -1;
        free(p);
        if (rc)
            return -1;
    }
    return 0;
}

void
config_agent_read(json_t *o, struct agent_conf *a)
{
    a->id = sch_str(o, "id", "");
    a->agent = sch_str(o, "agent", "");
    a->env = sch_str(o, "env", "");
    a->preset = sch_str(o, "preset", NULL);
    a->n_envs = (uint32_t)sch_int(o, "n_envs", 0); /* 0: the preset's, or 8 */
    a->seed = (uint64_t)sch_int(o, "seed", 0);
    a->params = json_object_get(o, "params");
    a->env_params = json_object_get(o, "env_params");
}

static int
load_agents(struct config *c, struct diag *d)
{
    json_t *arr = json_object_get(c->doc.root, "agents");
    size_t n = json_array_size(arr);
    int errors = 0;
    c->agents = calloc(n ? n : 1, sizeof *c->agents);
    if (!c->agents)
        return -1;
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_array_get(arr, i);
        struct agent_conf *a = &c->agents[c->n_agents++];
        config_agent_read(o, a);
        a->ptr = jptr_index("/agents", i);
        for (size_t j = 0; j < i; j++) {
            if (strcmp(c->agents[j].id, a->id) == 0) {
                char *p = jptr_key(a->ptr, "id");
                jdoc_error(&c->doc, d, p ? p : a->ptr, 0, "agent id '%s' is used twice", a->id);
                free(p);
                errors++;
            }
        }
    }
    return errors ? -1 : 0;
}

static double
number(json_t *root, const char *key, double def)
{
    json_t *v = json_object_get(root, key);
    return json_is_number(v) ? json_number_value(v) : def;
}

/* The config's numbers, flags and modes (validated: nothing here can fail). */
static void
read_settings(struct config *c, json_t *root)
{
    c->require_pins = sch_bool(root, "require_pins", 0);
    c->watch_plugins = sch_bool(root, "watch_plugins", 1);
    c->admin_token_group = sch_bool(root, "admin_token_group", 0);
    c->smoke_timeout_s = number(root, "smoke_timeout_s", SMOKE_TIMEOUT_S_DEFAULT);
    c->runners = (uint32_t)sch_int(root, "runners", 2);
    c->http_threads = (uint32_t)sch_int(root, "http_threads", 16);
    c->http_nice = (int)sch_int(root, "http_nice", HTTP_NICE_DEFAULT);
    c->runner_nice = (int)sch_int(root, "runner_nice", RUNNER_NICE_DEFAULT);
    c->http_header_timeout_s = number(root, "http_header_timeout_s", 5.0);
    c->http_body_timeout_s = number(root, "http_body_timeout_s", 10.0);
    c->http_max_per_address = (uint32_t)sch_int(root, "http_max_per_address", 8);
    c->http_reserved_workers = (uint32_t)sch_int(root, "http_reserved_workers", 4);
    const char *mode = sch_str(root, "hypersync_mode", "manual");
    for (c->hypersync_mode = 0; approval_modes[c->hypersync_mode + 1] &&
                                strcmp(approval_modes[c->hypersync_mode], mode) != 0;
         c->hypersync_mode++)
        ;
    c->hypersync_threshold = number(root, "hypersync_threshold", 0.05);
    c->checkpoint_every_s = number(root, "checkpoint_every_s", 60.0);
    c->checkpoint_every_steps = (uint64_t)sch_int(root, "checkpoint_every_steps", 0);
    c->checkpoints_kept = (uint32_t)sch_int(root, "checkpoints_kept", 3);
    c->history_kept = (uint64_t)sch_int(root, "history_kept", 1000000);
    c->scalars_kept = (uint64_t)sch_int(root, "scalars_kept", 100000);
    c->scalars_every_s = number(root, "scalars_every_s", 1.0);
    c->state_map_mb = (uint64_t)sch_int(root, "state_map_mb", 64);
    c->state_backlog_mb = (uint64_t)sch_int(root, "state_backlog_mb", 32);
    c->api_rate = number(root, "api_rate", 50);
    c->api_burst = number(root, "api_burst", 200);
    c->api_address_rate = number(root, "api_address_rate", 100);
    c->api_address_burst = number(root, "api_address_burst", 400);
    c->static_rate = number(root, "static_rate", 50);
    c->static_burst = number(root, "static_burst", 200);
    c->api_max_body = (size_t)sch_int(root, "api_max_body_kb", 64) << 10;
    c->api_max_depth = (uint32_t)sch_int(root, "api_max_depth", 32);
    c->stream_buffer = (size_t)sch_int(root, "stream_buffer_kb", 1024) << 10;
    c->audit_kept = (uint64_t)sch_int(root, "audit_kept", 100000);
}

/*
 * The config's addresses, names and paths (relative ones resolved against the config file's
 * dir), and the trusted proxies. 0, or -ENOMEM after saying so in d.
 */
static int
read_paths(struct config *c, json_t *root, const char *file, struct diag *d)
{
    c->listen = strdup(sch_str(root, "listen", "127.0.0.1:8080"));
    const char *state = sch_str(root, "state_dir", NULL);
    c->state_dir = state ? resolve(file, state) : NULL;
    c->log_format = strdup(sch_str(root, "log_format", "auto"));
    c->log_level = strdup(sch_str(root, "log_level", "info"));
    const char *www = sch_str(root, "www_dir", NULL);
    c->www_dir = www ? resolve(file, www) : NULL;
    const char *chartjs = sch_str(root, "chartjs_dir", "/usr/share/javascript/chart.js");
    c->chartjs_dir = resolve(file, chartjs);
    const char *cert = sch_str(root, "tls_cert", NULL);
    c->tls_cert = cert ? resolve(file, cert) : NULL;
    if ((www && !c->www_dir) || !c->chartjs_dir || (cert && !c->tls_cert)) {
        diag_at(d, c->doc.file, 0, 0, "out of memory");
        return -ENOMEM;
    }
    if (!c->listen || !c->log_format || !c->log_level || (state && !c->state_dir) ||
        load_dirs(&c->manifest_dirs, json_object_get(root, "manifest_dirs"), file) ||
        load_dirs(&c->plugin_dirs, json_object_get(root, "plugin_dirs"), file)) {
        diag_at(d, c->doc.file, 0, 0, "out of memory");
        return -ENOMEM;
    }
    json_t *proxies = json_object_get(root, "trusted_proxies");
    size_t pi;
    json_t *pv;
    json_array_foreach(proxies, pi, pv)
    {
        if (strv_push(&c->trusted_proxies, json_string_value(pv))) {
            diag_at(d, c->doc.file, 0, 0, "out of memory");
            return -ENOMEM;
        }
    }
    return 0;
}

int
config_load(struct config *c, const char *file, struct diag *d)
{
    memset(c, 0, sizeof *c);
    int rc = file ? jdoc_load(&c->doc, file, d)
                  : jdoc_parse(&c->doc, "(default config)", config_default_text,
                               sizeof config_default_text - 1, d);
    if (rc)
        return -1;
    json_t *root = c->doc.root;
    if (sch_validate(config_schema, root, "", &c->doc, d))
        goto fail;
    read_settings(c, root);
    if (read_paths(c, root, file, d))
        goto fail;
    if (load_agents(c, d))
        goto fail;
    return 0;
fail:
    config_free(c);
    return -1;
}

void
config_free(struct config *c)
{
    for (size_t i = 0; i < c->n_agents; i++)
        free(c->agents[i].ptr);
    free(c->agents);
    free(c->listen);
    free(c->state_dir);
    free(c->log_format);
    free(c->log_level);
    free(c->www_dir);
    free(c->chartjs_dir);
    free(c->tls_cert);
    strv_free(&c->manifest_dirs);
    strv_free(&c->plugin_dirs);
    strv_free(&c->trusted_proxies);
    jdoc_free(&c->doc);
    memset(c, 0, sizeof *c);
}

const struct agent_conf *
config_agent(const struct config *c, const char *id)
{
    for (size_t i = 0; i < c->n_agents; i++)
        if (strcmp(c->agents[i].id, id) == 0)
            return &c->agents[i];
    return NULL;
}
