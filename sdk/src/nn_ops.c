/* Initialisers, vector helpers, losses, softmax and the two action distributions. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <cblas.h>
#include "tars/nn.h"

#define LOG_SQRT_2PI 0.91893853320467274178 /* log(sqrt(2 pi)) */

void
tars_init_uniform(float *x, size_t n, double lo, double hi, tars_rng *rng)
{
    for (size_t i = 0; i < n; i++)
        x[i] = (float)tars_rng_range(rng, lo, hi);
}

/* Makes v (length m) orthogonal to the n columns of q (m x n, column-major), twice over
 * ("twice is enough", classical Gram-Schmidt's reorthogonalisation), through two gemv each. */
static void
project_out(const double *q, uint32_t m, uint32_t n, double *v, double *dots)
{
    for (int pass = 0; pass < 2 && n > 0; pass++) {
        cblas_dgemv(CblasColMajor, CblasTrans, (int)m, (int)n, 1.0, q, (int)m, v, 1, 0.0, dots, 1);
        cblas_dgemv(CblasColMajor, CblasNoTrans, (int)m, (int)n, -1.0, q, (int)m, dots, 1, 1.0, v,
                    1);
    }
}

/*
 * Orthonormal columns of a tall m x k Gaussian matrix (m >= k) by Gram-Schmidt: each column
 * block is made orthogonal to the columns before it with matrix products (twice), then its
 * own columns one by one. Gram-Schmidt leaves R's diagonal positive, which is the sign
 * convention that makes the result uniformly distributed (as PyTorch's orthogonal_ arranges
 * by hand). The products make a 4096-wide layer seconds of work instead of a minute (a
 * re-creation with such a layer runs while an API call waits).
 */
static int
orthonormal_columns(double *a, uint32_t m, uint32_t k)
{
    enum { BLOCK = 64 };
    double *c = malloc(((size_t)k * BLOCK + k) * sizeof *c);
    if (!c)
        return -1;
    double *dots = c + (size_t)k * BLOCK;
    for (uint32_t j0 = 0; j0 < k; j0 += BLOCK) {
        uint32_t nb = k - j0 < BLOCK ? k - j0 : BLOCK;
        double *blk = a + (size_t)j0 * m;
        for (int pass = 0; pass < 2 && j0 > 0; pass++) {
            /* C = Q^T B, then B -= Q C, with Q the j0 columns done. */
            cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, (int)j0, (int)nb, (int)m, 1.0, a,
                        (int)m, blk, (int)m, 0.0, c, (int)j0);
            cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)nb, (int)j0, -1.0,
                        a, (int)m, c, (int)j0, 1.0, blk, (int)m);
        }
        for (uint32_t j = 0; j < nb; j++) {
            double *v = blk + (size_t)j * m;
            project_out(blk, m, j, v, dots); /* the block's columns before this one */
            double norm = cblas_dnrm2((int)m, v, 1);
            if (norm > 0)
                cblas_dscal((int)m, 1.0 / norm, v, 1);
            else
                memset(v, 0, m * sizeof *v);
        }
    }
    free(c);
    return 0;
}

void
tars_init_orthogonal(float *w, uint32_t rows, uint32_t cols, double gain, tars_rng *rng)
{
    /* Orthonormal vectors of length `tall`, `few` of them; they become W's rows or columns. */
    uint32_t tall = rows > cols ? rows : cols, few = rows > cols ? cols : rows;
    double *a = malloc((size_t)tall * few * sizeof *a);
    if (!a) {
        memset(w, 0, (size_t)rows * cols * sizeof *w);
        return;
    }
    for (size_t i = 0; i < (size_t)tall * few; i++)
        a[i] = tars_rng_normal(rng);
    if (orthonormal_columns(a, tall, few) != 0) {
        memset(w, 0, (size_t)rows * cols * sizeof *w);
        free(a);
        return;
    }
    for (uint32_t r = 0; r < rows; r++)
        for (uint32_t c = 0; c < cols; c++) {
            /* rows >= cols: vector c is column c; otherwise vector r is row r. */
            double v = rows >= cols ? a[(size_t)c * tall + r] : a[(size_t)r * tall + c];
            w[(size_t)r * cols + c] = (float)(gain * v);
        }
    free(a);
}

