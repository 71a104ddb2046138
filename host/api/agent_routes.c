/*
 * Agents: list, create, detail, start/stop/reset, delete, parameters, and the stored
 * history, checkpoints and training scalars (paged). Live values are read from the run set
 * under RCU; stored ones in one LMDB read transaction.
 */
#include <civetweb.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "agents.h"
#include "api.h"
#include "host.h"
#include "params_json.h"
#include "persist.h"
#include "rcu.h"
#include "records.h"
#include "store.h"
#include "text.h"
#include "writer.h"

static json_t *
number_or_null(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

json_t *
api_run_json(struct host *h, struct run *r)
{
    int state = atomic_load(&r->state);
    int checkpointed = atomic_load(&r->checkpointed);
    json_t *o = json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:i, s:I, s:I, s:o, s:o, s:o, s:o, s:o}", "id", r->id, "agent",
        r->agent_plugin->info->name, "env", r->env_plugin->info->name, "origin",
        config_agent(&h->cfg, r->id) ? "config" : "api", "state", run_state_name(state), "n_envs",
        (int)r->n_envs, "steps", (json_int_t)atomic_load(&r->steps), "episodes",
        (json_int_t)atomic_load(&r->episodes), "sps", number_or_null(atomic_load(&r->sps)),
        "mean_return", number_or_null(atomic_load(&r->mean_return)), "last_return",
        number_or_null(atomic_load(&r->last_return)), "checkpoint_step",
        checkpointed ? json_integer((json_int_t)atomic_load(&r->checkpoint_step)) : json_null(),
        "checkpoint_time",
        checkpointed ? number_or_null(atomic_load(&r->checkpoint_time)) : json_null());
    if (o && state == RUN_FAILED)
        json_object_set_new(o, "error", json_string(r->error));
    if (o && r->trial) {
        const struct trial_conf *t = &r->trial->conf;
        json_object_set_new(o, "origin", json_string("study"));
        json_object_set_new(o, "study",
                            json_pack("{s:I, s:I, s:I}", "id", (json_int_t)t->study, "trial",
                                      (json_int_t)t->number, "budget", (json_int_t)t->budget));
    }
    return o;
}

int
api_agents_list(struct api_req *q)
{
    json_t *list = json_array();
    rcu_enter();
    struct runset *set = runs_current(&q->h->runs);
    for (size_t i = 0; list && i < set->n; i++)
        json_array_append_new(list, api_run_json(q->h, set->v[i]));
    rcu_leave();
    return api_reply(q, 200, json_pack("{s:o}", "agents", list ? list : json_array()));
}

/* The live JSON of agent id (extended with its parameters when full), or NULL. */
static json_t *
live(struct host *h, const char *id, int full)
{
    rcu_enter();
    struct run *r = runset_find(runs_current(&h->runs), id);
    json_t *o = r ? api_run_json(h, r) : NULL;
    if (o && full) {
        const struct run_params *pp = atomic_load_explicit(&r->params, memory_order_acquire);
        const tars_params *ap = pp->agent, *ep = pp->env;
        json_object_set_new(o, "seed", json_integer((json_int_t)r->seed));
        json_object_set_new(o, "agent_version", json_string(r->agent_plugin->info->version));
        json_object_set_new(o, "env_version", json_string(r->env_plugin->info->version));
        json_object_set_new(o, "history_dropped",
                            json_integer((json_int_t)atomic_load(&r->history_dropped)));
        json_object_set_new(o, "params", pjson_values(ap));
        json_object_set_new(o, "env_params", pjson_values(ep));
    }
    rcu_leave();
    return o;
}

static int
no_agent(struct api_req *q)
{
    return api_error(q, 404, "not_found", "no agent '%s'", q->params[0]);
}

/* The newest scalars record of an agent, or null. */
static json_t *
last_scalars(struct host *h, MDB_txn *txn, const char *id)
{
    uint64_t last, count;
    MDB_val k, v;
    char key[128];
    if (rec_last_n(h->store, txn, DB_SCALARS, id, &last, &count) || !count)
        return json_null();
    k.mv_size = store_agent_key(key, sizeof key, id, last);
    k.mv_data = key;
    if (mdb_get(txn, store_dbi(h->store, DB_SCALARS), &k, &v))
        return json_null();
    json_t *o = json_loadb(v.mv_data, v.mv_size, 0, NULL);
    return o ? o : json_null();
}

/*
 * What a full disk (or a writer far behind) cost the agent: episodes its run could not buffer
 * plus those the writer's backlog dropped (history_dropped, their sum), the scalars records
 * dropped, and the checkpoints superseded by a newer one before they could be written.
 */
static void
add_drops(struct host *h, const char *id, json_t *o)
{
    struct writer_drops d = {0};
    if (h->writer)
        writer_drops(h->writer, id, &d);
    json_int_t episodes =
        json_integer_value(json_object_get(o, "history_dropped")) + (json_int_t)d.episodes;
    json_object_set_new(o, "history_dropped", json_integer(episodes));
    json_object_set_new(o, "dropped",
                        json_pack("{s:I, s:I, s:I}", "episodes", episodes, "scalars",
                                  (json_int_t)d.scalars, "checkpoints", (json_int_t)d.checkpoints));
}

