/*
 * A study's sampler and pruner: plugin generations pinned for the study's life, instances
 * created for its spec, and every event (ask, report, tell) numbered. The caller writes the
 * trial's record of an event, then tuner_save_due saves the tuners it taught, in that order
 * (record.c), so that a study rebuilt after a crash loads each tuner's last blob and replays
 * only the events after it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "host.h"
#include "log.h"
#include "params_json.h"
#include "plugin_error.h"
#include "study_internal.h"
#include "tars/blob.h"
#include "host_side.h"

static int
op_failed(const struct tuner_slot *slot, const char *op, int rc, char *err, size_t errlen)
{
    plugin_op_error(err, errlen, slot->p->info, PLUGIN_NAME, op, slot->ctx, NULL, rc);
    return -EIO;
}

static int
create(struct study *s, struct tuner_slot *slot, int pruner, char *err, size_t errlen)
{
    int rc =
        slot->ops->create(slot->ctx, slot->params, &s->tspec, s->seed + (uint64_t)pruner, &slot->t);
    return rc ? op_failed(slot, "create", rc, err, errlen) : 0;
}

int
tuner_slot_open(struct host *h, struct study *s, struct tuner_slot *slot, json_t *conf,
                uint32_t role, char *err, size_t errlen)
{
    const char *what = role == TARS_TUNER_SAMPLER ? "sampler" : "pruner";
    const char *name = json_string_value(json_object_get(conf, "name"));
    /* The agent plugin `random` holds the name: Optuna's users write it for the sampler. */
    if (name && strcmp(name, "random") == 0)
        name = "random-search";
    json_t *params = json_object_get(conf, "params");
    char why[512];
    memset(slot, 0, sizeof *slot);
    pthread_rwlock_rdlock(&h->code_lock);
    pthread_rwlock_rdlock(&h->reg_lock);
    int rc = registry_lookup(&h->reg, name, TARS_KIND_TUNER, &slot->p, why, sizeof why);
    pthread_rwlock_unlock(&h->reg_lock);
    if (!rc) {
        const tars_tuner_ops *ops = slot->p->info->ops;
        if (!(ops->roles & role)) {
            snprintf(why, sizeof why, "tuner '%s' is not a %s", name, what);
            rc = -1;
        } else {
            atomic_fetch_add(&slot->p->pins, 1);
            slot->ops = ops;
        }
    }
    pthread_rwlock_unlock(&h->code_lock);
    if (rc) {
        slot->p = NULL;
        snprintf(err, errlen, "%s: %s", what, why);
        return -EINVAL;
    }
    struct diag d = {0};
    if (plugin_params(slot->p, NULL, &slot->params, NULL, why, sizeof why) ||
        (params && pjson_apply(slot->params, params, PJ_PARAMS, NULL, "", &d))) {
        snprintf(err, errlen, "%s.params: %s", what, d.n ? d.lines[0] : why);
        diag_free(&d);
        tuner_slot_close(slot);
        return -EINVAL;
    }
    char cname[96];
    snprintf(cname, sizeof cname, "study %llu/%s", (unsigned long long)s->id, what);
    slot->ctx = tars__ctx_new(cname, NULL);
    if (!slot->ctx) {
        tuner_slot_close(slot);
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    rc = create(s, slot, role == TARS_TUNER_PRUNER, err, errlen);
    if (rc) {
        char e2[640];
        snprintf(e2, sizeof e2, "%s: %s", what, err);
        snprintf(err, errlen, "%s", e2);
        tuner_slot_close(slot);
        return -EINVAL;
    }
    return 0;
}

void
tuner_slot_close(struct tuner_slot *slot)
{
    if (slot->t)
        slot->ops->destroy(slot->t);
    if (slot->p)
        atomic_fetch_sub(&slot->p->pins, 1);
    tars_params_free(slot->params);
    tars__ctx_free(slot->ctx);
    memset(slot, 0, sizeof *slot);
}

