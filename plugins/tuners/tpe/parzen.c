/* parzen — TPE's Parzen estimators (see parzen.h). */
#include "parzen.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SQRT1_2      0.70710678118654752440
#define LOG_SQRT_2PI 0.91893853320467274178

void
parzen_default_weights(uint32_t n, double *w)
{
    if (n < 25) {
        for (uint32_t i = 0; i < n; i++)
            w[i] = 1;
        return;
    }
    /* np.linspace(1/n, 1, n - 25) then 25 ones. */
    uint32_t m = n - 25;
    for (uint32_t i = 0; i < m; i++)
        w[i] = m == 1 ? 1.0 / n : 1.0 / n + (1.0 - 1.0 / n) * i / (m - 1);
    for (uint32_t i = m; i < n; i++)
        w[i] = 1;
}

/* log(1 - Phi(a)), the upper tail, for any a. */
static double
log_upper(double a)
{
    if (a < 30)
        return log(0.5 * erfc(a * SQRT1_2));
    /* Mills' ratio: Q(a) ~ phi(a) / a * (1 - 1/a^2 + 3/a^4). */
    double a2 = a * a;
    return -0.5 * a2 - log(a) - LOG_SQRT_2PI + log1p(-1 / a2 + 3 / (a2 * a2));
}

double
parzen_log_mass(double a, double b)
{
    if (a >= 0) { /* Q(a) - Q(b), both in the upper tail */
        double la = log_upper(a), lb = log_upper(b);
        return la + log1p(-exp(lb - la));
    }
    if (b <= 0) /* Phi(b) - Phi(a) = Q(-b) - Q(-a) */
        return parzen_log_mass(-b, -a);
    /* 1 - Q(-a) - Q(b): straddles 0, so no cancellation; beyond 9 sigmas each tail is below
     * 1e-19, nothing at double precision (the common case: narrow kernels of a big study). */
    double qa = a < -9 ? 0 : 0.5 * erfc(-a * SQRT1_2), qb = b > 9 ? 0 : 0.5 * erfc(b * SQRT1_2);
    return log1p(-qa - qb);
}

/*
 * Inverse of Phi: a rational first guess (Acklam's coefficients) refined by one Halley step
 * on erfc, which takes it to double precision.
 */
double
parzen_ndtri(double u)
{
    static const double a[] = {-3.969683028665376e+01, 2.209460984245205e+02,
                               -2.759285104469687e+02, 1.383577518672690e+02,
                               -3.066479806614716e+01, 2.506628277459239e+00};
    static const double b[] = {-5.447609879822406e+01, 1.615858368580409e+02,
                               -1.556989798598866e+02, 6.680131188771972e+01,
                               -1.328068155288572e+01};
    static const double c[] = {-7.784894002430293e-03, -3.223964580411365e-01,
                               -2.400758277161838e+00, -2.549732539343734e+00,
                               4.374664141464968e+00,  2.938163982698783e+00};
    static const double d[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                               3.754408661907416e+00};
    double x;
    if (u < 0.02425) {
        double q = sqrt(-2 * log(u));
        x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
            ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
    } else if (u > 1 - 0.02425) {
        double q = sqrt(-2 * log1p(-u));
        x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
            ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
    } else {
        double q = u - 0.5, r = q * q;
        x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
            (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
    }
    double e = 0.5 * erfc(-x * SQRT1_2) - u;
    double g = e * sqrt(2 * M_PI) * exp(0.5 * x * x);
    return x - g / (1 + 0.5 * x * g);
}

void
parzen_free(struct parzen *p)
{
    for (uint32_t j = 0; j < p->n_dims; j++) {
        if (p->mu)
            free(p->mu[j]);
        if (p->sigma)
            free(p->sigma[j]);
        if (p->cat)
            free(p->cat[j]);
        if (p->lnorm)
            free(p->lnorm[j]);
    }
    free(p->lnorm);
    free(p->s_mu);
    free(p->mu);
    free(p->sigma);
    free(p->cat);
    free(p->log_w);
    free(p->w_cum);
    memset(p, 0, sizeof *p);
}

/* np.argsort with ties in index order (qsort need not keep it): a merge sort, tmp of n. */
static void
argsort(const double *v, uint32_t n, uint32_t *idx, uint32_t *tmp)
{
    for (uint32_t i = 0; i < n; i++)
        idx[i] = i;
    for (uint32_t w = 1; w < n; w *= 2) {
        for (uint32_t lo = 0; lo < n; lo += 2 * w) {
            uint32_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
            uint32_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi)
                tmp[k++] = v[idx[j]] < v[idx[i]] ? idx[j++] : idx[i++];
            while (i < mid)
                tmp[k++] = idx[i++];
            while (j < hi)
                tmp[k++] = idx[j++];
        }
        memcpy(idx, tmp, n * sizeof *idx);
    }
}

