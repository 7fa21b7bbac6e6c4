/* A fake environment for tests: a clock that moves only when told (or when
 * the library sleeps), and a fixed random value. */
#ifndef RETRY_TEST_FAKE_H
#define RETRY_TEST_FAKE_H

#include <string.h>

#include <retry/retry.h>

typedef struct fake {
    int64_t now;
    int64_t slept;
    int sleeps;
    double rnd;
} fake;

static inline int64_t fake_now(void *ctx)
{
    return ((fake *)ctx)->now;
}

static inline void fake_sleep(int64_t ns, void *ctx)
{
    fake *f = ctx;
    f->now += ns;
    f->slept += ns;
    f->sleeps++;
}

static inline double fake_random(void *ctx)
{
    return ((fake *)ctx)->rnd;
}

static inline retry_env fake_env(fake *f)
{
    retry_env e = RETRY_ENV_INIT;
    e.now_ns = fake_now;
    e.sleep_ns = fake_sleep;
    e.random = fake_random;
    e.ctx = f;
    return e;
}

/* A token bucket of 1 token per second, burst 1, full, on the fake clock:
 * the limiter most order-of-stages tests put in front of a run. Freed by the
 * caller with retry_limiter_free(). NULL if it cannot be created. */
static inline retry_limiter *fake_limiter_1s(fake *f)
{
    retry_limiter_options lo = RETRY_LIMITER_OPTIONS_INIT;
    lo.rate = 1.0;
    lo.burst = 1;
    lo.env = fake_env(f);
    retry_limiter *l = NULL;
    return retry_limiter_new(&l, &lo) == RETRY_OK ? l : NULL;
}

#define MS(x)  ((int64_t)(x)*RETRY_NS_PER_MS)
#define SEC(x) ((int64_t)(x)*RETRY_NS_PER_S)

/* The fake clock as the policy tests start it: at 100 s, nothing slept. */
static inline void fake_reset(fake *f)
{
    memset(f, 0, sizeof *f);
    f->now = SEC(100);
}

/* The default policy on the fake clock, without jitter: delays of 100, 200,
 * 400 ms, ... */
static inline retry_policy fake_policy(fake *f)
{
    retry_policy p = RETRY_POLICY_INIT;
    p.backoff.jitter = RETRY_JITTER_NONE;
    p.env = fake_env(f);
    return p;
}

#endif
