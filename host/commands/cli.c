#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "diag.h"
#include "cli.h"
#include "tars/version.h"

enum {
    O_CONFIG = 256,
    O_LISTEN,
    O_STATE,
    O_MANIFESTS,
    O_PLUGINS,
    O_LOG_FORMAT,
    O_VERSION,
    O_HELP,
    O_AGENT,
    O_ENV,
    O_PRESET,
    O_N_ENVS,
    O_STEPS,
    O_SEED,
    O_SET,
    O_EVAL_EVERY,
    O_EVAL_EPISODES,
    O_TARGET,
    O_SAVE,
    O_JSON,
    O_HISTORY,
};

static const struct option long_opts[] = {
    {"config", required_argument, NULL, O_CONFIG},
    {"listen", required_argument, NULL, O_LISTEN},
    {"state", required_argument, NULL, O_STATE},
    {"manifests", required_argument, NULL, O_MANIFESTS},
    {"plugins", required_argument, NULL, O_PLUGINS},
    {"log-format", required_argument, NULL, O_LOG_FORMAT},
    {"version", no_argument, NULL, O_VERSION},
    {"help", no_argument, NULL, O_HELP},
    {"agent", required_argument, NULL, O_AGENT},
    {"env", required_argument, NULL, O_ENV},
    {"preset", required_argument, NULL, O_PRESET},
    {"n-envs", required_argument, NULL, O_N_ENVS},
    {"steps", required_argument, NULL, O_STEPS},
    {"seed", required_argument, NULL, O_SEED},
    {"set", required_argument, NULL, O_SET},
    {"eval-every", required_argument, NULL, O_EVAL_EVERY},
    {"eval-episodes", required_argument, NULL, O_EVAL_EPISODES},
    {"target", required_argument, NULL, O_TARGET},
    {"save", required_argument, NULL, O_SAVE},
    {"json", no_argument, NULL, O_JSON},
    {"history", required_argument, NULL, O_HISTORY},
    {NULL, 0, NULL, 0},
};

void
cli_usage(FILE *f)
{
    fprintf(
        f, "usage: tarsd [serve|check|train|inspect] [options]\n"
           "\n"
           "  serve     the daemon: train the configured agents, serve the API and UI (default)\n"
           "  check     validate config, manifests and plugins; one row per plugin\n"
           "  train     one-shot training in the foreground\n"
           "  inspect   a state dir, read-only (safe while tarsd runs): agents, checkpoints\n"
           "\n"
           "common options:\n"
           "  --config FILE        JSON config (every key optional)\n"
           "  --listen ADDR:PORT   API and UI address (default 127.0.0.1:8080)\n"
           "  --state DIR          state dir\n"
           "  --manifests DIR      manifest dir (repeatable; replaces the config's)\n"
           "  --plugins DIR        plugin dir (repeatable; replaces the config's)\n"
           "  --log-format F       auto, text or json\n"
           "  --version, --help\n"
           "\n"
           "train options:\n"
           "  --agent NAME --env NAME   the plugins to train (required)\n"
           "  --n-envs N               env copies stepped together (default 8)\n"
           "  --steps N                env steps to train (default 100000)\n"
           "  --seed S                 seed (default 0)\n"
           "  --preset NAME            preset from the agent manifest's defaults\n"
           "  --set KEY=VALUE          agent parameter (env.KEY=VALUE: env parameter); repeatable\n"
           "  --eval-every N           evaluate every N steps (default 10000 with --target)\n"
           "  --eval-episodes N        episodes per evaluation (default 20, 0 for none)\n"
           "  --target R               stop once the evaluation mean reaches R\n"
           "  --save FILE              write the agent's state blob at the end\n"
           "  --json                   print one JSON object with the results\n"
           "\n"
           "inspect options:\n"
           "  --history ID             an agent's finished episodes\n"
           "  --json                   print JSON\n");
}

/* Whole numbers, also written as 1e6. */
static int
parse_count(const char *flag, const char *text, double max, uint64_t *out, char *err, size_t errlen)
{
    char *end = NULL;
    double v = strtod(text, &end);
    if (end == text || *end || !isfinite(v) || v < 0 || v != floor(v) || v > max)
        return diag_fail(err, errlen, "%s needs a whole number in [0, %.0f], not '%s'", flag, max,
                         text);
    *out = (uint64_t)v;
    return 0;
}

static const char *const commands[] = {"serve", "check", "train", "inspect", NULL};

/* The command word (serve when there is none); sets o->cmd and where the options start. */
static int
parse_command(int argc, char **argv, struct opts *o, int *first, char *err, size_t errlen)
{
    o->cmd = "serve";
    *first = 1;
    if (argc > 1 && argv[1][0] != '-') {
        int known = 0;
        for (int i = 0; commands[i]; i++)
            known |= strcmp(argv[1], commands[i]) == 0;
        if (!known)
            return diag_fail(err, errlen,
                             "unknown command '%s' (expected serve, check, train or inspect)",
                             argv[1]);
        o->cmd = argv[1];
        *first = 2;
    }
    return 0;
}

/* An option every command takes (c below O_AGENT), with its value a. */
static int
common_opt(int c, const char *a, struct opts *o, char *err, size_t errlen)
{
    switch (c) {
    case O_CONFIG:
        o->flags.config = a;
        return 0;
    case O_LISTEN:
        o->flags.listen = a;
        return 0;
    case O_STATE:
        o->flags.state = a;
        return 0;
    case O_MANIFESTS:
        if (strv_push(&o->flags.manifests, a))
            return diag_fail(err, errlen, "out of memory");
        return 0;
    case O_PLUGINS:
        if (strv_push(&o->flags.plugins, a))
            return diag_fail(err, errlen, "out of memory");
        return 0;
    case O_LOG_FORMAT:
        if (strcmp(a, "auto") && strcmp(a, "text") && strcmp(a, "json"))
            return diag_fail(err, errlen, "--log-format must be auto, text or json, not '%s'", a);
        o->flags.log_format = a;
        return 0;
    case O_VERSION:
        o->version = 1;
        return 0;
    case O_HELP:
        o->help = 1;
        return 0;
    }
    return diag_fail(err, errlen, "internal: option %d has no parser", c);
}

