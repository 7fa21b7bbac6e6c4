/* retry_run() and the step API, on a fake clock with fake sleeps. */
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

/* A scripted callee: returns rcs[i] with hints[i] on call i. */
typedef struct script {
    int n;
    int rcs[16];
    int64_t hints[16];
    int calls;
    int64_t at[16];
} script;

static int scripted(retry_call *call, void *ud)
{
    script *s = ud;
    int i = s->calls < s->n ? s->calls : s->n - 1;
    assert_int_equal(call->attempt, (uint32_t)s->calls + 1);
    if (s->calls < 16)
        s->at[s->calls] = clk.now;
    s->calls++;
    call->hint_ns = s->hints[i];
    if (s->rcs[i])
        snprintf(call->errmsg, sizeof call->errmsg, "boom %d", s->calls);
    return s->rcs[i];
}

static void hints_100_then_200_ms(void **state)
{
    (void)state;
    retry_policy p = policy();
    p.backoff.base_ns = MS(10);
    script s = { 3, { 503, 503, 0 }, { MS(100), MS(200), 0 }, 0, { 0 } };
    retry_result r;
    assert_int_equal(retry_run(&r, &p, NULL, NULL, NULL, scripted, &s), RETRY_OK);
    assert_int_equal(s.calls, 3);
    assert_int_equal(r.attempts, 3);
    assert_int_equal(r.stop, RETRY_STOP_SUCCESS);
    assert_int_equal(r.waited_ns, MS(300));
    assert_int_equal(clk.slept, MS(300));
    assert_int_equal(r.elapsed_ns, MS(300));
    assert_int_equal(r.last_rc, 0);
    assert_string_equal(r.last_errmsg, "");
}

static void attempts_exhausted(void **state)
{
    (void)state;
    retry_policy p = policy();
    script s = { 1, { 7 }, { 0 }, 0, { 0 } };
    retry_result r;
    assert_int_equal(retry_run(&r, &p, NULL, NULL, NULL, scripted, &s), RETRY_EGAVEUP);
    assert_int_equal(r.stop, RETRY_STOP_ATTEMPTS);
    assert_int_equal(r.attempts, 4);
    assert_int_equal(r.waited_ns, MS(700));
    assert_int_equal(s.at[1] - s.at[0], MS(100));
    assert_int_equal(s.at[2] - s.at[1], MS(200));
    assert_int_equal(s.at[3] - s.at[2], MS(400));
    assert_int_equal(r.last_rc, 7);
    assert_string_equal(r.last_errmsg, "boom 4");
    /* result may be NULL */
    s.calls = 0;
    assert_int_equal(retry_run(NULL, &p, NULL, NULL, NULL, scripted, &s), RETRY_EGAVEUP);
    assert_int_equal(s.calls, 4);
}

static retry_class classify_http(int rc, const retry_call *call, void *ud)
{
    (void)call;
    (*(int *)ud)++;
    if (rc == 0)
        return RETRY_CLASS_SUCCESS;
    if (rc == 429 || rc >= 500)
        return RETRY_CLASS_RETRYABLE;
    return rc == 99 ? (retry_class)12345 : RETRY_CLASS_FATAL; /* unknown values count as fatal */
}

static void classifier_says_fatal(void **state)
{
    (void)state;
    int seen = 0;
    retry_policy p = policy();
    p.classify = classify_http;
    p.classify_userdata = &seen;
    script s = { 3, { 503, 404, 0 }, { 0 }, 0, { 0 } };
    retry_result r;
    assert_int_equal(retry_run(&r, &p, NULL, NULL, NULL, scripted, &s), RETRY_EGAVEUP);
    assert_int_equal(r.stop, RETRY_STOP_FATAL);
    assert_int_equal(r.attempts, 2);
    assert_int_equal(seen, 2);
    assert_int_equal(r.last_rc, 404);
    assert_string_equal(r.last_errmsg, "boom 2");
    script s2 = { 2, { 99, 0 }, { 0 }, 0, { 0 } };
    assert_int_equal(retry_run(&r, &p, NULL, NULL, NULL, scripted, &s2), RETRY_EGAVEUP);
    assert_int_equal(r.stop, RETRY_STOP_FATAL);
    assert_int_equal(r.attempts, 1);
}

