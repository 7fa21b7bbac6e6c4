/* The circuit breaker, on a fake clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "fake.h"

static fake clk;

static retry_breaker_options opts_count(uint32_t window, uint32_t min_calls, double rate)
{
    retry_breaker_options o = RETRY_BREAKER_OPTIONS_INIT;
    o.window_size = window;
    o.min_calls = min_calls;
    o.failure_rate_threshold = rate;
    o.slow_call_duration_ns = 0;
    o.env = fake_env(&clk);
    return o;
}

static retry_breaker *make(const retry_breaker_options *o)
{
    retry_breaker *b = NULL;
    assert_int_equal(retry_breaker_new(&b, o), RETRY_OK);
    assert_non_null(b);
    return b;
}

/* One call through the breaker: admitted, then recorded. */
static void call(retry_breaker *b, retry_outcome out)
{
    retry_permit p;
    assert_int_equal(retry_breaker_acquire(b, &p, NULL), RETRY_OK);
    retry_breaker_record(b, &p, out);
}

static void seq(retry_breaker *b, const char *s)
{
    for (; *s; s++)
        call(b, *s == 'F' ? RETRY_OUTCOME_FAILURE : RETRY_OUTCOME_SUCCESS);
}

static int setup(void **state)
{
    (void)state;
    memset(&clk, 0, sizeof clk);
    clk.now = SEC(1000);
    return 0;
}

static void min_calls_then_rate_trips(void **state)
{
    (void)state;
    retry_breaker_options o = opts_count(10, 5, 50.0);
    retry_breaker *b = make(&o);
    seq(b, "FFFS");
    assert_int_equal(retry_breaker_state_now(b), RETRY_BREAKER_CLOSED); /* only 4 calls */
    retry_breaker_snapshot s;
    retry_breaker_snapshot_get(b, &s);
    assert_true(s.failure_rate < 0); /* not computed below min_calls */
    seq(b, "S");
    assert_int_equal(retry_breaker_state_now(b), RETRY_BREAKER_OPEN); /* 3/5 = 60 % */
    retry_breaker_free(b);

    b = make(&o);
    seq(b, "SSSFF");
    assert_int_equal(retry_breaker_state_now(b), RETRY_BREAKER_CLOSED); /* 40 % */
    retry_breaker_snapshot_get(b, &s);
    assert_true(s.failure_rate > 39.99 && s.failure_rate < 40.01);
    seq(b, "F");
    assert_int_equal(retry_breaker_state_now(b), RETRY_BREAKER_OPEN); /* 3/6 = 50 % */
    retry_breaker_free(b);
}

static void count_window_forgets_old_calls(void **state)
{
    (void)state;
    retry_breaker_options o = opts_count(4, 4, 50.0);
    retry_breaker *b = make(&o);
    seq(b, "FSSS"); /* 25 % */
    seq(b, "SF");   /* window now S,S,S,F: 25 % (the first F left) */
    assert_int_equal(retry_breaker_state_now(b), RETRY_BREAKER_CLOSED);
    retry_breaker_snapshot s;
    retry_breaker_snapshot_get(b, &s);
    assert_int_equal(s.window_calls, 4);
    assert_int_equal(s.window_failures, 1);
    seq(b, "F"); /* S,S,F,F: 50 % */
    assert_int_equal(retry_breaker_state_now(b), RETRY_BREAKER_OPEN);
    retry_breaker_free(b);
}

static void slow_calls_trip_below_failure_rate(void **state)
{
    (void)state;
    retry_breaker_options o = opts_count(10, 4, 50.0);
    o.slow_call_duration_ns = SEC(1);
    o.slow_call_rate_threshold = 50.0;
    retry_breaker *b = make(&o);
    for (int i = 0; i < 4; i++) {
        retry_permit p;
        assert_int_equal(retry_breaker_acquire(b, &p, NULL), RETRY_OK);
        clk.now += (i % 2) ? SEC(2) : MS(10); /* every other call is slow */
        retry_breaker_record(b, &p, RETRY_OUTCOME_SUCCESS);
        if (i < 3)
            assert_int_equal(retry_breaker_state_now(b), RETRY_BREAKER_CLOSED);
    }
    retry_breaker_snapshot s;
    retry_breaker_snapshot_get(b, &s);
    assert_int_equal(s.state, RETRY_BREAKER_OPEN);
    assert_int_equal(s.failures, 0);
    assert_int_equal(s.slow_calls, 2);
    retry_breaker_free(b);
}

