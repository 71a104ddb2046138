/*
 * The classic-control envs (plugins/envs): each one's dynamics against values worked out by
 * hand or from its equations (tests/unit/acrobot_reference.py), its Gymnasium conventions
 * (spaces, reset ranges, rewards, termination, time limits), and the shared driver's
 * checks. States are set and read exactly through the driver's save/load blobs.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "host_side.h"
#include "loader.h"
#include "tap.h"
#include "tars/plugin.h"

/* start {0.1, -0.05, 0.02, 0.03}, torque (-1, 0, +1)[i % 3] */
static const double acrobot_reference[][4] = {
    {0.10409226352507203, -0.06404684584145497, 0.019602536588990287, -0.16727019885280278},
    {0.09384546885881, -0.08008056600046026, -0.12031971986820038, 0.007838912444733642},
    {0.04468501943316608, -0.02820473033174105, -0.35944761587566815, 0.4939798458592758},
    {-0.016278353433352884, 0.03756764945448604, -0.235981160559773, 0.1433492801205523},
    {-0.058664902077215086, 0.05833971837084466, -0.17873014367251755, 0.05442400716131737},
    {-0.09792140717712107, 0.09055533495454142, -0.20482170801884514, 0.2559732553412092},
    {-0.11011355695480717, 0.08616942544061314, 0.08485212284976296, -0.3002158590458477},
    {-0.07928694322188637, 0.009788579466143213, 0.21467211869717923, -0.4455175769485338},
    {-0.04216097374357588, -0.048830804733298844, 0.1474145865584713, -0.12520860149733926},
    {0.0034104343523343322, -0.10514387725621713, 0.2970496849428661, -0.4206203117889008},
    {0.057483528763668544, -0.17324737945043098, 0.23082221691223903, -0.2408213272330823},
    {0.07816071564626989, -0.16120186585633117, -0.027648170531597682, 0.36181377004143095},
};

struct env {
    struct loader loader;
    struct lib lib;
    const tars_env_ops *ops;
    tars_params *params;
    tars_ctx *ctx;
    tars_env *env;
    tars_env_spec spec;
    const char *name;
    float obs[8], fin[8], rew[1];
    uint8_t term[1], trunc[1];
};

