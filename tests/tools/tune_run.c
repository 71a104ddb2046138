/*
 * tune_run — drives tuner plugins outside tarsd, for tests/integration/tuners.sh and
 * tests/bench/tuners.sh (which run Debian's Optuna on the same inputs beside it).
 *
 *   tune_run sample SAMPLER.so FUNCTION TRIALS SEED [name=value...]
 *       minimises branin, hartmann6, rosenbrock10 or sphere10 for TRIALS trials; prints one line
 * per trial "N VALUE BEST CPU_US" (CPU_US: the ask + tell + snapshot bookkeeping, not the
 *       objective) and, with "resume-at=K", saves the tuner after trial K, destroys it and
 *       goes on with a fresh instance loaded from the blob; "flip=1" minimises -FUNCTION.
 *   tune_run prune PRUNER.so min|max [name=value...]
 *       reads "report N STEP VALUE" and "complete N VALUE" lines; answers each report with
 *       "N STEP prune" or "N STEP keep". With "stop-pruned=1" a pruned trial is told PRUNED
 *       and its later lines are ignored, as a study would stop it; "resume-at=K" saves the
 *       pruner before input line K and goes on with a fresh instance loaded from the blob.
 *   tune_run propose SAMPLER.so DIMS K [name=value...] < trials
 *       K fresh samplers (seeds 0..K-1) told the trials ("VALUE X0 X1 ...", in [-5, 10]^DIMS),
 *       each asked once: one proposal per line (to compare proposal distributions).
 *   tune_run split min|max LIAR FRACTION MAX < trials
 *       reads "complete VALUE", "pruned STEP VALUE", "pruned" (no report) or "running" lines,
 *       numbered 0, 1, ... in order, and prints TPE's split: "below N..." and "above N...".
 *   tune_run parzen float|int|logfloat LOW HIGH MULTIVARIATE OBS...
 *   tune_run parzen enum N_CHOICES 0 OBS...
 *       prints the estimator (oldest observation first, the prior last): "w mu sigma" per kernel
 *       (enum: "w p0 p1 ...").
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "host_side.h"
#include "loader.h"
#include "parzen.h"
#include "split.h"
#include "tars/plugin.h"

static double
cpu_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec * 1e-3;
}

/* ---- the benchmark functions (minimised) */

static double
branin(const double *x)
{
    double a = 1, b = 5.1 / (4 * M_PI * M_PI), c = 5 / M_PI, r = 6, s = 10, t = 1 / (8 * M_PI);
    double y = x[1] - b * x[0] * x[0] + c * x[0] - r;
    return a * y * y + s * (1 - t) * cos(x[0]) + s;
}

static double
hartmann6(const double *x)
{
    static const double al[4] = {1.0, 1.2, 3.0, 3.2};
    static const double A[4][6] = {{10, 3, 17, 3.5, 1.7, 8},
                                   {0.05, 10, 17, 0.1, 8, 14},
                                   {3, 3.5, 1.7, 10, 17, 8},
                                   {17, 8, 0.05, 10, 0.1, 14}};
    static const double P[4][6] = {{1312, 1696, 5569, 124, 8283, 5886},
                                   {2329, 4135, 8307, 3736, 1004, 9991},
                                   {2348, 1451, 3522, 2883, 3047, 6650},
                                   {4047, 8828, 8732, 5743, 1091, 381}};
    double sum = 0;
    for (int i = 0; i < 4; i++) {
        double e = 0;
        for (int j = 0; j < 6; j++)
            e += A[i][j] * (x[j] - P[i][j] * 1e-4) * (x[j] - P[i][j] * 1e-4);
        sum += al[i] * exp(-e);
    }
    return -sum;
}

static double
rosenbrock(const double *x)
{
    double s = 0;
    for (int i = 0; i < 9; i++)
        s += 100 * (x[i + 1] - x[i] * x[i]) * (x[i + 1] - x[i] * x[i]) + (1 - x[i]) * (1 - x[i]);
    return s;
}

static double
sphere(const double *x)
{
    double s = 0;
    for (int i = 0; i < 10; i++)
        s += (x[i] - 1) * (x[i] - 1);
    return s;
}

