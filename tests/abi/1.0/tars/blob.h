/*
 * tars/blob.h — versioned state blobs for save and load.
 *
 * A blob is a header (magic, blob format, tag, the plugin's own state version) followed by
 * typed fields and a CRC-32. The host creates the writer (tagged with the plugin's name) and
 * the reader; the plugin writes and reads fields in the same order. Every get checks the
 * field's type and length, so a reader that disagrees with the writer fails with
 * TARS_EFORMAT and a message instead of reading garbage. Integers and floats are stored
 * little-endian.
 */
#ifndef TARS_BLOB_H
#define TARS_BLOB_H

#include <stddef.h>
#include <stdint.h>
#include "tars/version.h"
#include "tars/rng.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tars_blob_writer tars_blob_writer;
typedef struct tars_blob_reader tars_blob_reader;

/*
 * Declares the version of the plugin's state layout. Call before the first put; a later
 * load reads it back with tars_blob_version() and refuses versions it does not know.
 */
TARS_EXPORT int tars_blob_set_version(tars_blob_writer *w, uint32_t version);

/* Each put returns 0 or TARS_ENOMEM (the writer then stays failed, and so does finish). */
TARS_EXPORT int tars_blob_put_u32(tars_blob_writer *w, uint32_t v);
TARS_EXPORT int tars_blob_put_u64(tars_blob_writer *w, uint64_t v);
TARS_EXPORT int tars_blob_put_f64(tars_blob_writer *w, double v);
TARS_EXPORT int tars_blob_put_f32s(tars_blob_writer *w, const float *v, size_t n);
TARS_EXPORT int tars_blob_put_f64s(tars_blob_writer *w, const double *v, size_t n);
TARS_EXPORT int tars_blob_put_bytes(tars_blob_writer *w, const void *data, size_t n);
TARS_EXPORT int tars_blob_put_str(tars_blob_writer *w, const char *s);
TARS_EXPORT int tars_blob_put_rng(tars_blob_writer *w, const tars_rng *r);

/* The plugin state version the writer declared. */
TARS_EXPORT uint32_t tars_blob_version(const tars_blob_reader *r);

/*
 * Each get returns 0, or TARS_EFORMAT when the next field is missing or has another type or
 * length (the reader then stays failed and tars_blob_reader_error() says which field).
 * Array gets require the stored count to equal n.
 */
TARS_EXPORT int tars_blob_get_u32(tars_blob_reader *r, uint32_t *v);
TARS_EXPORT int tars_blob_get_u64(tars_blob_reader *r, uint64_t *v);
TARS_EXPORT int tars_blob_get_f64(tars_blob_reader *r, double *v);
TARS_EXPORT int tars_blob_get_f32s(tars_blob_reader *r, float *v, size_t n);
TARS_EXPORT int tars_blob_get_f64s(tars_blob_reader *r, double *v, size_t n);
/* Reads a byte field of exactly n bytes. */
TARS_EXPORT int tars_blob_get_bytes(tars_blob_reader *r, void *data, size_t n);
/* Length of the next field's payload if it is a byte, string or array field. */
TARS_EXPORT int tars_blob_peek_len(tars_blob_reader *r, size_t *n);
/* Copies a string field into buf (NUL-terminated); TARS_ERANGE if it does not fit. */
TARS_EXPORT int tars_blob_get_str(tars_blob_reader *r, char *buf, size_t len);
TARS_EXPORT int tars_blob_get_rng(tars_blob_reader *r, tars_rng *rng);
/* Why the reader failed ("field 3: expected f32[64], found u32"), or "" if it did not. */
TARS_EXPORT const char *tars_blob_reader_error(const tars_blob_reader *r);

/*
 * Host side (and tests): creating and finishing blobs.
 */

/* A writer whose header carries `tag` (the plugin name). */
TARS_EXPORT int tars_blob_writer_new(const char *tag, tars_blob_writer **out);
/* Appends the checksum and returns the bytes (owned by the writer until freed). */
TARS_EXPORT int tars_blob_writer_finish(tars_blob_writer *w, const void **data, size_t *len);
TARS_EXPORT void tars_blob_writer_free(tars_blob_writer *w);

/*
 * A reader over data (not copied; must outlive the reader). Checks the magic, the blob
 * format, the checksum (TARS_ECORRUPT) and that the tag equals `tag` when tag is non-NULL
 * (TARS_EFORMAT). On failure *out is NULL and err holds one sentence.
 */
TARS_EXPORT int tars_blob_reader_new(const void *data, size_t len, const char *tag,
                                     tars_blob_reader **out, char *err, size_t errlen);
/* TARS_EFORMAT unless every field was read. */
TARS_EXPORT int tars_blob_reader_end(tars_blob_reader *r);
TARS_EXPORT void tars_blob_reader_free(tars_blob_reader *r);

#ifdef __cplusplus
}
#endif

#endif
