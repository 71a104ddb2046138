/*
 * env cartpole: the dynamics against reference trajectories worked out from the equations
 * (tests/unit/cartpole_reference.py prints the tables below), and the plugin's Gymnasium
 * behaviour: reset range, reward, termination, 500-step truncation, auto-reset, save/load.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "cartpole_dynamics.h"
#include "loader.h"
#include "tap.h"
#include "tars/plugin.h"
#include "host_side.h"

/* start {0.01, -0.02, 0.03, 0.04}, action (i * 7) % 3 == 0 */
static const double reference[][4] = {
    {0.009600000000000001, 0.17467919574755525, 0.030799999999999998, -0.2430687179600081},
    {0.013093583914951107, -0.020868848948191993, 0.025938625640799837, 0.0591679999394166},
    {0.012676206935987267, -0.21635292104612766, 0.02712198563958817, 0.3599205713784138},
    {0.008349148515064714, -0.021626799199488206, 0.03432039706715644, 0.0759116989474441},
    {0.00791661253107495, -0.21722352452133115, 0.035838631046105324, 0.37922222636906866},
    {0.0035721420406483262, -0.4128356110543908, 0.043423075573486694, 0.682986244250536},
    {-0.00468457018043949, -0.2183426893826712, 0.05708280045849742, 0.4042842377174759},
    {-0.009051423968092914, -0.4142257645593641, 0.06516848521284693, 0.7144035053811968},
    {-0.017335939259280196, -0.6101864484736254, 0.07945655532047087, 1.0268665544210274},
    {-0.029539668228752702, -0.4162069973534875, 0.09999388640889142, 0.7601510437209227},
    {-0.03786380817582245, -0.6125540179848917, 0.11519690728330988, 1.0825496146029017},
    {-0.05011488853552029, -0.8089921681724288, 0.13684789957536792, 1.409046936156648},
    {-0.06629473189896887, -0.6158072303481108, 0.16502883829850087, 1.1620865015385853},
    {-0.07861087650593108, -0.8126480470107645, 0.18827056832927258, 1.5016347433921424},
    {-0.09486383744614638, -1.0094904585777773, 0.21830326319711543, 1.846706000448215},
};
/* from rest, always pushing right, the episode terminates after 9 steps */
#define PUSH_RIGHT_STEPS 9

static void
dynamics(void)
{
    double s[4] = {0.01, -0.02, 0.03, 0.04};
    size_t n = sizeof reference / sizeof reference[0];
    double worst = 0;
    int ended_early = 0;
    for (size_t i = 0; i < n; i++) {
        cartpole_advance(s, (i * 7) % 3 == 0 ? 1 : 0);
        for (int k = 0; k < 4; k++)
            worst = fmax(worst, fabs(s[k] - reference[i][k]));
        if (i + 1 < n && cartpole_terminated(s))
            ended_early = 1;
    }
    ok(worst < 1e-12, "%zu Euler steps match the reference (max error %.3g)", n, worst);
    ok(!ended_early && cartpole_terminated(s), "terminates exactly where the reference does");
    is_near(CARTPOLE_THETA_LIMIT, 0.20943951023931953, 1e-17, "12 degrees in radians");

    /*
     * One step worked by hand from rest, pushing right (force +10 N):
     *   temp     = 10 / 1.1                                  =   9.090909
     *   thetaacc = (0 - 1 * 9.090909) / (0.5 * (4/3 - 0.1 / 1.1))
     *            = -9.090909 / 0.621212                      = -14.634146
     *   xacc     = 9.090909 - 0.05 * -14.634146 / 1.1        =   9.756098
     * so after tau = 0.02: x = 0, x_dot = 0.195122, theta = 0, theta_dot = -0.292683.
     */
    double h[4] = {0, 0, 0, 0};
    cartpole_advance(h, 1);
    ok(h[0] == 0 && fabs(h[1] - 0.195122) < 1e-6 && h[2] == 0 && fabs(h[3] + 0.292683) < 1e-6,
       "one step from rest matches the hand calculation (%.6f, %.6f)", h[1], h[3]);

    double r[4] = {0, 0, 0, 0};
    int steps = 0;
    do {
        cartpole_advance(r, 1);
        steps++;
    } while (!cartpole_terminated(r) && steps < 1000);
    is_int(steps, PUSH_RIGHT_STEPS, "pushing right from rest falls at the reference step");
}

