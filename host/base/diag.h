/*
 * diag — collected user-facing errors, each one line: "FILE:LINE:COL: message" when the
 * position is known, "FILE: message" or just "message" otherwise. Single-threaded.
 */
#ifndef TARS_HOST_DIAG_H
#define TARS_HOST_DIAG_H

#include <stddef.h>
#include <stdio.h>

struct diag {
    char **lines;
    size_t n;
    size_t cap;
};

/* file may be NULL; line <= 0 omits the position. */
void diag_at(struct diag *d, const char *file, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
void diag_add(struct diag *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints every line to f, prefixed by `prefix` (e.g. "tarsd: ") when non-NULL. */
void diag_print(const struct diag *d, FILE *f, const char *prefix);
void diag_free(struct diag *d);
/* Writes one sentence into err and returns -1: `return diag_fail(err, errlen, "...", ...);`. */
int diag_fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
