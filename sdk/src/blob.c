/*
 * Versioned state blobs.
 *
 * Layout (little-endian):
 *   "TARSBLOB" | u32 format (1) | u32 state version | u32 tag length | tag bytes
 *   fields: u8 type | payload   (scalars inline; arrays, bytes, strings: u64 count | data)
 *   u32 CRC-32 (IEEE) of everything before it
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tars/blob.h"
#include "tars/error.h"
#include "blob_layout.h"
#include "host_side.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "blob.c stores arrays with memcpy and assumes a little-endian host"
#endif

#define MAGIC       "TARSBLOB"
#define MAGIC_LEN   8
#define BLOB_FORMAT 1u
#define VERSION_AT  (MAGIC_LEN + 4)
#define MAX_TAG     256

enum field_type {
    F_U32 = 1,
    F_U64 = 2,
    F_F64 = 3,
    F_F32S = 4,
    F_F64S = 5,
    F_BYTES = 6,
    F_STR = 7,
    F_RNG = 8,
};

static const char *
type_name(int t)
{
    static const char *const names[] = {"?",     "u32",   "u64", "f64", "f32[]",
                                        "f64[]", "bytes", "str", "rng"};
    return t > 0 && t <= F_RNG ? names[t] : "unknown";
}

/*
 * CRC-32 (IEEE 802.3) by "slicing by 8": eight tables let the loop consume 8 bytes per step,
 * several times faster than a byte at a time on the megabytes of an agent's replay buffer.
 */
static uint32_t crc_table[8][256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void
crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
        crc_table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
        for (int t = 1; t < 8; t++)
            crc_table[t][i] = (crc_table[t - 1][i] >> 8) ^ crc_table[0][crc_table[t - 1][i] & 0xff];
}

static uint32_t
crc32_ieee(const unsigned char *p, size_t n)
{
    pthread_once(&crc_once, crc_init);
    uint32_t c = 0xffffffffu;
    while (n >= 8) {
        uint32_t lo, hi;
        memcpy(&lo, p, 4);
        memcpy(&hi, p + 4, 4);
        lo ^= c;
        c = crc_table[7][lo & 0xff] ^ crc_table[6][(lo >> 8) & 0xff] ^
            crc_table[5][(lo >> 16) & 0xff] ^ crc_table[4][lo >> 24] ^ crc_table[3][hi & 0xff] ^
            crc_table[2][(hi >> 8) & 0xff] ^ crc_table[1][(hi >> 16) & 0xff] ^
            crc_table[0][hi >> 24];
        p += 8;
        n -= 8;
    }
    while (n--)
        c = crc_table[0][(c ^ *p++) & 0xff] ^ (c >> 8);
    return c ^ 0xffffffffu;
}

static int
w_reserve(tars_blob_writer *w, size_t extra)
{
    if (w->failed || w->finished)
        return w->failed ? TARS_ENOMEM : TARS_EINVAL;
    if (extra > SIZE_MAX / 4 - w->len) {
        w->failed = 1;
        return TARS_ENOMEM;
    }
    if (w->len + extra <= w->cap)
        return 0;
    size_t cap = w->cap ? w->cap : 1024;
    while (cap < w->len + extra)
        cap *= 2;
    unsigned char *p = realloc(w->data, cap);
    if (!p) {
        w->failed = 1;
        return TARS_ENOMEM;
    }
    w->data = p;
    w->cap = cap;
    return 0;
}

static int
w_raw(tars_blob_writer *w, const void *p, size_t n)
{
    int rc = w_reserve(w, n);
    if (rc)
        return rc;
    if (n)
        memcpy(w->data + w->len, p, n);
    w->len += n;
    return 0;
}

static int
w_field(tars_blob_writer *w, int type, const void *p, size_t n, int counted, uint64_t count)
{
    int rc = w_reserve(w, 1 + (counted ? 8 : 0) + n);
    if (rc)
        return rc;
    unsigned char t = (unsigned char)type;
    w_raw(w, &t, 1);
    if (counted)
        w_raw(w, &count, 8);
    return w_raw(w, p, n);
}

int
tars_blob_writer_new(const char *tag, tars_blob_writer **out)
{
    size_t tag_len = tag ? strlen(tag) : 0;
    *out = NULL;
    if (tag_len > MAX_TAG)
        return TARS_EINVAL;
    tars_blob_writer *w = calloc(1, sizeof *w);
    if (!w)
        return TARS_ENOMEM;
    uint32_t format = BLOB_FORMAT, version = 0, tl = (uint32_t)tag_len;
    if (w_raw(w, MAGIC, MAGIC_LEN) || w_raw(w, &format, 4) || w_raw(w, &version, 4) ||
        w_raw(w, &tl, 4) || w_raw(w, tag, tag_len)) {
        tars_blob_writer_free(w);
        return TARS_ENOMEM;
    }
    *out = w;
    return 0;
}

