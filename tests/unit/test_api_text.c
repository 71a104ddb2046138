/* Untrusted bytes on their way to JSON and file names (host/base/text.c). */
#include <errno.h>
#include <string.h>
#include "tap.h"
#include "text.h"

static void
test_utf8(void)
{
    char out[64];
    is_str(text_utf8_safe("plain ascii", out, sizeof out), "plain ascii", "ASCII passes");
    is_str(text_utf8_safe("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", out, sizeof out),
           "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "2-, 3- and 4-byte characters pass");
    is_str(text_utf8_safe("nope\xff", out, sizeof out), "nope\\xFF", "0xFF is escaped");
    is_str(text_utf8_safe("a\\xFF\\b", out, sizeof out), "a\\\\xFF\\\\b",
           "a backslash is written twice: the text \\xFF is not the byte 0xFF");
    is_str(text_utf8_safe("ab\\", out, 4), "ab", "  and never cut in half");
    is_str(text_utf8_safe("cut\xc3", out, sizeof out), "cut\\xC3", "a character cut in two");
    is_str(text_utf8_safe("\xe2\x82", out, sizeof out), "\\xE2\\x82", "  of three bytes");
    is_str(text_utf8_safe("\xc0\xaf", out, sizeof out), "\\xC0\\xAF", "an overlong '/' is escaped");
    is_str(text_utf8_safe("\xed\xa0\x80", out, sizeof out), "\\xED\\xA0\\x80",
           "a UTF-16 surrogate is escaped");
    is_str(text_utf8_safe("\xf4\x90\x80\x80", out, sizeof out), "\\xF4\\x90\\x80\\x80",
           "beyond U+10FFFF is escaped");
    is_str(text_utf8_safe(NULL, out, sizeof out), "", "NULL is empty");
    char small[8];
    is_str(text_utf8_safe("ab\xc3\xa9\xc3\xa9\xc3\xa9", small, sizeof small), "ab\xc3\xa9\xc3\xa9",
           "a short buffer cuts between characters");
    is_str(text_utf8_safe("abcd\xff", small, sizeof small), "abcd",
           "  and never writes half an escape");
}

static void
test_path(void)
{
    char out[64], why[128];
    ok(text_path_decode("/api/v1/h%65alth", out, sizeof out, why, sizeof why) == 0 &&
           strcmp(out, "/api/v1/health") == 0,
       "an encoded letter is decoded (%s)", out);
    ok(text_path_decode("/x%FF", out, sizeof out, why, sizeof why) == 0 &&
           (unsigned char)out[2] == 0xff,
       "%%FF is a byte like any other");
    is_int(text_path_decode("/api/v1/tokens%00.css", out, sizeof out, why, sizeof why), -EINVAL,
           "%%00 is refused");
    like(why, "control byte (0x00) at byte 15", "  naming it and where");
    is_int(text_path_decode("/a%0a", out, sizeof out, why, sizeof why), -EINVAL, "%%0A is refused");
    is_int(text_path_decode("/a%7f", out, sizeof out, why, sizeof why), -EINVAL, "%%7F is refused");
    is_int(text_path_decode("/a\x01", out, sizeof out, why, sizeof why), -EINVAL,
           "a raw control byte is refused");
    is_int(text_path_decode("/a%2", out, sizeof out, why, sizeof why), -EINVAL,
           "a cut escape is refused");
    is_int(text_path_decode("/a%g0", out, sizeof out, why, sizeof why), -EINVAL,
           "a non-hex escape is refused");
    is_int(text_path_decode("/a/%2e%2e/b", out, sizeof out, why, sizeof why), -EINVAL,
           "an encoded .. segment is refused");
    is_int(text_path_decode("/a/%2E", out, sizeof out, why, sizeof why), -EINVAL,
           "  so is an encoded . at the end");
    is_int(text_path_decode("/a/..b/c.d", out, sizeof out, why, sizeof why), 0,
           "dots inside a name are fine");
    is_int(text_path_decode("/abc", out, 4, why, sizeof why), -EINVAL,
           "an output buffer too small is refused");
}

int
main(void)
{
    test_utf8();
    test_path();
    return done_testing();
}
