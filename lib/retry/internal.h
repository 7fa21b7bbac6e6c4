/* Private helpers shared by libretry's sources; never installed. */
#ifndef RETRY_INTERNAL_H
#define RETRY_INTERNAL_H

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
/* Seed a default PRNG state for an owner at addr. */
void retry__seed(const retry_env *env, uint64_t state[2], const void *addr);
/* A uniform double in [0, 1): the environment's source or the state's PRNG. */
double retry__random(const retry_env *env, uint64_t state[2]);
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
int retry__breaker_clock(const retry_breaker *b);
int retry__budget_clock(const retry_budget *b);
/* retry_breaker_acquire (without wait_ns) and retry_breaker_record,
 * retry_budget_deposit, with an optional reading (NULL: read the clock). */
/* start_delay_ns: the call starts that long after now (a limiter wait the
 * caller sleeps after admission); the slow-call check times it from then.
 * wait_ns (may be NULL) as for retry_breaker_acquire. */
int retry__breaker_acquire_at(retry_breaker *b, retry_permit *permit, int64_t *wait_ns,
                              const retry__time *t, int64_t start_delay_ns);
void retry__breaker_record_at(retry_breaker *b, const retry_permit *permit, retry_outcome outcome,
                              const retry__time *t);
void retry__budget_deposit_at(retry_budget *b, const retry__time *t);
/* Sleep ns like retry__sleep, but return early once the token c (may be
 * NULL) is set. The default sleep waits on the token's pipe; an injected
 * sleep_ns is called as it is. Returns 1 when the token is set, else 0. */
int retry__sleep_cancel(const retry_env *env, int64_t ns, const retry_cancel *c);
/* A breaker's time until it admits a call, without taking a permit (0 when
 * it would admit now); updates an OPEN breaker whose time is up. */
int64_t retry__breaker_until_admit(retry_breaker *b);
/* Saturating helpers. */
int64_t retry__add_sat(int64_t a, int64_t b);
int64_t retry__sub_sat(int64_t a, int64_t b);
/* Clamp a double number of nanoseconds into [0, max]. */
int64_t retry__ns_from_double(double ns, int64_t max);

#endif /* RETRY_INTERNAL_H */
