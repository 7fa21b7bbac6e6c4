/* Private to libretry: the clock, sleeping and saturating arithmetic on
 * nanoseconds (clock.c); never installed. */
#ifndef RETRY_CLOCK_H
#define RETRY_CLOCK_H

#include <stdint.h>

#include <retry/retry.h>

/* The environment's clock, unclamped. With the default clock and coarse set,
 * CLOCK_MONOTONIC_COARSE is read instead (a few ns instead of ~30). */
int64_t retry__clock(const retry_env *env, int coarse);
/* The environment's clock, clamped so that it never goes below *last (which
 * it then advances): a clock stepping backwards reads as "no time passed". */
int64_t retry__now(const retry_env *env, int64_t *last, int coarse);
/* May a handle whose shortest duration is min_ns use the coarse clock?
 * Only with the default clock, and only when the coarse clock's resolution
 * is at most 1/25 of min_ns (4 ms ticks need durations of 100 ms or more). */
int retry__coarse_ok(const retry_env *env, int64_t min_ns);
/* Sleep ns (no-op for ns <= 0). */
void retry__sleep(const retry_env *env, int64_t ns);

/* A clock reading taken by retry_run() and offered to a handle, so that one
 * read serves the run and the handles it drives. A handle uses it only when
 * it has the default clock itself and the reading is as fine as it needs
 * (precise, or the handle may use the coarse clock); it clamps it with its
 * own backwards-clock guard. Otherwise the handle reads its own clock. */
typedef struct retry__time {
    int64_t ns;
    int precise; /* CLOCK_MONOTONIC (1) or CLOCK_MONOTONIC_COARSE (0) */
} retry__time;
/* Which clock a handle reads. */
#define RETRY__CLOCK_CUSTOM  (-1) /* an injected now_ns: never shares readings */
#define RETRY__CLOCK_PRECISE 0
#define RETRY__CLOCK_COARSE  1

/* Saturating a + b and a - b. */
static inline int64_t retry__add_sat(int64_t a, int64_t b)
{
    int64_t r;
    if (__builtin_add_overflow(a, b, &r))
        return b > 0 ? INT64_MAX : INT64_MIN;
    return r;
}

static inline int64_t retry__sub_sat(int64_t a, int64_t b)
{
    int64_t r;
    if (__builtin_sub_overflow(a, b, &r))
        return b < 0 ? INT64_MAX : INT64_MIN;
    return r;
}

/* Clamp a double number of nanoseconds into [0, max]. */
int64_t retry__ns_from_double(double ns, int64_t max);

#endif /* RETRY_CLOCK_H */