static const char *const names10[] = {"x0", "x1", "x2", "x3", "x4", "x5", "x6", "x7", "x8", "x9"};

struct func {
    const char *name;
    uint32_t dims;
    double lo[10], hi[10];
    double (*f)(const double *);
};

static const struct func funcs[] = {
    {"branin", 2, {-5, 0}, {10, 15}, branin},
    {"hartmann6", 6, {0, 0, 0, 0, 0, 0}, {1, 1, 1, 1, 1, 1}, hartmann6},
    {"rosenbrock10",
     10,
     {-5, -5, -5, -5, -5, -5, -5, -5, -5, -5},
     {10, 10, 10, 10, 10, 10, 10, 10, 10, 10},
     rosenbrock},
    {"sphere10",
     10,
     {-5, -5, -5, -5, -5, -5, -5, -5, -5, -5},
     {10, 10, 10, 10, 10, 10, 10, 10, 10, 10},
     sphere},
};

static int
die(const char *what, const tars_ctx *ctx)
{
    const char *e = ctx ? tars__ctx_error(ctx) : NULL;
    fprintf(stderr, "tune_run: %s%s%s\n", what, e && *e ? ": " : "", e ? e : "");
    exit(1);
}

static struct loader loader;

static const tars_tuner_ops *
open_tuner(const char *path, struct lib *lib, tars_params **params, int argc, char **argv)
{
    char err[512];
    if (loader_open(&loader, path, NULL, lib, err, sizeof err))
        die(err, NULL);
    if (lib->info->kind != TARS_KIND_TUNER)
        die("not a tuner plugin", NULL);
    if (tars_params_new(lib->info->params, lib->info->n_params, params))
        die("out of memory", NULL);
    for (int i = 0; i < argc; i++) {
        char *eq = strchr(argv[i], '=');
        if (!eq || strncmp(argv[i], "resume-at=", 10) == 0 || strncmp(argv[i], "flip=", 5) == 0 ||
            strncmp(argv[i], "stop-pruned=", 12) == 0)
            continue;
        *eq = 0;
        if (tars_params_parse(*params, argv[i], eq + 1, err, sizeof err))
            die(err, NULL);
        *eq = '=';
    }
    return lib->info->ops;
}

/* Lets go of what open_tuner opened (the library, its cached copy, the snapshot). */
static void
close_tuner(struct lib *lib, tars_params *params)
{
    tars_params_free(params);
    loader_close(lib);
    loader_fini(&loader);
}

static tars_tuner *
reload(const tars_tuner_ops *ops, tars_ctx *ctx, const tars_params *p, const tars_study_spec *s,
       tars_tuner *t, const char *tag)
{
    tars_blob_writer *w;
    const void *data;
    size_t len;
    char err[256];
    if (tars_blob_writer_new(tag, &w) || ops->save(t, w) || tars_blob_writer_finish(w, &data, &len))
        die("save failed", ctx);
    ops->destroy(t);
    tars_tuner *u;
    if (ops->create(ctx, p, s, 999, &u))
        die("create failed", ctx);
    tars_blob_reader *r;
    if (tars_blob_reader_new(data, len, tag, &r, err, sizeof err) || ops->load(u, r) ||
        tars_blob_reader_end(r))
        die("load failed", ctx);
    tars_blob_reader_free(r);
    tars_blob_writer_free(w);
    return u;
}

