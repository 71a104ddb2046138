/*
 * Multi-layer perceptrons on OpenBLAS. Layer i computes a_{i+1} = act(a_i W_i^T + b_i) over a
 * batch of rows; the forward pass keeps every a_i so that backward can apply the chain rule:
 *   d   = dL/da_{i+1} * act'(a_{i+1})
 *   gW += d^T a_i,  gb += column sums of d,  dL/da_i = d W_i
 */
#include <cblas.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "clones.h"
#include "tars/error.h"
#include "tars/nn.h"

#define MLP_STATE_VERSION 1

struct tars_mlp {
    uint32_t n_layers;
    uint32_t sizes[TARS_MLP_MAX_LAYERS + 1];
    tars_activation hidden;
    tars_activation output;
    size_t n_params;
    float *params;
    float *grads;
    size_t w_off[TARS_MLP_MAX_LAYERS];
    size_t b_off[TARS_MLP_MAX_LAYERS];
    uint32_t max_width;
    uint32_t cap;   /* batch the workspace holds */
    uint32_t batch; /* batch of the last forward; 0 before any */
    uint64_t flops; /* of the matrix products so far */
    float *acts[TARS_MLP_MAX_LAYERS + 1];
    float *delta[2];
};

static pthread_once_t blas_once = PTHREAD_ONCE_INIT;

/* OpenBLAS's own threads only slow these small shapes down: parallelism comes from runners. */
static void
blas_single_thread(void)
{
    openblas_set_num_threads(1);
}

int
tars_mlp_new(const uint32_t *sizes, uint32_t n_sizes, tars_activation hidden,
             tars_activation output, tars_mlp **out)
{
    *out = NULL;
    if (!sizes || n_sizes < 2 || n_sizes > TARS_MLP_MAX_LAYERS + 1 || hidden > TARS_ACT_RELU ||
        output > TARS_ACT_RELU)
        return TARS_EINVAL;
    for (uint32_t i = 0; i < n_sizes; i++)
        if (sizes[i] == 0 || sizes[i] > (1u << 16))
            return TARS_EINVAL;
    pthread_once(&blas_once, blas_single_thread);
    tars_mlp *m = calloc(1, sizeof *m);
    if (!m)
        return TARS_ENOMEM;
    m->n_layers = n_sizes - 1;
    m->hidden = hidden;
    m->output = output;
    memcpy(m->sizes, sizes, n_sizes * sizeof *sizes);
    size_t off = 0;
    for (uint32_t i = 0; i < m->n_layers; i++) {
        m->w_off[i] = off;
        off += (size_t)sizes[i] * sizes[i + 1];
        m->b_off[i] = off;
        off += sizes[i + 1];
    }
    for (uint32_t i = 0; i < n_sizes; i++)
        if (sizes[i] > m->max_width)
            m->max_width = sizes[i];
    m->n_params = off;
    m->params = calloc(off, sizeof(float));
    m->grads = calloc(off, sizeof(float));
    if (!m->params || !m->grads) {
        tars_mlp_free(m);
        return TARS_ENOMEM;
    }
    *out = m;
    return 0;
}

static void
free_workspace(tars_mlp *m)
{
    for (uint32_t i = 0; i <= m->n_layers; i++) {
        free(m->acts[i]);
        m->acts[i] = NULL;
    }
    free(m->delta[0]);
    free(m->delta[1]);
    m->delta[0] = m->delta[1] = NULL;
    m->cap = 0;
}

void
tars_mlp_free(tars_mlp *m)
{
    if (!m)
        return;
    free_workspace(m);
    free(m->params);
    free(m->grads);
    free(m);
}

int
tars_mlp_clone(const tars_mlp *m, tars_mlp **out)
{
    int rc = tars_mlp_new(m->sizes, m->n_layers + 1, m->hidden, m->output, out);
    if (!rc)
        memcpy((*out)->params, m->params, m->n_params * sizeof(float));
    return rc;
}

uint32_t
tars_mlp_inputs(const tars_mlp *m)
{
    return m->sizes[0];
}

uint32_t
tars_mlp_outputs(const tars_mlp *m)
{
    return m->sizes[m->n_layers];
}

float *
tars_mlp_params(tars_mlp *m)
{
    return m->params;
}

float *
tars_mlp_grads(tars_mlp *m)
{
    return m->grads;
}

size_t
tars_mlp_n_params(const tars_mlp *m)
{
    return m->n_params;
}

uint32_t
tars_mlp_n_layers(const tars_mlp *m)
{
    return m->n_layers;
}

int
tars_mlp_layer(tars_mlp *m, uint32_t i, float **w, float **b, uint32_t *in, uint32_t *out)
{
    if (i >= m->n_layers)
        return TARS_EINVAL;
    if (w)
        *w = m->params + m->w_off[i];
    if (b)
        *b = m->params + m->b_off[i];
    if (in)
        *in = m->sizes[i];
    if (out)
        *out = m->sizes[i + 1];
    return 0;
}

