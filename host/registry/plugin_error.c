#include <stdio.h>
#include "plugin_error.h"
#include "tars/error.h"

int
plugin_op_error(char *err, size_t errlen, const tars_plugin_info *info,
                enum plugin_error_naming naming, const char *op, const tars_ctx *ctx,
                const char *fallback, int rc)
{
    const char *why = ctx ? tars__ctx_error(ctx) : NULL;
    if (!why || !*why)
        why = fallback && *fallback ? fallback : tars_strerror(rc);
    if (naming == PLUGIN_NAME_VERSION)
        snprintf(err, errlen, "%s '%s' %s %s failed: %s", tars_kind_name(info->kind), info->name,
                 info->version, op, why);
    else
        snprintf(err, errlen, "%s '%s' %s failed: %s", tars_kind_name(info->kind), info->name, op,
                 why);
    return rc;
}
