/* The circuit breaker: CLOSED / OPEN / HALF_OPEN plus FORCED_OPEN and
 * DISABLED, over a count or time sliding window. One mutex per breaker; the
 * critical sections are short and allocate nothing.
 *
 * The CLOSED fast paths take no lock. State, generation and a "warm" bit are
 * published in one atomic word, sg, written only under the mutex. A CLOSED
 * acquire counts itself in a per-thread stripe of the admitted-calls
 * counter. A success that is not slow, recorded while sg says CLOSED and
 * warm (a count window holding at least min_calls calls, where a success can
 * no longer trip the breaker), is counted in the stripe's pending-successes
 * word, tagged with the sg it saw (a compare-and-swap that fails once sg
 * changed). Whoever takes the mutex first folds the pending successes into
 * the window, so every decision sees them in order; whenever sg changes, the
 * stripes are re-tagged, and successes that slipped in between the holder's
 * fold and the change are recorded after it, as if they had taken the lock
 * (stale: ignored). In a process with one thread, plain loads and stores
 * stand in for the atomic read-modify-writes. */
#include <math.h>
#include <pthread.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define SLOT_USED 1u
#define SLOT_FAIL 2u
#define SLOT_SLOW 4u

typedef struct bucket {
    uint32_t calls, fails, slow;
} bucket;

typedef struct transition {
    int happened;
    retry_breaker_state from, to;
} transition;

#define SG_STATE_BITS 4u /* gen << 4 | warm << 3 | state */
#define SG_STATE_MASK 7u
#define SG_WARM       8u

/* Stripes of the lock-free counters, one cache line each. A stripe's
 * pending word is (uint32_t)sg << 32 | successes not yet folded. */
#define STRIPES       8u
#define PENDING_LIMIT 0x7fffffffu /* more take the lock (which folds) */

typedef struct stripe {
    alignas(64) _Atomic uint64_t pending;
    _Atomic uint64_t calls; /* admitted calls */
} stripe;

struct retry_breaker {
    pthread_mutex_t mu;
    retry_breaker_options o;
    int slow_enabled;
    int coarse;               /* durations are long enough for CLOCK_MONOTONIC_COARSE */
    _Atomic int64_t last_now; /* clamp for a backwards clock; only ever grows */
    int64_t t0;               /* time origin of the time window's seconds */
    _Atomic uint64_t sg;      /* gen << 4 | warm << 3 | state, for the fast paths */
    stripe stripes[STRIPES];  /* admitted calls, pending successes */
    uint64_t late;            /* successes found when re-tagging the stripes */
    uint64_t late_gen;        /* ... and the generation they were admitted in */

    retry_breaker_state state; /* these two under mu; sg mirrors them */
    uint64_t gen;
    int64_t open_until;
    int64_t cur_open_ns;

    /* sliding window */
    uint8_t *ring; /* COUNT: one slot per call */
    uint32_t ring_pos;
    bucket *buckets; /* TIME: one bucket per second */
    int64_t last_sec;
    uint32_t w_calls, w_fails, w_slow;
    uint32_t consec;

    /* HALF_OPEN round */
    uint32_t ho_in_flight, ho_done, ho_fails, ho_slow, ho_succ;
    int64_t ho_last_admit;

    /* counters (calls: in the stripes) */
    uint64_t successes, failures, slow_calls, ignored, rejections, transitions;
};

/* Clamp t so that the breaker's time never goes back, advancing last_now.
 * Lock-free: last_now only grows (a CAS only when time moved forward). */
static int64_t clamp_now(retry_breaker *b, int64_t t)
{
    int64_t last = atomic_load_explicit(&b->last_now, memory_order_relaxed);
    while (t > last) {
        if (atomic_compare_exchange_weak_explicit(&b->last_now, &last, t, memory_order_relaxed,
                                                  memory_order_relaxed))
            return t;
    }
    return t > last ? t : last;
}

static int64_t breaker_now(retry_breaker *b)
{
    return clamp_now(b, retry__clock(&b->o.env, b->coarse));
}

/* A time read by the caller (retry_run) may stand in for the breaker's own
 * clock read when the breaker uses the default clock and that reading is as
 * fine as the breaker needs; otherwise the breaker reads its own clock. */