/* A warm window (min_calls reached) records fast successes without the
 * lock; a slow success must still count as slow and trip at the rate. */
static void slow_successes_on_a_warm_window_trip(void **state)
{
    (void)state;
    retry_breaker_options o = opts_count(10, 10, 50.0);
    o.slow_call_duration_ns = SEC(1);
    o.slow_call_rate_threshold = 50.0;
    retry_breaker *b = make(&o);
    for (int i = 0; i < 10; i++) /* warm, no slow call */
        call(b, RETRY_OUTCOME_SUCCESS);
    for (int i = 0; i < 5; i++) {
        retry_permit p;
        assert_int_equal(retry_breaker_acquire(b, &p, NULL), RETRY_OK);
        clk.now += SEC(2);
        retry_breaker_record(b, &p, RETRY_OUTCOME_SUCCESS);
        retry_breaker_snapshot s;
        retry_breaker_snapshot_get(b, &s);
        assert_int_equal(s.slow_calls, i + 1);
        assert_int_equal(s.successes, 11 + i);
        assert_int_equal(s.state, i < 4 ? RETRY_BREAKER_CLOSED : RETRY_BREAKER_OPEN);
        if (i < 4)
            assert_int_equal(s.window_slow, i + 1);
    }
    retry_breaker_free(b);
}

static void consecutive_failures_trip(void **state)
{
    (void)state;
    retry_breaker_options o = opts_count(100, 100, 50.0);
    o.consecutive_failures = 3;
    retry_breaker *b = make(&o);
    seq(b, "FFSFF");
    assert_int_equal(retry_breaker_state_now(b), RETRY_BREAKER_CLOSED);
    seq(b, "F");
    assert_int_equal(retry_breaker_state_now(b), RETRY_BREAKER_OPEN);
    retry_breaker_free(b);
}

static void rejected_call_learns_wait(void **state)
{
    (void)state;
    retry_breaker_options o = opts_count(10, 2, 50.0);
    o.open_duration_ns = SEC(60);
    retry_breaker *b = make(&o);
    seq(b, "FF");
    clk.now += SEC(15);
    retry_permit p;
    int64_t wait = -1;
    assert_int_equal(retry_breaker_acquire(b, &p, &wait), RETRY_EOPEN);
    assert_int_equal(wait, SEC(45));
    clk.now += SEC(45);
    assert_int_equal(retry_breaker_acquire(b, &p, &wait), RETRY_OK);
    assert_int_equal(wait, 0);
    assert_int_equal(retry_breaker_state_now(b), RETRY_BREAKER_HALF_OPEN);
    retry_breaker_record(b, &p, RETRY_OUTCOME_IGNORE);
    retry_breaker_free(b);
}

static retry_breaker *open_then_half_open(retry_breaker_options *o)
{
    retry_breaker *b = make(o);
    for (uint32_t i = 0; i < o->min_calls; i++)
        call(b, RETRY_OUTCOME_FAILURE);
    assert_int_equal(retry_breaker_state_now(b), RETRY_BREAKER_OPEN);
    clk.now += o->open_duration_ns;
    assert_int_equal(retry_breaker_state_now(b), RETRY_BREAKER_HALF_OPEN);
    return b;
}

