/*
 * tap.h — a tiny TAP producer for tars's C tests (run by prove).
 *
 *     plan(3);  ok(x == 1, "x is one");  is_int(a, b, "sizes");  return done_testing();
 *
 * Each check prints "ok N - name" or "not ok N - name" plus a diagnostic with the values.
 * done_testing() returns the exit status: non-zero when a check failed or the plan was off.
 */
#ifndef TARS_TESTS_TAP_H
#define TARS_TESTS_TAP_H

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int tap_run, tap_failed, tap_planned = -1;

static inline void
plan(int n)
{
    tap_planned = n;
    printf("1..%d\n", n);
}

static inline void
diag(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("# ");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
}

static inline int
ok_at(int cond, const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    tap_run++;
    printf("%sok %d - ", cond ? "" : "not ", tap_run);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    if (!cond) {
        tap_failed++;
        printf("#   failed at %s:%d\n", file, line);
    }
    fflush(stdout);
    return cond;
}

#define ok(cond, ...) ok_at(!!(cond), __FILE__, __LINE__, __VA_ARGS__)

#define is_int(got, want, ...)                                   \
    do {                                                         \
        long long g_ = (long long)(got), w_ = (long long)(want); \
        if (!ok_at(g_ == w_, __FILE__, __LINE__, __VA_ARGS__))   \
            diag("  got %lld, want %lld", g_, w_);               \
    } while (0)

#define is_str(got, want, ...)                                                         \
    do {                                                                               \
        const char *g_ = (got), *w_ = (want);                                          \
        if (!ok_at(g_ && w_ && strcmp(g_, w_) == 0, __FILE__, __LINE__, __VA_ARGS__))  \
            diag("  got \"%s\", want \"%s\"", g_ ? g_ : "(null)", w_ ? w_ : "(null)"); \
    } while (0)

/* got contains want */
#define like(got, want, ...)                                                                  \
    do {                                                                                      \
        const char *g_ = (got), *w_ = (want);                                                 \
        if (!ok_at(g_ && w_ && strstr(g_, w_) != NULL, __FILE__, __LINE__, __VA_ARGS__))      \
            diag("  \"%s\" does not contain \"%s\"", g_ ? g_ : "(null)", w_ ? w_ : "(null)"); \
    } while (0)

#define is_near(got, want, tol, ...)                                      \
    do {                                                                  \
        double g_ = (got), w_ = (want), t_ = (tol);                       \
        if (!ok_at(fabs(g_ - w_) <= t_, __FILE__, __LINE__, __VA_ARGS__)) \
            diag("  got %.17g, want %.17g (tolerance %g)", g_, w_, t_);   \
    } while (0)

static inline int
done_testing(void)
{
    if (tap_planned < 0)
        printf("1..%d\n", tap_run);
    else if (tap_planned != tap_run)
        diag("planned %d tests but ran %d", tap_planned, tap_run);
    return tap_failed || (tap_planned >= 0 && tap_planned != tap_run) ? 1 : 0;
}

#endif
