/* Small text helpers shared by the SDK and the host (declared in host_side.h). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "host_side.h"

void
tars__join(char *buf, size_t len, const char *sep, const char *item)
{
    size_t used = strnlen(buf, len);
    if (used + 1 >= len)
        return;
    snprintf(buf + used, len - used, "%s%s", used ? sep : "", item);
}

int
tars__errf(char *err, size_t errlen, int rc, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return rc;
}
