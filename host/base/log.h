/*
 * log — one line per event: human-readable text on a terminal, JSON lines otherwise.
 * On a terminal a status block (progress lines) may sit below the log; each log line is
 * printed above it and the block redrawn. Any thread.
 *
 * Logging never waits for stderr: lines go to a bounded queue that a thread of the log's
 * writes out (started with the first line); a line that finds the queue full is dropped,
 * counted (log_dropped) and reported in a warning once the writer can write again. What is
 * queued at exit is written out first (within 2 s); a process that dies of a signal loses it.
 */
#ifndef TARS_HOST_LOG_H
#define TARS_HOST_LOG_H

#include "tars/host.h"

enum { LOG_DEBUG = 0, LOG_INFO = 1, LOG_WARN = 2, LOG_ERROR = 3 };

/* format: "auto", "text" or "json"; level: "debug".."error". Returns -1 for unknown values. */
int log_setup(const char *format, const char *level);
void hlog(int level, const char *source, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Replaces the status block (NULL or "" removes it). Ignored unless stderr is a terminal. */
void log_status(const char *text);
/* Whether stderr is a terminal (status blocks are shown). */
int log_is_tty(void);
/* Waits (at most timeout_s) until every line queued so far is written. */
void log_flush(double timeout_s);
/* Lines dropped so far because the queue was full. */
unsigned long long log_dropped(void);
/* The SDK's log sink: plugin lines attributed to their instance. */
void log_plugin_line(const tars_ctx *ctx, tars_log_level level, const char *msg);

#endif
