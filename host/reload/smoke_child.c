/*
 * The child half of the smoke test (smoke.h): `tarsd __smoke JOB.json`. It loads the staged
 * build with the host's own loader, exercises it as a run would, and exits 0, or 1 after one
 * line on stderr saying what failed. A crash is the parent's to report.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include "diag.h"
#include "host_side.h"
#include "loader.h"
#include "params_json.h"
#include "plugin_blob.h"
#include "plugin_error.h"
#include "registry.h"
#include "run.h"
#include "smoke.h"
#include "vecbuf.h"

struct job {
    json_t *root;
    const char *kind, *name, *library, *sha256, *state;
    uint32_t n_envs, steps;
    uint64_t seed;
};

/* A loaded library posing as a registry entry, as runs expect. */
struct built {
    struct lib lib;
    struct plugin p;
};

static int
build(struct loader *l, const char *library, const char *sha256, struct built *b, char *err,
      size_t errlen)
{
    memset(b, 0, sizeof *b);
    if (loader_open(l, library, sha256, &b->lib, err, errlen))
        return -1;
    b->p.info = b->lib.info;
    return 0;
}

/* The whole file (malloc'd). */
static int
read_file(const char *path, void **data, size_t *len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    long size = -1;
    if (f && fseek(f, 0, SEEK_END) == 0)
        size = ftell(f);
    if (size < 0 || fseek(f, 0, SEEK_SET) != 0 || !(*data = malloc(size ? (size_t)size : 1)) ||
        fread(*data, 1, (size_t)size, f) != (size_t)size) {
        if (f)
            fclose(f);
        return diag_fail(err, errlen, "cannot read the old version's state %s", path);
    }
    fclose(f);
    *len = (size_t)size;
    return 0;
}

/* After a load op returned rc: the reader's verdict on the rest, one sentence on failure. */
static int
close_reader(const tars_plugin_info *info, const tars_ctx *ctx, tars_blob_reader *rd, int rc,
             const char *what, char *err, size_t errlen)
{
    char op[128];
    snprintf(op, sizeof op, "load of %s", what);
    return plugin_blob_close(info, ctx, rd, rc, op, err, errlen) ? -1 : 0;
}

static int
steps(struct run *r, uint32_t n, const char *when, char *err, size_t errlen)
{
    for (uint32_t i = 0; i < n; i++)
        if (run_step(r))
            return diag_fail(err, errlen, "%s, step %u: %s", when, i + 1, r->error);
    return 0;
}

/* A fresh agent instance of r's build loads blob; kept in *keep when asked, else destroyed. */
static int
agent_reload(struct run *r, const void *blob, size_t len, const char *what, tars_agent **keep,
             char *err, size_t errlen)
{
    const tars_plugin_info *info = r->agent_plugin->info;
    tars_agent *a = NULL;
    tars_blob_reader *rd;
    tars__ctx_clear_error(r->actx);
    const tars_params *ap = atomic_load(&r->params)->agent;
    int rc = r->aops->create(r->actx, &r->spec, r->n_envs, ap, r->seed * 2, &a);
    if (rc) {
        plugin_op_error(err, errlen, info, PLUGIN_NAME_VERSION, "create", r->actx, NULL, rc);
        return -1;
    }
    rc = plugin_blob_open(info, blob, len, what, &rd, err, errlen) ? -1 : 0;
    if (!rc) {
        tars__ctx_clear_error(r->actx);
        rc = close_reader(info, r->actx, rd, r->aops->load(a, rd), what, err, errlen);
    }
    if (rc || !keep)
        r->aops->destroy(a);
    else
        *keep = a;
    return rc;
}

/* Steps with the agent that loaded the old version's state in place of the run's own. */
static int
old_state(struct run *r, const char *path, uint32_t n, char *err, size_t errlen)
{
    void *old = NULL;
    size_t len = 0;
    tars_agent *fresh = NULL;
    int rc = read_file(path, &old, &len, err, errlen);
    if (!rc)
        rc = agent_reload(r, old, len, "the old version's state", &fresh, err, errlen);
    free(old);
    if (rc)
        return rc;
    r->aops->destroy(r->agent);
    r->agent = fresh;
    return steps(r, n, "after loading the old version's state", err, errlen);
}