static void deadline_trims_last_delay(void **state)
{
    (void)state;
    retry_policy p = policy();
    p.max_attempts = 10;
    p.max_elapsed_ns = MS(250);
    script s = { 1, { 1 }, { 0 }, 0, { 0 } };
    retry_result r;
    assert_int_equal(retry_run(&r, &p, NULL, NULL, NULL, scripted, &s), RETRY_EGAVEUP);
    assert_int_equal(r.stop, RETRY_STOP_DEADLINE);
    assert_int_equal(r.attempts, 3); /* at 0, 100 and 250 ms (200 trimmed to 150) */
    assert_int_equal(s.at[2] - s.at[0], MS(250));
    assert_int_equal(r.waited_ns, MS(250));
    assert_int_equal(r.elapsed_ns, MS(250));
}

static void hint_past_deadline_stops_at_once(void **state)
{
    (void)state;
    retry_policy p = policy();
    p.max_elapsed_ns = SEC(5);
    script s = { 2, { 429, 0 }, { SEC(10), 0 }, 0, { 0 } };
    retry_result r;
    assert_int_equal(retry_run(&r, &p, NULL, NULL, NULL, scripted, &s), RETRY_EGAVEUP);
    assert_int_equal(r.stop, RETRY_STOP_DEADLINE);
    assert_int_equal(r.attempts, 1);
    assert_int_equal(clk.slept, 0);
}

static void max_delay_caps_hint(void **state)
{
    (void)state;
    retry_policy p = policy();
    p.max_delay_ns = SEC(1);
    script s = { 2, { 429, 0 }, { SEC(600), 0 }, 0, { 0 } };
    retry_result r;
    assert_int_equal(retry_run(&r, &p, NULL, NULL, NULL, scripted, &s), RETRY_OK);
    assert_int_equal(r.waited_ns, SEC(1));
}

static void jitter_uses_env_random(void **state)
{
    (void)state;
    retry_policy p = policy();
    p.backoff.jitter = RETRY_JITTER_FULL;
    clk.rnd = 0.5;
    script s = { 1, { 1 }, { 0 }, 0, { 0 } };
    retry_result r;
    assert_int_equal(retry_run(&r, &p, NULL, NULL, NULL, scripted, &s), RETRY_EGAVEUP);
    assert_int_equal(r.waited_ns, MS(50 + 100 + 200));
}

/* retry_run feeds decorrelated jitter the delay it slept last: with u = 1/2
 * each delay is base + (3 * previous - base) / 2 (the first one's previous
 * being base): 200, 350, 575 ms. A run that fed it 0 or base each time
 * would sleep 200 ms every time. */
static void decorrelated_jitter_is_fed_the_previous_delay(void **state)
{
    (void)state;
    retry_policy p = policy();
    p.backoff.jitter = RETRY_JITTER_DECORRELATED;
    p.max_attempts = 4;
    clk.rnd = 0.5;
    script s = { 1, { 1 }, { 0 }, 0, { 0 } };
    retry_result r;
    assert_int_equal(retry_run(&r, &p, NULL, NULL, NULL, scripted, &s), RETRY_EGAVEUP);
    assert_int_equal(s.calls, 4);
    int64_t prev = p.backoff.base_ns, total = 0;
    for (int i = 1; i < 4; i++) {
        int64_t want = p.backoff.base_ns + (3 * prev - p.backoff.base_ns) / 2;
        assert_int_equal(s.at[i] - s.at[i - 1], want);
        prev = want;
        total += want;
    }
    assert_int_equal(total, MS(200 + 350 + 575));
    assert_int_equal(r.waited_ns, total);
}

static void default_prng_stays_in_bounds(void **state)
{
    (void)state;
    retry_policy p = policy();
    p.backoff.jitter = RETRY_JITTER_FULL;
    p.env.random = NULL;
    p.env.seed = 42;
    p.max_attempts = 30;
    script s = { 1, { 1 }, { 0 }, 0, { 0 } };
    retry_result r;
    assert_int_equal(retry_run(&r, &p, NULL, NULL, NULL, scripted, &s), RETRY_EGAVEUP);
    for (int i = 1; i < 16; i++) {
        int64_t d = s.at[i] - s.at[i - 1];
        assert_true(d >= 0 && d <= retry_backoff_base_delay(&p.backoff, (uint32_t)i));
    }
    int64_t first = r.waited_ns;
    s.calls = 0; /* the same seed gives the same run */
    assert_int_equal(retry_run(&r, &p, NULL, NULL, NULL, scripted, &s), RETRY_EGAVEUP);
    assert_int_equal(r.waited_ns, first);
}

