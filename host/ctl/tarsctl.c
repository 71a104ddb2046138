/*
 * tarsctl — tars from a shell: tarsd's JSON API as commands with aligned human output (or the
 * API's JSON with --json), plus offline tools that need no daemon (plugin check/manifest on a
 * built plugin, backup of a state dir). This file parses the global options, finds the
 * command in one table (which also writes --help) and runs it. docs/tarsctl.md has examples.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "api_client.h"
#include "backup_cmd.h"
#include "ctl.h"
#include "host.h"
#include "plugin_cmd.h"
#include "tars/version.h"

/* Whether an offline command was asked for its usage (it then prints it and exits 0). */
static int
offline_help(const struct ctl *c, int argc, char **argv)
{
    for (int i = 0; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            ctl_print_usage(c->cmd, stdout);
            return 1;
        }
    return 0;
}

/*
 * The offline commands keep their own argument parsing (the global options go before them):
 * they need no config, URL or token.
 */
static int
run_plugin_check(struct ctl *c, int argc, char **argv)
{
    return offline_help(c, argc, argv) ? 0 : plugin_cmd("check", argc, argv, c->json);
}

static int
run_plugin_manifest(struct ctl *c, int argc, char **argv)
{
    return offline_help(c, argc, argv) ? 0 : plugin_cmd("manifest", argc, argv, 0);
}

static int
run_backup(struct ctl *c, int argc, char **argv)
{
    return offline_help(c, argc, argv) ? 0 : backup_cmd(argc, argv, c->state);
}

#define PAGE        "ID [--tail N | --from N --limit N]"
#define CHANGE_OPTS "[--env KEY=VALUE]... [--recreate] [--reason TEXT] [--expected X]"

