/*
 * The fuzz targets' shared parts. CivetWeb is replaced by a fake of the few functions the
 * API calls on a connection (defined here, they take precedence over libcivetweb's), so
 * router.c and stream.c run unchanged without a socket: api_install registers its
 * handlers with the fake, which keeps them for the targets to call.
 */
#include <civetweb.h>
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <unistd.h>
#include "agents.h"
#include "bigstack.h"
#include "fuzz.h"
#include "persist.h"
#include "rcu.h"
#include "runset.h"
#include "studies.h"
#include "tokens.h"

void
fuzz_die(const char *what, const char *why)
{
    fprintf(stderr, "fuzz: %s: %s\n", what, why);
    exit(2);
}

const char *
fuzz_file(const uint8_t *data, size_t size)
{
    static int fd = -1;
    static char path[64];
    if (fd < 0) {
        fd = memfd_create("fuzz-input", 0);
        if (fd < 0)
            fuzz_die("memfd_create", "cannot make the input file");
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    }
    if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
        fuzz_die("memfd", "cannot write the input file");
    return path;
}

/* --- the fake CivetWeb */

struct fuzz_handlers fuzz_handlers;
static struct bigstack *worker_stack;

const struct mg_request_info *
mg_get_request_info(const struct mg_connection *c)
{
    return c ? c->ri : NULL;
}

const char *
mg_get_header(const struct mg_connection *c, const char *name)
{
    for (int i = 0; i < c->n_headers; i++)
        if (strcasecmp(c->header_names[i], name) == 0)
            return c->header_values[i];
    return NULL;
}

int
mg_read(struct mg_connection *c, void *buf, size_t len)
{
    size_t left = c->body_len - c->body_read;
    size_t n = len < left ? len : left;
    /* A little at a time, as a socket gives it: the router's loop must add it up. */
    if (n > 4096)
        n = 4096;
    memcpy(buf, c->body + c->body_read, n);
    c->body_read += n;
    return (int)n;
}

int
mg_write(struct mg_connection *c, const void *buf, size_t len)
{
    (void)buf;
    c->written += len;
    return (int)len;
}

int
mg_printf(struct mg_connection *c, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return n < 0 ? n : mg_write(c, buf, (size_t)n);
}

const char *
mg_get_response_code_text(const struct mg_connection *c, int status)
{
    (void)c;
    return status < 300 ? "OK" : status < 500 ? "Client Error" : "Server Error";
}

/* A fake connection belongs to no server: the slow-client guard leaves it alone. */
struct mg_context *
mg_get_context(const struct mg_connection *c)
{
    (void)c;
    return NULL;
}

void *
mg_get_thread_pointer(const struct mg_connection *c)
{
    (void)c;
    return worker_stack;
}

void
mg_set_user_connection_data(const struct mg_connection *c, void *data)
{
    ((struct mg_connection *)c)->user_data = data;
}

void *
mg_get_user_connection_data(const struct mg_connection *c)
{
    return c ? c->user_data : NULL;
}

int
mg_websocket_write(struct mg_connection *c, int opcode, const char *data, size_t len)
{
    (void)opcode;
    return mg_write(c, data, len);
}

void
mg_set_request_handler(struct mg_context *ctx, const char *uri, mg_request_handler handler,
                       void *cbdata)
{
    (void)ctx;
    if (strcmp(uri, "/api") == 0) {
        fuzz_handlers.request = handler;
        fuzz_handlers.request_data = cbdata;
    }
}

void
mg_set_websocket_handler(struct mg_context *ctx, const char *uri,
                         mg_websocket_connect_handler connect_handler,
                         mg_websocket_ready_handler ready_handler,
                         mg_websocket_data_handler data_handler,
                         mg_websocket_close_handler close_handler, void *cbdata)
{
    (void)ctx;
    (void)uri;
    (void)ready_handler; /* no sender thread: what a client is sent stays queued */
    fuzz_handlers.ws_connect = connect_handler;
    fuzz_handlers.ws_data = data_handler;
    fuzz_handlers.ws_close = close_handler;
    fuzz_handlers.ws_data_arg = cbdata;
}

