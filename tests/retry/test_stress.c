/* 8 threads hammer one breaker, one limiter and one budget (directly and
 * through retry_run) on the real clock; run under TSan too. The checks are
 * the invariants that a race would break: the library's own counts against
 * what the threads did, checked in the main thread once they are joined. */
#include <pthread.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include <retry/retry.h>

#define THREADS 8
#define ITERS   20000

static retry_breaker *brk;
static retry_limiter *lim;
static retry_budget *bud;
static pthread_barrier_t go;

typedef struct worker {
    int id;
    uint64_t admitted, lim_ok, runs_ok, withdrawn;
    uint64_t called;   /* calls retry_run made of flaky */
    uint64_t bad_snap; /* snapshots with impossible window counts */
} worker;

typedef struct flaky_state {
    uint64_t x;
    uint64_t *called;
} flaky_state;

static int flaky(retry_call *call, void *ud)
{
    flaky_state *f = ud;
    f->x = f->x * 6364136223846793005u + 1442695040888963407u;
    (*f->called)++;
    (void)call;
    return ((f->x >> 33) % 4) == 0; /* a quarter fail */
}

static void no_sleep(int64_t ns, void *ctx)
{
    (void)ns;
    (void)ctx;
}

static void *hammer(void *arg)
{
    worker *w = arg;
    uint64_t x = (uint64_t)w->id * 7919u + 1;
    retry_policy p = RETRY_POLICY_INIT;
    p.env.sleep_ns = no_sleep;
    p.env.seed = (uint64_t)w->id + 1;
    p.limiter_timeout_ns = 0;
    pthread_barrier_wait(&go);
    for (int i = 0; i < ITERS; i++) {
        retry_permit permit;
        if (retry_breaker_acquire(brk, &permit, NULL) == RETRY_OK) {
            w->admitted++;
            x = x * 6364136223846793005u + 1442695040888963407u;
            unsigned r = (unsigned)(x >> 60);
            retry_breaker_record(brk, &permit,
                                 r < 5   ? RETRY_OUTCOME_FAILURE
                                 : r < 6 ? RETRY_OUTCOME_IGNORE
                                         : RETRY_OUTCOME_SUCCESS);
        }
        if (retry_limiter_try_acquire(lim, 1) == RETRY_OK)
            w->lim_ok++;
        retry_reservation res;
        int64_t wait;
        if (retry_limiter_reserve(lim, &wait, &res, 1, 1000) == RETRY_OK)
            retry_limiter_cancel(lim, &res);
        retry_budget_deposit(bud);
        retry_budget_record(bud, i % 3 != 0);
        if (retry_budget_try_withdraw(bud) == RETRY_OK)
            w->withdrawn++;
        if (i % 16 == 0) {
            retry_result result;
            flaky_state f = { x, &w->called };
            if (retry_run(&result, &p, NULL, brk, bud, flaky, &f) == RETRY_OK)
                w->runs_ok++;
            x = f.x;
            retry_breaker_snapshot s;
            retry_breaker_snapshot_get(brk, &s);
            (void)retry_budget_balance(bud);
            (void)retry_limiter_time_until(lim, 1);
        }
        if (w->id == 0 && i % 5000 == 4999) {
            retry_breaker_force_open(brk);
            retry_breaker_reset(brk);
        }
    }
    return NULL;
}

