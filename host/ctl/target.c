/*
 * Where tarsd is and which token to send. Explicit options win, then the environment, then
 * tarsd's own config: read with the same loader and flags as tarsd (host_configure), so
 * `tarsctl --config F` finds the daemon that `tarsd serve --config F` started, and on the
 * same machine its first-start admin token in <state_dir>/admin.token.
 *
 * A token never appears in a message: they name where it came from instead.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "ctl.h"
#include "host.h"

#define TOKEN_FILE_MAX 4096

/* Loads the config once. Returns 0 or CTL_EXIT_FAIL after one line. */
static int
load_conf(struct ctl *c)
{
    if (c->conf_loaded)
        return 0;
    struct config_flags o = {.config = c->config, .state = c->state};
    struct host h;
    struct diag d = {0};
    int rc = host_configure(&h, &o, &d);
    if (rc == 0) {
        c->conf_listen = strdup(h.cfg.listen);
        c->conf_state = strdup(h.cfg.state_dir);
        c->conf_tls = h.cfg.tls_cert != NULL;
        if (!c->conf_listen || !c->conf_state) {
            rc = -1;
            diag_add(&d, "out of memory");
        }
    }
    if (rc)
        fprintf(stderr, "tarsctl: %s\n", d.n ? d.lines[0] : "cannot load tarsd's config");
    host_teardown(&h);
    diag_free(&d);
    c->conf_loaded = rc == 0;
    return rc ? CTL_EXIT_FAIL : 0;
}

/* An http:// or https:// base URL, without trailing slashes. */
static int
set_base(struct ctl *c, const char *url, const char *from)
{
    if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) {
        fprintf(stderr, "tarsctl: %s needs an http:// or https:// URL, not '%s'\n", from, url);
        return CTL_EXIT_USAGE;
    }
    size_t n = strlen(url);
    while (n > 0 && url[n - 1] == '/')
        n--;
    c->base = strndup(url, n);
    return c->base ? 0 : CTL_EXIT_FAIL;
}

/*
 * The URL of the config's listen address (HOST:PORT or [V6]:PORT). A wildcard address is
 * reached through loopback; port 0 (picked at start) cannot be known from here.
 */
static int
url_from_listen(struct ctl *c)
{
    const char *l = c->conf_listen;
    const char *colon = strrchr(l, ':');
    if (!colon || colon == l || !colon[1] || strspn(colon + 1, "0123456789") != strlen(colon + 1)) {
        fprintf(stderr, "tarsctl: the config's listen address '%s' is not HOST:PORT; give --url\n",
                l);
        return CTL_EXIT_FAIL;
    }
    if (atoi(colon + 1) == 0) {
        fprintf(stderr,
                "tarsctl: the config listens on '%s', a port chosen at start: give --url or "
                "$TARS_URL\n",
                l);
        return CTL_EXIT_FAIL;
    }
    int hlen = (int)(colon - l);
    const char *host = l;
    if ((hlen == 7 && strncmp(l, "0.0.0.0", 7) == 0) || (hlen == 4 && strncmp(l, "[::]", 4) == 0)) {
        host = l[0] == '[' ? "[::1]" : "127.0.0.1";
        hlen = (int)strlen(host);
    }
    if (asprintf(&c->base, "%s://%.*s:%s", c->conf_tls ? "https" : "http", hlen, host, colon + 1) <
        0) {
        c->base = NULL;
        return CTL_EXIT_FAIL;
    }
    return 0;
}

int
ctl_url(struct ctl *c)
{
    if (c->base)
        return 0;
    if (c->url)
        return set_base(c, c->url, "--url");
    const char *env = getenv("TARS_URL");
    if (env && *env)
        return set_base(c, env, "$TARS_URL");
    int rc = load_conf(c);
    return rc ? rc : url_from_listen(c);
}

/*
 * Reads a token from path into c->bearer: one word, surrounding blanks dropped. Returns 0,
 * or -1 with the reason in why.
 */
