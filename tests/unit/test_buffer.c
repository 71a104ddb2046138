/* Replay and rollout buffers, GAE, shuffling and running normalisation (sdk/src). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "tap.h"
#include "tars/buffer.h"
#include "tars/error.h"
#include "tars/normalize.h"

static tars_rng rng;

static void
gae(void)
{
    /* One env, three steps, episode ends after step 1 (index 1). Worked by hand with
     * gamma 0.5, lambda 0.5:
     *   t=2: delta = 1 + 0.5*4 - 3 = 0        A2 = 0
     *   t=1: delta = 2 + 0 - 2 = 0 (done)     A1 = 0
     *   t=0: delta = 1 + 0.5*2 - 1 = 1        A0 = 1 + 0.25*0 = 1 */
    float r[3] = {1, 2, 1}, v[3] = {1, 2, 3}, last[1] = {4}, adv[3], ret[3];
    uint8_t done[3] = {0, 1, 0};
    tars_gae(r, v, done, last, 3, 1, 0.5, 0.5, adv, ret);
    ok(adv[0] == 1 && adv[1] == 0 && adv[2] == 0, "GAE by hand (%g %g %g)", adv[0], adv[1], adv[2]);
    ok(ret[0] == 2 && ret[1] == 2 && ret[2] == 3, "returns are advantages plus values");
    /* lambda = 1, no dones: advantages are discounted returns minus values. */
    float r2[4] = {1, 1, 1, 1}, v2[4] = {0, 0, 0, 0}, z[1] = {0}, a2[4], t2[4];
    uint8_t nd[4] = {0, 0, 0, 0};
    tars_gae(r2, v2, nd, z, 4, 1, 0.9, 1.0, a2, t2);
    is_near(a2[0], 1 + 0.9 + 0.81 + 0.729, 1e-6, "lambda 1 gives the Monte-Carlo return");
    /* Two envs interleaved step-major: env 1's values do not leak into env 0. */
    float r3[4] = {1, 10, 1, 10}, v3[4] = {0, 0, 0, 0}, l3[2] = {0, 0}, a3[4], t3[4];
    uint8_t d3[4] = {0, 0, 0, 0};
    tars_gae(r3, v3, d3, l3, 2, 2, 1.0, 1.0, a3, t3);
    ok(a3[0] == 2 && a3[1] == 20, "envs are independent in step-major layout");
}

static void
replay(void)
{
    tars_replay *r;
    ok(tars_replay_new(4, 2, 1, &r) == 0, "replay of 4");
    for (int i = 0; i < 6; i++) {
        float o[2] = {(float)i, (float)-i}, a[1] = {(float)(i % 2)}, n[2] = {(float)i + 1, 0};
        tars_replay_add(r, o, a, (float)i * 10, n, i == 5);
    }
    is_int(tars_replay_size(r), 4, "a full ring keeps its capacity");
    float obs[64 * 2], act[64], rew[64], next[64 * 2], done[64];
    tars_replay_sample(r, 64, &rng, obs, act, rew, next, done);
    int consistent = 1, saw_old = 0, saw_five = 0;
    for (int b = 0; b < 64; b++) {
        int i = (int)obs[2 * b];
        consistent &=
            rew[b] == i * 10 && next[2 * b] == i + 1 && act[b] == i % 2 && done[b] == (i == 5);
        saw_old |= i < 2;
        saw_five |= i == 5;
    }
    ok(consistent, "sampled fields belong together");
    ok(!saw_old, "the two oldest transitions were overwritten");
    ok(saw_five, "the newest is there");

    tars_blob_writer *w;
    const void *data;
    size_t len;
    char err[64];
    tars_blob_writer_new("r", &w);
    ok(tars_replay_save(r, w) == 0, "replay saved");
    tars_blob_writer_finish(w, &data, &len);
    tars_replay *q;
    tars_replay_new(4, 2, 1, &q);
    tars_blob_reader *rd;
    tars_blob_reader_new(data, len, "r", &rd, err, sizeof err);
    ok(tars_replay_load(q, rd) == 0 && tars_replay_size(q) == 4, "and loaded");
    tars_rng a = rng, b = rng;
    float obs2[64 * 2], act2[64], rew2[64], next2[64 * 2], done2[64];
    tars_replay_sample(r, 64, &a, obs, act, rew, next, done);
    tars_replay_sample(q, 64, &b, obs2, act2, rew2, next2, done2);
    ok(memcmp(obs, obs2, sizeof obs) == 0 && memcmp(rew, rew2, sizeof rew) == 0,
       "a loaded buffer samples exactly as the original");
    /* The ring position survives too: the next add overwrites the same slot in both. */
    float o[2] = {100, 0}, ac[1] = {0}, n[2] = {0, 0};
    tars_replay_add(r, o, ac, 1000, n, 0);
    tars_replay_add(q, o, ac, 1000, n, 0);
    a = rng, b = rng;
    tars_replay_sample(r, 64, &a, obs, act, rew, next, done);
    tars_replay_sample(q, 64, &b, obs2, act2, rew2, next2, done2);
    ok(memcmp(rew, rew2, sizeof rew) == 0, "and continues the ring where it was");
    tars_blob_reader_free(rd);
    tars_replay *other;
    tars_replay_new(8, 2, 1, &other);
    tars_blob_reader_new(data, len, "r", &rd, err, sizeof err);
    is_int(tars_replay_load(other, rd), TARS_EFORMAT, "a buffer of another capacity refuses it");
    tars_blob_reader_free(rd);
    tars_blob_writer_free(w);
    tars_replay_free(other);
    tars_replay_free(q);
    tars_replay_free(r);
}

