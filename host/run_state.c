/*
 * Saving and loading a whole run (see run.h). The blob, tagged "tars-run":
 *   u64 steps | u64 episodes | u32 n_envs | u32 obs width | f32[] obs | f64[] episode returns |
 *   bytes episode lengths | f64[] return window | u32 window fill | u32 window position |
 *   bytes agent blob | bytes env blob (empty when the env cannot save)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "run.h"

#define RUN_TAG           "tars-run"
#define RUN_STATE_VERSION 1

static int
save_agent(struct run *r, tars_blob_writer *w)
{
    return r->aops->save(r->agent, w);
}

static int
save_env(struct run *r, tars_blob_writer *w)
{
    return r->eops->save(r->env, w);
}

static int
load_agent(struct run *r, tars_blob_reader *rd)
{
    return r->aops->load(r->agent, rd);
}

static int
load_env(struct run *r, tars_blob_reader *rd)
{
    return r->eops->load(r->env, rd);
}

/* A plugin instance's blob, written by its save op. */
static int
plugin_blob(struct run *r, const struct plugin *p, tars_ctx *ctx,
            int (*save)(struct run *, tars_blob_writer *), tars_blob_writer **out,
            const void **data, size_t *len, char *err, size_t errlen)
{
    int rc = tars_blob_writer_new(p->info->name, out);
    if (!rc)
        rc = save(r, *out);
    if (!rc)
        rc = tars_blob_writer_finish(*out, data, len);
    if (rc) {
        const char *why = tars__ctx_error(ctx);
        snprintf(err, errlen, "%s '%s' save failed: %s", tars_kind_name(p->info->kind),
                 p->info->name, *why ? why : tars_strerror(rc));
    }
    return rc;
}

int
run_save(struct run *r, void **data, size_t *len, char *err, size_t errlen)
{
    struct vecbuf *b = &r->buf;
    tars_blob_writer *w = NULL, *aw = NULL, *ew = NULL;
    const void *abytes = NULL, *ebytes = NULL;
    size_t alen = 0, elen = 0;
    *data = NULL;
    int rc = plugin_blob(r, r->agent_plugin, r->actx, save_agent, &aw, &abytes, &alen, err, errlen);
    if (!rc && r->eops->save)
        rc = plugin_blob(r, r->env_plugin, r->ectx, save_env, &ew, &ebytes, &elen, err, errlen);
    if (rc)
        goto out;
    rc = tars_blob_writer_new(RUN_TAG, &w);
    if (!rc)
        rc = tars_blob_set_version(w, RUN_STATE_VERSION);
    if (!rc)
        rc = tars_blob_put_u64(w, atomic_load(&r->steps));
    if (!rc)
        rc = tars_blob_put_u64(w, atomic_load(&r->episodes));
    if (!rc)
        rc = tars_blob_put_u32(w, b->n);
    if (!rc)
        rc = tars_blob_put_u32(w, b->obs_width);
    if (!rc)
        rc = tars_blob_put_f32s(w, b->obs, (size_t)b->n * b->obs_width);
    if (!rc)
        rc = tars_blob_put_f64s(w, b->ep_return, b->n);
    if (!rc)
        rc = tars_blob_put_bytes(w, b->ep_len, b->n * sizeof *b->ep_len);
    if (!rc)
        rc = tars_blob_put_f64s(w, r->window, RUN_RETURN_WINDOW);
    if (!rc)
        rc = tars_blob_put_u32(w, r->window_n);
    if (!rc)
        rc = tars_blob_put_u32(w, r->window_at);
    if (!rc)
        rc = tars_blob_put_bytes(w, abytes, alen);
    if (!rc)
        rc = tars_blob_put_bytes(w, ebytes, elen);
    if (!rc)
        rc = tars__blob_writer_take(w, data, len);
    if (rc)
        snprintf(err, errlen, "out of memory saving run '%s'", r->id);
out:
    tars_blob_writer_free(w);
    tars_blob_writer_free(aw);
    tars_blob_writer_free(ew);
    return rc;
}

