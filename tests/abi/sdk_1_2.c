/*
 * A stand-in for a future libtars-sdk 1.2 (same SONAME, libtars-sdk.so.1) with one function in
 * a TARS_SDK_1.2 version node: tests/abi/plugin_1_2.c links against it, as a plugin built
 * with the 1.2 SDK would, and the 1.1 host must refuse that plugin in one sentence.
 */
#include "tars/version.h"

TARS_EXPORT int tars_feature_1_2(void);

int
tars_feature_1_2(void)
{
    return 12;
}