static const struct ctl_cmd commands[] = {
    {"health", NULL, "", "is tarsd up? (no token; exits 1 when degraded)", cmd_health},
    {"version", NULL, "", "tarsd's versions, and tarsctl's", cmd_version},
    {"whoami", NULL, "", "the token in use: id, name, role, where it was found", cmd_whoami},
    {"agents", NULL, "", "the agents, with live status", cmd_agents},
    {"agent", "show", "ID", "one agent: status, parameters, progress", cmd_agent_show},
    {"agent", "create",
     "ID --agent A --env E [--preset P] [--n-envs N] [--seed S] [--set KEY=VALUE]... "
     "[--env-set KEY=VALUE]...",
     "create and start an agent (operator)", cmd_agent_create},
    {"agent", "start", "ID", "start a stopped agent (operator)", cmd_agent_start},
    {"agent", "stop", "ID", "stop an agent and checkpoint it (operator)", cmd_agent_stop},
    {"agent", "reset", "ID", "start an agent over: step 0, no history (operator)", cmd_agent_reset},
    {"agent", "delete", "ID", "delete an agent created through the API (admin)", cmd_agent_delete},
    {"agent", "export", "ID -o FILE [--format tars]",
     "download the agent's latest checkpoint (operator)", cmd_agent_export},
    {"params", "get", "ID", "an agent's parameters with type, range and hot flag", cmd_params_get},
    {"params", "set", "ID KEY=VALUE... " CHANGE_OPTS,
     "change parameters (admin: at once; operator: a proposal)", cmd_params_set},
    {"params", NULL, "ID", "the same as params get ID", cmd_params_get},
    {"propose", NULL, "ID KEY=VALUE... " CHANGE_OPTS,
     "propose a change for the approval mode or an admin (operator)", cmd_propose},
    {"proposals", "show", "ID", "the same as proposal ID", cmd_proposal_show},
    {"proposals", "approve", "ID [--reason TEXT]", "the same as approve ID", cmd_approve},
    {"proposals", "reject", "ID [--reason TEXT]", "the same as reject ID", cmd_reject},
    {"proposals", NULL, "[--agent A] [--state S] [--limit N] [--before ID]",
     "parameter changes proposed and decided, newest first", cmd_proposals},
    {"proposal", NULL, "ID", "one proposal: changes, outcome, each step with who and when",
     cmd_proposal_show},
    {"approve", NULL, "ID [--reason TEXT]", "approve a pending proposal and apply it (admin)",
     cmd_approve},
    {"reject", NULL, "ID [--reason TEXT]", "reject a pending proposal (admin)", cmd_reject},
    {"history", NULL, PAGE, "finished episodes, a page at a time", cmd_history},
    {"scalars", NULL, PAGE, "training scalars (losses, entropy, ...)", cmd_scalars},
    {"checkpoints", NULL, "ID", "the checkpoints kept for an agent", cmd_checkpoints},
    {"plugins", NULL, "", "the plugins found, loaded or refused", cmd_plugins},
    {"plugin", "show", "NAME", "one plugin: schema, presets, agents using it", cmd_plugin_show},
    {"plugin", "reload", "NAME", "load its new build; agents migrate as they train (admin)",
     cmd_plugin_reload},
    {"plugin", "release", "NAME", "lift the quarantine of a build that crashed tarsd (admin)",
     cmd_plugin_release},
    {"plugin", "rescan", "", "read the manifest dirs again, as SIGHUP does (admin)",
     cmd_plugin_rescan},
    {"studies", NULL, "", "the AutoML studies: state, progress, best value", cmd_studies},
    {"study", "list", "", "the same as studies", cmd_studies},
    {"study", "create", "FILE.json", "create a study from its JSON (-: stdin) (operator)",
     cmd_study_create},
    {"study", "show", "ID|NAME", "one study: tuners, trials per state, best, trials/hour",
     cmd_study_show},
    {"study", "trials", "ID|NAME [--state S] [--from N] [--limit N]",
     "a study's trials: state, value, parameters", cmd_study_trials},
    {"study", "best", "ID|NAME", "the best trial (or the Pareto front)", cmd_study_best},
    {"study", "stop", "ID|NAME", "no new trials, running ones paused (operator)", cmd_study_stop},
    {"study", "resume", "ID|NAME", "resume a stopped study (operator)", cmd_study_resume},
    {"study", "delete", "ID|NAME", "delete a study and its trials' agents (admin)",
     cmd_study_delete},
    {"study", "propose", "ID|NAME --agent A [--recreate]",
     "the best trial as a HyperSync proposal for agent A (operator)", cmd_study_propose},
    {"audit", NULL, "[--limit N] [--before SEQ]", "the audit log, newest first", cmd_audit},
    {"token", "create", "--role viewer|operator|admin --name NAME [--expires-in S]",
     "a new token, printed once (admin)", cmd_token_create},
    {"token", "list", "", "the tokens, their expiry and last use, never their text (admin)",
     cmd_token_list},
    {"token", "rotate", "ID [--grace S]",
     "a new secret, printed once; the old one works S more seconds (admin)", cmd_token_rotate},
    {"token", "revoke", "ID", "revoke a token (admin)", cmd_token_revoke},
    {"plugin", "check", "FILE.so [--json | --markdown]", "offline: ABI and parameter schema",
     run_plugin_check},
    {"plugin", "manifest", "FILE.so [-o OUT] [--pin]",
     "offline: write the plugin's manifest (--pin: with its sha256)", run_plugin_manifest},
    {"backup", NULL, "--state DIR --to DEST", "offline: a hot, compacted copy of a state dir",
     run_backup},
};

#define N_COMMANDS (sizeof commands / sizeof commands[0])

/* One command of the --help list: its usage (wrapped at 78 columns), then its summary. */
static void
usage_line(const struct ctl_cmd *k, FILE *f)
{
    char left[256];
    int n = snprintf(left, sizeof left, "%s%s%s%s%s", k->word, k->sub ? " " : "",
                     k->sub ? k->sub : "", *k->usage ? " " : "", k->usage);
    if (n <= 40) {
        fprintf(f, "  %-40s  %s\n", left, k->summary);
        return;
    }
    const char *p = left;
    int indent = 2;
    while ((int)strlen(p) > 78 - indent) {
        int cut = 78 - indent;
        while (cut > 0 && p[cut] != ' ')
            cut--;
        if (cut == 0)
            break;
        fprintf(f, "%*s%.*s\n", indent, "", cut, p);
        p += cut + 1;
        indent = 6;
    }
    fprintf(f, "%*s%s\n  %-40s  %s\n", indent, "", p, "", k->summary);
}

static void
usage(FILE *f)
{
    fprintf(f, "usage: tarsctl [OPTIONS] COMMAND [ARGS]\n\nCommands:\n");
    for (size_t i = 0; i < N_COMMANDS; i++)
        usage_line(&commands[i], f);
    fprintf(f,
            "\nOptions, before the command (after it too, but for the offline ones):\n"
            "  --json             print the API's JSON replies as they are, for scripts\n"
            "  --url URL          tarsd's address; else $TARS_URL, else the config's listen\n"
            "  --token TOKEN      the bearer token; else --token-file, else $TARS_TOKEN, else\n"
            "                     the admin token in the state dir (same machine as tarsd)\n"
            "  --token-file FILE  read the token from FILE\n"
            "  --config FILE      tarsd's config: where it listens, its state dir\n"
            "  --state DIR        tarsd's state dir (as tarsd --state)\n"
            "  --timeout S        seconds a request may take (default %d)\n"
            "  --help, --version  this text; tarsctl's own version\n"
            "\nExit status: 0 done, 1 failed (one line on stderr), 2 bad command line.\n"
            "Examples: docs/tarsctl.md\n",
            API_TIMEOUT_S);
}

