/*
 * commands — tarsd's subcommands (SPEC §5), each run from main with the parsed flags.
 * Each returns the process's exit status.
 */
#ifndef TARS_HOST_COMMANDS_COMMANDS_H
#define TARS_HOST_COMMANDS_COMMANDS_H

#include "cli.h"

int cmd_serve(const struct opts *o);
int cmd_check(const struct opts *o);
int cmd_train(const struct opts *o);
int cmd_inspect(const struct opts *o);

#endif
