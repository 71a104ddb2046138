/*
 * parzen — the Parzen estimators of TPE, with Optuna 3.x's bandwidths.
 *
 * An estimator is a mixture over n_obs observations plus one prior kernel (the last), with
 * Optuna's weights (default_weights: flat for the 25 newest, a ramp from 1/n below them; the
 * prior's is prior_weight), in every dimension of one group: one dimension (univariate TPE) or
 * all of them (multivariate TPE, where a component is shared by the dimensions). Numerical
 * dimensions are truncated normals on [low, high] in the internal coordinate (space.h); an
 * integer one scores the mass of its cell; an ENUM one is a categorical per kernel.
 */
#ifndef TARS_TUNER_PARZEN_H
#define TARS_TUNER_PARZEN_H

#include <stdint.h>
#include <tars/plugin.h>
#include "space.h"

struct parzen_opts {
    double prior_weight;
    int magic_clip;   /* consider_magic_clip */
    int endpoints;    /* consider_endpoints */
    int multivariate; /* one bandwidth rule (Scott's) for every dimension */
    int no_scale;     /* Optuna 3.1's kernel density, which leaves out each kernel's 1/sigma */
};

struct parzen {
    uint32_t n_dims; /* in this group */
    const struct dim *const *dims;
    uint32_t n_k;         /* kernels: observations + the prior */
    double *log_w;        /* n_k */
    double *w_cum;        /* n_k: cumulative weights, to choose a component */
    double **mu, **sigma; /* per dimension, n_k each (numerical) */
    double **lnorm;       /* per dimension, n_k each: log(sigma) + log of the truncated mass */
    /* One numerical dimension (univariate TPE's hot case): the observation kernels sorted by
     * centre, each with log w - log sqrt(2 pi) - lnorm and 1/sigma, the largest sigma to the
     * left of each (prefix) and to the right (suffix), the largest such term; the prior apart. */
    uint32_t n_s;
    double *s_mu, *s_c, *s_inv, *s_lmax, *s_rmax;
    double c_max, prior_c, prior_inv, prior_mu;
    double **cat; /* per dimension, n_k * n_choices (ENUM) */
};

/*
 * Builds the estimator of observations obs (n_obs rows, row-major, n_dims internal coordinates,
 * oldest first) over dims. Returns TARS_ENOMEM on failure, with p empty.
 */
int parzen_build(struct parzen *p, const struct dim *const *dims, uint32_t n_dims,
                 const double *obs, uint32_t n_obs, const struct parzen_opts *o);
void parzen_free(struct parzen *p);
/* Draws one point (n_dims internal coordinates, integers and ENUMs already rounded). */
void parzen_sample(const struct parzen *p, tars_rng *rng, double *x);
/* The log density (log mass for integers and ENUMs) of point x. */
double parzen_log_pdf(const struct parzen *p, const double *x);

/* Optuna's default_weights(n) into w (n values). */
void parzen_default_weights(uint32_t n, double *w);
/* The standard normal's inverse CDF, for 0 < u < 1. */
double parzen_ndtri(double u);
/* log(Phi(b) - Phi(a)) for a < b, accurate in the tails. */
double parzen_log_mass(double a, double b);

#endif
