/*
 * Default locations. The build tree mirrors the install layout, so the plugin dir is always
 * <bin>/../lib/tars/plugins. Manifests and state depend on where tarsd runs from: in a build
 * tree (a CMakeCache.txt beside bin/) the source checkout's manifests/ and ./var; installed
 * under /usr, /etc/tars/manifests and /var/lib/tars; under another prefix, its etc/ and ./var.
 */
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "config.h"

#ifndef TARS_SOURCE_DIR
#error "TARS_SOURCE_DIR must name the source checkout"
#endif

static int
exists(const char *path)
{
    return access(path, F_OK) == 0;
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

int
paths_defaults(struct config *c)
{
    if (c->plugin_dirs.n && c->manifest_dirs.n && c->state_dir && c->www_dir)
        return 0; /* everything given: where tarsd lives does not matter */
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return -1;
    exe[n] = '\0';
    char *bin = dirname(exe);
    char prefix[PATH_MAX];
    snprintf(prefix, sizeof prefix, "%s/..", bin);
    char *real = realpath(prefix, NULL);
    if (!real)
        return -1;
    char cache[PATH_MAX];
    snprintf(cache, sizeof cache, "%s/CMakeCache.txt", real);
    int build_tree = exists(cache);
    int usr = strcmp(real, "/usr") == 0;
    int rc = 0;
    if (!c->plugin_dirs.n)
        rc |= push_fmt(&c->plugin_dirs, "%s/lib/tars/plugins", real);
    if (!c->manifest_dirs.n) {
        if (build_tree)
            rc |= push_fmt(&c->manifest_dirs, "%s/manifests", TARS_SOURCE_DIR);
        else if (usr)
            rc |= strv_push(&c->manifest_dirs, "/etc/tars/manifests");
        else
            rc |= push_fmt(&c->manifest_dirs, "%s/etc/tars/manifests", real);
    }
    if (!c->state_dir)
        c->state_dir = strdup(usr && !build_tree ? "/var/lib/tars" : "./var");
    if (!c->www_dir && build_tree)
        c->www_dir = strdup(TARS_SOURCE_DIR "/www");
    else if (!c->www_dir && asprintf(&c->www_dir, "%s/share/tars/www", real) < 0)
        c->www_dir = NULL;
    free(real);
    return rc || !c->state_dir || !c->www_dir ? -1 : 0;
}