struct env {
    struct loader loader;
    struct lib lib;
    const tars_env_ops *ops;
    tars_params *params;
    tars_ctx *ctx;
    tars_env *env;
    uint32_t n;
};

static int
open_env(struct env *e, uint32_t n, uint64_t seed, int max_steps)
{
    char err[512];
    memset(e, 0, sizeof *e);
    if (loader_open(&e->loader, TARS_PLUGIN_DIR "/env-cartpole.so", NULL, &e->lib, err,
                    sizeof err)) {
        diag("%s", err);
        return -1;
    }
    e->ops = e->lib.info->ops;
    tars_params_new(e->lib.info->params, e->lib.info->n_params, &e->params);
    if (max_steps)
        tars_params_set(e->params, 0, max_steps, err, sizeof err);
    e->ctx = tars__ctx_new("test", NULL);
    e->n = n;
    return e->ops->create(e->ctx, e->params, n, seed, &e->env);
}

static void
close_env(struct env *e)
{
    e->ops->destroy(e->env);
    tars__ctx_free(e->ctx);
    tars_params_free(e->params);
    loader_close(&e->lib);
    loader_fini(&e->loader);
}

struct bufs {
    float obs[8 * 4], final_obs[8 * 4], reward[8];
    uint8_t term[8], trunc[8];
    int32_t act[8];
};

static int
step(struct env *e, struct bufs *b)
{
    tars_actions a = {b->act, NULL};
    tars_step_out out = {b->obs, b->final_obs, b->reward, b->term, b->trunc};
    return e->ops->step(e->env, e->params, &a, &out);
}

/* A state-feedback controller that keeps the pole up for 500 steps. */
static int32_t
balance(const float *o)
{
    return 0.1 * o[0] + 0.5 * o[1] + 10 * o[2] + 2 * o[3] > 0;
}

static int
in_reset_range(const float *o)
{
    for (int k = 0; k < 4; k++)
        if (!(o[k] >= -0.05f && o[k] <= 0.05f))
            return 0;
    return 1;
}

