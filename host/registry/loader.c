#include <dlfcn.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "host_side.h"
#include "loader.h"
#include "manifest.h"

#define MAX_LIBRARY_BYTES (512u << 20)

/*
 * Sizes of the structs as ABI 1.0 defined them: the smallest a plugin may hand us. Later
 * minors append fields; these numbers never change within major 1 (the asserts keep the
 * headers honest: a header may grow past them, never shrink below).
 */
#define INFO_SIZE_1_0         120u
#define ENV_OPS_SIZE_1_0      96u
#define AGENT_OPS_SIZE_1_0    96u
#define SOLVER_OPS_SIZE_1_0   64u
#define TUNER_OPS_SIZE_1_0    96u
#define EXPORTER_OPS_SIZE_1_0 80u
_Static_assert(sizeof(tars_plugin_info) >= INFO_SIZE_1_0, "descriptor shrank");
_Static_assert(sizeof(tars_env_ops) >= ENV_OPS_SIZE_1_0, "env ops shrank");
_Static_assert(sizeof(tars_agent_ops) >= AGENT_OPS_SIZE_1_0, "agent ops shrank");
_Static_assert(sizeof(tars_solver_ops) >= SOLVER_OPS_SIZE_1_0, "solver ops shrank");
_Static_assert(sizeof(tars_tuner_ops) >= TUNER_OPS_SIZE_1_0, "tuner ops shrank");
_Static_assert(sizeof(tars_exporter_ops) >= EXPORTER_OPS_SIZE_1_0, "exporter ops shrank");

/* Reserved slots must be zero: a later minor may give them a meaning. */
static int
all_zero(const void *p, size_t len)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < len; i++)
        if (b[i])
            return 0;
    return 1;
}

#define RESERVED_ZERO(obj, field) all_zero((obj)->field, sizeof((obj)->field))

/* One line of valid UTF-8 without control characters. */
static int
one_line_utf8(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        int extra = *p < 0x80             ? 0
                    : (*p & 0xe0) == 0xc0 ? 1
                    : (*p & 0xf0) == 0xe0 ? 2
                    : (*p & 0xf8) == 0xf0 ? 3
                                          : -1;
        if (extra < 0 || (*p < 0x80 && (*p < 0x20 || *p == 0x7f)))
            return 0;
        p++;
        for (int k = 0; k < extra; k++, p++)
            if ((*p & 0xc0) != 0x80)
                return 0;
    }
    return 1;
}

static void
to_hex(const unsigned char *h, char hex[65])
{
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", h[i]);
}

/* Reads a whole regular file. */
static int
slurp(const char *path, unsigned char **data, size_t *len, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return tars__errf(err, errlen, -errno, "cannot open %s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > MAX_LIBRARY_BYTES) {
        close(fd);
        return tars__errf(err, errlen, TARS_EINVAL, "%s is not a regular file of at most %u MiB",
                          path, MAX_LIBRARY_BYTES >> 20);
    }
    unsigned char *buf = malloc(st.st_size ? (size_t)st.st_size : 1);
    if (!buf) {
        close(fd);
        return tars__errf(err, errlen, TARS_ENOMEM, "out of memory reading %s", path);
    }
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int e = n < 0 ? errno : EIO;
            free(buf);
            close(fd);
            return tars__errf(err, errlen, -e, "cannot read %s: %s", path, strerror(e));
        }
        got += (size_t)n;
    }
    close(fd);
    *data = buf;
    *len = got;
    return 0;
}

static int
sodium_ready(void)
{
    return sodium_init() >= 0;
}

int
loader_sha256_file(const char *path, char hex[65], char *err, size_t errlen)
{
    unsigned char *data, h[crypto_hash_sha256_BYTES];
    size_t len;
    if (!sodium_ready())
        return tars__errf(err, errlen, TARS_EIO, "libsodium failed to initialise");
    int rc = slurp(path, &data, &len, err, errlen);
    if (rc)
        return rc;
    crypto_hash_sha256(h, data, len);
    free(data);
    to_hex(h, hex);
    return 0;
}