static int
read_token(struct ctl *c, const char *path, char *why, size_t whylen)
{
    char buf[TOKEN_FILE_MAX + 1];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(why, whylen, "%s", strerror(errno));
        return -1;
    }
    ssize_t n = read(fd, buf, TOKEN_FILE_MAX);
    int err = errno;
    close(fd);
    if (n < 0) {
        snprintf(why, whylen, "%s", strerror(err));
        return -1;
    }
    buf[n] = '\0';
    char *s = buf + strspn(buf, " \t\r\n");
    size_t len = strcspn(s, " \t\r\n");
    if (len == 0)
        snprintf(why, whylen, "it is empty");
    else if (s[len + strspn(s + len, " \t\r\n")] != '\0')
        snprintf(why, whylen, "it holds more than one word");
    else if (!(c->bearer = strndup(s, len)))
        snprintf(why, whylen, "out of memory");
    /* The file's text is a secret: leave no copy on the stack. */
    explicit_bzero(buf, sizeof buf);
    return c->bearer ? 0 : -1;
}

/* The first-start admin token in the state dir of the config. */
static int
admin_token(struct ctl *c)
{
    int rc = load_conf(c);
    if (rc)
        return rc;
    char why[256];
    if (asprintf(&c->token_from, "%s/admin.token", c->conf_state) < 0) {
        c->token_from = NULL;
        return CTL_EXIT_FAIL;
    }
    if (read_token(c, c->token_from, why, sizeof why) == 0)
        return 0;
    /* Who may read it: its owner and (admin_token_group) its group, _tars when packaged; the
     * state dir (0750) is what an outsider cannot even look into, so its group is asked. */
    char hint[128] = "";
    struct stat st;
    struct group *g;
    if (access(c->token_from, R_OK) != 0 && errno == EACCES &&
        (stat(c->token_from, &st) == 0 || stat(c->conf_state, &st) == 0) &&
        (st.st_mode & (S_IRGRP | S_IXGRP)) && (g = getgrgid(st.st_gid)))
        snprintf(hint, sizeof hint, " (run tarsctl as root or as a member of group %s)",
                 g->gr_name);
    fprintf(stderr,
            "tarsctl: no token: no --token, --token-file or $TARS_TOKEN, and cannot read the admin "
            "token %s: %s%s\n",
            c->token_from, why, hint);
    return CTL_EXIT_FAIL;
}

int
ctl_token(struct ctl *c)
{
    if (c->bearer)
        return 0;
    if (c->token && c->token_file) {
        fprintf(stderr, "tarsctl: give --token or --token-file, not both\n");
        return CTL_EXIT_USAGE;
    }
    const char *env = getenv("TARS_TOKEN");
    char why[256];
    if (c->token) {
        c->bearer = strdup(c->token);
        c->token_from = strdup("--token");
    } else if (c->token_file) {
        c->token_from = strdup(c->token_file);
        if (c->token_from && read_token(c, c->token_file, why, sizeof why)) {
            fprintf(stderr, "tarsctl: cannot read the token file %s: %s\n", c->token_file, why);
            return CTL_EXIT_FAIL;
        }
    } else if (env && *env) {
        c->bearer = strdup(env);
        c->token_from = strdup("$TARS_TOKEN");
    } else {
        return admin_token(c);
    }
    if (!c->bearer || !c->token_from) {
        fprintf(stderr, "tarsctl: out of memory\n");
        return CTL_EXIT_FAIL;
    }
    return 0;
}

void
ctl_free(struct ctl *c)
{
    if (c->bearer)
        explicit_bzero(c->bearer, strlen(c->bearer));
    free(c->bearer);
    free(c->token_from);
    free(c->base);
    free(c->conf_listen);
    free(c->conf_state);
    c->bearer = c->token_from = c->base = c->conf_listen = c->conf_state = NULL;
}
