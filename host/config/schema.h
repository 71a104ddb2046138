/*
 * schema — typed tables that describe JSON documents (the config, manifests). One table
 * validates a document, names every error by position, and documents the format.
 */
#ifndef TARS_HOST_SCHEMA_H
#define TARS_HOST_SCHEMA_H

#include <jansson.h>
#include "jdoc.h"

enum sch_type {
    SCH_STRING = 1,
    SCH_INT,    /* integer in [min, max] */
    SCH_NUMBER, /* any finite number in [min, max] */
    SCH_BOOL,
    SCH_OBJECT, /* members described by `fields` */
    SCH_ARRAY,  /* elements of type `elem` (objects described by `fields`) */
    SCH_MAP,    /* object with free keys (e.g. parameter values), checked elsewhere */
};

#define SCH_REQUIRED 0x1u

struct sch_field {
    const char *key;
    enum sch_type type;
    unsigned flags;
    const char *help;
    const struct sch_field *fields; /* OBJECT, or ARRAY of OBJECT; ends with key == NULL */
    enum sch_type elem;             /* ARRAY */
    double min, max;                /* INT, NUMBER (ignored when min == max == 0) */
    const char *const *choices;     /* STRING: allowed values, NULL-terminated */
    int (*check)(const char *s);    /* STRING: extra syntax check, 1 = good */
    const char *expect;             /* STRING with check: what a good value looks like */
};

/*
 * Validates the object at ptr against fields: unknown keys, wrong types, out-of-range
 * numbers, missing required keys. Every error goes to d with its position; returns the
 * number of errors.
 */
int sch_validate(const struct sch_field *fields, json_t *obj, const char *ptr,
                 const struct jdoc *doc, struct diag *d);

/* Convenience getters for validated documents (default when absent). */
const char *sch_str(json_t *obj, const char *key, const char *def);
long long sch_int(json_t *obj, const char *key, long long def);
int sch_bool(json_t *obj, const char *key, int def);

#endif
