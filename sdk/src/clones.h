/*
 * clones.h — function multi-versioning for the SDK's hot loops: an AVX-512, an AVX2 and a
 * baseline copy, chosen when the library loads (GCC's target_clones, via an ifunc). The
 * resolvers run during relocation, before a sanitizer's runtime is up, so sanitizer builds
 * (TARS_NO_CLONES) keep the baseline copy only.
 */
#ifndef TARS_SDK_CLONES_H
#define TARS_SDK_CLONES_H

#if defined(TARS_NO_CLONES) || !defined(__GNUC__) || !defined(__x86_64__)
#define TARS_VECTOR_CLONES
#else
#define TARS_VECTOR_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#endif

#endif