void
tars_polyak(float *target, const float *src, size_t n, double tau)
{
    float t = (float)tau, keep = (float)(1.0 - tau);
    for (size_t i = 0; i < n; i++)
        target[i] = keep * target[i] + t * src[i];
}

double
tars_l2_norm(const float *x, size_t n)
{
    /* Eight partial sums in double: exact enough for a norm, and vectorisable. */
    double part[8] = {0};
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; k++)
            part[k] += (double)x[i + k] * x[i + k];
    double s = 0;
    for (; i < n; i++)
        s += (double)x[i] * x[i];
    for (int k = 0; k < 8; k++)
        s += part[k];
    return sqrt(s);
}

void
tars_scale(float *x, size_t n, double s)
{
    float f = (float)s;
    for (size_t i = 0; i < n; i++)
        x[i] *= f;
}

double
tars_clip_grad_norm(float *g, size_t n, double max_norm)
{
    double norm = tars_l2_norm(g, n);
    /* PyTorch's clip_grad_norm_: scale by max / (norm + 1e-6) when that is below one. */
    double coef = max_norm / (norm + 1e-6);
    if (coef < 1)
        tars_scale(g, n, coef);
    return norm;
}

double
tars_mse(const float *pred, const float *target, size_t n, float *grad)
{
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)pred[i] - target[i];
        sum += d * d;
        if (grad)
            grad[i] = (float)(2 * d / n);
    }
    return n ? sum / n : 0;
}

double
tars_huber(const float *pred, const float *target, size_t n, double delta, float *grad)
{
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)pred[i] - target[i];
        double a = fabs(d);
        sum += a < delta ? 0.5 * d * d / delta : a - 0.5 * delta;
        if (grad)
            grad[i] = (float)((a < delta ? d / delta : (d > 0 ? 1 : -1)) / n);
    }
    return n ? sum / n : 0;
}

/* max and log-sum-exp of one row */
static double
row_lse(const float *x, uint32_t cols)
{
    float mx = -FLT_MAX;
    for (uint32_t j = 0; j < cols; j++)
        mx = x[j] > mx ? x[j] : mx;
    double s = 0;
    for (uint32_t j = 0; j < cols; j++)
        s += exp((double)x[j] - mx);
    return mx + log(s);
}

void
tars_log_softmax(const float *x, uint32_t rows, uint32_t cols, float *out)
{
    for (uint32_t i = 0; i < rows; i++) {
        const float *r = x + (size_t)i * cols;
        double lse = row_lse(r, cols);
        for (uint32_t j = 0; j < cols; j++)
            out[(size_t)i * cols + j] = (float)(r[j] - lse);
    }
}

void
tars_softmax(const float *x, uint32_t rows, uint32_t cols, float *out)
{
    for (uint32_t i = 0; i < rows; i++) {
        const float *r = x + (size_t)i * cols;
        double lse = row_lse(r, cols);
        for (uint32_t j = 0; j < cols; j++)
            out[(size_t)i * cols + j] = (float)exp(r[j] - lse);
    }
}

void
tars_categorical(const float *logits, uint32_t rows, uint32_t cols, const int32_t *actions,
                 float *logp, float *entropy)
{
    for (uint32_t i = 0; i < rows; i++) {
        const float *z = logits + (size_t)i * cols;
        double lse = row_lse(z, cols);
        if (logp)
            logp[i] = (float)(z[actions[i]] - lse);
        if (entropy) {
            double h = 0;
            for (uint32_t j = 0; j < cols; j++) {
                double lp = z[j] - lse;
                h -= exp(lp) * lp;
            }
            entropy[i] = (float)h;
        }
    }
}

