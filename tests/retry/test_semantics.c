/* What callers rely on when the pieces are combined: the order of the stages
 * of a run, configurations that cannot work, extreme values, half-open
 * metrics and Retry-After hints past the deadline. Fake clock throughout. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "fake.h"

static fake clk;

static int setup(void **state)
{
    (void)state;
    fake_reset(&clk);
    return 0;
}

static retry_policy policy(void)
{
    return fake_policy(&clk);
}

static int instant_ok(retry_call *call, void *ud)
{
    (void)call;
    (void)ud;
    return 0;
}

/* A limiter at 1/s in front of a breaker that counts calls of 500 ms or
 * more as slow: a service that answers at once is never slow, however long
 * the run waits for its token. */
static void limiter_wait_is_not_a_slow_call(void **state)
{
    (void)state;
    retry_limiter *l = fake_limiter_1s(&clk);
    assert_non_null(l);
    retry_breaker_options bo = RETRY_BREAKER_OPTIONS_INIT;
    bo.window_size = 4;
    bo.min_calls = 4;
    bo.slow_call_duration_ns = MS(500);
    bo.slow_call_rate_threshold = 100.0;
    bo.env = fake_env(&clk);
    retry_breaker *b = NULL;
    assert_int_equal(retry_breaker_new(&b, &bo), RETRY_OK);
    retry_policy p = policy();
    for (int i = 0; i < 5; i++) {
        retry_result r;
        assert_int_equal(retry_run(&r, &p, l, b, NULL, instant_ok, NULL), RETRY_OK);
        assert_int_equal(r.stop, RETRY_STOP_SUCCESS);
    }
    assert_int_equal(clk.slept, SEC(4)); /* four waits of 1 s for the token */
    retry_breaker_snapshot s;
    retry_breaker_snapshot_get(b, &s);
    assert_int_equal(s.slow_calls, 0);
    assert_int_equal(s.state, RETRY_BREAKER_CLOSED);

    /* the step API: WAIT for the token without a permit, then CALL */
    retry_state *st = NULL;
    assert_int_equal(retry_state_new(&st, &p, l, b, NULL), RETRY_OK);
    int64_t wait = 0;
    assert_int_equal(retry_state_admit(st, &wait), RETRY_STEP_WAIT);
    assert_int_equal(wait, SEC(1));
    clk.now += wait;
    assert_int_equal(retry_state_admit(st, &wait), RETRY_STEP_CALL);
    assert_int_equal(wait, 0);
    assert_int_equal(retry_state_report(st, &wait, 0, 0, NULL), RETRY_STEP_DONE);
    retry_state_free(st);
    retry_breaker_snapshot_get(b, &s);
    assert_int_equal(s.slow_calls, 0);

    /* a version 1 policy has no WAIT step: the call is timed from the end
     * of the wait it is told to sleep */
    p.version = 1;
    assert_int_equal(retry_state_new(&st, &p, l, b, NULL), RETRY_OK);
    assert_int_equal(retry_state_admit(st, &wait), RETRY_STEP_CALL);
    assert_int_equal(wait, SEC(1));
    clk.now += wait;
    assert_int_equal(retry_state_report(st, &wait, 0, 0, NULL), RETRY_STEP_DONE);
    retry_state_free(st);
    retry_breaker_snapshot_get(b, &s);
    assert_int_equal(s.slow_calls, 0);
    assert_int_equal(s.state, RETRY_BREAKER_CLOSED);
    retry_breaker_free(b);
    retry_limiter_free(l);
}

/* While the run sleeps for a token, it holds no half-open permit. */
typedef struct probe_watch {
    retry_breaker *b;
    uint32_t max_in_flight;
    int sleeps;
} probe_watch;

static probe_watch watch;

static void watching_sleep(int64_t ns, void *ctx)
{
    retry_breaker_snapshot s;
    retry_breaker_snapshot_get(watch.b, &s);
    if (s.half_open_in_flight > watch.max_in_flight)
        watch.max_in_flight = s.half_open_in_flight;
    watch.sleeps++;
    fake_sleep(ns, ctx);
}