/* The default PRNG under full jitter: each delay divided by its schedule's
 * base delay is uniform on [0, 1), so over 40 seeds of 15 delays the mean is
 * near 1/2 and the variance near 1/12; and different seeds give different
 * runs. A generator stuck at one value fails all three. */
static void default_prng_is_uniform_and_follows_its_seed(void **state)
{
    (void)state;
    enum { SEEDS = 40, DELAYS = 15 };
    double sum = 0, sum2 = 0;
    int64_t waited[SEEDS];
    for (int k = 0; k < SEEDS; k++) {
        retry_policy p = policy();
        p.backoff.jitter = RETRY_JITTER_FULL;
        p.env.random = NULL;
        p.env.seed = (uint64_t)k + 1;
        p.max_attempts = DELAYS + 1;
        script s = { 1, { 1 }, { 0 }, 0, { 0 } };
        retry_result r;
        assert_int_equal(retry_run(&r, &p, NULL, NULL, NULL, scripted, &s), RETRY_EGAVEUP);
        for (int i = 1; i <= DELAYS; i++) {
            double u = (double)(s.at[i] - s.at[i - 1]) /
                       (double)retry_backoff_base_delay(&p.backoff, (uint32_t)i);
            assert_true(u >= 0 && u <= 1);
            sum += u;
            sum2 += u * u;
        }
        waited[k] = r.waited_ns;
    }
    const double n = SEEDS * DELAYS, mean = sum / n, var = sum2 / n - mean * mean;
    print_message("full jitter: mean %.4f (1/2), variance %.4f (1/12 = 0.0833)\n", mean, var);
    /* standard errors: 0.012 for the mean, 0.003 for the variance */
    assert_true(mean > 0.44 && mean < 0.56);
    assert_true(var > 0.065 && var < 0.10);
    for (int k = 1; k < SEEDS; k++)
        assert_true(waited[k] != waited[k - 1]);
}

static retry_breaker *breaker(uint32_t consecutive)
{
    retry_breaker_options o = RETRY_BREAKER_OPTIONS_INIT;
    o.consecutive_failures = consecutive;
    o.env = fake_env(&clk);
    retry_breaker *b = NULL;
    assert_int_equal(retry_breaker_new(&b, &o), RETRY_OK);
    return b;
}

static void breaker_open_stops(void **state)
{
    (void)state;
    retry_breaker *b = breaker(2);
    retry_policy p = policy();
    p.max_attempts = 5;
    script s = { 1, { 1 }, { 0 }, 0, { 0 } };
    retry_result r;
    assert_int_equal(retry_run(&r, &p, NULL, b, NULL, scripted, &s), RETRY_EOPEN);
    assert_int_equal(r.stop, RETRY_STOP_BREAKER_OPEN);
    assert_int_equal(r.attempts, 2);
    assert_int_equal(s.calls, 2);
    retry_breaker_free(b);
}

static void fatal_is_ignored_by_breaker(void **state)
{
    (void)state;
    int seen = 0;
    retry_breaker *b = breaker(1);
    retry_policy p = policy();
    p.classify = classify_http;
    p.classify_userdata = &seen;
    script s = { 1, { 400 }, { 0 }, 0, { 0 } };
    retry_result r;
    assert_int_equal(retry_run(&r, &p, NULL, b, NULL, scripted, &s), RETRY_EGAVEUP);
    retry_breaker_snapshot snap;
    retry_breaker_snapshot_get(b, &snap);
    assert_int_equal(snap.state, RETRY_BREAKER_CLOSED);
    assert_int_equal(snap.ignored, 1);
    assert_int_equal(snap.failures, 0);
    retry_breaker_free(b);
}

static void budget_exhausted_stops(void **state)
{
    (void)state;
    retry_budget_options o = RETRY_BUDGET_OPTIONS_INIT;
    o.kind = RETRY_BUDGET_TOKENS;
    o.max_tokens = 3;
    o.env = fake_env(&clk);
    retry_budget *bud = NULL;
    assert_int_equal(retry_budget_new(&bud, &o), RETRY_OK);
    retry_policy p = policy();
    script s = { 1, { 1 }, { 0 }, 0, { 0 } };
    retry_result r;
    /* 3 tokens: after one failure 2 > 1.5 retries, after two 1 does not */
    assert_int_equal(retry_run(&r, &p, NULL, NULL, bud, scripted, &s), RETRY_EBUDGET);
    assert_int_equal(r.stop, RETRY_STOP_BUDGET);
    assert_int_equal(r.attempts, 2);
    assert_int_equal(r.waited_ns, MS(100));
    retry_budget_free(bud);
}

