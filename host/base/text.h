/*
 * text — what the API does with bytes a client chose before they reach JSON or a file name:
 * paths percent-decoded by tarsd itself (CivetWeb's decoding stops at a %00 and hides it), and
 * any text made valid UTF-8 for jansson, which refuses anything else.
 *
 * Threads: any (pure functions).
 */
#ifndef TARS_HOST_BASE_TEXT_H
#define TARS_HOST_BASE_TEXT_H

#include <stddef.h>

/*
 * Percent-decodes the path of a request (raw, as the client sent it, without the query) into
 * out (out_len bytes, at least strlen(raw) + 1). Returns 0; or -EINVAL with one sentence in
 * why when the path holds a malformed escape, a control byte (0x00-0x1F, 0x7F), raw or
 * encoded, or an encoded "." or ".." segment; out is then unusable.
 */
int text_path_decode(const char *raw, char *out, size_t out_len, char *why, size_t why_len);

/*
 * Copies the NUL-terminated s into out (out_len bytes, at least 1) as valid UTF-8: well-formed
 * sequences as they are, every other byte as the four characters \xHH (so a sequence cut by
 * a length limit shows as its bytes), and a backslash as two (so that \xHH is never the text
 * itself). Cuts at a character boundary when out is too small.
 * Returns out.
 */
char *text_utf8_safe(const char *s, char *out, size_t out_len);

/* The length of the valid UTF-8 sequence at s (1 to 4), or 0 when s does not start one. */
size_t text_utf8_seq(const unsigned char *s);

#endif
