/*
 * Exact resume and determinism for every learning agent: train N steps, save the whole run,
 * load it into a fresh run (built with another seed, so nothing carries over by accident),
 * train M more on both, and the agents' states are identical bit for bit. Two runs with one
 * seed produce identical states. Small networks keep it quick; every path of each agent runs
 * (rollouts and updates, replay warm-up and training, target updates, normalisation). And
 * run_load's contract: a refused state leaves the run as it was.
 */
#include <stdlib.h>
#include <string.h>
#include "registry.h"
#include "run.h"
#include "tap.h"

static struct registry reg;

struct setup {
    const char *agent, *env;
    uint32_t n_envs;
    const char *overrides; /* "k=v k=v" */
    uint32_t n, m;         /* steps before and after the save */
};

static const struct setup setups[] = {
    {"ppo", "cartpole", 4,
     "n_steps=16 batch_size=32 n_epochs=3 hidden=16 lr_schedule=linear clip_range_schedule=linear "
     "total_steps=4000 normalize_obs=true normalize_reward=true target_kl=0.05 clip_range_vf=0.5",
     150, 130},
    {"ppo", "pendulum", 2, "n_steps=32 batch_size=16 n_epochs=2 hidden=16", 90, 70},
    {"a2c", "acrobot", 4, "hidden=16 normalize_obs=true normalize_reward=true", 120, 110},
    {"a2c", "mountaincar-continuous", 2, "hidden=8 rms_prop=false", 60, 50},
    {"dqn", "cartpole", 2,
     "hidden=16 learning_starts=50 train_freq=4 gradient_steps=2 batch_size=16 "
     "target_update_interval=20 total_steps=2000 double_q=true normalize_obs=true",
     300, 250},
    {"ddpg", "pendulum", 2,
     "hidden1=16 hidden2=16 learning_starts=40 batch_size=16 noise=ou noise_sigma=0.3", 120, 90},
};

static struct run *
make_run(const struct setup *s, uint64_t seed)
{
    char err[512];
    struct run_spec spec = {.id = s->agent, .n_envs = s->n_envs, .seed = seed};
    spec.agent = registry_get(&reg, s->agent, TARS_KIND_AGENT);
    spec.env = registry_get(&reg, s->env, TARS_KIND_ENV);
    if (!spec.agent || !spec.env ||
        plugin_params(spec.agent, NULL, &spec.agent_params, NULL, err, sizeof err) ||
        plugin_params(spec.env, NULL, &spec.env_params, NULL, err, sizeof err))
        return NULL;
    char *list = strdup(s->overrides), *save = NULL;
    for (char *kv = strtok_r(list, " ", &save); kv; kv = strtok_r(NULL, " ", &save)) {
        char *eq = strchr(kv, '=');
        *eq = '\0';
        if (tars_params_parse(spec.agent_params, kv, eq + 1, err, sizeof err))
            diag("%s", err);
    }
    free(list);
    struct run *r = NULL;
    if (run_create(&spec, &r, err, sizeof err))
        diag("%s", err);
    return r;
}

static int
steps(struct run *r, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        if (run_step(r)) {
            diag("%s", r->error);
            return -1;
        }
    return 0;
}

/* The agent's state blob, for comparison. */
static void *
agent_state(struct run *r, size_t *len)
{
    void *blob = NULL;
    char err[256];
    if (run_save_agent(r, &blob, len, err, sizeof err))
        diag("%s", err);
    return blob;
}

static void
check(const struct setup *s)
{
    char err[512];
    struct run *a = make_run(s, 7), *b = make_run(s, 99), *c = make_run(s, 7);
    if (!ok(a && b && c, "%s on %s: runs created", s->agent, s->env))
        return;
    ok(steps(a, s->n) == 0 && steps(c, s->n) == 0, "%s: %u steps", s->agent, s->n);
    void *state;
    size_t len;
    ok(run_save(a, &state, &len, err, sizeof err) == 0, "%s: run saved (%zu bytes)", s->agent, len);
    ok(run_load(b, state, len, err, sizeof err) == 0, "%s: loaded into a fresh run", s->agent);
    if (*err)
        diag("%s", err);
    ok(atomic_load(&b->steps) == atomic_load(&a->steps) &&
           atomic_load(&b->episodes) == atomic_load(&a->episodes),
       "%s: counters carried over", s->agent);
    ok(steps(a, s->m) == 0 && steps(b, s->m) == 0 && steps(c, s->m) == 0, "%s: %u more steps",
       s->agent, s->m);
    size_t la, lb, lc;
    void *sa = agent_state(a, &la), *sb = agent_state(b, &lb), *sc = agent_state(c, &lc);
    ok(sa && sb && la == lb && memcmp(sa, sb, la) == 0,
       "%s: the resumed agent equals the uninterrupted one, bit for bit", s->agent);
    ok(sa && sc && la == lc && memcmp(sa, sc, la) == 0, "%s: same seed, same run", s->agent);
    ok(atomic_load(&a->episodes) == atomic_load(&b->episodes) && a->window_n == b->window_n &&
           memcmp(a->window, b->window, sizeof a->window) == 0,
       "%s: and the same episodes", s->agent);
    void *sd = NULL;
    struct run *d = make_run(s, 8);
    size_t ld = 0;
    if (d && steps(d, s->n + s->m) == 0)
        sd = agent_state(d, &ld);
    ok(sd && (ld != la || memcmp(sd, sa, la) != 0), "%s: another seed, another run", s->agent);
    free(sa);
    free(sb);
    free(sc);
    free(sd);
    free(state);
    run_destroy(a);
    run_destroy(b);
    run_destroy(c);
    run_destroy(d);
}