static int
open_env(struct env *e, const char *name)
{
    char path[512], err[512];
    memset(e, 0, sizeof *e);
    e->name = name;
    snprintf(path, sizeof path, "%s/env-%s.so", TARS_PLUGIN_DIR, name);
    if (loader_open(&e->loader, path, NULL, &e->lib, err, sizeof err)) {
        diag("%s", err);
        return -1;
    }
    e->ops = e->lib.info->ops;
    tars_params_new(e->lib.info->params, e->lib.info->n_params, &e->params);
    e->ctx = tars__ctx_new(name, NULL);
    int rc = e->ops->create(e->ctx, e->params, 1, 7, &e->env);
    if (!rc) {
        e->ops->spec(e->env, &e->spec);
        e->ops->reset(e->env, e->params, e->obs);
    }
    return rc;
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

/* The driver's blob: version 1 | u32 n | f64[n * state] | steps bytes | rng. */
static void
get_state(struct env *e, double *s, uint32_t dim)
{
    tars_blob_writer *w;
    const void *data;
    size_t len;
    char err[128];
    tars_blob_writer_new(e->name, &w);
    e->ops->save(e->env, w);
    tars_blob_writer_finish(w, &data, &len);
    tars_blob_reader *r;
    uint32_t n;
    tars_blob_reader_new(data, len, e->name, &r, err, sizeof err);
    tars_blob_get_u32(r, &n);
    tars_blob_get_f64s(r, s, dim);
    tars_blob_reader_free(r);
    tars_blob_writer_free(w);
}

static void
set_state(struct env *e, const double *s, uint32_t dim)
{
    tars_blob_writer *w;
    const void *data;
    size_t len;
    char err[128];
    uint32_t steps = 0;
    tars_rng rng;
    tars_rng_seed(&rng, 1, 0);
    tars_blob_writer_new(e->name, &w);
    tars_blob_set_version(w, 1);
    tars_blob_put_u32(w, 1);
    tars_blob_put_f64s(w, s, dim);
    tars_blob_put_bytes(w, &steps, sizeof steps);
    tars_blob_put_rng(w, &rng);
    tars_blob_writer_finish(w, &data, &len);
    tars_blob_reader *r;
    tars_blob_reader_new(data, len, e->name, &r, err, sizeof err);
    if (e->ops->load(e->env, r))
        diag("load failed: %s", tars__ctx_error(e->ctx));
    tars_blob_reader_free(r);
    tars_blob_writer_free(w);
}

static int
step_d(struct env *e, int32_t a)
{
    tars_actions act = {&a, NULL};
    tars_step_out out = {e->obs, e->fin, e->rew, e->term, e->trunc};
    return e->ops->step(e->env, e->params, &act, &out);
}

static int
step_c(struct env *e, float a)
{
    tars_actions act = {NULL, &a};
    tars_step_out out = {e->obs, e->fin, e->rew, e->term, e->trunc};
    return e->ops->step(e->env, e->params, &act, &out);
}

/* Steps with a fixed action until the episode ends; returns the step it ended on. */
static int
episode_length(struct env *e, int discrete, float a, int *terminated)
{
    e->ops->reset(e->env, e->params, e->obs);
    for (int t = 1; t <= 5000; t++) {
        if (discrete ? step_d(e, (int32_t)a) : step_c(e, a))
            return -1;
        if (e->term[0] || e->trunc[0]) {
            *terminated = e->term[0];
            return t;
        }
    }
    return 0;
}

static void
pendulum(void)
{
    struct env e;
    double s[2];
    int term;
    ok(open_env(&e, "pendulum") == 0, "pendulum loads");
    ok(e.spec.obs.dim == 3 && e.spec.act.type == TARS_SPACE_BOX && e.spec.act.dim == 1 &&
           e.spec.act.low[0] == -2 && e.spec.act.high[0] == 2,
       "pendulum: obs (cos, sin, thdot), torque in [-2, 2]");
    /* From straight up at rest, full torque: thdot = (15 sin 0 + 3 * 2) * 0.05 = 0.3. */
    set_state(&e, (double[]){0, 0}, 2);
    step_c(&e, 2.0f);
    get_state(&e, s, 2);
    ok(fabs(s[1] - 0.3) < 1e-12 && fabs(s[0] - 0.015) < 1e-12, "pendulum: one step by hand");
    is_near(e.rew[0], -0.004, 1e-7, "pendulum: reward -(0 + 0 + 0.001 * 2^2)");
    /* Horizontal, no torque: gravity alone, and the cost of the angle. */
    set_state(&e, (double[]){M_PI / 2, 0}, 2);
    step_c(&e, 0.0f);
    get_state(&e, s, 2);
    is_near(s[1], 0.75, 1e-12, "pendulum: gravity 3g/(2l) sin(th) dt = 0.75");
    is_near(e.rew[0], -(M_PI / 2) * (M_PI / 2), 1e-6, "pendulum: angle cost");
    ok(e.obs[0] == (float)cos(s[0]) && e.obs[1] == (float)sin(s[0]), "pendulum: observation");
    /* Torque beyond the limit is clipped, and so is the speed. */
    set_state(&e, (double[]){0, 7.9}, 2);
    step_c(&e, 50.0f);
    get_state(&e, s, 2);
    is_near(s[1], 8.0, 0, "pendulum: speed clipped at 8");
    is_near(e.rew[0], -(0.1 * 7.9 * 7.9 + 0.001 * 4), 1e-5,
            "pendulum: the cost uses the clipped torque");
    /* Angles are normalised into [-pi, pi) for the cost. */
    set_state(&e, (double[]){2 * M_PI + 0.5, 0}, 2);
    step_c(&e, 0.0f);
    is_near(e.rew[0], -0.25, 1e-6, "pendulum: angle normalised before the cost");
    ok(step_c(&e, NAN) < 0, "pendulum: a NaN torque is refused");
    int n = episode_length(&e, 0, 0.0f, &term);
    ok(n == 200 && !term, "pendulum: never terminates, truncated at 200 (%d)", n);
    close_env(&e);
}

static void
acrobot(void)
{
    struct env e;
    double s[4];
    int term;
    ok(open_env(&e, "acrobot") == 0, "acrobot loads");
    ok(e.spec.obs.dim == 6 && e.spec.act.type == TARS_SPACE_DISCRETE && e.spec.act.dim == 3,
       "acrobot: 6 observations, 3 torques");
    set_state(&e, (double[]){0.1, -0.05, 0.02, 0.03}, 4);
    size_t n = sizeof acrobot_reference / sizeof acrobot_reference[0];
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        step_d(&e, (int32_t)(i % 3));
        get_state(&e, s, 4);
        for (int k = 0; k < 4; k++)
            worst = fmax(worst, fabs(s[k] - acrobot_reference[i][k]));
    }
    ok(worst < 1e-12, "acrobot: %zu RK4 steps match the reference (max error %.2g)", n, worst);
    is_near(e.rew[0], -1, 0, "acrobot: -1 per step");
    /* Mirror symmetry: opposite torques from rest give opposite states. */
    double a[4], b[4];
    set_state(&e, (double[]){0, 0, 0, 0}, 4);
    step_d(&e, 2);
    get_state(&e, a, 4);
    set_state(&e, (double[]){0, 0, 0, 0}, 4);
    step_d(&e, 0);
    get_state(&e, b, 4);
    ok(fabs(a[0] + b[0]) < 1e-12 && fabs(a[3] + b[3]) < 1e-12 && a[3] > 0,
       "acrobot: +1 and -1 torque from rest mirror each other");
    /* Pointing straight up is past the goal line: terminal, reward 0. */
    set_state(&e, (double[]){M_PI - 0.01, 0, 0, 0}, 4);
    step_d(&e, 1);
    ok(e.term[0], "acrobot: the tip above the bar terminates");
    is_near(e.rew[0], 0, 0, "acrobot: reward 0 on the terminal step");
    int len = episode_length(&e, 1, 1, &term);
    ok(len == 500 && !term, "acrobot: hanging without torque is truncated at 500 (%d)", len);
    close_env(&e);
}

