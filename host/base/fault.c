#include "fault.h"
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

_Thread_local struct fault_slots fault_here;

static int record_fd = -1;

static const int fatal[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};

const char *
fault_signal_name(int sig)
{
    switch (sig) {
    case SIGSEGV:
        return "SIGSEGV";
    case SIGBUS:
        return "SIGBUS";
    case SIGILL:
        return "SIGILL";
    case SIGFPE:
        return "SIGFPE";
    case SIGABRT:
        return "SIGABRT";
    case SIGKILL:
        return "SIGKILL";
    case SIGTERM:
        return "SIGTERM";
    case SIGINT:
        return "SIGINT";
    case SIGHUP:
        return "SIGHUP";
    case SIGQUIT:
        return "SIGQUIT";
    case SIGXCPU:
        return "SIGXCPU";
    default:
        return "signal";
    }
}

/* Appends s (NULL: "?") to buf at *at, keeping room for the final newline. */
static void
put(char *buf, size_t cap, size_t *at, const char *s)
{
    if (!s)
        s = "?";
    while (*s && *at + 2 < cap)
        buf[(*at)++] = *s++;
}

static void
put_int(char *buf, size_t cap, size_t *at, int v)
{
    char digits[12];
    int n = 0;
    do {
        digits[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v && n < 11);
    while (n && *at + 2 < cap)
        buf[(*at)++] = digits[--n];
}

static void
write_all(int fd, const char *buf, size_t len)
{
    while (len) {
        ssize_t w = write(fd, buf, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        buf += w;
        len -= (size_t)w;
    }
}

static void
on_fatal(int sig)
{
    int saved = errno;
    const char *op = atomic_load_explicit(&fault_here.op, memory_order_relaxed);
    atomic_signal_fence(memory_order_acquire);
    const char *file = atomic_load_explicit(&fault_here.file, memory_order_relaxed);
    const char *sha = atomic_load_explicit(&fault_here.sha256, memory_order_relaxed);
    const char *run = atomic_load_explicit(&fault_here.run, memory_order_relaxed);
    char line[1024];
    size_t at = 0;
    if (op && record_fd >= 0) {
        put(line, sizeof line, &at, "F\t");
        put(line, sizeof line, &at, file);
        put(line, sizeof line, &at, "\t");
        put(line, sizeof line, &at, sha);
        put(line, sizeof line, &at, "\t");
        put(line, sizeof line, &at, op);
        put(line, sizeof line, &at, "\t");
        put(line, sizeof line, &at, run ? run : "-");
        put(line, sizeof line, &at, "\t");
        put_int(line, sizeof line, &at, sig);
        line[at++] = '\n';
        write_all(record_fd, line, at);
    }
    at = 0;
    put(line, sizeof line, &at, "tarsd: ");
    if (op) {
        char short_sha[13] = {0};
        for (int i = 0; sha && i < 12 && sha[i]; i++)
            short_sha[i] = sha[i];
        put(line, sizeof line, &at, file);
        put(line, sizeof line, &at, " (sha256 ");
        put(line, sizeof line, &at, short_sha);
        put(line, sizeof line, &at, "…) crashed tarsd in ");
        put(line, sizeof line, &at, op);
        if (run) {
            put(line, sizeof line, &at, " of agent '");
            put(line, sizeof line, &at, run);
            put(line, sizeof line, &at, "'");
        }
    } else {
        put(line, sizeof line, &at, "crashed outside plugin code");
    }
    put(line, sizeof line, &at, ": ");
    put(line, sizeof line, &at, fault_signal_name(sig));
    line[at++] = '\n';
    write_all(2, line, at);
    /* The handler was reset on entry (SA_RESETHAND) and the signal is not blocked
     * (SA_NODEFER): raised again, it kills with the default action. */
    errno = saved;
    raise(sig);
}

#define FAULT_STACK (64 * 1024)

static _Thread_local void *alt_stack;

int
fault_thread_begin(void)
{
    stack_t ss = {.ss_size = FAULT_STACK};
    if (!(ss.ss_sp = alt_stack = malloc(FAULT_STACK)))
        return -ENOMEM;
    if (sigaltstack(&ss, NULL) != 0) {
        int e = errno;
        free(alt_stack);
        alt_stack = NULL;
        return -e;
    }
    return 0;
}

void
fault_thread_end(void)
{
    if (!alt_stack)
        return;
    stack_t ss = {.ss_flags = SS_DISABLE};
    sigaltstack(&ss, NULL);
    free(alt_stack);
    alt_stack = NULL;
}

int
fault_install(int fd)
{
    record_fd = fd;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_fatal;
    sa.sa_flags = SA_RESETHAND | SA_NODEFER | SA_ONSTACK; /* ONSTACK: where one was given */
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof fatal / sizeof fatal[0]; i++)
        if (sigaction(fatal[i], &sa, NULL) != 0)
            return -errno;
    return 0;
}