/* Optuna's univariate bandwidths: the larger gap to a neighbour, endpoints included. */
static int
neighbour_sigmas(const double *mus, uint32_t n, double low, double high, int endpoints, double *sig)
{
    uint32_t *idx = malloc(2 * n * sizeof *idx);
    double *s = malloc((n + 2) * sizeof *s);
    if (!idx || !s) {
        free(idx);
        free(s);
        return TARS_ENOMEM;
    }
    argsort(mus, n, idx, idx + n);
    s[0] = low;
    for (uint32_t i = 0; i < n; i++)
        s[i + 1] = mus[idx[i]];
    s[n + 1] = high;
    for (uint32_t i = 0; i < n; i++) {
        double left = s[i + 1] - s[i], right = s[i + 2] - s[i + 1];
        sig[idx[i]] = left > right ? left : right;
    }
    if (!endpoints && n + 2 >= 4) {
        sig[idx[0]] = s[2] - s[1];
        sig[idx[n - 1]] = s[n] - s[n - 1];
    }
    free(idx);
    free(s);
    return 0;
}

static int
numerical(struct parzen *p, uint32_t j, const struct dim *d, const double *obs, uint32_t n_obs,
          uint32_t stride, uint32_t col, const struct parzen_opts *o, double sigma0)
{
    uint32_t n = p->n_k;
    double *mu = malloc(n * sizeof *mu), *sig = malloc(n * sizeof *sig);
    p->mu[j] = mu;
    p->sigma[j] = sig;
    if (!mu || !sig)
        return TARS_ENOMEM;
    double range = d->high - d->low;
    for (uint32_t i = 0; i < n_obs; i++)
        mu[i] = obs[(size_t)i * stride + col];
    mu[n_obs] = 0.5 * (d->low + d->high);
    if (o->multivariate) {
        for (uint32_t i = 0; i < n; i++)
            sig[i] = sigma0 * range;
    } else if (neighbour_sigmas(mu, n, d->low, d->high, o->endpoints, sig)) {
        return TARS_ENOMEM;
    }
    double maxs = range, mins = o->magic_clip ? range / fmin(100.0, 1.0 + n) : 1e-12;
    for (uint32_t i = 0; i < n; i++)
        sig[i] = sig[i] < mins ? mins : sig[i] > maxs ? maxs : sig[i];
    sig[n_obs] = range; /* the prior's */
    /* What every density of a kernel subtracts, computed once: its scale and truncation. */
    double *ln = malloc(n * sizeof *ln);
    p->lnorm[j] = ln;
    if (!ln)
        return TARS_ENOMEM;
    int scale = !o->no_scale && d->step == 0; /* a cell's mass has no scale */
    for (uint32_t i = 0; i < n; i++)
        ln[i] = (scale ? log(sig[i]) : 0) +
                parzen_log_mass((d->low - mu[i]) / sig[i], (d->high - mu[i]) / sig[i]);
    return 0;
}