static int64_t now_from(retry_breaker *b, const retry__time *t)
{
    if (t && b->o.env.now_ns == NULL && (t->precise || b->coarse))
        return clamp_now(b, t->ns);
    return breaker_now(b);
}

/* The breaker's time for a lock-free path: the caller's reading or the
 * clock, at least the guard, without advancing it (the fast paths only time
 * calls; a reading that falls behind the guard makes a call shorter, never
 * slow). An injected clock advances the guard as everywhere else. */
static int64_t peek_now(retry_breaker *b, const retry__time *t)
{
    if (b->o.env.now_ns)
        return breaker_now(b);
    int64_t now = t && (t->precise || b->coarse) ? t->ns : retry__clock(&b->o.env, b->coarse);
    int64_t last = atomic_load_explicit(&b->last_now, memory_order_relaxed);
    return now > last ? now : last;
}

/* A stripe for the calling thread: the address of its stack, which differs
 * between threads by at least the stack size, hashed. */
static stripe *my_stripe(retry_breaker *b)
{
    uintptr_t sp = (uintptr_t)__builtin_frame_address(0) >> 16;
    return &b->stripes[(uint64_t)sp * UINT64_C(0x9e3779b97f4a7c15) >> 61];
}

static void add_relaxed(_Atomic uint64_t *v, uint64_t n)
{
    if (RETRY__SINGLE_THREADED())
        atomic_store_explicit(v, atomic_load_explicit(v, memory_order_relaxed) + n,
                              memory_order_relaxed);
    else
        atomic_fetch_add_explicit(v, n, memory_order_relaxed);
}

static void count_call(retry_breaker *b)
{
    add_relaxed(&my_stripe(b)->calls, 1);
}

/* Publish state, generation and the warm bit (mu held). When they change,
 * the stripes are re-tagged, and the successes still pending under the old
 * tag are kept in late, to be recorded after the change (settle()). */
static void publish(retry_breaker *b)
{
    int warm = b->state == RETRY_BREAKER_CLOSED && b->ring && b->w_calls >= b->o.min_calls;
    uint64_t sg = b->gen << SG_STATE_BITS | (warm ? SG_WARM : 0u) | (uint64_t)b->state;
    uint64_t old = atomic_load_explicit(&b->sg, memory_order_relaxed);
    if (sg == old)
        return;
    atomic_store_explicit(&b->sg, sg, memory_order_release);
    for (unsigned i = 0; i < STRIPES; i++) {
        uint64_t w = atomic_exchange_explicit(&b->stripes[i].pending, (uint64_t)(uint32_t)sg << 32,
                                              memory_order_acq_rel);
        if ((uint32_t)w != 0) {
            b->late += (uint32_t)w;
            b->late_gen = old >> SG_STATE_BITS;
        }
    }
}

int retry__breaker_clock(const retry_breaker *b)
{
    if (b->o.env.now_ns)
        return RETRY__CLOCK_CUSTOM;
    return b->coarse ? RETRY__CLOCK_COARSE : RETRY__CLOCK_PRECISE;
}

/* Options of version 1 end before the first field of version 2. */
#define OPTIONS_V1_SIZE  offsetof(retry_breaker_options, failure_count_threshold)
#define SNAPSHOT_V1_SIZE offsetof(retry_breaker_snapshot, half_open_admitted)

static int check_options(const retry_breaker_options *o)
{
    if (o->version != 1 && o->version != RETRY_BREAKER_OPTIONS_VERSION)
        return 0;
    if (o->window_kind != RETRY_WINDOW_COUNT && o->window_kind != RETRY_WINDOW_TIME)
        return 0;
    if (o->window_size < 1 || o->window_size > 100000 || o->min_calls < 1)
        return 0;
    if (!(o->failure_rate_threshold > 0.0 && o->failure_rate_threshold <= 100.0))
        return 0;
    if (!(o->slow_call_rate_threshold > 0.0 && o->slow_call_rate_threshold <= 100.0))
        return 0;
    if (o->slow_call_duration_ns < 0 || o->open_duration_ns <= 0)
        return 0;
    if (!(o->open_duration_multiplier >= 1.0) || !isfinite(o->open_duration_multiplier))
        return 0;
    if (o->max_open_duration_ns < o->open_duration_ns)
        return 0;
    if (o->half_open_permits < 1 || o->max_half_open_wait_ns <= 0)
        return 0;
    if (o->half_open_mode != RETRY_HALF_OPEN_RATE &&
        o->half_open_mode != RETRY_HALF_OPEN_SUCCESS_THRESHOLD)
        return 0;
    return 1;
}

