/*
 * tars/plugin.h — the plugin descriptor: the one struct a plugin hands the host.
 *
 * A plugin is a shared object exporting a single symbol, tars_plugin_init, which returns a
 * pointer to a static tars_plugin_info. Write it with the TARS_PLUGIN macro:
 *
 *     TARS_PLUGIN(.kind = TARS_KIND_ENV, .name = "cartpole", .version = "1.0.0",
 *                 .description = "...", .params = cartpole_params,
 *                 .n_params = TARS_COUNTOF(cartpole_params), .ops = &cartpole_ops)
 *
 * and the kind's ops table with TARS_OPS:
 *
 *     TARS_OPS(tars_env_ops, cartpole_ops, .create = cartpole_create, ...);
 *
 * The macros fill struct_size and the ABI numbers: never write them by hand. The host copies
 * both structs into zero-filled ones of its own size at load, so a plugin built for an older
 * minor reads as "no such op" for everything appended since. Build plugins with -fvisibility=hidden
 * so that this is the only symbol they export.
 */
#ifndef TARS_PLUGIN_H
#define TARS_PLUGIN_H

#include <stdint.h>
#include "tars/version.h"
#include "tars/error.h"
#include "tars/params.h"
#include "tars/host.h"
#include "tars/blob.h"
#include "tars/rng.h"
#include "tars/env.h"
#include "tars/agent.h"
#include "tars/solver.h"
#include "tars/tuner.h"
#include "tars/exporter.h"
#include "tars/nn.h"
#include "tars/buffer.h"
#include "tars/normalize.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum tars_kind {
    TARS_KIND_AGENT = 1,    /* ops: tars_agent_ops */
    TARS_KIND_ENV = 2,      /* ops: tars_env_ops */
    TARS_KIND_SOLVER = 3,   /* ops: tars_solver_ops */
    TARS_KIND_TUNER = 4,    /* ops: tars_tuner_ops */
    TARS_KIND_EXPORTER = 5, /* ops: tars_exporter_ops */
} tars_kind;

/* "agent", "env", ... or NULL for an unknown kind. */
TARS_EXPORT const char *tars_kind_name(uint32_t kind);

typedef struct tars_plugin_info {
    uint32_t struct_size; /* sizeof(tars_plugin_info) as the plugin compiled it */
    uint16_t abi_major;   /* TARS_ABI_MAJOR as the plugin compiled it */
    uint16_t abi_minor;   /* TARS_ABI_MINOR as the plugin compiled it */
    uint32_t kind;        /* tars_kind */
    uint32_t n_params;
    const char *name;        /* [a-z0-9-]+, equal to the manifest's name */
    const char *version;     /* semantic version of the plugin, e.g. "1.2.0" */
    const char *description; /* one sentence */
    const tars_param_def *params;
    const void *ops; /* the kind's ops table, e.g. const tars_env_ops * */
    const void *reserved[8];
} tars_plugin_info;

#define TARS_PLUGIN_ENTRY "tars_plugin_init"
typedef const tars_plugin_info *(*tars_plugin_init_fn)(void);

#define TARS_PLUGIN(...)                                                                        \
    static const tars_plugin_info tars__plugin_info = {.struct_size = sizeof(tars_plugin_info), \
                                                       .abi_major = TARS_ABI_MAJOR,             \
                                                       .abi_minor = TARS_ABI_MINOR,             \
                                                       __VA_ARGS__};                            \
    TARS_EXPORT const tars_plugin_info *tars_plugin_init(void);                                 \
    TARS_EXPORT const tars_plugin_info *tars_plugin_init(void)                                  \
    {                                                                                           \
        return &tars__plugin_info;                                                              \
    }

/* Defines the ops table `name` of C type `type` (tars_env_ops, tars_agent_ops...), static. */
#define TARS_OPS(type, name, ...) \
    static const type name = {.struct_size = sizeof(type), __VA_ARGS__}

/*
 * Caveats — what a plugin must not do:
 *
 *  - Start threads of its own, or call OpenBLAS with more than one thread. The host runs
 *    instances on its runner threads; parallelism comes from there.
 *  - Keep global mutable state. Several instances of one plugin run at once, on different
 *    threads, and two versions of one plugin may be loaded side by side during a code swap:
 *    everything lives in the instance.
 *  - Register atexit handlers, thread-local destructors or constructors with side effects:
 *    the library is dlclose'd when the last instance leaves it.
 *  - Open the state store, or any file of the host's, itself. Persist through save/load.
 *  - Hold on to a tars_params pointer after the op returns: the next call may pass a newer
 *    snapshot, and the old one is freed after a grace period.
 *  - Block for long in an op: a runner steps many instances in turn.
 *
 * Threads: the host calls the ops of one instance from one thread at a time, though not
 * always the same thread. Instances of one plugin may run concurrently.
 */

#ifdef __cplusplus
}
#endif

#endif