static void no_half_open_permit_across_limiter_wait(void **state)
{
    (void)state;
    retry_limiter *l = fake_limiter_1s(&clk);
    assert_non_null(l);
    retry_breaker_options bo = RETRY_BREAKER_OPTIONS_INIT;
    bo.slow_call_duration_ns = 0;
    bo.half_open_permits = 1;
    bo.half_open_mode = RETRY_HALF_OPEN_SUCCESS_THRESHOLD;
    bo.env = fake_env(&clk);
    retry_breaker *b = NULL;
    assert_int_equal(retry_breaker_new(&b, &bo), RETRY_OK);
    for (int i = 0; i < 20; i++) {
        retry_permit pm;
        assert_int_equal(retry_breaker_acquire(b, &pm, NULL), RETRY_OK);
        retry_breaker_record(b, &pm, RETRY_OUTCOME_FAILURE);
    }
    assert_int_equal(retry_breaker_state_now(b), RETRY_BREAKER_OPEN);
    clk.now += SEC(60);
    assert_int_equal(retry_breaker_state_now(b), RETRY_BREAKER_HALF_OPEN);
    assert_int_equal(retry_limiter_try_acquire(l, 1), RETRY_OK); /* next token in 1 s */

    memset(&watch, 0, sizeof watch);
    watch.b = b;
    retry_policy p = policy();
    p.env.sleep_ns = watching_sleep;
    retry_result r;
    assert_int_equal(retry_run(&r, &p, l, b, NULL, instant_ok, NULL), RETRY_OK);
    assert_int_equal(watch.sleeps, 1);
    assert_int_equal(watch.max_in_flight, 0);
    assert_int_equal(retry_breaker_state_now(b), RETRY_BREAKER_CLOSED);
    retry_breaker_free(b);
    retry_limiter_free(l);
}

/* A count window of 10 with the default min_calls (20) must still trip. */
static void min_calls_above_count_window_still_trips(void **state)
{
    (void)state;
    retry_breaker_options o = RETRY_BREAKER_OPTIONS_INIT;
    o.window_size = 10;
    o.slow_call_duration_ns = 0;
    o.env = fake_env(&clk);
    retry_breaker *b = NULL;
    assert_int_equal(retry_breaker_new(&b, &o), RETRY_OK);
    int admitted = 0;
    for (int i = 0; i < 1000; i++) {
        retry_permit pm;
        if (retry_breaker_acquire(b, &pm, NULL) != RETRY_OK)
            break;
        admitted++;
        retry_breaker_record(b, &pm, RETRY_OUTCOME_FAILURE);
    }
    assert_int_equal(admitted, 10); /* min_calls is the window: 10 of 10 failed */
    retry_breaker_snapshot s;
    retry_breaker_snapshot_get(b, &s);
    assert_int_equal(s.state, RETRY_BREAKER_OPEN);
    retry_breaker_free(b);
}

/* A percent budget of 1e-15 % allows no retry beyond its reserve. */
static void tiny_percent_budget_allows_nothing(void **state)
{
    (void)state;
    retry_budget_options o = RETRY_BUDGET_OPTIONS_INIT;
    o.percent = 1e-15;
    o.min_per_second = 0;
    o.env = fake_env(&clk);
    retry_budget *b = NULL;
    assert_int_equal(retry_budget_new(&b, &o), RETRY_OK);
    int allowed = 0;
    for (int i = 0; i < 1000; i++) {
        retry_budget_deposit(b);
        if (retry_budget_try_withdraw(b) == RETRY_OK)
            allowed++;
    }
    assert_int_equal(allowed, 0);
    assert_true(retry_budget_balance(b) == 0.0);
    retry_budget_free(b);

    /* with a reserve of 1/s over 10 s: exactly the 10 reserved retries */
    o.min_per_second = 1;
    assert_int_equal(retry_budget_new(&b, &o), RETRY_OK);
    allowed = 0;
    for (int i = 0; i < 1000; i++) {
        retry_budget_deposit(b);
        if (retry_budget_try_withdraw(b) == RETRY_OK)
            allowed++;
    }
    assert_int_equal(allowed, 10);
    retry_budget_free(b);

    /* the largest percent and reserve: no overflow, 1000 % is 10 per request */
    o.percent = 1000.0;
    o.min_per_second = 1000000;
    o.ttl_ns = SEC(3600);
    assert_int_equal(retry_budget_new(&b, &o), RETRY_OK);
    assert_true(retry_budget_balance(b) == 3600.0 * 1e6);
    retry_budget_free(b);
}

/* The fake clock's sleep, saturating (fake.h's adds plainly). */
static void sat_sleep(int64_t ns, void *ctx)
{
    fake *f = ctx;
    f->now = ns > INT64_MAX - f->now ? INT64_MAX : f->now + ns;
    f->sleeps++;
}

static int huge_hint(retry_call *call, void *ud)
{
    (void)ud;
    call->hint_ns = INT64_MAX;
    return 503;
}

/* Retry-After hints of INT64_MAX, uncapped: the total saturates. */
static void waited_saturates(void **state)
{
    (void)state;
    retry_policy p = policy();
    p.env.sleep_ns = sat_sleep;
    p.max_delay_ns = INT64_MAX;
    p.max_attempts = 4;
    retry_result r;
    assert_int_equal(retry_run(&r, &p, NULL, NULL, NULL, huge_hint, NULL), RETRY_EGAVEUP);
    assert_int_equal(r.stop, RETRY_STOP_ATTEMPTS);
    assert_int_equal(r.attempts, 4);
    assert_true(r.waited_ns == INT64_MAX);
    assert_true(r.elapsed_ns >= 0);
}

static int after_120s(retry_call *call, void *ud)
{
    (*(int *)ud)++;
    call->hint_ns = SEC(120);
    return 429;
}