static int
ensure_cache(struct loader *l, char *err, size_t errlen)
{
    if (l->cache_dir)
        return 0;
    const char *tmp = getenv("TMPDIR");
    char *dir = NULL;
    if (l->cache_root && mkdir(l->cache_root, 0700) != 0 && errno != EEXIST) {
        int e = errno;
        return tars__errf(err, errlen, -e, "cannot create the plugin cache %s: %s", l->cache_root,
                          strerror(e));
    }
    if (asprintf(&dir, "%s/tars-plugins-XXXXXX",
                 l->cache_root ? l->cache_root
                 : tmp && *tmp ? tmp
                               : "/tmp") < 0)
        return tars__errf(err, errlen, TARS_ENOMEM, "out of memory");
    if (!mkdtemp(dir)) {
        int e = errno;
        tars__errf(err, errlen, -e, "cannot create a plugin cache dir %s: %s", dir, strerror(e));
        free(dir);
        return -e;
    }
    l->cache_dir = dir;
    return 0;
}

/* rm -r of one dir, not following links (the cache holds plain files and dirs). */
static int
remove_tree(const char *path)
{
    DIR *d = opendir(path);
    if (!d)
        return unlink(path) == 0 ? 0 : -errno;
    for (struct dirent *e; (e = readdir(d));) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char *sub = NULL;
        if (asprintf(&sub, "%s/%s", path, e->d_name) < 0)
            break;
        if (e->d_type == DT_DIR)
            remove_tree(sub);
        else
            unlink(sub);
        free(sub);
    }
    closedir(d);
    return rmdir(path) == 0 ? 0 : -errno;
}

int
loader_sweep(const struct loader *l)
{
    if (!l->cache_root)
        return 0;
    DIR *d = opendir(l->cache_root);
    if (!d)
        return 0;
    int removed = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char *sub = NULL;
        if (asprintf(&sub, "%s/%s", l->cache_root, e->d_name) < 0)
            break;
        if (!l->cache_dir || strcmp(sub, l->cache_dir) != 0)
            removed += remove_tree(sub) == 0;
        free(sub);
    }
    closedir(d);
    return removed;
}

void
loader_fini(struct loader *l)
{
    if (l->cache_dir) {
        rmdir(l->cache_dir);
        free(l->cache_dir);
        l->cache_dir = NULL;
    }
}

/*
 * Writes data to a new file at path (O_EXCL: a copy that exists may be mapped, and writing into
 * a mapped library crashes the process). Returns 0 or a negative errno (-EEXIST when taken).
 */
static int
write_copy(const char *path, const unsigned char *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0700);
    if (fd < 0)
        return -errno;
    size_t put = 0;
    while (put < len) {
        ssize_t n = write(fd, data + put, len - put);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;
            close(fd);
            unlink(path);
            return -e;
        }
        put += (size_t)n;
    }
    if (close(fd) != 0) {
        int e = errno;
        unlink(path);
        return -e;
    }
    return 0;
}

/*
 * <cache>/<sha256>.so, or <sha256>-N.so when a live generation already maps a copy of the same
 * bytes: each load gets a file of its own, which is removed when it is closed.
 */
static int
place_copy(struct loader *l, const char *sha, const unsigned char *data, size_t len, char **out,
           char *err, size_t errlen)
{
    for (unsigned n = 1; n < 1000; n++) {
        char *copy = NULL;
        int used = n == 1 ? asprintf(&copy, "%s/%s.so", l->cache_dir, sha)
                          : asprintf(&copy, "%s/%s-%u.so", l->cache_dir, sha, n);
        if (used < 0)
            return tars__errf(err, errlen, TARS_ENOMEM, "out of memory");
        int rc = write_copy(copy, data, len);
        if (rc == 0) {
            *out = copy;
            return 0;
        }
        if (rc != -EEXIST) {
            tars__errf(err, errlen, rc, "cannot write %s: %s", copy, strerror(-rc));
            free(copy);
            return rc;
        }
        free(copy);
    }
    return tars__errf(err, errlen, TARS_EIO, "too many copies of %s in %s", sha, l->cache_dir);
}