/* The step API with a limiter (1/s, burst 1) and a token budget (3): the
 * first call takes the token; its failure leaves the budget room for one
 * retry, 100 ms of backoff, then a WAIT for the next token 900 ms later;
 * the second failure exhausts the budget. retry_run on fresh handles makes
 * the same decisions. */
static void step_api_with_limiter_and_budget(void **state)
{
    (void)state;
    for (int use_run = 0; use_run < 2; use_run++) {
        retry_limiter_options lo = RETRY_LIMITER_OPTIONS_INIT;
        lo.rate = 1.0;
        lo.burst = 1;
        lo.env = fake_env(&clk);
        retry_limiter *l = NULL;
        assert_int_equal(retry_limiter_new(&l, &lo), RETRY_OK);
        retry_budget_options bo = RETRY_BUDGET_OPTIONS_INIT;
        bo.kind = RETRY_BUDGET_TOKENS;
        bo.max_tokens = 3;
        bo.env = fake_env(&clk);
        retry_budget *bud = NULL;
        assert_int_equal(retry_budget_new(&bud, &bo), RETRY_OK);
        retry_policy p = policy();
        retry_result r;
        int64_t t0 = clk.now;
        if (use_run) {
            script s = { 1, { 1 }, { 0 }, 0, { 0 } };
            assert_int_equal(retry_run(&r, &p, l, NULL, bud, scripted, &s), RETRY_EBUDGET);
            assert_int_equal(s.calls, 2);
            assert_int_equal(s.at[1] - s.at[0], SEC(1));
            assert_int_equal(r.waited_ns, SEC(1));
        } else {
            retry_state *st = NULL;
            assert_int_equal(retry_state_new(&st, &p, l, NULL, bud), RETRY_OK);
            int64_t wait = -1, at[4] = { 0 };
            int calls = 0, waits = 0;
            assert_int_equal(retry_state_admit(st, &wait), RETRY_STEP_CALL);
            assert_int_equal(wait, 0);
            at[calls++] = clk.now;
            assert_int_equal(retry_state_report(st, &wait, 1, 0, "failed"), RETRY_STEP_CALL);
            assert_int_equal(wait, MS(100)); /* the backoff */
            clk.now += wait;
            retry_step k;
            while ((k = retry_state_admit(st, &wait)) == RETRY_STEP_WAIT) {
                assert_int_equal(wait, MS(900)); /* the limiter's next token */
                clk.now += wait;
                waits++;
            }
            assert_int_equal(waits, 1);
            assert_int_equal(k, RETRY_STEP_CALL);
            at[calls++] = clk.now;
            assert_int_equal(retry_state_report(st, &wait, 1, 0, "failed"), RETRY_STEP_DONE);
            assert_int_equal(at[1] - at[0], SEC(1));
            retry_state_result(st, &r);
            retry_state_free(st);
        }
        assert_int_equal(r.stop, RETRY_STOP_BUDGET);
        assert_int_equal(r.attempts, 2);
        assert_int_equal(clk.now - t0, SEC(1));
        retry_limiter_free(l);
        retry_budget_free(bud);
        clk.now += SEC(10);
    }
}

static void percent_budget_stops_storm(void **state)
{
    (void)state;
    retry_budget_options o = RETRY_BUDGET_OPTIONS_INIT; /* PERCENT */
    o.percent = 50;
    o.min_per_second = 0;
    o.env = fake_env(&clk);
    retry_budget *bud = NULL;
    assert_int_equal(retry_budget_new(&bud, &o), RETRY_OK);
    retry_policy p = policy();
    retry_result r;
    script fail = { 1, { 1 }, { 0 }, 0, { 0 } };
    script ok = { 1, { 0 }, { 0 }, 0, { 0 } };
    /* one request funds half a retry: none allowed */
    assert_int_equal(retry_run(&r, &p, NULL, NULL, bud, scripted, &fail), RETRY_EBUDGET);
    assert_int_equal(r.attempts, 1);
    assert_int_equal(retry_run(&r, &p, NULL, NULL, bud, scripted, &ok), RETRY_OK);
    /* three requests fund one retry and a half */
    fail.calls = 0;
    assert_int_equal(retry_run(&r, &p, NULL, NULL, bud, scripted, &fail), RETRY_EBUDGET);
    assert_int_equal(r.attempts, 2);
    assert_int_equal(r.stop, RETRY_STOP_BUDGET);
    retry_budget_free(bud);
}

