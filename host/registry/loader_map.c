/*
 * The loader's second half: mapping. A staged copy (loader.c) is dlopen'ed, its entry symbol
 * called, and the descriptor it returns checked and copied into the host's zero-filled copies
 * (struct plugin_abi): the ABI numbers and sizes, the descriptor's own fields, and each kind's
 * ops table against its rules (kind_rules). loader_open (both halves in one call) and the
 * unmapping (release, loader_close) live here too, beside the dlopen they undo.
 */
#include <dlfcn.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "host_side.h"
#include "loader.h"
#include "manifest.h"

/*
 * The descriptor's size in ABI 1.0: the smallest a plugin may hand us. Later minors append
 * fields; within major 1 this never changes (sdk/src/abi_layout.c holds every 1.0 offset).
 */
#define INFO_SIZE_1_0 120u

/* Reserved slots must be zero: a later minor may give them a meaning. */
static int
all_zero(const void *p, size_t len)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < len; i++)
        if (b[i])
            return 0;
    return 1;
}

#define RESERVED_ZERO(obj, field) all_zero((obj)->field, sizeof((obj)->field))

/* One line of valid UTF-8 without control characters. */
static int
one_line_utf8(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        int extra = *p < 0x80             ? 0
                    : (*p & 0xe0) == 0xc0 ? 1
                    : (*p & 0xf0) == 0xe0 ? 2
                    : (*p & 0xf8) == 0xf0 ? 3
                                          : -1;
        if (extra < 0 || (*p < 0x80 && (*p < 0x20 || *p == 0x7f)))
            return 0;
        p++;
        for (int k = 0; k < extra; k++, p++)
            if ((*p & 0xc0) != 0x80)
                return 0;
    }
    return 1;
}

/* What an op of a kind's table must satisfy. */
enum op_need {
    OP_ALWAYS,     /* must be set */
    OP_PAIRED,     /* set together with the op at `other`, or neither */
    OP_FOR_INPUTS, /* must be set when the exporter's inputs include `input` */
    OP_FOR_ROLES,  /* must be set when the tuner's roles meet `input` (TARS_TUNER_* bits) */
};

struct op_rule {
    const char *name; /* as the refusal says it */
    size_t at;        /* offset of the function pointer */
    enum op_need need;
    size_t other;   /* OP_PAIRED: offset of its twin */
    uint32_t input; /* OP_FOR_INPUTS: the TARS_EXPORT_* bit; OP_FOR_ROLES: TARS_TUNER_* bits */
};

#define MAX_OP_RULES 8

/* One kind's table: its sizes, its reserved fields and the rules of its ops. */
struct kind_rules {
    uint32_t kind;
    uint32_t since_minor; /* the first ABI minor whose table this host runs (tuners: 1.1) */
    uint32_t min_size;    /* the smallest table a plugin may hand us (that minor's) */
    size_t host_size;     /* sizeof the table in this host's headers */
    size_t reserved0;     /* offset of the uint32_t reserved0, or 0 when the kind has none */
    size_t reserved_at;   /* the reserved pointer slots */
    size_t reserved_len;
    struct op_rule ops[MAX_OP_RULES];
};

#define ALWAYS(T, op)                         \
    {                                         \
#op, offsetof(T, op), OP_ALWAYS, 0, 0 \
    }
#define PAIRED(T, a, b)                                                                  \
    {                                                                                    \
#a " and " #b " (both or neither)", offsetof(T, a), OP_PAIRED, offsetof(T, b), 0 \
    }
#define FOR_INPUTS(T, op, bit)                      \
    {                                               \
#op, offsetof(T, op), OP_FOR_INPUTS, 0, bit \
    }
#define FOR_ROLES(T, op, bits)                      \
    {                                               \
#op, offsetof(T, op), OP_FOR_ROLES, 0, bits \
    }
#define RESERVED(T) offsetof(T, reserved), sizeof(((T *)0)->reserved)