static void
refusals(void)
{
    char err[512];
    struct setup dqn4 = setups[4];
    dqn4.n_envs = setups[0].n_envs; /* same shape of run, another agent */
    struct run *a = make_run(&setups[0], 1), *other = make_run(&dqn4, 1);
    void *state;
    size_t len;
    steps(a, 20);
    run_save(a, &state, &len, err, sizeof err);
    ok(run_load(other, state, len, err, sizeof err) != 0, "a PPO run does not load into a DQN run");
    like(err, "agent 'dqn' state: blob belongs to 'ppo', not 'dqn'", "and says whose state it is");
    struct run *wide = make_run(&setups[4], 1);
    ok(run_load(wide, state, len, err, sizeof err) != 0, "nor into a run of another width");
    like(err, "run state has 4 envs of 4 observations, this run 2 of 4", "which is named");
    run_destroy(wide);
    ((unsigned char *)state)[len / 2] ^= 1;
    struct run *b = make_run(&setups[0], 1);
    ok(run_load(b, state, len, err, sizeof err) != 0, "a corrupted run state is refused");
    like(err, "checksum mismatch", "with the cause");
    free(state);
    run_destroy(a);
    run_destroy(b);
    run_destroy(other);
}

/* A run's own fields, to see whether a load changed them. */
struct snapshot {
    float obs[64];
    double ep_return[8];
    uint32_t ep_len[8];
    double window[RUN_RETURN_WINDOW];
    uint32_t window_n, window_at;
    uint64_t steps, episodes;
};

static void
snap(struct run *r, struct snapshot *s)
{
    memset(s, 0, sizeof *s);
    memcpy(s->obs, r->buf.obs, (size_t)r->buf.n * r->buf.obs_width * sizeof(float));
    memcpy(s->ep_return, r->buf.ep_return, r->buf.n * sizeof(double));
    memcpy(s->ep_len, r->buf.ep_len, r->buf.n * sizeof(uint32_t));
    memcpy(s->window, r->window, sizeof s->window);
    s->window_n = r->window_n;
    s->window_at = r->window_at;
    s->steps = atomic_load(&r->steps);
    s->episodes = atomic_load(&r->episodes);
}

static int
same(struct run *r, const struct snapshot *before)
{
    struct snapshot now;
    snap(r, &now);
    return memcmp(&now, before, sizeof now) == 0;
}

/* The fields of a run blob, decoded and written back, so that a test can change one. */
struct run_blob {
    uint64_t steps, episodes;
    uint32_t n, ow;
    float obs[64];
    double ep_return[8];
    uint32_t ep_len[8];
    double window[RUN_RETURN_WINDOW];
    uint32_t window_n, window_at;
    unsigned char *agent, *env;
    size_t alen, elen;
};

static int
blob_decode(const void *data, size_t len, struct run_blob *b)
{
    tars_blob_reader *rd;
    char why[256];
    memset(b, 0, sizeof *b);
    if (tars_blob_reader_new(data, len, "tars-run", &rd, why, sizeof why))
        return -1;
    int rc = tars_blob_get_u64(rd, &b->steps) || tars_blob_get_u64(rd, &b->episodes) ||
             tars_blob_get_u32(rd, &b->n) || tars_blob_get_u32(rd, &b->ow) || b->n > 8 ||
             b->n * b->ow > 64 || tars_blob_get_f32s(rd, b->obs, b->n * b->ow) ||
             tars_blob_get_f64s(rd, b->ep_return, b->n) ||
             tars_blob_get_bytes(rd, b->ep_len, b->n * sizeof(uint32_t)) ||
             tars_blob_get_f64s(rd, b->window, RUN_RETURN_WINDOW) ||
             tars_blob_get_u32(rd, &b->window_n) || tars_blob_get_u32(rd, &b->window_at) ||
             tars_blob_peek_len(rd, &b->alen) || !(b->agent = malloc(b->alen + 1)) ||
             tars_blob_get_bytes(rd, b->agent, b->alen) || tars_blob_peek_len(rd, &b->elen) ||
             !(b->env = malloc(b->elen + 1)) || tars_blob_get_bytes(rd, b->env, b->elen);
    tars_blob_reader_free(rd);
    return rc ? -1 : 0;
}

