/*
 * The LMDB state store (state/): creation and reopening, records and their retention, the
 * batching writer, map growth, and every refusal — foreign, corrupt, newer, missing — with
 * nothing written to a store it refuses.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "records.h"
#include "store.h"
#include "tap.h"
#include "writer.h"

static char tmp[] = "/tmp/tars-test-store-XXXXXX";
static int have_disk; /* a 1 MiB tmpfs of our own at tmp/disk, to fill up */

static char *
path(const char *name)
{
    static char buf[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", tmp, name);
    return buf[k];
}

static char *
slurp(const char *file, size_t *len)
{
    FILE *f = fopen(file, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc(*len + 1);
    if (fread(b, 1, *len, f) != *len)
        *len = 0;
    fclose(f);
    return b;
}

static int
same_file(const char *file, const char *before, size_t len)
{
    size_t now_len;
    char *now = slurp(file, &now_len);
    int same = now && now_len == len && memcmp(now, before, len) == 0;
    free(now);
    return same;
}

static void
skip(const char *why)
{
    printf("ok %d # SKIP %s\n", ++tap_run, why);
}

/*
 * A small file system to fill: a tmpfs mounted in a mount namespace of this process only,
 * private so that nothing propagates to the host's. Needs root (or CAP_SYS_ADMIN).
 */
static int
small_disk(void)
{
    mkdir(path("disk"), 0700);
    if (unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
        return 0;
    return mount("tars-test", path("disk"), "tmpfs", 0, "size=1m,mode=0700") == 0;
}

/* Fills the small disk, then gives `room` bytes back. */
static void
fill_disk(off_t room)
{
    static char chunk[4096];
    int fd = open(path("disk/filler"), O_WRONLY | O_CREAT | O_APPEND, 0600);
    while (fd >= 0 && write(fd, chunk, sizeof chunk) == (ssize_t)sizeof chunk)
        ;
    struct stat st;
    if (fd >= 0 && room && fstat(fd, &st) == 0 && ftruncate(fd, st.st_size - room) != 0)
        diag("cannot give room back: %s", strerror(errno));
    if (fd >= 0)
        close(fd);
}

static void
free_disk(void)
{
    unlink(path("disk/filler"));
}

struct count {
    uint64_t n, first, last;
};

static int
counter(uint64_t n, const MDB_val *v, void *arg)
{
    (void)v;
    struct count *c = arg;
    if (!c->n)
        c->first = n;
    c->last = n;
    c->n++;
    return 0;
}

static void
basics(void)
{
    struct store *s;
    char err[512];
    mkdir(path("a"), 0700);
    ok(store_open(&s, path("a"), 0, 0, err, sizeof err) == 0, "a new store is created");
    struct writer *w;
    struct writer_limits lim = {.checkpoints_kept = 2, .episodes_kept = 50, .scalars_kept = 5};
    ok(writer_start(&w, s, &lim, NULL, NULL) == 0, "the writer starts");
    struct episode_rec e[80];
    for (int i = 0; i < 80; i++)
        e[i] = (struct episode_rec){.episode = (uint64_t)i + 1,
                                    .step = 10u * (i + 1),
                                    .ret = i * 0.5,
                                    .length = 10,
                                    .wall_time = 1e9 + i};
    writer_episodes(w, "alpha", e, 40);
    writer_episodes(w, "alpha", e + 40, 40);
    writer_episodes(w, "beta", e, 3);
    for (uint64_t step = 100; step <= 400; step += 100) {
        struct checkpoint_hdr h = {.step = step, .episodes = step / 10, .wall_time = 5};
        char *blob = malloc(1000);
        memset(blob, (int)(step / 100), 1000);
        writer_checkpoint(w, "alpha", &h, blob, 1000, NULL);
    }
    for (uint64_t q = 1; q <= 8; q++) {
        char json[64];
        int n = snprintf(json, sizeof json, "{\"loss\": %llu}", (unsigned long long)q);
        writer_scalars(w, "alpha", q, json, (size_t)n);
    }
    writer_json(w, DB_AGENTS, "alpha", "{\"id\":\"alpha\"}", 14);
    ok(writer_flush(w, err, sizeof err) == 0, "flush commits everything queued");
    struct writer_stats st;
    writer_stats(w, &st);
    ok(st.episodes == 83 && st.checkpoints == 4 && st.commits >= 1,
       "the batches committed 83 episodes and 4 checkpoints in %llu commits",
       (unsigned long long)st.commits);

    MDB_txn *txn;
    ok(store_read_begin(s, &txn) == 0, "read transaction");
    struct count c = {0};
    rec_each(s, txn, DB_EPISODES, "alpha", 0, UINT64_MAX, counter, &c);
    ok(c.n == 50 && c.first == 31 && c.last == 80, "episodes kept: the last 50 (%llu..%llu)",
       (unsigned long long)c.first, (unsigned long long)c.last);
    uint64_t last, count;
    rec_last_n(s, txn, DB_EPISODES, "beta", &last, &count);
    ok(last == 3 && count == 3, "another agent's episodes apart");
    struct checkpoint_hdr h;
    const void *blob;
    size_t len;
    ok(rec_last_checkpoint(s, txn, "alpha", &h, &blob, &len) == 0 && h.step == 400 && len == 1000 &&
           ((const char *)blob)[0] == 4,
       "the last checkpoint is the newest");
    struct count cc = {0};
    rec_each(s, txn, DB_CHECKPOINTS, "alpha", 0, UINT64_MAX, counter, &cc);
    ok(cc.n == 2 && cc.first == 3 && cc.last == 4,
       "checkpoints kept: the newest 2, numbered by sequence (%llu..%llu)",
       (unsigned long long)cc.first, (unsigned long long)cc.last);
    ok(rec_last_checkpoint(s, txn, "beta", &h, &blob, &len) == MDB_NOTFOUND,
       "an agent without checkpoints has none");
    struct count sc = {0};
    rec_each(s, txn, DB_SCALARS, "alpha", 0, UINT64_MAX, counter, &sc);
    ok(sc.n == 5 && sc.first == 4, "scalars kept: the last 5");
    store_read_end(s, txn);

    writer_truncate(w, "alpha", 60, 6);
    writer_flush(w, err, sizeof err);
    store_read_begin(s, &txn);
    rec_last_n(s, txn, DB_EPISODES, "alpha", &last, &count);
    ok(last == 60, "truncate drops the episodes after a checkpoint's count");
    rec_last_n(s, txn, DB_SCALARS, "alpha", &last, &count);
    ok(last == 6, "and the scalars after its sequence");
    store_read_end(s, txn);
    writer_stop(w);
    store_close(s);

    ok(store_open(&s, path("a"), STORE_RDONLY, 0, err, sizeof err) == 0,
       "the store reopens read-only");
    store_read_begin(s, &txn);
    MDB_val k = {5, "alpha"}, v;
    ok(mdb_get(txn, store_dbi(s, DB_AGENTS), &k, &v) == 0 && v.mv_size == 14, "with its records");
    store_read_end(s, txn);
    ok(store_backup(s, path("copy"), err, sizeof err) == 0, "a compacted backup");
    ok(store_backup(s, path("copy"), err, sizeof err) != 0, "a backup never overwrites a store");
    like(err, "already holds a state store", "and says so");
    store_close(s);
    ok(store_open(&s, path("copy"), STORE_RDONLY, 0, err, sizeof err) == 0, "the backup opens");
    store_read_begin(s, &txn);
    ok(rec_last_checkpoint(s, txn, "alpha", &h, &blob, &len) == 0 && h.step == 400,
       "and holds the same checkpoints");
    store_read_end(s, txn);
    store_close(s);
}

/* A checkpoint put straight into the store, as the writer does. */
struct ckpt_put {
    struct store *s;
    const char *agent;
    uint64_t step;
    unsigned keep;
};

static int
put_ckpt(MDB_txn *txn, void *arg)
{
    struct ckpt_put *p = arg;
    struct checkpoint_hdr h = {.step = p->step, .episodes = p->step / 10, .wall_time = 1};
    unsigned char blob[16];
    memset(blob, (int)(p->step & 0xff), sizeof blob);
    return rec_put_checkpoint(p->s, txn, p->agent, &h, blob, sizeof blob, p->keep);
}

struct steps {
    uint64_t v[8];
    size_t n;
};

static int
step_of(uint64_t n, const MDB_val *v, void *arg)
{
    (void)n;
    struct steps *s = arg;
    uint64_t step = 0;
    const unsigned char *p = v->mv_data;
    for (int i = 7; i >= 0; i--)
        step = step << 8 | p[8 + i];
    if (s->n < 8)
        s->v[s->n++] = step;
    return 0;
}

/*
 * The last checkpoint is the last one taken, even when a run went back to fewer steps (a
 * reset, a resume from an older checkpoint): checkpoints are numbered by sequence.
 */
static void
checkpoint_order(void)
{
    struct store *s;
    char err[512];
    mkdir(path("order"), 0700);
    store_open(&s, path("order"), 0, 0, err, sizeof err);
    uint64_t steps[] = {500, 200, 300};
    for (size_t i = 0; i < 3; i++) {
        struct ckpt_put p = {s, "rolled", steps[i], 2};
        store_write(s, put_ckpt, &p, err, sizeof err);
    }
    MDB_txn *txn;
    struct checkpoint_hdr h;
    const void *blob;
    size_t len;
    struct steps kept = {0};
    store_read_begin(s, &txn);
    int rc = rec_last_checkpoint(s, txn, "rolled", &h, &blob, &len);
    ok(rc == 0 && h.step == 300,
       "after checkpoints at steps 500, 200, 300 the last is the one at 300 (%llu)",
       (unsigned long long)h.step);
    rec_each(s, txn, DB_CHECKPOINTS, "rolled", 0, UINT64_MAX, step_of, &kept);
    ok(kept.n == 2 && kept.v[0] == 200 && kept.v[1] == 300,
       "and the 2 kept are the newest taken (steps %llu, %llu), not the highest steps",
       (unsigned long long)kept.v[0], (unsigned long long)kept.v[1]);
    store_read_end(s, txn);
    store_close(s);
}

/* Lowering a limit shrinks what an older, larger one kept, at the next put. */
static void
retention_shrinks(void)
{
    struct store *s;
    char err[512];
    mkdir(path("shrink"), 0700);
    store_open(&s, path("shrink"), 0, 0, err, sizeof err);
    struct writer *w;
    struct writer_limits lim = {.checkpoints_kept = 5, .episodes_kept = 50, .scalars_kept = 20};
    struct episode_rec e[81];
    for (int i = 0; i < 81; i++)
        e[i] = (struct episode_rec){.episode = (uint64_t)i + 1, .step = 10u * (i + 1)};
    writer_start(&w, s, &lim, NULL, NULL);
    writer_episodes(w, "old", e, 80);
    for (uint64_t q = 1; q <= 30; q++)
        writer_scalars(w, "old", q, "{}", 2);
    for (uint64_t step = 100; step <= 500; step += 100) {
        struct checkpoint_hdr h = {.step = step};
        writer_checkpoint(w, "old", &h, calloc(1, 8), 8, NULL);
    }
    writer_flush(w, err, sizeof err);
    writer_stop(w);
    lim = (struct writer_limits){.checkpoints_kept = 2, .episodes_kept = 10, .scalars_kept = 3};
    writer_start(&w, s, &lim, NULL, NULL);
    writer_episodes(w, "old", e + 80, 1);
    writer_scalars(w, "old", 31, "{}", 2);
    struct checkpoint_hdr h = {.step = 600};
    writer_checkpoint(w, "old", &h, calloc(1, 8), 8, NULL);
    ok(writer_flush(w, err, sizeof err) == 0, "one more of each with lower limits");
    writer_stop(w);
    MDB_txn *txn;
    struct count ep = {0}, sc = {0}, ck = {0};
    store_read_begin(s, &txn);
    rec_each(s, txn, DB_EPISODES, "old", 0, UINT64_MAX, counter, &ep);
    rec_each(s, txn, DB_SCALARS, "old", 0, UINT64_MAX, counter, &sc);
    rec_each(s, txn, DB_CHECKPOINTS, "old", 0, UINT64_MAX, counter, &ck);
    store_read_end(s, txn);
    ok(ep.n == 10 && ep.first == 72 && ep.last == 81,
       "history_kept 50 -> 10: the history shrinks to 10 episodes (%llu, %llu..%llu)",
       (unsigned long long)ep.n, (unsigned long long)ep.first, (unsigned long long)ep.last);
    ok(sc.n == 3 && sc.first == 29, "scalars_kept 20 -> 3: 3 scalars records (%llu)",
       (unsigned long long)sc.n);
    ok(ck.n == 2 && ck.first == 5, "checkpoints_kept 5 -> 2: 2 checkpoints (%llu)",
       (unsigned long long)ck.n);
    store_close(s);
}

static int
big_checkpoint(MDB_txn *txn, void *arg)
{
    struct store *s = arg;
    static char blob[1 << 20];
    struct checkpoint_hdr h = {.step = 1};
    return rec_put_checkpoint(s, txn, "big", &h, blob, sizeof blob, 3);
}

static void
growth(void)
{
    struct store *s;
    char err[512];
    mkdir(path("small"), 0700);
    ok(store_open(&s, path("small"), 0, 64 << 10, err, sizeof err) == 0,
       "a store with a 64 KiB map");
    size_t before = store_map_size(s);
    ok(store_write(s, big_checkpoint, s, err, sizeof err) == 0,
       "a 1 MiB checkpoint still commits (%s)", err);
    ok(store_map_size(s) > before && store_map_size(s) >= (1 << 20),
       "because the map grew to %zu KiB", store_map_size(s) >> 10);
    store_close(s);
}

static void
refusals(void)
{
    struct store *s;
    char err[512];

    ok(store_open(&s, path("missing"), 0, 0, err, sizeof err) != 0, "a missing dir is refused");
    like(err, "missing: No such file or directory", "naming the dir and the cause");

    mkdir(path("empty"), 0700);
    ok(store_open(&s, path("empty"), STORE_RDONLY, 0, err, sizeof err) != 0,
       "read-only on an empty dir finds nothing");
    like(err, "holds no tars state store", "and says so");

    /* A foreign LMDB environment: someone else's data. */
    mkdir(path("foreign"), 0700);
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    mdb_env_create(&env);
    mdb_env_set_maxdbs(env, 4);
    mdb_env_open(env, path("foreign"), 0, 0600);
    mdb_txn_begin(env, NULL, 0, &txn);
    mdb_dbi_open(txn, "inventory", MDB_CREATE, &dbi);
    MDB_val k = {5, "apple"}, v = {2, "42"};
    mdb_put(txn, dbi, &k, &v, 0);
    mdb_txn_commit(txn);
    mdb_env_close(env);
    size_t len;
    char *before = slurp(path("foreign/data.mdb"), &len);
    ok(store_open(&s, path("foreign"), 0, 0, err, sizeof err) != 0,
       "a foreign LMDB store is refused");
    like(err, "foreign/data.mdb is an LMDB store, but not a tars one", "as not ours");
    ok(same_file(path("foreign/data.mdb"), before, len), "and left exactly as it was");
    free(before);

    /* A corrupt file. */
    mkdir(path("corrupt"), 0700);
    FILE *f = fopen(path("corrupt/data.mdb"), "wb");
    for (int i = 0; i < 5000; i++)
        fputs("garbage ", f);
    fclose(f);
    before = slurp(path("corrupt/data.mdb"), &len);
    ok(store_open(&s, path("corrupt"), 0, 0, err, sizeof err) != 0,
       "a corrupt data.mdb is refused");
    like(err, "not an LMDB file, or its header is corrupt", "with the cause");
    ok(same_file(path("corrupt/data.mdb"), before, len), "and not overwritten");
    free(before);

    /* A newer schema. */
    mkdir(path("newer"), 0700);
    store_open(&s, path("newer"), 0, 0, err, sizeof err);
    store_close(s);
    mdb_env_create(&env);
    mdb_env_set_maxdbs(env, 16);
    mdb_env_open(env, path("newer"), 0, 0600);
    mdb_txn_begin(env, NULL, 0, &txn);
    mdb_dbi_open(txn, "tars-meta", 0, &dbi);
    uint32_t v99 = 99;
    MDB_val sk = {14, "schema_version"}, sv = {4, &v99};
    mdb_put(txn, dbi, &sk, &sv, 0);
    mdb_txn_commit(txn);
    mdb_env_close(env);
    ok(store_open(&s, path("newer"), 0, 0, err, sizeof err) != 0, "a newer schema is refused");
    like(err, "has schema 99, newer than this tars reads (1); upgrade tars", "and says which");
}

static int
put_random(MDB_txn *txn, void *arg)
{
    struct store *s = arg;
    static unsigned char blob[300 << 10];
    unsigned x = 12345;
    for (size_t i = 0; i < sizeof blob; i++)
        blob[i] = (unsigned char)((x = x * 1103515245 + 12345) >> 16);
    struct checkpoint_hdr h = {.step = 1};
    return rec_put_checkpoint(s, txn, "random", &h, blob, sizeof blob, 3);
}

static int
exists(const char *file)
{
    return access(file, F_OK) == 0;
}

/* Backups go to new or empty dirs only, and a failed one leaves no data.mdb behind. */
static void
backups(void)
{
    struct store *s;
    char err[512];
    struct stat st;
    mkdir(path("src"), 0700);
    store_open(&s, path("src"), 0, 0, err, sizeof err);
    ok(store_write(s, put_random, s, err, sizeof err) == 0, "a store of 300 KiB to back up");

    mkdir(path("busy"), 0700);
    fclose(fopen(path("busy/notes"), "w"));
    ok(store_backup(s, path("busy"), err, sizeof err) != 0,
       "a backup into a dir that holds other files is refused");
    like(err, "busy is not an empty directory; back up into a new or empty one", "and says so");
    ok(!exists(path("busy/data.mdb")) && !exists(path("busy/data.mdb.tmp")), "writing nothing");

    mkdir(path("empty-dest"), 0700);
    ok(store_backup(s, path("empty-dest"), err, sizeof err) == 0, "an empty dir takes a backup");
    ok(store_backup(s, path("new-dest"), err, sizeof err) == 0, "so does a new one");
    ok(stat(path("new-dest"), &st) == 0 && (st.st_mode & 0777) == 0700, "created mode 0700 (%o)",
       st.st_mode & 0777);
    ok(stat(path("new-dest/data.mdb"), &st) == 0 && (st.st_mode & 0777) == 0600 &&
           !exists(path("new-dest/data.mdb.tmp")),
       "holding data.mdb, mode 0600, and no temporary file");

    if (!have_disk) {
        skip("no private tmpfs here (needs root): the full-disk backup");
        skip("no private tmpfs here (needs root): the full-disk backup");
        skip("no private tmpfs here (needs root): the full-disk backup");
        skip("no private tmpfs here (needs root): the full-disk backup");
    } else {
        fill_disk(64 << 10);
        ok(store_backup(s, path("disk/bk"), err, sizeof err) != 0,
           "a backup onto a disk with 64 KiB free fails");
        like(err, "No space left on device", "saying why");
        ok(!exists(path("disk/bk/data.mdb")) && !exists(path("disk/bk/data.mdb.tmp")),
           "and leaves no data.mdb, whole or partial, behind");
        free_disk();
        ok(store_backup(s, path("disk/bk"), err, sizeof err) == 0,
           "the same backup succeeds once there is room (%s)", err);
    }
    store_close(s);
}

/* Opens dir in a child (a mapped page past the end of the file kills with SIGBUS). */
static int
open_in_child(const char *dir, unsigned flags, char *msg, size_t len)
{
    int fds[2];
    if (pipe(fds) != 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        struct store *s;
        char err[512] = "";
        close(fds[0]);
        int rc = store_open(&s, dir, flags, 0, err, sizeof err);
        if (write(fds[1], err, strlen(err)) < 0)
            _exit(3);
        _exit(rc ? 0 : 1);
    }
    close(fds[1]);
    ssize_t n = read(fds[0], msg, len - 1);
    msg[n > 0 ? n : 0] = '\0';
    close(fds[0]);
    int status;
    waitpid(pid, &status, 0);
    if (WIFSIGNALED(status))
        snprintf(msg, len, "killed by signal %d", WTERMSIG(status));
    return status;
}

/* A data.mdb cut short (a copy that ran out of disk) is refused, never mapped and faulted on. */
static void
truncated(void)
{
    size_t len;
    char *data = slurp(path("src/data.mdb"), &len);
    mkdir(path("cut"), 0700);
    FILE *f = fopen(path("cut/data.mdb"), "wb");
    fwrite(data, 1, len / 2, f);
    fclose(f);
    free(data);
    char msg[512], want[600];
    snprintf(want, sizeof want, "%s is truncated (%zu bytes, %zu expected)", path("cut/data.mdb"),
             len / 2, len);
    int status = open_in_child(path("cut"), STORE_RDONLY, msg, sizeof msg);
    ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
       "a truncated data.mdb is refused read-only (as by inspect): %s", msg);
    like(msg, want, "naming the file, its size and the size expected");
    status = open_in_child(path("cut"), 0, msg, sizeof msg);
    ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "and read-write (as by tarsd serve): %s",
       msg);
}

static atomic_int write_errors;

static void
count_error(const char *msg, void *arg)
{
    (void)msg, (void)arg;
    atomic_fetch_add(&write_errors, 1);
}

/* Queues episodes first..last of an agent, ten to an item, as runner slices do. */
static void
queue_episodes(struct writer *w, const char *agent, uint64_t first, uint64_t last)
{
    for (uint64_t at = first; at <= last; at += 10) {
        struct episode_rec e[10];
        size_t n = 0;
        for (uint64_t k = at; k <= last && n < 10; k++)
            e[n++] = (struct episode_rec){.episode = k, .step = k * 10, .length = 10};
        writer_episodes(w, agent, e, n);
    }
}

static void
queue_checkpoint(struct writer *w, const char *agent, uint64_t step, size_t len,
                 atomic_int *in_flight)
{
    struct checkpoint_hdr h = {.step = step, .episodes = step / 10};
    unsigned char *blob = malloc(len);
    for (size_t i = 0; i < len; i++)
        blob[i] = (unsigned char)(i * 7 + step);
    if (in_flight)
        atomic_store(in_flight, 1);
    writer_checkpoint(w, agent, &h, blob, len, in_flight);
}

/*
 * A full disk: the failed batch is neither lost nor reported as saved. It stays queued and
 * commits, in order, once there is room; meanwhile the backlog stays under its limit by
 * dropping history (counted, per agent), and only superseded checkpoints are let go.
 */
static void
full_disk_writer(void)
{
    if (!have_disk) {
        for (int i = 0; i < 16; i++)
            skip("no private tmpfs here (needs root): the writer on a full disk");
        return;
    }
    struct store *s;
    struct writer *w;
    char err[512] = "";
    mkdir(path("disk/w"), 0700);
    store_open(&s, path("disk/w"), 0, 0, err, sizeof err);
    struct writer_limits lim = {.checkpoints_kept = 3, .backlog_bytes = 16 << 10};
    writer_start(&w, s, &lim, count_error, NULL);
    queue_episodes(w, "cut", 1, 20);
    queue_episodes(w, "gone", 1, 5);
    queue_checkpoint(w, "gone", 50, 100, NULL);
    writer_put(w, DB_TOKENS, "old-token", 9, "{}", 2);
    ok(writer_flush(w, err, sizeof err) == 0, "a store on a 1 MiB disk takes records");

    fill_disk(0);
    atomic_int in_flight = 0;
    queue_episodes(w, "a", 1, 50);
    queue_checkpoint(w, "a", 100, 1 << 10, &in_flight);
    writer_truncate(w, "cut", 10, UINT64_MAX);
    writer_forget(w, "gone", 0);
    writer_put(w, DB_TOKENS, "new-token", 9, "{}", 2);
    writer_del(w, DB_TOKENS, "old-token", 9);
    writer_json(w, DB_AGENTS, "a", "{\"id\":\"a\"}", 10);
    ok(writer_flush(w, err, sizeof err) != 0, "the disk full, a flush fails");
    like(err, "No space left on device", "with the cause");
    ok(atomic_load(&in_flight) == 0, "the checkpoint's in-flight flag is down, though it is kept");
    ok(writer_flush(w, err, sizeof err) != 0,
       "a second flush fails too: the failed batch is still pending, not forgotten");
    queue_episodes(w, "a", 51, 2000);
    queue_checkpoint(w, "a", 200, 1 << 10, NULL);
    queue_checkpoint(w, "a", 300, 1 << 10, NULL);
    writer_flush(w, err, sizeof err);
    struct writer_stats st;
    struct writer_drops da;
    writer_stats(w, &st);
    writer_drops(w, "a", &da);
    ok(st.dropped > 0 && st.backlog <= lim.backlog_bytes && st.failing >= 2,
       "past the backlog's 16 KiB, history is dropped (%llu episodes; %llu bytes queued, %llu "
       "failed attempts in a row)",
       (unsigned long long)st.dropped, (unsigned long long)st.backlog,
       (unsigned long long)st.failing);
    ok(da.episodes == st.dropped && da.checkpoints == 2,
       "  counted for the agent (%llu episodes, %llu checkpoints)", (unsigned long long)da.episodes,
       (unsigned long long)da.checkpoints);
    ok(st.superseded == 2, "the checkpoints at steps 100 and 200 give way to the one at 300 (%llu)",
       (unsigned long long)st.superseded);
    ok(atomic_load(&write_errors) >= 3 && st.failures >= 3,
       "each failed attempt is reported (%d) and counted (%llu)", atomic_load(&write_errors),
       (unsigned long long)st.failures);

    free_disk();
    ok(writer_flush(w, err, sizeof err) == 0, "with room again, the next flush commits (%s)", err);
    writer_stats(w, &st);
    ok(st.failing == 0 && st.failing_since == 0 && st.backlog == 0,
       "  and the writer is no longer failing, its backlog empty (%llu bytes)",
       (unsigned long long)st.backlog);
    MDB_txn *txn;
    struct count a = {0}, cut = {0}, gone = {0}, ck = {0};
    struct checkpoint_hdr h = {0};
    const void *blob;
    size_t len;
    MDB_val k = {9, "new-token"}, v;
    store_read_begin(s, &txn);
    rec_each(s, txn, DB_EPISODES, "a", 0, UINT64_MAX, counter, &a);
    rec_each(s, txn, DB_EPISODES, "cut", 0, UINT64_MAX, counter, &cut);
    rec_each(s, txn, DB_EPISODES, "gone", 0, UINT64_MAX, counter, &gone);
    rec_each(s, txn, DB_CHECKPOINTS, "a", 0, UINT64_MAX, counter, &ck);
    int last = rec_last_checkpoint(s, txn, "a", &h, &blob, &len);
    int has_new = mdb_get(txn, store_dbi(s, DB_TOKENS), &k, &v) == 0;
    k = (MDB_val){9, "old-token"};
    int has_old = mdb_get(txn, store_dbi(s, DB_TOKENS), &k, &v) == 0;
    k = (MDB_val){1, "a"};
    int has_record = mdb_get(txn, store_dbi(s, DB_AGENTS), &k, &v) == 0;
    struct checkpoint_hdr gh;
    int gone_ck = rec_last_checkpoint(s, txn, "gone", &gh, &blob, &len);
    store_read_end(s, txn);
    ok(a.n + st.dropped == 2000 && a.last == 2000,
       "every episode not dropped is there, the newest included (%llu: %llu..%llu)",
       (unsigned long long)a.n, (unsigned long long)a.first, (unsigned long long)a.last);
    ok(last == 0 && h.step == 300 && ck.n == 1, "the newest checkpoint, alone (%llu at step %llu)",
       (unsigned long long)ck.n, (unsigned long long)h.step);
    ok(cut.n == 10 && cut.last == 10 && gone.n == 0 && gone_ck == MDB_NOTFOUND,
       "the truncate and the forget are applied");
    ok(has_new && !has_old && has_record, "so are the put, the delete and the JSON record");

    fill_disk(0);
    queue_episodes(w, "a", 101, 110);
    ok(writer_stop(w) == -1, "stopping on a disk still full gives the queue up, and says so");
    free_disk();
    store_close(s);
    unlink(path("disk/w/data.mdb"));
    unlink(path("disk/w/lock.mdb"));
}

static void
stale_reader(void)
{
    struct store *s;
    char err[512];
    mkdir(path("stale"), 0700);
    store_open(&s, path("stale"), 0, 0, err, sizeof err);
    store_close(s);
    /* A process keeps the store open, so that LMDB does not simply reset its lock file when
     * the next one opens it (what happens when every user has gone). */
    int hold[2], ready[2];
    if (pipe(hold) != 0 || pipe(ready) != 0)
        return;
    pid_t holder = fork();
    if (holder == 0) {
        char c = 1;
        close(hold[1]);
        close(ready[0]);
        if (store_open(&s, path("stale"), STORE_RDONLY, 0, err, sizeof err) == 0 &&
            write(ready[1], &c, 1) == 1)
            while (read(hold[0], &c, 1) > 0)
                ;
        _exit(0);
    }
    close(hold[0]);
    close(ready[1]);
    char c;
    ok(read(ready[0], &c, 1) == 1, "another process holds the store open");
    close(ready[0]);
    pid_t pid = fork();
    if (pid == 0) {
        /* A reader that dies holding its transaction, as under kill -9. */
        MDB_txn *txn;
        if (store_open(&s, path("stale"), STORE_RDONLY, 0, err, sizeof err) == 0 &&
            store_read_begin(s, &txn) == 0)
            raise(SIGKILL);
        _exit(1);
    }
    int status;
    waitpid(pid, &status, 0);
    ok(WIFSIGNALED(status), "a reader was killed mid-transaction");
    ok(store_open(&s, path("stale"), 0, 0, err, sizeof err) == 0, "the store opens after it");
    ok(store_stale_readers(s) == 1, "and its stale reader slot was cleared (%d)",
       store_stale_readers(s));
    store_close(s);
    close(hold[1]);
    waitpid(holder, &status, 0);
}

int
main(void)
{
    ok(mkdtemp(tmp) != NULL, "temp dir");
    have_disk = small_disk();
    basics();
    checkpoint_order();
    retention_shrinks();
    growth();
    refusals();
    stale_reader();
    full_disk_writer();
    backups();
    truncated();
    if (have_disk)
        umount2(path("disk"), MNT_DETACH);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
    ok(system(cmd) == 0, "cleanup");
    return done_testing();
}
