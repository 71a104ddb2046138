/*
 * tarsctl backup --state DIR --to DEST: a consistent, compacted copy of a state store, taken
 * in one read transaction while tarsd may be running on it. Restoring is starting tarsd with
 * --state DEST.
 */
#include <stdio.h>
#include <string.h>
#include "backup_cmd.h"
#include "store.h"

int
backup_cmd(int argc, char **argv, const char *state)
{
    const char *to = NULL;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--state") == 0 && i + 1 < argc)
            state = argv[++i];
        else if (strcmp(argv[i], "--to") == 0 && i + 1 < argc)
            to = argv[++i];
        else {
            fprintf(stderr, "tarsctl: unexpected argument '%s' for 'backup'\n", argv[i]);
            return 2;
        }
    }
    if (!state || !to || !*state || !*to) {
        fprintf(stderr, "usage: tarsctl backup --state DIR --to DEST\n");
        return 2;
    }
    struct store *s;
    char err[768];
    if (store_open(&s, state, STORE_RDONLY, 0, err, sizeof err)) {
        fprintf(stderr, "tarsctl: %s\n", err);
        return 1;
    }
    int rc = store_backup(s, to, err, sizeof err);
    store_close(s);
    if (rc) {
        fprintf(stderr, "tarsctl: %s\n", err);
        return 1;
    }
    printf("backed up %s to %s\n", state, to);
    return 0;
}