static int
sample(int argc, char **argv)
{
    if (argc < 4)
        die("usage: tune_run sample SAMPLER.so FUNCTION TRIALS SEED [name=value...]", NULL);
    const struct func *fn = NULL;
    for (size_t i = 0; i < sizeof funcs / sizeof funcs[0]; i++)
        if (strcmp(funcs[i].name, argv[1]) == 0)
            fn = &funcs[i];
    if (!fn)
        die("unknown function (branin, hartmann6, rosenbrock10, sphere10)", NULL);
    long trials = atol(argv[2]), resume_at = -1;
    double sign = 1;
    uint64_t seed = strtoull(argv[3], NULL, 10);
    for (int i = 4; i < argc; i++)
        if (strncmp(argv[i], "resume-at=", 10) == 0)
            resume_at = atol(argv[i] + 10);
        else if (strcmp(argv[i], "flip=1") == 0)
            sign = -1;
    struct lib lib;
    tars_params *p;
    const tars_tuner_ops *ops = open_tuner(argv[0], &lib, &p, argc - 4, argv + 4);
    tars_param_def space[10];
    for (uint32_t j = 0; j < fn->dims; j++)
        space[j] = (tars_param_def)TARS_PARAM_FLOAT_DEF(names10[j], fn->lo[j], fn->lo[j], fn->hi[j],
                                                        0, "a coordinate");
    uint32_t dir = TARS_MINIMIZE;
    tars_study_spec study = {.struct_size = sizeof study,
                             .n_objectives = 1,
                             .directions = &dir,
                             .space = space,
                             .n_space = fn->dims};
    tars_ctx *ctx = tars__ctx_new("tune", NULL);
    tars_tuner *t;
    if (ops->create(ctx, p, &study, seed, &t))
        die("create failed", ctx);
    double best = INFINITY, x[10];
    for (long n = 0; n < trials; n++) {
        double c0 = cpu_us();
        tars_params *tp;
        if (tars_params_new(space, fn->dims, &tp) || ops->ask(t, p, (uint64_t)n, tp))
            die("ask failed", ctx);
        double c1 = cpu_us();
        for (uint32_t j = 0; j < fn->dims; j++)
            x[j] = tars_param_float(tp, j);
        double v = sign * fn->f(x);
        double c2 = cpu_us();
        tars_trial tr = {.number = (uint64_t)n,
                         .state = TARS_TRIAL_COMPLETE,
                         .n_values = 1,
                         .values = &v,
                         .params = tp};
        if (ops->tell(t, p, &tr))
            die("tell failed", ctx);
        tars_params_free(tp);
        double c3 = cpu_us();
        best = v < best ? v : best;
        printf("%ld %.17g %.17g %.1f\n", n, v, best, (c1 - c0) + (c3 - c2));
        if (n == resume_at)
            t = reload(ops, ctx, p, &study, t, lib.info->name);
    }
    ops->destroy(t);
    close_tuner(&lib, p);
    tars__ctx_free(ctx);
    return 0;
}

static int
prune(int argc, char **argv)
{
    if (argc < 2)
        die("usage: tune_run prune PRUNER.so min|max [name=value...]", NULL);
    struct lib lib;
    tars_params *p;
    const tars_tuner_ops *ops = open_tuner(argv[0], &lib, &p, argc - 2, argv + 2);
    uint32_t dir = strcmp(argv[1], "max") == 0 ? TARS_MAXIMIZE : TARS_MINIMIZE;
    tars_param_def space[1] = {TARS_PARAM_FLOAT_DEF("x", 0, 0, 1, 0, "unused")};
    tars_study_spec study = {.struct_size = sizeof study,
                             .n_objectives = 1,
                             .directions = &dir,
                             .space = space,
                             .n_space = 1};
    tars_ctx *ctx = tars__ctx_new("tune", NULL);
    tars_tuner *t;
    if (ops->create(ctx, p, &study, 0, &t))
        die("create failed", ctx);
    int stop = 0;
    long resume_at = -1, lines = 0;
    for (int i = 2; i < argc; i++) {
        stop |= strcmp(argv[i], "stop-pruned=1") == 0;
        if (strncmp(argv[i], "resume-at=", 10) == 0)
            resume_at = atol(argv[i] + 10);
    }
    static unsigned char pruned[65536]; /* trial numbers below 65536 */
    char line[256], word[32];
    unsigned long long n, step;
    double v;
    while (fgets(line, sizeof line, stdin)) {
        if (lines++ == resume_at)
            t = reload(ops, ctx, p, &study, t, lib.info->name);
        int k = sscanf(line, "%31s %llu", word, &n);
        if (k == 2 && stop && n < sizeof pruned && pruned[n])
            continue; /* a study stopped it */
        if (sscanf(line, "%31s %llu %llu %lg", word, &n, &step, &v) == 4 &&
            strcmp(word, "report") == 0) {
            int pr;
            if (ops->report(t, p, n, step, v, &pr))
                die("report failed", ctx);
            printf("%llu %llu %s\n", n, step, pr ? "prune" : "keep");
            tars_trial tr = {.number = n,
                             .state = TARS_TRIAL_PRUNED,
                             .n_values = 1,
                             .values = &v,
                             .last_step = step};
            if (pr && stop && n < sizeof pruned) {
                pruned[n] = 1;
                if (ops->tell(t, p, &tr))
                    die("tell failed", ctx);
            }
        } else if (sscanf(line, "%31s %llu %lg", word, &n, &v) == 3 &&
                   strcmp(word, "complete") == 0) {
            tars_trial tr = {
                .number = n, .state = TARS_TRIAL_COMPLETE, .n_values = 1, .values = &v};
            if (ops->tell(t, p, &tr))
                die("tell failed", ctx);
        }
    }
    ops->destroy(t);
    close_tuner(&lib, p);
    tars__ctx_free(ctx);
    return 0;
}