/* The blob of b (malloc'd into *out). */
static size_t
blob_encode(const struct run_blob *b, void **out)
{
    tars_blob_writer *w;
    const void *data;
    size_t len = 0;
    *out = NULL;
    if (tars_blob_writer_new("tars-run", &w))
        return 0;
    if (!(tars_blob_set_version(w, 1) || tars_blob_put_u64(w, b->steps) ||
          tars_blob_put_u64(w, b->episodes) || tars_blob_put_u32(w, b->n) ||
          tars_blob_put_u32(w, b->ow) || tars_blob_put_f32s(w, b->obs, b->n * b->ow) ||
          tars_blob_put_f64s(w, b->ep_return, b->n) ||
          tars_blob_put_bytes(w, b->ep_len, b->n * sizeof(uint32_t)) ||
          tars_blob_put_f64s(w, b->window, RUN_RETURN_WINDOW) ||
          tars_blob_put_u32(w, b->window_n) || tars_blob_put_u32(w, b->window_at) ||
          tars_blob_put_bytes(w, b->agent, b->alen) || tars_blob_put_bytes(w, b->env, b->elen) ||
          tars_blob_writer_finish(w, &data, &len)) &&
        (*out = malloc(len)))
        memcpy(*out, data, len);
    tars_blob_writer_free(w);
    return *out ? len : 0;
}

/*
 * run_load changes the run only when everything loaded: not when the state is another
 * agent's, not when its return window is out of range; and an env that saved no state keeps
 * the observations and episode accumulators of its own reset.
 */
static void
load_contract(void)
{
    char err[512];
    struct setup dqn4 = setups[4];
    dqn4.n_envs = setups[0].n_envs;
    struct run *ppo = make_run(&setups[0], 1), *dqn = make_run(&dqn4, 1);
    void *state, *bad;
    size_t len, blen;
    struct snapshot before;
    steps(ppo, 40);
    run_save(ppo, &state, &len, err, sizeof err);

    snap(dqn, &before);
    ok(run_load(dqn, state, len, err, sizeof err) != 0, "a PPO state does not load into DQN");
    ok(same(dqn, &before),
       "and leaves the run as it was: counters, observations, accumulators, window");
    run_destroy(dqn);

    struct run_blob b;
    ok(blob_decode(state, len, &b) == 0, "the run state decodes field by field");
    struct run *fresh = make_run(&setups[0], 2);
    uint32_t at = b.window_at;
    b.window_at = RUN_RETURN_WINDOW;
    blen = blob_encode(&b, &bad);
    snap(fresh, &before);
    ok(bad && run_load(fresh, bad, blen, err, sizeof err) != 0,
       "a return window position of %u is refused", RUN_RETURN_WINDOW);
    like(err, "return window is out of range (", "as out of range");
    ok(same(fresh, &before), "and nothing of the run changed");
    free(bad);
    b.window_at = at;
    b.window_n = RUN_RETURN_WINDOW + 1;
    blen = blob_encode(&b, &bad);
    ok(bad && run_load(fresh, bad, blen, err, sizeof err) != 0, "so is a window of %u returns",
       RUN_RETURN_WINDOW + 1);
    free(bad);
    run_destroy(fresh);

    /* As saved by an env without save: no env state. */
    b.window_n = RUN_RETURN_WINDOW;
    for (uint32_t i = 0; i < RUN_RETURN_WINDOW; i++)
        b.window[i] = i;
    b.elen = 0;
    blen = blob_encode(&b, &bad);
    fresh = make_run(&setups[0], 2);
    snap(fresh, &before);
    ok(bad && run_load(fresh, bad, blen, err, sizeof err) == 0, "a state without the env's loads");
    struct snapshot now;
    snap(fresh, &now);
    ok(memcmp(now.obs, before.obs, sizeof now.obs) == 0 &&
           memcmp(now.ep_return, before.ep_return, sizeof now.ep_return) == 0 &&
           memcmp(now.ep_len, before.ep_len, sizeof now.ep_len) == 0,
       "the freshly reset env keeps its own observations and episode accumulators");
    ok(now.steps == b.steps && now.episodes == b.episodes && now.window_n == RUN_RETURN_WINDOW &&
           memcmp(now.window, b.window, sizeof now.window) == 0,
       "while counters and the return window are restored");
    is_near(atomic_load(&fresh->mean_return), 49.5, 1e-9, "and the mean return with them");
    free(bad);
    free(b.agent);
    free(b.env);
    free(state);
    run_destroy(fresh);
    run_destroy(ppo);
}

int
main(void)
{
    struct strv m = {0}, p = {0};
    struct diag d = {0};
    strv_push(&m, TARS_SOURCE_DIR "/manifests");
    strv_push(&p, TARS_PLUGIN_DIR);
    registry_init(&reg, &m, &p, 0);
    is_int(registry_scan(&reg, &d), 0, "the bundled plugins load");
    strv_free(&m);
    strv_free(&p);
    for (size_t i = 0; i < sizeof setups / sizeof setups[0]; i++)
        check(&setups[i]);
    refusals();
    load_contract();
    registry_free(&reg);
    return done_testing();
}
