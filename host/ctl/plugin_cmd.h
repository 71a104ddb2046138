/* tarsctl plugin ... : offline commands on a built plugin file. */
#ifndef TARS_CTL_PLUGIN_CMD_H
#define TARS_CTL_PLUGIN_CMD_H

/*
 * sub is "manifest" or "check"; argv holds the arguments after it (FILE.so first). as_json
 * asks check for JSON, as its own --json does. Returns the exit code.
 */
int plugin_cmd(const char *sub, int argc, char **argv, int as_json);

#endif
