/*
 * Saving and loading a whole run (see run.h). The blob, tagged "tars-run":
 *   u64 steps | u64 episodes | u32 n_envs | u32 obs width | f32[] obs | f64[] episode returns |
 *   bytes episode lengths | f64[] return window | u32 window fill | u32 window position |
 *   bytes agent blob | bytes env blob (empty when the env cannot save)
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "run.h"
#include "plugin_error.h"

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
    if (rc)
        plugin_op_error(err, errlen, p->info, PLUGIN_NAME, "save", ctx, NULL, rc);
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
    if (rc)
        plugin_op_error(err, errlen, p->info, PLUGIN_NAME, "load", ctx, tars_blob_reader_error(r),
                        rc);
    tars_blob_reader_free(r);
    return rc;
}

/* A run blob's own fields, decoded and checked before any of them reaches the run. */
struct run_fields {
    uint64_t steps, episodes;
    float *obs;
    double *ep_return;
    uint32_t *ep_len;
    double window[RUN_RETURN_WINDOW];
    uint32_t window_n, window_at;
    void *ablob, *eblob; /* the agent's and the env's blobs */
    size_t alen, elen;
};

static void
fields_free(struct run_fields *f)
{
    free(f->obs);
    free(f->ep_return);
    free(f->ep_len);
    free(f->ablob);
    free(f->eblob);
}

/* A nested blob of the length its field holds (malloc'd; one byte when empty). */
static int
get_blob(tars_blob_reader *rd, void **data, size_t *len)
{
    int rc = tars_blob_peek_len(rd, len);
    if (!rc && !(*data = malloc(*len ? *len : 1)))
        rc = TARS_ENOMEM;
    return rc ? rc : tars_blob_get_bytes(rd, *data, *len);
}

/* Decodes everything of the blob but the plugins' states into f; the run is not touched. */
static int
decode(const struct run *r, tars_blob_reader *rd, struct run_fields *f, char *err, size_t errlen)
{
    const struct vecbuf *b = &r->buf;
    uint32_t n = 0, ow = 0;
    int rc = tars_blob_version(rd) != RUN_STATE_VERSION ? TARS_EVERSION : 0;
    if (!rc)
        rc = tars_blob_get_u64(rd, &f->steps);
    if (!rc)
        rc = tars_blob_get_u64(rd, &f->episodes);
    if (!rc)
        rc = tars_blob_get_u32(rd, &n);
    if (!rc)
        rc = tars_blob_get_u32(rd, &ow);
    if (!rc && (n != b->n || ow != b->obs_width)) {
        snprintf(err, errlen, "run state has %u envs of %u observations, this run %u of %u", n, ow,
                 b->n, b->obs_width);
        return TARS_EINVAL;
    }
    if (!rc && (!(f->obs = malloc((size_t)n * ow * sizeof *f->obs)) ||
                !(f->ep_return = malloc(n * sizeof *f->ep_return)) ||
                !(f->ep_len = malloc(n * sizeof *f->ep_len))))
        rc = TARS_ENOMEM;
    if (!rc)
        rc = tars_blob_get_f32s(rd, f->obs, (size_t)n * ow);
    if (!rc)
        rc = tars_blob_get_f64s(rd, f->ep_return, n);
    if (!rc)
        rc = tars_blob_get_bytes(rd, f->ep_len, n * sizeof *f->ep_len);
    if (!rc)
        rc = tars_blob_get_f64s(rd, f->window, RUN_RETURN_WINDOW);
    if (!rc)
        rc = tars_blob_get_u32(rd, &f->window_n);
    if (!rc)
        rc = tars_blob_get_u32(rd, &f->window_at);
    if (!rc)
        rc = get_blob(rd, &f->ablob, &f->alen);
    if (!rc)
        rc = get_blob(rd, &f->eblob, &f->elen);
    if (!rc)
        rc = tars_blob_reader_end(rd);
    if (rc) {
        snprintf(err, errlen, "run state: %s",
                 *tars_blob_reader_error(rd) ? tars_blob_reader_error(rd) : tars_strerror(rc));
        return rc;
    }
    /* The run indexes its window with these: out of range, a crafted or damaged blob would
     * have it write outside the array. */
    if (f->window_n > RUN_RETURN_WINDOW || f->window_at >= RUN_RETURN_WINDOW) {
        snprintf(err, errlen,
                 "run state: its return window is out of range (%u returns at position %u, in "
                 "a window of %u)",
                 f->window_n, f->window_at, RUN_RETURN_WINDOW);
        return TARS_EINVAL;
    }
    return 0;
}

/*
 * The run's own fields change only once the whole blob decoded and both plugins loaded. An
 * env that saved no state (or cannot load it) stays as run_create reset it: its observations
 * and episode accumulators are those of that reset, not the saved ones, which describe
 * episodes this env is not in.
 */
int
run_load(struct run *r, const void *data, size_t len, char *err, size_t errlen)
{
    struct vecbuf *b = &r->buf;
    struct run_fields f = {0};
    tars_blob_reader *rd;
    char why[256];
    int rc = tars_blob_reader_new(data, len, RUN_TAG, &rd, why, sizeof why);
    if (rc) {
        snprintf(err, errlen, "run state: %s", why);
        return rc;
    }
    rc = decode(r, rd, &f, err, errlen);
    tars_blob_reader_free(rd);
    int env_state = f.elen && r->eops->load;
    if (!rc)
        rc = load_plugin(r, r->agent_plugin, r->actx, load_agent, f.ablob, f.alen, err, errlen);
    if (!rc && env_state)
        rc = load_plugin(r, r->env_plugin, r->ectx, load_env, f.eblob, f.elen, err, errlen);
    if (!rc) {
        if (env_state) {
            memcpy(b->obs, f.obs, (size_t)b->n * b->obs_width * sizeof *b->obs);
            memcpy(b->ep_return, f.ep_return, b->n * sizeof *b->ep_return);
            memcpy(b->ep_len, f.ep_len, b->n * sizeof *b->ep_len);
        }
        memcpy(r->window, f.window, sizeof r->window);
        r->window_n = f.window_n;
        r->window_at = f.window_at;
        double sum = 0;
        for (uint32_t k = 0; k < r->window_n; k++)
            sum += r->window[k];
        atomic_store(&r->mean_return, r->window_n ? sum / r->window_n : NAN);
        atomic_store(&r->steps, f.steps);
        atomic_store(&r->episodes, f.episodes);
    }
    fields_free(&f);
    return rc;
}
