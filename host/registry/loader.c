/*
 * The loader's first half: staging. A plugin file is read once into memory, hashed, held to
 * the manifest's pin, the ELF magic and the libtars-sdk it needs, and written to a copy of its
 * own in the private cache dir, which this file also creates, sweeps and, when the state dir's
 * disk takes no copy, moves to $TMPDIR. Nothing is mapped here: loader_map.c maps a staged
 * copy and checks its descriptor, so that a smoke test can run the bytes before tarsd does.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "elf_needs.h"
#include "host_side.h"
#include "loader.h"

#define MAX_LIBRARY_BYTES (512u << 20)

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

/*
 * Refuses a file linked against a newer libtars-sdk than this host's before dlopen would fail
 * on it with "undefined symbol" or "version not found". A file whose section headers cannot
 * be read is left to dlopen, which says more about it.
 */
static int
check_sdk_need(const unsigned char *data, size_t len, char *err, size_t errlen)
{
    struct sdk_need need;
    if (elf_sdk_need(data, len, &need) || !need.found)
        return 0;
    if (need.so_major != TARS_ABI_MAJOR || (need.abi_major && need.abi_major != TARS_ABI_MAJOR))
        return tars__errf(err, errlen, TARS_EABI,
                          "built for ABI %u.x (libtars-sdk.so.%u); this host loads ABI %u.x only",
                          need.abi_major ? need.abi_major : need.so_major, need.so_major,
                          TARS_ABI_MAJOR);
    if (need.abi_minor > TARS_ABI_MINOR)
        return tars__errf(err, errlen, TARS_EABI,
                          "built for ABI %u.%u, this tarsd has %u.%u; upgrade tars", need.abi_major,
                          need.abi_minor, TARS_ABI_MAJOR, TARS_ABI_MINOR);
    return 0;
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
    else
        rc = check_sdk_need(data, len, err, errlen);
    if (!rc)
        rc = ensure_cache(l, err, errlen);
    if (!rc)
        rc = place_copy(l, out->sha256, data, len, &out->copy, err, errlen);
    if (rc && rc != TARS_ECORRUPT && rc != TARS_EINVAL && l->cache_root)
        rc = cache_elsewhere(l, out, data, len, err, errlen);
    free(data);
    return rc;
}
