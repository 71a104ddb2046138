/* space — dimensions, their coordinates, and the told trials (see space.h). */
#include "space.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int
space_dims(tars_ctx *ctx, const tars_study_spec *study, struct dim **out)
{
    *out = NULL;
    if (!study->space || study->n_space == 0)
        return tars_fail(ctx, TARS_EINVAL, "the search space has no dimension");
    struct dim *d = calloc(study->n_space, sizeof *d);
    if (!d)
        return TARS_ENOMEM;
    for (uint32_t i = 0; i < study->n_space; i++) {
        const tars_param_def *p = &study->space[i];
        struct dim *x = &d[i];
        x->type = p->type;
        x->vmin = p->min;
        x->vmax = p->max;
        if (p->type == TARS_PARAM_ENUM || p->type == TARS_PARAM_BOOL) {
            uint32_t n = 2;
            if (p->type == TARS_PARAM_ENUM)
                for (n = 0; p->choices && p->choices[n]; n++)
                    ;
            x->n_choices = n;
            x->vmin = 0;
            x->vmax = n - 1;
            continue;
        }
        x->log = (p->flags & TARS_PARAM_LOG) != 0;
        if (x->log && p->min <= 0) {
            free(d);
            return tars_fail(ctx, TARS_EINVAL, "dimension %s is LOG but its minimum %g is not > 0",
                             p->name, p->min);
        }
        double half = p->type == TARS_PARAM_INT ? 0.5 : 0;
        if (x->log) {
            x->low = log(p->min - half);
            x->high = log(p->max + half);
        } else {
            x->low = p->min - half;
            x->high = p->max + half;
            x->step = p->type == TARS_PARAM_INT ? 1 : 0;
        }
        if (!(x->low < x->high)) {
            free(d);
            return tars_fail(ctx, TARS_EINVAL, "dimension %s has an empty range [%g, %g]", p->name,
                             p->min, p->max);
        }
    }
    *out = d;
    return 0;
}

double
dim_internal(const struct dim *d, double value)
{
    return d->log ? log(value) : value;
}

double
dim_external(const struct dim *d, double x)
{
    if (d->n_choices) {
        double i = floor(x);
        return i < 0 ? 0 : i > d->vmax ? d->vmax : i;
    }
    double v = d->log ? exp(x) : x;
    if (d->type == TARS_PARAM_INT)
        v = round(v);
    return v < d->vmin ? d->vmin : v > d->vmax ? d->vmax : v;
}

double
dim_random(const struct dim *d, tars_rng *rng)
{
    if (d->n_choices)
        return (double)tars_rng_below(rng, d->n_choices);
    return dim_external(d, tars_rng_range(rng, d->low, d->high));
}

int
dim_set(tars_ctx *ctx, tars_params *out, uint32_t i, double value)
{
    char err[256];
    int rc = tars_params_set(out, i, value, err, sizeof err);
    return rc ? tars_fail(ctx, rc, "proposed a value out of the space: %s", err) : 0;
}

static struct htrial *
find(struct history *h, uint64_t number)
{
    /* Trials arrive nearly in order: look from the end. */
    for (size_t i = h->n; i-- > 0;)
        if (h->v[i].number == number)
            return &h->v[i];
    return NULL;
}

int
tuner_grow(void **v, size_t n, size_t *cap, size_t size, size_t first)
{
    if (n < *cap)
        return 0;
    size_t want = *cap ? 2 * *cap : first;
    void *p = realloc(*v, want * size);
    if (!p)
        return TARS_ENOMEM;
    *v = p;
    *cap = want;
    return 0;
}

static struct htrial *
add(struct history *h, uint64_t number)
{
    void *v = h->v;
    int rc = tuner_grow(&v, h->n, &h->cap, sizeof *h->v, 64);
    h->v = v;
    if (rc)
        return NULL;
    double *x = calloc(h->n_dims ? h->n_dims : 1, sizeof *x);
    if (!x)
        return NULL;
    struct htrial *t = &h->v[h->n++];
    memset(t, 0, sizeof *t);
    t->number = number;
    t->x = x;
    return t;
}

int
history_asked(struct history *h, uint64_t number, const double *x)
{
    struct htrial *t = find(h, number);
    if (!t && !(t = add(h, number)))
        return TARS_ENOMEM;
    t->state = TARS_TRIAL_RUNNING;
    memcpy(t->x, x, h->n_dims * sizeof *x);
    return 0;
}

int
history_tell(struct history *h, const tars_trial *tr)
{
    struct htrial *t = find(h, tr->number);
    if (!t && !(t = add(h, tr->number)))
        return TARS_ENOMEM;
    t->state = tr->state;
    t->last_step = tr->last_step;
    t->n_values =
        tr->n_values > TARS_TUNER_MAX_OBJECTIVES ? TARS_TUNER_MAX_OBJECTIVES : tr->n_values;
    for (uint32_t k = 0; k < t->n_values; k++)
        t->values[k] = tr->values[k];
    if (tr->params)
        for (uint32_t i = 0; i < h->n_dims; i++)
            t->x[i] = tars_param_value(tr->params, i);
    return 0;
}

void
history_free(struct history *h)
{
    for (size_t i = 0; i < h->n; i++)
        free(h->v[i].x);
    free(h->v);
    h->v = NULL;
    h->n = h->cap = 0;
}

int
history_save(const struct history *h, tars_blob_writer *w)
{
    int rc = tars_blob_put_u32(w, h->n_dims);
    rc = rc ? rc : tars_blob_put_u64(w, h->n);
    for (size_t i = 0; !rc && i < h->n; i++) {
        const struct htrial *t = &h->v[i];
        rc = tars_blob_put_u64(w, t->number);
        rc = rc ? rc : tars_blob_put_u32(w, t->state);
        rc = rc ? rc : tars_blob_put_u32(w, t->n_values);
        rc = rc ? rc : tars_blob_put_u64(w, t->last_step);
        rc = rc ? rc : tars_blob_put_f64s(w, t->values, t->n_values);
        rc = rc ? rc : tars_blob_put_f64s(w, t->x, h->n_dims);
    }
    return rc;
}

int
history_load(struct history *h, tars_blob_reader *r)
{
    uint32_t n_dims;
    uint64_t n;
    int rc = tars_blob_get_u32(r, &n_dims);
    rc = rc ? rc : tars_blob_get_u64(r, &n);
    if (rc)
        return rc;
    if (n_dims != h->n_dims || n > (1u << 24))
        return TARS_ECORRUPT;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t number;
        uint32_t state, n_values;
        rc = tars_blob_get_u64(r, &number);
        rc = rc ? rc : tars_blob_get_u32(r, &state);
        rc = rc ? rc : tars_blob_get_u32(r, &n_values);
        if (rc)
            return rc;
        if (n_values > TARS_TUNER_MAX_OBJECTIVES || !tars_trial_state_name(state))
            return TARS_ECORRUPT;
        struct htrial *t = add(h, number);
        if (!t)
            return TARS_ENOMEM;
        t->state = state;
        t->n_values = n_values;
        rc = tars_blob_get_u64(r, &t->last_step);
        rc = rc ? rc : tars_blob_get_f64s(r, t->values, n_values);
        rc = rc ? rc : tars_blob_get_f64s(r, t->x, h->n_dims);
        if (rc)
            return rc;
    }
    return 0;
}
