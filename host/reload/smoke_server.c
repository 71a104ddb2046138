/* The smoke tests' fork server (smoke_server.h): the helper's loop and the worker's client. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include "clock.h"
#include "smoke.h"
#include "smoke_server.h"

#define REQUEST_MAX  (3 * 4096 + 16)
#define REPLY_WAIT_S 5.0 /* for the helper's answers that need no test to end */

/* The worker's end of the helper's socket (-1: none), and the helper's pid. Written once in
 * main before any thread, then by the code-swap thread alone (when the helper is gone). */
static int server_fd = -1;
static pid_t server_pid;

/* The signals the helper ignores (a terminal's ^C, a pkill of tarsd's name); its children
 * take them back. */
static const int ignored[] = {SIGINT, SIGHUP, SIGTERM, SIGUSR1, SIGUSR2};

/*
 * The child: the job's smoke test, in a group of its own, with out as its stdout and stderr.
 * It dies with the helper (which dies with the worker): no test outlives tarsd.
 */
static _Noreturn void
child(pid_t helper_pid, const char *dir, const char *job, int out)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL); /* fork cleared the helper's */
    if (getppid() != helper_pid)
        _exit(126);
    setpgid(0, 0);
    int in = open("/dev/null", O_RDONLY);
    if (in < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
        _exit(126);
    closefrom(3);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_DFL);
    for (size_t i = 0; i < sizeof ignored / sizeof *ignored; i++)
        signal(ignored[i], SIG_DFL);
    if (setenv("TMPDIR", dir, 1) != 0)
        _exit(126);
    /* exit, not _exit: stdio is flushed and the sanitizers' exit checks run, as in tarsd. */
    exit(smoke_main(job));
}

static void
say(int fd, const char *fmt, long a, long b)
{
    char msg[64];
    int n = snprintf(msg, sizeof msg, fmt, a, b);
    while (send(fd, msg, (size_t)n, MSG_NOSIGNAL) < 0 && errno == EINTR)
        ;
}

/* One request: "dir\0job\0out\0". Answers "P pid" then "S status", or "E errno". */
static void
serve_one(int fd, const char *msg, size_t len)
{
    const char *dir = msg, *end = msg + len;
    const char *job = memchr(dir, '\0', len) ? dir + strlen(dir) + 1 : end;
    const char *out =
        job < end && memchr(job, '\0', (size_t)(end - job)) ? job + strlen(job) + 1 : end;
    if (out >= end || !memchr(out, '\0', (size_t)(end - out))) {
        say(fd, "E %ld %ld", EINVAL, 0);
        return;
    }
    int ofd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (ofd < 0) {
        say(fd, "E %ld %ld", errno, 0);
        return;
    }
    pid_t self = getpid();
    pid_t pid = fork();
    if (pid == 0)
        child(self, dir, job, ofd);
    int e = errno;
    close(ofd);
    if (pid < 0) {
        say(fd, "E %ld %ld", e, 0);
        return;
    }
    setpgid(pid, pid); /* as the child does: whichever runs first, the group exists */
    say(fd, "P %ld %ld", pid, 0);
    /* Once it exited (not yet reaped, so its pid and group id stay its own), what it forked
     * goes too; then it is reaped. */
    siginfo_t si;
    while (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT) < 0 && errno == EINTR)
        ;
    kill(-pid, SIGKILL);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    say(fd, "S %ld %ld", status, 0);
}

static _Noreturn void
helper(int fd)
{
    static char msg[REQUEST_MAX];
    for (;;) {
        ssize_t n = recv(fd, msg, sizeof msg, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            _exit(0); /* the worker is gone */
        serve_one(fd, msg, (size_t)n);
    }
}

int
smoke_server_start(void)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
        return -errno;
    fflush(NULL); /* nothing buffered is written twice */
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(sv[0]);
        close(sv[1]);
        return -e;
    }
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(0);
        prctl(PR_SET_NAME, "tarsd-smoke");
        signal(SIGPIPE, SIG_IGN);
        for (size_t i = 0; i < sizeof ignored / sizeof *ignored; i++)
            signal(ignored[i], SIG_IGN);
        /* Only the socket (as fd 3) and stdin/stdout/stderr: not the supervisor's pipe, which
         * must close when the worker dies. */
        if (dup2(sv[1], 3) < 0)
            _exit(1);
        closefrom(4);
        helper(3);
    }
    close(sv[1]);
    server_fd = sv[0];
    server_pid = pid;
    return 0;
}

