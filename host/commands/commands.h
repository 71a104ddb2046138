/*
 * commands — tarsd's subcommands (SPEC §5), each run from main with the parsed flags.
 * Each returns the process's exit status.
 */
#ifndef TARS_HOST_COMMANDS_COMMANDS_H
#define TARS_HOST_COMMANDS_COMMANDS_H

#include "cli.h"

int cmd_serve(const struct opts *o);
/*
 * tarsd serve's supervising parent (supervise.c): starts the worker (tarsd serve again, with
 * argv), restarts it when it dies of a signal, and returns the exit status to exit with.
 */
int supervise(const struct opts *o, char **argv);
/* In a process that is the worker: 1 (and its fault handler writes to the supervisor). */
int supervise_is_worker(void);
/* Installs the fault handler (writing to the supervisor when there is one). 0 or -errno. */
int supervise_worker_setup(void);
/* Tells the supervisor where the state dir is (where it quarantines builds). */
void supervise_hello(const char *state_dir);
/* Tells the supervisor the worker has started serving (an exit after this is news). */
void supervise_ready(void);
int cmd_check(const struct opts *o);
int cmd_train(const struct opts *o);
int cmd_inspect(const struct opts *o);

#endif
