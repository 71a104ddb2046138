/* Text helpers (sdk/src/text.c): lists and one-line escaping of untrusted text. */
#include <string.h>
#include "host_side.h"
#include "tap.h"

int
main(void)
{
    char buf[16] = "";
    tars__join(buf, sizeof buf, ", ", "a");
    tars__join(buf, sizeof buf, ", ", "b");
    is_str(buf, "a, b", "join separates items");
    tars__join(buf, sizeof buf, ", ", "a-long-item-that-overflows");
    ok(strlen(buf) < sizeof buf, "join truncates instead of overflowing");

    char out[64];
    tars__escape_line("line one\nline two\ttab", out, sizeof out);
    is_str(out, "line one\\nline two\\ttab", "newline and tab escaped");
    tars__escape_line("bell\a and del\x7f", out, sizeof out);
    is_str(out, "bell\\x07 and del\\x7f", "other controls as \\xHH");
    tars__escape_line("caf\xc3\xa9 \xff\xfe ok", out, sizeof out);
    is_str(out, "caf\xc3\xa9 \\xff\\xfe ok", "valid UTF-8 kept, invalid bytes escaped");
    tars__escape_line("\xe2\x82", out, sizeof out);
    is_str(out, "\\xe2\\x82", "a truncated sequence is invalid");
    char tiny[5];
    tars__escape_line("ab\ncd", tiny, sizeof tiny);
    is_str(tiny, "ab\\n", "truncation never splits an escape");
    tars__escape_line("\xc3\xa9\xc3\xa9\xc3\xa9", tiny, sizeof tiny);
    is_str(tiny, "\xc3\xa9\xc3\xa9", "or a character");

    int rc = tars__errf(out, sizeof out, -22, "bad %s", "thing");
    ok(rc == -22 && strcmp(out, "bad thing") == 0, "errf formats and returns the code");
    ok(tars__errf(NULL, 0, -5, "x") == -5, "errf without a buffer");
    return done_testing();
}