static int
check_ops(const tars_plugin_info *info, char *err, size_t errlen)
{
    const void *ops = info->ops;
    if (!ops)
        return tars__errf(err, errlen, TARS_ESCHEMA, "descriptor has no ops table");
    uint32_t size = *(const uint32_t *)ops;
    const char *missing = NULL;
    uint32_t need = 0;
    int reserved_ok = 1;
    switch (info->kind) {
    case TARS_KIND_ENV: {
        const tars_env_ops *o = ops;
        need = ENV_OPS_SIZE_1_0;
        reserved_ok = size < need || (!o->reserved0 && RESERVED_ZERO(o, reserved));
        if (size >= need)
            missing = !o->create               ? "create"
                      : !o->destroy            ? "destroy"
                      : !o->spec               ? "spec"
                      : !o->reset              ? "reset"
                      : !o->step               ? "step"
                      : (!o->save != !o->load) ? "save and load (both or neither)"
                                               : NULL;
        break;
    }
    case TARS_KIND_AGENT: {
        const tars_agent_ops *o = ops;
        need = AGENT_OPS_SIZE_1_0;
        reserved_ok = size < need || (!o->reserved0 && RESERVED_ZERO(o, reserved));
        if (size >= need)
            missing = !o->create    ? "create"
                      : !o->destroy ? "destroy"
                      : !o->act     ? "act"
                      : !o->observe ? "observe"
                      : !o->save    ? "save"
                      : !o->load    ? "load"
                                    : NULL;
        break;
    }
    case TARS_KIND_SOLVER: {
        const tars_solver_ops *o = ops;
        need = SOLVER_OPS_SIZE_1_0;
        reserved_ok = size < need || (!o->reserved0 && RESERVED_ZERO(o, reserved));
        if (size >= need)
            missing = !o->create ? "create" : !o->destroy ? "destroy" : !o->solve ? "solve" : NULL;
        break;
    }
    case TARS_KIND_TUNER: {
        const tars_tuner_ops *o = ops;
        need = TUNER_OPS_SIZE_1_0;
        reserved_ok = size < need || (!o->reserved0 && RESERVED_ZERO(o, reserved));
        if (size >= need)
            missing = !o->create               ? "create"
                      : !o->destroy            ? "destroy"
                      : !o->ask                ? "ask"
                      : !o->tell               ? "tell"
                      : !o->report             ? "report"
                      : (!o->save != !o->load) ? "save and load (both or neither)"
                                               : NULL;
        break;
    }
    case TARS_KIND_EXPORTER: {
        const tars_exporter_ops *o = ops;
        need = EXPORTER_OPS_SIZE_1_0;
        reserved_ok = size < need || RESERVED_ZERO(o, reserved);
        if (size >= need)
            missing = !o->create                                           ? "create"
                      : !o->destroy                                        ? "destroy"
                      : !o->content_type                                   ? "content_type"
                      : !o->inputs                                         ? "inputs"
                      : ((o->inputs & TARS_EXPORT_METRICS) && !o->metrics) ? "metrics"
                      : ((o->inputs & TARS_EXPORT_TENSORS) && !o->tensors) ? "tensors"
                                                                           : NULL;
        break;
    }
    }
    if (size < need)
        return tars__errf(err, errlen, TARS_EABI,
                          "%s ops table of %u bytes is smaller than ABI 1.0's %u",
                          tars_kind_name(info->kind), size, need);
    if (!reserved_ok)
        return tars__errf(err, errlen, TARS_EABI,
                          "%s ops table sets reserved fields (built for a newer ABI?)",
                          tars_kind_name(info->kind));
    if (missing)
        return tars__errf(err, errlen, TARS_ESCHEMA, "%s ops table lacks %s",
                          tars_kind_name(info->kind), missing);
    return 0;
}