static void eight_threads(void **state)
{
    (void)state;
    retry_breaker_options bo = RETRY_BREAKER_OPTIONS_INIT;
    bo.window_size = 50;
    bo.min_calls = 10;
    bo.open_duration_ns = 200000; /* 0.2 ms: cycle through every state */
    bo.max_half_open_wait_ns = 100000;
    bo.half_open_permits = 3;
    bo.slow_call_duration_ns = 50000;
    assert_int_equal(retry_breaker_new(&brk, &bo), RETRY_OK);
    retry_limiter_options lo = RETRY_LIMITER_OPTIONS_INIT;
    lo.rate = 1000.0;
    lo.burst = 20;
    assert_int_equal(retry_limiter_new(&lim, &lo), RETRY_OK);
    assert_int_equal(retry_budget_new(&bud, NULL), RETRY_OK);

    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pthread_barrier_init(&go, NULL, THREADS);
    pthread_t t[THREADS];
    worker w[THREADS];
    memset(w, 0, sizeof w);
    for (int i = 0; i < THREADS; i++) {
        w[i].id = i;
        assert_int_equal(pthread_create(&t[i], NULL, hammer, &w[i]), 0);
    }
    uint64_t admitted = 0, called = 0, lim_ok = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        admitted += w[i].admitted;
        called += w[i].called;
        lim_ok += w[i].lim_ok;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    pthread_barrier_destroy(&go);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;

    retry_breaker_snapshot s;
    retry_breaker_snapshot_get(brk, &s);
    /* every admission, direct or by retry_run before a call, was counted
     * once, and its outcome once: counted or ignored */
    print_message("breaker: %llu admitted directly, %llu calls by retry_run, %llu counted\n",
                  (unsigned long long)admitted, (unsigned long long)called,
                  (unsigned long long)s.calls);
    assert_int_equal(s.calls, admitted + called);
    assert_int_equal(s.calls, s.successes + s.failures + s.ignored);
    assert_true(s.transitions > 0);
    assert_true(s.rejections > 0);
    assert_true(s.half_open_in_flight <= bo.half_open_permits);
    /* the limiter never granted more than burst + rate * elapsed */
    assert_true((double)lim_ok <= 20.0 + 1000.0 * secs + 1.0);
    assert_true(lim_ok >= 20);
    double bal = retry_budget_balance(bud);
    assert_true(bal >= 0.0);

    retry_breaker_free(brk);
    retry_limiter_free(lim);
    retry_budget_free(bud);
}

/* The CLOSED acquire takes no lock: admissions race with trips, resets and
 * records on other threads. Every admission must be counted, every outcome
 * counted once (stale ones as ignored), and the window must stay sane. */
static retry_breaker *race_brk;

static void *closed_racer(void *arg)
{
    worker *w = arg;
    pthread_barrier_wait(&go);
    for (int i = 0; i < ITERS; i++) {
        retry_permit permit;
        if (retry_breaker_acquire(race_brk, &permit, NULL) == RETRY_OK) {
            w->admitted++;
            retry_breaker_record(race_brk, &permit,
                                 (i + w->id) % 8 < 2 ? RETRY_OUTCOME_FAILURE /* F,F: a trip */
                                                     : RETRY_OUTCOME_SUCCESS);
        }
        if (w->id == 0 && i % 64 == 63)
            retry_breaker_reset(race_brk);
        if (w->id == 1 && i % 256 == 255) {
            retry_breaker_snapshot s;
            retry_breaker_snapshot_get(race_brk, &s);
            w->bad_snap += s.window_calls > 20 || s.window_failures > s.window_calls ||
                           s.window_slow > s.window_calls;
        }
    }
    return NULL;
}

static void closed_acquire_races_trips(void **state)
{
    (void)state;
    retry_breaker_options bo = RETRY_BREAKER_OPTIONS_INIT;
    bo.window_size = 20;
    bo.min_calls = 5;
    bo.consecutive_failures = 2;
    bo.open_duration_ns = 20000; /* 20 us: back to HALF_OPEN and CLOSED quickly */
    bo.max_half_open_wait_ns = 20000;
    bo.half_open_permits = 1;
    assert_int_equal(retry_breaker_new(&race_brk, &bo), RETRY_OK);
    pthread_barrier_init(&go, NULL, 4);
    pthread_t t[4];
    worker w[4];
    memset(w, 0, sizeof w);
    for (int i = 0; i < 4; i++) {
        w[i].id = i;
        assert_int_equal(pthread_create(&t[i], NULL, closed_racer, &w[i]), 0);
    }
    uint64_t admitted = 0;
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        admitted += w[i].admitted;
        assert_int_equal(w[i].bad_snap, 0);
    }
    pthread_barrier_destroy(&go);
    retry_breaker_snapshot s;
    retry_breaker_snapshot_get(race_brk, &s);
    assert_int_equal(s.calls, admitted);
    assert_int_equal(s.calls, s.successes + s.failures + s.ignored);
    assert_true(s.transitions > 0);
    assert_true(s.window_calls <= 20 && s.window_failures <= s.window_calls);
    retry_breaker_free(race_brk);
}

/* ---- the lock-free paths, checked for exact counts --------------------- */

#define LF_THREADS 8
#define LF_ITERS   100000

static retry_breaker *lf_brk;

typedef struct lf_worker {
    int id;
    uint64_t successes, failures;
    uint64_t refused; /* acquisitions refused: none expected */
} lf_worker;

/* Run fn on LF_THREADS threads released together, one worker each (id set,
 * counts zeroed), and wait for them all. */
