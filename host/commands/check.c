/*
 * tarsd check: loads and validates the config, the manifests and the plugins, prints one row
 * per plugin and every error as FILE:LINE:COL: message. Exit 1 on any error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "commands.h"
#include "host.h"

static void
print_rows(const struct registry *r)
{
    printf("%-24s %-9s %-9s %-5s %s\n", "NAME", "KIND", "VERSION", "ABI", "STATUS");
    for (size_t i = 0; i < r->n; i++) {
        const struct plugin *p = r->v[i];
        const char *name = p->m.name ? p->m.name : p->manifest_path;
        const char *kind = p->m.kind ? tars_kind_name(p->m.kind) : "-";
        char abi[16] = "-";
        const char *version = p->info ? p->info->version : p->m.version ? p->m.version : "-";
        if (p->info)
            snprintf(abi, sizeof abi, "%u.%u", p->info->abi_major, p->info->abi_minor);
        else if (p->m.name)
            snprintf(abi, sizeof abi, "%u.%u", p->m.abi_major, p->m.abi_minor);
        const char *status = p->info ? (p->warning ? "ok (warning)" : "ok") : "error";
        printf("%-24s %-9s %-9s %-5s %s\n", name, kind, version, abi, status);
    }
}

int
cmd_check(const struct opts *o)
{
    struct host *h = calloc(1, sizeof *h);
    struct diag d = {0};
    int rc = 1;
    if (!h) {
        fprintf(stderr, "tarsd: out of memory\n");
        return 1;
    }
    if (host_setup(h, &o->flags, 1, &d) == 0 || h->reg.n) {
        print_rows(&h->reg);
        for (size_t i = 0; i < h->reg.n; i++)
            if (h->reg.v[i]->warning)
                fprintf(stderr, "%s: warning: %s\n", h->reg.v[i]->manifest_path,
                        h->reg.v[i]->warning);
    }
    if (h->cfg.doc.root && h->reg.manifest_dirs.n)
        host_check_agents(h, &d);
    diag_print(&d, stderr, NULL);
    rc = d.n ? 1 : 0;
    diag_free(&d);
    host_teardown(h);
    free(h);
    return rc;
}
