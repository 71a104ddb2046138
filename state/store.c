#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>
#include "store.h"
#include "tars/version.h"

#define DEFAULT_MAP ((size_t)64 << 20)

/* Named databases, prefixed so that a tars store is recognisable among LMDB files. */
static const char *const db_names[DB_COUNT] = {
    [DB_META] = "tars-meta",           [DB_PLUGINS] = "tars-plugins",
    [DB_AGENTS] = "tars-agents",       [DB_CHECKPOINTS] = "tars-checkpoints",
    [DB_EPISODES] = "tars-episodes",   [DB_SCALARS] = "tars-scalars",
    [DB_PROPOSALS] = "tars-proposals", [DB_STUDIES] = "tars-studies",
    [DB_TRIALS] = "tars-trials",       [DB_TOKENS] = "tars-tokens",
    [DB_AUDIT] = "tars-audit",
};

struct store {
    char *dir;
    MDB_env *env;
    MDB_dbi dbi[DB_COUNT];
    unsigned flags;
    int stale;
    /*
     * Transactions hold it shared; growing the map holds it exclusively, because LMDB allows
     * mdb_env_set_mapsize only while this process has no transaction open.
     */
    pthread_rwlock_t resize;
};

static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return rc ? rc : EINVAL;
}

const char *
store_strerror(int rc)
{
    if (rc == MDB_INVALID)
        return "not an LMDB file, or its header is corrupt";
    if (rc == MDB_VERSION_MISMATCH)
        return "written by another version of LMDB";
    if (rc == MDB_CORRUPTED)
        return "its pages are corrupt";
    return mdb_strerror(rc);
}

const char *
store_dir(const struct store *s)
{
    return s->dir;
}

MDB_dbi
store_dbi(const struct store *s, enum store_db db)
{
    return s->dbi[db];
}

int
store_stale_readers(const struct store *s)
{
    return s->stale;
}

size_t
store_map_size(const struct store *s)
{
    MDB_envinfo info;
    mdb_env_info(s->env, &info);
    return info.me_mapsize;
}

static int
get_u32(MDB_txn *txn, MDB_dbi dbi, const char *key, uint32_t *out)
{
    MDB_val k = {strlen(key), (void *)key}, v;
    int rc = mdb_get(txn, dbi, &k, &v);
    if (rc)
        return rc;
    if (v.mv_size != 4)
        return MDB_CORRUPTED;
    memcpy(out, v.mv_data, 4);
    return 0;
}

static int
put_text(MDB_txn *txn, MDB_dbi dbi, const char *key, const void *data, size_t len)
{
    MDB_val k = {strlen(key), (void *)key}, v = {len, (void *)data};
    return mdb_put(txn, dbi, &k, &v, 0);
}

/*
 * Migrations from schema n to n + 1, run in one write transaction at open. Schema 1 is the
 * first; a store of an older schema would be brought forward here step by step.
 */
static const struct migration {
    uint32_t from;
    int (*run)(struct store *s, MDB_txn *txn);
} migrations[] = {{0, NULL}};

static int
migrate(struct store *s, MDB_txn *txn, uint32_t from, char *err, size_t errlen)
{
    for (uint32_t v = from; v < STORE_SCHEMA_VERSION; v++) {
        const struct migration *m = NULL;
        for (size_t i = 0; i < sizeof migrations / sizeof migrations[0]; i++)
            if (migrations[i].from == v && migrations[i].run)
                m = &migrations[i];
        if (!m)
            return fail(err, errlen, EINVAL,
                        "state store %s has schema %u, which this tars cannot migrate", s->dir, v);
        int rc = m->run(s, txn);
        if (rc)
            return fail(err, errlen, rc, "migrating %s from schema %u: %s", s->dir, v,
                        store_strerror(rc));
    }
    uint32_t now = STORE_SCHEMA_VERSION;
    return put_text(txn, s->dbi[DB_META], "schema_version", &now, 4);
}

