/* The parent half of the smoke test (smoke.h): start the child, wait for it, say why it failed. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "host.h"
#include "smoke.h"
#include "smoke_server.h"

extern char **environ;

/* The most telling line of the child's output: a sanitizer's SUMMARY, else the last line. */
static void
last_words(const char *path, char *out, size_t len)
{
    char buf[8192];
    out[0] = '\0';
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    struct stat st;
    off_t from = fstat(fd, &st) == 0 && st.st_size > (off_t)sizeof buf - 1
                     ? st.st_size - (off_t)sizeof buf + 1
                     : 0;
    ssize_t n = pread(fd, buf, sizeof buf - 1, from);
    close(fd);
    if (n <= 0)
        return;
    buf[n] = '\0';
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        buf[--n] = '\0';
    const char *line = strstr(buf, "SUMMARY: ");
    if (!line) {
        line = strrchr(buf, '\n');
        line = line ? line + 1 : buf;
    }
    char one[1024];
    snprintf(one, sizeof one, "%.*s", (int)strcspn(line, "\n"), line);
    tars__escape_line(one, out, len);
}

/*
 * The child's environment: the daemon's, with TMPDIR set to dir, so that its own plugin cache
 * lands inside dir, where sweep() finds it whatever became of the child (malloc'd, NULL-ended).
 */
static char **
child_env(const char *dir)
{
    size_t n = 0;
    while (environ[n])
        n++;
    char **env = calloc(n + 2, sizeof *env);
    char *tmp = NULL;
    if (!env || asprintf(&tmp, "TMPDIR=%s", dir) < 0) {
        free(env);
        return NULL;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], "TMPDIR=", 7) != 0)
            env[k++] = environ[i];
    env[k] = tmp;
    return env;
}

static void
env_free(char **env)
{
    if (!env)
        return;
    for (size_t i = 0; env[i]; i++)
        if (strncmp(env[i], "TMPDIR=", 7) == 0)
            free(env[i]);
    free(env);
}

/* Removes what a child left in dir: its tars-plugins-* cache (a crashed child cannot). */
static void
sweep(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (strncmp(e->d_name, "tars-plugins-", 13) != 0)
            continue;
        char sub[4096];
        snprintf(sub, sizeof sub, "%s/%s", dir, e->d_name);
        DIR *s = opendir(sub);
        struct dirent *f;
        while (s && (f = readdir(s))) {
            char file[4400];
            snprintf(file, sizeof file, "%s/%s", sub, f->d_name);
            if (f->d_name[0] != '.')
                unlink(file);
        }
        if (s)
            closedir(s);
        rmdir(sub);
    }
    if (d)
        closedir(d);
}

static int
spawn(const char *dir, const char *job, const char *out, pid_t *pid, char *err, size_t errlen)
{
    /* /proc/self/exe, not the path it names: after a package upgrade replaced tarsd's file,
     * the child is still the running tarsd. */
    char exe[] = "/proc/self/exe";
    int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return snprintf(err, errlen, "cannot create %s: %s", out, strerror(errno)), -1;
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, fd, 1);
    posix_spawn_file_actions_adddup2(&fa, fd, 2);
    /* Nothing of the daemon's leaks into the child: not the state dir's lock, not a socket. */
    posix_spawn_file_actions_addclosefrom_np(&fa, 3);
    posix_spawnattr_init(&attr);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
                                        POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setpgroup(&attr, 0);
    char *argv[] = {exe, SMOKE_COMMAND, (char *)job, NULL};
    char **env = child_env(dir);
    int rc = env ? posix_spawn(pid, exe, &fa, &attr, argv, env) : ENOMEM;
    env_free(env);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    close(fd);
    if (rc)
        return snprintf(err, errlen, "cannot start the smoke test (%s): %s", exe, strerror(rc)), -1;
    return 0;
}

/* Kills pid's process group (what it forked goes too), then reaps pid into *status. */
static void
end_group(pid_t pid, int *status)
{
    kill(-pid, SIGKILL);
    while (waitpid(pid, status, 0) < 0 && errno == EINTR)
        ;
}

