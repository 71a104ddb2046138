/* Parameter schemas, validation, parsing and snapshots (sdk/src/params.c). */
#include <math.h>
#include <stdlib.h>
#include "tap.h"
#include "tars/error.h"
#include "tars/params.h"

static const char *const noises[] = {"normal", "ou", NULL};

static const tars_param_def defs[] = {
    TARS_PARAM_FLOAT_DEF("lr", 3e-4, 1e-6, 1.0, TARS_PARAM_HOT | TARS_PARAM_LOG, "Learning rate."),
    TARS_PARAM_INT_DEF("batch", 64, 1, 4096, 0, "Batch size."),
    TARS_PARAM_BOOL_DEF("double_q", 0, 0, "Double Q-learning."),
    TARS_PARAM_ENUM_DEF("noise", 1, noises, TARS_PARAM_HOT, "Action noise."),
};

enum { LR, BATCH, DOUBLE_Q, NOISE };

static void
schema_checks(void)
{
    char err[256];
    ok(tars_params_check_schema(defs, TARS_COUNTOF(defs), err, sizeof err) == 0,
       "a good schema passes");

    const tars_param_def dup[] = {defs[0], defs[0]};
    is_int(tars_params_check_schema(dup, 2, err, sizeof err), TARS_ESCHEMA, "duplicate name");
    like(err, "'lr' is declared twice", "the message names the duplicate");

    const tars_param_def outside[] = {
        TARS_PARAM_FLOAT_DEF("gamma", 2.0, 0.0, 1.0, 0, "Discount."),
    };
    is_int(tars_params_check_schema(outside, 1, err, sizeof err), TARS_ESCHEMA,
           "default outside its range");
    like(err, "'gamma' default 2 is outside its range [0, 1]", "and says so");

    const tars_param_def badlog[] = {
        TARS_PARAM_FLOAT_DEF("tau", 0.5, 0.0, 1.0, TARS_PARAM_LOG, "Polyak."),
    };
    is_int(tars_params_check_schema(badlog, 1, err, sizeof err), TARS_ESCHEMA,
           "log scale needs a positive minimum");

    const tars_param_def fraction[] = {
        TARS_PARAM_INT_DEF("steps", 2.5, 0, 10, 0, "Steps."),
    };
    is_int(tars_params_check_schema(fraction, 1, err, sizeof err), TARS_ESCHEMA,
           "int default must be integral");

    const tars_param_def badname[] = {
        TARS_PARAM_BOOL_DEF("Bad-Name", 0, 0, "Upper case."),
    };
    is_int(tars_params_check_schema(badname, 1, err, sizeof err), TARS_ESCHEMA,
           "names are [a-z0-9_]");

    const tars_param_def unbounded[] = {
        TARS_PARAM_INT_DEF("steps", 5, 0, INFINITY, 0, "Steps."),
    };
    is_int(tars_params_check_schema(unbounded, 1, err, sizeof err), TARS_ESCHEMA,
           "int bounds must be finite (doubles hold integers exactly up to 2^53)");
    tars_param_def future = TARS_PARAM_BOOL_DEF("b", 0, 0, "B.");
    future.reserved[0] = "x";
    is_int(tars_params_check_schema(&future, 1, err, sizeof err), TARS_ESCHEMA,
           "reserved slots must be empty");

    static const char *const empty[] = {NULL};
    const tars_param_def noch[] = {TARS_PARAM_ENUM_DEF("e", 0, empty, 0, "Empty enum.")};
    is_int(tars_params_check_schema(noch, 1, err, sizeof err), TARS_ESCHEMA,
           "enum without choices");
}