static int
parzen(int argc, char **argv)
{
    if (argc < 4)
        die("usage: tune_run parzen TYPE LOW HIGH MULTIVARIATE OBS...", NULL);
    struct dim d = {0};
    int is_enum = strcmp(argv[0], "enum") == 0;
    uint32_t n_obs = (uint32_t)(argc - (is_enum ? 3 : 4));
    double *obs = calloc(n_obs + 1, sizeof *obs);
    const char *const *rest = (const char *const *)argv + (is_enum ? 3 : 4);
    if (is_enum) {
        d.type = TARS_PARAM_ENUM;
        d.n_choices = (uint32_t)atoi(argv[1]);
        d.vmax = d.n_choices - 1;
    } else {
        double lo = atof(argv[1]), hi = atof(argv[2]);
        d.type = strcmp(argv[0], "int") == 0 ? TARS_PARAM_INT : TARS_PARAM_FLOAT;
        d.log = strcmp(argv[0], "logfloat") == 0;
        double half = d.type == TARS_PARAM_INT ? 0.5 : 0;
        d.low = d.log ? log(lo) : lo - half;
        d.high = d.log ? log(hi) : hi + half;
        d.step = d.type == TARS_PARAM_INT ? 1 : 0;
        d.vmin = lo;
        d.vmax = hi;
    }
    for (uint32_t i = 0; i < n_obs; i++)
        obs[i] = d.log ? log(atof(rest[i])) : atof(rest[i]);
    const struct dim *dp = &d;
    /* Optuna 3.1's density (tpe's default) and the exact one (exact_density=1). */
    struct parzen pz, px;
    struct parzen_opts o = {.prior_weight = 1,
                            .magic_clip = 1,
                            .no_scale = 1,
                            .multivariate = !is_enum && atoi(argv[3])};
    struct parzen_opts ox = o;
    ox.no_scale = 0;
    if (parzen_build(&pz, &dp, 1, obs, n_obs, &o) || parzen_build(&px, &dp, 1, obs, n_obs, &ox))
        die("out of memory", NULL);
    for (uint32_t k = 0; k < pz.n_k; k++) {
        printf("%.12g", exp(pz.log_w[k]));
        if (is_enum)
            for (uint32_t c = 0; c < d.n_choices; c++)
                printf(" %.12g", pz.cat[0][k * d.n_choices + c]);
        else
            printf(" %.12g %.12g", pz.mu[0][k], pz.sigma[0][k]);
        printf("\n");
    }
    /* The log density at a few points, for the estimator's normalisation. */
    for (int i = 0; i <= 4; i++) {
        double x =
            is_enum ? (double)(i % d.n_choices) : d.low + (d.high - d.low) * (0.05 + 0.21 * i);
        if (d.step > 0)
            x = round(x);
        double shown = d.log ? exp(x) : x;
        printf("logpdf %.12g %.12g\n", shown, parzen_log_pdf(&pz, &x));
        printf("exact_logpdf %.12g %.12g\n", shown, parzen_log_pdf(&px, &x));
    }
    parzen_free(&pz);
    parzen_free(&px);
    free(obs);
    return 0;
}

