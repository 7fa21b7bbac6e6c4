/* Rate limiters: token bucket, GCRA and fixed window behind one contract.
 * The token bucket and the fixed window keep their state under one mutex
 * per limiter; GCRA keeps it in one atomic word, the theoretical arrival
 * time, advanced by compare-and-swap (a plain store in a process with one
 * thread). Sleeping happens outside any lock. */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "internal.h"

#define RES_VALID 1u

struct retry_limiter {
    pthread_mutex_t mu;
    retry_limiter_options o;
    int64_t last_now;
    int64_t t0;
    /* TOKEN_BUCKET */
    double tokens;
    int64_t last_fill;
    double per_ns;
    /* GCRA */
    _Atomic int64_t tat;
    _Atomic int64_t gcra_last; /* an injected clock's backwards guard */
    int64_t emission_ns;       /* T */
    int64_t tau_ns;            /* T * burst */
    /* FIXED_WINDOW */
    int64_t win;
    uint32_t used;
};

int retry_limiter_new(retry_limiter **out, const retry_limiter_options *opts)
{
    static const retry_limiter_options defaults = RETRY_LIMITER_OPTIONS_INIT;
    *out = NULL;
    if (!opts)
        opts = &defaults;
    if (opts->version != RETRY_LIMITER_OPTIONS_VERSION || opts->burst < 1 || opts->burst > 1000000)
        return RETRY_EINVAL;
    switch (opts->kind) {
    case RETRY_LIMITER_TOKEN_BUCKET:
    case RETRY_LIMITER_GCRA:
        if (!(opts->rate >= 1e-3 && opts->rate <= 1e12))
            return RETRY_EINVAL;
        break;
    case RETRY_LIMITER_FIXED_WINDOW:
        if (opts->window_ns <= 0)
            return RETRY_EINVAL;
        break;
    default:
        return RETRY_EINVAL;
    }
    retry_limiter *l = calloc(1, sizeof *l);
    if (!l)
        return RETRY_ENOMEM;
    if (pthread_mutex_init(&l->mu, NULL) != 0) {
        free(l);
        return RETRY_ENOMEM;
    }
    l->o = *opts;
    l->last_now = INT64_MIN;
    l->t0 = retry__now(&l->o.env, &l->last_now, 0);
    l->tokens = (double)l->o.burst; /* starts full */
    l->last_fill = l->t0;
    if (l->o.kind != RETRY_LIMITER_FIXED_WINDOW) {
        /* the rate was checked (1e-3..1e12) for these kinds only: T <= 1e12
         * and tau <= 1e18 fit */
        l->per_ns = l->o.rate / 1e9;
        double t = floor(1e9 / l->o.rate + 0.5);
        l->emission_ns = t < 1.0 ? 1 : (int64_t)t;
        l->tau_ns = l->emission_ns * (int64_t)l->o.burst;
    }
    atomic_init(&l->tat, l->t0);
    atomic_init(&l->gcra_last, l->last_now);
    *out = l;
    return RETRY_OK;
}

void retry_limiter_free(retry_limiter *l)
{
    if (!l)
        return;
    pthread_mutex_destroy(&l->mu);
    free(l);
}

/* GCRA's time. The default clock (CLOCK_MONOTONIC) is read as it is: a
 * reading that another thread's later one has overtaken only makes the
 * limiter stricter (it counts from the later theoretical arrival time). An
 * injected clock keeps the guard that a step backwards reads as "no time
 * passed", here as an atomic maximum. */
static int64_t gcra_now(retry_limiter *l)
{
    int64_t t = retry__clock(&l->o.env, 0);
    if (l->o.env.now_ns == NULL)
        return t;
    int64_t last = atomic_load_explicit(&l->gcra_last, memory_order_relaxed);
    while (t > last) {
        if (atomic_compare_exchange_weak_explicit(&l->gcra_last, &last, t, memory_order_relaxed,
                                                  memory_order_relaxed))
            return t;
    }
    return last;
}

