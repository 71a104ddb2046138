#include <math.h>
#include <stdio.h>
#include "progress.h"

void
progress_count(char *buf, size_t len, double v)
{
    if (!isfinite(v))
        snprintf(buf, len, "-");
    else if (fabs(v) >= 1e9)
        snprintf(buf, len, "%.2fG", v / 1e9);
    else if (fabs(v) >= 1e6)
        snprintf(buf, len, "%.2fM", v / 1e6);
    else if (fabs(v) >= 1e4)
        snprintf(buf, len, "%.1fk", v / 1e3);
    else
        snprintf(buf, len, "%.0f", v);
}

void
progress_runs(char *buf, size_t len, struct run *const *runs, size_t n)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && used < len; i++) {
        struct run *r = runs[i];
        char steps[16], sps[16], eps[16], ret[16];
        progress_count(steps, sizeof steps, (double)atomic_load(&r->steps));
        progress_count(sps, sizeof sps, atomic_load(&r->sps));
        progress_count(eps, sizeof eps, (double)atomic_load(&r->episodes));
        double mr = atomic_load(&r->mean_return);
        if (isfinite(mr))
            snprintf(ret, sizeof ret, "%.1f", mr);
        else
            snprintf(ret, sizeof ret, "-");
        used += (size_t)snprintf(buf + used, len - used,
                                 "  %-12s %-8s on %-10s %8s steps %8s/s %7s ep  return %7s  %s\n",
                                 r->id, r->agent_plugin->info->name, r->env_plugin->info->name,
                                 steps, sps, eps, ret, run_state_name(atomic_load(&r->state)));
    }
}
