/*
 * clock — the two clocks every part reads: monotonic seconds for durations and deadlines,
 * Unix seconds for what is recorded or shown.
 *
 * Threads: any.
 */
#ifndef TARS_HOST_BASE_CLOCK_H
#define TARS_HOST_BASE_CLOCK_H

/* Seconds on the monotonic clock. */
double host_now(void);
/* Unix time in seconds (for records and replies). */
double host_wall(void);

#endif
