/*
 * Exact resume and determinism for every learning agent: train N steps, save the whole run,
 * load it into a fresh run (built with another seed, so nothing carries over by accident),
 * train M more on both, and the agents' states are identical bit for bit. Two runs with one
 * seed produce identical states. Small networks keep it quick; every path of each agent runs
 * (rollouts and updates, replay warm-up and training, target updates, normalisation).
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
    registry_free(&reg);
    return done_testing();
}
