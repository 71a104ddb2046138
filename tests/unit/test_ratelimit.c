/* Token buckets (host/api/ratelimit.c): burst, refill at the rate, keys apart, no limit. */
#include <stdio.h>
#include "ratelimit.h"
#include "tap.h"

int
main(void)
{
    struct ratelimit *rl = ratelimit_new(2, 3); /* 3 at once, then 2 a second */
    ok(rl != NULL, "a limiter of 2/s with a burst of 3");
    int allowed = 0;
    for (int i = 0; i < 3; i++)
        allowed += ratelimit_take(rl, "a", 100.0) == 0;
    is_int(allowed, 3, "the burst passes at once");
    double wait = ratelimit_take(rl, "a", 100.0);
    ok(wait > 0.49 && wait < 0.51, "the fourth waits half a second (%g)", wait);
    ok(ratelimit_take(rl, "a", 100.25) > 0, "  still refused a quarter second later");
    is_near(ratelimit_take(rl, "a", 100.5), 0, 1e-9, "  and served after half a second");
    is_near(ratelimit_take(rl, "b", 100.5), 0, 1e-9, "another key has its own bucket");
    is_near(ratelimit_take(rl, "a", 1000), 0, 1e-9, "a bucket refills over time");
    allowed = 0;
    for (int i = 0; i < 10; i++)
        allowed += ratelimit_take(rl, "a", 1000) == 0;
    is_int(allowed, 2, "  but never beyond the burst");
    /* Many keys: the table forgets the least recent, never refuses a new key. */
    char key[32];
    int fresh = 0;
    for (int i = 0; i < 20000; i++) {
        snprintf(key, sizeof key, "k%d", i);
        fresh += ratelimit_take(rl, key, 2000 + i * 1e-6) == 0;
    }
    is_int(fresh, 20000, "twenty thousand new keys are each served");
    ratelimit_free(rl);
    ok(ratelimit_new(0, 10) == NULL, "rate 0 means no limiter");
    is_near(ratelimit_take(NULL, "a", 0), 0, 0, "  which allows everything");
    return done_testing();
}
