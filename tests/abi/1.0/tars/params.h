/*
 * tars/params.h — parameter schemas and immutable parameter snapshots.
 *
 * A plugin declares its parameters once, as a static array of tars_param_def. The host
 * validates every user-supplied value against it, builds a snapshot (tars_params) and passes
 * that snapshot to every op. A snapshot never changes once the host has handed it to a
 * plugin: a parameter update publishes a new snapshot, and the next op call receives it.
 * Plugins read values by index (the position in their schema array), which costs one load.
 */
#ifndef TARS_PARAMS_H
#define TARS_PARAMS_H

#include <stddef.h>
#include <stdint.h>
#include "tars/version.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum tars_param_type {
    TARS_PARAM_FLOAT = 1, /* double in [min, max] */
    TARS_PARAM_INT = 2,   /* integer in [min, max] */
    TARS_PARAM_BOOL = 3,  /* 0 or 1 */
    TARS_PARAM_ENUM = 4,  /* index into choices */
} tars_param_type;

/* May change while the plugin runs: the next op call sees the new value. */
#define TARS_PARAM_HOT 0x1u
/* Searched on a log scale by tuners (min must be > 0). */
#define TARS_PARAM_LOG 0x2u

/*
 * One parameter. For ENUM, `choices` is a NULL-terminated list and `def` the index of the
 * default choice; min and max are ignored. For BOOL, def is 0 or 1.
 */
typedef struct tars_param_def {
    const char *name; /* [a-z0-9_]+, unique within the schema */
    const char *help; /* one sentence for the API, the UI and the docs */
    uint32_t type;    /* tars_param_type */
    uint32_t flags;   /* TARS_PARAM_HOT | TARS_PARAM_LOG */
    double min;
    double max;
    double def;
    const char *const *choices;
    const void *reserved[2];
} tars_param_def;

#define TARS_PARAM_FLOAT_DEF(name, def, min, max, flags, help)                \
    {                                                                         \
        (name), (help), TARS_PARAM_FLOAT, (flags), (min), (max), (def), NULL, \
        {                                                                     \
            NULL, NULL                                                        \
        }                                                                     \
    }
#define TARS_PARAM_INT_DEF(name, def, min, max, flags, help)                \
    {                                                                       \
        (name), (help), TARS_PARAM_INT, (flags), (min), (max), (def), NULL, \
        {                                                                   \
            NULL, NULL                                                      \
        }                                                                   \
    }
#define TARS_PARAM_BOOL_DEF(name, def, flags, help)                  \
    {                                                                \
        (name), (help), TARS_PARAM_BOOL, (flags), 0, 1, (def), NULL, \
        {                                                            \
            NULL, NULL                                               \
        }                                                            \
    }
#define TARS_PARAM_ENUM_DEF(name, def_index, choices, flags, help)              \
    {                                                                           \
        (name), (help), TARS_PARAM_ENUM, (flags), 0, 0, (def_index), (choices), \
        {                                                                       \
            NULL, NULL                                                          \
        }                                                                       \
    }

/* Number of elements of a static array. */
#define TARS_COUNTOF(a) (sizeof(a) / sizeof((a)[0]))

/* An immutable set of values for one schema (opaque). */
typedef struct tars_params tars_params;

/*
 * Reading a snapshot. `idx` is the parameter's position in the schema; an index out of range
 * or of the wrong type is a programming error and returns 0. Any thread; never blocks.
 */
TARS_EXPORT double tars_param_float(const tars_params *p, uint32_t idx);
TARS_EXPORT int64_t tars_param_int(const tars_params *p, uint32_t idx);
TARS_EXPORT int tars_param_bool(const tars_params *p, uint32_t idx);
TARS_EXPORT uint32_t tars_param_enum(const tars_params *p, uint32_t idx);
/* The chosen name of an ENUM parameter, or "" when idx is not an ENUM. */
TARS_EXPORT const char *tars_param_enum_name(const tars_params *p, uint32_t idx);
/* Any type as a double (ENUM: the index). */
TARS_EXPORT double tars_param_value(const tars_params *p, uint32_t idx);

/* Schema size, one definition, and the index of a name (TARS_ENOENT when unknown). */
TARS_EXPORT uint32_t tars_params_count(const tars_params *p);
TARS_EXPORT const tars_param_def *tars_params_def(const tars_params *p, uint32_t idx);
TARS_EXPORT int tars_params_index(const tars_params *p, const char *name);
/* Increases by one with every snapshot derived from another (tars_params_clone). */
TARS_EXPORT uint64_t tars_params_generation(const tars_params *p);

/*
 * Building snapshots: used by the host and by tuners (which fill a snapshot in ask).
 * A snapshot may be changed only by its owner and only before it is shared.
 */

/*
 * Checks a schema: unique well-formed names, known types and flags, min <= def <= max,
 * integral bounds for INT, non-empty choices for ENUM, min > 0 with LOG. On failure
 * returns TARS_ESCHEMA and writes one sentence naming the parameter into err.
 */
TARS_EXPORT int tars_params_check_schema(const tars_param_def *defs, uint32_t n, char *err,
                                         size_t errlen);

/* A snapshot holding every default. The schema must outlive it. TARS_ENOMEM on failure. */
TARS_EXPORT int tars_params_new(const tars_param_def *defs, uint32_t n, tars_params **out);
/* A copy with generation + 1. TARS_ENOMEM on failure. */
TARS_EXPORT int tars_params_clone(const tars_params *p, tars_params **out);
TARS_EXPORT void tars_params_free(tars_params *p);

/*
 * Sets parameter idx to v after checking type and range; on failure returns TARS_EINVAL
 * or TARS_ERANGE, leaves p unchanged and writes one sentence naming the parameter and
 * its valid range into err (err may be NULL).
 */
TARS_EXPORT int tars_params_set(tars_params *p, uint32_t idx, double v, char *err, size_t errlen);

/*
 * Sets a parameter from text ("0.001", "1e-3", "true", an enum choice). Unknown names
 * return TARS_ENOENT with the list of known names in err. Nothing changes on failure.
 */
TARS_EXPORT int tars_params_parse(tars_params *p, const char *name, const char *text, char *err,
                                  size_t errlen);

/* Writes "name" as text into buf (e.g. "0.001", "true", "normal"). Returns bytes needed. */
TARS_EXPORT int tars_params_format(const tars_params *p, uint32_t idx, char *buf, size_t len);

#ifdef __cplusplus
}
#endif

#endif