int
api_agent_get(struct api_req *q)
{
    struct host *h = q->h;
    const char *id = q->params[0];
    json_t *o = live(h, id, 1);
    if (!o)
        return no_agent(q);
    json_t *rec = persist_record(h, id);
    const char *fields[] = {"preset", "created"};
    for (size_t i = 0; i < 2; i++) {
        json_t *v = json_object_get(rec, fields[i]);
        json_object_set(o, fields[i], v ? v : json_null());
    }
    json_decref(rec);
    add_drops(h, id, o);
    MDB_txn *txn;
    uint64_t last = 0, count = 0;
    json_t *scalars = NULL;
    if (store_read_begin(h->store, &txn) == 0) {
        rec_last_n(h->store, txn, DB_EPISODES, id, &last, &count);
        scalars = last_scalars(h, txn, id);
        store_read_end(h->store, txn);
    }
    json_object_set_new(o, "scalars", scalars ? scalars : json_null());
    json_object_set_new(o, "history",
                        json_pack("{s:I, s:I, s:I}", "first",
                                  (json_int_t)(count ? last - count + 1 : 0), "last",
                                  (json_int_t)last, "count", (json_int_t)count));
    return api_reply(q, 200, o);
}

int
api_agent_create(struct api_req *q)
{
    struct host *h = q->h;
    struct jdoc doc;
    struct diag d = {0};
    char err[1024], root_ptr[] = "";
    if (!q->body_text || !json_is_object(q->body))
        return api_error(q, 400, "invalid",
                         "the body must be an agent: {\"id\", \"agent\", \"env\", \"n_envs\", "
                         "\"seed\", \"preset\", \"params\", \"env_params\"}");
    if (jdoc_parse(&doc, "request body", q->body_text, q->body_len, &d))
        return api_error(q, 400, "bad_json", "%s", d.n ? d.lines[0] : "unreadable body");
    int errors = sch_validate(config_agent_schema, doc.root, "", &doc, &d);
    struct run_spec s = {0};
    struct agent_conf a = {0};
    if (!errors) {
        config_agent_read(doc.root, &a);
        a.ptr = root_ptr;
        /* Until the run is in the set, no code swap may free the plugins looked up here. */
        pthread_rwlock_rdlock(&h->code_lock);
        pthread_rwlock_rdlock(&h->reg_lock);
        errors = host_resolve_agent(h, &doc, &a, &s, &d);
        pthread_rwlock_unlock(&h->reg_lock);
        if (errors) {
            tars_params_free(s.agent_params);
            tars_params_free(s.env_params);
            pthread_rwlock_unlock(&h->code_lock);
        }
    }
    if (errors) {
        /* The lines quote the body's keys and values: any bytes, cut at the diag's limit. */
        json_t *details = json_array();
        char line[sizeof q->message];
        for (size_t i = 0; i < d.n; i++)
            json_array_append_new(details,
                                  json_string(text_utf8_safe(d.lines[i], line, sizeof line)));
        text_utf8_safe(d.lines[0], q->message, sizeof q->message);
        api_reply(q, 400,
                  json_pack("{s:{s:s, s:s, s:o}}", "error", "code", "invalid", "message",
                            q->message, "details", details));
    } else {
        int rc = agents_create(h, &s, a.preset, err, sizeof err);
        pthread_rwlock_unlock(&h->code_lock);
        if (rc)
            api_errno(q, rc, err);
        else {
            snprintf(q->audit, sizeof q->audit, "created agent '%s' (%s on %s)", a.id, a.agent,
                     a.env);
            json_t *o = live(h, a.id, 1);
            api_reply(q, 201, o ? o : json_object());
        }
    }
    diag_free(&d);
    jdoc_free(&doc);
    return q->status;
}

static int
lifecycle(struct api_req *q, const char *verb)
{
    char err[1024];
    const char *id = q->params[0];
    int rc = strcmp(verb, "reset") == 0 ? agents_reset(q->h, id, err, sizeof err)
             : strcmp(verb, "delete") == 0
                 ? agents_delete(q->h, id, err, sizeof err)
                 : agents_set_running(q->h, id, strcmp(verb, "start") == 0, err, sizeof err);
    if (rc)
        return api_errno(q, rc, err);
    snprintf(q->audit, sizeof q->audit, "%s agent '%s'", verb, id);
    if (strcmp(verb, "delete") == 0)
        return api_reply(q, 200, json_pack("{s:s, s:b}", "id", id, "deleted", 1));
    json_t *o = live(q->h, id, 0);
    return o ? api_reply(q, 200, o) : no_agent(q);
}

int
api_agent_start(struct api_req *q)
{
    return lifecycle(q, "start");
}

int
api_agent_stop(struct api_req *q)
{
    return lifecycle(q, "stop");
}

