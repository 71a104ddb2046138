/*
 * Studies in the store (docs/state.md): tars-studies holds each study's record under its id
 * (u64 big-endian) and its tuners' blobs under the id followed by 'S' (sampler) or 'P'
 * (pruner): the number of events the blob holds (u64 little-endian), then the blob.
 * tars-trials holds each trial under the study's id and the trial's number (both u64
 * big-endian). Everything goes through the writer, in order: a blob is queued after the
 * record of the event it follows, so a blob never holds an event whose record is missing.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "clock.h"
#include "host.h"
#include "params_json.h"
#include "records.h"
#include "study_internal.h"
#include "writer.h"

static const char *const study_states[] = {"RUNNING", "STOPPED", "COMPLETE", "BROKEN"};

static void
trial_key(uint64_t study, uint64_t number, unsigned char key[16])
{
    rec_u64_key(study, key);
    rec_u64_key(number, key + 8);
}

static json_t *
num(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

json_t *
trial_json(const struct study *s, const struct trial *t, int full)
{
    const char *state = tars_trial_state_name(t->state);
    json_t *o = json_pack("{s:I, s:s, s:o}", "number", (json_int_t)t->number, "state",
                          state ? state : "?", "params", study_values_json(s, t->params));
    json_t *values = json_array();
    for (uint32_t i = 0; i < t->n_values; i++)
        json_array_append_new(values, num(t->values[i]));
    json_object_set_new(o, "values", t->n_values ? values : (json_decref(values), json_null()));
    json_object_set_new(o, "value", t->n_values ? num(t->values[0]) : json_null());
    json_object_set_new(o, "last_step",
                        t->n_iv ? json_integer((json_int_t)t->iv[t->n_iv - 1].step) : json_null());
    json_object_set_new(o, "started", json_real(t->started));
    json_object_set_new(o, "finished", t->finished > 0 ? json_real(t->finished) : json_null());
    if (t->reached)
        json_object_set_new(o, "reached_step", json_integer((json_int_t)t->reached));
    if (t->enqueued)
        json_object_set_new(o, "enqueued", json_true());
    if (t->kept)
        json_object_set_new(o, "kept", json_true());
    if (*t->error)
        json_object_set_new(o, "error", json_string(t->error));
    if (s->agent && t->launched) {
        json_t *agents = json_array();
        for (uint32_t k = 0; k < s->seeds; k++) {
            char id[128];
            trial_agent_id(s, t->number, k, id, sizeof id);
            json_array_append_new(agents, json_string(id));
        }
        json_object_set_new(o, "agents", agents);
    }
    if (full) {
        json_t *iv = json_array();
        for (size_t i = 0; i < t->n_iv; i++)
            json_array_append_new(iv, json_pack("[I, o, I]", (json_int_t)t->iv[i].step,
                                                num(t->iv[i].value), (json_int_t)t->iv[i].event));
        json_object_set_new(o, "intermediate", iv);
        json_object_set_new(o, "ask_event", json_integer((json_int_t)t->ask_event));
        json_object_set_new(o, "tell_event", json_integer((json_int_t)t->tell_event));
        json_object_set_new(o, "launched", json_boolean(t->launched));
    }
    return o;
}

json_t *
study_json(const struct study *s, int summary)
{
    json_t *o = json_pack("{s:I, s:s, s:s, s:f, s:I, s:O}", "id", (json_int_t)s->id, "name",
                          s->name, "state", study_states[s->state], "created", s->created, "events",
                          (json_int_t)s->events, "spec", s->spec);
    if (*s->error)
        json_object_set_new(o, "error", json_string(s->error));
    if (!summary)
        return o;
    size_t by[5] = {0};
    double first = 0, last = 0;
    for (size_t i = 0; i < s->n_trials_v; i++) {
        const struct trial *t = s->trials[i];
        by[t->state < 5 ? t->state : 0]++;
        if (t->finished > 0) {
            first = first == 0 || t->started < first ? t->started : first;
            last = t->finished > last ? t->finished : last;
        }
    }
    size_t done = by[TARS_TRIAL_COMPLETE] + by[TARS_TRIAL_PRUNED] + by[TARS_TRIAL_FAILED];
    json_object_set_new(o, "trials",
                        json_pack("{s:I, s:I, s:I, s:I, s:I}", "total", (json_int_t)s->n_trials_v,
                                  "running", (json_int_t)by[TARS_TRIAL_RUNNING], "complete",
                                  (json_int_t)by[TARS_TRIAL_COMPLETE], "pruned",
                                  (json_int_t)by[TARS_TRIAL_PRUNED], "failed",
                                  (json_int_t)by[TARS_TRIAL_FAILED]));
    json_object_set_new(o, "n_trials", json_integer((json_int_t)s->n_trials));
    json_object_set_new(o, "progress",
                        s->n_trials ? json_real((double)done / (double)s->n_trials) : json_null());
    json_object_set_new(o, "trials_per_hour",
                        done && last > first ? json_real(3600.0 * (double)done / (last - first))
                                             : json_null());
    long b = study_best(s);
    json_object_set_new(o, "best_value", b >= 0 ? num(s->trials[b]->values[0]) : json_null());
    json_object_set_new(o, "best_trial",
                        b >= 0 ? json_integer((json_int_t)s->trials[b]->number) : json_null());
    return o;
}

int
study_put(struct host *h, const struct study *s)
{
    json_t *o = study_json(s, 0);
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    unsigned char key[8];
    rec_u64_key(s->id, key);
    int rc = text ? writer_put(h->writer, DB_STUDIES, key, 8, text, strlen(text)) : -1;
    free(text);
    json_decref(o);
    return rc;
}

int
trial_put(struct host *h, const struct study *s, const struct trial *t)
{
    json_t *o = trial_json(s, t, 1);
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    unsigned char key[16];
    trial_key(s->id, t->number, key);
    int rc = text ? writer_put(h->writer, DB_TRIALS, key, 16, text, strlen(text)) : -1;
    free(text);
    json_decref(o);
    return rc;
}

int
tuner_blob_put(struct host *h, const struct study *s, char role, uint64_t event, const void *data,
               size_t len)
{
    unsigned char key[9], *v = malloc(len + 8);
    if (!v)
        return -1;
    rec_u64_key(s->id, key);
    key[8] = (unsigned char)role;
    for (int i = 0; i < 8; i++)
        v[i] = (unsigned char)(event >> (8 * i));
    memcpy(v + 8, data, len);
    int rc = writer_put(h->writer, DB_STUDIES, key, 9, v, len + 8);
    free(v);
    return rc;
}

void *
tuner_blob_get(struct host *h, const struct study *s, char role, uint64_t *event, size_t *len)
{
    unsigned char key[9];
    rec_u64_key(s->id, key);
    key[8] = (unsigned char)role;
    MDB_txn *txn;
    MDB_val k = {9, key}, v;
    void *out = NULL;
    if (store_read_begin(h->store, &txn))
        return NULL;
    if (mdb_get(txn, store_dbi(h->store, DB_STUDIES), &k, &v) == 0 && v.mv_size >= 8 &&
        (out = malloc(v.mv_size - 8 + 1))) {
        const unsigned char *p = v.mv_data;
        *event = 0;
        for (int i = 0; i < 8; i++)
            *event |= (uint64_t)p[i] << (8 * i);
        memcpy(out, p + 8, v.mv_size - 8);
        *len = v.mv_size - 8;
    }
    store_read_end(h->store, txn);
    return out;
}

int
study_forget(struct host *h, const struct study *s)
{
    unsigned char key[16];
    int rc = 0;
    for (size_t i = 0; i < s->n_trials_v; i++) {
        trial_key(s->id, s->trials[i]->number, key);
        rc |= writer_del(h->writer, DB_TRIALS, key, 16);
    }
    rec_u64_key(s->id, key);
    key[8] = 'S';
    rc |= writer_del(h->writer, DB_STUDIES, key, 9);
    key[8] = 'P';
    rc |= writer_del(h->writer, DB_STUDIES, key, 9);
    rc |= writer_del(h->writer, DB_STUDIES, key, 8);
    return rc;
}

/* A stored trial's record into t (number and state already checked). */
static int
trial_from_json(const struct study *s, json_t *o, struct trial *t, char *err, size_t errlen)
{
    t->number = (uint64_t)json_integer_value(json_object_get(o, "number"));
    const char *state = json_string_value(json_object_get(o, "state"));
    for (uint32_t k = 1; k <= 4; k++)
        if (state && strcmp(state, tars_trial_state_name(k)) == 0)
            t->state = k;
    if (!t->state) {
        snprintf(err, errlen, "trial %llu has no known state", (unsigned long long)t->number);
        return -1;
    }
    if (study_space_values(s, json_object_get(o, "params"), &t->params, err, errlen))
        return -1;
    json_t *values = json_object_get(o, "values");
    for (size_t i = 0; i < json_array_size(values) && i < TARS_TUNER_MAX_OBJECTIVES; i++) {
        json_t *v = json_array_get(values, i);
        t->values[t->n_values++] = json_is_number(v) ? json_number_value(v) : NAN;
    }
    json_t *iv = json_object_get(o, "intermediate");
    size_t n = json_array_size(iv);
    if (n && !(t->iv = calloc(n, sizeof *t->iv)))
        return -1;
    t->cap_iv = n;
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(iv, i), *v = json_array_get(e, 1);
        t->iv[t->n_iv++] = (struct iv){(uint64_t)json_integer_value(json_array_get(e, 0)),
                                       json_is_number(v) ? json_number_value(v) : NAN,
                                       (uint64_t)json_integer_value(json_array_get(e, 2))};
    }
    t->ask_event = (uint64_t)json_integer_value(json_object_get(o, "ask_event"));
    t->tell_event = (uint64_t)json_integer_value(json_object_get(o, "tell_event"));
    t->started = json_number_value(json_object_get(o, "started"));
    t->finished = json_number_value(json_object_get(o, "finished"));
    t->reached = (uint64_t)json_integer_value(json_object_get(o, "reached_step"));
    t->enqueued = json_is_true(json_object_get(o, "enqueued"));
    t->kept = json_is_true(json_object_get(o, "kept"));
    t->launched = json_is_true(json_object_get(o, "launched"));
    snprintf(t->error, sizeof t->error, "%s", json_string_value(json_object_get(o, "error")) ?: "");
    return 0;
}

int
study_load_trials(struct host *h, struct study *s, char *err, size_t errlen)
{
    MDB_txn *txn;
    MDB_cursor *c = NULL;
    unsigned char key[16];
    trial_key(s->id, 0, key);
    MDB_val k = {16, key}, v;
    int rc = store_read_begin(h->store, &txn);
    if (rc) {
        snprintf(err, errlen, "cannot read the trials: %s", store_strerror(rc));
        return -EIO;
    }
    rc = mdb_cursor_open(txn, store_dbi(h->store, DB_TRIALS), &c);
    for (int at = rc ? rc : mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); !at && !rc;
         at = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        if (k.mv_size != 16 || rec_u64_of(&k) != s->id)
            break;
        json_t *o = json_loadb(v.mv_data, v.mv_size, 0, NULL);
        struct trial *t = o ? trial_add(s) : NULL;
        if (!t || trial_from_json(s, o, t, err, errlen)) {
            if (!o)
                snprintf(err, errlen, "a trial record is not JSON");
            rc = -EIO;
        }
        json_decref(o);
    }
    if (c)
        mdb_cursor_close(c);
    store_read_end(h->store, txn);
    return rc;
}