int
tars_blob_set_version(tars_blob_writer *w, uint32_t version)
{
    if (!w || w->finished)
        return TARS_EINVAL;
    memcpy(w->data + VERSION_AT, &version, 4);
    return 0;
}

int
tars_blob_put_u32(tars_blob_writer *w, uint32_t v)
{
    return w_field(w, F_U32, &v, 4, 0, 0);
}

int
tars_blob_put_u64(tars_blob_writer *w, uint64_t v)
{
    return w_field(w, F_U64, &v, 8, 0, 0);
}

int
tars_blob_put_f64(tars_blob_writer *w, double v)
{
    return w_field(w, F_F64, &v, 8, 0, 0);
}

/* Arrays whose byte size would not fit a size_t are refused rather than wrapped. */
int
tars_blob_put_f32s(tars_blob_writer *w, const float *v, size_t n)
{
    return n > SIZE_MAX / 8 ? TARS_EINVAL : w_field(w, F_F32S, v, n * sizeof *v, 1, n);
}

int
tars_blob_put_f64s(tars_blob_writer *w, const double *v, size_t n)
{
    return n > SIZE_MAX / 16 ? TARS_EINVAL : w_field(w, F_F64S, v, n * sizeof *v, 1, n);
}

int
tars_blob_put_bytes(tars_blob_writer *w, const void *data, size_t n)
{
    return w_field(w, F_BYTES, data, n, 1, n);
}

int
tars_blob_put_str(tars_blob_writer *w, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    return w_field(w, F_STR, s, n, 1, n);
}

int
tars_blob_put_rng(tars_blob_writer *w, const tars_rng *r)
{
    return w_field(w, F_RNG, r->s, sizeof r->s, 0, 0);
}

int
tars_blob_writer_finish(tars_blob_writer *w, const void **data, size_t *len)
{
    if (w->failed)
        return TARS_ENOMEM;
    if (!w->finished) {
        uint32_t crc = crc32_ieee(w->data, w->len);
        if (w_raw(w, &crc, 4))
            return TARS_ENOMEM;
        w->finished = 1;
    }
    *data = w->data;
    *len = w->len;
    return 0;
}

void
tars_blob_writer_free(tars_blob_writer *w)
{
    if (!w)
        return;
    free(w->data);
    free(w);
}

struct tars_blob_reader {
    const unsigned char *data;
    size_t pos;
    size_t end; /* start of the CRC */
    uint32_t version;
    uint32_t field; /* index of the next field, for messages */
    char error[160];
};

int
tars_blob_reader_new(const void *data, size_t len, const char *tag, tars_blob_reader **out,
                     char *err, size_t errlen)
{
    const unsigned char *p = data;
    uint32_t format, version, tag_len, crc;
    *out = NULL;
    if (!data || len < MAGIC_LEN + 16 || memcmp(p, MAGIC, MAGIC_LEN) != 0)
        return tars__errf(err, errlen, TARS_EFORMAT, "not a tars state blob");
    memcpy(&format, p + MAGIC_LEN, 4);
    memcpy(&version, p + VERSION_AT, 4);
    memcpy(&tag_len, p + VERSION_AT + 4, 4);
    if (format != BLOB_FORMAT)
        return tars__errf(err, errlen, TARS_EVERSION, "blob format %u, this SDK reads format %u",
                          format, BLOB_FORMAT);
    size_t header = MAGIC_LEN + 12 + (size_t)tag_len;
    if (tag_len > MAX_TAG || header + 4 > len)
        return tars__errf(err, errlen, TARS_EFORMAT, "blob truncated in its header");
    memcpy(&crc, p + len - 4, 4);
    if (crc32_ieee(p, len - 4) != crc)
        return tars__errf(err, errlen, TARS_ECORRUPT,
                          "blob checksum mismatch (truncated or corrupt)");
    const char *stored = (const char *)p + MAGIC_LEN + 12;
    if (tag && (strlen(tag) != tag_len || memcmp(tag, stored, tag_len) != 0))
        return tars__errf(err, errlen, TARS_EFORMAT, "blob belongs to '%.*s', not '%s'",
                          (int)tag_len, stored, tag);
    tars_blob_reader *r = calloc(1, sizeof *r);
    if (!r)
        return tars__errf(err, errlen, TARS_ENOMEM, "out of memory");
    r->data = p;
    r->pos = header;
    r->end = len - 4;
    r->version = version;
    *out = r;
    return 0;
}

uint32_t
tars_blob_version(const tars_blob_reader *r)
{
    return r->version;
}

