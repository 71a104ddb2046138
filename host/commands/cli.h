/* cli — tarsd's command line: a subcommand, the common flags, and train's flags. */
#ifndef TARS_HOST_CLI_H
#define TARS_HOST_CLI_H

#include <stddef.h>
#include <stdint.h>
#include "config.h"

struct opts {
    const char *cmd; /* "serve", "check", "train" or "inspect" */
    struct config_flags flags;
    int help;
    int version;
    /* train */
    const char *agent;
    const char *env;
    const char *preset;
    const char *save;
    uint32_t n_envs;
    uint64_t steps;
    uint64_t seed;
    struct strv sets;
    uint64_t eval_every;
    uint32_t eval_episodes;
    double target;
    int has_target;
    int json;
    /* inspect */
    const char *history;
};

/* Parses argv. On a bad command line returns -1 with one sentence in err. */
int cli_parse(int argc, char **argv, struct opts *o, char *err, size_t errlen);
void cli_free(struct opts *o);
void cli_usage(FILE *f);

#endif
