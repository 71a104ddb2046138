#include "offpolicy.h"

int
offp_save_parts(const struct offp_parts *p, tars_blob_writer *w)
{
    int rc = offp_save(p->clock, w);
    if (!rc)
        rc = tars_blob_put_rng(w, p->rng);
    for (int i = 0; !rc && i < p->n_nets; i++)
        rc = tars_mlp_save(p->nets[i], w);
    for (int i = 0; !rc && i < p->n_optims; i++)
        rc = tars_optim_save(p->optims[i], w);
    if (!rc)
        rc = tars_replay_save(p->replay, w);
    if (!rc)
        rc = agent_norm_save(p->norm, w);
    return rc;
}

int
offp_load_parts(const struct offp_parts *p, tars_ctx *ctx, tars_blob_reader *r)
{
    struct offp_clock clock;
    tars_rng rng;
    int rc = offp_load(&clock, r);
    if (!rc)
        rc = tars_blob_get_rng(r, &rng);
    for (int i = 0; !rc && i < p->n_nets; i++)
        rc = tars_mlp_load(p->nets[i], r);
    for (int i = 0; !rc && i < p->n_optims; i++)
        rc = tars_optim_load(p->optims[i], r);
    if (!rc)
        rc = tars_replay_load(p->replay, r);
    if (!rc)
        rc = agent_norm_load(p->norm, r);
    if (rc)
        return tars_fail(ctx, rc, "cannot load the state: %s",
                         *tars_blob_reader_error(r) ? tars_blob_reader_error(r)
                                                    : "its shape differs from this agent's");
    *p->clock = clock;
    *p->rng = rng;
    return 0;
}
