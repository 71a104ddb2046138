#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "host.h"
#include "log.h"
#include "persist.h"
#include "proposals.h"
#include "records.h"
#include "store.h"
#include "writer.h"

const char *const approval_mode_names[] = {"manual", "threshold", "always", NULL};

int
proposals_open(struct host *h)
{
    return rec_u64_last(h->store, DB_PROPOSALS, &h->proposal_seq);
}

/* Queues the record (committed by the next flush). */
static int
queue(struct host *h, json_t *rec)
{
    unsigned char key[8];
    rec_u64_key((uint64_t)json_integer_value(json_object_get(rec, "id")), key);
    char *text = json_dumps(rec, JSON_COMPACT | JSON_REAL_PRECISION(15));
    int rc = text ? writer_put(h->writer, DB_PROPOSALS, key, sizeof key, text, strlen(text)) : -1;
    free(text);
    return rc ? -ENOMEM : 0;
}

/* queue, saying why in err when it fails. */
static int
queue_or_say(struct host *h, json_t *rec, char *err, size_t errlen)
{
    int rc = queue(h, rec);
    if (rc)
        snprintf(err, errlen, "out of memory recording the proposal");
    return rc;
}

/* Queues and commits the record. */
static int
save(struct host *h, json_t *rec, char *err, size_t errlen)
{
    int rc = queue_or_say(h, rec, err, errlen);
    return rc ? rc : persist_commit(h, err, errlen);
}

/*
 * Commits an applied change with its record, outside the locks so that concurrent changes
 * share a commit. A change is published before it is committed; should the store fail, the
 * writer keeps both and retries, so they are saved once it recovers (or lost with a crash).
 */
static int
commit(struct host *h, char *err, size_t errlen)
{
    char why[512];
    if (writer_flush(h->writer, why, sizeof why) == 0)
        return 0;
    snprintf(err, errlen,
             "the change is applied, but the state store failed (%s): it is saved once the "
             "store recovers",
             why);
    return -EIO;
}

/* Moves the record to state, noting who did it (NULL: tarsd itself) and why. */
static void
transition(json_t *rec, const char *state, json_t *by, const char *note)
{
    json_object_set_new(rec, "state", json_string(state));
    json_array_append_new(json_object_get(rec, "history"),
                          json_pack("{s:s, s:f, s:O?, s:s?}", "state", state, "time", host_wall(),
                                    "by", by, "note", note));
}

static json_t *
record_new(uint64_t id, const struct proposal_input *in, json_t *diff)
{
    json_t *req = json_pack("{s:O?, s:O?, s:b}", "params", in->change.params, "env_params",
                            in->change.env_params, "recreate", in->change.recreate);
    double e = in->expected_improvement;
    json_t *rec = json_pack("{s:I, s:s, s:s, s:o, s:O, s:s?, s:o, s:O, s:f, s:[], s:n}", "id",
                            (json_int_t)id, "agent", in->agent, "state", "proposed", "request", req,
                            "diff", diff, "rationale", in->rationale, "expected_improvement",
                            isnan(e) ? json_null() : json_real(e), "by", in->who, "created",
                            host_wall(), "history", "outcome");
    if (rec)
        transition(rec, "proposed", in->who, NULL);
    return rec;
}

/* "learning_rate 0.0003 -> 0.001, ..." for the log. */
static void
describe(json_t *diff, char *buf, size_t len)
{
    const char *scope, *name;
    json_t *changes, *c;
    buf[0] = '\0';
    json_object_foreach(diff, scope, changes)
    {
        json_object_foreach(changes, name, c)
        {
            char *o = json_dumps(json_object_get(c, "old"), JSON_ENCODE_ANY);
            char *n = json_dumps(json_object_get(c, "new"), JSON_ENCODE_ANY);
            size_t at = strlen(buf);
            snprintf(buf + at, len - at, "%s%s %s -> %s", at ? ", " : "", name, o ? o : "?",
                     n ? n : "?");
            free(o);
            free(n);
        }
    }
}

/*
 * Applies an approved proposal: Applying, then Applied or Failed (both recorded in rec, so
 * a failure is the proposal's outcome, not the caller's error). Whether it was applied: then
 * the caller queues rec and commits it with the change (commit()); else it saves rec.
 * Called with proposals_lock held, which it lets go while a change that asks for a
 * re-creation is applied: that builds the agent anew (seconds for a large network), and other
 * proposals, decisions and reads go on meanwhile (so a re-creation may end after changes
 * proposed later). rec, Applying and committed first, is not touched then; a decision on it
 * finds it not pending, and a change to the same agent waits for its claim (runset.h), which
 * the re-creation lets go only once the agent's new record is committed. Hot changes take
 * microseconds and keep the lock: they apply in the order of their ids.
 */
