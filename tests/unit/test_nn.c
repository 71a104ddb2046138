/*
 * The SDK's neural-network toolkit (sdk/src/mlp.c, nn_ops.c, optim.c): every gradient against
 * central finite differences, and the initialisers and optimisers against their definitions.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "tap.h"
#include "tars/error.h"
#include "tars/nn.h"

static tars_rng rng;

/* Relative error with a floor, for float gradients checked in double. */
static double
rel(double a, double b)
{
    return fabs(a - b) / fmax(1e-2, fmax(fabs(a), fabs(b)));
}

/* L = sum(c .* mlp(x)), so dL/dy = c. */
static double
mlp_loss(tars_mlp *m, const float *x, uint32_t batch, const float *c)
{
    const float *y = tars_mlp_forward(m, x, batch);
    double l = 0;
    for (size_t i = 0; i < (size_t)batch * tars_mlp_outputs(m); i++)
        l += (double)c[i] * y[i];
    return l;
}

static void
check_mlp(tars_activation hidden, tars_activation output, const char *what)
{
    const uint32_t sizes[] = {3, 6, 5, 2};
    const uint32_t batch = 4;
    tars_mlp *m;
    ok(tars_mlp_new(sizes, 4, hidden, output, &m) == 0, "%s: network created", what);
    tars_mlp_init_default(m, &rng);
    float x[4 * 3], c[4 * 2], dx[4 * 3];
    tars_init_uniform(x, 12, -1, 1, &rng);
    tars_init_uniform(c, 8, -1, 1, &rng);
    tars_mlp_zero_grad(m);
    mlp_loss(m, x, batch, c);
    ok(tars_mlp_backward(m, c, dx) == 0, "%s: backward", what);
    float *p = tars_mlp_params(m), *g = tars_mlp_grads(m);
    size_t n = tars_mlp_n_params(m);
    float *analytic = malloc(n * sizeof *analytic);
    memcpy(analytic, g, n * sizeof *analytic);
    double worst = 0;
    const double h = 1e-3;
    for (size_t i = 0; i < n; i++) {
        float keep = p[i];
        p[i] = (float)(keep + h);
        double up = mlp_loss(m, x, batch, c);
        p[i] = (float)(keep - h);
        double down = mlp_loss(m, x, batch, c);
        p[i] = keep;
        worst = fmax(worst, rel(analytic[i], (up - down) / (2 * h)));
    }
    ok(worst < 2e-2, "%s: %zu parameter gradients match finite differences (worst %.2g)", what, n,
       worst);
    worst = 0;
    for (size_t i = 0; i < 12; i++) {
        float keep = x[i];
        x[i] = (float)(keep + h);
        double up = mlp_loss(m, x, batch, c);
        x[i] = (float)(keep - h);
        double down = mlp_loss(m, x, batch, c);
        x[i] = keep;
        worst = fmax(worst, rel(dx[i], (up - down) / (2 * h)));
    }
    ok(worst < 2e-2, "%s: input gradients match finite differences (worst %.2g)", what, worst);

    /* Input gradients alone match, and leave the parameter gradients as they were. */
    float dx2[4 * 3];
    float g0 = g[0];
    mlp_loss(m, x, batch, c);
    ok(tars_mlp_backward_input(m, c, dx2) == 0 && memcmp(dx, dx2, sizeof dx) == 0 && g[0] == g0,
       "%s: backward_input gives the same dx without touching the gradients", what);

    /* Gradients accumulate until zeroed. */
    mlp_loss(m, x, batch, c);
    tars_mlp_backward(m, c, NULL);
    ok(fabs(g[0] - 2 * analytic[0]) <= 1e-5 * fmax(1, fabs(analytic[0])),
       "%s: a second backward adds to the gradients", what);
    free(analytic);
    tars_mlp_free(m);
}

