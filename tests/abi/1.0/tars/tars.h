/* tars/tars.h — everything a plugin needs, in one include. */
#ifndef TARS_TARS_H
#define TARS_TARS_H

#include "tars/plugin.h"

#endif
