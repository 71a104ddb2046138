#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>
#include "host_side.h"
#include "log.h"

/*
 * Lines are formatted by the thread that logs and queued; one thread (started with the first
 * line) writes them to stderr, so that a slow or stalled reader of stderr (a full pipe, a
 * suspended terminal) never blocks a runner or an API call. The queue is bounded: a line
 * that finds it full is dropped and counted, and the writer says how many went once it
 * can write again. At exit what is queued is written (within LOG_EXIT_WAIT_S).
 *
 * Global state: the settings below are written once by log_setup, before any thread; the
 * queue (q_*), the status block and the counters are the writer's and the loggers', under
 * `lock`, which is never held across a write.
 */
#define LOG_QUEUE_CAP   4096
#define LOG_EXIT_WAIT_S 2

struct entry {
    char *line;   /* without its newline; NULL: a status block change */
    char *status; /* the new status block (NULL: none) */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t queued = PTHREAD_COND_INITIALIZER;  /* an entry came */
static pthread_cond_t written = PTHREAD_COND_INITIALIZER; /* the queue ran dry */
static struct entry q[LOG_QUEUE_CAP];
static size_t q_head, q_len;
static int writer_state; /* 0: not started, 1: running, -1: could not start (write inline) */
static int writing;      /* the writer is writing a batch */
static unsigned long long dropped_total, dropped_said;
static int json_lines;
static int min_level = LOG_INFO;
static int tty = -1;
static const char *const level_names[] = {"debug", "info", "warn", "error"};

/* Decided once in log_setup, before any thread starts, and only read afterwards. */
int
log_is_tty(void)
{
    return tty > 0;
}

int
log_setup(const char *format, const char *level)
{
    int lvl = -1;
    for (int i = 0; i < 4; i++)
        if (level && strcmp(level, level_names[i]) == 0)
            lvl = i;
    if (lvl < 0)
        return -1;
    tty = isatty(STDERR_FILENO);
    if (!format || strcmp(format, "auto") == 0)
        json_lines = !log_is_tty();
    else if (strcmp(format, "text") == 0)
        json_lines = 0;
    else if (strcmp(format, "json") == 0)
        json_lines = 1;
    else
        return -1;
    min_level = lvl;
    return 0;
}

/* The writer's: the status block drawn below the log on a terminal. */
static char *status;
static int status_lines;

static void
erase_status(void)
{
    if (status_lines > 0)
        fprintf(stderr, "\033[%dF\033[J", status_lines);
}

static void
draw_status(void)
{
    if (status && *status)
        fputs(status, stderr);
}

static void
set_status(char *text)
{
    free(status);
    status = text;
    status_lines = 0;
    for (const char *p = status; p && *p; p++)
        status_lines += *p == '\n';
}

/* Writes one entry (the writer, or a logger when there is no writer). */
static void
write_entry(struct entry *e)
{
    erase_status();
    if (e->line)
        fprintf(stderr, "%s\n", e->line);
    else
        set_status(e->status);
    draw_status();
    free(e->line);
}

static char *format_line(int level, const char *source, const char *raw_msg);

/* Says how many lines the queue dropped since it last said so (the writer). */
static void
say_dropped(unsigned long long n)
{
    char msg[160];
    snprintf(msg, sizeof msg,
             "%llu log line%s dropped: stderr was not read fast enough (the log never waits)", n,
             n == 1 ? "" : "s");
    struct entry e = {format_line(LOG_WARN, "log", msg), NULL};
    if (e.line)
        write_entry(&e);
}

static void *
writer_main(void *arg)
{
    (void)arg;
    struct entry batch[64];
    pthread_mutex_lock(&lock);
    for (;;) {
        while (q_len == 0) {
            writing = 0;
            pthread_cond_broadcast(&written);
            pthread_cond_wait(&queued, &lock);
        }
        writing = 1;
        size_t n = 0;
        for (; n < sizeof batch / sizeof batch[0] && q_len; n++, q_len--) {
            batch[n] = q[q_head];
            q_head = (q_head + 1) % LOG_QUEUE_CAP;
        }
        unsigned long long lost = dropped_total - dropped_said;
        dropped_said = dropped_total;
        pthread_mutex_unlock(&lock);
        for (size_t i = 0; i < n; i++)
            write_entry(&batch[i]);
        if (lost)
            say_dropped(lost);
        fflush(stderr);
        pthread_mutex_lock(&lock);
    }
    return NULL;
}

/* Writes what is queued before the process exits, waiting at most LOG_EXIT_WAIT_S. */
static void
flush_at_exit(void)
{
    log_flush(LOG_EXIT_WAIT_S);
}

void
log_flush(double timeout_s)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += (time_t)timeout_s;
    pthread_mutex_lock(&lock);
    while (writer_state == 1 && (q_len || writing))
        if (pthread_cond_timedwait(&written, &lock, &until) != 0)
            break;
    pthread_mutex_unlock(&lock);
}