static void
check_losses(void)
{
    float pred[5] = {0.3f, -2.0f, 1.5f, 0.0f, 4.0f}, target[5] = {0.1f, 0.5f, 1.4f, -0.2f, 0.0f};
    float g[5];
    double mse = tars_mse(pred, target, 5, g);
    is_near(mse, (0.04 + 6.25 + 0.01 + 0.04 + 16) / 5, 1e-6, "MSE value");
    is_near(g[1], 2 * -2.5 / 5, 1e-6, "MSE gradient");
    double hub = tars_huber(pred, target, 5, 1.0, g);
    is_near(hub, (0.02 + 2.0 + 0.005 + 0.02 + 3.5) / 5, 1e-6,
            "Huber value (quadratic and linear parts)");
    is_near(g[0], 0.2 / 5, 1e-6, "Huber gradient inside delta");
    is_near(g[4], 1.0 / 5, 1e-6, "Huber gradient outside delta");
    double worst = 0;
    for (int i = 0; i < 5; i++) {
        float keep = pred[i];
        pred[i] = keep + 1e-3f;
        double up = tars_huber(pred, target, 5, 1.0, NULL);
        pred[i] = keep - 1e-3f;
        double down = tars_huber(pred, target, 5, 1.0, NULL);
        pred[i] = keep;
        tars_huber(pred, target, 5, 1.0, g);
        worst = fmax(worst, rel(g[i], (up - down) / 2e-3));
    }
    ok(worst < 1e-2, "Huber gradient matches finite differences (worst %.2g)", worst);
}

static void
check_categorical(void)
{
    const uint32_t rows = 3, cols = 4;
    float z[12], dz[12], logp[3], ent[3];
    int32_t a[3] = {0, 3, 2};
    float gl[3] = {0.7f, -1.2f, 0.4f}, ge[3] = {0.3f, 0.5f, -0.8f};
    tars_init_uniform(z, 12, -2, 2, &rng);
    tars_categorical_backward(z, rows, cols, a, gl, ge, dz);
    double worst = 0;
    for (int i = 0; i < 12; i++) {
        double l[2];
        for (int s = 0; s < 2; s++) {
            float keep = z[i];
            z[i] = keep + (s ? -1e-3f : 1e-3f);
            tars_categorical(z, rows, cols, a, logp, ent);
            z[i] = keep;
            l[s] = 0;
            for (int r = 0; r < 3; r++)
                l[s] += gl[r] * logp[r] + ge[r] * ent[r];
        }
        worst = fmax(worst, rel(dz[i], (l[0] - l[1]) / 2e-3));
    }
    ok(worst < 1e-2, "categorical log-prob and entropy gradients (worst %.2g)", worst);

    float uniform[4] = {0, 0, 0, 0};
    tars_categorical(uniform, 1, 4, a, logp, ent);
    is_near(ent[0], log(4), 1e-6, "entropy of a uniform categorical is log n");
    is_near(logp[0], -log(4), 1e-6, "and each log-prob is -log n");
    float sm[4], lsm[4];
    tars_softmax(z, 1, 4, sm);
    tars_log_softmax(z, 1, 4, lsm);
    is_near(sm[0] + sm[1] + sm[2] + sm[3], 1, 1e-6, "softmax sums to one");
    is_near(lsm[2], log(sm[2]), 1e-6, "log-softmax is log of softmax");

    float skew[3] = {0.0f, 1.0f, -1.0f};
    int32_t pick;
    tars_categorical_sample(skew, 1, 3, 0, &rng, &pick);
    is_int(pick, 1, "without exploration the argmax is taken");
    int counts[3] = {0};
    for (int i = 0; i < 30000; i++) {
        tars_categorical_sample(skew, 1, 3, 1, &rng, &pick);
        counts[pick]++;
    }
    tars_softmax(skew, 1, 3, sm);
    is_near(counts[1] / 30000.0, sm[1], 0.015, "sampling follows the probabilities");
}

static void
check_gaussian(void)
{
    const uint32_t rows = 3, dim = 2;
    float mu[6], ls[2] = {-0.3f, 0.4f}, act[6], gl[3] = {0.9f, -0.4f, 0.6f}, dmu[6];
    float dls[2] = {0, 0}, logp[3];
    const double ge = 0.25;
    tars_init_uniform(mu, 6, -1, 1, &rng);
    tars_init_uniform(act, 6, -2, 2, &rng);
    tars_gaussian_backward(mu, ls, rows, dim, act, gl, ge, dmu, dls);
    double worst = 0;
    for (int i = 0; i < 8; i++) {
        float *v = i < 6 ? &mu[i] : &ls[i - 6];
        double l[2];
        for (int s = 0; s < 2; s++) {
            float keep = *v;
            *v = keep + (s ? -1e-3f : 1e-3f);
            double h = tars_gaussian(mu, ls, rows, dim, act, logp);
            *v = keep;
            l[s] = ge * h;
            for (int r = 0; r < 3; r++)
                l[s] += gl[r] * logp[r];
        }
        worst = fmax(worst, rel(i < 6 ? dmu[i] : dls[i - 6], (l[0] - l[1]) / 2e-3));
    }
    ok(worst < 1e-2, "Gaussian gradients in mean and log std (worst %.2g)", worst);
    float zero[1] = {0}, x[1] = {0};
    double h = tars_gaussian(x, zero, 1, 1, x, logp);
    is_near(logp[0], -0.5 * log(2 * M_PI), 1e-6, "standard normal density at its mean");
    is_near(h, 0.5 * log(2 * M_PI * M_E), 1e-6, "standard normal entropy");
}

