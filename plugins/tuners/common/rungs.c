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
