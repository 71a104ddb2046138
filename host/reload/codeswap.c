/*
 * The code-swap service (codeswap.h): one thread that runs reload jobs in order (reload.c),
 * the queue the API and the plugin dir watch (watch.c) feed, and the reports of each outcome:
 * the log, the audit log (for swaps tarsd started on its own), the plugin's last_reload and
 * the stream's reload events.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "audit_log.h"
#include "codeswap_internal.h"
#include "host.h"
#include "log.h"
#include "rcu.h"
#include "text.h"
#include "writer.h"

/* How often the thread looks for retired generations whose last run has gone. */
#define REAP_EVERY_S 1

static struct cs_job *
job_new(const char *name, const char *trigger, const char *who, const char *file)
{
    struct cs_job *j = calloc(1, sizeof *j);
    if (!j)
        return NULL;
    snprintf(j->name, sizeof j->name, "%s", name);
    snprintf(j->trigger, sizeof j->trigger, "%s", trigger);
    snprintf(j->who, sizeof j->who, "%s", who);
    snprintf(j->file, sizeof j->file, "%s", file ? file : "");
    j->rescan = !*name;
    j->requested = host_now();
    return j;
}

/*
 * Queues j (with cs->lock held). Returns 0, 1 when a queued job already covers it (a watch
 * event for a plugin whose reload has not started yet: j is not needed), or -1 when stopping.
 */
static int
enqueue(struct codeswap *cs, struct cs_job *j)
{
    if (atomic_load(&cs->stop))
        return -1;
    for (struct cs_job *q = cs->head; q && !j->waiting; q = q->next)
        if (!q->waiting && strcmp(q->name, j->name) == 0)
            return 1;
    if (cs->tail)
        cs->tail->next = j;
    else
        cs->head = j;
    cs->tail = j;
    pthread_cond_signal(&cs->wake);
    return 0;
}

static struct cs_job *
dequeue(struct codeswap *cs)
{
    struct cs_job *j = cs->head;
    if (j) {
        cs->head = j->next;
        if (!cs->head)
            cs->tail = NULL;
        j->next = NULL;
    }
    return j;
}

/* The stream's event of an outcome. */
static json_t *
event_of(const json_t *res)
{
    json_t *e = json_pack("{s:s}", "type", "reload");
    const char *keys[] = {"plugin",  "outcome", "trigger",  "message", "error",   "generation",
                          "version", "sha256",  "migrated", "kept",    "took_ms", "seq"};
    for (size_t i = 0; e && i < sizeof keys / sizeof keys[0]; i++) {
        json_t *v = json_object_get(res, keys[i]);
        if (v) /* a copy: res goes to another thread (the API's), and jansson shares nothing */
            json_object_set_new(e, keys[i], json_deep_copy(v));
    }
    return e;
}

/* Logs, audits (swaps tarsd started itself) and keeps the outcome of job j. */
static void
report(struct codeswap *cs, const struct cs_job *j, int status, json_t *res)
{
    struct host *h = cs->h;
    if (!status || !res)
        return;
    const char *msg = json_string_value(json_object_get(res, "message"));
    const char *outcome = json_string_value(json_object_get(res, "outcome"));
    /* A refused build is a warning: the running generation goes on. */
    hlog(status < 400 && strcmp(outcome, "partial") != 0 ? LOG_INFO
         : strcmp(outcome, "refused") == 0               ? LOG_WARN
                                                         : LOG_ERROR,
         "reload", "%s", msg ? msg : "?");
    if (strcmp(j->trigger, "api") != 0) {
        /* Audited and durable before the outcome shows, as the router does for API calls. */
        char why[256];
        audit_append_system(h, j->who, "WATCH", j->file, status, msg ? msg : "");
        if (writer_flush(h->writer, why, sizeof why))
            hlog(LOG_ERROR, "reload", "the audit entry of this reload was not saved: %s", why);
    }
    pthread_mutex_lock(&cs->lock);
    json_object_set_new(res, "seq", json_integer((json_int_t)++cs->seq));
    json_object_set_new(res, "time", json_real(host_wall()));
    json_object_set_new(cs->last, j->name, json_deep_copy(res));
    json_array_append_new(cs->events, event_of(res));
    pthread_mutex_unlock(&cs->lock);
}