static void
check_init(void)
{
    float w[6 * 10];
    const uint32_t shapes[2][2] = {{6, 10}, {10, 6}};
    for (int s = 0; s < 2; s++) {
        uint32_t rows = shapes[s][0], cols = shapes[s][1];
        tars_init_orthogonal(w, rows, cols, 2.0, &rng);
        /* The fewer of rows/columns are orthogonal with norm = gain. */
        int by_rows = rows <= cols;
        uint32_t k = by_rows ? rows : cols, len = by_rows ? cols : rows;
        double worst = 0;
        for (uint32_t i = 0; i < k; i++)
            for (uint32_t j = 0; j < k; j++) {
                double dot = 0;
                for (uint32_t t = 0; t < len; t++)
                    dot += by_rows ? (double)w[i * cols + t] * w[j * cols + t]
                                   : (double)w[t * cols + i] * w[t * cols + j];
                worst = fmax(worst, fabs(dot - (i == j ? 4.0 : 0.0)));
            }
        ok(worst < 1e-5, "orthogonal %ux%u: W W^T or W^T W = gain^2 I (error %.2g)", rows, cols,
           worst);
    }
    const uint32_t sizes[] = {4, 64, 2};
    tars_mlp *m;
    tars_mlp_new(sizes, 3, TARS_ACT_TANH, TARS_ACT_NONE, &m);
    tars_mlp_init_default(m, &rng);
    float *wt, *b;
    tars_mlp_layer(m, 0, &wt, &b, NULL, NULL);
    double lo = 1, hi = -1;
    for (int i = 0; i < 256; i++) {
        lo = fmin(lo, wt[i]);
        hi = fmax(hi, wt[i]);
    }
    ok(lo >= -0.5 && hi <= 0.5 && hi - lo > 0.8, "default init is uniform in +-1/sqrt(in)");
    tars_mlp_init_orthogonal(m, sqrt(2), 0.01, &rng);
    tars_mlp_layer(m, 1, &wt, &b, NULL, NULL);
    ok(tars_l2_norm(wt, 64) < 0.02 && b[0] == 0, "orthogonal init: output gain and zero bias");
    is_int(tars_mlp_macs(m), 4 * 64 + 64 * 2, "multiply-adds per sample");

    /* save and load */
    tars_blob_writer *bw;
    const void *data;
    size_t len;
    char err[128];
    tars_blob_writer_new("t", &bw);
    ok(tars_mlp_save(m, bw) == 0, "network saved");
    tars_blob_writer_finish(bw, &data, &len);
    tars_mlp *copy;
    tars_mlp_new(sizes, 3, TARS_ACT_TANH, TARS_ACT_NONE, &copy);
    tars_blob_reader *br;
    tars_blob_reader_new(data, len, "t", &br, err, sizeof err);
    ok(tars_mlp_load(copy, br) == 0 &&
           memcmp(tars_mlp_params(copy), tars_mlp_params(m), tars_mlp_n_params(m) * 4) == 0,
       "and loaded bit for bit");
    tars_blob_reader_free(br);
    const uint32_t other[] = {4, 32, 2};
    tars_mlp *wrong;
    tars_mlp_new(other, 3, TARS_ACT_TANH, TARS_ACT_NONE, &wrong);
    tars_blob_reader_new(data, len, "t", &br, err, sizeof err);
    is_int(tars_mlp_load(wrong, br), TARS_EFORMAT, "a network of another shape refuses the load");
    tars_blob_reader_free(br);
    tars_blob_writer_free(bw);
    tars_mlp_free(wrong);
    tars_mlp_free(copy);
    tars_mlp_free(m);
    uint32_t bad[] = {4, 0, 2};
    is_int(tars_mlp_new(bad, 3, TARS_ACT_TANH, TARS_ACT_NONE, &m), TARS_EINVAL,
           "zero width refused");
}

