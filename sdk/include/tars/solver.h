/*
 * tars/solver.h — the solver kind: a problem in, a result out, both JSON text.
 * Examples: a normal-form game -> its equilibria; a point set -> its Pareto frontier.
 *
 * PROVISIONAL: tars_solver_ops is not frozen yet. The host checks and loads solver plugins, but
 * nothing runs them until the issue that implements the kind freezes this table; it may change
 * before then (the agent and env tables, and everything else of ABI 1.0, do not).
 */
#ifndef TARS_SOLVER_H
#define TARS_SOLVER_H

#include <stddef.h>
#include <stdint.h>
#include "tars/version.h"
#include "tars/host.h"
#include "tars/params.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tars_solver tars_solver; /* defined by each solver plugin */

typedef struct tars_solver_ops {
    uint32_t struct_size; /* sizeof(tars_solver_ops) as the plugin compiled it */
    uint32_t reserved0;
    int (*create)(tars_ctx *ctx, const tars_params *params, tars_solver **out);
    void (*destroy)(tars_solver *solver);
    /*
     * Solves `problem` (UTF-8 JSON text of len bytes) and appends the result as JSON text to
     * `result`. A malformed problem returns TARS_EINVAL with tars_fail() naming what is wrong.
     */
    int (*solve)(tars_solver *solver, const tars_params *params, const char *problem, size_t len,
                 tars_buf *result);
    const void *reserved[4];
} tars_solver_ops;

#ifdef __cplusplus
}
#endif

#endif
