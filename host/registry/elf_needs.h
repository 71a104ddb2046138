/*
 * elf_needs — which libtars-sdk a plugin file was linked against, read from its bytes before
 * anything maps it.
 *
 * libtars-sdk.so versions its symbols (TARS_SDK_1.0, TARS_SDK_1.1...: sdk/libtars-sdk.map).
 * A plugin that calls a function added in 1.1 records "needs TARS_SDK_1.1 from
 * libtars-sdk.so.1" in its .gnu.version_r section; dlopen on a 1.0 host would fail with an
 * "undefined symbol" or "version not found" message naming no ABI. Reading the need first lets
 * the loader refuse it in one sentence.
 */
#ifndef TARS_HOST_ELF_NEEDS_H
#define TARS_HOST_ELF_NEEDS_H

#include <stddef.h>

struct sdk_need {
    int found;          /* 1 when the file needs a libtars-sdk at all */
    unsigned so_major;  /* N of the libtars-sdk.so.N it needs */
    unsigned abi_major; /* the newest TARS_SDK_M.m it needs from it (0.0: none named) */
    unsigned abi_minor;
};

/*
 * Reads an ELF64 little-endian shared object's version needs. Returns 0 (need filled, found 0
 * when it names no libtars-sdk) or TARS_EFORMAT for a file whose headers are out of bounds.
 */
int elf_sdk_need(const unsigned char *data, size_t len, struct sdk_need *need);

#endif