/* GCRA: the wait for n emissions at now, committed (the theoretical arrival
 * time advanced) when it is at most max_commit. Lock-free. */
static int64_t gcra_take(retry_limiter *l, int64_t now, uint32_t n, int64_t max_commit)
{
    int64_t tat = atomic_load_explicit(&l->tat, memory_order_relaxed);
    for (;;) {
        int64_t start = tat > now ? tat : now;
        int64_t next = retry__add_sat(start, l->emission_ns * (int64_t)n);
        int64_t wait = retry__sub_sat(retry__sub_sat(next, now), l->tau_ns);
        if (wait < 0)
            wait = 0;
        if (!(wait <= max_commit && wait < INT64_MAX))
            return wait;
        if (RETRY__SINGLE_THREADED()) {
            atomic_store_explicit(&l->tat, next, memory_order_relaxed);
            return wait;
        }
        if (atomic_compare_exchange_weak_explicit(&l->tat, &tat, next, memory_order_relaxed,
                                                  memory_order_relaxed))
            return wait;
    }
}

/* Compute the wait for n tokens at now; commit them when the wait is at most
 * max_commit (-1: never). One pass, so a reservation costs one computation.
 * Called with the lock held. */
static int64_t take(retry_limiter *l, int64_t now, uint32_t n, int64_t max_commit, int64_t *window)
{
    switch (l->o.kind) {
    case RETRY_LIMITER_TOKEN_BUCKET: {
        if (now > l->last_fill) {
            double t = l->tokens + (double)retry__sub_sat(now, l->last_fill) * l->per_ns;
            double cap = (double)l->o.burst;
            l->tokens = t > cap ? cap : t;
            l->last_fill = now;
        }
        double left = l->tokens - (double)n;
        int64_t wait = 0;
        if (left < -1e-9)
            wait = retry__ns_from_double(ceil(-left / l->per_ns), INT64_MAX);
        if (wait <= max_commit && wait < INT64_MAX)
            l->tokens = left;
        return wait;
    }
    case RETRY_LIMITER_GCRA:
        return gcra_take(l, now, n, max_commit);
    case RETRY_LIMITER_FIXED_WINDOW: {
        int64_t cur = retry__sub_sat(now, l->t0) / l->o.window_ns;
        if (l->win < cur) {
            l->win = cur;
            l->used = 0;
        }
        int64_t w = l->win;
        uint32_t used = l->used + n;
        if (used > l->o.burst) {
            if (w == INT64_MAX) /* the last window there is: never */
                return INT64_MAX;
            w++;
            used = n;
        }
        int64_t wait = 0;
        if (w > cur) {
            /* in integers: a double loses the low bits of far windows */
            int64_t off = w > INT64_MAX / l->o.window_ns ? INT64_MAX : w * l->o.window_ns;
            wait = retry__sub_sat(retry__add_sat(l->t0, off), now);
            if (wait < 0)
                wait = 0;
        }
        if (wait <= max_commit && wait < INT64_MAX) {
            l->win = w;
            l->used = used;
        }
        if (window)
            *window = w;
        return wait;
    }
    }
    return 0;
}

int retry_limiter_reserve(retry_limiter *l, int64_t *wait_ns, retry_reservation *res, uint32_t n,
                          int64_t max_wait_ns)
{
    return retry__limiter_reserve_at(l, wait_ns, res, n, max_wait_ns, NULL);
}