static int
split_cmd(int argc, char **argv)
{
    if (argc < 4)
        die("usage: tune_run split min|max LIAR FRACTION MAX < trials", NULL);
    struct history h = {.n_dims = 1};
    char line[256], word[32];
    uint64_t n = 0;
    while (fgets(line, sizeof line, stdin)) {
        double a = 0, b = 0;
        int k = sscanf(line, "%31s %lg %lg", word, &a, &b);
        if (k < 1)
            continue;
        tars_trial t = {.number = n++};
        if (strcmp(word, "complete") == 0 && k == 2) {
            t.state = TARS_TRIAL_COMPLETE;
            t.n_values = 1;
            t.values = &a;
        } else if (strcmp(word, "pruned") == 0) {
            t.state = TARS_TRIAL_PRUNED;
            t.n_values = k == 3;
            t.last_step = (uint64_t)a;
            t.values = &b;
        } else if (strcmp(word, "running") == 0) {
            t.state = TARS_TRIAL_RUNNING;
        } else {
            die("bad trial line", NULL);
        }
        if (history_tell(&h, &t))
            die("out of memory", NULL);
    }
    size_t n_obs, done;
    struct obs *o =
        split_observations(&h, strcmp(argv[0], "max") == 0 ? -1 : 1, atoi(argv[1]), &n_obs, &done);
    if (!o)
        die("out of memory", NULL);
    size_t nb = split_n_below(done, n_obs, atof(argv[2]), atoll(argv[3]));
    split(o, n_obs, nb);
    printf("below");
    for (size_t i = 0; i < nb; i++)
        printf(" %llu", (unsigned long long)o[i].number);
    printf("\nabove");
    for (size_t i = nb; i < n_obs; i++)
        printf(" %llu", (unsigned long long)o[i].number);
    printf("\n");
    free(o);
    history_free(&h);
    return 0;
}

static int
propose(int argc, char **argv)
{
    if (argc < 3)
        die("usage: tune_run propose SAMPLER.so DIMS K [name=value...] < trials", NULL);
    struct lib lib;
    tars_params *p;
    const tars_tuner_ops *ops = open_tuner(argv[0], &lib, &p, argc - 3, argv + 3);
    uint32_t dims = (uint32_t)atoi(argv[1]);
    int k = atoi(argv[2]);
    tars_param_def space[10];
    for (uint32_t j = 0; j < dims && j < 10; j++)
        space[j] = (tars_param_def)TARS_PARAM_FLOAT_DEF(names10[j], 0, -5, 10, 0, "a coordinate");
    uint32_t dir = TARS_MINIMIZE;
    tars_study_spec study = {.struct_size = sizeof study,
                             .n_objectives = 1,
                             .directions = &dir,
                             .space = space,
                             .n_space = dims};
    double hist[1000][11];
    int n = 0;
    char line[1024];
    while (n < 1000 && fgets(line, sizeof line, stdin)) {
        char *q = line;
        for (uint32_t j = 0; j <= dims; j++)
            hist[n][j] = strtod(q, &q);
        n++;
    }
    tars_ctx *ctx = tars__ctx_new("tune", NULL);
    for (int s = 0; s < k; s++) {
        tars_tuner *t;
        if (ops->create(ctx, p, &study, (uint64_t)s, &t))
            die("create failed", ctx);
        for (int i = 0; i < n; i++) {
            tars_params *tp;
            if (tars_params_new(space, dims, &tp))
                die("out of memory", NULL);
            for (uint32_t j = 0; j < dims; j++)
                tars_params_set(tp, j, hist[i][j + 1], NULL, 0);
            tars_trial tr = {.number = (uint64_t)i,
                             .state = TARS_TRIAL_COMPLETE,
                             .n_values = 1,
                             .values = &hist[i][0],
                             .params = tp};
            if (ops->tell(t, p, &tr))
                die("tell failed", ctx);
            tars_params_free(tp);
        }
        tars_params *tp;
        if (tars_params_new(space, dims, &tp) || ops->ask(t, p, (uint64_t)n, tp))
            die("ask failed", ctx);
        for (uint32_t j = 0; j < dims; j++)
            printf("%s%.17g", j ? " " : "", tars_param_float(tp, j));
        printf("\n");
        tars_params_free(tp);
        ops->destroy(t);
    }
    close_tuner(&lib, p);
    tars__ctx_free(ctx);
    return 0;
}

