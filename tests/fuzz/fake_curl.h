/* What the fake libcurl (fake_curl.c) answers every request with. */
#ifndef TARS_TESTS_FUZZ_FAKE_CURL_H
#define TARS_TESTS_FUZZ_FAKE_CURL_H

#include <stddef.h>

struct fuzz_reply {
    const char *body;
    size_t len;
    long status;
    int transport_error; /* the request got no reply */
};
extern struct fuzz_reply fuzz_reply;

#endif
