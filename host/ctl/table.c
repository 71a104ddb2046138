/*
 * Aligned tables and number formats for tarsctl's human output. Widths count UTF-8
 * characters, not bytes, so help texts with accents stay aligned.
 */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "table.h"

#define KV_WIDTH 13

void
table_init(struct table *t, const char *const *heads, size_t ncols)
{
    memset(t, 0, sizeof *t);
    t->heads = heads;
    t->ncols = ncols;
}

void
table_add(struct table *t, const char *fmt, ...)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 8 * t->ncols;
        char **cells = realloc(t->cells, cap * sizeof *cells);
        if (!cells)
            return;
        t->cells = cells;
        t->cap = cap;
    }
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(&t->cells[t->n], fmt, ap) < 0)
        t->cells[t->n] = NULL;
    va_end(ap);
    t->n++;
}

size_t
table_rows(const struct table *t)
{
    return t->n / t->ncols;
}

static size_t
width(const char *s)
{
    size_t w = 0;
    for (; s && *s; s++)
        w += ((unsigned char)*s & 0xc0) != 0x80;
    return w;
}

static const char *
head_text(const struct table *t, size_t col)
{
    const char *h = t->heads[col];
    return h[0] == '>' ? h + 1 : h;
}

static void
print_cell(const struct table *t, size_t col, const char *s, const size_t *w, FILE *f)
{
    size_t pad = w[col] - width(s);
    int right = t->heads[col][0] == '>';
    int last = col + 1 == t->ncols;
    fprintf(f, "%s%*s%s%*s", col ? "  " : "", right ? (int)pad : 0, "", s ? s : "",
            right || last ? 0 : (int)pad, "");
}

void
table_print(const struct table *t, FILE *f)
{
    size_t *w = calloc(t->ncols, sizeof *w);
    if (!w)
        return;
    size_t rows = table_rows(t);
    for (size_t c = 0; c < t->ncols; c++) {
        w[c] = width(head_text(t, c));
        for (size_t r = 0; r < rows; r++) {
            size_t cw = width(t->cells[r * t->ncols + c]);
            w[c] = cw > w[c] ? cw : w[c];
        }
    }
    for (size_t c = 0; c < t->ncols; c++)
        print_cell(t, c, head_text(t, c), w, f);
    fputc('\n', f);
    for (size_t r = 0; r < rows; r++) {
        for (size_t c = 0; c < t->ncols; c++)
            print_cell(t, c, t->cells[r * t->ncols + c], w, f);
        fputc('\n', f);
    }
    free(w);
}

void
table_free(struct table *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->cells[i]);
    free(t->cells);
    memset(t, 0, sizeof *t);
}

void
kv(const char *key, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("%-*s", KV_WIDTH, key);
    vprintf(fmt, ap);
    putchar('\n');
    va_end(ap);
}

const char *
fmt_value(char *buf, const json_t *v)
{
    if (json_is_string(v))
        snprintf(buf, FMT_LEN, "%s", json_string_value(v));
    else if (json_is_integer(v))
        snprintf(buf, FMT_LEN, "%lld", (long long)json_integer_value(v));
    else if (json_is_real(v))
        snprintf(buf, FMT_LEN, "%.15g", json_real_value(v));
    else if (json_is_boolean(v))
        snprintf(buf, FMT_LEN, "%s", json_is_true(v) ? "true" : "false");
    else if (v && !json_is_null(v))
        snprintf(buf, FMT_LEN, "(%s)", json_is_array(v) ? "list" : "object");
    else
        snprintf(buf, FMT_LEN, "-");
    return buf;
}

const char *
fmt_sig(char *buf, const json_t *v, int digits)
{
    if (!json_is_real(v))
        return fmt_value(buf, v);
    snprintf(buf, FMT_LEN, "%.*g", digits, json_real_value(v));
    return buf;
}

const char *
fmt_count(char *buf, const json_t *v)
{
    if (!json_is_number(v))
        return fmt_value(buf, v);
    char digits[32];
    long long n =
        json_is_integer(v) ? (long long)json_integer_value(v) : llround(json_number_value(v));
    int len = snprintf(digits, sizeof digits, "%llu",
                       n < 0 ? 0ULL - (unsigned long long)n : (unsigned long long)n);
    char *o = buf;
    if (n < 0)
        *o++ = '-';
    for (int i = 0; i < len; i++) {
        if (i && (len - i) % 3 == 0)
            *o++ = ',';
        *o++ = digits[i];
    }
    *o = '\0';
    return buf;
}

const char *
fmt_rate(char *buf, const json_t *v)
{
    if (!json_is_number(v))
        return fmt_value(buf, v);
    double x = json_number_value(v);
    static const char units[] = " kMGT";
    int u = 0;
    while (fabs(x) >= 999.5 && u < 4) {
        x /= 1000;
        u++;
    }
    if (u == 0)
        snprintf(buf, FMT_LEN, "%.0f", x);
    else
        snprintf(buf, FMT_LEN, "%.*f%c",
                 fabs(x) < 9.995   ? 2
                 : fabs(x) < 99.95 ? 1
                                   : 0,
                 x, units[u]);
    return buf;
}

const char *
fmt_fixed(char *buf, const json_t *v, int decimals)
{
    if (!json_is_number(v))
        return fmt_value(buf, v);
    snprintf(buf, FMT_LEN, "%.*f", decimals, json_number_value(v));
    return buf;
}

const char *
fmt_time(char *buf, const json_t *v)
{
    if (!json_is_number(v) || json_number_value(v) <= 0)
        return fmt_value(buf, json_is_number(v) ? NULL : v);
    /* Past the year 9999 (or not a time at all) the number is shown as it came: a larger one
     * does not fit time_t, and converting it would be undefined. */
    if (!(json_number_value(v) < 253402300800.0)) {
        snprintf(buf, FMT_LEN, "%.0f", json_number_value(v));
        return buf;
    }
    time_t t = (time_t)json_number_value(v);
    struct tm tm;
    if (!localtime_r(&t, &tm) || !strftime(buf, FMT_LEN, "%Y-%m-%d %H:%M:%S", &tm))
        snprintf(buf, FMT_LEN, "%.0f", json_number_value(v));
    return buf;
}

const char *
fmt_bytes(char *buf, const json_t *v)
{
    if (!json_is_number(v))
        return fmt_value(buf, v);
    double x = json_number_value(v);
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    while (x >= 1024 && u < 4) {
        x /= 1024;
        u++;
    }
    snprintf(buf, FMT_LEN, u ? "%.1f %s" : "%.0f %s", x, units[u]);
    return buf;
}

const char *
fmt_age(char *buf, double s)
{
    /* Clamped to what fits (a century of seconds is far past anything real). */
    long long n = s > 0 ? (long long)fmin(s, 3.2e9) : 0;
    if (n >= 86400)
        snprintf(buf, FMT_LEN, "%lldd %lldh", n / 86400, n % 86400 / 3600);
    else if (n >= 3600)
        snprintf(buf, FMT_LEN, "%lldh %lldm", n / 3600, n % 3600 / 60);
    else if (n >= 60)
        snprintf(buf, FMT_LEN, "%lldm %llds", n / 60, n % 60);
    else
        snprintf(buf, FMT_LEN, "%llds", n);
    return buf;
}