static const struct kind_rules kind_rules[] = {
    {TARS_KIND_ENV,
     0,
     96,
     sizeof(tars_env_ops),
     offsetof(tars_env_ops, reserved0),
     RESERVED(tars_env_ops),
     {ALWAYS(tars_env_ops, create), ALWAYS(tars_env_ops, destroy), ALWAYS(tars_env_ops, spec),
      ALWAYS(tars_env_ops, reset), ALWAYS(tars_env_ops, step), PAIRED(tars_env_ops, save, load)}},
    {TARS_KIND_AGENT,
     0,
     96,
     sizeof(tars_agent_ops),
     offsetof(tars_agent_ops, reserved0),
     RESERVED(tars_agent_ops),
     {ALWAYS(tars_agent_ops, create), ALWAYS(tars_agent_ops, destroy), ALWAYS(tars_agent_ops, act),
      ALWAYS(tars_agent_ops, observe), ALWAYS(tars_agent_ops, save), ALWAYS(tars_agent_ops, load)}},
    {TARS_KIND_SOLVER,
     0,
     64,
     sizeof(tars_solver_ops),
     offsetof(tars_solver_ops, reserved0),
     RESERVED(tars_solver_ops),
     {ALWAYS(tars_solver_ops, create), ALWAYS(tars_solver_ops, destroy),
      ALWAYS(tars_solver_ops, solve)}},
    /* 1.0's tuner table was provisional and nothing ran it: 1.1 froze another. */
    {TARS_KIND_TUNER,
     1,
     112,
     sizeof(tars_tuner_ops),
     0,
     RESERVED(tars_tuner_ops),
     {ALWAYS(tars_tuner_ops, create), ALWAYS(tars_tuner_ops, destroy), ALWAYS(tars_tuner_ops, tell),
      FOR_ROLES(tars_tuner_ops, ask, TARS_TUNER_SAMPLER),
      FOR_ROLES(tars_tuner_ops, report, TARS_TUNER_PRUNER), PAIRED(tars_tuner_ops, save, load)}},
    {TARS_KIND_EXPORTER,
     0,
     80,
     sizeof(tars_exporter_ops),
     0,
     RESERVED(tars_exporter_ops),
     {ALWAYS(tars_exporter_ops, create), ALWAYS(tars_exporter_ops, destroy),
      ALWAYS(tars_exporter_ops, content_type),
      FOR_INPUTS(tars_exporter_ops, metrics, TARS_EXPORT_METRICS),
      FOR_INPUTS(tars_exporter_ops, tensors, TARS_EXPORT_TENSORS)}},
};

static const struct kind_rules *
rules_for(uint32_t kind)
{
    for (size_t i = 0; i < sizeof kind_rules / sizeof kind_rules[0]; i++)
        if (kind_rules[i].kind == kind)
            return &kind_rules[i];
    return NULL;
}

/* Whether the pointer-sized slot at `at` of table is set (ops and content_type alike). */
static int
slot_set(const void *table, size_t at)
{
    const void *p;
    memcpy(&p, (const char *)table + at, sizeof p);
    return p != NULL;
}

/* The name of the first op `ops` (the host's zero-filled copy) lacks, or NULL. */
static const char *
missing_op(const struct kind_rules *k, const void *ops)
{
    uint32_t inputs = 0, roles = 0;
    if (k->kind == TARS_KIND_EXPORTER)
        inputs = ((const tars_exporter_ops *)ops)->inputs;
    if (k->kind == TARS_KIND_TUNER)
        roles = ((const tars_tuner_ops *)ops)->roles;
    for (const struct op_rule *r = k->ops; r < k->ops + MAX_OP_RULES && r->name; r++) {
        int set = slot_set(ops, r->at);
        if ((r->need == OP_ALWAYS && !set) ||
            (r->need == OP_PAIRED && set != slot_set(ops, r->other)) ||
            (r->need == OP_FOR_INPUTS && (inputs & r->input) && !set) ||
            (r->need == OP_FOR_ROLES && (roles & r->input) && !set))
            return r->name;
    }
    if (k->kind == TARS_KIND_TUNER &&
        (!roles || (roles & ~(TARS_TUNER_SAMPLER | TARS_TUNER_PRUNER))))
        return "roles (TARS_TUNER_SAMPLER, TARS_TUNER_PRUNER or both)";
    if (k->kind == TARS_KIND_EXPORTER && !inputs)
        return "inputs";
    return NULL;
}

/*
 * Copies the plugin's ops table into abi->ops: min(its struct_size, ours) bytes, the rest zero,
 * so ops appended after the plugin was built read as NULL. Then checks the copy.
 */