/* A new store: every database and the meta records. */
static int
initialise(struct store *s, MDB_txn *txn)
{
    int rc = 0;
    for (int i = 0; !rc && i < DB_COUNT; i++)
        rc = mdb_dbi_open(txn, db_names[i], MDB_CREATE, &s->dbi[i]);
    uint32_t version = STORE_SCHEMA_VERSION;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    double created = (double)ts.tv_sec + ts.tv_nsec * 1e-9;
    if (!rc)
        rc = put_text(txn, s->dbi[DB_META], "schema_version", &version, 4);
    if (!rc)
        rc = put_text(txn, s->dbi[DB_META], "created", &created, sizeof created);
    if (!rc)
        rc = put_text(txn, s->dbi[DB_META], "tars_version", TARS_VERSION_STRING,
                      strlen(TARS_VERSION_STRING));
    return rc;
}

/* Opens the databases of an existing tars store, or says why this is not one. */
static int
attach(struct store *s, MDB_txn *txn, int rdonly, char *err, size_t errlen)
{
    MDB_dbi main_db;
    MDB_stat st;
    int rc = mdb_dbi_open(txn, NULL, 0, &main_db);
    if (!rc)
        rc = mdb_stat(txn, main_db, &st);
    if (rc)
        return fail(err, errlen, rc, "cannot read the state store in %s: %s", s->dir,
                    store_strerror(rc));
    MDB_val k = {strlen(db_names[DB_META]), (void *)db_names[DB_META]}, v;
    int is_tars = mdb_get(txn, main_db, &k, &v) == 0;
    if (!is_tars && st.ms_entries > 0)
        return fail(err, errlen, EINVAL,
                    "%s/data.mdb is an LMDB store, but not a tars one; refusing to touch it",
                    s->dir);
    if (!is_tars) {
        if (rdonly)
            return fail(err, errlen, ENOENT, "state dir %s holds no tars state store", s->dir);
        rc = initialise(s, txn);
        return rc ? fail(err, errlen, rc, "cannot create the state store in %s: %s", s->dir,
                         store_strerror(rc))
                  : 0;
    }
    for (int i = 0; i < DB_COUNT; i++) {
        rc = mdb_dbi_open(txn, db_names[i], rdonly ? 0 : MDB_CREATE, &s->dbi[i]);
        if (rc)
            return fail(err, errlen, rc, "state store %s lacks its '%s' database: %s", s->dir,
                        db_names[i], store_strerror(rc));
    }
    uint32_t version = 0;
    rc = get_u32(txn, s->dbi[DB_META], "schema_version", &version);
    if (rc)
        return fail(err, errlen, rc, "state store %s has no readable schema version: %s", s->dir,
                    store_strerror(rc));
    if (version > STORE_SCHEMA_VERSION)
        return fail(err, errlen, EINVAL,
                    "state store %s has schema %u, newer than this tars reads (%u); upgrade tars",
                    s->dir, version, STORE_SCHEMA_VERSION);
    if (version < STORE_SCHEMA_VERSION) {
        if (rdonly)
            return fail(err, errlen, EINVAL,
                        "state store %s has the older schema %u; start tarsd on it to migrate",
                        s->dir, version);
        return migrate(s, txn, version, err, errlen);
    }
    return 0;
}

/*
 * LMDB maps the file and trusts its meta page: a data.mdb cut short (a copy that ran out of
 * disk) would fault with SIGBUS at the first page past its end. Refuse it before any is read.
 */
static int
check_size(struct store *s, const char *data, char *err, size_t errlen)
{
    struct stat st;
    MDB_envinfo info;
    MDB_stat ms;
    if (stat(data, &st) != 0)
        return fail(err, errlen, errno, "cannot stat %s: %s", data, strerror(errno));
    int rc = mdb_env_info(s->env, &info);
    if (!rc)
        rc = mdb_env_stat(s->env, &ms);
    if (rc)
        return fail(err, errlen, rc, "cannot read the state store in %s: %s", s->dir,
                    store_strerror(rc));
    uint64_t expected = ((uint64_t)info.me_last_pgno + 1) * ms.ms_psize;
    if ((uint64_t)st.st_size < expected)
        return fail(err, errlen, MDB_CORRUPTED, "%s is truncated (%llu bytes, %llu expected)", data,
                    (unsigned long long)st.st_size, (unsigned long long)expected);
    return 0;
}