void
tars_categorical_sample(const float *logits, uint32_t rows, uint32_t cols, int explore,
                        tars_rng *rng, int32_t *actions)
{
    for (uint32_t i = 0; i < rows; i++) {
        const float *z = logits + (size_t)i * cols;
        int32_t pick = 0;
        if (!explore) {
            for (uint32_t j = 1; j < cols; j++)
                if (z[j] > z[pick])
                    pick = (int32_t)j;
        } else {
            double lse = row_lse(z, cols), u = tars_rng_uniform(rng), acc = 0;
            pick = (int32_t)cols - 1; /* if rounding leaves u above the last sum */
            for (uint32_t j = 0; j < cols; j++) {
                acc += exp(z[j] - lse);
                if (u < acc) {
                    pick = (int32_t)j;
                    break;
                }
            }
        }
        actions[i] = pick;
    }
}

void
tars_categorical_backward(const float *logits, uint32_t rows, uint32_t cols, const int32_t *actions,
                          const float *g_logp, const float *g_ent, float *dlogits)
{
    for (uint32_t i = 0; i < rows; i++) {
        const float *z = logits + (size_t)i * cols;
        float *dz = dlogits + (size_t)i * cols;
        double lse = row_lse(z, cols), h = 0;
        if (g_ent)
            for (uint32_t j = 0; j < cols; j++) {
                double lp = z[j] - lse;
                h -= exp(lp) * lp;
            }
        for (uint32_t j = 0; j < cols; j++) {
            double lp = z[j] - lse, p = exp(lp);
            /* d logp_a / dz_j = [j = a] - p_j;  dH / dz_j = -p_j (log p_j + H) */
            double d = g_logp[i] * (((int32_t)j == actions[i]) - p);
            if (g_ent)
                d += g_ent[i] * (-p * (lp + h));
            dz[j] = (float)d;
        }
    }
}

double
tars_gaussian(const float *mu, const float *log_std, uint32_t rows, uint32_t dim,
              const float *actions, float *logp)
{
    double ent = 0, norm = 0;
    for (uint32_t k = 0; k < dim; k++) {
        ent += 0.5 + LOG_SQRT_2PI + log_std[k];
        norm += log_std[k] + LOG_SQRT_2PI;
    }
    for (uint32_t i = 0; logp && i < rows; i++) {
        double s = 0;
        for (uint32_t k = 0; k < dim; k++) {
            double z =
                ((double)actions[(size_t)i * dim + k] - mu[(size_t)i * dim + k]) / exp(log_std[k]);
            s += 0.5 * z * z;
        }
        logp[i] = (float)(-s - norm);
    }
    return ent;
}

void
tars_gaussian_sample(const float *mu, const float *log_std, uint32_t rows, uint32_t dim,
                     tars_rng *rng, float *actions)
{
    for (uint32_t i = 0; i < rows; i++)
        for (uint32_t k = 0; k < dim; k++)
            actions[(size_t)i * dim + k] =
                (float)(mu[(size_t)i * dim + k] + exp(log_std[k]) * tars_rng_normal(rng));
}

void
tars_gaussian_backward(const float *mu, const float *log_std, uint32_t rows, uint32_t dim,
                       const float *actions, const float *g_logp, double g_ent, float *dmu,
                       float *dlog_std)
{
    for (uint32_t k = 0; k < dim; k++) {
        double var = exp(2.0 * log_std[k]), dls = g_ent;
        for (uint32_t i = 0; i < rows; i++) {
            size_t at = (size_t)i * dim + k;
            double diff = (double)actions[at] - mu[at];
            /* d logp / d mu = (a - mu) / var;  d logp / d log_std = (a - mu)^2 / var - 1 */
            dmu[at] = (float)(g_logp[i] * diff / var);
            dls += g_logp[i] * (diff * diff / var - 1);
        }
        dlog_std[k] += (float)dls;
    }
}