static int
adopt_ops(const void *plugin_ops, struct plugin_abi *abi, char *err, size_t errlen)
{
    const struct kind_rules *k = rules_for(abi->info.kind);
    const char *kind = tars_kind_name(abi->info.kind);
    if (!plugin_ops)
        return tars__errf(err, errlen, TARS_ESCHEMA, "descriptor has no ops table");
    uint32_t size;
    memcpy(&size, plugin_ops, sizeof size);
    if (abi->info.abi_minor < k->since_minor)
        return tars__errf(err, errlen, TARS_EABI,
                          "%s plugins need ABI %u.%u or later (built for %u.%u, whose %s table "
                          "was provisional): rebuild it against this SDK",
                          kind, TARS_ABI_MAJOR, k->since_minor, abi->info.abi_major,
                          abi->info.abi_minor, kind);
    if (size < k->min_size)
        return tars__errf(err, errlen, TARS_EABI,
                          "%s ops table of %u bytes is smaller than ABI %u.%u's %u", kind, size,
                          TARS_ABI_MAJOR, k->since_minor, k->min_size);
    memset(&abi->ops, 0, sizeof abi->ops);
    memcpy(&abi->ops, plugin_ops, size < k->host_size ? size : k->host_size);
    abi->info.ops = &abi->ops;
    uint32_t reserved0 = 0;
    if (k->reserved0)
        memcpy(&reserved0, (const char *)&abi->ops + k->reserved0, sizeof reserved0);
    if (reserved0 || !all_zero((const char *)&abi->ops + k->reserved_at, k->reserved_len))
        return tars__errf(err, errlen, TARS_EABI,
                          "%s ops table sets reserved fields (built for a newer ABI?)", kind);
    const char *missing = missing_op(k, &abi->ops);
    if (missing)
        return tars__errf(err, errlen, TARS_ESCHEMA, "%s ops table lacks %s", kind, missing);
    return 0;
}

/* The ABI numbers and the descriptor's size, read before anything else of it. */
static int
check_abi(const tars_plugin_info *info, char *err, size_t errlen)
{
    if (info->abi_major != TARS_ABI_MAJOR)
        return tars__errf(err, errlen, TARS_EABI,
                          "built for ABI %u.%u; this host loads ABI %u.x only", info->abi_major,
                          info->abi_minor, TARS_ABI_MAJOR);
    if (info->abi_minor > TARS_ABI_MINOR)
        return tars__errf(err, errlen, TARS_EABI,
                          "built for ABI %u.%u, this tarsd has %u.%u; upgrade tars",
                          info->abi_major, info->abi_minor, TARS_ABI_MAJOR, TARS_ABI_MINOR);
    if (info->struct_size < INFO_SIZE_1_0)
        return tars__errf(err, errlen, TARS_EABI,
                          "descriptor of %u bytes is smaller than ABI 1.0's %u", info->struct_size,
                          INFO_SIZE_1_0);
    return 0;
}

/* The descriptor's own fields: kind, name, version, description, parameter schema. */
static int
check_descriptor(const tars_plugin_info *info, char *err, size_t errlen)
{
    if (!RESERVED_ZERO(info, reserved))
        return tars__errf(err, errlen, TARS_EABI,
                          "descriptor sets reserved fields (built for a newer ABI?)");
    if (!tars_kind_name(info->kind) || !rules_for(info->kind))
        return tars__errf(err, errlen, TARS_ESCHEMA, "descriptor has unknown kind %u", info->kind);
    if (!manifest_name_ok(info->name))
        return tars__errf(err, errlen, TARS_ESCHEMA, "descriptor name is missing or not [a-z0-9-]");
    if (!info->version || !manifest_semver_ok(info->version))
        return tars__errf(err, errlen, TARS_ESCHEMA,
                          "descriptor version is not a semantic version");
    if (!info->description || !one_line_utf8(info->description))
        return tars__errf(err, errlen, TARS_ESCHEMA,
                          "descriptor description is missing or not one line of UTF-8");
    for (uint32_t i = 0; info->params && i < info->n_params; i++)
        if (info->params[i].help && !one_line_utf8(info->params[i].help))
            return tars__errf(err, errlen, TARS_ESCHEMA,
                              "help of parameter %u is not one line of UTF-8", i);
    char why[256];
    if (tars_params_check_schema(info->params, info->n_params, why, sizeof why))
        return tars__errf(err, errlen, TARS_ESCHEMA, "bad parameter schema: %s", why);
    return 0;
}