static void
plugin(void)
{
    struct env e;
    struct bufs b;
    ok(open_env(&e, 4, 1, 0) == 0, "plugin loads and creates 4 envs");
    tars_env_spec spec;
    e.ops->spec(e.env, &spec);
    ok(spec.obs.type == TARS_SPACE_BOX && spec.obs.dim == 4, "observation: Box(4)");
    ok(spec.act.type == TARS_SPACE_DISCRETE && spec.act.dim == 2, "action: Discrete(2)");
    is_int(spec.max_episode_steps, 500, "500-step limit");
    is_near(spec.obs.high[0], 4.8, 1e-6, "x bound is twice the threshold");

    e.ops->reset(e.env, e.params, b.obs);
    int all_in = 1;
    for (uint32_t i = 0; i < 4; i++)
        all_in &= in_reset_range(&b.obs[4 * i]);
    ok(all_in, "reset state uniform in [-0.05, 0.05]^4");
    ok(memcmp(&b.obs[0], &b.obs[4], 4 * sizeof(float)) != 0, "copies start apart");

    /* Pushing right everywhere: each copy terminates, reward 1 on every step. */
    int steps = 0, rewards_ok = 1, ended = 0, failures = 0;
    while (!ended && steps < 100) {
        for (int i = 0; i < 4; i++)
            b.act[i] = 1;
        failures += step(&e, &b) != 0;
        steps++;
        for (int i = 0; i < 4; i++)
            rewards_ok &= b.reward[i] == 1.0f;
        ended = b.term[0];
    }
    is_int(failures, 0, "every step succeeds");
    ok(rewards_ok, "reward is 1 on every step, the last included");
    ok(ended && !b.trunc[0], "env 0 terminated (not truncated) after %d steps", steps);
    ok(fabsf(b.final_obs[2]) > (float)CARTPOLE_THETA_LIMIT || fabsf(b.final_obs[0]) > 2.4f,
       "its final observation is past a threshold");
    ok(in_reset_range(&b.obs[0]), "and it was reset in the same step");

    /* A wrong action is refused with a reason. */
    b.act[2] = 2;
    ok(step(&e, &b) < 0, "action 2 refused");
    like(tars__ctx_error(e.ctx), "action 2 of env 2 is not in [0, 1]", "the reason names the env");
    close_env(&e);

    /* Truncation: balanced episodes end at exactly 500 steps. */
    ok(open_env(&e, 3, 2, 0) == 0, "fresh envs");
    e.ops->reset(e.env, e.params, b.obs);
    int early = 0, truncated_at_500 = 1;
    for (int t = 1; t <= 500; t++) {
        for (int i = 0; i < 3; i++)
            b.act[i] = balance(&b.obs[4 * i]);
        step(&e, &b);
        for (int i = 0; i < 3; i++) {
            if (t < 500 && (b.term[i] || b.trunc[i]))
                early = 1;
            if (t == 500 && (!b.trunc[i] || b.term[i]))
                truncated_at_500 = 0;
        }
    }
    ok(!early, "no episode ends before step 500 under the controller");
    ok(truncated_at_500, "every episode is truncated at step 500");
    close_env(&e);

    ok(open_env(&e, 2, 3, 10) == 0, "max_episode_steps = 10");
    e.ops->reset(e.env, e.params, b.obs);
    int t10 = 0;
    for (int t = 1; t <= 10; t++) {
        for (int i = 0; i < 2; i++)
            b.act[i] = balance(&b.obs[4 * i]);
        step(&e, &b);
        if (b.trunc[0])
            t10 = t;
    }
    is_int(t10, 10, "the parameter moves the time limit");
    close_env(&e);
}

static void
save_load(void)
{
    struct env e;
    struct bufs b;
    open_env(&e, 8, 5, 0);
    e.ops->reset(e.env, e.params, b.obs);
    for (int t = 0; t < 30; t++) {
        for (int i = 0; i < 8; i++)
            b.act[i] = t % 2;
        step(&e, &b);
    }
    tars_blob_writer *w;
    tars_blob_writer_new("cartpole", &w);
    ok(e.ops->save(e.env, w) == 0, "save");
    const void *data;
    size_t len;
    tars_blob_writer_finish(w, &data, &len);
    float after[40][8 * 4];
    for (int t = 0; t < 40; t++) {
        for (int i = 0; i < 8; i++)
            b.act[i] = (t * 3) % 2;
        step(&e, &b);
        memcpy(after[t], b.obs, sizeof b.obs);
    }
    struct env f;
    open_env(&f, 8, 99, 0);
    tars_blob_reader *r;
    char err[256];
    tars_blob_reader_new(data, len, "cartpole", &r, err, sizeof err);
    ok(f.ops->load(f.env, r) == 0 && tars_blob_reader_end(r) == 0, "load into another instance");
    tars_blob_reader_free(r);
    int same = 1;
    for (int t = 0; t < 40; t++) {
        for (int i = 0; i < 8; i++)
            b.act[i] = (t * 3) % 2;
        step(&f, &b);
        same &= memcmp(after[t], b.obs, sizeof b.obs) == 0;
    }
    ok(same, "the loaded instance continues bit for bit, resets included");

    struct env g;
    open_env(&g, 4, 0, 0);
    tars_blob_reader_new(data, len, "cartpole", &r, err, sizeof err);
    ok(g.ops->load(g.env, r) < 0, "a state of 8 envs does not load into 4");
    like(tars__ctx_error(g.ctx), "state has 8 envs, this instance 4", "and says why");
    tars_blob_reader_free(r);
    tars_blob_writer_free(w);
    close_env(&e);
    close_env(&f);
    close_env(&g);
}

int
main(void)
{
    dynamics();
    plugin();
    save_load();
    return done_testing();
}