uint64_t
tars_mlp_flops(const tars_mlp *m)
{
    return m->flops;
}

uint64_t
tars_mlp_macs(const tars_mlp *m)
{
    uint64_t macs = 0;
    for (uint32_t i = 0; i < m->n_layers; i++)
        macs += (uint64_t)m->sizes[i] * m->sizes[i + 1];
    return macs;
}

void
tars_mlp_init_default(tars_mlp *m, tars_rng *rng)
{
    for (uint32_t i = 0; i < m->n_layers; i++) {
        double bound = 1.0 / sqrt((double)m->sizes[i]);
        tars_init_uniform(m->params + m->w_off[i], (size_t)m->sizes[i] * m->sizes[i + 1], -bound,
                          bound, rng);
        tars_init_uniform(m->params + m->b_off[i], m->sizes[i + 1], -bound, bound, rng);
    }
}

void
tars_mlp_init_orthogonal(tars_mlp *m, double hidden_gain, double output_gain, tars_rng *rng)
{
    for (uint32_t i = 0; i < m->n_layers; i++) {
        double gain = i + 1 == m->n_layers ? output_gain : hidden_gain;
        tars_init_orthogonal(m->params + m->w_off[i], m->sizes[i + 1], m->sizes[i], gain, rng);
        memset(m->params + m->b_off[i], 0, m->sizes[i + 1] * sizeof(float));
    }
}

static int
reserve(tars_mlp *m, uint32_t batch)
{
    if (batch <= m->cap)
        return 0;
    uint32_t cap = m->cap ? m->cap : 16;
    while (cap < batch)
        cap *= 2;
    free_workspace(m);
    int ok = 1;
    for (uint32_t i = 0; i <= m->n_layers; i++)
        ok &= (m->acts[i] = malloc((size_t)cap * m->sizes[i] * sizeof(float))) != NULL;
    for (int k = 0; k < 2; k++)
        ok &= (m->delta[k] = malloc((size_t)cap * m->max_width * sizeof(float))) != NULL;
    if (!ok) {
        free_workspace(m);
        return TARS_ENOMEM;
    }
    m->cap = cap;
    return 0;
}

/*
 * tanh over an array, written so that the compiler vectorises it (no calls, no branches: the
 * file is built with -O3 and without -ffast-math, so selects stand in for fminf/floorf), and
 * cloned for AVX-512 and AVX2 with a portable fallback picked at load time. glibc's tanhf
 * costs more than the matrix products of these small networks.
 *
 *   |x| < 0.25:  the odd Taylor series to x^9 (the next term is below 3e-9);
 *   otherwise:   tanh|x| = (1 - e) / (1 + e) with e = exp(-2|x|), where exp is computed as
 *                2^k * p(r), r = t - k in [-1/2, 1/2] after t = -2|x| log2(e), and p the
 *                degree-7 Taylor polynomial of 2^r (relative error < 1e-7).
 * |x| is capped at 9, beyond which tanh rounds to 1 in float.
 */
static inline float
tanh_one(float x)
{
    float ax = fabsf(x);
    ax = ax < 9.0f ? ax : 9.0f;
    float x2 = ax * ax;
    float small =
        ax *
        (1.0f + x2 * (-1.0f / 3 + x2 * (2.0f / 15 + x2 * (-17.0f / 315 + x2 * (62.0f / 2835)))));
    float t = -2.0f * 1.44269504088896341f * ax; /* log2(e) */
    float k = (t + 12582912.0f) - 12582912.0f;   /* round to nearest: 1.5 * 2^23 trick */
    float r = (t - k) * 0.693147180559945309f;   /* 2^(t-k) = e^r */
    float p =
        1.0f +
        r * (1.0f +
             r * (0.5f +
                  r * (1.0f / 6 +
                       r * (1.0f / 24 + r * (1.0f / 120 + r * (1.0f / 720 + r * (1.0f / 5040)))))));
    int32_t bits = ((int32_t)k + 127) << 23; /* 2^k, k in [-26, 0] */
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    float e = p * scale;
    float large = (1.0f - e) / (1.0f + e);
    float y = ax < 0.25f ? small : large;
    return copysignf(y, x);
}

TARS_VECTOR_CLONES static void
tanh_inplace(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x[i] = tanh_one(x[i]);
}

TARS_VECTOR_CLONES static void
relu_inplace(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x[i] = x[i] > 0 ? x[i] : 0;
}

static void
activate(tars_activation a, float *x, size_t n)
{
    if (a == TARS_ACT_TANH)
        tanh_inplace(x, n);
    else if (a == TARS_ACT_RELU)
        relu_inplace(x, n);
}

