/* Adam and RMSprop over flat parameter vectors, with PyTorch's update rules. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "clones.h"
#include "tars/error.h"
#include "tars/nn.h"

#define OPTIM_STATE_VERSION 1

enum { ADAM = 1, RMSPROP = 2 };

struct tars_optim {
    int kind;
    size_t n;
    double beta1, beta2, eps; /* RMSprop: beta2 holds alpha */
    uint64_t t;               /* steps taken */
    float *m;                 /* Adam's first moment (unused by RMSprop) */
    float *v;                 /* second moment / square average */
};

static int
optim_new(int kind, size_t n, double b1, double b2, double eps, tars_optim **out)
{
    *out = NULL;
    if (n == 0 || !(b1 >= 0 && b1 < 1) || !(b2 >= 0 && b2 < 1) || !(eps > 0))
        return TARS_EINVAL;
    tars_optim *o = calloc(1, sizeof *o);
    if (!o)
        return TARS_ENOMEM;
    *o = (tars_optim){.kind = kind, .n = n, .beta1 = b1, .beta2 = b2, .eps = eps};
    o->m = kind == ADAM ? calloc(n, sizeof(float)) : NULL;
    o->v = calloc(n, sizeof(float));
    if ((kind == ADAM && !o->m) || !o->v) {
        tars_optim_free(o);
        return TARS_ENOMEM;
    }
    *out = o;
    return 0;
}

int
tars_adam_new(size_t n, double beta1, double beta2, double eps, tars_optim **out)
{
    return optim_new(ADAM, n, beta1, beta2, eps, out);
}

int
tars_rmsprop_new(size_t n, double alpha, double eps, tars_optim **out)
{
    return optim_new(RMSPROP, n, 0, alpha, eps, out);
}

void
tars_optim_free(tars_optim *o)
{
    if (!o)
        return;
    free(o->m);
    free(o->v);
    free(o);
}

/*
 * The update loops, cloned for AVX-512 and AVX2 (picked at load time): the divisions and
 * square roots dominate, and the baseline SSE build does four at a time.
 */
TARS_VECTOR_CLONES static void
adam_loop(float *p, const float *g, float *m, float *v, size_t n, float b1, float b2, float step,
          float rbc2, float eps)
{
    for (size_t i = 0; i < n; i++) {
        float mi = b1 * m[i] + (1 - b1) * g[i];
        float vi = b2 * v[i] + (1 - b2) * g[i] * g[i];
        /* Moments of parameters whose gradient stays zero decay into subnormals, which cost
         * ~100 cycles an operation; flushing them to zero changes the update by far less
         * than eps does. */
        m[i] = fabsf(mi) < FLT_MIN ? 0.0f : mi;
        v[i] = vi < FLT_MIN ? 0.0f : vi;
        p[i] -= step * m[i] / (sqrtf(v[i]) * rbc2 + eps);
    }
}

TARS_VECTOR_CLONES static void
rmsprop_loop(float *p, const float *g, float *v, size_t n, float a, float rate, float eps)
{
    for (size_t i = 0; i < n; i++) {
        float vi = a * v[i] + (1 - a) * g[i] * g[i];
        v[i] = vi < FLT_MIN ? 0.0f : vi; /* as in adam_loop */
        p[i] -= rate * g[i] / (sqrtf(v[i]) + eps);
    }
}

void
tars_optim_step(tars_optim *o, float *p, const float *g, double lr)
{
    o->t++;
    if (o->kind == ADAM) {
        double bc1 = 1 - pow(o->beta1, (double)o->t), bc2 = 1 - pow(o->beta2, (double)o->t);
        adam_loop(p, g, o->m, o->v, o->n, (float)o->beta1, (float)o->beta2, (float)(lr / bc1),
                  (float)(1 / sqrt(bc2)), (float)o->eps);
    } else {
        rmsprop_loop(p, g, o->v, o->n, (float)o->beta2, (float)lr, (float)o->eps);
    }
}

int
tars_optim_save(const tars_optim *o, tars_blob_writer *w)
{
    int rc = tars_blob_put_u32(w, OPTIM_STATE_VERSION);
    if (!rc)
        rc = tars_blob_put_u32(w, (uint32_t)o->kind);
    if (!rc)
        rc = tars_blob_put_u64(w, o->n);
    if (!rc)
        rc = tars_blob_put_u64(w, o->t);
    if (!rc && o->m)
        rc = tars_blob_put_f32s(w, o->m, o->n);
    if (!rc)
        rc = tars_blob_put_f32s(w, o->v, o->n);
    return rc;
}

int
tars_optim_load(tars_optim *o, tars_blob_reader *r)
{
    uint32_t version, kind;
    uint64_t n, t;
    int rc = tars_blob_get_u32(r, &version);
    if (!rc && version != OPTIM_STATE_VERSION)
        return TARS_EVERSION;
    if (!rc)
        rc = tars_blob_get_u32(r, &kind);
    if (!rc)
        rc = tars_blob_get_u64(r, &n);
    if (!rc && ((int)kind != o->kind || n != o->n))
        return TARS_EFORMAT;
    if (!rc)
        rc = tars_blob_get_u64(r, &t);
    if (rc)
        return rc;
    /* Read into copies so that a failed load leaves the optimiser as it was. */
    float *m = o->m ? malloc(o->n * sizeof(float)) : NULL;
    float *v = malloc(o->n * sizeof(float));
    rc = (o->m && !m) || !v ? TARS_ENOMEM : 0;
    if (!rc && m)
        rc = tars_blob_get_f32s(r, m, o->n);
    if (!rc)
        rc = tars_blob_get_f32s(r, v, o->n);
    if (!rc) {
        if (m)
            memcpy(o->m, m, o->n * sizeof(float));
        memcpy(o->v, v, o->n * sizeof(float));
        o->t = t;
    }
    free(m);
    free(v);
    return rc;
}
