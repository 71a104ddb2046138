/*
 * A stand-in for a future libtars-sdk 1.1 (same SONAME, libtars-sdk.so.1) with one function in
 * a TARS_SDK_1.1 version node: tests/abi/plugin_1_1.c links against it, as a plugin built
 * with the 1.1 SDK would, and the 1.0 host must refuse that plugin in one sentence.
 */
#include "tars/version.h"

TARS_EXPORT int tars_feature_1_1(void);

int
tars_feature_1_1(void)
{
    return 11;
}