/* Saves the slot's tuner as of event `event` (queued to the writer). */
static int
save(struct host *h, struct study *s, struct tuner_slot *slot, char role, char *err, size_t errlen)
{
    tars_blob_writer *w;
    const void *data;
    size_t len;
    if (tars_blob_writer_new(slot->p->info->name, &w)) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    int rc = slot->ops->save(slot->t, w);
    if (rc) {
        tars_blob_writer_free(w);
        return op_failed(slot, "save", rc, err, errlen);
    }
    rc =
        tars_blob_writer_finish(w, &data, &len) || tuner_blob_put(h, s, role, s->events, data, len);
    tars_blob_writer_free(w);
    if (rc) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    slot->saved_event = s->events;
    return 0;
}

static tars_trial
told(const struct trial *t)
{
    tars_trial tr = {.number = t->number, .state = t->state, .params = t->params};
    if (t->state == TARS_TRIAL_COMPLETE) {
        tr.n_values = t->n_values;
        tr.values = t->values;
    } else if (t->state == TARS_TRIAL_PRUNED && t->n_iv) {
        tr.n_values = 1;
        tr.values = &t->iv[t->n_iv - 1].value;
        tr.last_step = t->iv[t->n_iv - 1].step;
    }
    return tr;
}

int
tuner_ask(struct host *h, struct study *s, struct trial *t, char *err, size_t errlen)
{
    struct tuner_slot *slot = &s->sampler;
    if (!t->params && tars_params_new(s->space, s->n_space, &t->params)) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    int rc = slot->ops->ask(slot->t, slot->params, t->number, t->params);
    if (rc)
        return op_failed(slot, "ask", rc, err, errlen);
    t->ask_event = ++s->events;
    (void)h;
    return 0;
}

/* A trial told to a slot; RUNNING for one the sampler did not propose. */
static int
tell_one(struct tuner_slot *slot, const struct trial *t, uint32_t state, char *err, size_t errlen)
{
    tars_trial tr = told(t);
    tr.state = state;
    if (state == TARS_TRIAL_RUNNING) {
        tr.n_values = 0;
        tr.values = NULL;
        tr.last_step = 0;
    }
    int rc = slot->ops->tell(slot->t, slot->params, &tr);
    return rc ? op_failed(slot, "tell", rc, err, errlen) : 0;
}

int
tuner_tell(struct host *h, struct study *s, struct trial *t, char *err, size_t errlen)
{
    int rc = tell_one(&s->sampler, t, t->state, err, errlen);
    if (!rc && s->pruner.p)
        rc = tell_one(&s->pruner, t, t->state, err, errlen);
    if (rc)
        return rc;
    t->tell_event = ++s->events;
    (void)h;
    return 0;
}

int
tuner_report(struct host *h, struct study *s, struct trial *t, uint64_t step, double value,
             int *prune, char *err, size_t errlen)
{
    *prune = 0;
    if (t->n_iv && step <= t->iv[t->n_iv - 1].step) {
        snprintf(err, errlen, "trial %llu: step %llu is not after its last report (step %llu)",
                 (unsigned long long)t->number, (unsigned long long)step,
                 (unsigned long long)t->iv[t->n_iv - 1].step);
        return -EINVAL;
    }
    if (t->n_iv == t->cap_iv) {
        size_t cap = t->cap_iv ? 2 * t->cap_iv : 8;
        struct iv *v = realloc(t->iv, cap * sizeof *v);
        if (!v) {
            snprintf(err, errlen, "out of memory");
            return -ENOMEM;
        }
        t->iv = v;
        t->cap_iv = cap;
    }
    if (s->pruner.p) {
        int rc =
            s->pruner.ops->report(s->pruner.t, s->pruner.params, t->number, step, value, prune);
        if (rc)
            return op_failed(&s->pruner, "report", rc, err, errlen);
    }
    t->iv[t->n_iv++] = (struct iv){.step = step, .value = value, .event = ++s->events};
    (void)h;
    return 0;
}

/* Loads role's saved blob into slot (its events in *event); 0 when there is none. */
static int
load(struct host *h, struct study *s, struct tuner_slot *slot, char role, uint64_t *event,
     char *err, size_t errlen)
{
    size_t len;
    *event = 0;
    void *blob = tuner_blob_get(h, s, role, event, &len);
    if (!blob)
        return 0;
    tars_blob_reader *r;
    char why[256];
    int rc = tars_blob_reader_new(blob, len, slot->p->info->name, &r, why, sizeof why);
    if (rc) {
        snprintf(err, errlen, "the saved %s: %s", role == 'S' ? "sampler" : "pruner", why);
        free(blob);
        return -EIO;
    }
    rc = slot->ops->load(slot->t, r);
    if (!rc)
        rc = tars_blob_reader_end(r);
    tars_blob_reader_free(r);
    free(blob);
    if (rc)
        return op_failed(slot, "load", rc, err, errlen);
    slot->saved_event = *event;
    return 0;
}

