/*
 * The registry's entries made: registry_scan reads the manifest dirs and loads what each
 * manifest declares (the library found in the plugin dirs, staged, held to the quarantine and
 * the smoke test, mapped, checked against its manifest); the generations a code swap builds
 * beside a loaded entry go through the same staging, mapping and checks, then take its slot.
 * What only reads the entries (look-ups, listings, parameter snapshots) is registry_lookup.c.
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "clock.h"
#include "fault.h"
#include "host_side.h"
#include "params_json.h"
#include "quarantine.h"
#include "registry.h"

int
registry_init(struct registry *r, const struct strv *manifest_dirs, const struct strv *plugin_dirs,
              int require_pins)
{
    memset(r, 0, sizeof *r);
    r->require_pins = require_pins;
    for (size_t i = 0; i < manifest_dirs->n; i++)
        if (strv_push(&r->manifest_dirs, manifest_dirs->v[i]))
            return -ENOMEM;
    for (size_t i = 0; i < plugin_dirs->n; i++)
        if (strv_push(&r->plugin_dirs, plugin_dirs->v[i]))
            return -ENOMEM;
    return 0;
}

static int
is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int
known_manifest(const struct registry *r, const char *path)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->v[i]->manifest_path, path) == 0)
            return 1;
    return 0;
}

/* The file name in path (a pointer into it), or NULL. */
static const char *
file_name(const char *path)
{
    const char *slash = path ? strrchr(path, '/') : NULL;
    return slash ? slash + 1 : path;
}

static char *
find_library(const struct registry *r, const char *file)
{
    for (size_t i = 0; i < r->plugin_dirs.n; i++) {
        char *path = NULL;
        if (asprintf(&path, "%s/%s", r->plugin_dirs.v[i], file) < 0)
            return NULL;
        if (access(path, F_OK) == 0)
            return path;
        free(path);
    }
    return NULL;
}

static const struct plugin *
find_loaded(const struct registry *r, const char *name)
{
    for (size_t i = 0; i < r->n; i++)
        if (r->v[i]->info && strcmp(r->v[i]->info->name, name) == 0)
            return r->v[i];
    return NULL;
}

/* Records a refusal: the message goes to d and stays on the plugin for listings. */
static int
refuse(struct plugin *p, struct diag *d, const char *ptr, int at_key, const char *msg)
{
    jdoc_error(&p->m.doc, d, ptr, at_key, "%s", msg);
    free(p->error);
    p->error = strdup(msg);
    return 1;
}

/* A refusal from the loader: d says whose, the plugin keeps just the reason. */
static int
refuse_load(struct plugin *p, struct diag *d, const char *ptr, const char *why)
{
    jdoc_error(&p->m.doc, d, ptr, 0, "plugin '%s' refused: %s", p->m.name, why);
    free(p->error);
    p->error = strdup(why);
    return 1;
}

/* The manifest and the library (info) must agree, and the defaults must fit the schema. */
static int
cross_check(struct plugin *p, const tars_plugin_info *info, struct diag *d)
{
    char msg[512];
    if (info->kind != p->m.kind) {
        snprintf(msg, sizeof msg, "manifest says kind '%s' but %s is a '%s' plugin",
                 tars_kind_name(p->m.kind), p->m.library, tars_kind_name(info->kind));
        return refuse(p, d, "/kind", 0, msg);
    }
    if (strcmp(info->name, p->m.name) != 0) {
        snprintf(msg, sizeof msg, "manifest says name '%s' but %s is named '%s'", p->m.name,
                 p->m.library, info->name);
        return refuse(p, d, "/name", 0, msg);
    }
    if (info->abi_major != p->m.abi_major || info->abi_minor != p->m.abi_minor) {
        snprintf(msg, sizeof msg, "manifest says ABI %u.%u but %s was built for %u.%u",
                 p->m.abi_major, p->m.abi_minor, p->m.library, info->abi_major, info->abi_minor);
        return refuse(p, d, "/abi", 0, msg);
    }
    if (p->m.defaults) {
        tars_params *scratch;
        if (tars_params_new(info->params, info->n_params, &scratch))
            return refuse(p, d, "", 0, "out of memory");
        size_t before = d->n;
        int errors = pjson_apply(scratch, p->m.defaults, PJ_DEFAULTS, &p->m.doc, "/defaults", d);
        tars_params_free(scratch);
        if (errors) {
            free(p->error);
            p->error = strdup(d->lines[before]);
            return errors;
        }
    }
    if (strcmp(info->version, p->m.version) != 0) {
        snprintf(msg, sizeof msg, "library version %s differs from the manifest's %s",
                 info->version, p->m.version);
        p->warning = strdup(msg);
    }
    return 0;
}

