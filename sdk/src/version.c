#include "tars/version.h"

const char *
tars_sdk_version(void)
{
    return TARS_VERSION_STRING;
}