/*
 * The agent on one env of the job. Returns 0, -1 with err, or 1 when the agent refused the
 * env's spaces (TARS_ENOTSUP: the next env may fit).
 */
static int
on_env(const struct job *j, struct loader *l, struct built *ab, json_t *e, char *err, size_t errlen)
{
    struct built eb;
    struct run *r = NULL;
    void *blob = NULL;
    size_t len = 0;
    if (build(l, json_string_value(json_object_get(e, "library")),
              json_string_value(json_object_get(e, "sha256")), &eb, err, errlen))
        return -1;
    struct run_spec s = {
        .id = "smoke", .agent = &ab->p, .env = &eb.p, .n_envs = j->n_envs, .seed = j->seed};
    int rc = pjson_snapshot(ab->p.info, json_object_get(j->root, "defaults"),
                            json_object_get(j->root, "params"), &s.agent_params, err, errlen);
    if (!rc)
        rc = pjson_snapshot(eb.p.info, NULL, json_object_get(e, "params"), &s.env_params, err,
                            errlen);
    if (rc) {
        tars_params_free(s.agent_params);
        tars_params_free(s.env_params);
    } else if ((rc = run_create(&s, &r, err, errlen)) != 0) {
        rc = rc == TARS_ENOTSUP ? 1 : -1;
    } else if (steps(r, j->steps, "stepping", err, errlen) ||
               run_save_agent(r, &blob, &len, err, errlen) ||
               agent_reload(r, blob, len, "its own state", NULL, err, errlen) ||
               (j->state && old_state(r, j->state, j->steps, err, errlen))) {
        rc = -1;
    }
    run_destroy(r);
    loader_close(&eb.lib);
    free(blob);
    return rc;
}

static int
smoke_agent(const struct job *j, struct loader *l, struct built *ab, char *err, size_t errlen)
{
    json_t *envs = json_object_get(j->root, "envs"), *e;
    size_t i;
    int rc = diag_fail(err, errlen, "no loaded env to try agent '%s' on", j->name);
    json_array_foreach(envs, i, e)
    {
        rc = on_env(j, l, ab, e, err, errlen);
        if (rc <= 0)
            return rc;
    }
    return -1; /* every env refused: err holds the last refusal */
}

/* Random actions for every copy, within the action space's bounds. */
static void
random_actions(struct vecbuf *b, const tars_env_spec *spec, tars_rng *rng)
{
    const tars_space *a = &spec->act;
    size_t n = (size_t)b->n * b->act_width;
    for (size_t k = 0; k < n; k++) {
        if (a->type == TARS_SPACE_DISCRETE) {
            b->act_discrete[k] = (int32_t)tars_rng_below(rng, a->dim);
        } else {
            uint32_t d = (uint32_t)(k % a->dim);
            double lo = a->low ? a->low[d] : -1, hi = a->high ? a->high[d] : 1;
            b->act_continuous[k] = (float)tars_rng_range(rng, lo, hi);
        }
    }
}

/* Steps env e n times with random actions (after a reset when fresh). */
static int
env_steps(const tars_plugin_info *info, tars_ctx *ctx, tars_env *e, const tars_params *p,
          const struct job *j, int fresh, const char *when, char *err, size_t errlen)
{
    const tars_env_ops *ops = info->ops;
    tars_env_spec spec = {0};
    struct vecbuf b;
    tars_rng rng;
    ops->spec(e, &spec);
    if (spec.n_agents == 0 || spec.obs.dim == 0 || spec.act.dim == 0)
        return diag_fail(err, errlen, "env '%s' %s reports empty spaces", info->name,
                         info->version);
    if (vecbuf_alloc(&b, j->n_envs, &spec))
        return diag_fail(err, errlen, "out of memory");
    tars_rng_seed(&rng, j->seed, 7);
    tars__ctx_clear_error(ctx);
    int rc = fresh ? ops->reset(e, p, b.obs) : 0;
    const char *op = "reset";
    for (uint32_t i = 0; !rc && i < j->steps; i++) {
        random_actions(&b, &spec, &rng);
        tars_actions acts = {b.act_discrete, b.act_continuous};
        tars_step_out out = {b.new_obs, b.final_obs, b.reward, b.terminated, b.truncated};
        op = "step";
        rc = ops->step(e, p, &acts, &out);
    }
    vecbuf_free(&b);
    if (rc)
        return diag_fail(err, errlen, "env '%s' %s %s failed %s: %s", info->name, info->version, op,
                         when, *tars__ctx_error(ctx) ? tars__ctx_error(ctx) : tars_strerror(rc));
    return 0;
}

