/*
 * Waiting in tests (header-only): the monotonic clock in milliseconds, a
 * sleep, and WAIT_FOR_EVERY, which polls a condition until a deadline and
 * fails the test when it never holds. Shared by the integration tests and
 * tests/ingestor; include it after <cmocka.h>.
 */
#ifndef TESTS_INTEGRATION_DEADLINE_H
#define TESTS_INTEGRATION_DEADLINE_H

#include <stdint.h>
#include <time.h>

static inline int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

/* Poll cond every every_ms for at most ms; fail the test when it never holds. */
#define WAIT_FOR_EVERY(cond, ms, every_ms)                                                         \
    do {                                                                                           \
        int64_t until_ = mono_ms() + (ms);                                                         \
        while (!(cond) && mono_ms() < until_)                                                      \
            sleep_ms(every_ms);                                                                    \
        if (!(cond))                                                                               \
            fail_msg("waited %d ms in vain for: %s", (int)(ms), #cond);                            \
    } while (0)

#endif