static bool
apply(struct host *h, json_t *rec, const struct param_request *change)
{
    const char *agent = json_string_value(json_object_get(rec, "agent"));
    uint64_t id = (uint64_t)json_integer_value(json_object_get(rec, "id"));
    transition(rec, "applying", NULL, NULL);
    /* Queued before the change: a commit of the writer's that falls between the two leaves
     * it applying, which proposals_recover settles by the agent's record. */
    queue(h, rec);
    struct param_outcome o;
    char err[1024], what[768];
    /* A decision reads the record from the store: only once "applying" is committed may the
     * lock go, or a second decision on it would still find it pending. */
    int unlock = change->recreate && writer_flush(h->writer, err, sizeof err) == 0;
    if (unlock)
        pthread_mutex_unlock(&h->proposals_lock);
    int rc = params_apply(h, agent, change, &o, err, sizeof err);
    if (unlock)
        pthread_mutex_lock(&h->proposals_lock);
    if (rc) {
        json_object_set_new(rec, "error", json_string(err));
        transition(rec, "failed", NULL, err);
        hlog(LOG_WARN, agent, "proposal %llu failed: %s", (unsigned long long)id, err);
        json_decref(o.diff);
        return false;
    }
    json_object_set_new(rec, "diff", o.diff);
    json_object_set_new(rec, "outcome",
                        json_pack("{s:I, s:b, s:f}", "version", (json_int_t)o.version, "recreated",
                                  o.recreated, "publish_us", o.publish_us));
    transition(rec, "applied", NULL, NULL);
    describe(o.diff, what, sizeof what);
    hlog(LOG_INFO, agent, "proposal %llu applied%s: %s (version %llu)", (unsigned long long)id,
         o.recreated ? " by re-creating the agent" : "", what[0] ? what : "nothing changed",
         (unsigned long long)o.version);
    return true;
}

/* Where the mode sends a validated proposal: approved (1) or pending approval (0). */
static int
auto_approve(const struct host *h, const struct proposal_input *in, char *note, size_t len)
{
    double e = in->expected_improvement, thr = h->cfg.hypersync_threshold;
    switch ((enum approval_mode)h->cfg.hypersync_mode) {
    case APPROVE_ALWAYS:
        snprintf(note, len, "approval mode 'always'");
        return 1;
    case APPROVE_THRESHOLD:
        if (!isnan(e) && e >= thr) {
            snprintf(note, len, "expected improvement %g reaches the threshold %g", e, thr);
            return 1;
        }
        snprintf(note, len,
                 isnan(e) ? "no expected improvement given (threshold %g)"
                          : "expected improvement below the threshold %g",
                 thr);
        return 0;
    default:
        snprintf(note, len, "approval mode 'manual'");
        return 0;
    }
}

int
proposals_submit(struct host *h, const struct proposal_input *in, json_t **out, char *err,
                 size_t errlen)
{
    json_t *diff = NULL;
    int cold = 0;
    *out = NULL;
    pthread_mutex_lock(&h->proposals_lock);
    /* A change to a parameter that is not HOT without recreate is refused here, naming it. */
    int rc = params_check(h, in->agent, &in->change, &diff, &cold, err, errlen);
    json_t *rec = rc ? NULL : record_new(h->proposal_seq + 1, in, diff);
    if (rc == 0 && !rec) {
        snprintf(err, errlen, "out of memory");
        rc = -ENOMEM;
    }
    if (rc == 0) {
        h->proposal_seq++;
        char note[160];
        bool applied = false;
        transition(rec, "validated", NULL, NULL);
        if (in->decide_now) {
            transition(rec, "approved", in->who, "an admin's own change");
            applied = apply(h, rec, &in->change);
        } else if (auto_approve(h, in, note, sizeof note)) {
            transition(rec, "approved", NULL, note);
            applied = apply(h, rec, &in->change);
        } else {
            transition(rec, "pending_approval", NULL, note);
        }
        rc = applied ? queue_or_say(h, rec, err, errlen) : save(h, rec, err, errlen);
        if (applied && rc == 0) {
            pthread_mutex_unlock(&h->proposals_lock);
            rc = commit(h, err, errlen);
            pthread_mutex_lock(&h->proposals_lock);
        }
    }
    pthread_mutex_unlock(&h->proposals_lock);
    json_decref(diff);
    if (rc)
        json_decref(rec);
    else
        *out = rec;
    return rc;
}

/*
 * The request a stored proposal makes (borrowing from rec). The record keeps a scope the
 * request left out as null, which is no object of values: it is left out again.
 */