/* The command named at argv[0] (and argv[1]); *words says how many words it took. */
static const struct ctl_cmd *
find_command(int argc, char **argv, int *words)
{
    for (size_t i = 0; i < N_COMMANDS; i++) {
        const struct ctl_cmd *k = &commands[i];
        if (strcmp(k->word, argv[0]) != 0)
            continue;
        if (!k->sub) {
            *words = 1;
            return k;
        }
        if (argc > 1 && strcmp(k->sub, argv[1]) == 0) {
            *words = 2;
            return k;
        }
    }
    return NULL;
}

/* `tarsctl plugin --help`: the usage of each subcommand of a command word. 0, or -ENOENT for a
 * word without subcommands. */
static int
word_help(const char *word, FILE *f)
{
    int found = 0;
    for (size_t i = 0; i < N_COMMANDS; i++) {
        if (commands[i].sub && strcmp(commands[i].word, word) == 0) {
            if (!found)
                fprintf(f, "usage: tarsctl [OPTIONS] %s SUBCOMMAND [ARGS]\n\nSubcommands:\n", word);
            found = 1;
            usage_line(&commands[i], f);
        }
    }
    if (found)
        fprintf(f, "\nOptions and exit status: tarsctl --help. Examples: docs/tarsctl.md\n");
    return found ? 0 : -ENOENT;
}

/* One line for a word that is not a command, or a command word without a known subcommand
 * (or its subcommands' usage, when that is what was asked for). */
static int
unknown_command(int argc, char **argv)
{
    if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) &&
        word_help(argv[0], stdout) == 0)
        return 0;
    char subs[256] = "";
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (commands[i].sub && strcmp(commands[i].word, argv[0]) == 0 &&
            !strstr(subs, commands[i].sub))
            snprintf(subs + strlen(subs), sizeof subs - strlen(subs), "%s%s", *subs ? ", " : "",
                     commands[i].sub);
    if (!*subs)
        fprintf(stderr, "tarsctl: unknown command '%s' (see tarsctl --help)\n", argv[0]);
    else if (argc < 2)
        fprintf(stderr, "tarsctl: '%s' needs a subcommand: %s\n", argv[0], subs);
    else
        fprintf(stderr, "tarsctl: unknown subcommand '%s %s' (known: %s)\n", argv[0], argv[1],
                subs);
    return CTL_EXIT_USAGE;
}

/* The global options before the command. Returns -1 to go on, else the exit code. */
static int
leading_options(struct ctl *c, int argc, char **argv, int *i)
{
    for (; *i < argc; ++*i) {
        const char *a = argv[*i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        }
        if (strcmp(a, "--version") == 0) {
            printf("tarsctl %s (plugin ABI %d.%d)\n", TARS_VERSION_STRING, TARS_ABI_MAJOR,
                   TARS_ABI_MINOR);
            return 0;
        }
        int rc = ctl_global_opt(c, argc, argv, i);
        if (rc == 1)
            continue;
        if (rc)
            return rc;
        if (a[0] == '-')
            return ctl_usage_error(c, "unknown option '%s'", a);
        return -1;
    }
    usage(stderr);
    return CTL_EXIT_USAGE;
}

int
main(int argc, char **argv)
{
    char err[512];
    if (host_check_sdk(err, sizeof err)) {
        fprintf(stderr, "tarsctl: %s\n", err);
        return CTL_EXIT_FAIL;
    }
    struct ctl c = {0};
    int i = 1, words = 0;
    int rc = leading_options(&c, argc, argv, &i);
    if (rc >= 0)
        return rc;
    c.cmd = find_command(argc - i, argv + i, &words);
    if (!c.cmd)
        return unknown_command(argc - i, argv + i);
    if (api_init())
        return CTL_EXIT_FAIL;
    rc = c.cmd->run(&c, argc - i - words, argv + i + words);
    ctl_free(&c);
    api_cleanup();
    return rc;
}
