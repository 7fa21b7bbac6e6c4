/*
 * retry.h — backoff with jitter, retry policies, circuit breaker, rate
 * limiters and retry budgets.
 *
 * Thread safety: libretry has no mutable global state. Functions that take no
 * handle (the backoff functions, retry_parse_retry_after) are pure and safe to
 * call from any thread. retry_breaker, retry_limiter and retry_budget handles
 * may be shared by any number of threads: each has one mutex whose critical
 * sections are a few dozen instructions and never allocate after creation.
 * A CLOSED breaker admits calls without the mutex, and records successes
 * without it once its count window holds min_calls calls; a GCRA limiter
 * has no critical section
 * (it advances its state by compare-and-swap). The clock is read inside the
 * critical section wherever the reading can change a state or mint a token;
 * a lock-free path reads it before its compare-and-swap, where an older
 * reading can only make a limiter stricter or a call shorter. retry_run()
 * hands the reading it took for an attempt to the limiter, the budget's
 * deposit and a CLOSED breaker. A retry_policy is a plain value
 * that retry_run() only reads, so one policy may serve many threads at once.
 * A retry_state belongs to one operation: use it from one thread at a time.
 * A retry_cancel token may be tested and set from any thread, and set from a
 * signal handler. Callbacks (the retried function, the classifier, the
 * state-change and on_retry callbacks, the clock, sleep and random functions)
 * are called without any library lock held, except the clock, which may be
 * read inside a critical section and must therefore neither block nor call
 * back into the library.
 * Distinct handles are independent.
 */
#ifndef RETRY_RETRY_H
#define RETRY_RETRY_H

#include <stddef.h>
#include <stdint.h>

#include <retry/version.h> /* generated: RETRY_VERSION_MAJOR/MINOR/PATCH/NUMBER */

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define RETRY_API          __attribute__((visibility("default")))
#define RETRY_NODISCARD    __attribute__((warn_unused_result))
#define RETRY_NONNULL(...) __attribute__((nonnull(__VA_ARGS__)))
#else
#define RETRY_API
#define RETRY_NODISCARD
#define RETRY_NONNULL(...)
#endif

/* Error codes: 0 is success, failures are negative. */
typedef enum retry_error {
    RETRY_OK = 0,
    RETRY_EINVAL = -1,   /* an argument or option is out of range */
    RETRY_ENOMEM = -2,   /* allocation failed; nothing was changed */
    RETRY_EOPEN = -3,    /* the circuit breaker rejected the call */
    RETRY_ELIMIT = -4,   /* the rate limiter has no tokens now */
    RETRY_ETIMEOUT = -5, /* the wait for tokens would not fit in the timeout */
    RETRY_EBUDGET = -6,  /* the retry budget does not allow another retry */
    RETRY_EGAVEUP = -7,  /* retrying stopped: fatal error, attempts or deadline */
    RETRY_ECANCELED = -8 /* the run's cancel token was set */
} retry_error;

/* Static text for an error code; never NULL, also for unknown codes. */
RETRY_API const char *retry_strerror(int err);

/* Runtime version as RETRY_VERSION_NUMBER (0xMMmmpp) of the library linked. */
RETRY_API uint32_t retry_version(void);

/* Handy constants for durations, which are int64_t nanoseconds everywhere. */
#define RETRY_NS_PER_MS INT64_C(1000000)
#define RETRY_NS_PER_S  INT64_C(1000000000)

/* ------------------------------------------------------------------------ */
/* Environment: clock, sleep and randomness                                 */
/* ------------------------------------------------------------------------ */

/*
 * Every handle (and every policy) carries an environment. Each NULL member
 * takes its default, so RETRY_ENV_INIT is the real world:
 *   now_ns   monotonic time in nanoseconds; default CLOCK_MONOTONIC (or
 *            CLOCK_MONOTONIC_COARSE where every duration the handle times
 *            is at least 25 ticks of it: breakers with durations of 100 ms
 *            or more, budgets, runs without a short deadline; never
 *            limiters). Read inside critical sections: it must not block or
 *            call libretry. A clock that steps backwards is clamped per
 *            handle (time never goes back), so it never mints tokens nor
 *            shortens a wait.
 *   sleep_ns sleep for ns nanoseconds; default nanosleep (restarted on EINTR).
 *   random   a uniform double in [0, 1); default a xoroshiro128+ PRNG
 *            whose state is private to each handle or run (no shared state,
 *            no lock). Values outside [0, 1) are clamped into it.
 *   ctx      passed to the three functions above.
 *   seed     seed of the default PRNG; 0 derives one from the clock and the
 *            state's address. A fixed seed makes runs reproducible.
 * The struct is copied by every constructor; ctx is borrowed and must stay
 * valid for as long as the handle (or the run) that copied it.
 */
typedef struct retry_env {
    int64_t (*now_ns)(void *ctx);
    void (*sleep_ns)(int64_t ns, void *ctx);
    double (*random)(void *ctx);
    void *ctx;
    uint64_t seed;
} retry_env;

#define RETRY_ENV_INIT                                                                             \
    {                                                                                              \
        NULL, NULL, NULL, NULL, 0                                                                  \
    }

/* ------------------------------------------------------------------------ */
/* Backoff (pure functions)                                                 */
/* ------------------------------------------------------------------------ */

