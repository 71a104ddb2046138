/*
 * ctl — what tarsctl's commands share: the global options, where tarsd is and which token to
 * send (resolved on first use), command-line parsing, and every command's entry point.
 *
 * Exit codes: 0 success, 1 a failure reported by tarsd or on the way to it (one line on
 * stderr), 2 a bad command line (one line naming what is wrong). tarsctl is single-threaded.
 */
#ifndef TARS_CTL_CTL_H
#define TARS_CTL_CTL_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

#define CTL_EXIT_FAIL  1
#define CTL_EXIT_USAGE 2
/* Returned by ctl_parse when --help was shown: the command exits 0. */
#define CTL_HELP_SHOWN (-1)

struct ctl_cmd;

struct ctl {
    /* Global options (before or after the command). */
    int json;               /* --json: print the API's replies as they are */
    const char *url;        /* --url */
    const char *token;      /* --token */
    const char *token_file; /* --token-file */
    const char *config;     /* --config */
    const char *state;      /* --state */
    long timeout_s;         /* --timeout, per request */
    const struct ctl_cmd *cmd;
    /* Resolved on first use (target.c); owned here, freed by ctl_free. */
    int conf_loaded;
    char *conf_listen, *conf_state; /* from the config, --state and the defaults */
    int conf_tls;
    char *base;       /* e.g. http://127.0.0.1:8080, without a trailing slash */
    char *bearer;     /* the token's text: sent, never printed */
    char *token_from; /* where it came from, for messages ("$TARS_TOKEN", a path...) */
};

/* One command: its words ("agent", "show"), its usage after them, a summary, the handler. */
struct ctl_cmd {
    const char *word, *sub;
    const char *usage;
    const char *summary;
    int (*run)(struct ctl *c, int argc, char **argv);
};

/* The kinds of a command's options. */
enum ctl_opt_kind {
    OPT_FLAG, /* int *: set to 1 */
    OPT_STR,  /* const char **: the value */
    OPT_UINT, /* long long *: a whole number >= 0; stays as it was when absent */
    OPT_LIST, /* struct ctl_list *: every value, in order */
};

#define CTL_LIST_MAX 128

struct ctl_list {
    const char *v[CTL_LIST_MAX];
    int n;
};

struct ctl_opt {
    const char *name; /* "--tail" */
    enum ctl_opt_kind kind;
    void *out;
};

/*
 * Parses a command's arguments: its options (opts, ended by a {NULL}), the global options,
 * and exactly npos positional words into pos. "--opt=value" and "--opt value" both work.
 * Returns 0, CTL_EXIT_USAGE after one line on stderr, or CTL_HELP_SHOWN after printing the
 * command's usage on stdout.
 */
int ctl_parse(struct ctl *c, int argc, char **argv, const struct ctl_opt *opts, const char **pos,
              int npos);

/* As ctl_parse, with between min and max positional words; *n says how many came. */
int ctl_parse_n(struct ctl *c, int argc, char **argv, const struct ctl_opt *opts, const char **pos,
                int min, int max, int *n);

/*
 * KEY=VALUE words (v[0..n)) as a JSON object of typed values: true/false as booleans, numbers
 * as numbers, anything else as text (tarsd checks each against the schema). what names the
 * words in the message ("--set"). Returns 0, or CTL_EXIT_USAGE after one line; *out is then
 * still the caller's to json_decref.
 */
int ctl_settings(const struct ctl *c, const char *what, const char *const *v, int n, json_t **out);

/* A finite number in text, for option name. Returns 0 or CTL_EXIT_USAGE after one line. */
int ctl_parse_number(const struct ctl *c, const char *name, const char *text, double *out);

/*
 * Consumes the global option at argv[*i] (and its value), advancing *i. Returns 1 when it
 * was one, 0 when argv[*i] is something else, CTL_EXIT_USAGE after one line when its value
 * is missing or bad.
 */
