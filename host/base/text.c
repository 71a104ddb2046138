#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "text.h"

static int
hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int
text_path_decode(const char *raw, char *out, size_t out_len, char *why, size_t why_len)
{
    size_t n = 0;
    if (!raw || !out || out_len <= strlen(raw))
        return snprintf(why, why_len, "the path cannot be decoded"), -EINVAL;
    for (size_t i = 0; raw[i]; i++) {
        unsigned char c = (unsigned char)raw[i];
        if (c == '%') {
            int hi = hex_value((unsigned char)raw[i + 1]);
            int lo = hi < 0 ? -1 : hex_value((unsigned char)raw[i + 2]);
            if (lo < 0) {
                snprintf(why, why_len, "the path has a malformed escape at byte %zu", i + 1);
                return -EINVAL;
            }
            c = (unsigned char)(hi << 4 | lo);
            i += 2;
        }
        /* A NUL would cut the path short of what the client asked for (tokens%00.css). */
        if (c < 0x20 || c == 0x7f) {
            snprintf(why, why_len, "the path has a control byte (0x%02X) at byte %zu", c, n + 1);
            return -EINVAL;
        }
        out[n++] = (char)c;
    }
    out[n] = '\0';
    /* CivetWeb removes "/../" before tarsd sees the path, but not "/%2e%2e/". */
    for (const char *seg = out; (seg = strchr(seg, '/')); seg++) {
        size_t len = strcspn(seg + 1, "/");
        if ((len == 1 && seg[1] == '.') || (len == 2 && seg[1] == '.' && seg[2] == '.')) {
            snprintf(why, why_len, "the path has a '%.*s' segment", (int)len, seg + 1);
            return -EINVAL;
        }
    }
    return 0;
}

size_t
text_utf8_seq(const unsigned char *s)
{
    unsigned char c = s[0];
    if (c < 0x80)
        return c ? 1 : 0;
    size_t len;
    unsigned char lo = 0x80, hi = 0xbf; /* the second byte's range (RFC 3629's table) */
    if (c >= 0xc2 && c <= 0xdf)
        len = 2;
    else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        lo = c == 0xe0 ? 0xa0 : 0x80;
        hi = c == 0xed ? 0x9f : 0xbf; /* no UTF-16 surrogates */
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        lo = c == 0xf0 ? 0x90 : 0x80;
        hi = c == 0xf4 ? 0x8f : 0xbf; /* nothing above U+10FFFF */
    } else
        return 0;
    if (s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;
    return len;
}

char *
text_utf8_safe(const char *s, char *out, size_t out_len)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    size_t n = 0;
    while (*p) {
        size_t len = text_utf8_seq(p);
        size_t need = len ? len : 4;
        if (n + need >= out_len)
            break;
        if (*p == '\\') { /* written twice, so that a \xHH always stands for a byte */
            if (n + 2 >= out_len)
                break;
            out[n++] = '\\';
            out[n++] = '\\';
            p++;
            continue;
        }
        if (len) {
            memcpy(out + n, p, len);
            p += len;
        } else {
            out[n++] = '\\';
            out[n++] = 'x';
            out[n++] = hex[*p >> 4];
            out[n++] = hex[*p & 15];
            p++;
            continue;
        }
        n += len;
    }
    out[n] = '\0';
    return out;
}