typedef enum retry_backoff_kind {
    RETRY_BACKOFF_FIXED = 0,      /* base every time */
    RETRY_BACKOFF_LINEAR = 1,     /* base + increment * (n - 1) */
    RETRY_BACKOFF_EXPONENTIAL = 2 /* base * multiplier^(n - 1) */
} retry_backoff_kind;

typedef enum retry_jitter {
    RETRY_JITTER_NONE = 0,         /* d */
    RETRY_JITTER_PROPORTIONAL = 1, /* d * (1 + factor * (2u - 1)), i.e. d +/- factor */
    RETRY_JITTER_FULL = 2,         /* U(0, d) */
    RETRY_JITTER_EQUAL = 3,        /* d/2 + U(0, d/2) */
    RETRY_JITTER_DECORRELATED = 4  /* min(cap, U(base, 3 * previous)); ignores kind */
} retry_jitter;

/*
 * A backoff schedule. Defaults (RETRY_BACKOFF_INIT) and why:
 *   kind EXPONENTIAL, multiplier 2: spreads load quickly after an outage and
 *     is what every peer library defaults to.
 *   base 100 ms: longer than a typical LAN round trip, short enough that one
 *     transient failure costs little.
 *   increment 0: LINEAR then uses base as the increment.
 *   cap 30 s: a client should not go quiet for longer than a typical
 *     load-balancer health-check period.
 *   jitter FULL: in the contention experiment (docs/retry.md) it needs
 *     1.4 (10 clients) to 6.7 (100) times fewer calls than no jitter, within 13 % of the best
 *     (decorrelated) from 40 clients on and level with it at 100, and it is
 *     stateless: the delay depends on the attempt number alone.
 *   jitter_factor 0.2: used by PROPORTIONAL only (+/-20 %).
 */
typedef struct retry_backoff {
    unsigned version;        /* RETRY_BACKOFF_VERSION */
    retry_backoff_kind kind; /* default RETRY_BACKOFF_EXPONENTIAL */
    int64_t base_ns;         /* first delay; > 0; default 100 ms */
    double multiplier;       /* EXPONENTIAL growth, >= 1; default 2.0 */
    int64_t increment_ns;    /* LINEAR step; 0 means base_ns; default 0 */
    int64_t cap_ns;          /* no delay exceeds this; > 0; default 30 s */
    retry_jitter jitter;     /* default RETRY_JITTER_FULL */
    double jitter_factor;    /* PROPORTIONAL: 0..1; default 0.2 */
} retry_backoff;

#define RETRY_BACKOFF_VERSION 1
#define RETRY_BACKOFF_INIT                                                                         \
    {                                                                                              \
        RETRY_BACKOFF_VERSION, RETRY_BACKOFF_EXPONENTIAL, 100 * RETRY_NS_PER_MS, 2.0, 0,           \
            30 * RETRY_NS_PER_S, RETRY_JITTER_FULL, 0.2                                            \
    }

/*
 * Check a backoff schedule: RETRY_OK, or RETRY_EINVAL when a field is out of
 * range (base or cap <= 0, multiplier < 1 or not finite, factor outside 0..1,
 * an unknown kind, jitter or version).
 */
RETRY_API RETRY_NODISCARD RETRY_NONNULL(1) int retry_backoff_check(const retry_backoff *b);

/*
 * The deterministic delay before retry number `attempt` (1 = the delay after
 * the first failed call), before jitter: fixed, linear or exponential,
 * saturating at cap_ns for any attempt (attempt 10000 with base 1 day gives
 * exactly the cap, never an overflow). attempt 0 is treated as 1. b must have
 * passed retry_backoff_check(); an invalid schedule gives 0.
 */
RETRY_API RETRY_NONNULL(1) int64_t
    retry_backoff_base_delay(const retry_backoff *b, uint32_t attempt);

/*
 * The jittered delay before retry number `attempt`, given the previous delay
 * (prev_ns, used by DECORRELATED only; <= 0 means "none yet", taken as base)
 * and a uniform random value u in [0, 1) (clamped into it). Pure: the same
 * inputs give the same output, so event-loop users can schedule their own
 * timers. The result is always in [0, cap_ns].
 */
RETRY_API RETRY_NONNULL(1) int64_t
    retry_backoff_delay(const retry_backoff *b, uint32_t attempt, int64_t prev_ns, double u);

/* ------------------------------------------------------------------------ */
/* Retry-After                                                              */
/* ------------------------------------------------------------------------ */

/*
 * Parse an HTTP Retry-After field value (RFC 9110 section 10.2.3): either
 * delay-seconds ("120") or an HTTP-date in any of the three forms recipients
 * must accept (IMF-fixdate "Sun, 06 Nov 1994 08:49:37 GMT", RFC 850
 * "Sunday, 06-Nov-94 08:49:37 GMT", asctime "Sun Nov  6 08:49:37 1994"),
 * relative to now_unix_s (seconds since 1970, UTC). value need not be
 * NUL-terminated; surrounding spaces and tabs are ignored. On success
 * *delay_ns is the delay (0 for a date in the past; delay-seconds saturate at
 * about 292 years) and RETRY_OK is returned. Garbage gives *delay_ns = 0 and
 * RETRY_EINVAL. value may be NULL only when len is 0.
 */
RETRY_API RETRY_NODISCARD RETRY_NONNULL(1) int retry_parse_retry_after(int64_t *delay_ns,
                                                                       const char *value,
                                                                       size_t len,
                                                                       int64_t now_unix_s);

