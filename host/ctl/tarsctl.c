/*
 * tarsctl — tars from a shell. Offline commands (no daemon needed):
 *   tarsctl plugin manifest FILE.so [-o OUT]   write a correct manifest for a built plugin
 *   tarsctl plugin check FILE.so [--json | --markdown]   ABI and parameter-schema checks
 *   tarsctl backup --state DIR --to DEST        a hot, compacted copy of a state store
 * The API commands (agents, params, proposals, tokens) arrive with the API.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "backup_cmd.h"
#include "host.h"
#include "plugin_cmd.h"
#include "tars/version.h"

static void
usage(FILE *f)
{
    fprintf(f, "usage: tarsctl plugin manifest FILE.so [-o OUT]\n"
               "       tarsctl plugin check FILE.so [--json | --markdown]\n"
               "       tarsctl backup --state DIR --to DEST\n"
               "       tarsctl --version | --help\n");
}

int
main(int argc, char **argv)
{
    char err[512];
    if (host_check_sdk(err, sizeof err)) {
        fprintf(stderr, "tarsctl: %s\n", err);
        return 1;
    }
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("tarsctl %s (plugin ABI %d.%d)\n", TARS_VERSION_STRING, TARS_ABI_MAJOR,
               TARS_ABI_MINOR);
        return 0;
    }
    if (strcmp(argv[1], "plugin") == 0)
        return plugin_cmd(argc - 2, argv + 2);
    if (strcmp(argv[1], "backup") == 0)
        return backup_cmd(argc - 2, argv + 2);
    fprintf(stderr, "tarsctl: unknown command '%s' (see tarsctl --help)\n", argv[1]);
    return 2;
}