static int count_calls(retry_call *call, void *ud)
{
    (void)call;
    return ++*(int *)ud < 3; /* fails twice, then succeeds */
}

static void real_clock_and_sleep(void **state)
{
    (void)state;
    retry_policy p = RETRY_POLICY_INIT; /* default env: CLOCK_MONOTONIC, nanosleep, PRNG */
    p.backoff.base_ns = MS(1);
    p.backoff.cap_ns = MS(2);
    int n = 0;
    retry_result r;
    assert_int_equal(retry_run(&r, &p, NULL, NULL, NULL, count_calls, &n), RETRY_OK);
    assert_int_equal(r.attempts, 3);
    assert_true(r.waited_ns >= 0 && r.waited_ns <= MS(3));
    assert_true(r.elapsed_ns >= 0);
}

static void limiter_wait_and_timeout(void **state)
{
    (void)state;
    retry_limiter_options lo = RETRY_LIMITER_OPTIONS_INIT;
    lo.rate = 1.0;
    lo.burst = 1;
    lo.env = fake_env(&clk);
    retry_limiter *l = NULL;
    assert_int_equal(retry_limiter_new(&l, &lo), RETRY_OK);
    retry_policy p = policy();
    p.limiter_timeout_ns = MS(500);
    script s = { 2, { 1, 0 }, { 0 }, 0, { 0 } };
    retry_result r;
    /* token used by call 1; after 100 ms of backoff the next token is 900 ms away */
    assert_int_equal(retry_run(&r, &p, l, NULL, NULL, scripted, &s), RETRY_ETIMEOUT);
    assert_int_equal(r.stop, RETRY_STOP_RATE_LIMIT);
    assert_int_equal(r.attempts, 1);
    assert_int_equal(r.waited_ns, MS(100));

    clk.now += SEC(5);
    s.calls = 0;
    p.limiter_timeout_ns = SEC(2);
    assert_int_equal(retry_run(&r, &p, l, NULL, NULL, scripted, &s), RETRY_OK);
    assert_int_equal(r.attempts, 2);
    assert_int_equal(r.waited_ns, MS(100) + MS(900));
    assert_int_equal(s.at[1] - s.at[0], SEC(1));

    /* the limiter's wait counts against the deadline */
    clk.now += SEC(5);
    s.calls = 0;
    p.max_elapsed_ns = MS(500);
    assert_int_equal(retry_run(&r, &p, l, NULL, NULL, scripted, &s), RETRY_EGAVEUP);
    assert_int_equal(r.stop, RETRY_STOP_DEADLINE);
    assert_int_equal(r.attempts, 1);
    assert_int_equal(r.waited_ns, MS(100));
    clk.now += SEC(5);
    s.calls = 0;
    p.max_elapsed_ns = SEC(1); /* 100 ms backoff + 900 ms limiter wait fit exactly */
    assert_int_equal(retry_run(&r, &p, l, NULL, NULL, scripted, &s), RETRY_OK);
    assert_int_equal(r.attempts, 2);
    retry_limiter_free(l);
}

static void step_api_same_semantics(void **state)
{
    (void)state;
    retry_policy p = policy();
    p.backoff.base_ns = MS(10);
    retry_state *st = NULL;
    assert_int_equal(retry_state_new(&st, &p, NULL, NULL, NULL), RETRY_OK);
    int64_t wait = -1;
    assert_int_equal(retry_state_admit(st, &wait), RETRY_STEP_CALL);
    assert_int_equal(wait, 0);
    assert_int_equal(retry_state_report(st, &wait, 503, MS(100), "unavailable"), RETRY_STEP_CALL);
    assert_int_equal(wait, MS(100));
    clk.now += wait;
    assert_int_equal(retry_state_admit(st, &wait), RETRY_STEP_CALL);
    assert_int_equal(retry_state_report(st, &wait, 503, MS(200), NULL), RETRY_STEP_CALL);
    assert_int_equal(wait, MS(200));
    clk.now += wait;
    assert_int_equal(retry_state_admit(st, &wait), RETRY_STEP_CALL);
    retry_result r;
    retry_state_result(st, &r);
    assert_int_equal(r.stop, RETRY_STOP_NONE);
    assert_int_equal(retry_state_report(st, &wait, 0, 0, NULL), RETRY_STEP_DONE);
    retry_state_result(st, &r);
    assert_int_equal(r.stop, RETRY_STOP_SUCCESS);
    assert_int_equal(r.attempts, 3);
    assert_int_equal(r.waited_ns, MS(300));
    assert_int_equal(r.elapsed_ns, MS(300));
    assert_int_equal(retry_state_admit(st, &wait), RETRY_STEP_DONE);
    retry_state_free(st);
    retry_state_free(NULL);
}