/* ------------------------------------------------------------------------ */
/* Circuit breaker                                                          */
/* ------------------------------------------------------------------------ */

typedef enum retry_breaker_state {
    RETRY_BREAKER_CLOSED = 0,      /* calls flow; outcomes are recorded */
    RETRY_BREAKER_OPEN = 1,        /* calls are rejected until the open duration ends */
    RETRY_BREAKER_HALF_OPEN = 2,   /* a few probe calls decide: close or re-open */
    RETRY_BREAKER_FORCED_OPEN = 3, /* manual: every call rejected until reset */
    RETRY_BREAKER_DISABLED = 4     /* manual: every call admitted, nothing judged */
} retry_breaker_state;

typedef enum retry_window_kind {
    RETRY_WINDOW_COUNT = 0, /* the last window_size calls */
    RETRY_WINDOW_TIME = 1   /* the calls of the last window_size seconds, in 1 s buckets */
} retry_window_kind;

typedef enum retry_half_open_mode {
    /* After half_open_permits probes have reported, their failure and slow
     * rates are compared with the same thresholds: below both closes. */
    RETRY_HALF_OPEN_RATE = 0,
    /* half_open_permits successful probes close; the first failure re-opens. */
    RETRY_HALF_OPEN_SUCCESS_THRESHOLD = 1
} retry_half_open_mode;

typedef enum retry_outcome {
    RETRY_OUTCOME_SUCCESS = 0,
    RETRY_OUTCOME_FAILURE = 1,
    RETRY_OUTCOME_IGNORE = 2 /* not counted; a half-open permit is released */
} retry_outcome;

/*
 * Breaker options. Defaults (RETRY_BREAKER_OPTIONS_INIT) and why:
 *   window COUNT of 100 calls: resilience4j's default; long enough that one
 *     unlucky burst does not trip it.
 *   min_calls 20: no rate is computed from fewer calls (resilience4j uses
 *     100, which at low request rates means the breaker almost never trips);
 *     at 20 calls a 50 % rate is 10 failures, not a coin flip.
 *   failure_rate_threshold 50 %: trip when most calls fail.
 *   slow_call_duration 60 s, slow_call_rate_threshold 100 %: slow calls are
 *     tracked but trip only when every call is slow, as resilience4j.
 *   consecutive_failures 0: off; the rate is the better signal, the count is
 *     for callers that want gobreaker's simpler rule.
 *   open_duration 60 s, multiplier 1, max 10 min: as resilience4j; set the
 *     multiplier > 1 to back off a service that keeps failing its probes.
 *   half_open_permits 5, mode RATE: enough probes for a rate to mean
 *     something, few enough not to hurt a recovering service.
 *   max_half_open_wait 30 s: a probe that never reports back is released
 *     after 30 s, so no breaker stays stuck in HALF_OPEN.
 */
typedef struct retry_breaker_options {
    unsigned version;                    /* RETRY_BREAKER_OPTIONS_VERSION */
    retry_window_kind window_kind;       /* default RETRY_WINDOW_COUNT */
    uint32_t window_size;                /* calls or seconds, 1..100000; default 100 */
    uint32_t min_calls;                  /* >= 1, COUNT: clamped to window_size; default 20 */
    double failure_rate_threshold;       /* percent, (0, 100]; trip at >=; default 50 */
    double slow_call_rate_threshold;     /* percent, (0, 100]; trip at >=; default 100 */
    int64_t slow_call_duration_ns;       /* a call this long or longer is slow; 0 off; 60 s */
    uint32_t consecutive_failures;       /* trip after this many in a row; 0 off; default 0 */
    int64_t open_duration_ns;            /* > 0; default 60 s */
    double open_duration_multiplier;     /* >= 1, applied on each re-open; default 1 */
    int64_t max_open_duration_ns;        /* cap for the growth; default 10 min */
    uint32_t half_open_permits;          /* >= 1; default 5 */
    retry_half_open_mode half_open_mode; /* default RETRY_HALF_OPEN_RATE */
    int64_t max_half_open_wait_ns;       /* > 0; default 30 s */
    /* Called after every state change, without any lock held, in the thread
     * that caused it. Optional. */
    void (*on_state_change)(retry_breaker_state from, retry_breaker_state to, void *userdata);
    void *userdata; /* borrowed; passed to on_state_change */
    retry_env env;  /* copied; see retry_env */
    /* Version 2. "m failures out of the last n calls" (failsafe-go): trip
     * when the window holds at least this many failures, whatever min_calls
     * says; with a COUNT window of n calls this is "m of n". 0 off;
     * default 0. With a COUNT window it is clamped to window_size. */
    uint32_t failure_count_threshold;
} retry_breaker_options;

#define RETRY_BREAKER_OPTIONS_VERSION 2
#define RETRY_BREAKER_OPTIONS_INIT                                                                 \
    {                                                                                              \
        RETRY_BREAKER_OPTIONS_VERSION, RETRY_WINDOW_COUNT, 100, 20, 50.0, 100.0,                   \
            60 * RETRY_NS_PER_S, 0, 60 * RETRY_NS_PER_S, 1.0, 600 * RETRY_NS_PER_S, 5,             \
            RETRY_HALF_OPEN_RATE, 30 * RETRY_NS_PER_S, NULL, NULL, RETRY_ENV_INIT, 0               \
    }

/* A circuit breaker. Opaque; thread-safe. */
typedef struct retry_breaker retry_breaker;