/* --- the host */

/* Limits off (rate limits would refuse most inputs), small logs and histories (a long run
 * makes millions of calls; proposals are kept, hence the larger map), three agents. */
static const char config_fmt[] =
    "{\"state_dir\": \"%s\", \"api_rate\": 0, \"api_address_rate\": 0, \"audit_kept\": 64,\n"
    " \"history_kept\": 100, \"scalars_kept\": 100, \"state_map_mb\": 1024,\n"
    " \"log_level\": \"error\", \"checkpoint_every_s\": 0, \"trusted_proxies\": [\"127.0.0.1\"],\n"
    " \"api_max_body_kb\": 16, \"http_threads\": 8, \"runners\": 1,\n"
    " \"agents\": [{\"id\": \"a1\", \"agent\": \"random\", \"env\": \"cartpole\"},\n"
    "   {\"id\": \"p1\", \"agent\": \"ppo\", \"env\": \"cartpole\", \"n_envs\": 2,\n"
    "    \"params\": {\"hidden\": 8, \"n_steps\": 8, \"batch_size\": 16}},\n"
    "   {\"id\": \"d1\", \"agent\": \"dqn\", \"env\": \"cartpole\",\n"
    "    \"params\": {\"hidden\": 8, \"buffer_size\": 1000}}]}\n";

static struct fuzz_host fuzz_host_state;
static char baseline_tokens[4096];

/* The ids of the tokens, as one string (to tell the baseline's from an input's). */
static void
token_ids(struct host *h, char *buf, size_t len)
{
    json_t *list = tokens_list(h), *t;
    size_t i, used = 0;
    buf[0] = '\0';
    json_array_foreach(list, i, t)
    {
        int n = snprintf(buf + used, len - used, "%s ",
                         json_string_value(json_object_get(t, "id")) ?: "");
        if (n > 0 && (size_t)n < len - used)
            used += (size_t)n;
    }
    json_decref(list);
}

static char state_dir[] = "/dev/shm/tars-fuzz-XXXXXX";

/* At exit: the state dir goes (it lives in memory); a crash leaves it for a look. */
static void
remove_state_dir(void)
{
    DIR *d = opendir(state_dir);
    char path[sizeof state_dir + 256];
    for (struct dirent *e; d && (e = readdir(d));) {
        snprintf(path, sizeof path, "%s/%s", state_dir, e->d_name);
        if (e->d_name[0] != '.')
            unlink(path);
    }
    if (d)
        closedir(d);
    rmdir(state_dir);
}

