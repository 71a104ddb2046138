/* tarsctl backup: a hot, compacted copy of a state store. */
#ifndef TARS_CTL_BACKUP_CMD_H
#define TARS_CTL_BACKUP_CMD_H

/*
 * argv holds the arguments after "backup"; state is the state dir given before the command
 * (tarsctl --state DIR backup ...), NULL if none. Returns the exit code.
 */
int backup_cmd(int argc, char **argv, const char *state);

#endif
