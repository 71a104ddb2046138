/*
 * tarsd serve's supervising parent (nginx's master/worker pattern, SPEC §5 "Supervision").
 *
 * The parent stays small and single-threaded: it maps no plugin and opens no store. It starts
 * the worker (tarsd itself again, /proc/self/exe with the same arguments, so that a package
 * upgrade that replaced tarsd's file changes nothing) with a pipe whose write end the worker's
 * fault handler writes to (base/fault.h), forwards SIGTERM, SIGINT, SIGHUP and SIGUSR1 to it,
 * and exits with its exit status. When the worker dies of a signal:
 *   - in a plugin's op (the pipe holds a fault record): the build is quarantined by sha256 in
 *     the state dir (registry/quarantine.h) and a new worker starts at once; it resumes every
 *     other agent, and the quarantined build's agents come back failed with the reason;
 *   - elsewhere: a new worker starts, unless this happened SUPERVISE_UNBLAMED times in a row,
 *     when the parent stops with an error rather than loop.
 * A worker that lived SUPERVISE_STEADY_S resets the counts. The worker dies with the parent
 * (PR_SET_PDEATHSIG), so kill -9 of the daemon's pid leaves nothing behind.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "clock.h"
#include "commands.h"
#include "fault.h"
#include "log.h"
#include "quarantine.h"

#define SUPERVISE_UNBLAMED 3   /* deaths in a row with no plugin to blame before giving up */
#define SUPERVISE_BLAMED   8   /* deaths in a row, blamed or not, before giving up */
#define SUPERVISE_STEADY_S 60. /* a worker that lived this long resets both counts */
#define WORKER_FD_ENV      "TARS_WORKER_FD"

static volatile sig_atomic_t worker_pid;
static volatile sig_atomic_t stop_asked;
static int worker_fd = -1; /* the worker's end of the pipe (-1: not supervised) */
static int is_worker;      /* this process is a supervised worker (set once, at start) */

static void
forward(int sig)
{
    if (sig == SIGTERM || sig == SIGINT)
        stop_asked = 1;
    if (worker_pid > 0)
        kill((pid_t)worker_pid, sig);
}

int
supervise_is_worker(void)
{
    return is_worker || getenv(WORKER_FD_ENV) != NULL;
}

int
supervise_worker_setup(void)
{
    const char *v = getenv(WORKER_FD_ENV);
    if (!v)
        return fault_install(-1);
    is_worker = 1;
    worker_fd = atoi(v);
    unsetenv(WORKER_FD_ENV);
    if (worker_fd < 3 || fcntl(worker_fd, F_SETFD, FD_CLOEXEC) != 0)
        worker_fd = -1;
    return fault_install(worker_fd);
}

void
supervise_hello(const char *state_dir)
{
    if (worker_fd < 0)
        return;
    char line[4200];
    int n = snprintf(line, sizeof line, "S\t%s\n", state_dir);
    if (n > 0 && (size_t)n < sizeof line && write(worker_fd, line, (size_t)n) < 0)
        hlog(LOG_WARN, "tarsd", "cannot tell the supervisor the state dir: %s", strerror(errno));
}

void
supervise_ready(void)
{
    if (worker_fd >= 0 && write(worker_fd, "R\tserving\n", 10) < 0)
        hlog(LOG_WARN, "tarsd", "cannot tell the supervisor the worker serves: %s",
             strerror(errno));
}

/* Starts a worker; its pid, and the read end of its pipe in *rfd. */
static pid_t
start_worker(char **argv, int *rfd)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0)
        return -errno;
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(p[0]);
        close(p[1]);
        return -e;
    }
    if (pid == 0) {
        char fd[16];
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(1);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        fcntl(p[1], F_SETFD, 0);
        snprintf(fd, sizeof fd, "%d", p[1]);
        setenv(WORKER_FD_ENV, fd, 1);
        execv("/proc/self/exe", argv);
        fprintf(stderr, "tarsd: cannot start the worker (/proc/self/exe): %s\n", strerror(errno));
        _exit(127);
    }
    close(p[1]);
    *rfd = p[0];
    return pid;
}

/* Everything the worker wrote to its pipe (it is dead: the pipe ends there). */
static void
read_pipe(int fd, char *buf, size_t cap)
{
    size_t at = 0;
    while (at + 1 < cap) {
        ssize_t n = read(fd, buf + at, cap - 1 - at);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        at += (size_t)n;
    }
    buf[at] = '\0';
    close(fd);
}

/* The value of the last line starting with tag ("S", "F", "R"), without the tag; NULL if none. */
static char *
last_line(char *buf, const char *tag)
{
    char *found = NULL;
    size_t tl = strlen(tag);
    for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n"))
        if (strncmp(line, tag, tl) == 0 && line[tl] == '\t')
            found = line + tl + 1;
    return found;
}