static void
mountaincar(void)
{
    struct env e;
    double s[2];
    int term;
    ok(open_env(&e, "mountaincar") == 0, "mountaincar loads");
    ok(e.obs[0] >= -0.6f && e.obs[0] <= -0.4f && e.obs[1] == 0,
       "mountaincar: starts in [-0.6, -0.4] at rest");
    /* v = 0.001 - 0.0025 cos(-1.5) = 0.000823157; x = -0.5 + v. */
    set_state(&e, (double[]){-0.5, 0}, 2);
    step_d(&e, 2);
    get_state(&e, s, 2);
    is_near(s[1], 0.001 - 0.0025 * cos(-1.5), 1e-15, "mountaincar: one push by hand");
    is_near(s[0], -0.5 + s[1], 1e-15, "mountaincar: position follows velocity");
    is_near(e.rew[0], -1, 0, "mountaincar: -1 per step");
    set_state(&e, (double[]){-1.19, -0.05}, 2);
    step_d(&e, 0);
    get_state(&e, s, 2);
    ok(s[0] == -1.2 && s[1] == 0, "mountaincar: the left wall stops the car");
    set_state(&e, (double[]){0.49, 0.02}, 2);
    step_d(&e, 2);
    ok(e.term[0], "mountaincar: reaching 0.5 moving right ends the episode");
    int n = episode_length(&e, 1, 1, &term);
    ok(n == 200 && !term, "mountaincar: idling is truncated at 200 (%d)", n);
    close_env(&e);
}

static void
mountaincar_continuous(void)
{
    struct env e;
    double s[2];
    int term;
    ok(open_env(&e, "mountaincar-continuous") == 0, "mountaincar-continuous loads");
    set_state(&e, (double[]){-0.5, 0}, 2);
    step_c(&e, 2.0f);
    get_state(&e, s, 2);
    is_near(s[1], (float)(0.0015 - 0.0025 * cos(-1.5)), 0,
            "mcc: force clipped to 1, state float32");
    is_near(e.rew[0], -0.4, 1e-6, "mcc: the cost uses the action as given (0.1 * 2^2)");
    set_state(&e, (double[]){0.44, 0.02}, 2);
    step_c(&e, 1.0f);
    ok(e.term[0], "mcc: reaching 0.45 ends the episode");
    is_near(e.rew[0], 100 - 0.1, 1e-5, "mcc: with reward 100 minus the cost");
    int n = episode_length(&e, 0, 0.0f, &term);
    ok(n == 999 && !term, "mcc: idling is truncated at 999 (%d)", n);
    close_env(&e);
}

int
main(void)
{
    pendulum();
    acrobot();
    mountaincar();
    mountaincar_continuous();
    return done_testing();
}
