/*
 * bench_sgemm: the machine's single-thread cblas_sgemm rate, the roofline the agents' update
 * paths are measured against (REFERENCE.md). Shapes are those of the agents' networks
 * (batch x out x in): each agent is compared with the rate at its own shape, the largest
 * shape gives the machine's peak. Asserts nothing.
 */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "blas.h"
#include "host.h"

static double
now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int
cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int
main(int argc, char **argv)
{
    (void)argc;
    blas_tune(argv);
    openblas_set_num_threads(1);
    static const int shapes[][3] = {
        {256, 64, 64},                    /* PPO minibatch, 64-64 hidden */
        {40, 64, 64},                     /* A2C rollout of 8 envs x 5 steps */
        {64, 256, 256},                   /* DQN batch, 256-256 */
        {256, 300, 400},                  /* DDPG batch, 400-300 */
        {256, 400, 300}, {512, 512, 512}, /* a large square, for the peak */
    };
    /* Best of 7: on a shared machine the noise only ever lowers a rate. */
    printf("== cblas_sgemm, one thread, OpenBLAS core %s (best of 7)\n", blas_core());
    printf("%6s %6s %6s %12s\n", "batch", "out", "in", "GFLOP/s");
    double peak = 0;
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        int m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
        float *a = malloc(sizeof(float) * m * k), *b = malloc(sizeof(float) * n * k),
              *c = malloc(sizeof(float) * m * n);
        for (int i = 0; i < m * k; i++)
            a[i] = (float)(i % 7) * 0.1f;
        for (int i = 0; i < n * k; i++)
            b[i] = (float)(i % 5) * 0.1f;
        long iters = 400000000L / (2L * m * n * k) + 10;
        double rates[7];
        for (int r = 0; r < 7; r++) {
            double t0 = now();
            for (long i = 0; i < iters; i++)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1.0f, a, k, b, k,
                            0.0f, c, n);
            rates[r] = 2.0 * m * n * k * iters / (now() - t0) * 1e-9;
        }
        qsort(rates, 7, sizeof rates[0], cmp);
        printf("%6d %6d %6d %12.1f   sgemm %dx%dx%d\n", m, n, k, rates[6], m, n, k);
        if (rates[6] > peak)
            peak = rates[6];
        free(a);
        free(b);
        free(c);
    }
    printf("peak: %.1f GFLOP/s\n", peak);
    return 0;
}