int retry__limiter_reserve_at(retry_limiter *l, int64_t *wait_ns, retry_reservation *res,
                              uint32_t n, int64_t max_wait_ns, const retry__time *t)
{
    /* a precise reading taken before this call stands in for the clock: an
     * earlier time can only make the limiter stricter */
    int shared = t && t->precise && l->o.env.now_ns == NULL;
    *wait_ns = 0;
    if (res)
        res->tokens = res->flags = 0;
    if (n == 0 || n > l->o.burst || max_wait_ns < 0)
        return RETRY_EINVAL;
    int64_t window = 0, now, wait;
    if (l->o.kind == RETRY_LIMITER_GCRA) {
        now = shared ? t->ns : gcra_now(l);
        wait = gcra_take(l, now, n, max_wait_ns);
    } else {
        pthread_mutex_lock(&l->mu);
        if (shared)
            now = t->ns > l->last_now ? (l->last_now = t->ns) : l->last_now;
        else
            now = retry__now(&l->o.env, &l->last_now, 0);
        wait = take(l, now, n, max_wait_ns, &window);
        pthread_mutex_unlock(&l->mu);
    }
    if (wait > max_wait_ns || wait == INT64_MAX) { /* saturated: never, nothing taken */
        *wait_ns = wait;
        return RETRY_ETIMEOUT;
    }
    *wait_ns = wait;
    if (res) {
        res->act_ns = retry__add_sat(now, wait);
        res->window = window;
        res->tokens = n;
        res->flags = RES_VALID;
    }
    return RETRY_OK;
}

int retry_limiter_try_acquire(retry_limiter *l, uint32_t n)
{
    int64_t wait;
    int rc = retry_limiter_reserve(l, &wait, NULL, n, 0);
    return rc == RETRY_ETIMEOUT ? RETRY_ELIMIT : rc;
}

int retry_limiter_acquire(retry_limiter *l, uint32_t n, int64_t timeout_ns)
{
    int64_t wait;
    int rc = retry_limiter_reserve(l, &wait, NULL, n, timeout_ns);
    if (rc == RETRY_OK)
        retry__sleep(&l->o.env, wait);
    return rc;
}

void retry_limiter_cancel(retry_limiter *l, retry_reservation *res)
{
    if (!(res->flags & RES_VALID) || res->tokens == 0)
        return;
    uint32_t n = res->tokens;
    if (l->o.kind == RETRY_LIMITER_GCRA) {
        if (gcra_now(l) <= res->act_ns) { /* not yet due: given back */
            int64_t tat = atomic_load_explicit(&l->tat, memory_order_relaxed);
            while (!atomic_compare_exchange_weak_explicit(
                &l->tat, &tat, retry__sub_sat(tat, l->emission_ns * (int64_t)n),
                memory_order_relaxed, memory_order_relaxed)) {
            }
        }
        res->tokens = 0;
        res->flags = 0;
        return;
    }
    pthread_mutex_lock(&l->mu);
    int64_t now = retry__now(&l->o.env, &l->last_now, 0);
    if (now > res->act_ns) /* already due: used */
        goto out;
    switch (l->o.kind) {
    case RETRY_LIMITER_TOKEN_BUCKET: {
        take(l, now, 1, -1, NULL); /* refill up to now first */
        double t = l->tokens + (double)n, cap = (double)l->o.burst;
        l->tokens = t > cap ? cap : t;
        break;
    }
    case RETRY_LIMITER_GCRA: /* above, without the lock */
        break;
    case RETRY_LIMITER_FIXED_WINDOW: {
        int64_t cur = retry__sub_sat(now, l->t0) / l->o.window_ns;
        if (res->window >= cur && res->window == l->win)
            l->used = l->used > n ? l->used - n : 0;
        break;
    }
    }
out:
    pthread_mutex_unlock(&l->mu);
    res->tokens = 0;
    res->flags = 0;
}

int64_t retry_limiter_time_until(retry_limiter *l, uint32_t n)
{
    if (n == 0 || n > l->o.burst)
        return -1;
    if (l->o.kind == RETRY_LIMITER_GCRA)
        return gcra_take(l, gcra_now(l), n, -1);
    pthread_mutex_lock(&l->mu);
    int64_t now = retry__now(&l->o.env, &l->last_now, 0);
    int64_t wait = take(l, now, n, -1, NULL);
    pthread_mutex_unlock(&l->mu);
    return wait;
}
