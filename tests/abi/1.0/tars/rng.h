/*
 * tars/rng.h — a small, fast, seedable PRNG (xoshiro256**, seeded with splitmix64).
 *
 * The state is a plain struct so plugins can embed it and save it in their state blob
 * (tars_blob_put_rng); its layout is frozen for ABI major 1. Not thread-safe: one
 * generator per thread or instance.
 */
#ifndef TARS_RNG_H
#define TARS_RNG_H

#include <stdint.h>
#include "tars/version.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tars_rng {
    uint64_t s[4];
} tars_rng;

/* Seeds r from a 64-bit seed and a stream number; distinct streams are independent. */
TARS_EXPORT void tars_rng_seed(tars_rng *r, uint64_t seed, uint64_t stream);
TARS_EXPORT uint64_t tars_rng_u64(tars_rng *r);
/* Uniform in [0, 1). */
TARS_EXPORT double tars_rng_uniform(tars_rng *r);
/* Uniform in [lo, hi). */
TARS_EXPORT double tars_rng_range(tars_rng *r, double lo, double hi);
/* Uniform integer in [0, n), unbiased; n must be > 0. */
TARS_EXPORT uint64_t tars_rng_below(tars_rng *r, uint64_t n);
/* Standard normal. */
TARS_EXPORT double tars_rng_normal(tars_rng *r);

#ifdef __cplusplus
}
#endif

#endif
