/*
 * What the fuzz targets share: a temporary file for parsers that read files, a host set up
 * once (plugins scanned, state store open, API installed on a fake CivetWeb) for the router
 * and stream targets, and the fake CivetWeb connection they drive.
 */
#ifndef TARS_TESTS_FUZZ_H
#define TARS_TESTS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include "api.h"
#include "host.h"

/* libFuzzer's entry points. */
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Replaces the content of a file in memory (memfd) and returns its /proc path. */
const char *fuzz_file(const uint8_t *data, size_t size);

/* Exits the fuzzer with a message: set-up failures are not findings. */
void fuzz_die(const char *what, const char *why) __attribute__((noreturn));

/*
 * The fake connection: one request (method, URI, query, headers, body) and where the
 * reply goes. The fields point into the caller's buffers for the length of one call.
 */
#define FUZZ_MAX_HEADERS 16
struct mg_connection {
    struct mg_request_info *ri;
    const char *header_names[FUZZ_MAX_HEADERS];
    const char *header_values[FUZZ_MAX_HEADERS];
    int n_headers;
    const char *body;
    size_t body_len, body_read;
    size_t written; /* reply bytes */
    void *user_data;
};

/* The handlers the API installed (captured by the fake mg_set_*_handler). */
struct fuzz_handlers {
    int (*request)(struct mg_connection *c, void *data); /* "/api" */
    void *request_data;
    int (*ws_connect)(const struct mg_connection *c, void *data);
    int (*ws_data)(struct mg_connection *c, int flags, char *data, size_t len, void *arg);
    void (*ws_close)(const struct mg_connection *c, void *data);
    void *ws_data_arg;
};
extern struct fuzz_handlers fuzz_handlers;

/* The host, set up once: three agents from the config, a token of each role. */
struct fuzz_host {
    struct host *h;
    char tokens[ROLE_ADMIN + 1][64]; /* text of the viewer, operator and admin tokens */
};
struct fuzz_host *fuzz_host_get(void);
/* Undoes what an input changed that would pile up or run on: the agents and tokens it
 * created, and training it started. */
void fuzz_host_settle(struct fuzz_host *fh);

#endif
