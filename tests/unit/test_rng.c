/* The SDK PRNG: determinism, independent streams, distributions. */
#include <math.h>
#include "tap.h"
#include "tars/rng.h"

int
main(void)
{
    tars_rng a, b, c;
    tars_rng_seed(&a, 42, 0);
    tars_rng_seed(&b, 42, 0);
    tars_rng_seed(&c, 42, 1);
    int same = 1, differ = 0;
    for (int i = 0; i < 1000; i++) {
        uint64_t x = tars_rng_u64(&a), y = tars_rng_u64(&b), z = tars_rng_u64(&c);
        same &= x == y;
        differ += x != z;
    }
    ok(same, "same seed and stream: same sequence");
    ok(differ > 990, "another stream: another sequence (%d of 1000 differ)", differ);

    /* Moments of 200k draws; tolerances are several standard errors wide. */
    const int n = 200000;
    double sum = 0, sum2 = 0, nsum = 0, nsum2 = 0;
    double lo = 1, hi = 0;
    long counts[10] = {0};
    int in_range = 1;
    for (int i = 0; i < n; i++) {
        double u = tars_rng_uniform(&a);
        sum += u;
        sum2 += u * u;
        lo = u < lo ? u : lo;
        hi = u > hi ? u : hi;
        uint64_t k = tars_rng_below(&a, 10);
        in_range &= k < 10;
        if (k < 10)
            counts[k]++;
        double g = tars_rng_normal(&a);
        nsum += g;
        nsum2 += g * g;
        double r = tars_rng_range(&a, -0.05, 0.05);
        in_range &= r >= -0.05 && r < 0.05;
    }
    ok(lo >= 0 && hi < 1, "uniform stays in [0, 1)");
    is_near(sum / n, 0.5, 0.005, "uniform mean");
    is_near(sum2 / n - (sum / n) * (sum / n), 1.0 / 12, 0.002, "uniform variance");
    ok(in_range, "below(10) and range(-0.05, 0.05) stay in bounds");
    double chi2 = 0;
    for (int k = 0; k < 10; k++)
        chi2 += (counts[k] - n / 10.0) * (counts[k] - n / 10.0) / (n / 10.0);
    ok(chi2 < 30, "below(10) is uniform (chi-square %.1f with 9 dof)", chi2);
    is_near(nsum / n, 0.0, 0.01, "normal mean");
    is_near(nsum2 / n - (nsum / n) * (nsum / n), 1.0, 0.02, "normal variance");
    return done_testing();
}