static void
check_optim(void)
{
    /* One Adam step by hand: m = 0.1 g, v = 0.001 g^2, corrected: m^ = g, v^ = g^2. */
    float p[2] = {1.0f, -1.0f}, g[2] = {0.5f, -2.0f};
    tars_optim *adam, *rms;
    ok(tars_adam_new(2, 0.9, 0.999, 1e-8, &adam) == 0, "Adam");
    tars_optim_step(adam, p, g, 0.1);
    is_near(p[0], 1.0 - 0.1 * 0.5 / (0.5 + 1e-8), 1e-6, "first Adam step moves by lr");
    is_near(p[1], -1.0 + 0.1, 1e-6, "in the gradient's sign");
    /* RMSprop by hand: v = 0.01 g^2, step = lr g / (0.1 |g| + eps) = 10 lr sign(g). */
    float q[1] = {0.0f}, h[1] = {3.0f};
    ok(tars_rmsprop_new(1, 0.99, 1e-5, &rms) == 0, "RMSprop");
    tars_optim_step(rms, q, h, 0.01);
    is_near(q[0], -0.01 * 3.0 / (sqrt(0.01 * 9) + 1e-5), 1e-6, "first RMSprop step");

    /* Adam minimises a quadratic. */
    float gx[3];
    tars_optim_free(adam);
    tars_adam_new(3, 0.9, 0.999, 1e-8, &adam);
    float y[3] = {3, -2, 1};
    for (int it = 0; it < 2000; it++) {
        for (int i = 0; i < 3; i++)
            gx[i] = 2 * (y[i] - (float)i);
        tars_optim_step(adam, y, gx, 0.05);
    }
    ok(fabs(y[0]) < 0.01 && fabs(y[1] - 1) < 0.01 && fabs(y[2] - 2) < 0.01,
       "Adam finds the minimum of a quadratic");

    /* save/load carries the moments and the step count. */
    tars_blob_writer *w;
    const void *data;
    size_t len;
    char err[64];
    tars_blob_writer_new("o", &w);
    tars_optim_save(adam, w);
    tars_blob_writer_finish(w, &data, &len);
    tars_optim *again;
    tars_adam_new(3, 0.9, 0.999, 1e-8, &again);
    tars_blob_reader *r;
    tars_blob_reader_new(data, len, "o", &r, err, sizeof err);
    ok(tars_optim_load(again, r) == 0, "optimiser state loads");
    float y2[3];
    memcpy(y2, y, sizeof y);
    for (int i = 0; i < 3; i++)
        gx[i] = 0.3f;
    tars_optim_step(adam, y, gx, 0.05);
    tars_optim_step(again, y2, gx, 0.05);
    ok(memcmp(y, y2, sizeof y) == 0, "and steps exactly as the original");
    tars_blob_reader_free(r);
    tars_blob_reader_new(data, len, "o", &r, err, sizeof err);
    is_int(tars_optim_load(rms, r), TARS_EFORMAT, "an Adam state does not load into RMSprop");
    tars_blob_reader_free(r);
    tars_blob_writer_free(w);
    tars_optim_free(adam);
    tars_optim_free(again);
    tars_optim_free(rms);

    float v[4] = {3, 4, 0, 0};
    double norm = tars_clip_grad_norm(v, 4, 1.0);
    is_near(norm, 5, 1e-6, "clip returns the norm before clipping");
    is_near(tars_l2_norm(v, 4), 1.0, 1e-5, "and scales down to the maximum");
    float t[2] = {0, 10}, s[2] = {10, 0};
    tars_polyak(t, s, 2, 0.1);
    ok(fabsf(t[0] - 1) < 1e-6f && fabsf(t[1] - 9) < 1e-6f, "Polyak averaging");
}

int
main(void)
{
    tars_rng_seed(&rng, 1234, 0);
    check_mlp(TARS_ACT_TANH, TARS_ACT_NONE, "tanh MLP");
    check_mlp(TARS_ACT_RELU, TARS_ACT_NONE, "ReLU MLP");
    check_mlp(TARS_ACT_RELU, TARS_ACT_TANH, "ReLU MLP with tanh output");
    check_losses();
    check_categorical();
    check_gaussian();
    check_init();
    check_optim();
    return done_testing();
}
