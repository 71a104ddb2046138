/*
 * tarsctl's command-line parsing: the global options (accepted before or after the command,
 * so `tarsctl --json agents` and `tarsctl agents --json` are the same) and each command's own
 * options from a small table. Every bad argument gets one line naming it, and exit code 2.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "ctl.h"

void
ctl_print_usage(const struct ctl_cmd *cmd, FILE *f)
{
    fprintf(f, "usage: tarsctl %s%s%s%s%s\n", cmd->word, cmd->sub ? " " : "",
            cmd->sub ? cmd->sub : "", *cmd->usage ? " " : "", cmd->usage);
}

int
ctl_usage_error(const struct ctl *c, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (c->cmd)
        fprintf(stderr, "tarsctl: %s (see tarsctl %s%s%s --help)\n", msg, c->cmd->word,
                c->cmd->sub ? " " : "", c->cmd->sub ? c->cmd->sub : "");
    else
        fprintf(stderr, "tarsctl: %s (see tarsctl --help)\n", msg);
    return CTL_EXIT_USAGE;
}

/*
 * Whether argv[*i] is the option name, as "name VALUE" or "name=VALUE" (value options) or
 * just "name" (flags). Returns 1 with *val set and *i on the last word used, 0 when it is
 * another word, CTL_EXIT_USAGE when a value is missing or a flag was given one.
 */
static int
match_opt(const struct ctl *c, int argc, char **argv, int *i, const char *name, int takes_value,
          const char **val)
{
    const char *a = argv[*i];
    size_t n = strlen(name);
    if (strncmp(a, name, n) != 0 || (a[n] != '\0' && a[n] != '='))
        return 0;
    if (!takes_value) {
        if (a[n] == '=')
            return ctl_usage_error(c, "%s takes no value", name);
        return 1;
    }
    if (a[n] == '=') {
        *val = a + n + 1;
        return 1;
    }
    if (*i + 1 >= argc)
        return ctl_usage_error(c, "%s needs a value", name);
    *val = argv[++*i];
    return 1;
}

/* A whole number >= 0 in text, for option name. Returns 0 or CTL_EXIT_USAGE after one line. */
static int
parse_uint(const struct ctl *c, const char *name, const char *text, long long *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (text[0] < '0' || text[0] > '9' || *end || errno || v > (unsigned long long)LLONG_MAX)
        return ctl_usage_error(c, "%s needs a whole number, not '%s'", name, text);
    *out = (long long)v;
    return 0;
}

int
ctl_global_opt(struct ctl *c, int argc, char **argv, int *i)
{
    static const struct {
        const char *name;
        size_t off;
    } strs[] = {
        {"--url", offsetof(struct ctl, url)},
        {"--token", offsetof(struct ctl, token)},
        {"--token-file", offsetof(struct ctl, token_file)},
        {"--config", offsetof(struct ctl, config)},
        {"--state", offsetof(struct ctl, state)},
    };
    const char *val = NULL;
    int rc = match_opt(c, argc, argv, i, "--json", 0, &val);
    if (rc == 1)
        c->json = 1;
    if (rc)
        return rc;
    for (size_t k = 0; k < sizeof strs / sizeof strs[0]; k++) {
        if ((rc = match_opt(c, argc, argv, i, strs[k].name, 1, &val)) != 1) {
            if (rc)
                return rc;
            continue;
        }
        if (!*val)
            return ctl_usage_error(c, "%s needs a non-empty value", strs[k].name);
        *(const char **)((char *)c + strs[k].off) = val;
        return 1;
    }
    if ((rc = match_opt(c, argc, argv, i, "--timeout", 1, &val)) != 1)
        return rc;
    long long secs;
    if (parse_uint(c, "--timeout", val, &secs))
        return CTL_EXIT_USAGE;
    if (secs < 1 || secs > 3600)
        return ctl_usage_error(c, "--timeout needs seconds in [1, 3600], not '%s'", val);
    c->timeout_s = (long)secs;
    return 1;
}

/* Stores the value of a command option o. Returns 0 or CTL_EXIT_USAGE after one line. */
static int
store_opt(const struct ctl *c, const struct ctl_opt *o, const char *val)
{
    switch (o->kind) {
    case OPT_FLAG:
        *(int *)o->out = 1;
        return 0;
    case OPT_STR:
        *(const char **)o->out = val;
        return 0;
    case OPT_UINT:
        return parse_uint(c, o->name, val, o->out);
    case OPT_LIST: {
        struct ctl_list *l = o->out;
        if (l->n == CTL_LIST_MAX)
            return ctl_usage_error(c, "more than %d %s options", CTL_LIST_MAX, o->name);
        l->v[l->n++] = val;
        return 0;
    }
    }
    return 0;
}