/* A forked child has no writer: it starts its own with its first line. */
static void
after_fork_child(void)
{
    pthread_mutex_init(&lock, NULL);
    pthread_cond_init(&queued, NULL);
    pthread_cond_init(&written, NULL);
    q_head = q_len = 0; /* the parent's lines are the parent's to write */
    writer_state = 0;
    writing = 0;
}

/* With lock: starts the writer on first use; 0 when it runs. */
static int
writer_ready(void)
{
    static int hooks;
    if (writer_state == 0) {
        pthread_t t;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        writer_state = pthread_create(&t, &attr, writer_main, NULL) == 0 ? 1 : -1;
        pthread_attr_destroy(&attr);
        if (writer_state == 1) {
            pthread_setname_np(t, "tars-log");
            if (!hooks) {
                hooks = 1;
                atexit(flush_at_exit);
                pthread_atfork(NULL, NULL, after_fork_child);
            }
        }
    }
    return writer_state == 1 ? 0 : -1;
}

/* Queues e (taking its strings), or writes it here when no writer could start. */
static void
enqueue(struct entry e)
{
    pthread_mutex_lock(&lock);
    if (writer_ready() != 0) {
        write_entry(&e); /* no thread to hand it to: the old, blocking way */
        fflush(stderr);
    } else if (q_len == LOG_QUEUE_CAP) {
        dropped_total++;
        free(e.line);
        free(e.status);
    } else {
        q[(q_head + q_len) % LOG_QUEUE_CAP] = e;
        q_len++;
        pthread_cond_signal(&queued);
    }
    pthread_mutex_unlock(&lock);
}

unsigned long long
log_dropped(void)
{
    pthread_mutex_lock(&lock);
    unsigned long long n = dropped_total;
    pthread_mutex_unlock(&lock);
    return n;
}

/* One line (malloc'd, no newline) in the configured format, or NULL. */
static char *
format_line(int level, const char *source, const char *raw_msg)
{
    /* One line of valid UTF-8 whatever a plugin or a file name contained. */
    char msg[2048], src[128];
    tars__escape_line(raw_msg, msg, sizeof msg);
    tars__escape_line(source ? source : "", src, sizeof src);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char when[40];
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
    const char *lvl = level_names[level < 0 ? 0 : level > 3 ? 3 : level];
    char *line = NULL;
    if (json_lines) {
        char stamp[64];
        snprintf(stamp, sizeof stamp, "%.40s.%03dZ", when, (int)(ts.tv_nsec / 1000000));
        json_t *o =
            json_pack("{s:s, s:s, s:s, s:s}", "ts", stamp, "level", lvl, "source", src, "msg", msg);
        line = o ? json_dumps(o, JSON_COMPACT) : NULL;
        json_decref(o);
    } else if (asprintf(&line, "%s %-5s %s: %s", when, lvl, src, msg) < 0) {
        line = NULL;
    }
    return line;
}

static void
emit(int level, const char *source, const char *raw_msg)
{
    if (level < min_level)
        return;
    struct entry e = {format_line(level, source, raw_msg), NULL};
    if (e.line)
        enqueue(e);
}

void
hlog(int level, const char *source, const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    emit(level, source, msg);
}

void
log_plugin_line(const tars_ctx *ctx, tars_log_level level, const char *msg)
{
    emit((int)level, tars_ctx_name(ctx), msg);
}

void
log_status(const char *text)
{
    if (!log_is_tty())
        return;
    struct entry e = {NULL, text && *text ? strdup(text) : NULL};
    enqueue(e);
}
