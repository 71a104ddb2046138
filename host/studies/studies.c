/*
 * The studies of a tarsd (studies.h): the list, the driver thread, and the calls the API
 * makes on them.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "agents.h"
#include "clock.h"
#include "host.h"
#include "log.h"
#include "params_json.h"
#include "persist.h"
#include "proposals.h"
#include "rcu.h"
#include "records.h"
#include "studies.h"
#include "study_internal.h"
#include "writer.h"

#define DRIVER_PERIOD_MS 20

static struct study *
lookup(struct host *h, uint64_t id, char *err, size_t errlen)
{
    struct studies *ss = h->studies;
    for (size_t i = 0; ss && i < ss->n; i++)
        if (ss->v[i]->id == id && !ss->v[i]->deleting)
            return ss->v[i];
    snprintf(err, errlen, "no study %llu", (unsigned long long)id);
    return NULL;
}

static int
add(struct studies *ss, struct study *s)
{
    if (ss->n == ss->cap) {
        size_t cap = ss->cap ? 2 * ss->cap : 8;
        struct study **v = realloc(ss->v, cap * sizeof *v);
        if (!v)
            return -ENOMEM;
        ss->v = v;
        ss->cap = cap;
    }
    ss->v[ss->n++] = s;
    return 0;
}

static int
commit(struct host *h, char *err, size_t errlen)
{
    return persist_commit(h, err, errlen);
}

/* Loads one stored study (its record parsed) with its trials and tuners. */
static void
load_one(struct host *h, json_t *rec)
{
    struct study *s = calloc(1, sizeof *s);
    char err[768] = "";
    if (!s)
        return;
    s->id = (uint64_t)json_integer_value(json_object_get(rec, "id"));
    s->spec = json_deep_copy(json_object_get(rec, "spec"));
    s->created = json_number_value(json_object_get(rec, "created"));
    const char *state = json_string_value(json_object_get(rec, "state"));
    snprintf(s->error, sizeof s->error, "%s",
             json_string_value(json_object_get(rec, "error")) ?: "");
    s->state = state && strcmp(state, "BROKEN") == 0     ? STUDY_BROKEN
               : state && strcmp(state, "STOPPED") == 0  ? STUDY_STOPPED
               : state && strcmp(state, "COMPLETE") == 0 ? STUDY_COMPLETE
                                                         : STUDY_RUNNING;
    snprintf(s->name, sizeof s->name, "%s", json_string_value(json_object_get(rec, "name")) ?: "?");
    int rc = study_from_spec(h, s, err, sizeof err);
    if (!rc)
        rc = study_load_trials(h, s, err, sizeof err);
    if (!rc)
        rc = tuner_restore(h, s, err, sizeof err);
    if (rc) {
        s->state = STUDY_BROKEN;
        snprintf(s->error, sizeof s->error, "cannot be resumed: %.480s", err);
        hlog(LOG_ERROR, "studies", "study '%s' %s", s->name, s->error);
    }
    /* Running trials whose runs did not come back (created after the last commit) are
     * created again by the driver. */
    /* A finished trial whose agents outlived it (tarsd stopped between the trial's record
     * and their deletion) has them deleted by the driver. */
    for (size_t i = 0; s->agent && i < s->n_trials_v; i++) {
        struct trial *t = s->trials[i];
        int there = 0;
        for (uint32_t k = 0; k < s->seeds && !there; k++)
            there = trial_run_is(h, s, t->number, k);
        if (t->state == TARS_TRIAL_RUNNING)
            t->launched = t->launched && there;
        else if (there && !t->kept)
            t->launched = 1;
    }
    if (s->id > h->studies->last_id)
        h->studies->last_id = s->id;
    if (add(h->studies, s))
        study_free(s);
}

int
studies_open(struct host *h)
{
    struct studies *ss = calloc(1, sizeof *ss);
    if (!ss)
        return -ENOMEM;
    pthread_mutex_init(&ss->lock, NULL);
    pthread_cond_init(&ss->wake, NULL);
    pthread_cond_init(&ss->idle, NULL);
    h->studies = ss;
    if (!h->store)
        return 0;
    MDB_txn *txn;
    MDB_cursor *c = NULL;
    MDB_val k, v;
    json_t *recs = json_array();
    if (store_read_begin(h->store, &txn) == 0) {
        if (mdb_cursor_open(txn, store_dbi(h->store, DB_STUDIES), &c) == 0) {
            for (int at = mdb_cursor_get(c, &k, &v, MDB_FIRST); !at;
                 at = mdb_cursor_get(c, &k, &v, MDB_NEXT))
                if (k.mv_size == 8)
                    json_array_append_new(recs, json_loadb(v.mv_data, v.mv_size, 0, NULL));
            mdb_cursor_close(c);
        }
        store_read_end(h->store, txn);
    }
    size_t i;
    json_t *rec;
    pthread_mutex_lock(&ss->lock);
    json_array_foreach(recs, i, rec) if (json_is_object(rec)) load_one(h, rec);
    pthread_mutex_unlock(&ss->lock);
    json_decref(recs);
    if (ss->n)
        hlog(LOG_INFO, "studies", "%zu studies resumed", ss->n);
    return 0;
}