int
loader_adopt(const tars_plugin_info *info, struct plugin_abi *abi, char *err, size_t errlen)
{
    memset(abi, 0, sizeof *abi);
    /* struct_size and the ABI numbers sit first in every ABI major: read them before the rest. */
    int rc = check_abi(info, err, errlen);
    if (rc)
        return rc;
    memcpy(&abi->info, info,
           info->struct_size < sizeof abi->info ? info->struct_size : sizeof abi->info);
    abi->info.ops = NULL; /* only ever the host's copy, set by adopt_ops */
    rc = check_descriptor(&abi->info, err, errlen);
    if (!rc)
        rc = adopt_ops(info->ops, abi, err, errlen);
    return rc;
}

int
loader_check_info(const tars_plugin_info *info, char *err, size_t errlen)
{
    struct plugin_abi abi;
    return loader_adopt(info, &abi, err, errlen);
}

/* Empties lib but for its sha256, which callers report with a refusal. */
static void
keep_sha_only(struct lib *lib)
{
    char sha[65];
    memcpy(sha, lib->sha256, sizeof sha);
    memset(lib, 0, sizeof *lib);
    memcpy(lib->sha256, sha, sizeof sha);
}

/* Unmaps lib and removes its copy; its sha256 stays. Returns 1 when the library stayed mapped. */
static int
release(struct lib *lib)
{
    int resident = 0;
    if (lib->handle) {
        dlclose(lib->handle);
        /* A library that stays mapped (unique symbols, RTLD_NODELETE, another handle on the same
         * file) answers RTLD_NOLOAD; say so rather than pretend it left. */
        void *again = lib->copy ? dlopen(lib->copy, RTLD_NOW | RTLD_NOLOAD) : NULL;
        if (again) {
            resident = 1;
            dlclose(again);
        }
    }
    if (lib->copy) {
        unlink(lib->copy);
        free(lib->copy);
    }
    free(lib->abi);
    keep_sha_only(lib);
    return resident;
}

int
loader_map(struct loader *l, const char *path, struct lib *lib, char *err, size_t errlen)
{
    int rc;
    lib->handle = dlopen(lib->copy, RTLD_NOW | RTLD_LOCAL);
    if (!lib->handle) {
        const char *why = dlerror();
        /* A copy that cannot be mapped executable usually sits on a noexec mount. */
        int noexec = why && strstr(why, "failed to map segment");
        rc = tars__errf(err, errlen, TARS_EINVAL, "cannot load %s: %s%s%s", path,
                        why ? why : "dlopen failed",
                        noexec ? "; is this dir on a noexec mount (set TMPDIR)? " : "",
                        noexec ? l->cache_dir : "");
        goto fail;
    }
    tars_plugin_init_fn init;
    *(void **)&init = dlsym(lib->handle, TARS_PLUGIN_ENTRY);
    if (!init) {
        rc = tars__errf(
            err, errlen, TARS_EABI,
            "%s has no entry symbol %s (not a tars plugin, or built without TARS_PLUGIN)", path,
            TARS_PLUGIN_ENTRY);
        goto fail;
    }
    const tars_plugin_info *plugin_info = init();
    if (!plugin_info) {
        rc = tars__errf(err, errlen, TARS_EABI, "%s: %s returned NULL", path, TARS_PLUGIN_ENTRY);
        goto fail;
    }
    lib->abi = malloc(sizeof *lib->abi);
    if (!lib->abi) {
        rc = tars__errf(err, errlen, TARS_ENOMEM, "out of memory loading %s", path);
        goto fail;
    }
    rc = loader_adopt(plugin_info, lib->abi, err, errlen);
    if (rc)
        goto fail;
    lib->info = &lib->abi->info;
    return 0;
fail:
    release(lib);
    return rc;
}

int
loader_open(struct loader *l, const char *path, const char *pin, struct lib *out, char *err,
            size_t errlen)
{
    int rc = loader_stage(l, path, pin, out, err, errlen);
    if (!rc)
        rc = loader_map(l, path, out, err, errlen);
    if (rc)
        release(out);
    return rc;
}

int
loader_close(struct lib *lib)
{
    int resident = release(lib);
    memset(lib, 0, sizeof *lib);
    return resident;
}