/*
 * What retry_breaker_acquire() hands out: the caller keeps it (on the stack)
 * and gives it back to retry_breaker_record(). Its fields are the breaker's
 * business; the caller only stores it.
 */
typedef struct retry_permit {
    uint64_t generation; /* state generation that admitted the call */
    int64_t start_ns;    /* when it was admitted, for the slow-call check */
    uint32_t flags;      /* private */
} retry_permit;

/*
 * A consistent copy of a breaker's state and counters, for metrics. While
 * the breaker is HALF_OPEN, the window fields and the rates describe the
 * probes of the current round (reported probes; rates -1 until one has
 * reported), not the window that tripped it. The fields after transitions
 * are filled only by breakers created with options of version 2 or later
 * (older callers' snapshots end before them).
 */
typedef struct retry_breaker_snapshot {
    retry_breaker_state state;
    uint64_t generation;          /* grows on every state change and release of stuck probes */
    uint32_t window_calls;        /* calls in the sliding window now (HALF_OPEN: probes reported) */
    uint32_t window_failures;     /* of which failed */
    uint32_t window_slow;         /* of which slow */
    double failure_rate;          /* percent, or -1 while window_calls < min_calls */
    double slow_call_rate;        /* percent, or -1 while window_calls < min_calls */
    uint32_t half_open_in_flight; /* permits handed out and not yet released */
    int64_t open_duration_ns;     /* the duration the next (or current) opening uses */
    int64_t until_admit_ns;       /* 0 when a call would be admitted now */
    uint64_t calls;               /* admitted calls */
    uint64_t successes;           /* recorded successes */
    uint64_t failures;            /* recorded failures */
    uint64_t slow_calls;          /* recorded calls at least slow_call_duration long */
    uint64_t ignored;             /* IGNORE outcomes and stale outcomes */
    uint64_t rejections;          /* calls refused */
    uint64_t transitions;         /* state changes */
    /* version 2 */
    uint32_t half_open_admitted;  /* HALF_OPEN: probes admitted in this round; 0 otherwise */
    uint32_t half_open_succeeded; /* HALF_OPEN: of which reported success */
    uint32_t half_open_failed;    /* HALF_OPEN: of which reported failure */
} retry_breaker_snapshot;

/*
 * Create a breaker (CLOSED). *out is a new breaker that the caller owns and
 * frees with retry_breaker_free(). opts may be NULL for the defaults; it is
 * copied. A value out of its range is refused; with a COUNT window, min_calls
 * and failure_count_threshold above window_size are clamped to it (a window
 * never holds more calls), so that no accepted configuration can never trip.
 * Returns RETRY_OK, RETRY_EINVAL or RETRY_ENOMEM (then *out is NULL).
 */
RETRY_API RETRY_NODISCARD RETRY_NONNULL(1) int retry_breaker_new(retry_breaker **out,
                                                                 const retry_breaker_options *opts);

/* Free a breaker. NULL is a harmless no-op. No call may be using it. */
RETRY_API void retry_breaker_free(retry_breaker *b);

/*
 * Ask to make a call. RETRY_OK: make it, then report with
 * retry_breaker_record(..., permit, ...). RETRY_EOPEN: rejected; when wait_ns
 * is not NULL it receives how long until the breaker may admit calls again
 * (INT64_MAX when FORCED_OPEN; in HALF_OPEN with every permit out, the time
 * until stuck probes are released). Allocates nothing.
 */
RETRY_API RETRY_NODISCARD RETRY_NONNULL(1, 2) int retry_breaker_acquire(retry_breaker *b,
                                                                        retry_permit *permit,
                                                                        int64_t *wait_ns);

/*
 * Report the outcome of an admitted call. The duration (for the slow-call
 * check) is measured from the permit. Outcomes of a permit from an earlier
 * generation (admitted before a state change) are ignored; IGNORE and stale
 * outcomes release a half-open permit without counting. Each permit must be
 * recorded exactly once. Allocates nothing.
 */
RETRY_API RETRY_NONNULL(1, 2) void retry_breaker_record(retry_breaker *b,
                                                        const retry_permit *permit,
                                                        retry_outcome outcome);

/* The current state (an OPEN breaker whose time is up reads HALF_OPEN). */
RETRY_API RETRY_NONNULL(1) retry_breaker_state retry_breaker_state_now(retry_breaker *b);

/* Fill *snap with a consistent snapshot. */
RETRY_API RETRY_NONNULL(1, 2) void retry_breaker_snapshot_get(retry_breaker *b,
                                                              retry_breaker_snapshot *snap);

/* Manual control: FORCED_OPEN, DISABLED, or back to a fresh CLOSED (window
 * cleared, open duration back to its base). Each is a state change. */
RETRY_API RETRY_NONNULL(1) void retry_breaker_force_open(retry_breaker *b);
RETRY_API RETRY_NONNULL(1) void retry_breaker_disable(retry_breaker *b);
RETRY_API RETRY_NONNULL(1) void retry_breaker_reset(retry_breaker *b);

/* Static name of a state ("CLOSED", ...); never NULL. */
RETRY_API const char *retry_breaker_state_name(retry_breaker_state s);

/* ------------------------------------------------------------------------ */
/* Rate limiters                                                            */
/* ------------------------------------------------------------------------ */