static int
categorical(struct parzen *p, uint32_t j, const struct dim *d, const double *obs, uint32_t n_obs,
            uint32_t stride, uint32_t col, const struct parzen_opts *o)
{
    uint32_t n = p->n_k, c = d->n_choices;
    double *w = malloc((size_t)n * c * sizeof *w);
    p->cat[j] = w;
    if (!w)
        return TARS_ENOMEM;
    double base = o->prior_weight / n;
    for (uint32_t i = 0; i < n; i++) {
        double *row = w + (size_t)i * c;
        for (uint32_t k = 0; k < c; k++)
            row[k] = base;
        if (i < n_obs) {
            double v = obs[(size_t)i * stride + col];
            uint32_t k = v < 0 ? 0 : v >= c ? c - 1 : (uint32_t)v;
            row[k] += 1;
        }
        double sum = 0;
        for (uint32_t k = 0; k < c; k++)
            sum += row[k];
        for (uint32_t k = 0; k < c; k++)
            row[k] /= sum;
    }
    return 0;
}

/* The sorted arrays of the one-numerical-dimension case (parzen.h); TARS_ENOMEM on failure. */
static int
sort_kernels(struct parzen *p)
{
    uint32_t n = p->n_k - 1; /* the prior, last, stays apart */
    const double *mu = p->mu[0], *sig = p->sigma[0], *ln = p->lnorm[0];
    p->n_s = n;
    p->s_mu = malloc((5 * (size_t)n + 1) * sizeof *p->s_mu);
    uint32_t *idx = malloc((2 * (size_t)n + 1) * sizeof *idx);
    if (!p->s_mu || !idx) {
        free(idx);
        return TARS_ENOMEM;
    }
    p->s_c = p->s_mu + n;
    p->s_inv = p->s_c + n;
    p->s_lmax = p->s_inv + n;
    p->s_rmax = p->s_lmax + n;
    argsort(mu, n, idx, idx + n);
    p->c_max = -INFINITY;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t k = idx[i];
        p->s_mu[i] = mu[k];
        p->s_c[i] = p->log_w[k] - LOG_SQRT_2PI - ln[k];
        p->s_inv[i] = 1 / sig[k];
        p->c_max = p->s_c[i] > p->c_max ? p->s_c[i] : p->c_max;
        p->s_lmax[i] = i && p->s_lmax[i - 1] > sig[k] ? p->s_lmax[i - 1] : sig[k];
    }
    for (uint32_t i = n; i-- > 0;)
        p->s_rmax[i] = i + 1 < n && p->s_rmax[i + 1] > sig[idx[i]] ? p->s_rmax[i + 1] : sig[idx[i]];
    p->prior_mu = mu[n];
    p->prior_c = p->log_w[n] - LOG_SQRT_2PI - ln[n];
    p->prior_inv = 1 / sig[n];
    free(idx);
    return 0;
}

int
parzen_build(struct parzen *p, const struct dim *const *dims, uint32_t n_dims, const double *obs,
             uint32_t n_obs, const struct parzen_opts *o)
{
    memset(p, 0, sizeof *p);
    p->n_dims = n_dims;
    p->dims = dims;
    p->n_k = n_obs + 1;
    p->log_w = malloc(p->n_k * sizeof *p->log_w);
    p->w_cum = malloc(p->n_k * sizeof *p->w_cum);
    p->mu = calloc(n_dims, sizeof *p->mu);
    p->sigma = calloc(n_dims, sizeof *p->sigma);
    p->cat = calloc(n_dims, sizeof *p->cat);
    p->lnorm = calloc(n_dims, sizeof *p->lnorm);
    if (!p->log_w || !p->w_cum || !p->mu || !p->sigma || !p->cat || !p->lnorm)
        goto fail;
    parzen_default_weights(n_obs, p->w_cum);
    p->w_cum[n_obs] = o->prior_weight;
    double sum = 0;
    for (uint32_t i = 0; i < p->n_k; i++)
        sum += p->w_cum[i];
    double acc = 0;
    for (uint32_t i = 0; i < p->n_k; i++) {
        p->log_w[i] = log(p->w_cum[i] / sum);
        acc += p->w_cum[i] / sum;
        p->w_cum[i] = acc;
    }
    /* Scott's rule, as Optuna's multivariate TPE (SIGMA0_MAGNITUDE 0.2). */
    double sigma0 = 0.2 * pow(n_obs > 1 ? n_obs : 1, -1.0 / (n_dims + 4));
    for (uint32_t j = 0; j < n_dims; j++) {
        int rc = dims[j]->n_choices ? categorical(p, j, dims[j], obs, n_obs, n_dims, j, o)
                                    : numerical(p, j, dims[j], obs, n_obs, n_dims, j, o, sigma0);
        if (rc)
            goto fail;
    }
    if (n_dims == 1 && !dims[0]->n_choices && dims[0]->step == 0 && sort_kernels(p))
        goto fail;
    return 0;
fail:
    parzen_free(p);
    return TARS_ENOMEM;
}

