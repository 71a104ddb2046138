/*
 * A fake of the libcurl calls tarsctl makes (api_client.c): no request leaves the process;
 * curl_easy_perform hands the reply the target set (fuzz_reply) to tarsctl's write
 * callback, in pieces as a socket would, and the response code is the target's.
 */
#define CURL_DISABLE_TYPECHECK
#include <curl/curl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "fake_curl.h"

struct fuzz_reply fuzz_reply;

struct fake_easy {
    curl_write_callback write;
    void *write_data;
};

CURLcode
curl_global_init(long flags)
{
    (void)flags;
    return CURLE_OK;
}

void
curl_global_cleanup(void)
{
}

CURL *
curl_easy_init(void)
{
    return calloc(1, sizeof(struct fake_easy));
}

void
curl_easy_cleanup(CURL *h)
{
    free(h);
}

CURLcode
curl_easy_setopt(CURL *h, CURLoption option, ...)
{
    struct fake_easy *e = h;
    va_list ap;
    va_start(ap, option);
    if (option == CURLOPT_WRITEFUNCTION)
        e->write = va_arg(ap, curl_write_callback);
    else if (option == CURLOPT_WRITEDATA)
        e->write_data = va_arg(ap, void *);
    va_end(ap);
    return CURLE_OK;
}

CURLcode
curl_easy_perform(CURL *h)
{
    struct fake_easy *e = h;
    if (fuzz_reply.transport_error)
        return CURLE_COULDNT_CONNECT;
    for (size_t at = 0; at < fuzz_reply.len;) {
        size_t n = fuzz_reply.len - at < 1024 ? fuzz_reply.len - at : 1024;
        char piece[1024];
        memcpy(piece, fuzz_reply.body + at, n); /* the callback may not keep the pointer */
        if (!e->write || e->write(piece, 1, n, e->write_data) != n)
            return CURLE_WRITE_ERROR;
        at += n;
    }
    return CURLE_OK;
}

CURLcode
curl_easy_getinfo(CURL *h, CURLINFO info, ...)
{
    (void)h;
    va_list ap;
    va_start(ap, info);
    if (info == CURLINFO_RESPONSE_CODE)
        *va_arg(ap, long *) = fuzz_reply.status;
    va_end(ap);
    return CURLE_OK;
}