static struct param_request
request_of(json_t *rec)
{
    json_t *req = json_object_get(rec, "request");
    json_t *params = json_object_get(req, "params"), *env = json_object_get(req, "env_params");
    return (struct param_request){json_is_null(params) ? NULL : params,
                                  json_is_null(env) ? NULL : env,
                                  json_is_true(json_object_get(req, "recreate"))};
}

int
proposals_decide(struct host *h, uint64_t id, int approve, json_t *who, const char *reason,
                 json_t **out, char *err, size_t errlen)
{
    int rc = 0;
    bool applied = false;
    *out = NULL;
    pthread_mutex_lock(&h->proposals_lock);
    json_t *rec = proposals_get(h, id);
    const char *state = json_string_value(json_object_get(rec, "state"));
    if (!rec) {
        snprintf(err, errlen, "no proposal %llu", (unsigned long long)id);
        rc = -ENOENT;
    } else if (!state || strcmp(state, "pending_approval") != 0) {
        snprintf(err, errlen, "proposal %llu is %s, not pending approval", (unsigned long long)id,
                 state ? state : "unreadable");
        rc = -EBUSY;
    } else if (approve) {
        transition(rec, "approved", who, reason);
        json_object_set(rec, "decided_by", who);
        struct param_request change = request_of(rec);
        applied = apply(h, rec, &change);
    } else {
        transition(rec, "rejected", who, reason);
        json_object_set(rec, "decided_by", who);
    }
    /* Committed before the lock goes: a second decision reads this one from the store. */
    if (applied && (rc = queue_or_say(h, rec, err, errlen)) == 0)
        rc = commit(h, err, errlen);
    else if (rc == 0 && !applied)
        rc = save(h, rec, err, errlen);
    pthread_mutex_unlock(&h->proposals_lock);
    if (rc)
        json_decref(rec);
    else
        *out = rec;
    return rc;
}

json_t *
proposals_get(struct host *h, uint64_t id)
{
    unsigned char key[8];
    rec_u64_key(id, key);
    return persist_get_json(h, DB_PROPOSALS, key, sizeof key);
}

/* Collects the records that pass the filters, up to a limit. */
struct listing {
    json_t *out;
    const char *agent, *state;
    size_t limit;
};

static int
add_record(const MDB_val *v, void *arg)
{
    struct listing *l = arg;
    json_t *rec = json_loadb(v->mv_data, v->mv_size, 0, NULL);
    const char *a = json_string_value(json_object_get(rec, "agent"));
    const char *s = json_string_value(json_object_get(rec, "state"));
    if (rec && (!l->agent || (a && strcmp(a, l->agent) == 0)) &&
        (!l->state || (s && strcmp(s, l->state) == 0)))
        json_array_append(l->out, rec);
    json_decref(rec);
    return json_array_size(l->out) >= l->limit;
}

json_t *
proposals_list(struct host *h, const char *agent, const char *state, uint64_t before, size_t limit)
{
    struct listing l = {json_array(), agent, state, limit};
    if (l.out && limit)
        rec_u64_each_back(h->store, DB_PROPOSALS, before, add_record, &l);
    return l.out;
}

/* Whether the agent's stored record holds every new value of the proposal's diff. */
static int
in_record(struct host *h, json_t *rec)
{
    json_t *agent = persist_record(h, json_string_value(json_object_get(rec, "agent")));
    const char *scope, *name;
    json_t *changes, *c;
    int all = agent != NULL;
    json_object_foreach(json_object_get(rec, "diff"), scope, changes)
    {
        json_object_foreach(changes, name, c)
        {
            json_t *now = json_object_get(json_object_get(agent, scope), name);
            all = all && now && json_equal(now, json_object_get(c, "new"));
        }
    }
    json_decref(agent);
    return all;
}

void
proposals_recover(struct host *h)
{
    /* Only "applying" reaches the store unsettled: approval and application are one call. */
    json_t *stale = proposals_list(h, NULL, "applying", 0, 1000), *rec;
    size_t i;
    json_array_foreach(stale, i, rec)
    {
        long long id = (long long)json_integer_value(json_object_get(rec, "id"));
        /* If the agent's record holds the change, it was applied and only its outcome went
         * unrecorded. */
        if (in_record(h, rec)) {
            transition(rec, "applied", NULL, "tarsd stopped before it recorded the outcome");
            hlog(LOG_INFO, "hypersync", "proposal %lld was applied before tarsd stopped", id);
        } else {
            json_object_set_new(rec, "error", json_string("tarsd stopped before applying it"));
            transition(rec, "failed", NULL, "tarsd stopped before applying it; propose again");
            hlog(LOG_WARN, "hypersync", "proposal %lld failed: tarsd stopped before applying it",
                 id);
        }
        queue(h, rec);
    }
    json_decref(stale);
}
