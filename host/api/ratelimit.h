/*
 * ratelimit — token buckets keyed by a string (a token id, a client address): each key may
 * make `burst` requests at once and `rate` per second after that. The table has a fixed
 * size; when it is full the least recently used key is forgotten (it starts again full).
 *
 * Threads: any (one mutex, held for a few instructions; API handlers only).
 */
#ifndef TARS_HOST_API_RATELIMIT_H
#define TARS_HOST_API_RATELIMIT_H

struct ratelimit;

/* NULL when rate is 0 (no limit) or out of memory; ratelimit_take(NULL, ...) always allows. */
struct ratelimit *ratelimit_new(double rate, double burst);
void ratelimit_free(struct ratelimit *rl);
/* Takes one request from key's bucket at time now (seconds): 0 when allowed, otherwise the
 * seconds until one would be. */
double ratelimit_take(struct ratelimit *rl, const char *key, double now);

#endif