static void half_open_permits_and_release(void **state)
{
    (void)state;
    retry_breaker_options o = opts_count(10, 2, 50.0);
    o.half_open_permits = 4;
    o.max_half_open_wait_ns = SEC(30);
    retry_breaker *b = open_then_half_open(&o);
    retry_permit p[5];
    for (int i = 0; i < 4; i++)
        assert_int_equal(retry_breaker_acquire(b, &p[i], NULL), RETRY_OK);
    int64_t wait = -1;
    assert_int_equal(retry_breaker_acquire(b, &p[4], &wait), RETRY_EOPEN);
    assert_int_equal(wait, SEC(30));
    retry_breaker_record(b, &p[0], RETRY_OUTCOME_IGNORE); /* releases its permit */
    assert_int_equal(retry_breaker_acquire(b, &p[4], NULL), RETRY_OK);
    retry_breaker_snapshot s;
    retry_breaker_snapshot_get(b, &s);
    assert_int_equal(s.half_open_in_flight, 4);
    assert_int_equal(s.rejections, 1);
    /* judged as a rate over 4 counted probes: 1 failure of 4 = 25 % closes */
    retry_breaker_record(b, &p[1], RETRY_OUTCOME_SUCCESS);
    retry_breaker_record(b, &p[2], RETRY_OUTCOME_FAILURE);
    retry_breaker_record(b, &p[3], RETRY_OUTCOME_SUCCESS);
    assert_int_equal(retry_breaker_state_now(b), RETRY_BREAKER_HALF_OPEN);
    retry_breaker_record(b, &p[4], RETRY_OUTCOME_SUCCESS);
    assert_int_equal(retry_breaker_state_now(b), RETRY_BREAKER_CLOSED);
    retry_breaker_free(b);
}