/*
 * Before a staged build is mapped: one that crashed tarsd in its constructors stays unmapped;
 * one that crashed in an op is mapped but marked (its agents are shown, failed, and none
 * runs); any other passes the registry's vet (the smoke test) first. 0: map it.
 */
static int
guard_build(struct registry *r, struct plugin *p, char *why, size_t len)
{
    struct quarantine q;
    if (r->state_dir && quarantine_get(r->state_dir, p->lib.sha256, &q) == 0) {
        if (strcmp(q.op, "load") == 0) {
            snprintf(why, len, "quarantined: %s", q.reason);
            return -EPERM;
        }
        p->quarantined = strdup(q.reason);
        return p->quarantined ? 0 : -ENOMEM;
    }
    if (r->vet && r->vet(r->vet_arg, p, why, len) != 0)
        return -EPERM;
    return 0;
}

static int
load_plugin(struct registry *r, struct plugin *p, struct diag *d)
{
    char msg[1024];
    const struct plugin *twin = find_loaded(r, p->m.name);
    if (twin) {
        snprintf(msg, sizeof msg, "plugin '%s' is already declared in %s", p->m.name,
                 twin->manifest_path);
        return refuse(p, d, "/name", 0, msg);
    }
    if (p->m.abi_major != TARS_ABI_MAJOR) {
        snprintf(msg, sizeof msg, "manifest declares ABI %u.%u; this host loads ABI %u.x only",
                 p->m.abi_major, p->m.abi_minor, TARS_ABI_MAJOR);
        return refuse(p, d, "/abi", 0, msg);
    }
    if (r->require_pins && !p->m.sha256)
        return refuse(p, d, "", 0, "no sha256 pin, and the config sets require_pins");
    p->lib_path = find_library(r, p->m.library);
    p->lib_file = file_name(p->lib_path);
    if (!p->lib_path) {
        size_t used = (size_t)snprintf(msg, sizeof msg,
                                       "library '%s' not found in the plugin dirs (", p->m.library);
        for (size_t i = 0; i < r->plugin_dirs.n && used < sizeof msg; i++)
            used += (size_t)snprintf(msg + used, sizeof msg - used, "%s%s", i ? ", " : "",
                                     r->plugin_dirs.v[i]);
        if (used < sizeof msg)
            snprintf(msg + used, sizeof msg - used, ")");
        return refuse(p, d, "/library", 0, msg);
    }
    char why[768];
    int rc = loader_stage(&r->loader, p->lib_path, p->m.sha256, &p->lib, why, sizeof why);
    if (rc)
        return refuse_load(p, d, rc == TARS_ECORRUPT ? "/sha256" : "/library", why);
    if ((rc = guard_build(r, p, why, sizeof why)) != 0) {
        loader_close(&p->lib);
        return refuse_load(p, d, "/library", why);
    }
    /* Its constructors run here: a crash names the build (fault.h). */
    fault_op(p->lib_file, p->lib.sha256, "load");
    rc = loader_map(&r->loader, p->lib_path, &p->lib, why, sizeof why);
    fault_leave();
    if (rc)
        return refuse_load(p, d, "/library", why);
    int errors = cross_check(p, p->lib.info, d);
    if (errors) {
        loader_close(&p->lib);
        return errors;
    }
    p->info = p->lib.info;
    p->generation = 1;
    p->loaded_at = host_wall();
    return 0;
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The *.json files of dir, sorted. */
static int
list_json(const char *dir, struct strv *out)
{
    DIR *dh = opendir(dir);
    if (!dh)
        return -errno;
    struct dirent *e;
    while ((e = readdir(dh))) {
        size_t n = strlen(e->d_name);
        if (n > 5 && e->d_name[0] != '.' && strcmp(e->d_name + n - 5, ".json") == 0) {
            char *path = NULL;
            if (asprintf(&path, "%s/%s", dir, e->d_name) < 0 || strv_push(out, path)) {
                free(path);
                closedir(dh);
                return -ENOMEM;
            }
            free(path);
        }
    }
    closedir(dh);
    qsort(out->v, out->n, sizeof *out->v, cmp_str);
    return 0;
}

static int
add_manifest(struct registry *r, const char *path, struct diag *d)
{
    struct plugin *p = calloc(1, sizeof *p);
    struct plugin **v = realloc(r->v, (r->n + 1) * sizeof *v);
    if (!p || !v) {
        free(p);
        if (v)
            r->v = v;
        diag_at(d, path, 0, 0, "out of memory");
        return 1;
    }
    r->v = v;
    p->manifest_path = strdup(path);
    size_t before = d->n;
    int errors;
    if (manifest_load(&p->m, path, d)) {
        /* Kept (without a name) so that a rescan does not report it again and again. */
        p->error = strdup(d->n > before ? d->lines[before] : "invalid manifest");
        errors = (int)(d->n - before);
    } else {
        errors = load_plugin(r, p, d);
    }
    r->v[r->n++] = p;
    return errors;
}

int
registry_check_dirs(const struct registry *r, struct diag *d)
{
    int errors = 0;
    for (size_t i = 0; i < r->plugin_dirs.n; i++) {
        if (!is_dir(r->plugin_dirs.v[i])) {
            diag_add(d, "plugin dir '%s' does not exist", r->plugin_dirs.v[i]);
            errors++;
        }
    }
    for (size_t i = 0; i < r->manifest_dirs.n; i++) {
        if (!is_dir(r->manifest_dirs.v[i])) {
            diag_add(d, "manifest dir '%s' does not exist", r->manifest_dirs.v[i]);
            errors++;
        }
    }
    return errors;
}

int
plugin_free(struct plugin *p)
{
    if (!p)
        return 0;
    int resident = loader_close(&p->lib);
    manifest_free(&p->m);
    free(p->manifest_path);
    free(p->lib_path);
    free(p->error);
    free(p->warning);
    free(p->quarantined);
    free(p);
    return resident;
}

/*
 * Refused entries are dropped so that a rescan tries them again (the library may have been
 * copied in, the manifest fixed). Nothing points at them: only loaded plugins are handed out.
 */
static void
drop_refused(struct registry *r)
{
    size_t kept = 0;
    for (size_t i = 0; i < r->n; i++) {
        if (r->v[i]->info)
            r->v[kept++] = r->v[i];
        else
            plugin_free(r->v[i]);
    }
    r->n = kept;
}

int
registry_scan(struct registry *r, struct diag *d)
{
    int errors = 0;
    drop_refused(r);
    for (size_t i = 0; i < r->manifest_dirs.n; i++) {
        const char *dir = r->manifest_dirs.v[i];
        struct strv files = {0};
        int rc = list_json(dir, &files);
        if (rc && rc != -ENOENT) {
            diag_add(d, "manifest dir '%s': %s", dir, strerror(-rc));
            errors++;
        }
        for (size_t k = 0; k < files.n; k++)
            if (!known_manifest(r, files.v[k]))
                errors += add_manifest(r, files.v[k], d);
        strv_free(&files);
    }
    return errors;
}

void
registry_free(struct registry *r)
{
    for (size_t i = 0; i < r->n; i++)
        plugin_free(r->v[i]);
    free(r->v);
    for (size_t i = 0; i < r->n_retired; i++)
        plugin_free(r->retired[i]);
    free(r->retired);
    loader_fini(&r->loader);
    strv_free(&r->manifest_dirs);
    strv_free(&r->plugin_dirs);
    memset(r, 0, sizeof *r);
}

/* --- generations (code swaps, host/reload/codeswap.h) */

static int stage_fail(struct plugin *p, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
stage_fail(struct plugin *p, char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    plugin_free(p);
    return -EINVAL;
}

/* The manifest read again must still declare cur: same name and kind, a loadable ABI. */
static int
same_plugin(const struct registry *r, const struct plugin *p, const struct plugin *cur, char *err,
            size_t errlen)
{
    const struct manifest *m = &p->m;
    if (strcmp(m->name, cur->info->name) != 0)
        return snprintf(err, errlen, "%s now names plugin '%s': a loaded plugin keeps its name",
                        p->manifest_path, m->name),
               -EINVAL;
    if (m->kind != cur->info->kind)
        return snprintf(err, errlen, "%s now says kind '%s'; '%s' is a loaded %s plugin",
                        p->manifest_path, tars_kind_name(m->kind), m->name,
                        tars_kind_name(cur->info->kind)),
               -EINVAL;
    if (m->abi_major != TARS_ABI_MAJOR)
        return snprintf(err, errlen, "%s declares ABI %u.%u; this host loads ABI %u.x only",
                        p->manifest_path, m->abi_major, m->abi_minor, TARS_ABI_MAJOR),
               -EINVAL;
    if (r->require_pins && !m->sha256)
        return snprintf(err, errlen, "%s has no sha256 pin, and the config sets require_pins",
                        p->manifest_path),
               -EPERM;
    return 0;
}

int
registry_stage(struct registry *r, const struct plugin *cur, struct plugin **out, char *err,
               size_t errlen)
{
    struct diag d = {0};
    char why[768];
    *out = NULL;
    struct plugin *p = calloc(1, sizeof *p);
    if (!p || !(p->manifest_path = strdup(cur->manifest_path)))
        return stage_fail(p, err, errlen, "out of memory");
    if (manifest_load(&p->m, p->manifest_path, &d)) {
        snprintf(why, sizeof why, "%s", d.n ? d.lines[0] : "invalid manifest");
        diag_free(&d);
        return stage_fail(p, err, errlen, "%s", why);
    }
    if (same_plugin(r, p, cur, why, sizeof why))
        return stage_fail(p, err, errlen, "%s", why);
    p->lib_path = find_library(r, p->m.library);
    p->lib_file = file_name(p->lib_path);
    if (!p->lib_path)
        return stage_fail(p, err, errlen, "library '%s' (named by %s) is not in the plugin dirs",
                          p->m.library, p->manifest_path);
    int rc = loader_stage(&r->loader, p->lib_path, p->m.sha256, &p->lib, why, sizeof why);
    if (rc) {
        /* The hash is worth keeping: callers remember refused builds by it. */
        *out = p;
        p->error = strdup(why);
        snprintf(err, errlen, "%s", why);
        return rc < 0 ? rc : -EINVAL;
    }
    *out = p;
    struct quarantine q;
    if (r->state_dir && strcmp(p->lib.sha256, cur->lib.sha256) != 0 &&
        quarantine_get(r->state_dir, p->lib.sha256, &q) == 0) {
        snprintf(err, errlen, "this build is quarantined: %s", q.reason);
        p->error = strdup(err);
        return -EBUSY;
    }
    return 0;
}

int
registry_map(struct registry *r, struct plugin *p, const struct plugin *cur, char *err,
             size_t errlen)
{
    struct diag d = {0};
    int rc = loader_map(&r->loader, p->lib_path, &p->lib, err, errlen);
    if (rc)
        return rc < 0 ? rc : -EINVAL;
    const tars_plugin_info *info = p->lib.info;
    int bad = info->kind != cur->info->kind || strcmp(info->name, cur->info->name) != 0;
    if (bad)
        snprintf(err, errlen, "%s is %s '%s', not %s '%s'", p->lib_path, tars_kind_name(info->kind),
                 info->name, tars_kind_name(cur->info->kind), cur->info->name);
    else if (cross_check(p, info, &d))
        snprintf(err, errlen, "%s", p->error ? p->error : "the manifest and library disagree");
    diag_free(&d);
    if (bad || p->error) {
        loader_close(&p->lib);
        return -EINVAL;
    }
    p->info = info;
    p->generation = cur->generation + 1;
    p->loaded_at = host_wall();
    return 0;
}

int
registry_check_manifest(struct plugin *p, const struct plugin *cur, char *err, size_t errlen)
{
    struct diag d = {0};
    int bad = cross_check(p, cur->info, &d) != 0;
    if (bad)
        snprintf(err, errlen, "%s", p->error ? p->error : "the manifest and library disagree");
    diag_free(&d);
    return bad ? -EINVAL : 0;
}

void
registry_swap_manifest(struct plugin *cur, struct plugin *p)
{
    struct manifest m = cur->m;
    char *warning = cur->warning;
    cur->m = p->m;
    cur->warning = p->warning;
    p->m = m;
    p->warning = warning;
}

static size_t
slot_of(const struct registry *r, const struct plugin *p)
{
    for (size_t i = 0; i < r->n; i++)
        if (r->v[i] == p)
            return i;
    return (size_t)-1;
}

int
registry_supersede(struct registry *r, struct plugin *cur, struct plugin *next)
{
    size_t at = slot_of(r, cur);
    struct plugin **v = realloc(r->retired, (r->n_retired + 1) * sizeof *v);
    if (!v || at == (size_t)-1) {
        if (v)
            r->retired = v;
        return v ? -ENOENT : -ENOMEM;
    }
    r->retired = v;
    r->retired[r->n_retired++] = cur;
    r->v[at] = next;
    return 0;
}

int
registry_unretire(struct registry *r, struct plugin *p)
{
    for (size_t i = 0; i < r->n_retired; i++) {
        if (r->retired[i] == p) {
            r->retired[i] = r->retired[--r->n_retired];
            return 0;
        }
    }
    return -ENOENT;
}

int
registry_rollback(struct registry *r, struct plugin *next, struct plugin *cur)
{
    size_t at = slot_of(r, next);
    if (at == (size_t)-1 || registry_unretire(r, cur))
        return -ENOENT;
    r->v[at] = cur;
    return 0;
}