int
store_open(struct store **out, const char *dir, unsigned flags, size_t initial_map, char *err,
           size_t errlen)
{
    struct stat st;
    *out = NULL;
    int rdonly = flags & STORE_RDONLY;
    if (stat(dir, &st) != 0)
        return fail(err, errlen, errno, "state dir %s: %s", dir, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return fail(err, errlen, ENOTDIR, "state dir %s is not a directory", dir);
    char data[4096];
    snprintf(data, sizeof data, "%s/data.mdb", dir);
    if (rdonly && access(data, F_OK) != 0)
        return fail(err, errlen, ENOENT, "state dir %s holds no tars state store", dir);
    struct store *s = calloc(1, sizeof *s);
    if (!s || !(s->dir = strdup(dir))) {
        free(s);
        return fail(err, errlen, ENOMEM, "out of memory");
    }
    s->flags = flags;
    pthread_rwlock_init(&s->resize, NULL);
    int rc = mdb_env_create(&s->env);
    if (!rc)
        rc = mdb_env_set_maxdbs(s->env, DB_COUNT + 4);
    if (!rc)
        rc = mdb_env_set_maxreaders(s->env, 256);
    if (!rc)
        rc = mdb_env_set_mapsize(s->env, initial_map ? initial_map : DEFAULT_MAP);
    if (rc) {
        fail(err, errlen, rc, "cannot set up LMDB: %s", store_strerror(rc));
        goto fail;
    }
    rc = mdb_env_open(s->env, dir, MDB_NOTLS | (rdonly ? MDB_RDONLY : 0), 0600);
    if (rc) {
        fail(err, errlen, rc, "cannot open the state store in %s: %s", dir, store_strerror(rc));
        goto fail;
    }
    rc = check_size(s, data, err, errlen);
    if (rc)
        goto fail;
    /* Slots of readers that died (kill -9) pin pages forever unless cleared. */
    mdb_reader_check(s->env, &s->stale);
    MDB_txn *txn;
    rc = mdb_txn_begin(s->env, NULL, rdonly ? MDB_RDONLY : 0, &txn);
    if (rc) {
        fail(err, errlen, rc, "cannot use the state store in %s: %s", dir, store_strerror(rc));
        goto fail;
    }
    rc = attach(s, txn, rdonly, err, errlen);
    if (rc) {
        mdb_txn_abort(txn);
        goto fail;
    }
    /* Committing (even a read transaction) keeps the database handles it opened. */
    rc = mdb_txn_commit(txn);
    if (rc) {
        fail(err, errlen, rc, "cannot write the state store in %s: %s", dir, store_strerror(rc));
        goto fail;
    }
    *out = s;
    return 0;
fail:
    store_close(s);
    return rc;
}

void
store_close(struct store *s)
{
    if (!s)
        return;
    if (s->env)
        mdb_env_close(s->env);
    pthread_rwlock_destroy(&s->resize);
    free(s->dir);
    free(s);
}

/* Another process grew the map: adopt its size (under the exclusive lock). */
static void
adopt_map(struct store *s)
{
    pthread_rwlock_wrlock(&s->resize);
    mdb_env_set_mapsize(s->env, 0);
    pthread_rwlock_unlock(&s->resize);
}

int
store_read_begin(struct store *s, MDB_txn **txn)
{
    for (int tries = 0;; tries++) {
        pthread_rwlock_rdlock(&s->resize);
        int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, txn);
        if (!rc)
            return 0;
        pthread_rwlock_unlock(&s->resize);
        if (rc != MDB_MAP_RESIZED || tries > 2)
            return rc;
        adopt_map(s);
    }
}

void
store_read_end(struct store *s, MDB_txn *txn)
{
    mdb_txn_abort(txn);
    pthread_rwlock_unlock(&s->resize);
}

static int
grow(struct store *s, char *err, size_t errlen)
{
    pthread_rwlock_wrlock(&s->resize);
    size_t size = store_map_size(s) * 2;
    int rc = mdb_env_set_mapsize(s->env, size);
    pthread_rwlock_unlock(&s->resize);
    if (rc)
        return fail(err, errlen, rc, "cannot grow the state map of %s to %zu MiB: %s", s->dir,
                    size >> 20, store_strerror(rc));
    return 0;
}

/*
 * LMDB turns a short write into EIO; when the file system has no room left, that is what
 * the user needs to hear.
 */
static int
write_error(const char *dir, int rc)
{
    struct statvfs fs;
    if (rc == EIO && statvfs(dir, &fs) == 0 && (uint64_t)fs.f_bavail * fs.f_frsize < (1u << 20))
        return ENOSPC;
    return rc;
}

