/* Private to libretry: what its handles offer each other and retry_run();
 * never installed. */
#ifndef RETRY_INTERNAL_H
#define RETRY_INTERNAL_H

#include <stdint.h>

#include <retry/retry.h>

#include "clock.h"

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
void retry__budget_deposit_at(retry_budget *b, const retry__time *t);
/* Sleep ns like retry__sleep, but return early once the token c (may be
 * NULL) is set. The default sleep waits on the token's pipe; an injected
 * sleep_ns is called as it is. Returns 1 when the token is set, else 0. */
int retry__sleep_cancel(const retry_env *env, int64_t ns, const retry_cancel *c);
/* A breaker's time until it admits a call, without taking a permit (0 when
 * it would admit now); updates an OPEN breaker whose time is up. */
int64_t retry__breaker_until_admit(retry_breaker *b);

#endif /* RETRY_INTERNAL_H */