/* Runs j, reports it, and hands it to its waiter (or frees it). cs->lock is held on entry and
 * on return, not in between. */
static void
run_one(struct codeswap *cs, struct cs_job *j)
{
    json_t *res = NULL;
    pthread_mutex_unlock(&cs->lock);
    int status = reload_run(cs, j, &res);
    if (j->waiting && !status) /* an API call always gets an answer */
        status = 200;
    report(cs, j, status, res);
    pthread_mutex_lock(&cs->lock);
    if (j->waiting) {
        j->status = status;
        j->result = res;
        j->done = 1;
        pthread_cond_broadcast(&cs->done);
    } else {
        json_decref(res);
        free(j);
    }
}

/* Frees retired generations whose last run went away (a reset or delete, a later swap). */
static void
reap(struct codeswap *cs)
{
    json_t *freed = reload_reap(cs);
    size_t i;
    json_t *g;
    json_array_foreach(freed, i, g)
    {
        hlog(LOG_INFO, "reload",
             "generation %lld (%s) of a plugin is unloaded: its last agent left",
             (long long)json_integer_value(json_object_get(g, "generation")),
             json_string_value(json_object_get(g, "version")));
    }
    json_decref(freed);
}

static void *
cs_main(void *arg)
{
    struct codeswap *cs = arg;
    pthread_setname_np(pthread_self(), "tars-reload");
    rcu_thread_online(); /* it reads the set of runs */
    pthread_mutex_lock(&cs->lock);
    while (!atomic_load(&cs->stop)) {
        struct cs_job *j = dequeue(cs);
        if (j) {
            run_one(cs, j);
            continue;
        }
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += REAP_EVERY_S;
        pthread_cond_timedwait(&cs->wake, &cs->lock, &until);
        /* Only this thread changes the retired list: it reads it without the registry's lock. */
        if (!cs->head && cs->h->reg.n_retired && !atomic_load(&cs->stop)) {
            pthread_mutex_unlock(&cs->lock);
            reap(cs);
            pthread_mutex_lock(&cs->lock);
        }
    }
    for (struct cs_job *j; (j = dequeue(cs));) {
        if (!j->waiting) {
            free(j);
            continue;
        }
        j->status = 503;
        j->result = json_pack("{s:s, s:s, s:s}", "plugin", j->name, "outcome", "refused", "error",
                              "tarsd is stopping");
        j->done = 1;
    }
    pthread_cond_broadcast(&cs->done);
    pthread_mutex_unlock(&cs->lock);
    rcu_thread_offline();
    return NULL;
}

int
codeswap_start(struct host *h)
{
    struct codeswap *cs = calloc(1, sizeof *cs);
    if (!cs || !(cs->last = json_object()) || !(cs->events = json_array()) ||
        !(cs->refused = json_object())) {
        hlog(LOG_ERROR, "reload", "out of memory: plugins will not be reloaded");
        if (cs) {
            json_decref(cs->last);
            json_decref(cs->events);
        }
        free(cs);
        return -1;
    }
    cs->h = h;
    codeswap_vet_rescans(h); /* the builds found at start were mapped by then */
    atomic_init(&cs->stop, 0);
    pthread_mutex_init(&cs->lock, NULL);
    pthread_cond_init(&cs->wake, NULL);
    pthread_cond_init(&cs->done, NULL);
    h->codeswap = cs;
    int rc = pthread_create(&cs->thread, NULL, cs_main, cs);
    if (rc) {
        hlog(LOG_ERROR, "reload", "cannot start the code-swap thread: %s", strerror(rc));
        return -1;
    }
    cs->started = 1;
    if (h->cfg.watch_plugins && watch_start(h, &cs->watch))
        hlog(LOG_WARN, "reload",
             "not every plugin and manifest dir is watched (see above): reload what they hold "
             "through the API");
    return 0;
}

void
codeswap_stop(struct host *h)
{
    struct codeswap *cs = h->codeswap;
    if (!cs || !cs->started)
        return;
    pthread_mutex_lock(&cs->lock);
    atomic_store(&cs->stop, 1);
    pthread_cond_broadcast(&cs->wake);
    pthread_mutex_unlock(&cs->lock);
    pthread_join(cs->thread, NULL);
    cs->started = 0;
}

