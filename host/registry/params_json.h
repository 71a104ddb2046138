/*
 * params_json — parameter values written in JSON (manifest defaults, config params, API
 * requests) applied to snapshots, with every error named by position.
 */
#ifndef TARS_HOST_PARAMS_JSON_H
#define TARS_HOST_PARAMS_JSON_H

#include <jansson.h>
#include "jdoc.h"
#include "tars/params.h"
#include "tars/plugin.h"

/*
 * Sets one parameter from a JSON value: a number for float and int, true/false for bool, a
 * string for enum (or any type as text, e.g. "1e-3"). Unknown names, wrong types and
 * out-of-range values fail with one sentence in err; p is unchanged then.
 */
int pjson_set(tars_params *p, const char *name, json_t *v, char *err, size_t errlen);

/*
 * What an object of parameter values is: plain values (config params, API requests), a
 * manifest's defaults (whose object members are named presets), or one preset (which may
 * also name the host setting PJ_N_ENVS).
 */
enum pjson_scope { PJ_PARAMS, PJ_DEFAULTS, PJ_PRESET };
#define PJ_N_ENVS "n_envs"

/*
 * Applies every member of obj. In PJ_DEFAULTS, a member whose value is an object is a named
 * preset: it is validated (on a scratch copy) but not applied. PJ_N_ENVS in a preset is
 * validated and skipped. Errors go to d at the position of each member (doc may be NULL for
 * in-memory objects). Returns the error count; on errors p may hold the valid members.
 */
int pjson_apply(tars_params *p, json_t *obj, enum pjson_scope scope, const struct jdoc *doc,
                const char *ptr, struct diag *d);

/*
 * A fresh snapshot of info's schema carrying values over: the schema's defaults, then the
 * manifest's defaults (its presets left out), then each member of values whose name the
 * schema knows (what another build ran with; names it dropped are skipped). 0, or -ENOMEM /
 * -EINVAL with one sentence in err and *out NULL. For code swaps and their smoke tests.
 */
int pjson_snapshot(const tars_plugin_info *info, json_t *defaults, json_t *values,
                   tars_params **out, char *err, size_t errlen);

/* The schema as JSON (for the API and `tarsctl plugin check --json`). */
json_t *pjson_schema(const tars_param_def *defs, uint32_t n);
/* One value of parameter d as JSON: a number, true/false, or the enum's choice. */
json_t *pjson_value(const tars_param_def *d, double v);
/* The snapshot's values as a JSON object. */
json_t *pjson_values(const tars_params *p);

#endif
