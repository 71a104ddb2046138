/* Versioned state blobs (sdk/src/blob.c): round trips, type checks, corruption. */
#include <stdlib.h>
#include <string.h>
#include "tap.h"
#include "tars/blob.h"
#include "tars/error.h"

static void *
make(const char *tag, size_t *len)
{
    tars_blob_writer *w;
    const void *data;
    tars_rng rng;
    tars_rng_seed(&rng, 7, 0);
    float f[3] = {1.5f, -2.25f, 3.0f};
    double d[2] = {0.1, -1e300};
    tars_blob_writer_new(tag, &w);
    tars_blob_set_version(w, 3);
    tars_blob_put_u32(w, 0xdeadbeef);
    tars_blob_put_u64(w, 1ULL << 60);
    tars_blob_put_f64(w, 3.25);
    tars_blob_put_f32s(w, f, 3);
    tars_blob_put_f64s(w, d, 2);
    tars_blob_put_bytes(w, "abc", 3);
    tars_blob_put_str(w, "hello");
    tars_blob_put_rng(w, &rng);
    tars_blob_writer_finish(w, &data, len);
    void *copy = malloc(*len);
    memcpy(copy, data, *len);
    tars_blob_writer_free(w);
    return copy;
}

/* CRC-32 (IEEE) bit by bit: the reference the blob's table-driven one must agree with. */
static uint32_t
crc_reference(const unsigned char *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
    }
    return c ^ 0xffffffffu;
}