/* Retry-After 120 s with 90 s left stops at once, whatever max_delay is. */
static void hint_past_deadline_stops_whatever_max_delay(void **state)
{
    (void)state;
    int64_t caps[] = { SEC(60), SEC(600), SEC(1) };
    for (size_t i = 0; i < sizeof caps / sizeof caps[0]; i++) {
        retry_policy p = policy();
        p.max_elapsed_ns = SEC(90);
        p.max_delay_ns = caps[i];
        int calls = 0;
        retry_result r;
        assert_int_equal(retry_run(&r, &p, NULL, NULL, NULL, after_120s, &calls), RETRY_EGAVEUP);
        assert_int_equal(r.stop, RETRY_STOP_DEADLINE);
        assert_int_equal(calls, 1);
        assert_int_equal(r.waited_ns, 0);
    }
    /* without a deadline max_delay still caps the hint */
    retry_policy p = policy();
    p.max_delay_ns = SEC(60);
    p.max_attempts = 2;
    int calls = 0;
    retry_result r;
    assert_int_equal(retry_run(&r, &p, NULL, NULL, NULL, after_120s, &calls), RETRY_EGAVEUP);
    assert_int_equal(r.stop, RETRY_STOP_ATTEMPTS);
    assert_int_equal(r.waited_ns, SEC(60));
}

/* In HALF_OPEN the snapshot describes the probes, not the closed window. */
static void half_open_snapshot_shows_probes(void **state)
{
    (void)state;
    retry_breaker_options o = RETRY_BREAKER_OPTIONS_INIT;
    o.window_size = 5;
    o.min_calls = 5;
    o.slow_call_duration_ns = 0;
    o.half_open_permits = 4;
    o.env = fake_env(&clk);
    retry_breaker *b = NULL;
    assert_int_equal(retry_breaker_new(&b, &o), RETRY_OK);
    retry_permit pm[4];
    for (int i = 0; i < 5; i++) {
        assert_int_equal(retry_breaker_acquire(b, &pm[0], NULL), RETRY_OK);
        retry_breaker_record(b, &pm[0], RETRY_OUTCOME_FAILURE);
    }
    retry_breaker_snapshot s;
    retry_breaker_snapshot_get(b, &s);
    assert_int_equal(s.state, RETRY_BREAKER_OPEN);
    assert_int_equal(s.window_calls, 5); /* OPEN: the window that tripped it */
    clk.now += SEC(60);
    retry_breaker_snapshot_get(b, &s);
    assert_int_equal(s.state, RETRY_BREAKER_HALF_OPEN);
    assert_int_equal(s.window_calls, 0);
    assert_true(s.failure_rate < 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(retry_breaker_acquire(b, &pm[i], NULL), RETRY_OK);
    retry_breaker_record(b, &pm[0], RETRY_OUTCOME_SUCCESS);
    retry_breaker_record(b, &pm[1], RETRY_OUTCOME_FAILURE);
    retry_breaker_snapshot_get(b, &s);
    assert_int_equal(s.state, RETRY_BREAKER_HALF_OPEN);
    assert_int_equal(s.window_calls, 2);
    assert_int_equal(s.window_failures, 1);
    assert_true(s.failure_rate > 49.99 && s.failure_rate < 50.01);
    assert_int_equal(s.half_open_in_flight, 1);
    assert_int_equal(s.half_open_admitted, 3);
    assert_int_equal(s.half_open_succeeded, 1);
    assert_int_equal(s.half_open_failed, 1);
    retry_breaker_record(b, &pm[2], RETRY_OUTCOME_IGNORE);
    /* two more probes succeed: 1 failure in 4 is below 50 %, CLOSED again,
     * and the probe counts are 0 */
    assert_int_equal(retry_breaker_acquire(b, &pm[3], NULL), RETRY_OK);
    retry_breaker_record(b, &pm[3], RETRY_OUTCOME_SUCCESS);
    assert_int_equal(retry_breaker_acquire(b, &pm[3], NULL), RETRY_OK);
    retry_breaker_record(b, &pm[3], RETRY_OUTCOME_SUCCESS);
    retry_breaker_snapshot_get(b, &s);
    assert_int_equal(s.state, RETRY_BREAKER_CLOSED);
    assert_int_equal(s.half_open_admitted, 0);
    assert_int_equal(s.half_open_failed, 0);
    assert_int_equal(s.window_calls, 0);
    retry_breaker_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(limiter_wait_is_not_a_slow_call, setup),
        cmocka_unit_test_setup(no_half_open_permit_across_limiter_wait, setup),
        cmocka_unit_test_setup(min_calls_above_count_window_still_trips, setup),
        cmocka_unit_test_setup(tiny_percent_budget_allows_nothing, setup),
        cmocka_unit_test_setup(waited_saturates, setup),
        cmocka_unit_test_setup(hint_past_deadline_stops_whatever_max_delay, setup),
        cmocka_unit_test_setup(half_open_snapshot_shows_probes, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
