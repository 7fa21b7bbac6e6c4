/* Randomness, backoff, lifetime jitter and histogram buckets: small pure
 * helpers (the clock is inline in internal.h). */
#include <math.h>
#include <time.h>

#include "internal.h"

/* Called with mu held (the generator state is the pool's). */
uint64_t pgpool__random(pgpool *p)
{
    if (p->o.random)
        return p->o.random(p->o.random_userdata);
    /* xorshift64* */
    uint64_t x = p->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    p->rng = x;
    return x * UINT64_C(2685821657736338717);
}

/*
 * Exponential backoff with "equal jitter": the attempt-th delay is
 * d = min(max, initial * 2^(attempt-1)), and the result is uniform in
 * [d/2, d]. Half the delay is guaranteed (no storm), half is random (no
 * lockstep between pools).
 */
int64_t pgpool__backoff_ns(int64_t initial_ns, int64_t max_ns, uint32_t attempt, uint64_t rnd)
{
    if (initial_ns <= 0)
        return 0;
    if (attempt == 0)
        attempt = 1;
    int64_t d = initial_ns;
    for (uint32_t i = 1; i < attempt && d < max_ns; i++) {
        if (d > INT64_MAX / 2) {
            d = max_ns;
            break;
        }
        d *= 2;
    }
    if (d > max_ns)
        d = max_ns;
    int64_t half = d / 2;
    return d - half + (int64_t)(rnd % (uint64_t)(half + 1));
}

/* A connection's lifetime: max minus a uniform 0..jitter (0 max: never). */
int64_t pgpool__lifetime_ns(int64_t max_ns, int64_t jitter_ns, uint64_t rnd)
{
    if (max_ns <= 0)
        return INT64_MAX;
    if (jitter_ns <= 0)
        return max_ns;
    if (jitter_ns > max_ns)
        jitter_ns = max_ns;
    return max_ns - (int64_t)(rnd % (uint64_t)(jitter_ns + 1));
}

static const double hist_bounds[PGPOOL_HIST_BUCKETS - 1] = { 0.0001, 0.0005, 0.001, 0.005,
                                                             0.01,   0.05,   0.1,   0.5,
                                                             1.0,    5.0,    10.0 };
static const int64_t hist_bounds_ns[PGPOOL_HIST_BUCKETS - 1] = {
    100000,
    500000,
    1000000,
    5000000,
    10000000,
    50000000,
    100000000,
    500000000,
    PGPOOL__NS_PER_S,
    5 * PGPOOL__NS_PER_S,
    10 * PGPOOL__NS_PER_S,
}; /* the first is PGPOOL__HIST_FIRST_BOUND_NS (internal.h) */

double pgpool_hist_bound(int i)
{
    if (i < 0)
        return 0.0;
    if (i >= PGPOOL_HIST_BUCKETS - 1)
        return (double)INFINITY;
    return hist_bounds[i];
}

int pgpool__hist_index(int64_t ns)
{
    int i = 0;
    while (i < PGPOOL_HIST_BUCKETS - 1 && ns > hist_bounds_ns[i])
        i++;
    return i;
}
