/*
 * OpenBLAS picks its kernels when it loads, from the CPU it recognises. On CPUs it does not
 * know (new models, many virtual machines) Debian's 0.3.21 falls back to "Prescott", whose
 * SSE3 kernels run these networks 3-5x slower than the AVX2/AVX-512 ones the CPU supports.
 * The only way to choose is OPENBLAS_CORETYPE before the library loads, so tarsd re-executes
 * itself once with it set. The same goes for OPENBLAS_NUM_THREADS=1: set later (through
 * openblas_set_num_threads) the library's idle pool threads still poll with sched_yield and
 * steal a core from the runners. Values the user set are always respected.
 */
#include <cblas.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "blas.h"

/* The best OpenBLAS core this CPU can run, or NULL to keep OpenBLAS's own choice. */
static const char *
best_core(void)
{
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl"))
        return "SkylakeX";
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return "Haswell";
    return NULL;
}

static int
already_good(const char *core, const char *best)
{
    static const char *const avx512[] = {"SkylakeX", "Cooperlake", "SapphireRapids", NULL};
    static const char *const avx2[] = {"Haswell",        "Zen", "SkylakeX", "Cooperlake",
                                       "SapphireRapids", NULL};
    const char *const *ok = strcmp(best, "SkylakeX") == 0 ? avx512 : avx2;
    for (; *ok; ok++)
        if (strcmp(core, *ok) == 0)
            return 1;
    return 0;
}

const char *
blas_core(void)
{
    return openblas_get_corename();
}

void
blas_tune(char **argv)
{
    const char *best = best_core();
    int set_core =
        best && !getenv("OPENBLAS_CORETYPE") && !already_good(openblas_get_corename(), best);
    int set_threads = !getenv("OPENBLAS_NUM_THREADS");
    if (!set_core && !set_threads)
        return;
    if ((set_core && setenv("OPENBLAS_CORETYPE", best, 1) != 0) ||
        (set_threads && setenv("OPENBLAS_NUM_THREADS", "1", 1) != 0))
        return;
    execv("/proc/self/exe", argv);
    /* Could not re-execute: carry on with what the library chose. */
    if (set_core)
        unsetenv("OPENBLAS_CORETYPE");
    if (set_threads)
        unsetenv("OPENBLAS_NUM_THREADS");
}
