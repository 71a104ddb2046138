#include <string.h>
#include "tars/error.h"
#include "tars/plugin.h"

const char *
tars_strerror(int err)
{
    switch (err) {
    case TARS_OK:
        return "success";
    case TARS_EABI:
        return "plugin ABI incompatible with the host";
    case TARS_ESCHEMA:
        return "malformed parameter schema or descriptor";
    case TARS_EFORMAT:
        return "malformed data";
    case TARS_EVERSION:
        return "state written by a newer version";
    case TARS_ECORRUPT:
        return "checksum mismatch";
    case TARS_EPLUGIN:
        return "plugin operation failed";
    default:
        break;
    }
    if (err < 0 && err > -4000)
        return strerror(-err);
    return "unknown error";
}

const char *
tars_kind_name(uint32_t kind)
{
    switch (kind) {
    case TARS_KIND_AGENT:
        return "agent";
    case TARS_KIND_ENV:
        return "env";
    case TARS_KIND_SOLVER:
        return "solver";
    case TARS_KIND_TUNER:
        return "tuner";
    case TARS_KIND_EXPORTER:
        return "exporter";
    default:
        return NULL;
    }
}

const char *
tars_trial_state_name(uint32_t state)
{
    switch (state) {
    case TARS_TRIAL_COMPLETE:
        return "COMPLETE";
    case TARS_TRIAL_PRUNED:
        return "PRUNED";
    case TARS_TRIAL_FAILED:
        return "FAILED";
    case TARS_TRIAL_RUNNING:
        return "RUNNING";
    default:
        return NULL;
    }
}
