/*
 * blas — OpenBLAS's kernels and threads for tarsd (SPEC §3: one thread; small shapes).
 */
#ifndef TARS_HOST_BASE_BLAS_H
#define TARS_HOST_BASE_BLAS_H

/*
 * Re-executes the program with OPENBLAS_CORETYPE naming the best kernels this CPU runs when
 * OpenBLAS fell back to generic ones (and the user set none). Call first thing in main.
 */
void blas_tune(char **argv);
/* The OpenBLAS core in use, e.g. "SkylakeX". */
const char *blas_core(void);

#endif