typedef enum retry_limiter_kind {
    RETRY_LIMITER_TOKEN_BUCKET = 0, /* rate tokens/s, capacity burst, starts full */
    RETRY_LIMITER_GCRA = 1,         /* the same contract, exact integer arithmetic */
    RETRY_LIMITER_FIXED_WINDOW = 2  /* burst requests per window_ns window */
} retry_limiter_kind;

/*
 * Limiter options. Defaults (RETRY_LIMITER_OPTIONS_INIT) and why:
 *   kind TOKEN_BUCKET: the common contract (x/time/rate, Guava).
 *   rate 5/s, burst 5: a limiter exists to be set to the server's limit,
 *     so the default only has to be harmless: a few calls per second suits
 *     most paid HTTP API tiers. Polygon's free tier (5 calls per minute)
 *     needs rate 5.0 / 60.
 *   window 1 s: used by FIXED_WINDOW only ("burst per window_ns").
 */
typedef struct retry_limiter_options {
    unsigned version;        /* RETRY_LIMITER_OPTIONS_VERSION */
    retry_limiter_kind kind; /* default RETRY_LIMITER_TOKEN_BUCKET */
    double rate;             /* tokens per second, > 0 (not FIXED_WINDOW); default 5 */
    uint32_t burst;          /* capacity / requests per window, >= 1; default 5 */
    int64_t window_ns;       /* FIXED_WINDOW window length, > 0; default 1 s */
    retry_env env;           /* copied; see retry_env */
} retry_limiter_options;

#define RETRY_LIMITER_OPTIONS_VERSION 1
#define RETRY_LIMITER_OPTIONS_INIT                                                                 \
    {                                                                                              \
        RETRY_LIMITER_OPTIONS_VERSION, RETRY_LIMITER_TOKEN_BUCKET, 5.0, 5, RETRY_NS_PER_S,         \
            RETRY_ENV_INIT                                                                         \
    }

/* A rate limiter. Opaque; thread-safe. */
typedef struct retry_limiter retry_limiter;

/* Tokens taken in advance by retry_limiter_reserve(); the caller stores it
 * and may hand it to retry_limiter_cancel(). Fields are private. */
typedef struct retry_reservation {
    int64_t act_ns;  /* when the tokens are due */
    int64_t window;  /* FIXED_WINDOW: the window they were taken from */
    uint32_t tokens; /* how many; 0 once cancelled */
    uint32_t flags;  /* private */
} retry_reservation;

/*
 * Create a limiter. *out is a new limiter that the caller owns and frees with
 * retry_limiter_free(). opts may be NULL for the defaults; it is copied.
 * Returns RETRY_OK, RETRY_EINVAL or RETRY_ENOMEM (then *out is NULL).
 */
RETRY_API RETRY_NODISCARD RETRY_NONNULL(1) int retry_limiter_new(retry_limiter **out,
                                                                 const retry_limiter_options *opts);

/* Free a limiter. NULL is a harmless no-op. */
RETRY_API void retry_limiter_free(retry_limiter *l);

/* Take n tokens now if they are there: RETRY_OK, RETRY_ELIMIT (nothing
 * taken), or RETRY_EINVAL when n is 0 or larger than burst. Never waits. */
RETRY_API RETRY_NODISCARD RETRY_NONNULL(1) int retry_limiter_try_acquire(retry_limiter *l,
                                                                         uint32_t n);

/*
 * Take n tokens, sleeping (with the environment's sleep) until they are due,
 * but only when that wait fits in timeout_ns: otherwise return RETRY_ETIMEOUT
 * at once, having taken nothing and waited not at all. RETRY_EINVAL when n is
 * 0 or larger than burst, or timeout_ns < 0.
 */
RETRY_API RETRY_NODISCARD RETRY_NONNULL(1) int retry_limiter_acquire(retry_limiter *l, uint32_t n,
                                                                     int64_t timeout_ns);

/*
 * Take n tokens now or in the future: *wait_ns receives how long the caller
 * must wait before acting (0: now). When the wait would exceed max_wait_ns,
 * nothing is taken and RETRY_ETIMEOUT is returned (*wait_ns still says how
 * long it would have been). res may be NULL; when given it can undo the
 * reservation with retry_limiter_cancel().
 */
RETRY_API RETRY_NODISCARD RETRY_NONNULL(1, 2) int retry_limiter_reserve(
    retry_limiter *l, int64_t *wait_ns, retry_reservation *res, uint32_t n, int64_t max_wait_ns);

/* Give back the tokens of a reservation that will not be used, as long as
 * it is not yet due (the clock has not passed its act time: a reservation
 * whose time has come counts as used, as in x/time/rate, so cancelling can
 * never mint tokens). Never beyond the burst. Cancelling twice is a no-op. */
RETRY_API RETRY_NONNULL(1, 2) void retry_limiter_cancel(retry_limiter *l, retry_reservation *res);

/* How long until n tokens could be taken (0: now); takes nothing.
 * Returns -1 when n is 0 or larger than burst. */
RETRY_API RETRY_NONNULL(1) int64_t retry_limiter_time_until(retry_limiter *l, uint32_t n);

/* ------------------------------------------------------------------------ */
/* Retry budgets                                                            */
/* ------------------------------------------------------------------------ */

