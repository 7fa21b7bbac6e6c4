/* Time: the clock (the injected one or CLOCK_MONOTONIC), sleeping, and
 * saturating arithmetic on nanoseconds. */
#include <errno.h>
#include <time.h>

#include "clock.h"

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

int64_t retry__ns_from_double(double ns, int64_t max)
{
    if (!(ns > 0.0))
        return 0;
    if (ns >= (double)max)
        return max;
    int64_t v = (int64_t)ns;
    return v > max ? max : v;
}