static void
snapshot_checks(void)
{
    tars_params *p;
    char err[256];
    ok(tars_params_new(defs, TARS_COUNTOF(defs), &p) == 0, "new snapshot");
    is_near(tars_param_float(p, LR), 3e-4, 0, "float default");
    is_int(tars_param_int(p, BATCH), 64, "int default");
    is_int(tars_param_bool(p, DOUBLE_Q), 0, "bool default");
    is_int(tars_param_enum(p, NOISE), 1, "enum default index");
    is_str(tars_param_enum_name(p, NOISE), "ou", "enum default name");
    is_int(tars_params_index(p, "batch"), BATCH, "index by name");
    is_int(tars_params_index(p, "nope"), TARS_ENOENT, "unknown name has no index");
    is_int(tars_param_int(p, LR), 0, "reading with the wrong type gives 0");

    /* Types and ranges. */
    is_int(tars_params_set(p, LR, 5.0, err, sizeof err), TARS_ERANGE, "float above max refused");
    like(err, "parameter 'lr' = 5 is out of range [1e-06, 1]", "names parameter and range");
    is_near(tars_param_float(p, LR), 3e-4, 0, "refused value left the snapshot unchanged");
    is_int(tars_params_set(p, LR, NAN, err, sizeof err), TARS_EINVAL, "NaN refused");
    is_int(tars_params_set(p, BATCH, 12.5, err, sizeof err), TARS_EINVAL, "fractional int refused");
    like(err, "must be an integer in [1, 4096]", "with the range");
    is_int(tars_params_set(p, BATCH, 0, err, sizeof err), TARS_ERANGE, "int below min refused");
    is_int(tars_params_set(p, DOUBLE_Q, 2, err, sizeof err), TARS_EINVAL, "bool 2 refused");
    is_int(tars_params_set(p, NOISE, 2, err, sizeof err), TARS_ERANGE, "enum index out of range");
    like(err, "must be one of: normal, ou", "lists the choices");
    ok(tars_params_set(p, BATCH, 4096, err, sizeof err) == 0, "max is inclusive");

    /* Text. */
    ok(tars_params_parse(p, "lr", "1e-3", err, sizeof err) == 0, "parse float");
    is_near(tars_param_float(p, LR), 1e-3, 0, "parsed float");
    is_int(tars_params_parse(p, "lr", "fast", err, sizeof err), TARS_EINVAL, "non-number refused");
    like(err, "parameter 'lr' needs a number, not 'fast'", "names the text");
    ok(tars_params_parse(p, "batch", "1e3", err, sizeof err) == 0, "int written as 1e3");
    is_int(tars_param_int(p, BATCH), 1000, "parsed int");
    ok(tars_params_parse(p, "double_q", "yes", err, sizeof err) == 0, "bool yes");
    is_int(tars_param_bool(p, DOUBLE_Q), 1, "parsed bool");
    is_int(tars_params_parse(p, "double_q", "maybe", err, sizeof err), TARS_EINVAL,
           "bool maybe refused");
    ok(tars_params_parse(p, "noise", "normal", err, sizeof err) == 0, "enum by name");
    is_int(tars_param_enum(p, NOISE), 0, "parsed enum");
    is_int(tars_params_parse(p, "noise", "pink", err, sizeof err), TARS_ERANGE,
           "unknown choice refused");
    like(err, "must be one of: normal, ou, not 'pink'", "with the choices");
    is_int(tars_params_parse(p, "gamma", "0.9", err, sizeof err), TARS_ENOENT,
           "unknown parameter refused");
    like(err, "unknown parameter 'gamma' (known: lr, batch, double_q, noise)",
         "lists the known names");

    /* Formatting round-trips. */
    char buf[64];
    tars_params_set(p, LR, 0.1, err, sizeof err);
    tars_params_format(p, LR, buf, sizeof buf);
    is_str(buf, "0.1", "shortest float text");
    tars_params_set(p, LR, 1.0 / 3.0, err, sizeof err);
    tars_params_format(p, LR, buf, sizeof buf);
    ok(strtod(buf, NULL) == 1.0 / 3.0, "float text reads back exactly (%s)", buf);
    tars_params_format(p, NOISE, buf, sizeof buf);
    is_str(buf, "normal", "enum text");

    /* Clones are independent and count generations. */
    tars_params *q;
    ok(tars_params_clone(p, &q) == 0, "clone");
    is_int(tars_params_generation(q), tars_params_generation(p) + 1, "generation increases");
    tars_params_set(q, BATCH, 7, err, sizeof err);
    is_int(tars_param_int(p, BATCH), 1000, "changing a clone leaves the original alone");
    tars_params_free(q);
    tars_params_free(p);

    tars_params *none;
    tars_params_new(NULL, 0, &none);
    is_int(tars_params_parse(none, "x", "1", err, sizeof err), TARS_ENOENT, "empty schema");
    like(err, "this plugin has no parameters", "says there are none");
    tars_params_free(none);
}

int
main(void)
{
    schema_checks();
    snapshot_checks();
    return done_testing();
}