static void
setup(struct fuzz_host *fh)
{
    char *dir = state_dir;
    static char conf[sizeof state_dir + 16];
    char err[512], *text = NULL;
    struct diag d = {0};
    if (!mkdtemp(dir))
        fuzz_die("mkdtemp", "cannot make the state dir");
    atexit(remove_state_dir);
    snprintf(conf, sizeof conf, "%s/tars.json", dir);
    FILE *f = fopen(conf, "w");
    if (!f || fprintf(f, config_fmt, dir) < 0 || fclose(f) != 0)
        fuzz_die(conf, "cannot write the config");
    struct host *h = fh->h = calloc(1, sizeof *h);
    struct config_flags o = {.config = conf};
    rcu_thread_online();
    /* Studies without their driver thread: the routes run, no trial trains (studies.sh). */
    if (!h || host_setup(h, &o, 0, &d) || persist_open(h, err, sizeof err) ||
        persist_restore(h, &d) || studies_open(h)) {
        diag_print(&d, stderr, "fuzz: ");
        fuzz_die("host", *err ? err : "cannot set up");
    }
    worker_stack = bigstack_new(8u << 20);
    static struct mg_context *no_context;
    if (!worker_stack || api_install(no_context, h, err, sizeof err))
        fuzz_die("api", err);
    for (int role = ROLE_VIEWER; role <= ROLE_ADMIN; role++) {
        char id[17];
        if (tokens_create(h, role, api_role_name(role), "fuzz", 0, fh->tokens[role], id, err,
                          sizeof err))
            fuzz_die("token", err);
    }
    token_ids(h, baseline_tokens, sizeof baseline_tokens);
    /* Two studies every input finds (ids 1 and 2): an external one with a trial asked, and one
     * of an agent (its trials never start: no driver). */
    static const char *const studies[] = {
        "{\"name\": \"s1\", \"directions\": [\"minimize\"], \"space\": {\"x\": {\"type\": "
        "\"float\", \"low\": 0, \"high\": 1}, \"k\": {\"type\": \"categorical\", \"choices\": "
        "[\"a\", \"b\"]}}}",
        "{\"name\": \"s2\", \"agent\": \"ppo\", \"env\": \"cartpole\", \"budget\": 1000}"};
    for (size_t i = 0; i < 2; i++) {
        json_t *body = json_loads(studies[i], 0, NULL), *out = NULL;
        if (!body || studies_create(h, body, &out, err, sizeof err))
            fuzz_die("study", err);
        json_decref(body);
        json_decref(out);
    }
    json_t *asked = NULL;
    if (studies_ask(h, 1, NULL, &asked, err, sizeof err))
        fuzz_die("ask", err);
    json_decref(asked);
    /* A runner, for what only a runner does (a stop's checkpoint); nothing trains between
     * inputs: the config's agents are stopped now, and whatever an input starts after it. */
    int rc = runner_pool_start(&h->pool, h->cfg.runners, h->cfg.runner_nice, &h->runs,
                               persist_after_slice, h);
    if (rc)
        fuzz_die("runner", strerror(-rc));
    fuzz_host_settle(fh);
    free(text);
    diag_free(&d);
}

struct fuzz_host *
fuzz_host_get(void)
{
    if (!fuzz_host_state.h)
        setup(&fuzz_host_state);
    return &fuzz_host_state;
}

void
fuzz_host_settle(struct fuzz_host *fh)
{
    struct host *h = fh->h;
    char err[256], ids[4096], *save = NULL;
    /* Agents an input created: every one but the config's three. */
    for (;;) {
        char victim[128] = "";
        rcu_enter();
        struct runset *set = runs_current(&h->runs);
        for (size_t i = 0; i < set->n && !*victim; i++) {
            const char *id = set->v[i]->id;
            if (strcmp(id, "a1") != 0 && strcmp(id, "p1") != 0 && strcmp(id, "d1") != 0)
                snprintf(victim, sizeof victim, "%s", id);
        }
        rcu_leave();
        if (!*victim || agents_delete(h, victim, err, sizeof err) != 0)
            break;
    }
    for (;;) {
        char running[128] = "";
        rcu_enter();
        struct runset *set = runs_current(&h->runs);
        for (size_t i = 0; i < set->n && !*running; i++)
            if (atomic_load(&set->v[i]->state) == RUN_RUNNING)
                snprintf(running, sizeof running, "%s", set->v[i]->id);
        rcu_leave();
        if (!*running || agents_set_running(h, running, 0, err, sizeof err) != 0)
            break;
    }
    /* Studies an input created: every one but the two of the set-up. */
    json_t *list = studies_list(h), *st;
    size_t i;
    json_array_foreach(list, i, st)
    {
        uint64_t id = (uint64_t)json_integer_value(json_object_get(st, "id"));
        if (id > 2)
            studies_delete(h, id, err, sizeof err);
    }
    json_decref(list);
    token_ids(h, ids, sizeof ids);
    if (strcmp(ids, baseline_tokens) != 0)
        for (char *id = strtok_r(ids, " ", &save); id; id = strtok_r(NULL, " ", &save))
            if (!strstr(baseline_tokens, id))
                tokens_revoke(h, id, err, sizeof err);
    /* What the input queued (audit entries, records) is written and freed before it ends:
     * libFuzzer runs a leak check after every input whose mallocs and frees differ, and
     * LeakSanitizer's scan of the whole host made that 25 times slower than the input. */
    persist_commit(h, err, sizeof err);
}
