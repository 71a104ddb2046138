/*
 * table — tarsctl's human output: aligned tables, "key  value" blocks, and numbers written
 * for people (17,049,840 steps; 3.45M steps/s; a local date). Scripts use --json instead,
 * so nothing here is meant to be parsed.
 */
#ifndef TARS_CTL_TABLE_H
#define TARS_CTL_TABLE_H

#include <jansson.h>
#include <stdio.h>

/* The size of the buffers the fmt_ functions write into. */
#define FMT_LEN 64

struct table {
    size_t ncols;
    const char *const *heads; /* a leading '>' right-aligns the column (numbers) */
    char **cells;             /* row after row; NULL cells (out of memory) print empty */
    size_t n, cap;
};

void table_init(struct table *t, const char *const *heads, size_t ncols);
/* Appends one cell; rows fill left to right, a new row starting after ncols cells. */
void table_add(struct table *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The number of complete rows. */
size_t table_rows(const struct table *t);
/* Prints the heads and the rows, columns two spaces apart, the last one unpadded. */
void table_print(const struct table *t, FILE *f);
void table_free(struct table *t);

/* One "key  value" line of a detail block, keys padded to one width. */
void kv(const char *key, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Cells from JSON values, written into buf (FMT_LEN bytes) and returned. A null or absent
 * value is "-" in all of them.
 *   fmt_value  strings as they are, integers plainly, reals exactly (%.15g), true/false
 *   fmt_sig    like fmt_value, reals to digits significant digits (measurements)
 *   fmt_count  an integer with thousands separators: 17,049,840
 *   fmt_rate   three significant digits with k/M/G: 3.45M
 *   fmt_fixed  a real with the given decimals
 *   fmt_time   Unix seconds as a local date and time: 2026-11-22 07:58:58
 *   fmt_bytes  a size in B, KiB, MiB or GiB
 *   fmt_age    seconds as "3d 4h", "5m 2s" or "12s"
 */
const char *fmt_value(char *buf, const json_t *v);
const char *fmt_sig(char *buf, const json_t *v, int digits);
const char *fmt_count(char *buf, const json_t *v);
const char *fmt_rate(char *buf, const json_t *v);
const char *fmt_fixed(char *buf, const json_t *v, int decimals);
const char *fmt_time(char *buf, const json_t *v);
const char *fmt_bytes(char *buf, const json_t *v);
const char *fmt_age(char *buf, double seconds);

/* The strings of a JSON array joined by sep, to free; NULL when out of memory. */
char *join_strings(const json_t *array, const char *sep);

/*
 * A parameter table from an API schema (an array of ParamDef, docs/openapi.json): name, type,
 * default, range (or choices), whether it can change while the agent trains (hot), help.
 * With values (an object), a VALUE column holds each parameter's current value.
 */
void schema_table(const json_t *schema, const json_t *values, FILE *f);

#endif