void
codeswap_free(struct host *h)
{
    struct codeswap *cs = h->codeswap;
    if (!cs)
        return;
    codeswap_stop(h);
    watch_free(cs->watch);
    json_decref(cs->last);
    json_decref(cs->events);
    json_decref(cs->refused);
    pthread_mutex_destroy(&cs->lock);
    pthread_cond_destroy(&cs->wake);
    pthread_cond_destroy(&cs->done);
    free(cs);
    h->codeswap = NULL;
}

/*
 * A job's outcome status as the error convention's code. Inside the code-swap service an
 * outcome keeps an HTTP-like status because the audit log records one for the swaps tarsd
 * starts itself; callers get 0 or a negative errno, and the API picks the HTTP status.
 */
static int
outcome_code(int status)
{
    return status < 400    ? 0
           : status == 404 ? -ENOENT
           : status == 409 ? -EBUSY
           : status == 422 ? -EINVAL
           : status == 503 ? -ESHUTDOWN
                           : -EIO;
}

static int
reload_status(struct host *h, const char *name, const char *who, json_t **result)
{
    struct codeswap *cs = h->codeswap;
    struct cs_job *j = cs ? job_new(name, "api", who, "") : NULL;
    *result = NULL;
    if (!j) {
        *result = json_pack("{s:s}", "error", cs ? "out of memory" : "plugin reloads are off");
        return cs ? 500 : 503;
    }
    j->waiting = 1;
    j->rescan = 0; /* a name is always given here */
    pthread_mutex_lock(&cs->lock);
    if (enqueue(cs, j)) {
        pthread_mutex_unlock(&cs->lock);
        free(j);
        *result = json_pack("{s:s, s:s}", "plugin", name, "error", "tarsd is stopping");
        return 503;
    }
    while (!j->done)
        pthread_cond_wait(&cs->done, &cs->lock);
    pthread_mutex_unlock(&cs->lock);
    int status = j->status;
    *result = j->result;
    free(j);
    return status;
}

int
codeswap_reload(struct host *h, const char *name, const char *who, json_t **result)
{
    return outcome_code(reload_status(h, name, who, result));
}

void
codeswap_submit(struct host *h, const char *name, const char *trigger, const char *file)
{
    struct codeswap *cs = h->codeswap;
    struct cs_job *j = cs ? job_new(name, trigger, "watcher", file) : NULL;
    if (!j)
        return;
    pthread_mutex_lock(&cs->lock);
    int rc = enqueue(cs, j);
    pthread_mutex_unlock(&cs->lock);
    if (rc)
        free(j);
}

json_t *
codeswap_last(struct host *h, const char *name)
{
    struct codeswap *cs = h->codeswap;
    if (!cs)
        return NULL;
    pthread_mutex_lock(&cs->lock);
    json_t *o = json_deep_copy(json_object_get(cs->last, name));
    pthread_mutex_unlock(&cs->lock);
    return o;
}

json_t *
codeswap_take_events(struct host *h)
{
    struct codeswap *cs = h->codeswap;
    if (!cs)
        return json_array();
    json_t *fresh = json_array();
    pthread_mutex_lock(&cs->lock);
    json_t *ev = cs->events;
    if (fresh)
        cs->events = fresh;
    else
        ev = json_array();
    pthread_mutex_unlock(&cs->lock);
    return ev;
}

int
cs_refused_before(struct codeswap *cs, const char *name, const char *sha, const json_t *manifest)
{
    pthread_mutex_lock(&cs->lock);
    const json_t *was = json_object_get(cs->refused, name);
    const char *was_sha = json_string_value(json_object_get(was, "sha256"));
    const json_t *was_manifest = json_object_get(was, "manifest");
    int same = was_sha && sha && strcmp(was_sha, sha) == 0 && manifest && was_manifest &&
               json_equal(manifest, was_manifest);
    pthread_mutex_unlock(&cs->lock);
    return same;
}

