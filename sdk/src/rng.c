/* xoshiro256** (Blackman & Vigna), seeded through splitmix64. */
#include <math.h>
#include "tars/rng.h"

static uint64_t
splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static inline uint64_t
rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

void
tars_rng_seed(tars_rng *r, uint64_t seed, uint64_t stream)
{
    /* Mixing the stream through splitmix first keeps nearby (seed, stream) pairs apart. */
    uint64_t x = stream;
    uint64_t sm = seed ^ splitmix64(&x);
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&sm);
}

uint64_t
tars_rng_u64(tars_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double
tars_rng_uniform(tars_rng *r)
{
    return (double)(tars_rng_u64(r) >> 11) * 0x1.0p-53;
}

double
tars_rng_range(tars_rng *r, double lo, double hi)
{
    return lo + (hi - lo) * tars_rng_uniform(r);
}

uint64_t
tars_rng_below(tars_rng *r, uint64_t n)
{
    /* Lemire's multiply-and-reject: unbiased without a division on the common path. */
    unsigned __int128 m = (unsigned __int128)tars_rng_u64(r) * n;
    uint64_t low = (uint64_t)m;
    if (low < n) {
        uint64_t threshold = -n % n;
        while (low < threshold) {
            m = (unsigned __int128)tars_rng_u64(r) * n;
            low = (uint64_t)m;
        }
    }
    return (uint64_t)(m >> 64);
}

double
tars_rng_normal(tars_rng *r)
{
    /* Box-Muller without a cached spare, so the state is only s[4]. */
    double u1 = 1.0 - tars_rng_uniform(r); /* (0, 1]: log is finite */
    double u2 = tars_rng_uniform(r);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}