int retry_breaker_new(retry_breaker **out, const retry_breaker_options *opts)
{
    static const retry_breaker_options defaults = RETRY_BREAKER_OPTIONS_INIT;
    *out = NULL;
    if (!opts)
        opts = &defaults;
    if (!check_options(opts))
        return RETRY_EINVAL;
    retry_breaker *b = aligned_alloc(alignof(retry_breaker), sizeof *b);
    if (!b)
        return RETRY_ENOMEM;
    memset(b, 0, sizeof *b);
    /* a version 1 caller's struct ends before the version 2 fields */
    memcpy(&b->o, opts, opts->version == 1 ? OPTIONS_V1_SIZE : sizeof b->o);
    /* combinations that could never trip are clamped, as resilience4j does:
     * a count window never holds more than window_size calls or failures */
    if (b->o.window_kind == RETRY_WINDOW_COUNT) {
        if (b->o.min_calls > b->o.window_size)
            b->o.min_calls = b->o.window_size;
        if (b->o.failure_count_threshold > b->o.window_size)
            b->o.failure_count_threshold = b->o.window_size;
    }
    if (b->o.window_kind == RETRY_WINDOW_COUNT)
        b->ring = calloc(b->o.window_size, sizeof *b->ring);
    else
        b->buckets = calloc(b->o.window_size, sizeof *b->buckets);
    if ((!b->ring && !b->buckets) || pthread_mutex_init(&b->mu, NULL) != 0) {
        free(b->ring);
        free(b->buckets);
        free(b);
        return RETRY_ENOMEM;
    }
    b->slow_enabled = b->o.slow_call_duration_ns > 0;
    int64_t shortest = b->o.open_duration_ns < b->o.max_half_open_wait_ns
                           ? b->o.open_duration_ns
                           : b->o.max_half_open_wait_ns;
    if (b->slow_enabled && b->o.slow_call_duration_ns < shortest)
        shortest = b->o.slow_call_duration_ns;
    b->coarse = retry__coarse_ok(&b->o.env, shortest);
    atomic_init(&b->last_now, INT64_MIN);
    b->t0 = breaker_now(b);
    b->state = RETRY_BREAKER_CLOSED;
    atomic_init(&b->sg, (uint64_t)RETRY_BREAKER_CLOSED);
    for (unsigned i = 0; i < STRIPES; i++) {
        atomic_init(&b->stripes[i].pending, (uint64_t)RETRY_BREAKER_CLOSED << 32);
        atomic_init(&b->stripes[i].calls, 0);
    }
    b->cur_open_ns = b->o.open_duration_ns;
    *out = b;
    return RETRY_OK;
}

void retry_breaker_free(retry_breaker *b)
{
    if (!b)
        return;
    pthread_mutex_destroy(&b->mu);
    free(b->ring);
    free(b->buckets);
    free(b);
}

static void clear_window(retry_breaker *b)
{
    if (b->ring)
        memset(b->ring, 0, b->o.window_size * sizeof *b->ring);
    if (b->buckets)
        memset(b->buckets, 0, b->o.window_size * sizeof *b->buckets);
    b->ring_pos = 0;
    b->w_calls = b->w_fails = b->w_slow = 0;
    b->consec = 0;
}

/* TIME window: drop the buckets of seconds that left the window. */
static void advance(retry_breaker *b, int64_t now)
{
    int64_t sec = retry__sub_sat(now, b->t0) / RETRY_NS_PER_S;
    if (sec <= b->last_sec)
        return;
    uint32_t n = b->o.window_size;
    if (sec - b->last_sec >= (int64_t)n) {
        memset(b->buckets, 0, n * sizeof *b->buckets);
        b->w_calls = b->w_fails = b->w_slow = 0;
    } else {
        for (int64_t s = b->last_sec + 1; s <= sec; s++) {
            bucket *k = &b->buckets[(uint64_t)s % n];
            b->w_calls -= k->calls;
            b->w_fails -= k->fails;
            b->w_slow -= k->slow;
            k->calls = k->fails = k->slow = 0;
        }
    }
    b->last_sec = sec;
}