int ctl_global_opt(struct ctl *c, int argc, char **argv, int *i);

/* One line "tarsctl: <what is wrong> (see tarsctl <command> --help)"; returns CTL_EXIT_USAGE. */
int ctl_usage_error(const struct ctl *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Prints "usage: tarsctl <words> <usage>" to f. */
void ctl_print_usage(const struct ctl_cmd *cmd, FILE *f);

/* The exit code for a ctl_parse result that is not 0. */
static inline int
ctl_parse_exit(int rc)
{
    return rc == CTL_HELP_SHOWN ? 0 : rc;
}

/*
 * target.c: fills c->base (from --url, $TARS_URL or the config's listen address) and, for
 * ctl_token, c->bearer and c->token_from (from --token, --token-file, $TARS_TOKEN or the
 * state dir's admin.token). Return 0, or CTL_EXIT_FAIL after one line saying what was
 * looked at.
 */
int ctl_url(struct ctl *c);
int ctl_token(struct ctl *c);
void ctl_free(struct ctl *c);

/* The commands: argv holds the arguments after the command's words. Return the exit code. */
int cmd_health(struct ctl *c, int argc, char **argv);
int cmd_version(struct ctl *c, int argc, char **argv);
int cmd_whoami(struct ctl *c, int argc, char **argv);
int cmd_plugins(struct ctl *c, int argc, char **argv);
int cmd_plugin_show(struct ctl *c, int argc, char **argv);
int cmd_plugin_reload(struct ctl *c, int argc, char **argv);
int cmd_plugin_release(struct ctl *c, int argc, char **argv);
int cmd_plugin_rescan(struct ctl *c, int argc, char **argv);
int cmd_agents(struct ctl *c, int argc, char **argv);
int cmd_agent_show(struct ctl *c, int argc, char **argv);
int cmd_agent_create(struct ctl *c, int argc, char **argv);
int cmd_agent_start(struct ctl *c, int argc, char **argv);
int cmd_agent_stop(struct ctl *c, int argc, char **argv);
int cmd_agent_reset(struct ctl *c, int argc, char **argv);
int cmd_agent_delete(struct ctl *c, int argc, char **argv);
int cmd_agent_export(struct ctl *c, int argc, char **argv);
int cmd_params_get(struct ctl *c, int argc, char **argv);
int cmd_params_set(struct ctl *c, int argc, char **argv);
int cmd_propose(struct ctl *c, int argc, char **argv);
int cmd_proposals(struct ctl *c, int argc, char **argv);
int cmd_proposal_show(struct ctl *c, int argc, char **argv);
int cmd_approve(struct ctl *c, int argc, char **argv);
int cmd_reject(struct ctl *c, int argc, char **argv);
int cmd_history(struct ctl *c, int argc, char **argv);
int cmd_scalars(struct ctl *c, int argc, char **argv);
int cmd_checkpoints(struct ctl *c, int argc, char **argv);
int cmd_audit(struct ctl *c, int argc, char **argv);
int cmd_token_create(struct ctl *c, int argc, char **argv);
int cmd_token_list(struct ctl *c, int argc, char **argv);
int cmd_token_revoke(struct ctl *c, int argc, char **argv);
int cmd_token_rotate(struct ctl *c, int argc, char **argv);
int cmd_studies(struct ctl *c, int argc, char **argv);
int cmd_study_create(struct ctl *c, int argc, char **argv);
int cmd_study_show(struct ctl *c, int argc, char **argv);
int cmd_study_trials(struct ctl *c, int argc, char **argv);
int cmd_study_best(struct ctl *c, int argc, char **argv);
int cmd_study_stop(struct ctl *c, int argc, char **argv);
int cmd_study_resume(struct ctl *c, int argc, char **argv);
int cmd_study_delete(struct ctl *c, int argc, char **argv);
int cmd_study_propose(struct ctl *c, int argc, char **argv);

#endif
