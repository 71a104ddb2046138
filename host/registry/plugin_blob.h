/*
 * plugin_blob — a plugin's load op fed from a blob, with the reader's complaints said as one
 * sentence, the same way wherever the load runs (a code swap's migration, a smoke test).
 *
 * Threads: any (the reader is the caller's alone).
 */
#ifndef TARS_HOST_REGISTRY_PLUGIN_BLOB_H
#define TARS_HOST_REGISTRY_PLUGIN_BLOB_H

#include <stddef.h>
#include "host_side.h"
#include "tars/blob.h"
#include "tars/plugin.h"

/*
 * Opens data for info's load op. 0, or the reader's code with "<kind> '<name>' <version>
 * cannot read <what>: <why>" in err (*rd is then not open).
 */
int plugin_blob_open(const tars_plugin_info *info, const void *data, size_t len, const char *what,
                     tars_blob_reader **rd, char *err, size_t errlen);

/*
 * After the load op returned rc: rc, or the reader's verdict on what the op left unread; on
 * failure the plugin_op_error sentence for op in err. Frees rd either way.
 */
int plugin_blob_close(const tars_plugin_info *info, const tars_ctx *ctx, tars_blob_reader *rd,
                      int rc, const char *op, char *err, size_t errlen);

#endif