static int
r_fail(tars_blob_reader *r, const char *fmt, ...)
{
    if (!r->error[0]) {
        int n = snprintf(r->error, sizeof r->error, "field %u: ", r->field);
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(r->error + n, sizeof r->error - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return TARS_EFORMAT;
}

/*
 * Positions r on the payload of the next field if it has `type`; for counted fields stores
 * the count. Leaves r failed on a mismatch.
 */
static int
r_field(tars_blob_reader *r, int type, int counted, uint64_t *count, size_t elem)
{
    if (r->error[0])
        return TARS_EFORMAT;
    if (r->pos >= r->end)
        return r_fail(r, "expected %s, found the end of the blob", type_name(type));
    int found = r->data[r->pos];
    if (found != type)
        return r_fail(r, "expected %s, found %s", type_name(type), type_name(found));
    size_t pos = r->pos + 1;
    uint64_t n = 1;
    if (counted) {
        if (pos + 8 > r->end)
            return r_fail(r, "truncated %s", type_name(type));
        memcpy(&n, r->data + pos, 8);
        pos += 8;
    }
    if (elem && n > (r->end - pos) / elem)
        return r_fail(r, "truncated %s", type_name(type));
    r->pos = pos;
    if (count)
        *count = n;
    return 0;
}

static int
r_scalar(tars_blob_reader *r, int type, void *v, size_t size)
{
    int rc = r_field(r, type, 0, NULL, size);
    if (rc)
        return rc;
    memcpy(v, r->data + r->pos, size);
    r->pos += size;
    r->field++;
    return 0;
}

static int
r_array(tars_blob_reader *r, int type, void *v, size_t n, size_t elem)
{
    uint64_t count;
    size_t save = r->pos;
    int rc = r_field(r, type, 1, &count, elem);
    if (rc)
        return rc;
    if (count != n) {
        r->pos = save;
        return r_fail(r, "expected %s of %zu, found %llu", type_name(type), n,
                      (unsigned long long)count);
    }
    if (n)
        memcpy(v, r->data + r->pos, n * elem);
    r->pos += n * elem;
    r->field++;
    return 0;
}

int
tars_blob_get_u32(tars_blob_reader *r, uint32_t *v)
{
    return r_scalar(r, F_U32, v, 4);
}

int
tars_blob_get_u64(tars_blob_reader *r, uint64_t *v)
{
    return r_scalar(r, F_U64, v, 8);
}

int
tars_blob_get_f64(tars_blob_reader *r, double *v)
{
    return r_scalar(r, F_F64, v, 8);
}

int
tars_blob_get_rng(tars_blob_reader *r, tars_rng *rng)
{
    return r_scalar(r, F_RNG, rng->s, sizeof rng->s);
}

int
tars_blob_get_f32s(tars_blob_reader *r, float *v, size_t n)
{
    return r_array(r, F_F32S, v, n, sizeof *v);
}

int
tars_blob_get_f64s(tars_blob_reader *r, double *v, size_t n)
{
    return r_array(r, F_F64S, v, n, sizeof *v);
}

int
tars_blob_get_bytes(tars_blob_reader *r, void *data, size_t n)
{
    return r_array(r, F_BYTES, data, n, 1);
}

int
tars_blob_peek_len(tars_blob_reader *r, size_t *n)
{
    if (r->error[0] || r->pos + 9 > r->end)
        return TARS_EFORMAT;
    int t = r->data[r->pos];
    if (t != F_F32S && t != F_F64S && t != F_BYTES && t != F_STR)
        return TARS_EFORMAT;
    uint64_t count;
    memcpy(&count, r->data + r->pos + 1, 8);
    /* A length the blob cannot hold is refused here: callers allocate what this returns. */
    size_t elem = t == F_F32S ? sizeof(float) : t == F_F64S ? sizeof(double) : 1;
    if (count > (r->end - r->pos - 9) / elem)
        return r_fail(r, "truncated %s", type_name(t));
    *n = (size_t)count;
    return 0;
}

int
tars_blob_get_str(tars_blob_reader *r, char *buf, size_t len)
{
    uint64_t count;
    size_t save = r->pos;
    int rc = r_field(r, F_STR, 1, &count, 1);
    if (rc)
        return rc;
    if (count >= len) {
        r->pos = save;
        r_fail(r, "string of %llu bytes does not fit in %zu", (unsigned long long)count, len);
        return TARS_ERANGE;
    }
    memcpy(buf, r->data + r->pos, count);
    buf[count] = '\0';
    r->pos += count;
    r->field++;
    return 0;
}

int
tars_blob_reader_end(tars_blob_reader *r)
{
    if (r->error[0])
        return TARS_EFORMAT;
    if (r->pos != r->end)
        return r_fail(r, "%zu bytes left unread", r->end - r->pos);
    return 0;
}

const char *
tars_blob_reader_error(const tars_blob_reader *r)
{
    return r->error;
}

void
tars_blob_reader_free(tars_blob_reader *r)
{
    free(r);
}
