/* Successive halving's rungs (rungs.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "rungs.h"
#include "space.h"

void
rungs_free(struct rungs *rs)
{
    for (size_t i = 0; i < rs->n; i++)
        free(rs->r[i].v);
    free(rs->r);
    memset(rs, 0, sizeof *rs);
}

int
rungs_record(struct rungs *rs, uint32_t k, double value)
{
    while (rs->n <= k) {
        void *v = rs->r;
        int rc = tuner_grow(&v, rs->n, &rs->cap, sizeof *rs->r, 8);
        rs->r = v;
        if (rc)
            return rc;
        memset(&rs->r[rs->n++], 0, sizeof *rs->r);
    }
    struct rung *r = &rs->r[k];
    void *v = r->v;
    int rc = tuner_grow(&v, r->n, &r->cap, sizeof *r->v, 16);
    r->v = v;
    if (rc)
        return rc;
    r->v[r->n++] = value;
    return 0;
}

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Whether value, just recorded at rung k, is among the rung's promotable best. */
static int
promotable(const struct rungs *rs, uint32_t k, double value, const struct sha *c, int *oom)
{
    const struct rung *r = &rs->r[k];
    double *v = malloc(r->n * sizeof *v);
    if (!v) {
        *oom = 1;
        return 0;
    }
    memcpy(v, r->v, r->n * sizeof *v);
    qsort(v, r->n, sizeof *v, cmp_double); /* NaN is never recorded: it prunes first */
    size_t idx = r->n / (size_t)c->factor;
    idx = idx ? idx - 1 : 0; /* fewer than factor values: only the best goes on */
    int ok = c->maximise ? value >= v[r->n - 1 - idx] : value <= v[idx];
    free(v);
    return ok;
}

static uint64_t
rung_step(uint64_t min_resource, int64_t factor, uint64_t exponent)
{
    double s = (double)min_resource * pow((double)factor, (double)exponent);
    return s >= 1.8e19 ? UINT64_MAX : (uint64_t)s;
}

int
rungs_climb(struct rungs *rs, const struct sha *c, uint32_t *rung, uint64_t step, double value,
            int *prune)
{
    *prune = 0;
    for (;;) {
        if (step < rung_step(c->min_resource, c->factor, (uint64_t)c->rate + *rung))
            return 0;
        if (isnan(value)) {
            *prune = 1;
            return 0;
        }
        int rc = rungs_record(rs, *rung, value);
        if (rc)
            return rc;
        int oom = 0;
        if ((int64_t)rs->r[*rung].n <= c->bootstrap || !promotable(rs, *rung, value, c, &oom)) {
            *prune = !oom;
            return oom ? TARS_ENOMEM : 0;
        }
        (*rung)++;
    }
}

int
rungs_save(const struct rungs *rs, tars_blob_writer *w)
{
    int rc = tars_blob_put_u64(w, rs->n);
    for (size_t k = 0; !rc && k < rs->n; k++) {
        rc = tars_blob_put_u64(w, rs->r[k].n);
        for (size_t i = 0; !rc && i < rs->r[k].n; i++)
            rc = tars_blob_put_f64(w, rs->r[k].v[i]);
    }
    return rc;
}

int
rungs_load(struct rungs *rs, tars_blob_reader *r)
{
    uint64_t n;
    int rc = tars_blob_get_u64(r, &n);
    if (!rc && n > 64)
        rc = TARS_ECORRUPT;
    for (uint64_t k = 0; !rc && k < n; k++) {
        uint64_t m;
        rc = tars_blob_get_u64(r, &m);
        if (!rc && m > (1u << 26))
            rc = TARS_ECORRUPT;
        for (uint64_t i = 0; !rc && i < m; i++) {
            double v;
            rc = tars_blob_get_f64(r, &v);
            rc = rc ? rc : rungs_record(rs, (uint32_t)k, v);
        }
    }
    return rc;
}

struct sha_trial *
sha_trial_of(struct sha_trials *ts, uint64_t number)
{
    for (size_t i = ts->n; i-- > 0;)
        if (ts->v[i].number == number)
            return &ts->v[i];
    void *v = ts->v;
    int rc = tuner_grow(&v, ts->n, &ts->cap, sizeof *ts->v, 64);
    ts->v = v;
    if (rc)
        return NULL;
    struct sha_trial *a = &ts->v[ts->n++];
    memset(a, 0, sizeof *a);
    a->number = number;
    return a;
}

int
sha_told(struct sha_trials *ts, const tars_trial *trial)
{
    if (trial->state != TARS_TRIAL_COMPLETE)
        return 0;
    struct sha_trial *a = sha_trial_of(ts, trial->number);
    if (!a)
        return TARS_ENOMEM;
    a->complete = 1;
    return 0;
}

uint64_t
sha_longest(const struct sha_trials *ts, int *any)
{
    uint64_t longest = 0;
    *any = 0;
    for (size_t i = 0; i < ts->n; i++)
        if (ts->v[i].complete && ts->v[i].reported) { /* Optuna skips a trial with no step */
            *any = 1;
            longest = ts->v[i].last_step > longest ? ts->v[i].last_step : longest;
        }
    return longest;
}

int
sha_trials_save(const struct sha_trials *ts, tars_blob_writer *w)
{
    int rc = tars_blob_put_u64(w, ts->n);
    for (size_t i = 0; !rc && i < ts->n; i++) {
        rc = tars_blob_put_u64(w, ts->v[i].number);
        rc = rc ? rc : tars_blob_put_u32(w, ts->v[i].rung);
        rc = rc ? rc : tars_blob_put_u32(w, ts->v[i].complete | (uint32_t)ts->v[i].reported << 16);
        rc = rc ? rc : tars_blob_put_u64(w, ts->v[i].last_step);
    }
    return rc;
}

int
sha_trials_load(struct sha_trials *ts, tars_blob_reader *r)
{
    uint64_t n;
    int rc = tars_blob_get_u64(r, &n);
    for (uint64_t i = 0; !rc && i < n; i++) {
        struct sha_trial a;
        uint32_t flags = 0;
        rc = tars_blob_get_u64(r, &a.number);
        rc = rc ? rc : tars_blob_get_u32(r, &a.rung);
        rc = rc ? rc : tars_blob_get_u32(r, &flags);
        a.complete = flags & 1;
        a.reported = (flags >> 16) & 1;
        rc = rc ? rc : tars_blob_get_u64(r, &a.last_step);
        struct sha_trial *dst = rc ? NULL : sha_trial_of(ts, a.number);
        if (!rc && !dst)
            rc = TARS_ENOMEM;
        if (!rc)
            *dst = a;
    }
    return rc;
}
