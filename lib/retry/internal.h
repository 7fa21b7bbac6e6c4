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
/* Saturating helpers. */
int64_t retry__add_sat(int64_t a, int64_t b);
/* Clamp a double number of nanoseconds into [0, max]. */
int64_t retry__ns_from_double(double ns, int64_t max);

#endif /* RETRY_INTERNAL_H */