static void reset_half_open(retry_breaker *b)
{
    b->ho_in_flight = b->ho_done = b->ho_fails = b->ho_slow = b->ho_succ = 0;
}

static void set_state(retry_breaker *b, retry_breaker_state to, int64_t now, transition *tr)
{
    tr->happened = 1;
    tr->from = b->state;
    tr->to = to;
    b->state = to;
    b->gen++;
    b->transitions++;
    reset_half_open(b);
    switch (to) {
    case RETRY_BREAKER_OPEN:
        b->open_until = retry__add_sat(now, b->cur_open_ns);
        break;
    case RETRY_BREAKER_HALF_OPEN:
        b->ho_last_admit = now;
        break;
    case RETRY_BREAKER_CLOSED:
        clear_window(b);
        b->cur_open_ns = b->o.open_duration_ns;
        break;
    case RETRY_BREAKER_FORCED_OPEN:
    case RETRY_BREAKER_DISABLED:
        break;
    }
    publish(b);
}

static void reopen(retry_breaker *b, int64_t now, transition *tr)
{
    double grown = (double)b->cur_open_ns * b->o.open_duration_multiplier;
    b->cur_open_ns = retry__ns_from_double(grown, b->o.max_open_duration_ns);
    set_state(b, RETRY_BREAKER_OPEN, now, tr);
}

/* OPEN whose time is up becomes HALF_OPEN; a HALF_OPEN round whose probes
 * have not reported for max_half_open_wait releases them. */
static void refresh(retry_breaker *b, int64_t now, transition *tr)
{
    if (b->state == RETRY_BREAKER_OPEN && now >= b->open_until)
        set_state(b, RETRY_BREAKER_HALF_OPEN, now, tr);
    if (b->state == RETRY_BREAKER_HALF_OPEN && b->ho_in_flight > 0 &&
        retry__sub_sat(now, b->ho_last_admit) >= b->o.max_half_open_wait_ns) {
        b->gen++; /* their late outcomes are now stale */
        publish(b);
        b->ho_in_flight = 0;
    }
}

static int64_t until_admit(const retry_breaker *b, int64_t now)
{
    switch (b->state) {
    case RETRY_BREAKER_OPEN:
        return b->open_until > now ? retry__sub_sat(b->open_until, now) : 0;
    case RETRY_BREAKER_FORCED_OPEN:
        return INT64_MAX;
    case RETRY_BREAKER_HALF_OPEN: {
        uint32_t used = b->o.half_open_mode == RETRY_HALF_OPEN_RATE ? b->ho_done : b->ho_succ;
        if (b->ho_in_flight + used < b->o.half_open_permits)
            return 0;
        int64_t t =
            retry__sub_sat(retry__add_sat(b->ho_last_admit, b->o.max_half_open_wait_ns), now);
        return t > 0 ? t : 0;
    }
    case RETRY_BREAKER_CLOSED:
    case RETRY_BREAKER_DISABLED:
        break;
    }
    return 0;
}

static void notify(const retry_breaker *b, const transition *tr)
{
    if (tr->happened && b->o.on_state_change)
        b->o.on_state_change(tr->from, tr->to, b->o.userdata);
}

static int should_trip(const retry_breaker *b)
{
    if (b->o.consecutive_failures && b->consec >= b->o.consecutive_failures)
        return 1;
    if (b->o.failure_count_threshold && b->w_fails >= b->o.failure_count_threshold)
        return 1;
    if (b->w_calls < b->o.min_calls)
        return 0;
    double calls = (double)b->w_calls;
    if ((double)b->w_fails * 100.0 >= b->o.failure_rate_threshold * calls)
        return 1;
    if (b->slow_enabled && (double)b->w_slow * 100.0 >= b->o.slow_call_rate_threshold * calls)
        return 1;
    return 0;
}

