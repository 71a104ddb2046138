/*
 * The watch of the plugin and manifest dirs (codeswap.h): a libuv fs event per dir on the
 * control loop. A change is looked at once its file has been quiet for WATCH_DEBOUNCE_MS (cp
 * and make install write in several chunks); a build caught half-written is refused and the
 * next event of the same copy retries it. Only files of loaded plugins count: their library
 * (a reload) and their manifest (a reload with the manifest read again). New manifests and
 * refused plugins wait for SIGHUP or POST /api/v1/plugins/{name}/reload.
 *
 * Threads: the control thread (the loop's callbacks).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "codeswap_internal.h"
#include "host.h"
#include "log.h"

struct watch_dir {
    uv_fs_event_t ev;
    struct watch *w;
    char *dir;
    int manifests; /* a manifest dir (else a plugin dir) */
};

struct watch {
    struct host *h;
    struct watch_dir *dirs;
    size_t n_dirs;
    uv_timer_t debounce;
    struct strv pending; /* "m:PATH" or "p:PATH", each once */
};

/* Submits the reload a changed file asks for, if it belongs to a loaded plugin. */
static void
look_at(struct watch *w, const char *entry)
{
    struct host *h = w->h;
    int manifest = entry[0] == 'm';
    const char *path = entry + 2;
    char name[128] = "";
    pthread_rwlock_rdlock(&h->reg_lock);
    for (size_t i = 0; i < h->reg.n && !*name; i++) {
        const struct plugin *p = h->reg.v[i];
        const char *own = manifest ? p->manifest_path : p->lib_path;
        if (p->info && own && strcmp(own, path) == 0)
            snprintf(name, sizeof name, "%s", p->info->name);
    }
    pthread_rwlock_unlock(&h->reg_lock);
    if (!*name)
        return;
    hlog(LOG_DEBUG, "reload", "%s changed: reloading plugin '%s'", path, name);
    codeswap_submit(h, name, manifest ? "manifest" : "watcher", path);
}

static void
on_quiet(uv_timer_t *t)
{
    struct watch *w = t->data;
    struct strv pending = w->pending;
    memset(&w->pending, 0, sizeof w->pending);
    for (size_t i = 0; i < pending.n; i++)
        look_at(w, pending.v[i]);
    strv_free(&pending);
}

static void
on_change(uv_fs_event_t *ev, const char *filename, int events, int status)
{
    struct watch_dir *d = ev->data;
    struct watch *w = d->w;
    (void)events;
    if (status < 0 || !filename || filename[0] == '.')
        return;
    size_t n = strlen(filename);
    if (d->manifests && (n < 6 || strcmp(filename + n - 5, ".json") != 0))
        return;
    char entry[4200];
    snprintf(entry, sizeof entry, "%c:%s/%s", d->manifests ? 'm' : 'p', d->dir, filename);
    int known = 0;
    for (size_t i = 0; i < w->pending.n && !known; i++)
        known = strcmp(w->pending.v[i], entry) == 0;
    if (!known && strv_push(&w->pending, entry))
        return;
    /* Restarted by each change: it fires once the files have been quiet for a while. */
    uv_timer_start(&w->debounce, on_quiet, WATCH_DEBOUNCE_MS, 0);
}

static int
add_dir(struct watch *w, const char *dir, int manifests)
{
    struct watch_dir *d = &w->dirs[w->n_dirs];
    d->w = w;
    d->manifests = manifests;
    if (!(d->dir = strdup(dir)))
        return -1;
    uv_fs_event_init(&w->h->loop, &d->ev);
    d->ev.data = d;
    w->n_dirs++; /* its handle is the loop's now: close_loop closes it */
    int rc = uv_fs_event_start(&d->ev, on_change, dir, 0);
    if (rc)
        hlog(LOG_WARN, "reload", "cannot watch %s: %s", dir, uv_strerror(rc));
    return rc ? -1 : 0;
}

int
watch_start(struct host *h, struct watch **out)
{
    const struct strv *md = &h->reg.manifest_dirs, *pd = &h->reg.plugin_dirs;
    struct watch *w = calloc(1, sizeof *w);
    *out = w;
    if (!w || !(w->dirs = calloc(md->n + pd->n + 1, sizeof *w->dirs)))
        return -1;
    w->h = h;
    uv_timer_init(&h->loop, &w->debounce);
    w->debounce.data = w;
    int failed = 0;
    for (size_t i = 0; i < md->n; i++)
        failed |= add_dir(w, md->v[i], 1);
    for (size_t i = 0; i < pd->n; i++)
        failed |= add_dir(w, pd->v[i], 0);
    return failed ? -1 : 0;
}

void
watch_free(struct watch *w)
{
    if (!w)
        return;
    for (size_t i = 0; i < w->n_dirs; i++)
        free(w->dirs[i].dir);
    free(w->dirs);
    strv_free(&w->pending);
    free(w);
}
