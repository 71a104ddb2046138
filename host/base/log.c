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

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int json_lines;
static int min_level = LOG_INFO;
static int tty = -1;
static char *status;
static int status_lines;

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
emit(int level, const char *source, const char *raw_msg)
{
    if (level < min_level)
        return;
    /* One line of valid UTF-8 whatever a plugin or a file name contained. */
    char msg[2048], src[128];
    tars__escape_line(raw_msg, msg, sizeof msg);
    tars__escape_line(source ? source : "", src, sizeof src);
    source = src;
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
        json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "ts", stamp, "level", lvl, "source", source,
                              "msg", msg);
        line = o ? json_dumps(o, JSON_COMPACT) : NULL;
        json_decref(o);
    } else if (asprintf(&line, "%s %-5s %s: %s", when, lvl, source, msg) < 0) {
        line = NULL;
    }
    if (!line)
        return;
    pthread_mutex_lock(&lock);
    erase_status();
    fprintf(stderr, "%s\n", line);
    draw_status();
    fflush(stderr);
    pthread_mutex_unlock(&lock);
    free(line);
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
    pthread_mutex_lock(&lock);
    erase_status();
    free(status);
    status = text && *text ? strdup(text) : NULL;
    status_lines = 0;
    for (const char *p = status; p && *p; p++)
        status_lines += *p == '\n';
    draw_status();
    fflush(stderr);
    pthread_mutex_unlock(&lock);
}