/*
 * NSGA-II's elite: each line of stdin is a trial's two objective values; trial n is asked, then
 * told COMPLETE with line n's values and x = n / 100000 (its tag, as an enqueued trial's). Then K
 * more trials are asked and the distinct trials they copy (crossover_prob=0 mutation_prob=0 make
 * every child a copy of one parent) are printed by number, sorted: the parents' population, which
 * Optuna's peer prints too.
 */
static int
elite(int argc, char **argv)
{
    if (argc < 3)
        die("usage: tune_run elite NSGA2.so min|max,min|max K [name=value...] < values", NULL);
    struct lib lib;
    tars_params *p;
    const tars_tuner_ops *ops = open_tuner(argv[0], &lib, &p, argc - 3, argv + 3);
    uint32_t dirs[2] = {strncmp(argv[1], "max", 3) == 0 ? TARS_MAXIMIZE : TARS_MINIMIZE,
                        strstr(argv[1], ",max") ? TARS_MAXIMIZE : TARS_MINIMIZE};
    long k = atol(argv[2]), n = 0;
    tars_param_def space[1] = {TARS_PARAM_FLOAT_DEF("x", 0, 0, 1, 0, "the trial's tag")};
    tars_study_spec study = {.struct_size = sizeof study,
                             .n_objectives = 2,
                             .directions = dirs,
                             .space = space,
                             .n_space = 1};
    tars_ctx *ctx = tars__ctx_new("tune", NULL);
    tars_tuner *t;
    if (ops->create(ctx, p, &study, 0, &t))
        die("create failed", ctx);
    static double xs[100000];
    double v[2];
    char line[256];
    while (n < 100000 && fgets(line, sizeof line, stdin) &&
           sscanf(line, "%lg %lg", &v[0], &v[1]) == 2) {
        tars_params *tp;
        if (tars_params_new(space, 1, &tp) || ops->ask(t, p, (uint64_t)n, tp))
            die("ask failed", ctx);
        xs[n] = (double)n / 100000; /* told with a tag of its own, as an enqueued trial */
        tars_params_set(tp, 0, xs[n], NULL, 0);
        tars_trial tr = {.number = (uint64_t)n,
                         .state = TARS_TRIAL_COMPLETE,
                         .n_values = 2,
                         .values = v,
                         .params = tp};
        if (ops->tell(t, p, &tr))
            die("tell failed", ctx);
        tars_params_free(tp);
        n++;
    }
    static unsigned char seen[100000];
    for (long i = 0; i < k; i++) {
        tars_params *tp;
        if (tars_params_new(space, 1, &tp) || ops->ask(t, p, (uint64_t)(n + i), tp))
            die("ask failed", ctx);
        for (long j = 0; j < n; j++)
            if (xs[j] == tars_param_float(tp, 0))
                seen[j] = 1;
        tars_params_free(tp);
    }
    for (long j = 0; j < n; j++)
        if (seen[j])
            printf("%ld\n", j);
    ops->destroy(t);
    close_tuner(&lib, p);
    tars__ctx_free(ctx);
    return 0;
}

int
main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "elite") == 0)
        return elite(argc - 2, argv + 2);
    if (argc >= 2 && strcmp(argv[1], "propose") == 0)
        return propose(argc - 2, argv + 2);
    if (argc >= 2 && strcmp(argv[1], "split") == 0)
        return split_cmd(argc - 2, argv + 2);
    if (argc >= 2 && strcmp(argv[1], "sample") == 0)
        return sample(argc - 2, argv + 2);
    if (argc >= 2 && strcmp(argv[1], "prune") == 0)
        return prune(argc - 2, argv + 2);
    if (argc >= 2 && strcmp(argv[1], "parzen") == 0)
        return parzen(argc - 2, argv + 2);
    fprintf(stderr, "usage: tune_run sample|prune|parzen|split|propose|elite ... (see "
                    "tests/tools/tune_run.c)\n");
    return 2;
}
