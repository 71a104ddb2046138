#include <elf.h>
#include <stdio.h>
#include <string.h>
#include "elf_needs.h"
#include "tars/error.h"

/* [off, off + n) lies inside the file, without overflow. */
static int
in_file(size_t len, uint64_t off, uint64_t n)
{
    return off <= len && n <= len - off;
}

/* The string at off of a string table [tab, tab + size), or NULL when it runs past the table. */
static const char *
str_at(const unsigned char *data, const Elf64_Shdr *tab, uint64_t off)
{
    if (off >= tab->sh_size)
        return NULL;
    const char *s = (const char *)data + tab->sh_offset + off;
    return memchr(s, '\0', tab->sh_size - off) ? s : NULL;
}

/* Folds one needed version name ("TARS_SDK_1.1") into need, keeping the newest. */
static void
note_version(const char *name, struct sdk_need *need)
{
    unsigned major, minor;
    char tail;
    if (!name || sscanf(name, "TARS_SDK_%u.%u%c", &major, &minor, &tail) != 2)
        return;
    if (major > need->abi_major || (major == need->abi_major && minor > need->abi_minor)) {
        need->abi_major = major;
        need->abi_minor = minor;
    }
}

/* Walks the Verneed chain of one SHT_GNU_verneed section. */
static int
read_verneed(const unsigned char *data, size_t len, const Elf64_Shdr *sec, const Elf64_Shdr *strtab,
             struct sdk_need *need)
{
    uint64_t at = sec->sh_offset;
    for (uint64_t i = 0; i < sec->sh_info; i++) {
        Elf64_Verneed vn;
        if (!in_file(len, at, sizeof vn))
            return TARS_EFORMAT;
        memcpy(&vn, data + at, sizeof vn);
        const char *file = str_at(data, strtab, vn.vn_file);
        unsigned so_major;
        char tail;
        if (file && sscanf(file, "libtars-sdk.so.%u%c", &so_major, &tail) == 1) {
            need->found = 1;
            need->so_major = so_major;
            uint64_t aux_at = at + vn.vn_aux;
            for (unsigned k = 0; k < vn.vn_cnt; k++) {
                Elf64_Vernaux aux;
                if (!in_file(len, aux_at, sizeof aux))
                    return TARS_EFORMAT;
                memcpy(&aux, data + aux_at, sizeof aux);
                note_version(str_at(data, strtab, aux.vna_name), need);
                if (!aux.vna_next)
                    break;
                aux_at += aux.vna_next;
            }
        }
        if (!vn.vn_next)
            break;
        at += vn.vn_next;
    }
    return 0;
}

int
elf_sdk_need(const unsigned char *data, size_t len, struct sdk_need *need)
{
    memset(need, 0, sizeof *need);
    Elf64_Ehdr eh;
    if (len < sizeof eh)
        return TARS_EFORMAT;
    memcpy(&eh, data, sizeof eh);
    if (memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
        eh.e_ident[EI_DATA] != ELFDATA2LSB || eh.e_shentsize != sizeof(Elf64_Shdr) ||
        !in_file(len, eh.e_shoff, (uint64_t)eh.e_shnum * sizeof(Elf64_Shdr)))
        return TARS_EFORMAT;
    for (unsigned i = 0; i < eh.e_shnum; i++) {
        Elf64_Shdr sec, strtab;
        memcpy(&sec, data + eh.e_shoff + (uint64_t)i * sizeof sec, sizeof sec);
        if (sec.sh_type != SHT_GNU_verneed)
            continue;
        if (sec.sh_link >= eh.e_shnum)
            return TARS_EFORMAT;
        memcpy(&strtab, data + eh.e_shoff + (uint64_t)sec.sh_link * sizeof strtab, sizeof strtab);
        if (!in_file(len, sec.sh_offset, sec.sh_size) ||
            !in_file(len, strtab.sh_offset, strtab.sh_size))
            return TARS_EFORMAT;
        int rc = read_verneed(data, len, &sec, &strtab, need);
        if (rc)
            return rc;
    }
    return 0;
}