/* The helper is of no more use: it is killed and never asked again. */
static void
drop_server(void)
{
    close(server_fd);
    server_fd = -1;
    kill(server_pid, SIGKILL);
    while (waitpid(server_pid, NULL, 0) < 0 && errno == EINTR)
        ;
}

/*
 * The helper's next answer ("P" or "S") within wait_s, or until *stop when stop is not NULL.
 * 1 with its two numbers; 0 on timeout or stop; REFUSED with errno when it answered "E"; GONE
 * when the helper is gone or said something else.
 */
enum { GONE = -1, REFUSED = -2 };
static int
answer(double wait_s, const atomic_int *stop, char tag, long *a, long *b)
{
    double until = host_now() + wait_s;
    for (;;) {
        struct pollfd p = {.fd = server_fd, .events = POLLIN};
        int got = poll(&p, 1, 20);
        if (got < 0 && errno != EINTR)
            return GONE;
        if (got > 0) {
            char msg[64];
            ssize_t n = recv(server_fd, msg, sizeof msg - 1, 0);
            if (n <= 0)
                return GONE;
            msg[n] = '\0';
            char t;
            if (sscanf(msg, "%c %ld %ld", &t, a, b) != 3 || (t != tag && t != 'E'))
                return GONE;
            if (t == 'E') {
                errno = (int)*a;
                return REFUSED;
            }
            return 1;
        }
        if (host_now() > until || (stop && atomic_load(stop)))
            return 0;
    }
}

int
smoke_server_run(const char *dir, const char *job, const char *out, double timeout_s,
                 const atomic_int *stop, int *status, char *err, size_t errlen)
{
    char msg[REQUEST_MAX];
    size_t ld = strlen(dir) + 1, lj = strlen(job) + 1, lo = strlen(out) + 1;
    if (server_fd < 0 || ld + lj + lo > sizeof msg)
        return SMOKE_SERVER_ABSENT;
    memcpy(msg, dir, ld);
    memcpy(msg + ld, job, lj);
    memcpy(msg + ld + lj, out, lo);
    ssize_t sent;
    while ((sent = send(server_fd, msg, ld + lj + lo, MSG_NOSIGNAL)) < 0 && errno == EINTR)
        ;
    if (sent < 0) { /* it died before this test: nothing was started */
        drop_server();
        return SMOKE_SERVER_ABSENT;
    }
    long pid, unused;
    int got = answer(REPLY_WAIT_S, NULL, 'P', &pid, &unused);
    if (got == REFUSED) {
        snprintf(err, errlen, "cannot start the smoke test: %s", strerror(errno));
        return SMOKE_SERVER_FAILED;
    }
    if (got <= 0) {
        drop_server();
        snprintf(err, errlen, "cannot start the smoke test: the smoke helper did not answer");
        return SMOKE_SERVER_FAILED;
    }
    long st = 0;
    got = answer(timeout_s, stop, 'S', &st, &unused);
    int killed = got == 0;
    if (killed) {
        kill(-(pid_t)pid, SIGKILL);
        got = answer(REPLY_WAIT_S, NULL, 'S', &st, &unused);
    }
    if (got <= 0) { /* fail closed: whatever the child did is unknown */
        kill(-(pid_t)pid, SIGKILL);
        drop_server();
        snprintf(err, errlen, "cannot wait for the smoke test: the smoke helper is gone");
        return SMOKE_SERVER_FAILED;
    }
    *status = (int)st;
    return killed ? SMOKE_SERVER_KILLED : 0;
}
