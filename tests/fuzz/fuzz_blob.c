/*
 * The SDK's blob reader (sdk/src/blob.c), as a plugin's load op drives it: the input's first
 * byte says how many of the next bytes are reads (each names one tars_blob_get_* and,
 * for arrays, a length); the rest is the blob, its checksum put right unless the first
 * byte's high bit is set.
 */
#include <stdlib.h>
#include "blob_fix.h"
#include "fuzz.h"
#include "tars/blob.h"
#include "tars/rng.h"

static void
read_one(tars_blob_reader *r, uint8_t op)
{
    union {
        uint32_t u32;
        uint64_t u64;
        double f64;
        tars_rng rng;
        float f32s[16];
        double f64s[16];
        char bytes[256];
    } v;
    size_t n = op >> 4, len;
    switch (op & 0x0f) {
    case 0:
        tars_blob_get_u32(r, &v.u32);
        break;
    case 1:
        tars_blob_get_u64(r, &v.u64);
        break;
    case 2:
        tars_blob_get_f64(r, &v.f64);
        break;
    case 3:
        tars_blob_get_rng(r, &v.rng);
        break;
    case 4:
        tars_blob_get_f32s(r, v.f32s, n);
        break;
    case 5:
        tars_blob_get_f64s(r, v.f64s, n);
        break;
    case 6:
        tars_blob_get_bytes(r, v.bytes, n * 16);
        break;
    case 7:
        if (tars_blob_peek_len(r, &len) == 0 && len <= sizeof v.bytes)
            tars_blob_get_bytes(r, v.bytes, len);
        break;
    case 8:
        tars_blob_get_str(r, v.bytes, n * 16 + 1);
        break;
    default:
        tars_blob_reader_end(r);
        break;
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t n_ops = data[0] & 0x7f;
    if (size < 1 + n_ops)
        return 0;
    const uint8_t *ops = data + 1;
    size_t len = size - 1 - n_ops;
    uint8_t *blob = malloc(len + 1);
    if (!blob)
        return 0;
    memcpy(blob, data + 1 + n_ops, len);
    if (!(data[0] & 0x80))
        fix_blobs(blob, len);
    tars_blob_reader *r;
    char err[256];
    if (tars_blob_reader_new(blob, len, NULL, &r, err, sizeof err) == 0) {
        tars_blob_version(r);
        for (size_t i = 0; i < n_ops; i++)
            read_one(r, ops[i]);
        tars_blob_reader_end(r);
        tars_blob_reader_error(r);
        tars_blob_reader_free(r);
    }
    free(blob);
    return 0;
}