/* Loads a nested plugin blob with the plugin's load op. */
static int
load_plugin(struct run *run, const struct plugin *p, tars_ctx *ctx,
            int (*load)(struct run *, tars_blob_reader *), const void *data, size_t len, char *err,
            size_t errlen)
{
    tars_blob_reader *r;
    char why[256];
    int rc = tars_blob_reader_new(data, len, p->info->name, &r, why, sizeof why);
    if (rc) {
        snprintf(err, errlen, "%s '%s' state: %s", tars_kind_name(p->info->kind), p->info->name,
                 why);
        return rc;
    }
    rc = load(run, r);
    if (!rc)
        rc = tars_blob_reader_end(r);
    if (rc) {
        const char *pe = tars__ctx_error(ctx);
        snprintf(err, errlen, "%s '%s' load failed: %s", tars_kind_name(p->info->kind),
                 p->info->name,
                 *pe                          ? pe
                 : *tars_blob_reader_error(r) ? tars_blob_reader_error(r)
                                              : tars_strerror(rc));
    }
    tars_blob_reader_free(r);
    return rc;
}

int
run_load(struct run *r, const void *data, size_t len, char *err, size_t errlen)
{
    struct vecbuf *b = &r->buf;
    tars_blob_reader *rd;
    char why[256];
    int rc = tars_blob_reader_new(data, len, RUN_TAG, &rd, why, sizeof why);
    if (rc) {
        snprintf(err, errlen, "run state: %s", why);
        return rc;
    }
    uint64_t steps = 0, episodes = 0;
    uint32_t n = 0, ow = 0;
    size_t alen = 0, elen = 0;
    void *ablob = NULL, *eblob = NULL;
    if (tars_blob_version(rd) != RUN_STATE_VERSION)
        rc = TARS_EVERSION;
    if (!rc)
        rc = tars_blob_get_u64(rd, &steps);
    if (!rc)
        rc = tars_blob_get_u64(rd, &episodes);
    if (!rc)
        rc = tars_blob_get_u32(rd, &n);
    if (!rc)
        rc = tars_blob_get_u32(rd, &ow);
    if (!rc && (n != b->n || ow != b->obs_width)) {
        snprintf(err, errlen, "run state has %u envs of %u observations, this run %u of %u", n, ow,
                 b->n, b->obs_width);
        tars_blob_reader_free(rd);
        return TARS_EINVAL;
    }
    if (!rc)
        rc = tars_blob_get_f32s(rd, b->obs, (size_t)n * ow);
    if (!rc)
        rc = tars_blob_get_f64s(rd, b->ep_return, n);
    if (!rc)
        rc = tars_blob_get_bytes(rd, b->ep_len, n * sizeof *b->ep_len);
    if (!rc)
        rc = tars_blob_get_f64s(rd, r->window, RUN_RETURN_WINDOW);
    if (!rc)
        rc = tars_blob_get_u32(rd, &r->window_n);
    if (!rc)
        rc = tars_blob_get_u32(rd, &r->window_at);
    if (!rc && (rc = tars_blob_peek_len(rd, &alen)) == 0 && !(ablob = malloc(alen ? alen : 1)))
        rc = TARS_ENOMEM;
    if (!rc)
        rc = tars_blob_get_bytes(rd, ablob, alen);
    if (!rc && (rc = tars_blob_peek_len(rd, &elen)) == 0 && !(eblob = malloc(elen ? elen : 1)))
        rc = TARS_ENOMEM;
    if (!rc)
        rc = tars_blob_get_bytes(rd, eblob, elen);
    if (!rc)
        rc = tars_blob_reader_end(rd);
    if (rc) {
        snprintf(err, errlen, "run state: %s",
                 *tars_blob_reader_error(rd) ? tars_blob_reader_error(rd) : tars_strerror(rc));
    } else {
        rc = load_plugin(r, r->agent_plugin, r->actx, load_agent, ablob, alen, err, errlen);
        if (!rc && elen && r->eops->load)
            rc = load_plugin(r, r->env_plugin, r->ectx, load_env, eblob, elen, err, errlen);
    }
    if (!rc) {
        atomic_store(&r->steps, steps);
        atomic_store(&r->episodes, episodes);
    }
    free(ablob);
    free(eblob);
    tars_blob_reader_free(rd);
    return rc;
}
