/*
 * tars/exporter.h — the exporter kind: host metrics or an agent's weights into bytes of a
 * named format (Prometheus text, safetensors, JSONL, CSV...).
 *
 * PROVISIONAL: tars_exporter_ops is not frozen yet. The host checks and loads exporter plugins, but
 * nothing runs them until the issue that implements the kind freezes this table; it may change
 * before then (the agent and env tables, and everything else of ABI 1.0, do not).
 */
#ifndef TARS_EXPORTER_H
#define TARS_EXPORTER_H

#include <stddef.h>
#include <stdint.h>
#include "tars/version.h"
#include "tars/host.h"
#include "tars/params.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum tars_metric_type {
    TARS_METRIC_COUNTER = 1,
    TARS_METRIC_GAUGE = 2,
} tars_metric_type;

/* One sample of host state. Samples of one metric family are adjacent. */
typedef struct tars_metric {
    const char *name;          /* e.g. "tars_agent_steps_total" */
    const char *help;          /* one sentence */
    uint32_t type;             /* tars_metric_type */
    uint32_t n_labels;         /* pairs in labels */
    const char *const *labels; /* name0, value0, name1, value1, ... */
    double value;
    const void *reserved[2];
} tars_metric;

/* What an exporter accepts (bits of tars_exporter_ops.inputs). */
#define TARS_EXPORT_METRICS 0x1u
#define TARS_EXPORT_TENSORS 0x2u

typedef struct tars_exporter tars_exporter; /* defined by each exporter plugin */

typedef struct tars_exporter_ops {
    uint32_t struct_size;     /* sizeof(tars_exporter_ops) as the plugin compiled it */
    uint32_t inputs;          /* TARS_EXPORT_METRICS | TARS_EXPORT_TENSORS */
    const char *content_type; /* e.g. "text/plain; version=0.0.4" */
    int (*create)(tars_ctx *ctx, const tars_params *params, tars_exporter **out);
    void (*destroy)(tars_exporter *exporter);
    /* Each appends the encoded bytes to out; NULL when the input is not accepted. */
    int (*metrics)(tars_exporter *exporter, const tars_params *params, const tars_metric *m,
                   size_t n, tars_buf *out);
    int (*tensors)(tars_exporter *exporter, const tars_params *params, const tars_tensor *t,
                   size_t n, tars_buf *out);
    const void *reserved[4];
} tars_exporter_ops;

#ifdef __cplusplus
}
#endif

#endif