int
api_agent_reset(struct api_req *q)
{
    return lifecycle(q, "reset");
}

int
api_agent_delete(struct api_req *q)
{
    return lifecycle(q, "delete");
}

int
api_agent_params(struct api_req *q)
{
    json_t *o = NULL;
    rcu_enter();
    struct run *r = runset_find(runs_current(&q->h->runs), q->params[0]);
    if (r) {
        const struct run_params *pp = atomic_load_explicit(&r->params, memory_order_acquire);
        const tars_plugin_info *ai = r->agent_plugin->info, *ei = r->env_plugin->info;
        /* When the runner first stepped with this version, and how long after publication. */
        double used = atomic_load_explicit(&pp->first_use, memory_order_acquire);
        json_t *first_us =
            pp->version && used > 0 ? json_real((used - pp->published) * 1e6) : json_null();
        json_t *first_step =
            used > 0 ? json_integer((json_int_t)atomic_load(&pp->first_use_step)) : json_null();
        o = json_pack("{s:s, s:I, s:I, s:o, s:o, s:o, s:o, s:o, s:o}", "id", r->id, "version",
                      (json_int_t)pp->version, "published_step", (json_int_t)pp->published_step,
                      "first_use_us", first_us, "first_use_step", first_step, "params",
                      pjson_values(pp->agent), "env_params", pjson_values(pp->env), "schema",
                      pjson_schema(ai->params, ai->n_params), "env_schema",
                      pjson_schema(ei->params, ei->n_params));
    }
    rcu_leave();
    return o ? api_reply(q, 200, o) : no_agent(q);
}

/* The only export format until exporter plugins add theirs (?format=onnx...). */
#define NATIVE_FORMAT "tars"

/* Copies the agent's newest stored checkpoint (header and run blob, as stored). */
static int
newest_checkpoint(struct host *h, const char *id, void **out, size_t *len,
                  struct checkpoint_hdr *hdr)
{
    MDB_txn *txn;
    MDB_val k, v;
    char key[128];
    uint64_t last, count;
    int rc = store_read_begin(h->store, &txn);
    if (rc)
        return rc;
    rc = rec_last_n(h->store, txn, DB_CHECKPOINTS, id, &last, &count);
    if (rc == 0 && !count)
        rc = MDB_NOTFOUND;
    if (rc == 0) {
        k.mv_size = store_agent_key(key, sizeof key, id, last);
        k.mv_data = key;
        rc = mdb_get(txn, store_dbi(h->store, DB_CHECKPOINTS), &k, &v);
    }
    if (rc == 0)
        rc = checkpoint_decode(v.mv_data, v.mv_size, hdr);
    if (rc == 0 && !(*out = malloc(v.mv_size)))
        rc = ENOMEM;
    if (rc == 0) {
        memcpy(*out, v.mv_data, v.mv_size);
        *len = v.mv_size;
    }
    store_read_end(h->store, txn);
    return rc;
}

int
api_agent_export(struct api_req *q)
{
    const char *id = q->params[0], *qs = q->ri->query_string;
    char format[64] = NATIVE_FORMAT;
    struct checkpoint_hdr hdr;
    q->audit_read = 1; /* the weights leave tarsd: who took them is worth keeping */
    if (qs && mg_get_var(qs, strlen(qs), "format", format, sizeof format) == -2)
        return api_error(q, 400, "unsupported_format", "the format name is too long");
    if (strcmp(format, NATIVE_FORMAT) != 0)
        return api_error(q, 400, "unsupported_format",
                         "format '%s' is not available: agents export as '" NATIVE_FORMAT
                         "' (the native checkpoint) until exporter plugins add others",
                         format);
    json_t *o = live(q->h, id, 0);
    if (!o)
        return no_agent(q);
    json_decref(o);
    int rc = newest_checkpoint(q->h, id, &q->file, &q->file_len, &hdr);
    if (rc == MDB_NOTFOUND)
        return api_error(q, 404, "no_checkpoint",
                         "agent '%s' has no checkpoint yet (one is taken every "
                         "checkpoint_every_s, at a stop, and on SIGUSR1)",
                         id);
    if (rc)
        return api_error(q, 500, "internal", "cannot read agent '%s''s checkpoint: %s", id,
                         rc == MDB_CORRUPTED ? "it is corrupt" : store_strerror(rc));
    /* Ids are [a-z0-9_-]: safe inside the quoted file name. */
    snprintf(q->headers, sizeof q->headers,
             "Content-Disposition: attachment; filename=\"%s-step%llu.tckp\"\r\n"
             "X-Tars-Format: " NATIVE_FORMAT "\r\nX-Tars-Checkpoint-Step: %llu\r\n",
             id, (unsigned long long)hdr.step, (unsigned long long)hdr.step);
    snprintf(q->audit, sizeof q->audit, "exported agent '%s': checkpoint at step %llu (%zu bytes)",
             id, (unsigned long long)hdr.step, q->file_len);
    return q->status = 200;
}