int
loader_check_info(const tars_plugin_info *info, char *err, size_t errlen)
{
    /* struct_size and the ABI numbers sit first in every ABI major: read them before the rest. */
    if (info->abi_major != TARS_ABI_MAJOR)
        return tars__errf(err, errlen, TARS_EABI,
                          "built for ABI %u.%u; this host loads ABI %u.x only", info->abi_major,
                          info->abi_minor, TARS_ABI_MAJOR);
    if (info->abi_minor > TARS_ABI_MINOR)
        return tars__errf(err, errlen, TARS_EABI,
                          "built for ABI %u.%u, newer than this host's %u.%u; upgrade tars",
                          info->abi_major, info->abi_minor, TARS_ABI_MAJOR, TARS_ABI_MINOR);
    if (info->struct_size < INFO_SIZE_1_0)
        return tars__errf(err, errlen, TARS_EABI,
                          "descriptor of %u bytes is smaller than ABI 1.0's %u", info->struct_size,
                          INFO_SIZE_1_0);
    if (!RESERVED_ZERO(info, reserved))
        return tars__errf(err, errlen, TARS_EABI,
                          "descriptor sets reserved fields (built for a newer ABI?)");
    if (!tars_kind_name(info->kind))
        return tars__errf(err, errlen, TARS_ESCHEMA, "descriptor has unknown kind %u", info->kind);
    if (!manifest_name_ok(info->name))
        return tars__errf(err, errlen, TARS_ESCHEMA, "descriptor name is missing or not [a-z0-9-]");
    if (!info->version || !manifest_semver_ok(info->version))
        return tars__errf(err, errlen, TARS_ESCHEMA,
                          "descriptor version is not a semantic version");
    if (!info->description || !one_line_utf8(info->description))
        return tars__errf(err, errlen, TARS_ESCHEMA,
                          "descriptor description is missing or not one line of UTF-8");
    for (uint32_t i = 0; info->params && i < info->n_params; i++)
        if (info->params[i].help && !one_line_utf8(info->params[i].help))
            return tars__errf(err, errlen, TARS_ESCHEMA,
                              "help of parameter %u is not one line of UTF-8", i);
    char why[256];
    if (tars_params_check_schema(info->params, info->n_params, why, sizeof why))
        return tars__errf(err, errlen, TARS_ESCHEMA, "bad parameter schema: %s", why);
    return check_ops(info, err, errlen);
}

/* Empties lib but for its sha256, which callers report with a refusal. */
static void
keep_sha_only(struct lib *lib)
{
    char sha[65];
    memcpy(sha, lib->sha256, sizeof sha);
    memset(lib, 0, sizeof *lib);
    memcpy(lib->sha256, sha, sizeof sha);
}

/* Unmaps lib and removes its copy; its sha256 stays. Returns 1 when the library stayed mapped. */
static int
release(struct lib *lib)
{
    int resident = 0;
    if (lib->handle) {
        dlclose(lib->handle);
        /* A library that stays mapped (unique symbols, RTLD_NODELETE, another handle on the same
         * file) answers RTLD_NOLOAD; say so rather than pretend it left. */
        void *again = lib->copy ? dlopen(lib->copy, RTLD_NOW | RTLD_NOLOAD) : NULL;
        if (again) {
            resident = 1;
            dlclose(again);
        }
    }
    if (lib->copy) {
        unlink(lib->copy);
        free(lib->copy);
    }
    keep_sha_only(lib);
    return resident;
}

/*
 * The cache under the state dir could not take a copy (a full or read-only disk): tarsd still
 * runs its plugins, from $TMPDIR (what is left under the state dir is swept at the next start).
 */