/* Parses "file sha op run signum" into q; 0 when it is whole. */
static int
parse_fault(char *rec, struct quarantine *q, double when)
{
    char *f[5];
    int n = 0;
    for (char *s = rec; n < 5; n++) {
        f[n] = s;
        char *tab = strchr(s, '\t');
        if (!tab) {
            n++;
            break;
        }
        *tab = '\0';
        s = tab + 1;
    }
    if (n != 5 || strlen(f[1]) != 64)
        return -EINVAL;
    memset(q, 0, sizeof *q);
    snprintf(q->file, sizeof q->file, "%s", f[0]);
    snprintf(q->sha256, sizeof q->sha256, "%s", f[1]);
    snprintf(q->op, sizeof q->op, "%s", f[2]);
    snprintf(q->run, sizeof q->run, "%s", strcmp(f[3], "-") ? f[3] : "");
    snprintf(q->signal, sizeof q->signal, "%s", fault_signal_name(atoi(f[4])));
    q->time = when;
    quarantine_describe(q);
    return 0;
}

/* After a death by signal: quarantines the build the pipe blames. 1 when one was blamed. */
static int
blame(const char *out, const char *state_dir)
{
    char copy[8192];
    snprintf(copy, sizeof copy, "%s", out);
    char *rec = last_line(copy, "F");
    struct quarantine q;
    char err[512];
    if (!rec || !state_dir || parse_fault(rec, &q, host_wall()))
        return 0;
    if (quarantine_add(state_dir, &q, err, sizeof err)) {
        hlog(LOG_ERROR, "tarsd", "%s; %s", q.reason, err);
        return 0;
    }
    hlog(LOG_ERROR, "tarsd", "%s; build quarantined, starting a new worker", q.reason);
    return 1;
}

static void
handle_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = forward;
    sigemptyset(&sa.sa_mask);
    int sigs[] = {SIGTERM, SIGINT, SIGHUP, SIGUSR1};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        sigaction(sigs[i], &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/* Waits for the worker; its wait status. */
static int
wait_worker(pid_t pid)
{
    int st = 0;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return -1;
    return st;
}

int
supervise(const struct opts *o, char **argv)
{
    int unblamed = 0, deaths = 0;
    char state_dir[4096] = "";
    log_setup(o->flags.log_format ? o->flags.log_format : "auto", "info");
    handle_signals();
    for (;;) {
        int rfd = -1;
        double born = host_now();
        pid_t pid = start_worker(argv, &rfd);
        if (pid < 0) {
            fprintf(stderr, "tarsd: cannot start the worker: %s\n", strerror((int)-pid));
            return 1;
        }
        worker_pid = pid;
        int st = wait_worker(pid), wait_errno = errno;
        worker_pid = 0;
        char out[8192], copy[8192];
        read_pipe(rfd, out, sizeof out);
        snprintf(copy, sizeof copy, "%s", out);
        const char *dir = last_line(copy, "S");
        if (dir)
            snprintf(state_dir, sizeof state_dir, "%s", dir);
        if (st < 0) {
            hlog(LOG_ERROR, "tarsd", "cannot wait for the worker: %s", strerror(wait_errno));
            return 1;
        }
        /* A worker that fails to start has said why in one line; one that had started and
         * exits unasked (signalled on its own, or an error) is said to have, so that a parent
         * that stops is never silent. */
        snprintf(copy, sizeof copy, "%s", out);
        if (WIFEXITED(st) && !stop_asked && last_line(copy, "R"))
            hlog(WEXITSTATUS(st) ? LOG_ERROR : LOG_WARN, "tarsd",
                 "the worker exited with status %d, unasked (see the lines above); stopping",
                 WEXITSTATUS(st));
        if (WIFEXITED(st))
            return WEXITSTATUS(st);
        int sig = WTERMSIG(st);
        if (stop_asked)
            return 128 + sig;
        if (host_now() - born >= SUPERVISE_STEADY_S)
            unblamed = deaths = 0;
        deaths++;
        if (blame(out, state_dir[0] ? state_dir : NULL)) {
            unblamed = 0;
        } else if (++unblamed >= SUPERVISE_UNBLAMED) {
            hlog(LOG_ERROR, "tarsd",
                 "the worker died of %s %d times in a row with no plugin to blame; stopping "
                 "rather than loop (see the lines above)",
                 fault_signal_name(sig), unblamed);
            return 1;
        } else {
            hlog(LOG_ERROR, "tarsd",
                 "the worker died of %s outside plugin code; starting a new one",
                 fault_signal_name(sig));
        }
        if (deaths >= SUPERVISE_BLAMED) {
            hlog(LOG_ERROR, "tarsd", "the worker died %d times in a row; stopping rather than loop",
                 deaths);
            return 1;
        }
        if (unblamed) { /* give whatever it was a moment (well within the 2 s promised) */
            struct timespec ts = {0, 200 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
    }
}