/*
 * Waits for pid at most timeout_s (or until *stop); kills its group then, and in any case
 * once it exited (the group exists until pid is reaped, so the kill cannot hit another).
 * Returns 0 when it exited, 1 when it had to be killed, -1 when waiting failed: the test
 * then fails closed.
 */
static int
reap(pid_t pid, double timeout_s, const atomic_int *stop, int *status)
{
    double until = host_now() + timeout_s;
    long sleep_ns = 100 * 1000;
    for (;;) {
        siginfo_t info = {0};
        int got = waitid(P_PID, (id_t)pid, &info, WEXITED | WNOHANG | WNOWAIT);
        if (got == 0 && info.si_pid == pid) {
            end_group(pid, status);
            return 0;
        }
        if (got < 0 && errno != EINTR) {
            int e = errno;
            kill(-pid, SIGKILL);
            errno = e;
            return -1;
        }
        if (host_now() > until || (stop && atomic_load(stop))) {
            end_group(pid, status);
            return 1;
        }
        struct timespec ts = {0, sleep_ns};
        nanosleep(&ts, NULL);
        if (sleep_ns < 5 * 1000 * 1000)
            sleep_ns *= 2;
    }
}

int
smoke_run(const char *dir, json_t *job, double timeout_s, const atomic_int *stop, char *err,
          size_t errlen)
{
    static unsigned counter; /* the code-swap thread's */
    char job_path[4096], out_path[4096], words[512];
    unsigned n = ++counter;
    snprintf(job_path, sizeof job_path, "%s/smoke-%u.json", dir, n);
    snprintf(out_path, sizeof out_path, "%s/smoke-%u.out", dir, n);
    /* Limits the child sets on itself (smoke_child.c): its CPU time, its address space. */
    json_object_set_new(job, "cpu_s", json_integer((json_int_t)ceil(timeout_s) + 1));
    json_object_set_new(job, "as_mb", json_integer(SMOKE_AS_MB));
    if (json_dump_file(job, job_path, JSON_COMPACT) != 0) {
        snprintf(err, errlen, "cannot write %s", job_path);
        return -1;
    }
    int status = 0, killed = 0, rc = 0;
    int served = smoke_server_run(dir, job_path, out_path, timeout_s, stop, &status, err, errlen);
    if (served == SMOKE_SERVER_ABSENT) { /* no helper: a fresh tarsd */
        pid_t pid;
        rc = spawn(dir, job_path, out_path, &pid, err, errlen);
        if (rc == 0 && (killed = reap(pid, timeout_s, stop, &status)) < 0) {
            snprintf(err, errlen, "cannot wait for the smoke test: %s", strerror(errno));
            rc = -1;
        }
    } else if (served == SMOKE_SERVER_FAILED) {
        rc = -1;
    } else {
        killed = served == SMOKE_SERVER_KILLED;
    }
    if (rc == 0) {
        last_words(out_path, words, sizeof words);
        if (killed && stop && atomic_load(stop)) {
            snprintf(err, errlen, "tarsd is stopping: the smoke test was cut short");
            rc = -1;
        } else if (killed) {
            snprintf(err, errlen, "the smoke test did not finish within %.0f s and was killed%s%s",
                     timeout_s, *words ? "; its last output: " : "", words);
            rc = -1;
        } else if (WIFSIGNALED(status)) {
            int sig = WTERMSIG(status);
            const char *abbrev = sigabbrev_np(sig), *descr = sigdescr_np(sig);
            snprintf(err, errlen, "the smoke test crashed with SIG%s (%s)%s%s",
                     abbrev ? abbrev : "?", descr ? descr : "unknown signal",
                     *words ? "; its last output: " : "", words);
            rc = -1;
        } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            snprintf(err, errlen, "the smoke test failed: %s",
                     *words ? words : "it exited with an error and said nothing");
            rc = -1;
        }
    }
    unlink(job_path);
    unlink(out_path);
    sweep(dir);
    return rc;
}