/* A fresh env instance loads blob and steps on. */
static int
env_reload(const tars_plugin_info *info, tars_ctx *ctx, const tars_params *p, const struct job *j,
           const void *blob, size_t len, const char *what, char *err, size_t errlen)
{
    const tars_env_ops *ops = info->ops;
    tars_env *e = NULL;
    tars_blob_reader *rd;
    tars__ctx_clear_error(ctx);
    int rc = ops->create(ctx, p, j->n_envs, j->seed + 1, &e);
    if (rc) {
        plugin_op_error(err, errlen, info, PLUGIN_NAME_VERSION, "create", ctx, NULL, rc);
        return -1;
    }
    rc = plugin_blob_open(info, blob, len, what, &rd, err, errlen) ? -1 : 0;
    if (!rc) {
        tars__ctx_clear_error(ctx);
        rc = close_reader(info, ctx, rd, ops->load(e, rd), what, err, errlen);
    }
    if (!rc)
        rc = env_steps(info, ctx, e, p, j, 0, "after the load", err, errlen);
    ops->destroy(e);
    return rc;
}

/* Saves e and loads that into a fresh instance; then the old version's state, if given. */
static int
env_roundtrip(const tars_plugin_info *info, tars_ctx *ctx, tars_env *e, const tars_params *p,
              const struct job *j, char *err, size_t errlen)
{
    const tars_env_ops *ops = info->ops;
    tars_blob_writer *w = NULL;
    const void *bytes;
    size_t len;
    void *old = NULL;
    if (!ops->save)
        return j->state
                   ? diag_fail(err, errlen,
                               "env '%s' %s cannot save and load, and instances of it are running",
                               info->name, info->version)
                   : 0;
    int rc = tars_blob_writer_new(info->name, &w);
    tars__ctx_clear_error(ctx);
    if (!rc && (rc = ops->save(e, w)) != 0)
        plugin_op_error(err, errlen, info, PLUGIN_NAME_VERSION, "save", ctx, NULL, rc);
    else if (!rc && (rc = tars_blob_writer_finish(w, &bytes, &len)) == 0)
        rc = env_reload(info, ctx, p, j, bytes, len, "its own state", err, errlen);
    else if (rc)
        diag_fail(err, errlen, "out of memory");
    tars_blob_writer_free(w);
    if (!rc && j->state && (rc = read_file(j->state, &old, &len, err, errlen)) == 0)
        rc = env_reload(info, ctx, p, j, old, len, "the old version's state", err, errlen);
    free(old);
    return rc ? -1 : 0;
}

static int
smoke_env(const struct job *j, struct built *b, char *err, size_t errlen)
{
    const tars_plugin_info *info = b->p.info;
    const tars_env_ops *ops = info->ops;
    tars_params *p = NULL;
    tars_env *e = NULL;
    tars_ctx *ctx = tars__ctx_new("smoke", NULL);
    int rc = ctx ? pjson_snapshot(info, json_object_get(j->root, "defaults"),
                                  json_object_get(j->root, "params"), &p, err, errlen)
                 : diag_fail(err, errlen, "out of memory");
    if (!rc && (rc = ops->create(ctx, p, j->n_envs, j->seed, &e)) != 0) {
        plugin_op_error(err, errlen, info, PLUGIN_NAME_VERSION, "create", ctx, NULL, rc);
        rc = -1;
    }
    if (!rc)
        rc = env_steps(info, ctx, e, p, j, 1, "stepping", err, errlen);
    if (!rc)
        rc = env_roundtrip(info, ctx, e, p, j, err, errlen);
    if (e)
        ops->destroy(e);
    tars_params_free(p);
    tars__ctx_free(ctx);
    return rc;
}