/* n successes of the current generation, recorded in a CLOSED count window
 * one by one (mu held). The window holds the last window_size calls, so
 * after that many only the ring position moves. Should one of them trip
 * the breaker, the rest are stale. */
static void add_successes(retry_breaker *b, uint64_t n, transition *tr)
{
    uint64_t i = 0;
    for (; i < n && i < b->o.window_size; i++) {
        uint32_t old = b->ring[b->ring_pos];
        b->ring[b->ring_pos] = (uint8_t)SLOT_USED;
        if (++b->ring_pos == b->o.window_size)
            b->ring_pos = 0;
        b->w_calls = b->w_calls + ((old & SLOT_USED) ? 0u : 1u);
        b->w_fails -= (old & SLOT_FAIL) ? 1u : 0u;
        b->w_slow -= (old & SLOT_SLOW) ? 1u : 0u;
        b->consec = 0;
        b->successes++;
        if (should_trip(b)) {
            set_state(b, RETRY_BREAKER_OPEN, breaker_now(b), tr);
            b->ignored += n - i - 1;
            return;
        }
    }
    if (i < n) { /* the ring holds only successes: they move its position */
        b->ring_pos = (uint32_t)((b->ring_pos + (n - i)) % b->o.window_size);
        b->successes += n - i;
    }
}

/* Fold the stripes' pending successes into the window (mu held): they were
 * counted under the current sg, CLOSED and warm, before this holder came. */
static void fold(retry_breaker *b, transition *tr)
{
    uint64_t tag = (uint64_t)(uint32_t)atomic_load_explicit(&b->sg, memory_order_relaxed) << 32;
    uint64_t n = 0;
    for (unsigned i = 0; i < STRIPES; i++) {
        if ((uint32_t)atomic_load_explicit(&b->stripes[i].pending, memory_order_relaxed) == 0)
            continue;
        n += (uint32_t)atomic_exchange_explicit(&b->stripes[i].pending, tag, memory_order_acq_rel);
    }
    if (n)
        add_successes(b, n, tr);
}

/* Before the mutex is released: record the successes that were counted
 * under an sg this holder has changed, as if they came after it. Stale
 * when the generation moved on; otherwise (a reset of a CLOSED breaker)
 * recorded in the window. Then publish what that changed. */
static void settle(retry_breaker *b, transition *tr)
{
    while (b->late) {
        uint64_t n = b->late;
        b->late = 0;
        if (b->late_gen != b->gen || b->state != RETRY_BREAKER_CLOSED || !b->ring)
            b->ignored += n;
        else
            add_successes(b, n, tr);
        publish(b);
    }
    publish(b);
}

static int acquire(retry_breaker *b, retry_permit *permit, int64_t *wait_ns, const retry__time *t,
                   int64_t start_delay)
{
    uint64_t sg = atomic_load_explicit(&b->sg, memory_order_acquire);
    if ((sg & SG_STATE_MASK) == RETRY_BREAKER_CLOSED) {
        /* the hot path takes no lock: the permit is linearized at the load
         * above (a trip after it makes its outcome stale), and the clock is
         * read only when slow calls are tracked */
        permit->start_ns = b->slow_enabled ? retry__add_sat(peek_now(b, t), start_delay) : 0;
        permit->generation = sg >> SG_STATE_BITS;
        permit->flags = 0;
        count_call(b);
        if (wait_ns)
            *wait_ns = 0;
        return RETRY_OK;
    }
    transition tr = { 0, RETRY_BREAKER_CLOSED, RETRY_BREAKER_CLOSED };
    int rc = RETRY_OK;
    int64_t wait = 0;
    pthread_mutex_lock(&b->mu);
    int64_t now = breaker_now(b); /* inside the lock: it may end an opening */
    refresh(b, now, &tr);
    permit->start_ns = retry__add_sat(now, start_delay);
    permit->generation = b->gen;
    permit->flags = 0;
    switch (b->state) {
    case RETRY_BREAKER_CLOSED:
    case RETRY_BREAKER_DISABLED:
        count_call(b);
        break;
    case RETRY_BREAKER_HALF_OPEN:
        if (until_admit(b, now) == 0) {
            b->ho_in_flight++;
            b->ho_last_admit = now;
            count_call(b);
            break;
        }
        /* fall through */
    case RETRY_BREAKER_OPEN:
    case RETRY_BREAKER_FORCED_OPEN:
        wait = until_admit(b, now);
        b->rejections++;
        rc = RETRY_EOPEN;
        break;
    }
    settle(b, &tr);
    pthread_mutex_unlock(&b->mu);
    notify(b, &tr);
    if (wait_ns)
        *wait_ns = wait;
    return rc;
}