int
main(void)
{
    static const unsigned char check[] = "123456789";
    is_int(crc_reference(check, 9), 0xcbf43926u, "the reference CRC-32 of \"123456789\"");
    size_t len;
    char err[256];
    unsigned char *data = make("agent-x", &len);
    tars_blob_reader *r;

    ok(tars_blob_reader_new(data, len, "agent-x", &r, err, sizeof err) == 0, "reader opens");
    is_int(tars_blob_version(r), 3, "state version read back");
    uint32_t u32;
    uint64_t u64;
    double f64;
    float f[3];
    double d[2];
    char bytes[3], str[16];
    tars_rng rng, want;
    tars_rng_seed(&want, 7, 0);
    ok(tars_blob_get_u32(r, &u32) == 0 && u32 == 0xdeadbeef, "u32");
    ok(tars_blob_get_u64(r, &u64) == 0 && u64 == 1ULL << 60, "u64");
    ok(tars_blob_get_f64(r, &f64) == 0 && f64 == 3.25, "f64");
    ok(tars_blob_get_f32s(r, f, 3) == 0 && f[1] == -2.25f, "f32 array");
    ok(tars_blob_get_f64s(r, d, 2) == 0 && d[1] == -1e300, "f64 array");
    ok(tars_blob_get_bytes(r, bytes, 3) == 0 && memcmp(bytes, "abc", 3) == 0, "bytes");
    ok(tars_blob_get_str(r, str, sizeof str) == 0, "string");
    is_str(str, "hello", "string value");
    ok(tars_blob_get_rng(r, &rng) == 0 && memcmp(&rng, &want, sizeof rng) == 0, "rng state");
    is_int(tars_blob_reader_end(r), 0, "every field consumed");
    tars_blob_reader_free(r);

    /* A reader that disagrees with the writer fails with a message, not garbage. */
    tars_blob_reader_new(data, len, NULL, &r, err, sizeof err);
    is_int(tars_blob_get_f64(r, &f64), TARS_EFORMAT, "wrong type refused");
    like(tars_blob_reader_error(r), "field 0: expected f64, found u32", "names field and types");
    is_int(tars_blob_get_u32(r, &u32), TARS_EFORMAT, "reader stays failed");
    tars_blob_reader_free(r);

    tars_blob_reader_new(data, len, NULL, &r, err, sizeof err);
    tars_blob_get_u32(r, &u32);
    tars_blob_get_u64(r, &u64);
    tars_blob_get_f64(r, &f64);
    float f4[4];
    is_int(tars_blob_get_f32s(r, f4, 4), TARS_EFORMAT, "wrong array length refused");
    like(tars_blob_reader_error(r), "expected f32[] of 4, found 3", "says both lengths");
    tars_blob_reader_free(r);

    tars_blob_reader_new(data, len, NULL, &r, err, sizeof err);
    tars_blob_get_u32(r, &u32);
    is_int(tars_blob_reader_end(r), TARS_EFORMAT, "unread fields are an error at the end");
    tars_blob_reader_free(r);

    tars_blob_reader_new(data, len, NULL, &r, err, sizeof err);
    for (int i = 0; i < 6; i++) {
        size_t n;
        if (i == 3)
            ok(tars_blob_peek_len(r, &n) == 0 && n == 3, "peek at an array length");
        (void)(i == 0   ? tars_blob_get_u32(r, &u32)
               : i == 1 ? tars_blob_get_u64(r, &u64)
               : i == 2 ? tars_blob_get_f64(r, &f64)
               : i == 3 ? tars_blob_get_f32s(r, f, 3)
               : i == 4 ? tars_blob_get_f64s(r, d, 2)
                        : tars_blob_get_bytes(r, bytes, 3));
    }
    char tiny[4];
    is_int(tars_blob_get_str(r, tiny, sizeof tiny), TARS_ERANGE, "string longer than the buffer");
    tars_blob_reader_free(r);

    /* Header checks. */
    r = (tars_blob_reader *)1;
    is_int(tars_blob_reader_new(data, len, "agent-y", &r, err, sizeof err), TARS_EFORMAT,
           "tag mismatch refused");
    like(err, "belongs to 'agent-x', not 'agent-y'", "names both tags");
    ok(r == NULL, "no reader on failure");

    data[len / 2] ^= 0x40;
    is_int(tars_blob_reader_new(data, len, NULL, &r, err, sizeof err), TARS_ECORRUPT,
           "a flipped bit fails the checksum");
    data[len / 2] ^= 0x40;
    is_int(tars_blob_reader_new(data, len - 1, NULL, &r, err, sizeof err), TARS_ECORRUPT,
           "a truncated blob fails the checksum");
    is_int(tars_blob_reader_new("not a blob at all, really", 25, NULL, &r, err, sizeof err),
           TARS_EFORMAT, "foreign bytes refused");
    like(err, "not a tars state blob", "and called foreign");
    /* The trailer is the CRC-32 of everything before it, for blobs of every length mod 8. */
    int crc_ok = 1;
    for (size_t n = 0; n < 40; n++) {
        tars_blob_writer *w;
        const void *out;
        size_t blen;
        unsigned char payload[40];
        for (size_t i = 0; i < n; i++)
            payload[i] = (unsigned char)(i * 37 + 11);
        tars_blob_writer_new("crc", &w);
        tars_blob_put_bytes(w, payload, n);
        tars_blob_writer_finish(w, &out, &blen);
        uint32_t stored;
        memcpy(&stored, (const unsigned char *)out + blen - 4, 4);
        crc_ok &= stored == crc_reference(out, blen - 4);
        tars_blob_writer_free(w);
    }
    ok(crc_ok, "the blob checksum is CRC-32 (IEEE) at every length");

    /* Found by tests/fuzz (fuzz_checkpoint): a length the blob cannot hold, with a checksum
     * that matches, was handed to the caller, who allocated it (run_state.c's get_blob). */
    tars_blob_writer *w;
    const void *out;
    size_t blen;
    tars_blob_writer_new("huge", &w);
    tars_blob_put_bytes(w, "abc", 3);
    tars_blob_writer_finish(w, &out, &blen);
    unsigned char *big = malloc(blen);
    memcpy(big, out, blen);
    tars_blob_writer_free(w);
    uint64_t huge = 1ull << 62;
    memcpy(big + 8 + 12 + 4 + 1, &huge, 8); /* magic, format/version/tag length, tag, type */
    uint32_t crc = crc_reference(big, blen - 4);
    memcpy(big + blen - 4, &crc, 4);
    size_t n = 0;
    ok(tars_blob_reader_new(big, blen, "huge", &r, err, sizeof err) == 0 &&
           tars_blob_peek_len(r, &n) == TARS_EFORMAT,
       "peek refuses a length longer than the blob (got %zu)", n);
    like(tars_blob_reader_error(r), "truncated bytes", "and says the field is truncated");
    tars_blob_reader_free(r);
    free(big);
    free(data);
    return done_testing();
}