static uint32_t
pick(const double *cum, uint32_t n, double u)
{
    /* The first component whose cumulative weight reaches u (as numpy's choice). */
    uint32_t lo = 0, hi = n - 1;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        if (cum[mid] < u)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

void
parzen_sample(const struct parzen *p, tars_rng *rng, double *x)
{
    uint32_t k = pick(p->w_cum, p->n_k, tars_rng_uniform(rng));
    for (uint32_t j = 0; j < p->n_dims; j++) {
        const struct dim *d = p->dims[j];
        if (d->n_choices) {
            const double *row = p->cat[j] + (size_t)k * d->n_choices;
            double u = tars_rng_uniform(rng), acc = 0;
            uint32_t c = 0;
            for (; c + 1 < d->n_choices; c++) {
                acc += row[c];
                if (acc >= u)
                    break;
            }
            x[j] = c;
            continue;
        }
        double mu = p->mu[j][k], s = p->sigma[j][k];
        double a = (d->low - mu) / s, b = (d->high - mu) / s;
        double pa = 0.5 * erfc(-a * SQRT1_2), pb = 0.5 * erfc(-b * SQRT1_2);
        double u = pa + tars_rng_uniform(rng) * (pb - pa);
        double z = u <= 0 ? a : u >= 1 ? b : parzen_ndtri(u);
        z = z < a ? a : z > b ? b : z;
        double v = mu + s * z;
        if (d->step > 0) /* an integer: round to its cell, inside the value's bounds */
            v = fmin(fmax(round(v), d->vmin), d->vmax);
        else if (d->log && d->type == TARS_PARAM_INT)
            v = log(fmin(fmax(round(exp(v)), d->vmin), d->vmax));
        x[j] = v;
    }
}

/*
 * exp(t) for -40 <= t <= 0, to 2 ulp: t = n ln 2 + r with |r| <= ln 2 / 2, a degree-12 Taylor
 * polynomial of e^r (its tail is below 1e-17 there), scaled by 2^n through the exponent bits.
 * The logsumexp of a proposal calls it for every near kernel: libm's exp, with its checks for
 * every range, was a third of a large study's proposal time.
 */
static inline double
exp_small(double t)
{
    static const double ln2_hi = 6.93147180369123816490e-01, ln2_lo = 1.90821492927058770002e-10;
    double n = -(double)(int64_t)(0.5 - t * 1.44269504088896338700); /* round, t <= 0 */
    double r = (t - n * ln2_hi) - n * ln2_lo;
    /* Horner's rule, written out so that it compiles to a straight line of multiply-adds. */
    double e = 1.0 / 479001600;
    e = e * r + 1.0 / 39916800;
    e = e * r + 1.0 / 3628800;
    e = e * r + 1.0 / 362880;
    e = e * r + 1.0 / 40320;
    e = e * r + 1.0 / 5040;
    e = e * r + 1.0 / 720;
    e = e * r + 1.0 / 120;
    e = e * r + 1.0 / 24;
    e = e * r + 1.0 / 6;
    e = e * r + 0.5;
    e = e * r + 1.0;
    e = e * r + 1.0;
    uint64_t bits;
    memcpy(&bits, &e, sizeof bits);
    bits += (uint64_t)(int64_t)n << 52; /* n >= -58: stays a normal number */
    memcpy(&e, &bits, sizeof e);
    return e;
}

/*
 * The log terms of the kernels that can matter at x, into comp (*m of them), and the largest.
 * From x's place among the sorted centres it walks outwards, left and right, and stops in a
 * direction when even the best-placed kernel left there (the largest term, the largest sigma,
 * the nearest centre) would fall e^-40 below the largest term seen: those kernels add less
 * than 1e-17 of the sum each. The prior is always counted.
 */
static double
near_kernels(const struct parzen *p, double x, double *comp, uint32_t *m)
{
    double z = (x - p->prior_mu) * p->prior_inv;
    double best = p->prior_c - 0.5 * z * z;
    uint32_t n = 0;
    comp[n++] = best;
    uint32_t lo = 0, hi = p->n_s; /* the first centre >= x */
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        if (p->s_mu[mid] < x)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (uint32_t i = lo; i < p->n_s; i++) {
        double d = (p->s_mu[i] - x) / p->s_rmax[i];
        if (p->c_max - 0.5 * d * d < best - 40)
            break;
        double zz = (x - p->s_mu[i]) * p->s_inv[i], l = p->s_c[i] - 0.5 * zz * zz;
        comp[n++] = l;
        best = l > best ? l : best;
    }
    for (uint32_t i = lo; i-- > 0;) {
        double d = (x - p->s_mu[i]) / p->s_lmax[i];
        if (p->c_max - 0.5 * d * d < best - 40)
            break;
        double zz = (x - p->s_mu[i]) * p->s_inv[i], l = p->s_c[i] - 0.5 * zz * zz;
        comp[n++] = l;
        best = l > best ? l : best;
    }
    *m = n;
    return best;
}

/* The log density of kernel k of dimension j at x (mass of the cell for integers). */
static double
kernel_log_pdf(const struct parzen *p, uint32_t j, uint32_t k, double x)
{
    const struct dim *d = p->dims[j];
    if (d->n_choices)
        return log(p->cat[j][(size_t)k * d->n_choices + (uint32_t)x]);
    double mu = p->mu[j][k], s = p->sigma[j][k];
    if (d->step > 0) {
        double lo = fmax(x - d->step / 2, d->low), hi = fmin(x + d->step / 2, d->high);
        return parzen_log_mass((lo - mu) / s, (hi - mu) / s) - p->lnorm[j][k];
    }
    double z = (x - mu) / s;
    return -0.5 * z * z - LOG_SQRT_2PI - p->lnorm[j][k];
}

double
parzen_log_pdf(const struct parzen *p, const double *x)
{
    /* Two passes: the components' logs (no exp), then the sum of those within e^-40 of the
     * largest, which is the whole sum to double precision and skips most kernels of a
     * large study, whose narrow kernels lie far from x. */
    double stack[256];
    double *comp = p->n_k <= 256 ? stack : malloc(p->n_k * sizeof *comp);
    if (!comp)
        return -INFINITY;
    double best = -INFINITY;
    if (p->s_mu) {
        /* Univariate TPE's case, the hot loop of a proposal: only the kernels near x. */
        double sum = 0;
        uint32_t m = 0;
        best = near_kernels(p, x[0], comp, &m);
        double cut = best - 40;
        for (uint32_t k = 0; k < m; k++)
            if (comp[k] > cut)
                sum += exp_small(comp[k] - best);
        if (comp != stack)
            free(comp);
        return best + log(sum);
    } else {
        for (uint32_t k = 0; k < p->n_k; k++) {
            double l = p->log_w[k];
            for (uint32_t j = 0; j < p->n_dims; j++)
                l += kernel_log_pdf(p, j, k, x[j]);
            comp[k] = l;
            best = l > best ? l : best;
        }
    }
    double sum = 0, cut = best - 40;
    for (uint32_t k = 0; k < p->n_k; k++)
        if (comp[k] > cut)
            sum += exp_small(comp[k] - best);
    if (comp != stack)
        free(comp);
    return best + log(sum);
}