static void lf_run(void *(*fn)(void *), lf_worker *w)
{
    pthread_t t[LF_THREADS];
    memset(w, 0, LF_THREADS * sizeof *w);
    pthread_barrier_init(&go, NULL, LF_THREADS);
    for (int i = 0; i < LF_THREADS; i++) {
        w[i].id = i;
        assert_int_equal(pthread_create(&t[i], NULL, fn, &w[i]), 0);
    }
    for (int i = 0; i < LF_THREADS; i++)
        pthread_join(t[i], NULL);
    pthread_barrier_destroy(&go);
}

/* CLOSED and warm: successes take no lock; one call in 32 fails (under the
 * lock, folding what the others counted meanwhile); a snapshot now and then */
static void *lf_recorder(void *arg)
{
    lf_worker *w = arg;
    pthread_barrier_wait(&go);
    for (int i = 0; i < LF_ITERS; i++) {
        retry_permit permit;
        if (retry_breaker_acquire(lf_brk, &permit, NULL) != RETRY_OK) {
            w->refused++;
            continue;
        }
        if ((i + w->id * 4) % 32 == 31) {
            retry_breaker_record(lf_brk, &permit, RETRY_OUTCOME_FAILURE);
            w->failures++;
        } else {
            retry_breaker_record(lf_brk, &permit, RETRY_OUTCOME_SUCCESS);
            w->successes++;
        }
        if (w->id == 0 && i % 256 == 0) {
            retry_breaker_snapshot s;
            retry_breaker_snapshot_get(lf_brk, &s);
        }
    }
    return NULL;
}

static void lockfree_successes_add_up_across_8_threads(void **state)
{
    (void)state;
    for (int round = 0; round < 8; round++) { /* a lost update is a rare interleaving */
        retry_breaker_options bo = RETRY_BREAKER_OPTIONS_INIT; /* window 100, min_calls 20 */
        assert_int_equal(retry_breaker_new(&lf_brk, &bo), RETRY_OK);
        for (int i = 0; i < 20; i++) { /* warm: from here a success cannot trip it */
            retry_permit p;
            assert_int_equal(retry_breaker_acquire(lf_brk, &p, NULL), RETRY_OK);
            retry_breaker_record(lf_brk, &p, RETRY_OUTCOME_SUCCESS);
        }
        lf_worker w[LF_THREADS];
        lf_run(lf_recorder, w);
        uint64_t successes = 20, failures = 0;
        for (int i = 0; i < LF_THREADS; i++) {
            successes += w[i].successes;
            failures += w[i].failures;
            assert_int_equal(w[i].refused, 0);
        }
        retry_breaker_snapshot s;
        retry_breaker_snapshot_get(lf_brk, &s);
        if (s.successes != successes)
            print_message("lock-free: %llu successes recorded, %llu counted\n",
                          (unsigned long long)successes, (unsigned long long)s.successes);
        assert_int_equal(s.state, RETRY_BREAKER_CLOSED);
        assert_int_equal(s.calls, successes + failures);
        assert_int_equal(s.successes, successes);
        assert_int_equal(s.failures, failures);
        assert_int_equal(s.ignored, 0);
        assert_int_equal(s.transitions, 0);
        assert_int_equal(s.window_calls, 100);
        assert_true(s.window_failures <= s.window_calls);
        retry_breaker_free(lf_brk);
    }
}

/* Permits taken while CLOSED; then every thread records at once, failures
 * and successes mixed, enough failures to cross the threshold many times
 * over. The breaker trips once; the window it tripped on holds exactly the
 * threshold's failures (nothing recorded after the trip reaches it), and
 * every outcome is counted once. */
#define TRIP_PERMITS 200

static _Atomic int trip_changes;
static retry_permit trip_permits[LF_THREADS][TRIP_PERMITS];

static void count_change(retry_breaker_state from, retry_breaker_state to, void *ud)
{
    (void)from;
    (void)to;
    (void)ud;
    trip_changes++;
}

static void *trip_recorder(void *arg)
{
    lf_worker *w = arg;
    pthread_barrier_wait(&go);
    for (int i = 0; i < TRIP_PERMITS; i++)
        retry_breaker_record(lf_brk, &trip_permits[w->id][i],
                             i % 4 == 0 ? RETRY_OUTCOME_FAILURE : RETRY_OUTCOME_SUCCESS);
    return NULL;
}