static void
rollout(void)
{
    tars_rollout *r;
    ok(tars_rollout_new(2, 3, 1, 1, &r) == 0, "rollout of 2 steps x 3 envs");
    float obs[3] = {1, 2, 3}, act[3] = {0, 1, 0}, rew[3] = {1, 1, 1}, val[3] = {0, 0, 0},
          lp[3] = {-1, -1, -1};
    uint8_t done[3] = {0, 1, 0};
    ok(tars_rollout_add(r, obs, act, rew, done, val, lp) == 0, "first step");
    ok(!tars_rollout_full(r), "not full yet");
    tars_rollout_add(r, obs, act, rew, done, val, lp);
    ok(tars_rollout_full(r), "full after n_steps");
    is_int(tars_rollout_add(r, obs, act, rew, done, val, lp), TARS_ERANGE, "a third step refused");
    float last[3] = {10, 10, 10};
    tars_rollout_finish(r, last, 1.0, 1.0);
    const float *adv = tars_rollout_adv(r);
    ok(adv[0] == 12 && adv[1] == 1 && adv[3] == 11 && adv[4] == 1,
       "finish computes GAE over the stored steps");
    tars_rollout_clear(r);
    is_int(tars_rollout_steps(r), 0, "clear empties it");
    tars_rollout_free(r);

    uint32_t idx[50], seen[50] = {0};
    tars_shuffle(idx, 50, &rng);
    int perm = 1, moved = 0;
    for (int i = 0; i < 50; i++) {
        perm &= idx[i] < 50 && !seen[idx[i]];
        seen[idx[i] < 50 ? idx[i] : 0] = 1;
        moved += idx[i] != (uint32_t)i;
    }
    ok(perm && moved > 10, "shuffle gives a permutation");
}

static void
normalizer(void)
{
    tars_normalizer *z;
    ok(tars_normalizer_new(2, 2, 10, 10, 0.99, 1e-8, &z) == 0, "normalizer");
    /* Feed a stream with known moments: x0 in {1, 3} (mean 2, var 1), x1 constant 5. */
    float batch[4] = {1, 5, 3, 5};
    for (int i = 0; i < 1000; i++)
        tars_normalizer_observe(z, batch, 2);
    float out[4];
    tars_normalizer_obs(z, batch, 2, out);
    is_near(out[0], -1, 1e-3, "x0 = 1 becomes -1 (mean 2, std 1)");
    is_near(out[2], 1, 1e-3, "x0 = 3 becomes +1");
    ok(fabsf(out[1]) < 1e-2, "a constant dimension becomes 0");
    float far[2] = {1000, 5};
    tars_normalizer_obs(z, far, 1, out);
    is_near(out[0], 10, 1e-6, "outliers are clipped");

    /* Rewards: one env always earns 1; the running return grows to 1/(1-gamma). */
    float r[2] = {1, 1}, n[2];
    uint8_t d[2] = {0, 0};
    for (int i = 0; i < 5; i++)
        tars_normalizer_reward(z, r, d, n);
    ok(n[0] > 0 && n[0] == n[1] && n[0] != 1, "rewards are scaled (%g)", n[0]);

    tars_blob_writer *w;
    const void *data;
    size_t len;
    char err[64];
    tars_blob_writer_new("z", &w);
    tars_normalizer_save(z, w);
    tars_blob_writer_finish(w, &data, &len);
    tars_normalizer *y;
    tars_normalizer_new(2, 2, 10, 10, 0.99, 1e-8, &y);
    tars_blob_reader *rd;
    tars_blob_reader_new(data, len, "z", &rd, err, sizeof err);
    ok(tars_normalizer_load(y, rd) == 0, "statistics saved and loaded");
    float a[2], b[2];
    tars_normalizer_reward(z, r, d, a);
    tars_normalizer_reward(y, r, d, b);
    ok(a[0] == b[0], "and the loaded one continues the same way");
    tars_blob_reader_free(rd);
    tars_blob_writer_free(w);
    tars_normalizer_free(y);
    tars_normalizer_free(z);
}

int
main(void)
{
    tars_rng_seed(&rng, 5, 0);
    gae();
    replay();
    rollout();
    normalizer();
    return done_testing();
}
