/* tarsctl plugin ... : offline commands on a built plugin file. */
#ifndef TARS_CTL_PLUGIN_CMD_H
#define TARS_CTL_PLUGIN_CMD_H

/* argv[0] is the subcommand ("manifest" or "check"). Returns the exit code. */
int plugin_cmd(int argc, char **argv);

#endif
