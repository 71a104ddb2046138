/*
 * blob_layout.h — the blob writer's fields, shared by libtars-sdk (blob.c) and the host's
 * half of the SDK (host_private.c, tars__blob_writer_take). Both are built from one source
 * tree and ship together; plugins only see the opaque type.
 */
#ifndef TARS_SDK_BLOB_LAYOUT_H
#define TARS_SDK_BLOB_LAYOUT_H

#include <stddef.h>

struct tars_blob_writer {
    unsigned char *data;
    size_t len;
    size_t cap;
    int failed;
    int finished;
};

#endif