/* An option of train and inspect (c at or above O_AGENT), with its value a. */
static int
train_opt(int c, const char *a, struct opts *o, char *err, size_t errlen)
{
    uint64_t v;
    switch (c) {
    case O_AGENT:
        o->agent = a;
        return 0;
    case O_ENV:
        o->env = a;
        return 0;
    case O_PRESET:
        o->preset = a;
        return 0;
    case O_SAVE:
        o->save = a;
        return 0;
    case O_JSON:
        o->json = 1;
        return 0;
    case O_HISTORY:
        o->history = a;
        return 0;
    case O_N_ENVS:
        if (parse_count("--n-envs", a, 65536, &v, err, errlen))
            return -1;
        if (v == 0)
            return diag_fail(err, errlen, "--n-envs must be at least 1");
        o->n_envs = (uint32_t)v;
        return 0;
    case O_STEPS:
        if (parse_count("--steps", a, 1e15, &o->steps, err, errlen))
            return -1;
        if (o->steps == 0)
            return diag_fail(err, errlen, "--steps must be at least 1");
        return 0;
    case O_SEED:
        if (parse_count("--seed", a, 9007199254740991.0, &o->seed, err, errlen))
            return -1;
        return 0;
    case O_EVAL_EVERY:
        if (parse_count("--eval-every", a, 1e15, &o->eval_every, err, errlen))
            return -1;
        return 0;
    case O_EVAL_EPISODES:
        if (parse_count("--eval-episodes", a, 100000, &v, err, errlen))
            return -1;
        o->eval_episodes = (uint32_t)v;
        return 0;
    case O_TARGET: {
        char *end = NULL;
        o->target = strtod(a, &end);
        if (end == a || *end || !isfinite(o->target))
            return diag_fail(err, errlen, "--target needs a number, not '%s'", a);
        o->has_target = 1;
        return 0;
    }
    case O_SET:
        if (!strchr(a, '=') || a[0] == '=')
            return diag_fail(err, errlen, "--set needs KEY=VALUE, not '%s'", a);
        if (strv_push(&o->sets, a))
            return diag_fail(err, errlen, "out of memory");
        return 0;
    }
    return diag_fail(err, errlen, "internal: option %d has no parser", c);
}

/* After the options: the tail's options belong to their commands, train's are complete. */
static int
check_command(struct opts *o, int train_flag, char *err, size_t errlen)
{
    /* --json serves train and inspect; --history inspect; the rest of the tail train. */
    int inspect = strcmp(o->cmd, "inspect") == 0;
    if (train_flag && !(strcmp(o->cmd, "train") == 0 && train_flag != O_HISTORY) &&
        !(inspect && (train_flag == O_JSON || train_flag == O_HISTORY))) {
        const char *name = NULL;
        for (const struct option *lo = long_opts; lo->name; lo++)
            if (lo->val == train_flag)
                name = lo->name;
        return diag_fail(err, errlen, "--%s is only for 'tarsd %s'", name,
                         train_flag == O_HISTORY ? "inspect"
                         : train_flag == O_JSON  ? "train' and 'tarsd inspect"
                                                 : "train");
    }
    if (strcmp(o->cmd, "train") == 0) {
        if (!o->agent || !o->env)
            return diag_fail(err, errlen, "train needs --agent NAME and --env NAME");
        if (o->has_target && !o->eval_every)
            o->eval_every = 10000;
        if (o->has_target && o->eval_episodes == 0)
            return diag_fail(err, errlen, "--target needs --eval-episodes of at least 1");
    }
    return 0;
}

int
cli_parse(int argc, char **argv, struct opts *o, char *err, size_t errlen)
{
    memset(o, 0, sizeof *o);
    o->n_envs = 0; /* the preset's, else 8 */
    o->steps = 0;  /* --steps, else the agent's total_steps with a preset, else 100000 */
    o->eval_episodes = 20;
    int train_flag = 0, first;
    if (parse_command(argc, argv, o, &first, err, errlen))
        return -1;
    optind = first;
    opterr = 0;
    int c, li = -1;
    while ((c = getopt_long(argc, argv, ":", long_opts, &li)) != -1) {
        const char *a = optarg;
        if (a && !*a && li >= 0)
            return diag_fail(err, errlen, "--%s needs a non-empty value", long_opts[li].name);
        if (c == ':')
            return diag_fail(err, errlen, "option '%s' needs a value", argv[optind - 1]);
        if (c < O_CONFIG || c > O_HISTORY)
            return diag_fail(err, errlen, "unknown option '%s' (see tarsd --help)",
                             argv[optind - 1]);
        if (c >= O_AGENT)
            train_flag = c;
        if (c >= O_AGENT ? train_opt(c, a, o, err, errlen) : common_opt(c, a, o, err, errlen))
            return -1;
    }
    if (optind < argc)
        return diag_fail(err, errlen, "unexpected argument '%s' (see tarsd --help)", argv[optind]);
    if (o->help || o->version)
        return 0;
    return check_command(o, train_flag, err, errlen);
}

void
cli_free(struct opts *o)
{
    strv_free(&o->flags.manifests);
    strv_free(&o->flags.plugins);
    strv_free(&o->sets);
}