static void step_api_free_releases_permit(void **state)
{
    (void)state;
    retry_breaker_options o = RETRY_BREAKER_OPTIONS_INIT;
    o.env = fake_env(&clk);
    o.half_open_permits = 1;
    retry_breaker *b = NULL;
    assert_int_equal(retry_breaker_new(&b, &o), RETRY_OK);
    retry_breaker_force_open(b);
    retry_breaker_reset(b);
    retry_policy p = policy();
    retry_state *st = NULL;
    assert_int_equal(retry_state_new(&st, &p, NULL, b, NULL), RETRY_OK);
    int64_t wait;
    assert_int_equal(retry_state_admit(st, &wait), RETRY_STEP_CALL);
    retry_state_free(st); /* never reported */
    retry_breaker_snapshot s;
    retry_breaker_snapshot_get(b, &s);
    assert_int_equal(s.calls, 1);
    assert_int_equal(s.ignored, 1);

    retry_breaker_force_open(b);
    assert_int_equal(retry_state_new(&st, &p, NULL, b, NULL), RETRY_OK);
    assert_int_equal(retry_state_admit(st, &wait), RETRY_STEP_DONE);
    retry_result r;
    retry_state_result(st, &r);
    assert_int_equal(r.stop, RETRY_STOP_BREAKER_OPEN);
    assert_int_equal(r.attempts, 0);
    retry_state_free(st);
    retry_breaker_free(b);
}

static void invalid_policy(void **state)
{
    (void)state;
    retry_policy p = policy();
    p.max_attempts = 0;
    script s = { 1, { 0 }, { 0 }, 0, { 0 } };
    retry_result r;
    assert_int_equal(retry_policy_check(&p), RETRY_EINVAL);
    assert_int_equal(retry_run(&r, &p, NULL, NULL, NULL, scripted, &s), RETRY_EINVAL);
    assert_int_equal(s.calls, 0);
    retry_state *st = (retry_state *)&clk;
    assert_int_equal(retry_state_new(&st, &p, NULL, NULL, NULL), RETRY_EINVAL);
    assert_null(st);
    p = policy();
    p.backoff.base_ns = -1;
    assert_int_equal(retry_policy_check(&p), RETRY_EINVAL);
    retry_policy d = RETRY_POLICY_INIT;
    assert_int_equal(retry_policy_check(&d), RETRY_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(hints_100_then_200_ms, setup),
        cmocka_unit_test_setup(attempts_exhausted, setup),
        cmocka_unit_test_setup(classifier_says_fatal, setup),
        cmocka_unit_test_setup(deadline_trims_last_delay, setup),
        cmocka_unit_test_setup(hint_past_deadline_stops_at_once, setup),
        cmocka_unit_test_setup(max_delay_caps_hint, setup),
        cmocka_unit_test_setup(jitter_uses_env_random, setup),
        cmocka_unit_test_setup(decorrelated_jitter_is_fed_the_previous_delay, setup),
        cmocka_unit_test_setup(default_prng_stays_in_bounds, setup),
        cmocka_unit_test_setup(default_prng_is_uniform_and_follows_its_seed, setup),
        cmocka_unit_test_setup(breaker_open_stops, setup),
        cmocka_unit_test_setup(fatal_is_ignored_by_breaker, setup),
        cmocka_unit_test_setup(budget_exhausted_stops, setup),
        cmocka_unit_test_setup(step_api_with_limiter_and_budget, setup),
        cmocka_unit_test_setup(percent_budget_stops_storm, setup),
        cmocka_unit_test_setup(real_clock_and_sleep, setup),
        cmocka_unit_test_setup(limiter_wait_and_timeout, setup),
        cmocka_unit_test_setup(step_api_same_semantics, setup),
        cmocka_unit_test_setup(step_api_free_releases_permit, setup),
        cmocka_unit_test_setup(invalid_policy, setup),
    };
    return cmocka_run_group_tests_name("retry_policy", tests, NULL, NULL);
}
