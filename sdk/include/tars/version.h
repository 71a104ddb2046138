/*
 * tars/version.h — release and ABI numbers of the tars SDK.
 *
 * ABI policy. A plugin records the ABI it was compiled against (TARS_ABI_MAJOR and
 * TARS_ABI_MINOR) in its descriptor. The host loads it when the majors are equal and the
 * plugin's minor is not newer than the host's. Within one major:
 *   - structs that plugins fill (the descriptor, ops tables, the env spec) only grow at the
 *     end and carry their size in their first field, so the host never reads past what a
 *     plugin compiled in;
 *   - structs passed in arrays or embedded in others (tars_param_def, tars_space,
 *     tars_metric, tars_tensor) cannot grow at all: their element stride is fixed. They
 *     extend only through their reserved slots, which must be zero today (the host refuses
 *     plugins that set them);
 *   - functions are only added to libtars-sdk, never removed or changed;
 *   - enums only gain values.
 * Anything else bumps the major and the SONAME of libtars-sdk.
 */
#ifndef TARS_VERSION_H
#define TARS_VERSION_H

#define TARS_VERSION_MAJOR  0
#define TARS_VERSION_MINOR  2
#define TARS_VERSION_PATCH  0
#define TARS_VERSION_STRING "0.2.0"

#define TARS_ABI_MAJOR 1
#define TARS_ABI_MINOR 1

#if defined(__GNUC__)
#define TARS_EXPORT __attribute__((visibility("default")))
#else
#define TARS_EXPORT
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* The release of the libtars-sdk actually loaded, e.g. "0.1.0". Any thread. */
TARS_EXPORT const char *tars_sdk_version(void);

#ifdef __cplusplus
}
#endif

#endif
