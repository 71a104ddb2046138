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

/* Length of the valid UTF-8 sequence at p (1-4), or 0 if it is not valid. */
static int
utf8_len(const unsigned char *p)
{
    int n = *p < 0x80             ? 1
            : (*p & 0xe0) == 0xc0 ? 2
            : (*p & 0xf0) == 0xe0 ? 3
            : (*p & 0xf8) == 0xf0 ? 4
                                  : 0;
    if (n == 2 && *p < 0xc2)
        return 0; /* overlong */
    for (int k = 1; k < n; k++)
        if ((p[k] & 0xc0) != 0x80)
            return 0;
    return n;
}

void
tars__escape_line(const char *in, char *out, size_t len)
{
    const unsigned char *p = (const unsigned char *)in;
    size_t o = 0;
    if (!len)
        return;
    while (*p && o + 1 < len) {
        int n = utf8_len(p);
        char esc[8] = "";
        if (n == 1 && *p == '\n')
            snprintf(esc, sizeof esc, "\\n");
        else if (n == 1 && *p == '\t')
            snprintf(esc, sizeof esc, "\\t");
        else if (n == 0 || (n == 1 && (*p < 0x20 || *p == 0x7f)))
            snprintf(esc, sizeof esc, "\\x%02x", *p);
        if (*esc) {
            size_t e = strlen(esc);
            if (o + e + 1 > len)
                break;
            memcpy(out + o, esc, e);
            o += e;
            p++;
        } else {
            if (o + (size_t)n + 1 > len)
                break;
            memcpy(out + o, p, (size_t)n);
            o += (size_t)n;
            p += n;
        }
    }
    out[o] = '\0';
}
