/*
 * A checkpoint as tarsd reads it back from the store (run_load: the run's own fields, then
 * the agent's and the env's load ops). A checkpoint is untrusted once it sits on disk. The
 * first byte picks the run it is loaded into (and, high bit set, leaves the checksums as
 * they are); the rest is the run's blob.
 *
 * FUZZ_SEED_DIR=dir writes one real checkpoint of each run there (the seed corpus).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "blob_fix.h"
#include "plugins.h"
#include "run.h"

static const struct {
    const char *agent, *env;
    uint32_t n_envs;
    const char *overrides; /* "k=v k=v": small networks keep each load cheap */
} setups[] = {
    {"ppo", "cartpole", 2, "n_steps=8 batch_size=8 hidden=8 normalize_obs=true"},
    {"ppo", "pendulum", 2, "n_steps=8 batch_size=8 hidden=8 normalize_reward=true"},
    {"a2c", "acrobot", 2, "hidden=8 normalize_obs=true"},
    {"dqn", "cartpole", 2, "hidden=8 learning_starts=8 batch_size=8 buffer_size=64"},
    {"ddpg", "pendulum", 1, "hidden1=8 hidden2=8 learning_starts=8 batch_size=8 buffer_size=64"},
    {"random", "mountaincar", 2, ""},
    {"random", "mountaincar-continuous", 1, ""},
};
#define N_SETUPS (sizeof setups / sizeof setups[0])
static struct run *runs[N_SETUPS];

static struct run *
make_run(size_t i)
{
    struct registry *reg = fuzz_plugins();
    char err[512];
    struct run_spec spec = {.id = setups[i].agent, .n_envs = setups[i].n_envs, .seed = 1};
    spec.agent = registry_get(reg, setups[i].agent, TARS_KIND_AGENT);
    spec.env = registry_get(reg, setups[i].env, TARS_KIND_ENV);
    if (!spec.agent || !spec.env ||
        plugin_params(spec.agent, NULL, &spec.agent_params, NULL, err, sizeof err) ||
        plugin_params(spec.env, NULL, &spec.env_params, NULL, err, sizeof err))
        fuzz_die(setups[i].agent, "cannot find the plugin or its parameters");
    char *list = strdup(setups[i].overrides), *save = NULL;
    for (char *kv = strtok_r(list, " ", &save); kv; kv = strtok_r(NULL, " ", &save)) {
        char *eq = strchr(kv, '=');
        *eq = '\0';
        if (tars_params_parse(spec.agent_params, kv, eq + 1, err, sizeof err))
            fuzz_die(kv, err);
    }
    free(list);
    struct run *r = NULL;
    if (run_create(&spec, &r, err, sizeof err))
        fuzz_die(setups[i].agent, err);
    return r;
}

/* One checkpoint of each run, after enough steps that its replay and statistics hold data. */
static void
write_seeds(const char *dir)
{
    for (size_t i = 0; i < N_SETUPS; i++) {
        struct run *r = make_run(i);
        for (int s = 0; s < 40; s++)
            if (run_step(r))
                fuzz_die(setups[i].agent, r->error);
        void *blob;
        size_t len;
        char err[256], path[4096];
        if (run_save(r, &blob, &len, err, sizeof err))
            fuzz_die("run_save", err);
        snprintf(path, sizeof path, "%s/%s-%s", dir, setups[i].agent, setups[i].env);
        FILE *f = fopen(path, "wb");
        unsigned char which = (unsigned char)i;
        if (!f || fwrite(&which, 1, 1, f) != 1 || fwrite(blob, 1, len, f) != len || fclose(f))
            fuzz_die(path, "cannot write the seed");
        free(blob);
        run_destroy(r);
    }
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *seeds = getenv("FUZZ_SEED_DIR");
    if (seeds) {
        write_seeds(seeds);
        exit(0);
    }
    for (size_t i = 0; i < N_SETUPS; i++)
        runs[i] = make_run(i);
    return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    struct run *r = runs[(data[0] & 0x7f) % N_SETUPS];
    uint8_t *blob = malloc(size);
    if (!blob)
        return 0;
    memcpy(blob, data + 1, size - 1);
    if (!(data[0] & 0x80))
        fix_blobs(blob, size - 1);
    char err[512];
    if (run_load(r, blob, size - 1, err, sizeof err) == 0 && run_step(r) != 0)
        r->error[0] = '\0'; /* a loaded state must step, or fail with a message: no crash */
    free(blob);
    return 0;
}