typedef enum retry_budget_kind {
    /* gRPC retry throttling: a bucket of max_tokens; every failed attempt
     * costs 1, every success earns token_ratio; retries are allowed only
     * while the bucket holds more than half of max_tokens. */
    RETRY_BUDGET_TOKENS = 0,
    /* Finagle RetryBudget: over the last ttl, retries may be percent % of
     * the requests, plus min_per_second * ttl retries that are always
     * allowed (so a quiet client can still retry). */
    RETRY_BUDGET_PERCENT = 1
} retry_budget_kind;

/*
 * Budget options. Defaults (RETRY_BUDGET_OPTIONS_INIT) and why:
 *   kind PERCENT: it bounds the extra load retries add (at most 20 % more
 *     requests) whatever the failure pattern, which is the point.
 *   max_tokens 10, token_ratio 0.1: gRPC's documented example values.
 *   percent 20, ttl 10 s, min_per_second 10: Finagle's defaults.
 */
typedef struct retry_budget_options {
    unsigned version;        /* RETRY_BUDGET_OPTIONS_VERSION */
    retry_budget_kind kind;  /* default RETRY_BUDGET_PERCENT */
    double max_tokens;       /* TOKENS: 1..1000; default 10 */
    double token_ratio;      /* TOKENS: > 0, <= max_tokens; default 0.1 */
    double percent;          /* PERCENT: 0..1000; default 20 */
    int64_t ttl_ns;          /* PERCENT: 1 s..1 h; default 10 s */
    uint32_t min_per_second; /* PERCENT: default 10 */
    retry_env env;           /* copied; see retry_env */
} retry_budget_options;

#define RETRY_BUDGET_OPTIONS_VERSION 1
#define RETRY_BUDGET_OPTIONS_INIT                                                                  \
    {                                                                                              \
        RETRY_BUDGET_OPTIONS_VERSION, RETRY_BUDGET_PERCENT, 10.0, 0.1, 20.0, 10 * RETRY_NS_PER_S,  \
            10, RETRY_ENV_INIT                                                                     \
    }

/* A retry budget. Opaque; thread-safe. */
typedef struct retry_budget retry_budget;

/*
 * Create a budget. *out is a new budget that the caller owns and frees with
 * retry_budget_free(). opts may be NULL for the defaults; it is copied.
 * Returns RETRY_OK, RETRY_EINVAL or RETRY_ENOMEM (then *out is NULL).
 */
RETRY_API RETRY_NODISCARD RETRY_NONNULL(1) int retry_budget_new(retry_budget **out,
                                                                const retry_budget_options *opts);

/* Free a budget. NULL is a harmless no-op. */
RETRY_API void retry_budget_free(retry_budget *b);

/* A first attempt (not a retry) is being made: PERCENT deposits it. */
RETRY_API RETRY_NONNULL(1) void retry_budget_deposit(retry_budget *b);

/* An attempt ended: TOKENS earns token_ratio on success, pays 1 on failure. */
RETRY_API RETRY_NONNULL(1) void retry_budget_record(retry_budget *b, int success);

/* May the caller retry? RETRY_OK (PERCENT: the retry is withdrawn) or
 * RETRY_EBUDGET. */
RETRY_API RETRY_NODISCARD RETRY_NONNULL(1) int retry_budget_try_withdraw(retry_budget *b);

/* TOKENS: the tokens in the bucket. PERCENT: how many retries are allowed
 * now. For metrics. */
RETRY_API RETRY_NONNULL(1) double retry_budget_balance(retry_budget *b);

/* ------------------------------------------------------------------------ */
/* Retry policy and execution                                               */
/* ------------------------------------------------------------------------ */

/*
 * A cancel token, owned by the caller and shared by any number of runs: once
 * set, retry_run() and the step API stop before their next attempt with
 * RETRY_STOP_CANCELLED, and a run sleeping for a backoff delay or a limiter
 * token wakes up at once (with the default sleep; an injected sleep_ns is
 * not interrupted, the token is checked when it returns). Setting it is
 * final. It is a flag and a pipe: any thread may test or set it, and
 * retry_cancel_set() is async-signal-safe, so a SIGTERM handler may call it.
 */
typedef struct retry_cancel retry_cancel;

/* Create a token (not set). *out is owned by the caller; free it with
 * retry_cancel_free() once no run uses it. RETRY_OK or RETRY_ENOMEM (also
 * when no pipe can be made; then *out is NULL). */
RETRY_API RETRY_NODISCARD RETRY_NONNULL(1) int retry_cancel_new(retry_cancel **out);

/* Free a token. NULL is a harmless no-op. No run may be using it. */
RETRY_API void retry_cancel_free(retry_cancel *c);

/* Set the token: every run using it stops before its next attempt, and
 * sleeping runs wake. Async-signal-safe; setting twice is harmless. */
RETRY_API RETRY_NONNULL(1) void retry_cancel_set(retry_cancel *c);

/* 1 once the token is set, else 0. */
RETRY_API RETRY_NONNULL(1) int retry_cancel_is_set(const retry_cancel *c);

/* A file descriptor that becomes readable (and stays so) once the token is
 * set, for event loops that drive the step API; borrowed: valid until
 * retry_cancel_free(), never to be read or closed by the caller. */
RETRY_API RETRY_NONNULL(1) int retry_cancel_fd(const retry_cancel *c);

/* Where the delay before a retry came from. */
typedef enum retry_delay_source {
    RETRY_DELAY_BACKOFF = 0, /* the backoff schedule */
    RETRY_DELAY_HINT = 1     /* the call's Retry-After hint (it was the longer one) */
} retry_delay_source;