int retry_breaker_acquire(retry_breaker *b, retry_permit *permit, int64_t *wait_ns)
{
    return acquire(b, permit, wait_ns, NULL, 0);
}

int retry__breaker_acquire_at(retry_breaker *b, retry_permit *permit, int64_t *wait_ns,
                              const retry__time *t, int64_t start_delay_ns)
{
    return acquire(b, permit, wait_ns, t, start_delay_ns);
}

int64_t retry__breaker_until_admit(retry_breaker *b)
{
    uint64_t sg = atomic_load_explicit(&b->sg, memory_order_acquire);
    if ((sg & SG_STATE_MASK) == RETRY_BREAKER_CLOSED)
        return 0;
    transition tr = { 0, RETRY_BREAKER_CLOSED, RETRY_BREAKER_CLOSED };
    pthread_mutex_lock(&b->mu);
    int64_t now = breaker_now(b);
    refresh(b, now, &tr);
    int64_t wait = until_admit(b, now);
    settle(b, &tr);
    pthread_mutex_unlock(&b->mu);
    notify(b, &tr);
    return wait;
}

/* A success recorded without the lock; 0 when it must take the lock. */
static int record_fast(retry_breaker *b, const retry_permit *permit, const retry__time *t)
{
    uint64_t sg = atomic_load_explicit(&b->sg, memory_order_acquire);
    if ((sg & (SG_STATE_MASK | SG_WARM)) != (RETRY_BREAKER_CLOSED | SG_WARM) ||
        sg >> SG_STATE_BITS != permit->generation)
        return 0;
    if (b->slow_enabled) {
        /* a slow call takes the lock */
        if (retry__sub_sat(peek_now(b, t), permit->start_ns) >= b->o.slow_call_duration_ns)
            return 0;
    }
    _Atomic uint64_t *p = &my_stripe(b)->pending;
    uint64_t w = atomic_load_explicit(p, memory_order_relaxed);
    uint64_t tag = (uint64_t)(uint32_t)sg << 32;
    for (;;) {
        if ((w & ~UINT64_C(0xffffffff)) != tag || (uint32_t)w >= PENDING_LIMIT)
            return 0;
        if (RETRY__SINGLE_THREADED()) {
            atomic_store_explicit(p, w + 1, memory_order_relaxed);
            return 1;
        }
        if (atomic_compare_exchange_weak_explicit(p, &w, w + 1, memory_order_acq_rel,
                                                  memory_order_relaxed))
            return 1;
    }
}

