/*
 * tars/error.h — the one error enum of the SDK.
 *
 * Every SDK function and every plugin op returns int: 0 on success or a negative
 * value from enum tars_error. Codes that have an errno meaning alias it.
 */
#ifndef TARS_ERROR_H
#define TARS_ERROR_H

#include <errno.h>
#include "tars/version.h"

#ifdef __cplusplus
extern "C" {
#endif

enum tars_error {
    TARS_OK = 0,
    TARS_ENOENT = -ENOENT,   /* no such name, file or id */
    TARS_EIO = -EIO,         /* an I/O call failed */
    TARS_ENOMEM = -ENOMEM,   /* out of memory */
    TARS_EEXIST = -EEXIST,   /* already exists */
    TARS_EINVAL = -EINVAL,   /* invalid argument */
    TARS_ERANGE = -ERANGE,   /* value out of range */
    TARS_ENOTSUP = -ENOTSUP, /* optional op or feature not provided */
    TARS_EABI = -4001,       /* plugin ABI incompatible with the host */
    TARS_ESCHEMA = -4002,    /* parameter schema or descriptor malformed */
    TARS_EFORMAT = -4003,    /* blob or document malformed, or field of the wrong type */
    TARS_EVERSION = -4004,   /* state blob written by a newer version */
    TARS_ECORRUPT = -4005,   /* checksum mismatch */
    TARS_EPLUGIN = -4006,    /* a plugin op failed; the plugin explained it with tars_fail() */
};

/* A static English description of err (never NULL). Any thread. */
TARS_EXPORT const char *tars_strerror(int err);

#ifdef __cplusplus
}
#endif

#endif