/* d *= act'(y), with y the activation's output. */
TARS_VECTOR_CLONES static void
activate_backward(tars_activation a, const float *y, float *d, size_t n)
{
    if (a == TARS_ACT_TANH)
        for (size_t i = 0; i < n; i++)
            d[i] *= 1.0f - y[i] * y[i];
    else if (a == TARS_ACT_RELU)
        for (size_t i = 0; i < n; i++)
            d[i] = y[i] > 0 ? d[i] : 0;
}

/* gb[k] += sum over rows of d[r][k] */
TARS_VECTOR_CLONES static void
column_sums(const float *d, uint32_t rows, uint32_t cols, float *gb)
{
    for (uint32_t r = 0; r < rows; r++) {
        const float *row = d + (size_t)r * cols;
        for (uint32_t k = 0; k < cols; k++)
            gb[k] += row[k];
    }
}

const float *
tars_mlp_forward(tars_mlp *m, const float *x, uint32_t batch)
{
    if (batch == 0 || reserve(m, batch))
        return NULL;
    m->batch = batch;
    memcpy(m->acts[0], x, (size_t)batch * m->sizes[0] * sizeof(float));
    for (uint32_t i = 0; i < m->n_layers; i++) {
        uint32_t in = m->sizes[i], out = m->sizes[i + 1];
        const float *w = m->params + m->w_off[i], *b = m->params + m->b_off[i];
        float *y = m->acts[i + 1];
        for (uint32_t r = 0; r < batch; r++)
            memcpy(y + (size_t)r * out, b, out * sizeof(float));
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)batch, (int)out, (int)in, 1.0f,
                    m->acts[i], (int)in, w, (int)in, 1.0f, y, (int)out);
        m->flops += 2ull * batch * in * out;
        activate(i + 1 == m->n_layers ? m->output : m->hidden, y, (size_t)batch * out);
    }
    return m->acts[m->n_layers];
}

static int
backward(tars_mlp *m, const float *dy, float *dx, int param_grads)
{
    uint32_t batch = m->batch;
    if (!batch || (!param_grads && !dx))
        return TARS_EINVAL;
    float *d = m->delta[0], *prev = m->delta[1];
    memcpy(d, dy, (size_t)batch * m->sizes[m->n_layers] * sizeof(float));
    for (uint32_t i = m->n_layers; i-- > 0;) {
        uint32_t in = m->sizes[i], out = m->sizes[i + 1];
        activate_backward(i + 1 == m->n_layers ? m->output : m->hidden, m->acts[i + 1], d,
                          (size_t)batch * out);
        if (param_grads) {
            float *gw = m->grads + m->w_off[i], *gb = m->grads + m->b_off[i];
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)out, (int)in, (int)batch,
                        1.0f, d, (int)out, m->acts[i], (int)in, 1.0f, gw, (int)in);
            m->flops += 2ull * batch * in * out;
            column_sums(d, batch, out, gb);
        }
        if (i == 0 && !dx)
            break;
        float *target = i == 0 ? dx : prev;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)batch, (int)in, (int)out, 1.0f,
                    d, (int)out, m->params + m->w_off[i], (int)in, 0.0f, target, (int)in);
        m->flops += 2ull * batch * in * out;
        float *t = d;
        d = prev;
        prev = t;
    }
    return 0;
}

int
tars_mlp_backward(tars_mlp *m, const float *dy, float *dx)
{
    return backward(m, dy, dx, 1);
}

int
tars_mlp_backward_input(tars_mlp *m, const float *dy, float *dx)
{
    return backward(m, dy, dx, 0);
}

void
tars_mlp_zero_grad(tars_mlp *m)
{
    memset(m->grads, 0, m->n_params * sizeof(float));
}

int
tars_mlp_save(const tars_mlp *m, tars_blob_writer *w)
{
    int rc = tars_blob_put_u32(w, MLP_STATE_VERSION);
    if (!rc)
        rc = tars_blob_put_u32(w, m->n_layers);
    for (uint32_t i = 0; !rc && i <= m->n_layers; i++)
        rc = tars_blob_put_u32(w, m->sizes[i]);
    if (!rc)
        rc = tars_blob_put_f32s(w, m->params, m->n_params);
    return rc;
}

int
tars_mlp_load(tars_mlp *m, tars_blob_reader *r)
{
    uint32_t version, layers, size;
    int rc = tars_blob_get_u32(r, &version);
    if (!rc && version != MLP_STATE_VERSION)
        return TARS_EVERSION;
    if (!rc)
        rc = tars_blob_get_u32(r, &layers);
    if (!rc && layers != m->n_layers)
        return TARS_EFORMAT;
    for (uint32_t i = 0; !rc && i <= m->n_layers; i++) {
        rc = tars_blob_get_u32(r, &size);
        if (!rc && size != m->sizes[i])
            return TARS_EFORMAT;
    }
    /* The shape matched, so the array has exactly n_params floats or the read fails whole. */
    if (!rc)
        rc = tars_blob_get_f32s(r, m->params, m->n_params);
    return rc;
}