static void record(retry_breaker *b, const retry_permit *permit, retry_outcome outcome,
                   const retry__time *t)
{
    if (outcome == RETRY_OUTCOME_SUCCESS && record_fast(b, permit, t))
        return;
    transition tr = { 0, RETRY_BREAKER_CLOSED, RETRY_BREAKER_CLOSED };
    pthread_mutex_lock(&b->mu);
    fold(b, &tr);
    if (permit->generation != b->gen) {
        b->ignored++; /* admitted before a state change: stale */
        settle(b, &tr);
        pthread_mutex_unlock(&b->mu);
        notify(b, &tr);
        return;
    }
    /* CLOSED with a count window needs the time only for the slow-call
     * check, for which the caller's reading will do; anything that can
     * change state or a time window reads the clock here, inside the lock */
    int closed_count = b->state == RETRY_BREAKER_CLOSED && b->ring;
    int64_t now = 0;
    if (!closed_count)
        now = breaker_now(b);
    else if (b->slow_enabled)
        now = now_from(b, t);
    int fail = outcome == RETRY_OUTCOME_FAILURE;
    int slow =
        b->slow_enabled && retry__sub_sat(now, permit->start_ns) >= b->o.slow_call_duration_ns;

    if (b->state == RETRY_BREAKER_HALF_OPEN && b->ho_in_flight > 0)
        b->ho_in_flight--;
    if (outcome == RETRY_OUTCOME_IGNORE || outcome > RETRY_OUTCOME_IGNORE) {
        b->ignored++;
        settle(b, &tr);
        pthread_mutex_unlock(&b->mu);
        notify(b, &tr);
        return;
    }
    if (fail)
        b->failures++;
    else
        b->successes++;
    if (slow)
        b->slow_calls++;

    switch (b->state) {
    case RETRY_BREAKER_CLOSED:
        if (b->ring) {
            /* each counter is read and written once: separate narrow
             * decrements followed by a wide read stalled store forwarding */
            uint32_t old = b->ring[b->ring_pos];
            uint32_t used = (old & SLOT_USED) ? 1u : 0u;
            uint32_t ofail = (old & SLOT_FAIL) ? 1u : 0u, oslow = (old & SLOT_SLOW) ? 1u : 0u;
            b->ring[b->ring_pos] =
                (uint8_t)(SLOT_USED | (fail ? SLOT_FAIL : 0u) | (slow ? SLOT_SLOW : 0u));
            if (++b->ring_pos == b->o.window_size)
                b->ring_pos = 0;
            b->w_calls = b->w_calls + 1u - used;
            b->w_fails = b->w_fails + (fail ? 1u : 0u) - ofail;
            b->w_slow = b->w_slow + (slow ? 1u : 0u) - oslow;
        } else {
            advance(b, now);
            int64_t sec = retry__sub_sat(now, b->t0) / RETRY_NS_PER_S;
            bucket *k = &b->buckets[(uint64_t)sec % b->o.window_size];
            k->calls++;
            k->fails += fail ? 1u : 0u;
            k->slow += slow ? 1u : 0u;
            b->w_calls++;
            b->w_fails += fail ? 1u : 0u;
            b->w_slow += slow ? 1u : 0u;
        }
        b->consec = fail ? b->consec + 1 : 0;
        if (should_trip(b)) {
            if (closed_count) /* opening needs the time, read inside the lock */
                now = breaker_now(b);
            set_state(b, RETRY_BREAKER_OPEN, now, &tr);
        }
        break;
    case RETRY_BREAKER_HALF_OPEN:
        b->ho_done++;
        b->ho_fails += fail ? 1u : 0u;
        b->ho_slow += slow ? 1u : 0u;
        if (b->o.half_open_mode == RETRY_HALF_OPEN_SUCCESS_THRESHOLD) {
            if (fail)
                reopen(b, now, &tr);
            else if (++b->ho_succ >= b->o.half_open_permits)
                set_state(b, RETRY_BREAKER_CLOSED, now, &tr);
        } else if (b->ho_done >= b->o.half_open_permits) {
            double n = (double)b->ho_done;
            if ((double)b->ho_fails * 100.0 >= b->o.failure_rate_threshold * n ||
                (b->slow_enabled &&
                 (double)b->ho_slow * 100.0 >= b->o.slow_call_rate_threshold * n))
                reopen(b, now, &tr);
            else
                set_state(b, RETRY_BREAKER_CLOSED, now, &tr);
        }
        break;
    case RETRY_BREAKER_OPEN:
    case RETRY_BREAKER_FORCED_OPEN:
    case RETRY_BREAKER_DISABLED:
        break; /* counted above, never judged */
    }
    settle(b, &tr);
    pthread_mutex_unlock(&b->mu);
    notify(b, &tr);
}

void retry_breaker_record(retry_breaker *b, const retry_permit *permit, retry_outcome outcome)
{
    record(b, permit, outcome, NULL);
}

void retry__breaker_record_at(retry_breaker *b, const retry_permit *permit, retry_outcome outcome,
                              const retry__time *t)
{
    record(b, permit, outcome, t);
}

retry_breaker_state retry_breaker_state_now(retry_breaker *b)
{
    transition tr = { 0, RETRY_BREAKER_CLOSED, RETRY_BREAKER_CLOSED };
    pthread_mutex_lock(&b->mu);
    refresh(b, breaker_now(b), &tr);
    retry_breaker_state s = b->state;
    settle(b, &tr);
    pthread_mutex_unlock(&b->mu);
    notify(b, &tr);
    return s;
}

