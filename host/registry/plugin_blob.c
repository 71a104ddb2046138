#include <stdio.h>
#include "plugin_blob.h"
#include "plugin_error.h"

int
plugin_blob_open(const tars_plugin_info *info, const void *data, size_t len, const char *what,
                 tars_blob_reader **rd, char *err, size_t errlen)
{
    char why[256];
    int rc = tars_blob_reader_new(data, len, info->name, rd, why, sizeof why);
    if (rc)
        snprintf(err, errlen, "%s '%s' %s cannot read %s: %s", tars_kind_name(info->kind),
                 info->name, info->version, what, why);
    return rc;
}

int
plugin_blob_close(const tars_plugin_info *info, const tars_ctx *ctx, tars_blob_reader *rd, int rc,
                  const char *op, char *err, size_t errlen)
{
    if (!rc)
        rc = tars_blob_reader_end(rd);
    if (rc)
        plugin_op_error(err, errlen, info, PLUGIN_NAME_VERSION, op, ctx, tars_blob_reader_error(rd),
                        rc);
    tars_blob_reader_free(rd);
    return rc;
}
