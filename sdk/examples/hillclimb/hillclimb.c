/*
 * agent "hillclimb": an example plugin built against the installed tars SDK alone.
 *
 * A linear policy (one weight row per discrete action) improved by hill climbing with adaptive
 * noise: every `episodes_per_candidate` finished episodes the mean return of the current
 * candidate is compared with the best so far; better weights are kept and the noise shrinks,
 * otherwise the noise grows (so a lucky but poor best cannot trap the search), and a new
 * candidate is drawn around the best with Gaussian noise of scale sigma * that factor.
 * Crude, but it solves CartPole and it
 * shows every part of a plugin: a parameter schema with HOT and LOG flags, save/load with a
 * version, the SDK's RNG, scalars and logging.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <tars/tars.h>

enum { P_SIGMA, P_EPISODES };

static const tars_param_def hillclimb_params[] = {
    [P_SIGMA] = TARS_PARAM_FLOAT_DEF("sigma", 0.5, 1e-4, 10.0, TARS_PARAM_HOT | TARS_PARAM_LOG,
                                     "Scale of the noise added to the best weights."),
    [P_EPISODES] = TARS_PARAM_INT_DEF("episodes_per_candidate", 8, 1, 1000, TARS_PARAM_HOT,
                                      "Episodes averaged before a candidate is judged."),
};

#define STATE_VERSION 1

struct tars_agent {
    tars_ctx *ctx;
    uint32_t obs_dim, n_actions, n_envs, n_weights;
    float *best, *candidate; /* [n_actions][obs_dim + 1]: weights and a bias per action */
    double best_score;
    double scale;        /* adaptive noise factor in [1/16, 16] */
    double sum;          /* returns of finished episodes under the candidate */
    double *running;     /* [n_envs] return of each env's current episode */
    uint32_t episodes;   /* finished under the candidate */
    uint64_t candidates; /* judged so far */
    tars_rng rng;
};

static void
propose(tars_agent *a, double sigma)
{
    for (uint32_t i = 0; i < a->n_weights; i++)
        a->candidate[i] = a->best[i] + (float)(sigma * a->scale * tars_rng_normal(&a->rng));
}

static int
hillclimb_create(tars_ctx *ctx, const tars_env_spec *spec, uint32_t n_envs,
                 const tars_params *params, uint64_t seed, tars_agent **out)
{
    if (spec->act.type != TARS_SPACE_DISCRETE || spec->n_agents != 1)
        return tars_fail(ctx, TARS_ENOTSUP, "needs a single-agent env with discrete actions");
    tars_agent *a = calloc(1, sizeof *a);
    if (!a)
        return TARS_ENOMEM;
    a->ctx = ctx;
    a->obs_dim = spec->obs.dim;
    a->n_actions = spec->act.dim;
    a->n_envs = n_envs;
    a->n_weights = a->n_actions * (a->obs_dim + 1);
    a->best = calloc(a->n_weights, sizeof(float));
    a->candidate = calloc(a->n_weights, sizeof(float));
    a->running = calloc(n_envs, sizeof(double));
    if (!a->best || !a->candidate || !a->running) {
        free(a->best);
        free(a->candidate);
        free(a->running);
        free(a);
        return TARS_ENOMEM;
    }
    a->best_score = -INFINITY;
    a->scale = 1;
    tars_rng_seed(&a->rng, seed, 0);
    propose(a, tars_param_float(params, P_SIGMA));
    *out = a;
    return 0;
}

static void
hillclimb_destroy(tars_agent *a)
{
    if (!a)
        return;
    free(a->best);
    free(a->candidate);
    free(a->running);
    free(a);
}

static int32_t
choose(const tars_agent *a, const float *w, const float *obs)
{
    uint32_t stride = a->obs_dim + 1;
    int32_t best = 0;
    float best_v = -INFINITY;
    for (uint32_t k = 0; k < a->n_actions; k++) {
        const float *row = &w[k * stride];
        float v = row[a->obs_dim];
        for (uint32_t j = 0; j < a->obs_dim; j++)
            v += row[j] * obs[j];
        if (v > best_v) {
            best_v = v;
            best = (int32_t)k;
        }
    }
    return best;
}

static int
hillclimb_act(tars_agent *a, const tars_params *params, const float *obs, uint32_t n, int explore,
              tars_actions *out)
{
    (void)params;
    /* Training follows the candidate; evaluation the best weights found so far. */
    const float *w = explore || a->best_score == -INFINITY ? a->candidate : a->best;
    for (uint32_t i = 0; i < n; i++)
        out->discrete[i] = choose(a, w, &obs[i * a->obs_dim]);
    return 0;
}

