/*
 * jdoc — a JSON document that remembers where every value came from.
 *
 * jansson parses the text and reports syntax errors with their position, but forgets
 * positions afterwards. A second, small scanner walks the same (already valid) text and
 * records the line and column of every key and value by JSON pointer ("/agents/0/seed"), so
 * that validation errors found later still read "FILE:LINE:COL: message".
 */
#ifndef TARS_HOST_JDOC_H
#define TARS_HOST_JDOC_H

#include <jansson.h>
#include <stddef.h>
#include "diag.h"

struct jpos {
    char *ptr;    /* JSON pointer of the value */
    int key_line; /* position of its key (0 for array elements and the root) */
    int key_col;
    int line; /* position of the value's first character */
    int col;
};

struct jdoc {
    char *file; /* as given, for messages */
    json_t *root;
    struct jpos *pos;
    size_t n_pos;
};

/*
 * Reads and parses file. Syntax errors, duplicate keys and unreadable files are added to d
 * with their position; returns 0 or -1. On failure doc holds nothing to free.
 */
int jdoc_load(struct jdoc *doc, const char *file, struct diag *d);
/* The same from text already in memory (`file` only names it in messages). */
int jdoc_parse(struct jdoc *doc, const char *file, const char *text, size_t len, struct diag *d);
void jdoc_free(struct jdoc *doc);

/* Position of the value at ptr (or of its key when at_key and it has one); 0 if unknown. */
int jdoc_find(const struct jdoc *doc, const char *ptr, int at_key, int *line, int *col);

/* Adds "FILE:LINE:COL: message" for the value (or key) at ptr. */
void jdoc_error(const struct jdoc *doc, struct diag *d, const char *ptr, int at_key,
                const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Appends "/" + escaped key to a pointer; returns a new string or NULL. */
char *jptr_key(const char *base, const char *key);
char *jptr_index(const char *base, size_t index);

#endif
