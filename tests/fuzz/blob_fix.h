/*
 * Checksums put right: a state blob's CRC-32 would refuse nearly every mutation at the
 * first check, and a checkpoint on disk can be rewritten with a matching one by whoever can
 * write it, so the targets that read blobs recompute the CRC of each blob in the input
 * (nested ones first: a run's blob holds its agent's and env's).
 */
#ifndef TARS_TESTS_FUZZ_BLOB_FIX_H
#define TARS_TESTS_FUZZ_BLOB_FIX_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static uint32_t
fix_crc32(const uint8_t *p, size_t n)
{
    static uint32_t table[256];
    if (!table[1])
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t c = i;
            for (int k = 0; k < 8; k++)
                c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
            table[i] = c;
        }
    uint32_t crc = 0xffffffffu;
    for (size_t i = 0; i < n; i++)
        crc = table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
    return ~crc;
}

static void
fix_one(uint8_t *p, size_t len)
{
    if (len < 24)
        return;
    uint32_t crc = fix_crc32(p, len - 4);
    memcpy(p + len - 4, &crc, 4);
}

/* Every "TARSBLOB" after a bytes field (type 6, u64 length) is a nested blob of that length. */
static void
fix_blobs(uint8_t *p, size_t len)
{
    for (size_t at = len; at-- > 9;) {
        if (at + 8 > len || memcmp(p + at, "TARSBLOB", 8) != 0 || p[at - 9] != 6)
            continue;
        uint64_t n;
        memcpy(&n, p + at - 8, 8);
        if (n <= len - at)
            fix_one(p + at, (size_t)n);
    }
    if (len >= 8 && memcmp(p, "TARSBLOB", 8) == 0)
        fix_one(p, len);
}

#endif