static void *
driver_main(void *arg)
{
    struct host *h = arg;
    struct studies *ss = h->studies;
    rcu_thread_online(); /* it reads the set of runs */
    pthread_mutex_lock(&ss->lock);
    while (!ss->stop) {
        pthread_mutex_unlock(&ss->lock);
        driver_step(h);
        pthread_mutex_lock(&ss->lock);
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += DRIVER_PERIOD_MS * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        if (!ss->stop)
            pthread_cond_timedwait(&ss->wake, &ss->lock, &until);
    }
    pthread_mutex_unlock(&ss->lock);
    rcu_thread_offline();
    return NULL;
}

int
studies_start(struct host *h)
{
    struct studies *ss = h->studies;
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setstacksize(&a, 8u << 20); /* tuner plugin code runs here */
    int rc = pthread_create(&ss->thread, &a, driver_main, h);
    pthread_attr_destroy(&a);
    if (rc)
        return -rc;
    ss->running = 1;
    return 0;
}

void
studies_halt(struct host *h)
{
    struct studies *ss = h->studies;
    if (!ss || !ss->running)
        return;
    pthread_mutex_lock(&ss->lock);
    ss->stop = 1;
    pthread_cond_broadcast(&ss->wake);
    pthread_mutex_unlock(&ss->lock);
    pthread_join(ss->thread, NULL);
    ss->running = 0;
}

void
studies_close(struct host *h)
{
    struct studies *ss = h->studies;
    if (!ss)
        return;
    studies_halt(h);
    for (size_t i = 0; i < ss->n; i++)
        study_free(ss->v[i]);
    free(ss->v);
    pthread_mutex_destroy(&ss->lock);
    pthread_cond_destroy(&ss->wake);
    pthread_cond_destroy(&ss->idle);
    free(ss);
    h->studies = NULL;
}

int
studies_create(struct host *h, json_t *body, json_t **out, char *err, size_t errlen)
{
    struct studies *ss = h->studies;
    struct study *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    s->spec = json_deep_copy(body);
    s->created = host_wall();
    int rc = study_from_spec(h, s, err, errlen);
    if (!rc && s->agent)
        rc = study_check_trials(h, s, err, errlen);
    if (!rc) /* kept in full: a restart builds this space, whatever the schema says then */
        json_object_set_new(s->spec, "space", study_space_resolved(s));
    pthread_mutex_lock(&ss->lock);
    for (size_t i = 0; !rc && i < ss->n; i++)
        if (strcmp(ss->v[i]->name, s->name) == 0 && !ss->v[i]->deleting) {
            snprintf(err, errlen, "a study named '%s' exists (id %llu)", s->name,
                     (unsigned long long)ss->v[i]->id);
            rc = -EEXIST;
        }
    if (!rc) {
        s->id = ++ss->last_id;
        rc = add(ss, s);
    }
    if (rc) {
        pthread_mutex_unlock(&ss->lock);
        study_free(s);
        return rc;
    }
    study_put(h, s);
    *out = study_json(s, 1);
    pthread_cond_broadcast(&ss->wake);
    pthread_mutex_unlock(&ss->lock);
    return commit(h, err, errlen);
}

json_t *
studies_list(struct host *h)
{
    struct studies *ss = h->studies;
    json_t *list = json_array();
    if (!ss)
        return list;
    pthread_mutex_lock(&ss->lock);
    for (size_t i = ss->n; i-- > 0;)
        if (!ss->v[i]->deleting) {
            json_t *o = study_json(ss->v[i], 1);
            json_object_del(o, "spec");
            json_object_set_new(o, "agent",
                                ss->v[i]->agent ? json_string(ss->v[i]->agent) : json_null());
            json_array_append_new(list, o);
        }
    pthread_mutex_unlock(&ss->lock);
    return list;
}

int
studies_get(struct host *h, uint64_t id, json_t **out, char *err, size_t errlen)
{
    pthread_mutex_lock(&h->studies->lock);
    struct study *s = lookup(h, id, err, errlen);
    if (s) {
        *out = study_json(s, 1);
        json_t *space = study_space_json(s);
        json_object_set_new(*out, "space", space);
    }
    pthread_mutex_unlock(&h->studies->lock);
    return s ? 0 : -ENOENT;
}

