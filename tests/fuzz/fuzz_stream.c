/*
 * The stream's parser of what a client sends: one WebSocket connection per input, its
 * frames handed to the stream's data handler as CivetWeb would, then closed.
 *
 * Input: frames separated by NUL bytes; each frame is a flags byte (CivetWeb's: FIN 0x80,
 * opcode in the low 4 bits) and its payload. "$V", "$O" and "$A" in a payload are replaced by
 * a valid viewer, operator and admin token, so that inputs reach what follows a sign-in.
 */
#include <civetweb.h>
#include <stdlib.h>
#include <string.h>
#include "fuzz.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_host_get();
    return 0;
}

/* payload with the token placeholders replaced (malloc'd into *out). */
static size_t
expand(struct fuzz_host *fh, const uint8_t *p, size_t n, char **out)
{
    char *buf = malloc(n * 32 + 1), *w = buf;
    if (!buf)
        return 0;
    for (size_t i = 0; i < n; i++) {
        int role = 0;
        if (p[i] == '$' && i + 1 < n)
            role = p[i + 1] == 'V'   ? ROLE_VIEWER
                   : p[i + 1] == 'O' ? ROLE_OPERATOR
                   : p[i + 1] == 'A' ? ROLE_ADMIN
                                     : 0;
        if (role) {
            size_t len = strlen(fh->tokens[role]);
            memcpy(w, fh->tokens[role], len);
            w += len;
            i++;
        } else {
            *w++ = (char)p[i];
        }
    }
    *w = '\0';
    *out = buf;
    return (size_t)(w - buf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_host *fh = fuzz_host_get();
    struct mg_request_info ri = {.request_method = "GET",
                                 .request_uri = "/api/v1/stream",
                                 .local_uri = "/api/v1/stream",
                                 .http_version = "1.1",
                                 .remote_addr = "127.0.0.1",
                                 .remote_port = 40001,
                                 .content_length = -1};
    struct mg_connection c = {.ri = &ri};
    if (fuzz_handlers.ws_connect(&c, fuzz_handlers.ws_data_arg) != 0)
        return 0; /* refused */
    const uint8_t *p = data, *end = data + size;
    int open = 1;
    while (open && p < end) {
        const uint8_t *nul = memchr(p, 0, (size_t)(end - p));
        const uint8_t *stop = nul ? nul : end;
        if (stop == p) { /* no flags byte: nothing to send */
            p++;
            continue;
        }
        int flags = *p;
        char *payload = NULL;
        size_t len = expand(fh, p + 1, (size_t)(stop - p) - 1, &payload);
        if (payload)
            open = fuzz_handlers.ws_data(&c, flags, payload, len, fuzz_handlers.ws_data_arg);
        free(payload);
        p = stop + 1;
    }
    fuzz_handlers.ws_close(&c, fuzz_handlers.ws_data_arg);
    return 0;
}
