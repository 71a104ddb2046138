/*
 * tarsctl's reading of tarsd's replies (host/ctl: api_client.c, table.c and the commands'
 * formatting): each input is one command run against a fake libcurl whose every reply is
 * the input's. The first byte picks the command, the second the status (and --json).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fake_curl.h"
#include "fuzz.h"

int tarsctl_main(int argc, char **argv); /* host/ctl/tarsctl.c's main, renamed */

static const char *const commands[][8] = {
    {"health"},
    {"version"},
    {"whoami"},
    {"agents"},
    {"agent", "show", "a1"},
    {"agent", "create", "x1", "--agent", "ppo", "--env", "cartpole", "--set"},
    {"agent", "start", "a1"},
    {"agent", "stop", "a1"},
    {"agent", "reset", "a1"},
    {"agent", "delete", "a1"},
    {"params", "get", "a1"},
    {"params", "set", "a1", "lr=0.001", "hidden=8"},
    {"propose", "a1", "lr=0.001"},
    {"proposals"},
    {"proposal", "1"},
    {"approve", "1", "--reason", "ok"},
    {"reject", "1"},
    {"history", "a1"},
    {"scalars", "a1"},
    {"checkpoints", "a1"},
    {"plugins"},
    {"plugin", "show", "ppo"},
    {"plugin", "reload", "ppo"},
    {"audit"},
    {"token", "create", "--role", "viewer", "--name", "n"},
    {"token", "list"},
    {"token", "revoke", "0123456789abcdef"},
};
#define N_COMMANDS (sizeof commands / sizeof commands[0])

static const long statuses[] = {200, 201, 202, 204, 400, 401, 403, 404, 409, 413, 429, 500, 503};
#define N_STATUSES (sizeof statuses / sizeof statuses[0])

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    /* What tarsctl prints goes nowhere (libFuzzer keeps its own handle on the real stderr). */
    FILE *null = fopen("/dev/null", "w");
    if (!null)
        fuzz_die("/dev/null", "cannot open");
    stdout = null;
    stderr = null;
    return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    const char *const *cmd = commands[data[0] % N_COMMANDS];
    char *argv[24];
    int argc = 0;
    argv[argc++] = "tarsctl";
    argv[argc++] = "--url";
    argv[argc++] = "http://127.0.0.1:1";
    argv[argc++] = "--token";
    argv[argc++] = "tars_fuzz";
    if (data[1] & 0x80)
        argv[argc++] = "--json";
    for (int i = 0; i < 8 && cmd[i]; i++)
        argv[argc++] = (char *)cmd[i];
    if (strcmp(argv[argc - 1], "--set") == 0)
        argv[argc++] = "hidden=8";
    argv[argc] = NULL;
    fuzz_reply.status = statuses[(data[1] & 0x7f) % N_STATUSES];
    fuzz_reply.transport_error = (data[1] & 0x7f) == 0x7f;
    fuzz_reply.body = (const char *)data + 2;
    fuzz_reply.len = size - 2;
    tarsctl_main(argc, argv);
    return 0;
}