/* Tries the command's own options on argv[*i]: 1 matched, 0 not one, else an exit code. */
static int
command_opt(const struct ctl *c, const struct ctl_opt *opts, int argc, char **argv, int *i)
{
    for (const struct ctl_opt *o = opts; o && o->name; o++) {
        const char *val = NULL;
        int rc = match_opt(c, argc, argv, i, o->name, o->kind != OPT_FLAG, &val);
        if (rc == 1)
            return store_opt(c, o, val) ? CTL_EXIT_USAGE : 1;
        if (rc)
            return rc;
    }
    return 0;
}

/* The usage starts with the positional words: names the first one missing. */
static int
missing(const struct ctl *c, int got)
{
    const char *u = c->cmd->usage;
    for (int k = 0; k < got && *u; k++) {
        u += strcspn(u, " ");
        u += strspn(u, " ");
    }
    return ctl_usage_error(c, "missing %.*s", (int)strcspn(u, " "), u);
}

int
ctl_parse(struct ctl *c, int argc, char **argv, const struct ctl_opt *opts, const char **pos,
          int npos)
{
    int got;
    return ctl_parse_n(c, argc, argv, opts, pos, npos, npos, &got);
}

int
ctl_parse_n(struct ctl *c, int argc, char **argv, const struct ctl_opt *opts, const char **pos,
            int min, int max, int *n)
{
    int got = 0;
    *n = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            ctl_print_usage(c->cmd, stdout);
            return CTL_HELP_SHOWN;
        }
        int rc = command_opt(c, opts, argc, argv, &i);
        if (rc == 0)
            rc = ctl_global_opt(c, argc, argv, &i);
        if (rc == 1)
            continue;
        if (rc)
            return rc;
        if (a[0] == '-' && a[1] != '\0')
            return ctl_usage_error(c, "unknown option '%s'", a);
        if (got == max)
            return ctl_usage_error(c, "unexpected argument '%s'", a);
        pos[got++] = a;
    }
    if (got < min)
        return missing(c, got);
    *n = got;
    return 0;
}

/*
 * A value as the user means it: true/false, a whole number, a decimal number, or else the
 * text itself (an enum choice). Hex, nan and inf stay text: tarsd then names the type it
 * wanted.
 */
static json_t *
typed_value(const char *text)
{
    if (strcmp(text, "true") == 0 || strcmp(text, "false") == 0)
        return json_boolean(text[0] == 't');
    int numeric =
        (isdigit((unsigned char)text[0]) || text[0] == '-' || text[0] == '+' || text[0] == '.') &&
        !strpbrk(text, "xXnN");
    char *end;
    errno = 0;
    long long i = strtoll(text, &end, 10);
    if (numeric && !*end && !errno)
        return json_integer(i);
    errno = 0;
    double d = strtod(text, &end);
    if (numeric && end != text && !*end && !errno && isfinite(d))
        return json_real(d);
    return json_string(text);
}

int
ctl_settings(const struct ctl *c, const char *what, const char *const *v, int n, json_t **out)
{
    *out = json_object();
    if (!*out) {
        fprintf(stderr, "tarsctl: out of memory\n");
        return CTL_EXIT_FAIL;
    }
    for (int i = 0; i < n; i++) {
        const char *eq = strchr(v[i], '=');
        if (!eq || eq == v[i])
            return ctl_usage_error(c, "%s needs KEY=VALUE, not '%s'", what, v[i]);
        char *key = strndup(v[i], (size_t)(eq - v[i]));
        if (key)
            json_object_set_new(*out, key, typed_value(eq + 1));
        free(key);
    }
    return 0;
}

int
ctl_parse_number(const struct ctl *c, const char *name, const char *text, double *out)
{
    char *end;
    errno = 0;
    double d = strtod(text, &end);
    if (!*text || *end || errno || !isfinite(d) || strpbrk(text, "xX"))
        return ctl_usage_error(c, "%s needs a number, not '%s'", name, text);
    *out = d;
    return 0;
}