/* What the on_retry callback sees before each retry's delay. */
typedef struct retry_event {
    uint32_t attempt;          /* the attempt that failed (1 = the first call) */
    int rc;                    /* its return code */
    const char *errmsg;        /* its error text ("" for none); borrowed for the callback */
    int64_t delay_ns;          /* the delay before the next attempt (capped, trimmed) */
    retry_delay_source source; /* what chose it */
    int64_t hint_ns;           /* the call's Retry-After hint as given, 0 for none */
} retry_event;

/* How an outcome is judged. */
typedef enum retry_class {
    RETRY_CLASS_SUCCESS = 0,   /* done */
    RETRY_CLASS_RETRYABLE = 1, /* transient: retry (counts as a breaker failure) */
    RETRY_CLASS_FATAL = 2      /* permanent: stop (the breaker ignores it: the request
                                  was wrong, not the service) */
} retry_class;

/* Why a run stopped. */
typedef enum retry_stop {
    RETRY_STOP_NONE = 0,         /* not stopped yet (step API) */
    RETRY_STOP_SUCCESS = 1,      /* the call succeeded */
    RETRY_STOP_FATAL = 2,        /* the classifier said fatal */
    RETRY_STOP_ATTEMPTS = 3,     /* max_attempts calls made */
    RETRY_STOP_DEADLINE = 4,     /* max_elapsed reached (or a hint reaches past it) */
    RETRY_STOP_BREAKER_OPEN = 5, /* the breaker rejected the next call */
    RETRY_STOP_BUDGET = 6,       /* the retry budget refused the retry */
    RETRY_STOP_RATE_LIMIT = 7,   /* the limiter's wait did not fit limiter_timeout */
    RETRY_STOP_CANCELLED = 8     /* the cancel token was set (policy version 2) */
} retry_stop;

/* Static name of a stop reason ("success", "attempts exhausted", ...). */
RETRY_API const char *retry_stop_name(retry_stop s);

#define RETRY_ERRMSG_SIZE 256

/* What the retried function sees and fills in on each attempt. */
typedef struct retry_call {
    uint32_t attempt;               /* in: 1 for the first call */
    int64_t hint_ns;                /* out: a Retry-After hint, 0 for none */
    char errmsg[RETRY_ERRMSG_SIZE]; /* out: the function's own error text, "" for none */
} retry_call;

/* The retried function: returns 0 for success or its own error code. */
typedef int (*retry_fn)(retry_call *call, void *userdata);

/* The classifier: judges the function's return code. Values other than
 * the three RETRY_CLASS_... count as FATAL. NULL means "0 is success,
 * anything else is retryable". */
typedef retry_class (*retry_classify_fn)(int rc, const retry_call *call, void *userdata);

/*
 * A retry policy: a plain value, only read by retry_run(). Defaults
 * (RETRY_POLICY_INIT) and why:
 *   max_attempts 4: one call and three retries, Polly's default (failsafe-go
 *     stops after two retries); further retries rarely help.
 *   max_elapsed 0: no time limit unless asked; attempts bound the run.
 *   max_delay 60 s: the upper bound for max(policy delay, Retry-After hint),
 *     so that a server cannot park a client for hours.
 *   limiter_timeout 10 s: how long retry_run waits for a limiter token before
 *     it stops with RETRY_STOP_RATE_LIMIT.
 *   backoff RETRY_BACKOFF_INIT (see there); classify NULL (0 is success).
 */
typedef struct retry_policy {
    unsigned version;           /* RETRY_POLICY_VERSION */
    uint32_t max_attempts;      /* total calls including the first, >= 1; default 4 */
    int64_t max_elapsed_ns;     /* 0: no limit; default 0 */
    int64_t max_delay_ns;       /* cap on each delay, hints included; > 0; default 60 s */
    int64_t limiter_timeout_ns; /* >= 0; default 10 s */
    retry_backoff backoff;      /* default RETRY_BACKOFF_INIT */
    retry_classify_fn classify; /* optional */
    void *classify_userdata;    /* borrowed; passed to classify */
    retry_env env;              /* clock, sleep and random of the run */
    /* Version 2. */
    retry_cancel *cancel; /* borrowed, optional: stops the run when set */
    /* Called before each retry's delay (also by the step API), in the
     * run's thread, without any lock held. Optional. */
    void (*on_retry)(const retry_event *ev, void *userdata);
    void *on_retry_userdata; /* borrowed; passed to on_retry */
} retry_policy;

#define RETRY_POLICY_VERSION 2
#define RETRY_POLICY_INIT                                                                          \
    {                                                                                              \
        RETRY_POLICY_VERSION, 4, 0, 60 * RETRY_NS_PER_S, 10 * RETRY_NS_PER_S, RETRY_BACKOFF_INIT,  \
            NULL, NULL, RETRY_ENV_INIT, NULL, NULL, NULL                                           \
    }

/* What a run did. The fields after last_errmsg are written only for
 * policies of version 2 or later (older callers' results end before them). */
typedef struct retry_result {
    retry_stop stop;                     /* why it stopped */
    uint32_t attempts;                   /* calls of the function made */
    int64_t waited_ns;                   /* total time slept: backoff and limiter (saturates) */
    int64_t elapsed_ns;                  /* from start to stop, by the policy's clock */
    int last_rc;                         /* the function's last return code (0 if none) */
    char last_errmsg[RETRY_ERRMSG_SIZE]; /* its last error text ("" if none) */
    /* version 2 */
    int64_t until_admit_ns; /* RETRY_STOP_BREAKER_OPEN: how long until the breaker admits
                               calls again (INT64_MAX when FORCED_OPEN); 0 otherwise */
} retry_result;

