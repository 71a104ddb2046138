#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "diag.h"
#include "host_side.h"

/* Stores line (taking ownership) as one line of valid UTF-8, whatever users wrote in it. */
static void
push(struct diag *d, char *line)
{
    if (!line)
        return;
    size_t room = strlen(line) * 4 + 1;
    char *clean = malloc(room);
    if (clean) {
        tars__escape_line(line, clean, room);
        free(line);
        line = clean;
    }
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 8;
        char **v = realloc(d->lines, cap * sizeof *v);
        if (!v) {
            free(line);
            return;
        }
        d->lines = v;
        d->cap = cap;
    }
    d->lines[d->n++] = line;
}

static char *
vformat(const char *fmt, va_list ap)
{
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) < 0)
        return NULL;
    return s;
}

void
diag_at(struct diag *d, const char *file, int line, int col, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = vformat(fmt, ap);
    va_end(ap);
    if (!msg)
        return;
    char *out = NULL;
    int rc;
    if (file && line > 0)
        rc = asprintf(&out, "%s:%d:%d: %s", file, line, col > 0 ? col : 1, msg);
    else if (file)
        rc = asprintf(&out, "%s: %s", file, msg);
    else
        rc = asprintf(&out, "%s", msg);
    free(msg);
    if (rc >= 0)
        push(d, out);
}

void
diag_add(struct diag *d, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    push(d, vformat(fmt, ap));
    va_end(ap);
}

void
diag_print(const struct diag *d, FILE *f, const char *prefix)
{
    for (size_t i = 0; i < d->n; i++)
        fprintf(f, "%s%s\n", prefix ? prefix : "", d->lines[i]);
}

void
diag_free(struct diag *d)
{
    for (size_t i = 0; i < d->n; i++)
        free(d->lines[i]);
    free(d->lines);
    memset(d, 0, sizeof *d);
}

int
diag_fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}