static void breaker_trips_exactly_once_when_threads_cross_together(void **state)
{
    (void)state;
    retry_breaker_options bo = RETRY_BREAKER_OPTIONS_INIT;
    bo.window_size = 100;
    bo.min_calls = 100;
    bo.failure_rate_threshold = 10.0; /* the 10th failure in the window trips */
    bo.open_duration_ns = 3600 * RETRY_NS_PER_S;
    bo.max_open_duration_ns = bo.open_duration_ns;
    bo.on_state_change = count_change;
    assert_int_equal(retry_breaker_new(&lf_brk, &bo), RETRY_OK);
    for (int round = 0; round < 50; round++) {
        retry_breaker_reset(lf_brk);
        retry_breaker_snapshot before;
        retry_breaker_snapshot_get(lf_brk, &before);
        for (int i = 0; i < 100; i++) { /* a full window of successes: warm */
            retry_permit p;
            assert_int_equal(retry_breaker_acquire(lf_brk, &p, NULL), RETRY_OK);
            retry_breaker_record(lf_brk, &p, RETRY_OUTCOME_SUCCESS);
        }
        for (int t = 0; t < LF_THREADS; t++)
            for (int i = 0; i < TRIP_PERMITS; i++)
                assert_int_equal(retry_breaker_acquire(lf_brk, &trip_permits[t][i], NULL),
                                 RETRY_OK);
        trip_changes = 0;
        lf_worker w[LF_THREADS];
        lf_run(trip_recorder, w);
        retry_breaker_snapshot s;
        retry_breaker_snapshot_get(lf_brk, &s);
        assert_int_equal(trip_changes, 1);
        assert_int_equal(s.state, RETRY_BREAKER_OPEN);
        assert_int_equal(s.transitions - before.transitions, 1);
        assert_int_equal(s.window_calls, 100);
        assert_int_equal(s.window_failures, 10);
        assert_int_equal(s.failures - before.failures, 10);
        assert_int_equal((s.successes + s.failures + s.ignored) -
                             (before.successes + before.failures + before.ignored),
                         100 + LF_THREADS * TRIP_PERMITS);
    }
    retry_breaker_free(lf_brk);
}

/* GCRA on a clock that stands still: 8 threads take tokens by
 * compare-and-swap until none is left; exactly burst are granted. Then the
 * clock moves by k emission intervals: exactly k more. */
#define GCRA_BURST 1000

static _Atomic int64_t gcra_clock;
static retry_limiter *gcra_lim;

static int64_t atomic_fake_now(void *ctx)
{
    (void)ctx;
    return atomic_load(&gcra_clock);
}

static void *gcra_taker(void *arg)
{
    lf_worker *w = arg;
    pthread_barrier_wait(&go);
    for (int i = 0; i < GCRA_BURST; i++)
        w->successes += retry_limiter_try_acquire(gcra_lim, 1) == RETRY_OK;
    return NULL;
}

static uint64_t gcra_race(void)
{
    lf_worker w[LF_THREADS];
    lf_run(gcra_taker, w);
    uint64_t granted = 0;
    for (int i = 0; i < LF_THREADS; i++)
        granted += w[i].successes;
    return granted;
}

static void gcra_grants_exactly_the_permitted_count_under_contention(void **state)
{
    (void)state;
    for (int round = 0; round < 200; round++) {
        atomic_store(&gcra_clock, RETRY_NS_PER_S);
        retry_limiter_options lo = RETRY_LIMITER_OPTIONS_INIT;
        lo.kind = RETRY_LIMITER_GCRA;
        lo.rate = 1000.0; /* one emission per ms */
        lo.burst = GCRA_BURST;
        lo.env.now_ns = atomic_fake_now;
        assert_int_equal(retry_limiter_new(&gcra_lim, &lo), RETRY_OK);
        assert_int_equal(gcra_race(), GCRA_BURST);
        atomic_fetch_add(&gcra_clock, 37 * 1000000); /* 37 ms: 37 emissions */
        assert_int_equal(gcra_race(), 37);
        retry_limiter_free(gcra_lim);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(eight_threads),
        cmocka_unit_test(closed_acquire_races_trips),
        cmocka_unit_test(lockfree_successes_add_up_across_8_threads),
        cmocka_unit_test(breaker_trips_exactly_once_when_threads_cross_together),
        cmocka_unit_test(gcra_grants_exactly_the_permitted_count_under_contention),
    };
    return cmocka_run_group_tests_name("retry_stress", tests, NULL, NULL);
}