static int
read_job(const char *path, struct job *j, char *err, size_t errlen)
{
    json_error_t e;
    memset(j, 0, sizeof *j);
    j->root = json_load_file(path, 0, &e);
    if (!j->root)
        return diag_fail(err, errlen, "%s:%d:%d: %s", path, e.line, e.column, e.text);
    json_t *o = j->root;
    j->kind = json_string_value(json_object_get(o, "kind"));
    j->name = json_string_value(json_object_get(o, "name"));
    j->library = json_string_value(json_object_get(o, "library"));
    j->sha256 = json_string_value(json_object_get(o, "sha256"));
    j->state = json_string_value(json_object_get(o, "state"));
    j->n_envs = (uint32_t)json_integer_value(json_object_get(o, "n_envs"));
    j->seed = (uint64_t)json_integer_value(json_object_get(o, "seed"));
    j->steps = (uint32_t)json_integer_value(json_object_get(o, "steps"));
    if (!j->kind || !j->name || !j->library || !j->sha256)
        return diag_fail(err, errlen, "%s lacks its kind, name, library or sha256", path);
    if (!j->n_envs || j->n_envs > 65536)
        j->n_envs = 4;
    if (!j->steps)
        j->steps = SMOKE_STEPS;
    return 0;
}

/*
 * The child runs under rlimits (the job's cpu_s and as_mb): a build that spins or allocates
 * without end dies of SIGXCPU or fails its allocations, in the child. Sanitizer builds keep
 * their address space (their shadow memory reserves terabytes).
 */
static int
limit_self(json_t *job, char *err, size_t errlen)
{
    json_int_t cpu = json_integer_value(json_object_get(job, "cpu_s"));
    json_int_t as = json_integer_value(json_object_get(job, "as_mb"));
    struct rlimit rl;
    /* Only ever lowered: a hard limit tarsd was started under (ulimit, systemd's LimitCPU=,
     * LimitAS=) cannot be raised, and stays. */
    if (cpu > 0 && getrlimit(RLIMIT_CPU, &rl) == 0) {
        rlim_t hard = rl.rlim_max;
        rl.rlim_max = hard != RLIM_INFINITY && hard < (rlim_t)cpu + 1 ? hard : (rlim_t)cpu + 1;
        rl.rlim_cur = rl.rlim_max < (rlim_t)cpu ? rl.rlim_max : (rlim_t)cpu;
        if (setrlimit(RLIMIT_CPU, &rl) != 0)
            return diag_fail(err, errlen, "cannot limit the smoke test's CPU time: %s",
                             strerror(errno));
    }
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
    if (as > 0 && getrlimit(RLIMIT_AS, &rl) == 0) {
        rlim_t want = (rlim_t)as << 20;
        if (rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want)
            rl.rlim_max = want;
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_AS, &rl) != 0)
            return diag_fail(err, errlen, "cannot limit the smoke test's address space: %s",
                             strerror(errno));
    }
#else
    (void)as;
#endif
    return 0;
}

int
smoke_main(const char *job_path)
{
    struct job j;
    struct loader l = {0};
    struct built b = {0};
    char err[1024];
    int rc = read_job(job_path, &j, err, sizeof err);
    if (!rc)
        rc = limit_self(j.root, err, sizeof err);
    if (!rc)
        rc = build(&l, j.library, j.sha256, &b, err, sizeof err);
    if (!rc) {
        const tars_plugin_info *info = b.p.info;
        if (strcmp(info->name, j.name) != 0 || strcmp(tars_kind_name(info->kind), j.kind) != 0)
            rc = diag_fail(err, sizeof err, "the new build is %s '%s', not %s '%s'",
                           tars_kind_name(info->kind), info->name, j.kind, j.name);
        else if (info->kind == TARS_KIND_AGENT)
            rc = smoke_agent(&j, &l, &b, err, sizeof err);
        else if (info->kind == TARS_KIND_ENV)
            rc = smoke_env(&j, &b, err, sizeof err);
        if (!rc)
            printf("smoke test of %s '%s' %s passed\n", j.kind, info->name, info->version);
    }
    loader_close(&b.lib);
    loader_fini(&l);
    json_decref(j.root);
    if (rc) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    return 0;
}