static int
cache_elsewhere(struct loader *l, struct lib *out, const unsigned char *data, size_t len, char *err,
                size_t errlen)
{
    if (l->cache_dir)
        rmdir(l->cache_dir); /* when it holds nothing mapped */
    free(l->cache_dir);
    l->cache_dir = NULL;
    l->cache_root = NULL;
    int rc = ensure_cache(l, err, errlen);
    return rc ? rc : place_copy(l, out->sha256, data, len, &out->copy, err, errlen);
}

int
loader_stage(struct loader *l, const char *path, const char *pin, struct lib *out, char *err,
             size_t errlen)
{
    unsigned char *data = NULL, h[crypto_hash_sha256_BYTES];
    size_t len = 0;
    int rc;
    memset(out, 0, sizeof *out);
    if (!sodium_ready())
        return tars__errf(err, errlen, TARS_EIO, "libsodium failed to initialise");
    rc = slurp(path, &data, &len, err, errlen);
    if (rc)
        return rc;
    crypto_hash_sha256(h, data, len);
    to_hex(h, out->sha256);
    if (pin && strcmp(pin, out->sha256) != 0)
        rc = tars__errf(err, errlen, TARS_ECORRUPT,
                        "sha256 mismatch: the manifest pins %s but %s has %s", pin, path,
                        out->sha256);
    else if (len < 4 || memcmp(data, "\177ELF", 4) != 0)
        rc = tars__errf(err, errlen, TARS_EINVAL, "%s is not an ELF shared object", path);
    if (!rc)
        rc = ensure_cache(l, err, errlen);
    if (!rc)
        rc = place_copy(l, out->sha256, data, len, &out->copy, err, errlen);
    if (rc && rc != TARS_ECORRUPT && rc != TARS_EINVAL && l->cache_root)
        rc = cache_elsewhere(l, out, data, len, err, errlen);
    free(data);
    return rc;
}

int
loader_map(struct loader *l, const char *path, struct lib *lib, char *err, size_t errlen)
{
    int rc;
    lib->handle = dlopen(lib->copy, RTLD_NOW | RTLD_LOCAL);
    if (!lib->handle) {
        const char *why = dlerror();
        /* A copy that cannot be mapped executable usually sits on a noexec mount. */
        int noexec = why && strstr(why, "failed to map segment");
        rc = tars__errf(err, errlen, TARS_EINVAL, "cannot load %s: %s%s%s", path,
                        why ? why : "dlopen failed",
                        noexec ? "; is this dir on a noexec mount (set TMPDIR)? " : "",
                        noexec ? l->cache_dir : "");
        goto fail;
    }
    tars_plugin_init_fn init;
    *(void **)&init = dlsym(lib->handle, TARS_PLUGIN_ENTRY);
    if (!init) {
        rc = tars__errf(
            err, errlen, TARS_EABI,
            "%s has no entry symbol %s (not a tars plugin, or built without TARS_PLUGIN)", path,
            TARS_PLUGIN_ENTRY);
        goto fail;
    }
    lib->info = init();
    if (!lib->info) {
        rc = tars__errf(err, errlen, TARS_EABI, "%s: %s returned NULL", path, TARS_PLUGIN_ENTRY);
        goto fail;
    }
    rc = loader_check_info(lib->info, err, errlen);
    if (rc)
        goto fail;
    return 0;
fail:
    release(lib);
    return rc;
}

int
loader_open(struct loader *l, const char *path, const char *pin, struct lib *out, char *err,
            size_t errlen)
{
    int rc = loader_stage(l, path, pin, out, err, errlen);
    if (!rc)
        rc = loader_map(l, path, out, err, errlen);
    if (rc)
        release(out);
    return rc;
}

int
loader_close(struct lib *lib)
{
    int resident = release(lib);
    memset(lib, 0, sizeof *lib);
    return resident;
}