static int
hillclimb_observe(tars_agent *a, const tars_params *params, const tars_batch *b,
                  tars_scalars *scalars)
{
    uint32_t per = (uint32_t)tars_param_int(params, P_EPISODES);
    for (uint32_t i = 0; i < a->n_envs; i++) {
        a->running[i] += b->reward[i];
        if (!b->terminated[i] && !b->truncated[i])
            continue;
        a->sum += a->running[i];
        a->running[i] = 0;
        if (++a->episodes < per)
            continue;
        double score = a->sum / a->episodes;
        if (score > a->best_score) {
            memcpy(a->best, a->candidate, a->n_weights * sizeof(float));
            tars_log(a->ctx, TARS_LOG_DEBUG, "new best %.1f", score);
            a->best_score = score;
            a->scale = fmax(a->scale / 2, 1.0 / 16);
        } else {
            a->scale = fmin(a->scale * 2, 16);
        }
        a->candidates++;
        a->sum = 0;
        a->episodes = 0;
        propose(a, tars_param_float(params, P_SIGMA));
    }
    tars_scalar(scalars, "best_score", isfinite(a->best_score) ? a->best_score : 0);
    tars_scalar(scalars, "candidates", (double)a->candidates);
    return 0;
}

static int
hillclimb_save(const tars_agent *a, tars_blob_writer *w)
{
    int rc = tars_blob_set_version(w, STATE_VERSION);
    if (!rc)
        rc = tars_blob_put_u32(w, a->n_weights);
    if (!rc)
        rc = tars_blob_put_f32s(w, a->best, a->n_weights);
    if (!rc)
        rc = tars_blob_put_f32s(w, a->candidate, a->n_weights);
    if (!rc)
        rc = tars_blob_put_f64(w, a->best_score);
    if (!rc)
        rc = tars_blob_put_f64(w, a->scale);
    if (!rc)
        rc = tars_blob_put_f64(w, a->sum);
    if (!rc)
        rc = tars_blob_put_f64s(w, a->running, a->n_envs);
    if (!rc)
        rc = tars_blob_put_u32(w, a->episodes);
    if (!rc)
        rc = tars_blob_put_u64(w, a->candidates);
    if (!rc)
        rc = tars_blob_put_rng(w, &a->rng);
    return rc;
}

static int
hillclimb_load(tars_agent *a, tars_blob_reader *r)
{
    if (tars_blob_version(r) != STATE_VERSION)
        return tars_fail(a->ctx, TARS_EVERSION, "state version %u, this build reads %u",
                         tars_blob_version(r), STATE_VERSION);
    uint32_t n;
    int rc = tars_blob_get_u32(r, &n);
    if (rc)
        return rc;
    if (n != a->n_weights)
        return tars_fail(a->ctx, TARS_EINVAL, "state has %u weights, this agent %u", n,
                         a->n_weights);
    /* Read into a scratch agent so that a failed load changes nothing. */
    tars_agent s = *a;
    s.best = malloc(n * sizeof(float));
    s.candidate = malloc(n * sizeof(float));
    s.running = malloc(a->n_envs * sizeof(double));
    if (!s.best || !s.candidate || !s.running)
        rc = TARS_ENOMEM;
    if (!rc)
        rc = tars_blob_get_f32s(r, s.best, n);
    if (!rc)
        rc = tars_blob_get_f32s(r, s.candidate, n);
    if (!rc)
        rc = tars_blob_get_f64(r, &s.best_score);
    if (!rc)
        rc = tars_blob_get_f64(r, &s.scale);
    if (!rc)
        rc = tars_blob_get_f64(r, &s.sum);
    if (!rc)
        rc = tars_blob_get_f64s(r, s.running, a->n_envs);
    if (!rc)
        rc = tars_blob_get_u32(r, &s.episodes);
    if (!rc)
        rc = tars_blob_get_u64(r, &s.candidates);
    if (!rc)
        rc = tars_blob_get_rng(r, &s.rng);
    if (rc) {
        free(s.best);
        free(s.candidate);
        free(s.running);
        return rc;
    }
    free(a->best);
    free(a->candidate);
    free(a->running);
    *a = s;
    return 0;
}

TARS_OPS(tars_agent_ops, hillclimb_ops, .create = hillclimb_create, .destroy = hillclimb_destroy,
         .act = hillclimb_act, .observe = hillclimb_observe, .save = hillclimb_save,
         .load = hillclimb_load);

TARS_PLUGIN(.kind = TARS_KIND_AGENT, .name = "hillclimb", .version = "1.0.0",
            .description = "Linear policy improved by hill climbing (an SDK example).",
            .params = hillclimb_params, .n_params = TARS_COUNTOF(hillclimb_params),
            .ops = &hillclimb_ops)