void retry_breaker_snapshot_get(retry_breaker *b, retry_breaker_snapshot *snap)
{
    transition tr = { 0, RETRY_BREAKER_CLOSED, RETRY_BREAKER_CLOSED };
    pthread_mutex_lock(&b->mu);
    fold(b, &tr);
    settle(b, &tr);
    int64_t now = breaker_now(b);
    refresh(b, now, &tr);
    settle(b, &tr);
    if (b->buckets && b->state == RETRY_BREAKER_CLOSED)
        advance(b, now);
    retry_breaker_snapshot v;
    memset(&v, 0, sizeof v);
    v.state = b->state;
    v.generation = b->gen;
    if (b->state == RETRY_BREAKER_HALF_OPEN) {
        /* the probes of this round, not the window that tripped it */
        v.window_calls = b->ho_done;
        v.window_failures = b->ho_fails;
        v.window_slow = b->ho_slow;
        v.half_open_admitted = b->ho_done + b->ho_in_flight;
        v.half_open_failed = b->ho_fails;
        v.half_open_succeeded = b->ho_done - b->ho_fails;
    } else {
        v.window_calls = b->w_calls;
        v.window_failures = b->w_fails;
        v.window_slow = b->w_slow;
    }
    uint32_t enough = b->state == RETRY_BREAKER_HALF_OPEN ? 1 : b->o.min_calls;
    if (v.window_calls >= enough && v.window_calls > 0) {
        v.failure_rate = (double)v.window_failures * 100.0 / (double)v.window_calls;
        v.slow_call_rate = (double)v.window_slow * 100.0 / (double)v.window_calls;
    } else {
        v.failure_rate = v.slow_call_rate = -1.0;
    }
    v.half_open_in_flight = b->ho_in_flight;
    v.open_duration_ns = b->cur_open_ns;
    v.until_admit_ns = until_admit(b, now);
    v.calls = 0;
    for (unsigned i = 0; i < STRIPES; i++)
        v.calls += atomic_load_explicit(&b->stripes[i].calls, memory_order_relaxed);
    v.successes = b->successes;
    v.failures = b->failures;
    v.slow_calls = b->slow_calls;
    v.ignored = b->ignored;
    v.rejections = b->rejections;
    v.transitions = b->transitions;
    pthread_mutex_unlock(&b->mu);
    /* a version 1 caller's snapshot ends before the version 2 fields */
    memcpy(snap, &v, b->o.version == 1 ? SNAPSHOT_V1_SIZE : sizeof v);
    notify(b, &tr);
}

static void manual(retry_breaker *b, retry_breaker_state to)
{
    transition tr = { 0, RETRY_BREAKER_CLOSED, RETRY_BREAKER_CLOSED };
    pthread_mutex_lock(&b->mu);
    fold(b, &tr);
    int64_t now = breaker_now(b);
    if (to == RETRY_BREAKER_CLOSED) {
        b->cur_open_ns = b->o.open_duration_ns;
        clear_window(b); /* a reset of a CLOSED breaker only clears it */
    }
    if (b->state != to)
        set_state(b, to, now, &tr);
    settle(b, &tr);
    pthread_mutex_unlock(&b->mu);
    notify(b, &tr);
}

void retry_breaker_force_open(retry_breaker *b)
{
    manual(b, RETRY_BREAKER_FORCED_OPEN);
}

void retry_breaker_disable(retry_breaker *b)
{
    manual(b, RETRY_BREAKER_DISABLED);
}

void retry_breaker_reset(retry_breaker *b)
{
    manual(b, RETRY_BREAKER_CLOSED);
}

const char *retry_breaker_state_name(retry_breaker_state s)
{
    switch (s) {
    case RETRY_BREAKER_CLOSED:
        return "CLOSED";
    case RETRY_BREAKER_OPEN:
        return "OPEN";
    case RETRY_BREAKER_HALF_OPEN:
        return "HALF_OPEN";
    case RETRY_BREAKER_FORCED_OPEN:
        return "FORCED_OPEN";
    case RETRY_BREAKER_DISABLED:
        return "DISABLED";
    }
    return "UNKNOWN";
}