void
cs_note_outcome(struct codeswap *cs, const char *name, const char *outcome, const char *sha,
                const json_t *manifest, const char *error)
{
    json_t *keep = NULL;
    if (strcmp(outcome, "refused") == 0)
        keep = json_pack("{s:s?, s:o, s:s, s:f}", "sha256", sha && *sha ? sha : NULL, "manifest",
                         manifest ? json_deep_copy(manifest) : json_null(), "error",
                         error ? error : "refused", "time", host_wall());
    pthread_mutex_lock(&cs->lock);
    if (keep)
        json_object_set_new(cs->refused, name, keep);
    else if (strcmp(outcome, "refused") != 0)
        json_object_del(cs->refused, name);
    pthread_mutex_unlock(&cs->lock);
}

json_t *
codeswap_refused_builds(struct host *h)
{
    struct codeswap *cs = h->codeswap;
    json_t *out = json_object();
    if (!cs || !out)
        return out;
    pthread_mutex_lock(&cs->lock);
    const char *name;
    json_t *v;
    json_object_foreach(cs->refused, name, v)
    {
        json_object_set_new(out, name,
                            json_pack("{s:O?, s:O, s:O}", "sha256", json_object_get(v, "sha256"),
                                      "error", json_object_get(v, "error"), "time",
                                      json_object_get(v, "time")));
    }
    pthread_mutex_unlock(&cs->lock);
    return out;
}

json_t *
codeswap_rescan_report(struct host *h, const char *why)
{
    struct diag d = {0};
    char added_names[2048] = "";
    json_t *added_list = json_array(), *refusals = json_array();
    pthread_rwlock_wrlock(&h->reg_lock);
    size_t before = registry_loaded(&h->reg);
    int refused = registry_scan(&h->reg, &d);
    size_t added = registry_loaded(&h->reg) - before;
    /* Loaded entries stay first; what the scan added follows them. */
    for (size_t i = before; i < h->reg.n; i++) {
        const tars_plugin_info *info = h->reg.v[i]->info;
        if (info) {
            char one[256];
            snprintf(one, sizeof one, "%s %s %s", tars_kind_name(info->kind), info->name,
                     info->version);
            tars__join(added_names, sizeof added_names, "\n", one);
            json_array_append_new(added_list,
                                  json_pack("{s:s, s:s, s:s}", "kind", tars_kind_name(info->kind),
                                            "name", info->name, "version", info->version));
        }
    }
    struct strv loaded = {0};
    for (size_t i = 0; i < before && i < h->reg.n; i++)
        if (h->reg.v[i]->info)
            strv_push(&loaded, h->reg.v[i]->info->name);
    pthread_rwlock_unlock(&h->reg_lock);
    /* A loaded plugin's files may have changed unwatched (watch_plugins off, a missed event):
     * a rescan looks at them too; a reload of an unchanged build is silent. */
    for (size_t i = 0; i < loaded.n; i++)
        codeswap_submit(h, loaded.v[i], "rescan", "");
    strv_free(&loaded);
    for (size_t i = 0; i < d.n; i++) {
        hlog(LOG_WARN, "registry", "%s", d.lines[i]);
        audit_append_system(h, "registry", "RESCAN", why, 422, d.lines[i]);
        /* A refusal quotes file names and manifest text: any bytes. */
        size_t len = 4 * strlen(d.lines[i]) + 1;
        char *line = malloc(len);
        if (line)
            json_array_append_new(refusals, json_string(text_utf8_safe(d.lines[i], line, len)));
        free(line);
    }
    for (char *line = added_names, *end; *line; line = end + (*end != '\0')) {
        end = line + strcspn(line, "\n");
        hlog(LOG_INFO, "registry", "loaded %.*s", (int)(end - line), line);
    }
    hlog(LOG_INFO, "tarsd", "%s: rescanned manifests: %zu new, %d refused", why, added, refused);
    diag_free(&d);
    return json_pack("{s:o, s:o, s:i}", "added", added_list ? added_list : json_array(), "refusals",
                     refusals ? refusals : json_array(), "refused", refused);
}

void
codeswap_rescan(struct host *h, const char *why)
{
    json_decref(codeswap_rescan_report(h, why));
}
