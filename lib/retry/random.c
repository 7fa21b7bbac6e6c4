/* The random source: the injected one or a per-owner xoroshiro128+. */
#include <math.h>
#include <time.h>

#include "random.h"

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