int
store_write(struct store *s, int (*fn)(MDB_txn *txn, void *arg), void *arg, char *err,
            size_t errlen)
{
    if (s->flags & STORE_RDONLY)
        return fail(err, errlen, EROFS, "state store %s is open read-only", s->dir);
    for (int tries = 0; tries < 30; tries++) {
        MDB_txn *txn;
        pthread_rwlock_rdlock(&s->resize);
        int rc = mdb_txn_begin(s->env, NULL, 0, &txn);
        if (!rc) {
            rc = fn(txn, arg);
            if (rc)
                mdb_txn_abort(txn);
            else
                rc = mdb_txn_commit(txn);
        }
        pthread_rwlock_unlock(&s->resize);
        if (!rc)
            return 0;
        if (rc == MDB_MAP_RESIZED) {
            adopt_map(s);
            continue;
        }
        if (rc != MDB_MAP_FULL) {
            rc = write_error(s->dir, rc);
            return fail(err, errlen, rc, "cannot write the state store in %s: %s", s->dir,
                        store_strerror(rc));
        }
        rc = grow(s, err, errlen);
        if (rc)
            return rc;
    }
    return fail(err, errlen, MDB_MAP_FULL, "the state map of %s keeps filling up", s->dir);
}

/* Whether dir holds nothing but "." and "..". */
static int
dir_is_empty(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    struct dirent *e;
    int empty = 1;
    while (empty && (e = readdir(d)))
        empty = strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0;
    closedir(d);
    return empty;
}

/*
 * The copy goes to data.mdb.tmp and becomes data.mdb only once complete and on disk, so that a
 * failed backup (a full disk, say) never leaves a truncated data.mdb that LMDB would map and
 * fault on.
 */
int
store_backup(struct store *s, const char *dir, char *err, size_t errlen)
{
    char tmp[4096], final[4096];
    if (snprintf(tmp, sizeof tmp, "%s/data.mdb.tmp", dir) >= (int)sizeof tmp)
        return fail(err, errlen, ENAMETOOLONG, "backup dir %s: %s", dir, strerror(ENAMETOOLONG));
    snprintf(final, sizeof final, "%s/data.mdb", dir);
    int created = mkdir(dir, 0700) == 0;
    if (!created && errno != EEXIST)
        return fail(err, errlen, errno, "cannot create %s: %s", dir, strerror(errno));
    if (!created && access(final, F_OK) == 0)
        return fail(err, errlen, EEXIST, "%s already holds a state store; back up elsewhere", dir);
    if (!created && !dir_is_empty(dir))
        return fail(err, errlen, ENOTEMPTY,
                    "%s is not an empty directory; back up into a new or empty one", dir);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        int e = errno;
        if (created)
            rmdir(dir);
        return fail(err, errlen, e, "cannot create %s: %s", tmp, strerror(e));
    }
    int rc = mdb_env_copyfd2(s->env, fd, MDB_CP_COMPACT);
    if (!rc && fsync(fd) != 0)
        rc = errno;
    if (close(fd) != 0 && !rc)
        rc = errno;
    if (!rc && rename(tmp, final) != 0)
        rc = errno;
    if (rc) {
        /* The cause first: a short write reads as EIO until the space is given back. */
        rc = write_error(dir, rc);
        fail(err, errlen, rc, "cannot copy the state store to %s: %s", dir, store_strerror(rc));
        unlink(tmp);
        if (created)
            rmdir(dir);
        return rc;
    }
    /* The rename is durable once the directory is. */
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    return 0;
}

size_t
store_agent_key(char *buf, size_t len, const char *agent, uint64_t n)
{
    size_t id = strlen(agent);
    if (id + 9 > len)
        return 0;
    memcpy(buf, agent, id);
    buf[id] = '\0';
    for (int i = 0; i < 8; i++)
        buf[id + 1 + i] = (char)(n >> (56 - 8 * i));
    return id + 9;
}

uint64_t
store_agent_key_n(const MDB_val *key, const char *agent)
{
    size_t id = strlen(agent);
    const unsigned char *k = key->mv_data;
    if (key->mv_size != id + 9 || memcmp(k, agent, id) != 0 || k[id] != '\0')
        return UINT64_MAX;
    uint64_t n = 0;
    for (int i = 0; i < 8; i++)
        n = n << 8 | k[id + 1 + i];
    return n;
}