/*
 * Call fn until it succeeds or the policy says stop. Before each call, in
 * this order: the cancel token (if any) must not be set; the breaker (if
 * any) must not be rejecting calls; the limiter (if any) must grant a token
 * within limiter_timeout_ns and before the deadline (the wait is slept, and
 * the cancel token interrupts it; a wait past the deadline stops the run
 * with RETRY_STOP_DEADLINE, one past limiter_timeout_ns with
 * RETRY_STOP_RATE_LIMIT); only then is the breaker's permit taken, so the
 * breaker times the call alone and no half-open permit is held during a
 * limiter wait. After each call the outcome is classified and recorded in
 * the breaker and budget. Before each retry the delay max(backoff delay,
 * call->hint_ns), capped by max_delay_ns, is trimmed to the deadline (a
 * hint longer than the time left stops the run at once with
 * RETRY_STOP_DEADLINE, whatever max_delay_ns is: calling earlier than the
 * server asked would only fail again), the budget must allow the retry,
 * on_retry is called, and the delay is slept (the cancel token interrupts
 * it). limiter, breaker and budget are borrowed and may be NULL. result
 * (optional) is filled in. Returns RETRY_OK on success, RETRY_EOPEN
 * (result->until_admit_ns says when the breaker admits again),
 * RETRY_ETIMEOUT, RETRY_EBUDGET, RETRY_ECANCELED or RETRY_EGAVEUP
 * (result->stop says which limit), or RETRY_EINVAL for a bad policy.
 * Allocates nothing.
 */
RETRY_API RETRY_NODISCARD RETRY_NONNULL(2, 6) int retry_run(
    retry_result *result, const retry_policy *policy, retry_limiter *limiter,
    retry_breaker *breaker, retry_budget *budget, retry_fn fn, void *userdata);

/* Check a policy: RETRY_OK or RETRY_EINVAL. */
RETRY_API RETRY_NODISCARD RETRY_NONNULL(1) int retry_policy_check(const retry_policy *p);

/* ------------------------------------------------------------------------ */
/* Step API (non-blocking callers)                                          */
/* ------------------------------------------------------------------------ */

/* One operation's retry state, for event loops: the same decisions as
 * retry_run() without any sleeping. Opaque; one thread at a time. */
typedef struct retry_state retry_state;

typedef enum retry_step {
    RETRY_STEP_CALL = 0, /* make the call after *wait_ns, then retry_state_report() */
    RETRY_STEP_DONE = 1, /* finished: retry_state_result() says how */
    RETRY_STEP_WAIT = 2  /* policy version 2: the limiter's token is reserved for in
                          *wait_ns; call retry_state_admit() again then */
} retry_step;

/*
 * Create a state for one operation under policy (copied). limiter, breaker
 * and budget are borrowed (may be NULL) and must outlive the state. The
 * operation starts now (its clock starts, the budget sees a request). *out is
 * owned by the caller; free with retry_state_free(). Returns RETRY_OK,
 * RETRY_EINVAL or RETRY_ENOMEM.
 */
RETRY_API RETRY_NODISCARD RETRY_NONNULL(1, 2) int retry_state_new(retry_state **out,
                                                                  const retry_policy *policy,
                                                                  retry_limiter *limiter,
                                                                  retry_breaker *breaker,
                                                                  retry_budget *budget);

/* Free a state. NULL is a harmless no-op. An admitted but unreported call
 * releases its breaker permit as IGNORE. */
RETRY_API void retry_state_free(retry_state *s);

/*
 * Ask to make the next call, in retry_run()'s order: cancel token, breaker
 * check, limiter, breaker permit. With a policy of version 2:
 * RETRY_STEP_WAIT: the limiter's token is reserved for *wait_ns from now;
 * call retry_state_admit() again after that wait (no breaker permit is held
 * meanwhile). RETRY_STEP_CALL: make the call now (*wait_ns is 0) and report
 * it. With a policy of version 1 there is no WAIT: RETRY_STEP_CALL means
 * make the call after *wait_ns (the limiter's wait, already reserved; the
 * breaker's permit is taken now and times the call from the end of the
 * wait). RETRY_STEP_DONE: the operation is over (cancelled, breaker open,
 * rate limit or deadline).
 */
RETRY_API RETRY_NONNULL(1, 2) retry_step retry_state_admit(retry_state *s, int64_t *wait_ns);

/*
 * Report the outcome of the admitted call: rc as from a retry_fn, hint_ns a
 * Retry-After hint (0 none), errmsg its text (may be NULL; copied).
 * RETRY_STEP_CALL: call retry_state_admit() again after *wait_ns (the
 * policy's on_retry has been called with that delay).
 * RETRY_STEP_DONE: finished.
 */
RETRY_API RETRY_NONNULL(1, 2) retry_step
    retry_state_report(retry_state *s, int64_t *wait_ns, int rc, int64_t hint_ns,
                       const char *errmsg);

/* Copy the state's result so far into *result (stop is NONE while running). */
RETRY_API RETRY_NONNULL(1, 2) void retry_state_result(const retry_state *s, retry_result *result);

#ifdef __cplusplus
}
#endif

#endif /* RETRY_RETRY_H */