struct event {
    uint64_t seq;
    int kind; /* 0 ask, 1 report (iv index in at), 2 tell */
    struct trial *t;
    size_t at;
};

static int
by_seq(const void *a, const void *b)
{
    uint64_t x = ((const struct event *)a)->seq, y = ((const struct event *)b)->seq;
    return x < y ? -1 : x > y;
}

int
tuner_restore(struct host *h, struct study *s, char *err, size_t errlen)
{
    uint64_t se, pe = UINT64_MAX;
    int rc = load(h, s, &s->sampler, 'S', &se, err, errlen);
    if (!rc && s->pruner.p)
        rc = load(h, s, &s->pruner, 'P', &pe, err, errlen);
    if (rc)
        return rc;
    size_t n = 0, cap = 0;
    for (size_t i = 0; i < s->n_trials_v; i++)
        cap += 2 + s->trials[i]->n_iv;
    struct event *ev = calloc(cap ? cap : 1, sizeof *ev);
    if (!ev) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    for (size_t i = 0; i < s->n_trials_v; i++) {
        struct trial *t = s->trials[i];
        /* A trial added unasked counts as asked at its first event. */
        uint64_t asked = t->ask_event ? t->ask_event : (t->n_iv ? t->iv[0].event : t->tell_event);
        ev[n++] = (struct event){asked, 0, t, 0};
        for (size_t k = 0; k < t->n_iv; k++)
            ev[n++] = (struct event){t->iv[k].event, 1, t, k};
        if (t->tell_event)
            ev[n++] = (struct event){t->tell_event, 2, t, 0};
    }
    qsort(ev, n, sizeof *ev, by_seq);
    for (size_t i = 0; i < n && !rc; i++) {
        struct event *e = &ev[i];
        if (e->seq > s->events)
            s->events = e->seq;
        if (e->kind == 0 && e->seq > se)
            rc = tell_one(&s->sampler, e->t, TARS_TRIAL_RUNNING, err, errlen);
        else if (e->kind == 1 && s->pruner.p && e->seq > pe) {
            int prune;
            const struct iv *v = &e->t->iv[e->at];
            rc = s->pruner.ops->report(s->pruner.t, s->pruner.params, e->t->number, v->step,
                                       v->value, &prune);
            if (rc)
                rc = op_failed(&s->pruner, "report", rc, err, errlen);
        } else if (e->kind == 2) {
            if (e->seq > se)
                rc = tell_one(&s->sampler, e->t, e->t->state, err, errlen);
            if (!rc && s->pruner.p && e->seq > pe)
                rc = tell_one(&s->pruner, e->t, e->t->state, err, errlen);
        }
    }
    if (se > s->events)
        s->events = se;
    if (s->pruner.p && pe > s->events)
        s->events = pe;
    free(ev);
    return rc;
}

int
tuner_enqueue(struct host *h, struct study *s, struct trial *t, char *err, size_t errlen)
{
    int rc = tell_one(&s->sampler, t, TARS_TRIAL_RUNNING, err, errlen);
    if (rc)
        return rc;
    t->ask_event = ++s->events;
    (void)h;
    return 0;
}

int
tuner_save_due(struct host *h, struct study *s)
{
    char err[768];
    int rc = 0;
    if (s->sampler.p && s->sampler.saved_event != s->events)
        rc = save(h, s, &s->sampler, 'S', err, sizeof err);
    if (!rc && s->pruner.p && s->pruner.saved_event != s->events)
        rc = save(h, s, &s->pruner, 'P', err, sizeof err);
    if (rc) /* the store keeps the events: a restart replays them from the last blob */
        hlog(LOG_WARN, "studies", "study '%s': its tuners' state is not saved: %s", s->name, err);
    return rc;
}