static void half_open_rate_reopens(void **state)
{
    (void)state;
    retry_breaker_options o = opts_count(10, 2, 50.0);
    o.half_open_permits = 4;
    retry_breaker *b = open_then_half_open(&o);
    retry_permit p[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(retry_breaker_acquire(b, &p[i], NULL), RETRY_OK);
    retry_breaker_record(b, &p[0], RETRY_OUTCOME_FAILURE);
    retry_breaker_record(b, &p[1], RETRY_OUTCOME_SUCCESS);
    retry_breaker_record(b, &p[2], RETRY_OUTCOME_FAILURE);
    retry_breaker_record(b, &p[3], RETRY_OUTCOME_SUCCESS); /* 50 % */
    assert_int_equal(retry_breaker_state_now(b), RETRY_BREAKER_OPEN);
    retry_breaker_free(b);
}

static void half_open_success_threshold(void **state)
{
    (void)state;
    retry_breaker_options o = opts_count(10, 2, 50.0);
    o.half_open_permits = 3;
    o.half_open_mode = RETRY_HALF_OPEN_SUCCESS_THRESHOLD;
    retry_breaker *b = open_then_half_open(&o);
    seq(b, "SS");
    assert_int_equal(retry_breaker_state_now(b), RETRY_BREAKER_HALF_OPEN);
    seq(b, "S");
    assert_int_equal(retry_breaker_state_now(b), RETRY_BREAKER_CLOSED);
    retry_breaker_free(b);

    b = open_then_half_open(&o);
    seq(b, "SSF"); /* one failure re-opens */
    assert_int_equal(retry_breaker_state_now(b), RETRY_BREAKER_OPEN);
    retry_breaker_free(b);
}

static void open_duration_grows_and_resets(void **state)
{
    (void)state;
    retry_breaker_options o = opts_count(10, 2, 50.0);
    o.open_duration_ns = SEC(10);
    o.open_duration_multiplier = 2.0;
    o.max_open_duration_ns = SEC(35);
    o.half_open_permits = 1;
    retry_breaker *b = make(&o);
    retry_permit p;
    int64_t wait;
    seq(b, "FF");
    assert_int_equal(retry_breaker_acquire(b, &p, &wait), RETRY_EOPEN);
    assert_int_equal(wait, SEC(10));
    int64_t expect[] = { SEC(20), SEC(35), SEC(35) };
    for (int i = 0; i < 3; i++) {
        clk.now += wait;
        seq(b, "F"); /* the probe fails: re-open, longer */
        assert_int_equal(retry_breaker_acquire(b, &p, &wait), RETRY_EOPEN);
        assert_int_equal(wait, expect[i]);
    }
    clk.now += wait;
    seq(b, "S"); /* the probe succeeds: closed, duration back to base */
    assert_int_equal(retry_breaker_state_now(b), RETRY_BREAKER_CLOSED);
    seq(b, "FF");
    assert_int_equal(retry_breaker_acquire(b, &p, &wait), RETRY_EOPEN);
    assert_int_equal(wait, SEC(10));
    retry_breaker_free(b);
}

static void time_window_evicts_old_seconds(void **state)
{
    (void)state;
    retry_breaker_options o = opts_count(10, 3, 50.0);
    o.window_kind = RETRY_WINDOW_TIME;
    retry_breaker *b = make(&o);
    seq(b, "FF");
    clk.now += MS(10500); /* the second of the two failures has left the 10 s window */
    seq(b, "FSS");        /* 1/3 = 33 %: stays closed (with the old ones it would be 60 %) */
    assert_int_equal(retry_breaker_state_now(b), RETRY_BREAKER_CLOSED);
    retry_breaker_snapshot s;
    retry_breaker_snapshot_get(b, &s);
    assert_int_equal(s.window_calls, 3);
    assert_int_equal(s.window_failures, 1);
    clk.now += SEC(5);
    seq(b, "F"); /* 2/4 = 50 % within the window */
    assert_int_equal(retry_breaker_state_now(b), RETRY_BREAKER_OPEN);
    retry_breaker_free(b);

    b = make(&o);
    seq(b, "FF");
    clk.now += SEC(9);
    seq(b, "S"); /* all three in the window: 67 % */
    assert_int_equal(retry_breaker_state_now(b), RETRY_BREAKER_OPEN);
    retry_breaker_free(b);

    b = make(&o);
    seq(b, "SSS");
    clk.now += SEC(100);
    retry_breaker_snapshot_get(b, &s);
    assert_int_equal(s.window_calls, 0);
    retry_breaker_free(b);
}

static void stuck_probe_is_released(void **state)
{
    (void)state;
    retry_breaker_options o = opts_count(10, 2, 50.0);
    o.half_open_permits = 1;
    o.max_half_open_wait_ns = SEC(30);
    retry_breaker *b = open_then_half_open(&o);
    retry_permit stuck, p;
    int64_t wait;
    assert_int_equal(retry_breaker_acquire(b, &stuck, NULL), RETRY_OK);
    clk.now += SEC(10);
    assert_int_equal(retry_breaker_acquire(b, &p, &wait), RETRY_EOPEN);
    assert_int_equal(wait, SEC(20));
    clk.now += SEC(20);
    assert_int_equal(retry_breaker_acquire(b, &p, &wait), RETRY_OK);
    retry_breaker_record(b, &stuck, RETRY_OUTCOME_FAILURE); /* late: ignored */
    assert_int_equal(retry_breaker_state_now(b), RETRY_BREAKER_HALF_OPEN);
    retry_breaker_snapshot s;
    retry_breaker_snapshot_get(b, &s);
    assert_int_equal(s.ignored, 1);
    retry_breaker_record(b, &p, RETRY_OUTCOME_SUCCESS);
    assert_int_equal(retry_breaker_state_now(b), RETRY_BREAKER_CLOSED);
    retry_breaker_free(b);
}

static void stale_generation_is_ignored(void **state)
{
    (void)state;
    retry_breaker_options o = opts_count(10, 2, 50.0);
    o.half_open_permits = 1;
    retry_breaker *b = make(&o);
    retry_permit old;
    assert_int_equal(retry_breaker_acquire(b, &old, NULL), RETRY_OK);
    seq(b, "FF"); /* OPEN */
    clk.now += o.open_duration_ns;
    retry_permit probe;
    assert_int_equal(retry_breaker_acquire(b, &probe, NULL), RETRY_OK);
    retry_breaker_record(b, &old, RETRY_OUTCOME_SUCCESS); /* from CLOSED: ignored */
    retry_breaker_snapshot s;
    retry_breaker_snapshot_get(b, &s);
    assert_int_equal(s.state, RETRY_BREAKER_HALF_OPEN);
    assert_int_equal(s.half_open_in_flight, 1);
    assert_int_equal(s.ignored, 1);
    assert_int_equal(s.successes, 0);
    retry_breaker_record(b, &probe, RETRY_OUTCOME_FAILURE);
    assert_int_equal(retry_breaker_state_now(b), RETRY_BREAKER_OPEN);
    retry_breaker_free(b);
}

typedef struct log_t {
    int n;
    retry_breaker_state from[8], to[8];
} log_t;

static void on_change(retry_breaker_state from, retry_breaker_state to, void *ud)
{
    log_t *l = ud;
    if (l->n < 8) {
        l->from[l->n] = from;
        l->to[l->n] = to;
    }
    l->n++;
}

static void callback_and_counters(void **state)
{
    (void)state;
    log_t lg;
    memset(&lg, 0, sizeof lg);
    retry_breaker_options o = opts_count(10, 2, 50.0);
    o.half_open_permits = 1;
    o.on_state_change = on_change;
    o.userdata = &lg;
    retry_breaker *b = make(&o);
    seq(b, "SSFF"); /* 0 %, 33 %, then 50 %: OPEN */
    retry_permit p;
    assert_int_equal(retry_breaker_acquire(b, &p, NULL), RETRY_EOPEN);
    clk.now += o.open_duration_ns;
    seq(b, "S");
    assert_int_equal(lg.n, 3);
    assert_int_equal(lg.from[0], RETRY_BREAKER_CLOSED);
    assert_int_equal(lg.to[0], RETRY_BREAKER_OPEN);
    assert_int_equal(lg.from[1], RETRY_BREAKER_OPEN);
    assert_int_equal(lg.to[1], RETRY_BREAKER_HALF_OPEN);
    assert_int_equal(lg.from[2], RETRY_BREAKER_HALF_OPEN);
    assert_int_equal(lg.to[2], RETRY_BREAKER_CLOSED);
    retry_breaker_snapshot s;
    retry_breaker_snapshot_get(b, &s);
    assert_int_equal(s.calls, 5);
    assert_int_equal(s.successes, 3);
    assert_int_equal(s.failures, 2);
    assert_int_equal(s.rejections, 1);
    assert_int_equal(s.transitions, 3);
    assert_int_equal(s.generation, 3);
    assert_int_equal(s.window_calls, 0);
    retry_breaker_free(b);
}

static retry_breaker *reentrant_b;
static int reentrant_seen;

static void reenter(retry_breaker_state from, retry_breaker_state to, void *ud)
{
    (void)from;
    (void)ud;
    /* called without the lock held: calling back into the breaker is fine */
    retry_breaker_snapshot s;
    retry_breaker_snapshot_get(reentrant_b, &s);
    assert_int_equal(s.state, to);
    reentrant_seen++;
}

static void callback_may_reenter(void **state)
{
    (void)state;
    retry_breaker_options o = opts_count(10, 2, 50.0);
    o.on_state_change = reenter;
    reentrant_seen = 0;
    reentrant_b = make(&o);
    seq(reentrant_b, "FF");
    retry_breaker_force_open(reentrant_b);
    retry_breaker_reset(reentrant_b);
    assert_int_equal(reentrant_seen, 3);
    retry_breaker_free(reentrant_b);
}

static void manual_states(void **state)
{
    (void)state;
    log_t lg;
    memset(&lg, 0, sizeof lg);
    retry_breaker_options o = opts_count(10, 2, 50.0);
    o.on_state_change = on_change;
    o.userdata = &lg;
    retry_breaker *b = make(&o);
    retry_breaker_force_open(b);
    retry_permit p;
    int64_t wait;
    assert_int_equal(retry_breaker_acquire(b, &p, &wait), RETRY_EOPEN);
    assert_int_equal(wait, INT64_MAX);
    clk.now += SEC(100000);
    assert_int_equal(retry_breaker_state_now(b), RETRY_BREAKER_FORCED_OPEN);
    retry_breaker_disable(b);
    seq(b, "FFFFFFFFFF"); /* never judged */
    assert_int_equal(retry_breaker_state_now(b), RETRY_BREAKER_DISABLED);
    retry_breaker_reset(b);
    assert_int_equal(retry_breaker_state_now(b), RETRY_BREAKER_CLOSED);
    retry_breaker_reset(b); /* already closed: clears, no state change */
    assert_int_equal(lg.n, 3);
    assert_int_equal(lg.to[0], RETRY_BREAKER_FORCED_OPEN);
    assert_int_equal(lg.to[1], RETRY_BREAKER_DISABLED);
    assert_int_equal(lg.to[2], RETRY_BREAKER_CLOSED);
    seq(b, "FF");
    assert_int_equal(retry_breaker_state_now(b), RETRY_BREAKER_OPEN);
    retry_breaker_free(b);
}

static void backwards_clock_never_shortens_open(void **state)
{
    (void)state;
    retry_breaker_options o = opts_count(10, 2, 50.0);
    o.open_duration_ns = SEC(60);
    retry_breaker *b = make(&o);
    seq(b, "FF");
    clk.now -= SEC(500); /* the clock steps back */
    retry_permit p;
    int64_t wait;
    assert_int_equal(retry_breaker_acquire(b, &p, &wait), RETRY_EOPEN);
    assert_int_equal(wait, SEC(60));
    clk.now += SEC(500) + SEC(59);
    assert_int_equal(retry_breaker_acquire(b, &p, &wait), RETRY_EOPEN);
    assert_int_equal(wait, SEC(1));
    retry_breaker_free(b);
}

static void invalid_options_and_defaults(void **state)
{
    (void)state;
    retry_breaker *b = (retry_breaker *)&clk;
    retry_breaker_options o = RETRY_BREAKER_OPTIONS_INIT;
    o.window_size = 0;
    assert_int_equal(retry_breaker_new(&b, &o), RETRY_EINVAL);
    assert_null(b);
    o = (retry_breaker_options)RETRY_BREAKER_OPTIONS_INIT;
    o.failure_rate_threshold = 0;
    assert_int_equal(retry_breaker_new(&b, &o), RETRY_EINVAL);
    o = (retry_breaker_options)RETRY_BREAKER_OPTIONS_INIT;
    o.max_open_duration_ns = SEC(1);
    assert_int_equal(retry_breaker_new(&b, &o), RETRY_EINVAL);
    o = (retry_breaker_options)RETRY_BREAKER_OPTIONS_INIT;
    o.version = 0;
    assert_int_equal(retry_breaker_new(&b, &o), RETRY_EINVAL);
    assert_int_equal(retry_breaker_new(&b, NULL), RETRY_OK);
    retry_breaker_snapshot s;
    retry_breaker_snapshot_get(b, &s);
    assert_int_equal(s.state, RETRY_BREAKER_CLOSED);
    assert_int_equal(s.open_duration_ns, SEC(60));
    retry_breaker_free(b);
    retry_breaker_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(min_calls_then_rate_trips, setup),
        cmocka_unit_test_setup(count_window_forgets_old_calls, setup),
        cmocka_unit_test_setup(slow_calls_trip_below_failure_rate, setup),
        cmocka_unit_test_setup(slow_successes_on_a_warm_window_trip, setup),
        cmocka_unit_test_setup(consecutive_failures_trip, setup),
        cmocka_unit_test_setup(rejected_call_learns_wait, setup),
        cmocka_unit_test_setup(half_open_permits_and_release, setup),
        cmocka_unit_test_setup(half_open_rate_reopens, setup),
        cmocka_unit_test_setup(half_open_success_threshold, setup),
        cmocka_unit_test_setup(open_duration_grows_and_resets, setup),
        cmocka_unit_test_setup(time_window_evicts_old_seconds, setup),
        cmocka_unit_test_setup(stuck_probe_is_released, setup),
        cmocka_unit_test_setup(stale_generation_is_ignored, setup),
        cmocka_unit_test_setup(callback_and_counters, setup),
        cmocka_unit_test_setup(callback_may_reenter, setup),
        cmocka_unit_test_setup(manual_states, setup),
        cmocka_unit_test_setup(backwards_clock_never_shortens_open, setup),
        cmocka_unit_test_setup(invalid_options_and_defaults, setup),
    };
    return cmocka_run_group_tests_name("retry_breaker", tests, NULL, NULL);
}
