/*
 * What reload.c (the code-swap protocol: steps 1 to 3 and 5, the outcome) and switch.c (step 4,
 * the switch) share: one job's swap, its refusal, and the calls from the protocol into the
 * switch.
 */
#ifndef TARS_HOST_RELOAD_INTERNAL_H
#define TARS_HOST_RELOAD_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "codeswap_internal.h"

struct swap {
    struct codeswap *cs;
    struct host *h;
    const struct cs_job *job;
    struct plugin *cur, *next;
    int status;          /* 200 unless something refused it */
    const char *outcome; /* reloaded, partial, unchanged, manifest, refused */
    char err[1024];
    char cand_sha[65]; /* the build looked at */
    char blob[4200];   /* the old version's state for the smoke test ("" when none) */
    double t_start, t_staged, t_saved, t_smoked, t_mapped, t_published, t_migrated, t_freed;
    /* The switch. */
    size_t n;
    char **claimed; /* the ids of cur's runs, claimed for the switch */
    size_t n_claimed;
    struct run **runs;
    struct swap_order *orders;
    struct swap_order **optrs;
    size_t migrated;
    double stall_max;
    int rolled_back;
    json_t *instances;
    json_t *freed;
    /* The running generation as it was: cur may be freed before the outcome is written. */
    char cur_version[64];
    char cur_sha[65];
    uint64_t cur_gen;
};

/* A static helper of both files: each gets its own copy. */
static inline int refuse(struct swap *x, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static inline int
refuse(struct swap *x, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(x->err, sizeof x->err, fmt, ap);
    va_end(ap);
    x->status = status;
    x->outcome = "refused";
    return -1;
}

/*
 * switch.c. switch_movable refuses (409) a swap to or from p when p is an env that cannot save
 * and load its state while agents use cur: asked before the smoke test (of cur) and in the
 * switch (of the new build). switch_code runs step 4 for a staged, smoke-tested build.
 */
int switch_movable(struct swap *x, const struct plugin *p);
void switch_code(struct swap *x);

#endif
