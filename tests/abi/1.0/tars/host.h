/*
 * tars/host.h — services the host gives plugins: logging, error messages, scalar reports,
 * byte buffers and tensor sinks. All are functions of libtars-sdk; no struct layout of the
 * host is compiled into a plugin.
 */
#ifndef TARS_HOST_H
#define TARS_HOST_H

#include <stddef.h>
#include <stdint.h>
#include "tars/version.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The context of one plugin instance (opaque). The host creates one per instance and passes
 * it to create; the plugin keeps it for logging and error reports, and uses it from within
 * the instance's ops (which the host calls from one thread at a time).
 */
typedef struct tars_ctx tars_ctx;

typedef enum tars_log_level {
    TARS_LOG_DEBUG = 0,
    TARS_LOG_INFO = 1,
    TARS_LOG_WARN = 2,
    TARS_LOG_ERROR = 3,
} tars_log_level;

/*
 * Logs one line attributed to the instance (ctx may be NULL). Never blocks on I/O for long.
 * Control characters in the message are escaped so that a line stays one line.
 */
TARS_EXPORT void tars_log(const tars_ctx *ctx, tars_log_level level, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/*
 * Explains the failure an op is about to return: one sentence, no trailing period needed.
 * The host shows it in the log and the API. Returns `err` so that a plugin can write
 *     return tars_fail(ctx, TARS_EINVAL, "obs dim %u, expected 4", dim);
 */
TARS_EXPORT int tars_fail(tars_ctx *ctx, int err, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* The instance name the host gave the context (e.g. "policy"). */
TARS_EXPORT const char *tars_ctx_name(const tars_ctx *ctx);

/*
 * Named training scalars reported by agents from observe: loss terms, entropy, epsilon, KL,
 * learning rate... Names are [a-z0-9_/]+. Setting a name twice keeps the last value.
 * Returns TARS_EINVAL for a bad name, TARS_ENOMEM when full.
 */
typedef struct tars_scalars tars_scalars;
TARS_EXPORT int tars_scalar(tars_scalars *s, const char *name, double value);

/* A growable byte buffer owned by the host (solver results, exporter output). */
typedef struct tars_buf tars_buf;
TARS_EXPORT int tars_buf_append(tars_buf *b, const void *data, size_t len);
TARS_EXPORT int tars_buf_printf(tars_buf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* A named float tensor, as agents hand their weights to exporters. */
#define TARS_TENSOR_MAX_DIMS 4
typedef struct tars_tensor {
    const char *name;
    uint32_t ndim;
    uint32_t shape[TARS_TENSOR_MAX_DIMS];
    const float *data; /* row-major, prod(shape) floats */
    const void *reserved[2];
} tars_tensor;

/* Receives an agent's tensors; the data is copied before the call returns. */
typedef struct tars_tensor_sink tars_tensor_sink;
TARS_EXPORT int tars_tensor_emit(tars_tensor_sink *sink, const tars_tensor *t);

#ifdef __cplusplus
}
#endif

#endif
