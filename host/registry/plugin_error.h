/*
 * plugin_error — the one sentence for a plugin op that failed, wherever the op ran (a run, a
 * migration, an evaluation, a smoke test), so that the log, the API and the smoke test's
 * report say it the same way.
 *
 * Threads: any (pure function).
 */
#ifndef TARS_HOST_REGISTRY_PLUGIN_ERROR_H
#define TARS_HOST_REGISTRY_PLUGIN_ERROR_H

#include <stddef.h>
#include "host_side.h"
#include "tars/plugin.h"

/* Whether the sentence names the build's version (swaps and smoke tests: two builds meet). */
enum plugin_error_naming { PLUGIN_NAME = 0, PLUGIN_NAME_VERSION = 1 };

/*
 * Writes "<kind> '<name>' [<version> ]<op> failed: <why>" into err: why is the plugin's own
 * reason (tars_fail on ctx) when it gave one, else fallback when not NULL or empty (a blob
 * reader's verdict), else rc's meaning. Returns rc.
 */
int plugin_op_error(char *err, size_t errlen, const tars_plugin_info *info,
                    enum plugin_error_naming naming, const char *op, const tars_ctx *ctx,
                    const char *fallback, int rc);

#endif
