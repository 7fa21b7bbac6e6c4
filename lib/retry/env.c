/* The environment: clock, sleep and the default per-handle PRNG. */
#include <errno.h>
#include <math.h>
#include <time.h>

#include "internal.h"

int64_t retry__clock(const retry_env *env, int coarse)
{
    if (env->now_ns)
        return env->now_ns(env->ctx);
    struct timespec ts;
#ifdef CLOCK_MONOTONIC_COARSE
    clock_gettime(coarse ? CLOCK_MONOTONIC_COARSE : CLOCK_MONOTONIC, &ts);
#else
    (void)coarse;
    clock_gettime(CLOCK_MONOTONIC, &ts);
#endif
    return (int64_t)ts.tv_sec * RETRY_NS_PER_S + (int64_t)ts.tv_nsec;
}

int retry__coarse_ok(const retry_env *env, int64_t min_ns)
{
#ifdef CLOCK_MONOTONIC_COARSE
    struct timespec res;
    if (env->now_ns || clock_getres(CLOCK_MONOTONIC_COARSE, &res) != 0 || res.tv_sec != 0)
        return 0;
    return (int64_t)res.tv_nsec * 25 <= min_ns;
#else
    (void)env;
    (void)min_ns;
    return 0;
#endif
}

int64_t retry__now(const retry_env *env, int64_t *last, int coarse)
{
    int64_t t = retry__clock(env, coarse);
    if (t < *last)
        return *last;
    *last = t;
    return t;
}

void retry__sleep(const retry_env *env, int64_t ns)
{
    if (ns <= 0)
        return;
    if (env->sleep_ns) {
        env->sleep_ns(ns, env->ctx);
        return;
    }
    struct timespec req = { (time_t)(ns / RETRY_NS_PER_S), (long)(ns % RETRY_NS_PER_S) };
    struct timespec rem;
    while (nanosleep(&req, &rem) != 0 && errno == EINTR)
        req = rem;
}

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

void retry__seed(const retry_env *env, uint64_t state[2], const void *addr)
{
    uint64_t x = env->seed;
    if (x == 0) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        x = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32) ^ (uint64_t)(uintptr_t)addr;
    }
    state[0] = splitmix64(&x);
    state[1] = splitmix64(&x);
    if (state[0] == 0 && state[1] == 0)
        state[1] = 1;
}

/* xoroshiro128+: fast, small state, good enough for jitter. */
static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

double retry__random(const retry_env *env, uint64_t state[2])
{
    if (env->random) {
        double u = env->random(env->ctx);
        if (!(u >= 0.0)) /* also NaN */
            return 0.0;
        if (u >= 1.0)
            return nextafter(1.0, 0.0);
        return u;
    }
    uint64_t s0 = state[0], s1 = state[1];
    uint64_t r = s0 + s1;
    s1 ^= s0;
    state[0] = rotl(s0, 24) ^ s1 ^ (s1 << 16);
    state[1] = rotl(s1, 37);
    return (double)(r >> 11) * 0x1.0p-53;
}

int64_t retry__add_sat(int64_t a, int64_t b)
{
    if (b > 0 && a > INT64_MAX - b)
        return INT64_MAX;
    if (b < 0 && a < INT64_MIN - b)
        return INT64_MIN;
    return a + b;
}

int64_t retry__sub_sat(int64_t a, int64_t b)
{
    if (b < 0 && a > INT64_MAX + b)
        return INT64_MAX;
    if (b > 0 && a < INT64_MIN + b)
        return INT64_MIN;
    return a - b;
}

int64_t retry__ns_from_double(double ns, int64_t max)
{
    if (!(ns > 0.0))
        return 0;
    if (ns >= (double)max)
        return max;
    int64_t v = (int64_t)ns;
    return v > max ? max : v;
}
