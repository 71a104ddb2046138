/*
 * The smoke test of a build that a rescan found (a new manifest, or a refused plugin tried
 * again), before the registry maps it (registry.h, vet): no build is mapped in tarsd before a
 * child process ran it, so a library whose constructor or ops crash is refused with the cause
 * instead of killing the daemon. A build that crashed its smoke test is also quarantined
 * (quarantine.h): a later start does not map it either.
 *
 * Threads: whoever scans holds reg_lock for writing: nothing here takes it.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include "codeswap.h"
#include "codeswap_internal.h"
#include "host.h"
#include "log.h"
#include "quarantine.h"
#include "smoke.h"

/* Every loaded env, for an agent's smoke test (the caller holds reg_lock). */
static json_t *
loaded_envs(const struct registry *reg)
{
    json_t *envs = json_array();
    for (size_t i = 0; envs && i < reg->n; i++) {
        const struct plugin *p = reg->v[i];
        if (p->info && p->info->kind == TARS_KIND_ENV && p->lib.copy && !p->quarantined)
            json_array_append_new(envs, json_pack("{s:s, s:s, s:s, s:{}}", "name", p->info->name,
                                                  "library", p->lib.copy, "sha256", p->lib.sha256,
                                                  "params"));
    }
    return envs;
}

/* A smoke test killed by a signal ("... SIGSEGV (Segmentation fault) ...") crashed in its
 * constructors or an op: quarantine it by sha256 so that no start maps it. */
static void
quarantine_crash(struct host *h, const struct plugin *p, const char *why)
{
    static const char *const sigs[] = {"SIGSEGV", "SIGBUS", "SIGILL", "SIGFPE", "SIGABRT"};
    struct quarantine q = {.time = host_wall()};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0] && !q.signal[0]; i++)
        if (strstr(why, sigs[i]))
            snprintf(q.signal, sizeof q.signal, "%s", sigs[i]);
    if (!q.signal[0])
        return;
    char err[512];
    snprintf(q.sha256, sizeof q.sha256, "%s", p->lib.sha256);
    snprintf(q.file, sizeof q.file, "%s", p->m.library);
    snprintf(q.op, sizeof q.op, "load");
    quarantine_describe(&q);
    /* It crashed a child, not tarsd: say so. */
    snprintf(q.reason, sizeof q.reason, "%s (sha256 %.12s…) crashed its smoke test: %s",
             p->m.library, p->lib.sha256, q.signal);
    q.announced = 1; /* logged and audited right now, by the rescan */
    if (quarantine_add(h->cfg.state_dir, &q, err, sizeof err))
        hlog(LOG_WARN, "registry", "%s", err);
}

static int
vet_build(void *arg, const struct plugin *p, char *err, size_t errlen)
{
    struct host *h = arg;
    const char *kind = tars_kind_name(p->m.kind);
    json_t *job = json_pack("{s:s, s:s, s:s, s:s, s:o, s:i, s:o}", "kind", kind, "name", p->m.name,
                            "library", p->lib.copy, "sha256", p->lib.sha256, "defaults",
                            p->m.defaults ? json_deep_copy(p->m.defaults) : json_object(), "steps",
                            SMOKE_STEPS, "envs",
                            p->m.kind == TARS_KIND_AGENT ? loaded_envs(&h->reg) : json_array());
    if (!job) {
        snprintf(err, errlen, "out of memory for the smoke test of %s", p->m.library);
        return -1;
    }
    char why[900];
    const atomic_int *stop = h->codeswap ? &h->codeswap->stop : NULL;
    int rc = smoke_run(h->reg.loader.cache_dir, job, h->cfg.smoke_timeout_s, stop, why, sizeof why);
    json_decref(job);
    if (rc) {
        quarantine_crash(h, p, why);
        snprintf(err, errlen, "its smoke test failed: %s", why);
    }
    return rc;
}

void
codeswap_vet_rescans(struct host *h)
{
    h->reg.vet = vet_build;
    h->reg.vet_arg = h;
}