int
studies_trials(struct host *h, uint64_t id, const char *state, uint64_t from, size_t limit,
               json_t **out, char *err, size_t errlen)
{
    pthread_mutex_lock(&h->studies->lock);
    struct study *s = lookup(h, id, err, errlen);
    if (s) {
        json_t *list = json_array();
        uint64_t next = 0;
        for (size_t i = from; i < s->n_trials_v; i++) {
            const struct trial *t = s->trials[i];
            if (state && strcmp(state, tars_trial_state_name(t->state)) != 0)
                continue;
            if (json_array_size(list) == limit) {
                next = t->number;
                break;
            }
            json_array_append_new(list, trial_json(s, t, 0));
        }
        *out = json_pack("{s:o, s:I, s:o}", "trials", list, "total", (json_int_t)s->n_trials_v,
                         "next", next ? json_integer((json_int_t)next) : json_null());
    }
    pthread_mutex_unlock(&h->studies->lock);
    return s ? 0 : -ENOENT;
}

int
studies_trial(struct host *h, uint64_t id, uint64_t number, json_t **out, char *err, size_t errlen)
{
    pthread_mutex_lock(&h->studies->lock);
    struct study *s = lookup(h, id, err, errlen);
    struct trial *t = s ? study_trial(s, number) : NULL;
    if (s && !t)
        snprintf(err, errlen, "study %llu has no trial %llu", (unsigned long long)id,
                 (unsigned long long)number);
    if (t) {
        *out = trial_json(s, t, 1);
        json_t *iv = json_array();
        for (size_t i = 0; i < t->n_iv; i++)
            json_array_append_new(iv, json_pack("[I, f]", (json_int_t)t->iv[i].step,
                                                isfinite(t->iv[i].value) ? t->iv[i].value : 0.0));
        json_object_set_new(*out, "intermediate", iv);
    }
    pthread_mutex_unlock(&h->studies->lock);
    return t ? 0 : -ENOENT;
}

int
studies_best(struct host *h, uint64_t id, json_t **out, char *err, size_t errlen)
{
    int rc = 0;
    pthread_mutex_lock(&h->studies->lock);
    struct study *s = lookup(h, id, err, errlen);
    if (!s)
        rc = -ENOENT;
    else if (s->n_obj == 1) {
        long b = study_best(s);
        if (b < 0) {
            snprintf(err, errlen, "study '%s' has no completed trial yet", s->name);
            rc = -ENOENT;
        } else
            *out = json_pack("{s:o}", "best", trial_json(s, s->trials[b], 0));
    } else {
        json_t *front = json_array();
        char *on = study_front(s);
        for (size_t i = 0; on && i < s->n_trials_v; i++)
            if (on[i])
                json_array_append_new(front, trial_json(s, s->trials[i], 0));
        free(on);
        *out = json_pack("{s:o}", "pareto_front", front);
    }
    pthread_mutex_unlock(&h->studies->lock);
    return rc;
}

static int
set_state(struct host *h, uint64_t id, int stop, char *err, size_t errlen)
{
    pthread_mutex_lock(&h->studies->lock);
    struct study *s = lookup(h, id, err, errlen);
    int rc = s ? 0 : -ENOENT;
    if (s && (s->state == STUDY_COMPLETE || s->state == STUDY_BROKEN)) {
        snprintf(err, errlen, "study '%s' is %s", s->name,
                 s->state == STUDY_COMPLETE ? "complete" : "broken");
        rc = -EBUSY;
    } else if (s && s->transition) {
        snprintf(err, errlen, "study '%s' is being stopped or resumed; try again", s->name);
        rc = -EBUSY;
    } else if (s && s->state != (stop ? STUDY_STOPPED : STUDY_RUNNING)) {
        s->state = stop ? STUDY_STOPPED : STUDY_RUNNING;
        study_put(h, s);
        s->transition = 1; /* one stop or resume at a time (driver_runs lets the lock go) */
        if (s->agent)
            driver_runs(h, s, stop ? "stop" : "start");
        s->transition = 0;
        pthread_cond_broadcast(&h->studies->wake);
    }
    pthread_mutex_unlock(&h->studies->lock);
    return rc ? rc : commit(h, err, errlen);
}

int
studies_stop(struct host *h, uint64_t id, char *err, size_t errlen)
{
    return set_state(h, id, 1, err, errlen);
}

int
studies_resume(struct host *h, uint64_t id, char *err, size_t errlen)
{
    return set_state(h, id, 0, err, errlen);
}

int
studies_delete(struct host *h, uint64_t id, char *err, size_t errlen)
{
    struct studies *ss = h->studies;
    pthread_mutex_lock(&ss->lock);
    struct study *s = lookup(h, id, err, errlen);
    if (!s) {
        pthread_mutex_unlock(&ss->lock);
        return -ENOENT;
    }
    s->deleting = 1;
    while (s->busy)
        pthread_cond_wait(&ss->idle, &ss->lock);
    if (s->agent)
        driver_runs(h, s, "delete");
    study_forget(h, s);
    for (size_t i = 0; i < ss->n; i++)
        if (ss->v[i] == s) {
            memmove(ss->v + i, ss->v + i + 1, (ss->n - i - 1) * sizeof *ss->v);
            ss->n--;
            break;
        }
    pthread_mutex_unlock(&ss->lock);
    study_free(s);
    return commit(h, err, errlen);
}
