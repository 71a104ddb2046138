/*
 * Every route's request through the router, without a socket: method, path, query,
 * headers and body, as a client sends them, with a token of the role the input asks for.
 *
 * Input (text, so that seeds read as requests):
 *   ROLE METHOD URI\n       ROLE: 0 none, 1 viewer, 2 operator, 3 admin, else a bad token
 *   Name: value\n ...      headers (at most 16), then an empty line
 *   body                   the rest
 * "Content-Length" among the headers is what the request declares; else the body's length.
 */
#include <civetweb.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "fuzz.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_host_get();
    return 0;
}

/* Splits off the next line of text (NUL-terminated in place); NULL at the end. */
static char *
next_line(char **p, char *end)
{
    if (*p >= end)
        return NULL;
    char *line = *p, *nl = memchr(line, '\n', (size_t)(end - line));
    if (!nl) {
        *p = end;
        return line;
    }
    *nl = '\0';
    *p = nl + 1;
    return line;
}

static void
serve(struct fuzz_host *fh, char *text, size_t size)
{
    char *p = text, *end = text + size;
    char *first = next_line(&p, end);
    if (!first || !*first)
        return;
    int role = first[0] - '0';
    char *method = first + 1, *uri = strchr(method, ' ');
    if (!uri || uri == method)
        return;
    *uri++ = '\0';
    struct mg_request_info ri = {.request_method = method,
                                 .request_uri = uri,
                                 .http_version = "1.1",
                                 .remote_addr = "127.0.0.1",
                                 .remote_port = 40000};
    struct mg_connection c = {.ri = &ri};
    char *query = strchr(uri, '?');
    if (query)
        *query++ = '\0';
    ri.query_string = query;
    /* CivetWeb decodes the path before handlers see it. */
    char path[4096];
    if (mg_url_decode(uri, (int)strlen(uri), path, sizeof path, 0) < 0)
        return;
    ri.local_uri = ri.local_uri_raw = path;
    char auth[128];
    if (role >= ROLE_VIEWER && role <= ROLE_ADMIN)
        snprintf(auth, sizeof auth, "Bearer %s", fh->tokens[role]);
    else
        snprintf(auth, sizeof auth, "Bearer tars_%043d", role);
    if (role != ROLE_NONE) {
        c.header_names[c.n_headers] = "Authorization";
        c.header_values[c.n_headers++] = auth;
    }
    long long declared = -1;
    for (char *line; (line = next_line(&p, end)) && *line;) {
        char *colon = strchr(line, ':');
        if (!colon || c.n_headers == FUZZ_MAX_HEADERS)
            continue;
        *colon = '\0';
        c.header_names[c.n_headers] = line;
        c.header_values[c.n_headers++] = colon + 1 + strspn(colon + 1, " ");
        if (strcasecmp(line, "Content-Length") == 0)
            declared = strtoll(colon + 1, NULL, 10);
    }
    c.body = p;
    c.body_len = (size_t)(end - p);
    ri.content_length = declared >= 0 ? declared : (long long)c.body_len;
    fuzz_handlers.request(&c, fuzz_handlers.request_data);
    if (c.written == 0)
        abort(); /* every request gets a reply */
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_host *fh = fuzz_host_get();
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    serve(fh, text, size);
    free(text);
    fuzz_host_settle(fh);
    return 0;
}
