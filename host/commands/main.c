/* tarsd: the tars host. See `tarsd --help` and docs/architecture.md. */
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include "blas.h"
#include "cli.h"
#include "commands.h"
#include "host.h"
#include "smoke.h"
#include "smoke_server.h"
#include "tars/version.h"

int
main(int argc, char **argv)
{
    struct opts o;
    char err[512];
    blas_tune(argv);
    /* Re-executions (blas_tune, the supervisor's worker) run /proc/self/exe, which would name
     * the process "exe" in ps, top and pgrep. */
    prctl(PR_SET_NAME, "tarsd");
    if (host_check_sdk(err, sizeof err)) {
        fprintf(stderr, "tarsd: %s\n", err);
        return 1;
    }
    /* Hidden: a code swap's smoke test runs the new build in a fresh tarsd (smoke.h). */
    if (argc == 3 && strcmp(argv[1], SMOKE_COMMAND) == 0)
        return smoke_main(argv[2]);
    if (cli_parse(argc, argv, &o, err, sizeof err)) {
        fprintf(stderr, "tarsd: %s\n", err);
        cli_free(&o);
        return 2;
    }
    int rc = 0;
    if (o.help) {
        cli_usage(stdout);
    } else if (o.version) {
        printf("tarsd %s (plugin ABI %d.%d, OpenBLAS core %s)\n", TARS_VERSION_STRING,
               TARS_ABI_MAJOR, TARS_ABI_MINOR, blas_core());
    } else if (strcmp(o.cmd, "check") == 0) {
        rc = cmd_check(&o);
    } else if (strcmp(o.cmd, "train") == 0) {
        rc = cmd_train(&o);
    } else if (strcmp(o.cmd, "inspect") == 0) {
        rc = cmd_inspect(&o);
    } else if (supervise_is_worker()) {
        /* Before any thread and any signal handler: the helper forks clean children. */
        int sv = smoke_server_start();
        if (sv)
            fprintf(stderr, "tarsd: no smoke helper (%s): smoke tests start tarsd afresh\n",
                    strerror(-sv));
        rc = supervise_worker_setup() ? 1 : cmd_serve(&o);
    } else {
        rc = supervise(&o, argv);
    }
    cli_free(&o);
    return rc;
}
