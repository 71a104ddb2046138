/*
 * Default locations (SPEC §5). Where tarsd's own file is says which tree it runs from:
 *   - a build tree (a CMakeCache.txt beside bin/): the build's lib/tars/plugins, the source
 *     checkout's manifests/ and www/, state in ./var; no config file unless one is given;
 *   - installed under /usr (the Debian packages): /etc/tars/tarsd.json when it exists, plugins
 *     from the packaged dir and /usr/local/lib/tars/plugins, manifests from
 *     /usr/share/tars/manifests and /etc/tars/manifests.d, state in /var/lib/tars;
 *   - installed under another prefix P: P/etc/tars/tarsd.json, P/<libdir>/tars/plugins,
 *     P/share/tars/manifests and P/etc/tars/manifests.d, state in ./var.
 * The operator's dirs (/usr/local/..., manifests.d) are added only when they exist: a missing
 * plugin or manifest dir that a config names is an error, one nobody asked for is not.
 */
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "config.h"

#ifndef TARS_SOURCE_DIR
#error "TARS_SOURCE_DIR must name the source checkout"
#endif
#ifndef TARS_PLUGIN_SUBDIR
#error "TARS_PLUGIN_SUBDIR must name the plugin dir under the install prefix"
#endif

enum tree { TREE_BUILD, TREE_USR, TREE_PREFIX };

static int
exists(const char *path)
{
    return access(path, F_OK) == 0;
}

static int
is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The prefix tarsd runs from (realpath of its bin/..) in prefix; which tree it is, or -1. */
static int
where(char *prefix, size_t len)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return -1;
    exe[n] = '\0';
    char up[PATH_MAX + 4];
    snprintf(up, sizeof up, "%s/..", dirname(exe));
    char *real = realpath(up, NULL);
    if (!real)
        return -1;
    snprintf(prefix, len, "%s", real);
    free(real);
    char cache[PATH_MAX + 16];
    snprintf(cache, sizeof cache, "%s/CMakeCache.txt", prefix);
    return exists(cache) ? TREE_BUILD : strcmp(prefix, "/usr") == 0 ? TREE_USR : TREE_PREFIX;
}

static int
push_fmt(struct strv *s, const char *fmt, const char *a)
{
    char *p = NULL;
    if (asprintf(&p, fmt, a) < 0)
        return -1;
    int rc = strv_push(s, p);
    free(p);
    return rc;
}

/* Pushes the operator's dir only when it exists. */
static int
push_site(struct strv *s, const char *fmt, const char *a)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, fmt, a);
    return is_dir(path) ? strv_push(s, path) : 0;
}

const char *
paths_config_file(void)
{
    static char file[PATH_MAX];
    char prefix[PATH_MAX];
    int tree = where(prefix, sizeof prefix);
    if (tree == TREE_USR)
        snprintf(file, sizeof file, "/etc/tars/tarsd.json");
    else if (tree == TREE_PREFIX)
        snprintf(file, sizeof file, "%.4000s/etc/tars/tarsd.json", prefix);
    else
        return NULL;
    return exists(file) ? file : NULL;
}

int
paths_defaults(struct config *c)
{
    if (c->plugin_dirs.n && c->manifest_dirs.n && c->state_dir && c->www_dir)
        return 0; /* everything given: where tarsd lives does not matter */
    char prefix[PATH_MAX];
    int tree = where(prefix, sizeof prefix);
    if (tree < 0)
        return -1;
    /* the operator's config dir: /etc/tars for /usr, P/etc/tars otherwise */
    const char *etc = tree == TREE_USR ? "" : prefix;
    int rc = 0;
    if (!c->plugin_dirs.n && tree == TREE_BUILD)
        rc |= push_fmt(&c->plugin_dirs, "%s/lib/tars/plugins", prefix);
    else if (!c->plugin_dirs.n) {
        rc |= push_fmt(&c->plugin_dirs, "%s/" TARS_PLUGIN_SUBDIR, prefix);
        if (tree == TREE_USR)
            rc |= push_site(&c->plugin_dirs, "%s/local/lib/tars/plugins", prefix);
    }
    if (!c->manifest_dirs.n && tree == TREE_BUILD)
        rc |= push_fmt(&c->manifest_dirs, "%s/manifests", TARS_SOURCE_DIR);
    else if (!c->manifest_dirs.n) {
        rc |= push_fmt(&c->manifest_dirs, "%s/share/tars/manifests", prefix);
        rc |= push_site(&c->manifest_dirs, "%s/etc/tars/manifests.d", etc);
    }
    if (!c->state_dir)
        c->state_dir = strdup(tree == TREE_USR ? "/var/lib/tars" : "./var");
    if (!c->www_dir && tree == TREE_BUILD)
        c->www_dir = strdup(TARS_SOURCE_DIR "/www");
    else if (!c->www_dir && asprintf(&c->www_dir, "%s/share/tars/www", prefix) < 0)
        c->www_dir = NULL;
    return rc || !c->state_dir || !c->www_dir ? -1 : 0;
}
