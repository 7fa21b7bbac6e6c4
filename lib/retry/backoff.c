/* Backoff schedules and jitter: pure functions. */
#include <math.h>

#include "internal.h"

int retry_backoff_check(const retry_backoff *b)
{
    if (b->version != RETRY_BACKOFF_VERSION)
        return RETRY_EINVAL;
    if (b->kind != RETRY_BACKOFF_FIXED && b->kind != RETRY_BACKOFF_LINEAR &&
        b->kind != RETRY_BACKOFF_EXPONENTIAL)
        return RETRY_EINVAL;
    if ((unsigned)b->jitter > (unsigned)RETRY_JITTER_DECORRELATED)
        return RETRY_EINVAL;
    if (b->base_ns <= 0 || b->cap_ns <= 0 || b->increment_ns < 0)
        return RETRY_EINVAL;
    if (!(b->multiplier >= 1.0) || !isfinite(b->multiplier))
        return RETRY_EINVAL;
    if (!(b->jitter_factor >= 0.0 && b->jitter_factor <= 1.0))
        return RETRY_EINVAL;
    return RETRY_OK;
}

int64_t retry_backoff_base_delay(const retry_backoff *b, uint32_t attempt)
{
    if (retry_backoff_check(b) != RETRY_OK)
        return 0;
    if (attempt == 0)
        attempt = 1;
    int64_t cap = b->cap_ns, base = b->base_ns;
    if (base >= cap)
        return cap;
    uint64_t k = (uint64_t)attempt - 1;
    switch (b->kind) {
    case RETRY_BACKOFF_FIXED:
        return base;
    case RETRY_BACKOFF_LINEAR: {
        int64_t inc = b->increment_ns ? b->increment_ns : base;
        /* base + inc * k <= cap  <=>  k <= (cap - base) / inc */
        if (k > (uint64_t)((cap - base) / inc))
            return cap;
        return base + inc * (int64_t)k;
    }
    case RETRY_BACKOFF_EXPONENTIAL: {
        double d = (double)base;
        if (b->multiplier > 1.0) {
            /* pow saturates to +inf for huge k; the comparison then caps. */
            d *= pow(b->multiplier, (double)k);
        }
        return retry__ns_from_double(d, cap);
    }
    }
    return 0;
}

static double clamp_unit(double u)
{
    if (!(u >= 0.0))
        return 0.0;
    if (u >= 1.0)
        return nextafter(1.0, 0.0);
    return u;
}

int64_t retry_backoff_delay(const retry_backoff *b, uint32_t attempt, int64_t prev_ns, double u)
{
    if (retry_backoff_check(b) != RETRY_OK)
        return 0;
    u = clamp_unit(u);
    int64_t cap = b->cap_ns;
    if (b->jitter == RETRY_JITTER_DECORRELATED) {
        int64_t base = b->base_ns < cap ? b->base_ns : cap;
        int64_t prev = prev_ns > 0 ? prev_ns : base;
        double hi = 3.0 * (double)prev;
        if (hi < (double)base)
            hi = (double)base;
        return retry__ns_from_double((double)base + u * (hi - (double)base), cap);
    }
    int64_t d = retry_backoff_base_delay(b, attempt);
    double dd = (double)d;
    switch (b->jitter) {
    case RETRY_JITTER_NONE:
        return d;
    case RETRY_JITTER_PROPORTIONAL:
        return retry__ns_from_double(dd * (1.0 + b->jitter_factor * (2.0 * u - 1.0)), cap);
    case RETRY_JITTER_FULL:
        return retry__ns_from_double(u * dd, cap);
    case RETRY_JITTER_EQUAL:
        return retry__ns_from_double(dd / 2.0 + u * (dd / 2.0), cap);
    case RETRY_JITTER_DECORRELATED:
        break;
    }
    return d;
}
