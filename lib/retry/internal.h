/* Private to libretry: what its handles offer each other and retry_run();
 * never installed. */
#ifndef RETRY_INTERNAL_H
#define RETRY_INTERNAL_H

#include <stdint.h>

#include <retry/retry.h>

#include "clock.h"

/* True while the process has only ever had one thread (glibc 2.32 and
 * later): a read-modify-write of an atomic may then be a plain load and
 * store, as glibc does for its own locks. Always false elsewhere. */
#if defined(__has_include)
#if __has_include(<sys/single_threaded.h>)
#include <sys/single_threaded.h>
#define RETRY__SINGLE_THREADED() (__libc_single_threaded != 0)
#endif
#endif
#ifndef RETRY__SINGLE_THREADED
#define RETRY__SINGLE_THREADED() 0
#endif

/* Which clock a handle reads: RETRY__CLOCK_*. */
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
/* retry_limiter_reserve with an optional precise reading (NULL: read the
 * clock). */
int retry__limiter_reserve_at(retry_limiter *l, int64_t *wait_ns, retry_reservation *res,
                              uint32_t n, int64_t max_wait_ns, const retry__time *t);
void retry__budget_deposit_at(retry_budget *b, const retry__time *t);
/* Sleep ns like retry__sleep, but return early once the token c (may be
 * NULL) is set. The default sleep waits on the token's pipe; an injected
 * sleep_ns is called as it is. Returns 1 when the token is set, else 0. */
int retry__sleep_cancel(const retry_env *env, int64_t ns, const retry_cancel *c);
/* A breaker's time until it admits a call, without taking a permit (0 when
 * it would admit now); updates an OPEN breaker whose time is up. */
int64_t retry__breaker_until_admit(retry_breaker *b);

#endif /* RETRY_INTERNAL_H */
