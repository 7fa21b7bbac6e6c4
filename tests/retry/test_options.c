/* Every option constraint of docs/retry.md's table: a value just outside is
 * refused with RETRY_EINVAL, the boundary inside is accepted, and the
 * combinations that could never trip are clamped to ones that do. */
#include <math.h>
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
    memset(&clk, 0, sizeof clk);
    clk.now = SEC(10);
    return 0;
}

/* One constraint: the option's name, a value outside (refused) and the
 * boundary value inside (accepted), applied to fresh default options. */
#define CASE(field, bad, good)                                                                     \
    {                                                                                              \
#field, offsetof(OPTS, field), sizeof(((OPTS *)0)->field), bad, good                       \
    }

typedef struct num_case {
    const char *name;
    size_t off, size;
    double bad, good;
} num_case;

/* Store v into the field at off (an integer or double of the given size). */
static void set_field(void *o, const num_case *c, double v, int is_double)
{
    char *p = (char *)o + c->off;
    if (is_double) {
        memcpy(p, &v, sizeof v);
        return;
    }
    switch (c->size) {
    case 4: {
        uint32_t x = v < 0 ? (uint32_t)(int32_t)v : (uint32_t)v;
        memcpy(p, &x, 4);
        break;
    }
    case 8: {
        int64_t x = v >= 9.2e18 ? INT64_MAX : (int64_t)v;
        memcpy(p, &x, 8);
        break;
    }
    default:
        fail_msg("field %s has size %zu", c->name, c->size);
    }
}

static int is_double_field(const char *name)
{
    static const char *doubles[] = { "multiplier",
                                     "jitter_factor",
                                     "failure_rate_threshold",
                                     "slow_call_rate_threshold",
                                     "open_duration_multiplier",
                                     "rate",
                                     "max_tokens",
                                     "token_ratio",
                                     "percent" };
    for (size_t i = 0; i < sizeof doubles / sizeof doubles[0]; i++)
        if (strcmp(name, doubles[i]) == 0 ||
            (strncmp(name, "backoff.", 8) == 0 && strcmp(name + 8, doubles[i]) == 0))
            return 1;
    return 0;
}

#define OPTS retry_breaker_options
static const num_case breaker_cases[] = {
    CASE(version, 3, 1),
    CASE(window_kind, 2, 1),
    CASE(window_size, 0, 1),
    CASE(window_size, 100001, 100000),
    CASE(min_calls, 0, 1),
    CASE(failure_rate_threshold, 0, 100),
    CASE(failure_rate_threshold, 100.5, 0.001),
    CASE(failure_rate_threshold, NAN, 50),
    CASE(slow_call_rate_threshold, 0, 100),
    CASE(slow_call_rate_threshold, 101, 0.001),
    CASE(slow_call_duration_ns, -1, 0),
    CASE(open_duration_ns, 0, 1),
    CASE(open_duration_multiplier, 0.99, 1),
    CASE(open_duration_multiplier, INFINITY, 1000),
    CASE(max_open_duration_ns, 60e9 - 1, 60e9), /* >= open_duration_ns (60 s) */
    CASE(half_open_permits, 0, 1),
    CASE(half_open_mode, 2, 1),
    CASE(max_half_open_wait_ns, 0, 1),
};
#undef OPTS

static void breaker_constraints(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof breaker_cases / sizeof breaker_cases[0]; i++) {
        const num_case *c = &breaker_cases[i];
        int dbl = is_double_field(c->name);
        retry_breaker_options o = RETRY_BREAKER_OPTIONS_INIT;
        o.env = fake_env(&clk);
        retry_breaker *b = (retry_breaker *)&o; /* must be overwritten */
        set_field(&o, c, c->bad, dbl);
        if (retry_breaker_new(&b, &o) != RETRY_EINVAL)
            fail_msg("breaker %s = %g accepted", c->name, c->bad);
        assert_null(b);
        set_field(&o, c, c->good, dbl);
        if (retry_breaker_new(&b, &o) != RETRY_OK)
            fail_msg("breaker %s = %g refused", c->name, c->good);
        retry_breaker_free(b);
    }
}

#define OPTS retry_limiter_options
static const num_case limiter_cases[] = {
    CASE(version, 2, 1), CASE(kind, 3, 2),  CASE(rate, 0.00099, 0.001),    CASE(rate, 1.1e12, 1e12),
    CASE(rate, NAN, 1),  CASE(burst, 0, 1), CASE(burst, 1000001, 1000000),
};
#undef OPTS

static void limiter_constraints(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof limiter_cases / sizeof limiter_cases[0]; i++) {
        const num_case *c = &limiter_cases[i];
        int dbl = is_double_field(c->name);
        retry_limiter_options o = RETRY_LIMITER_OPTIONS_INIT;
        o.env = fake_env(&clk);
        retry_limiter *l = NULL;
        set_field(&o, c, c->bad, dbl);
        if (retry_limiter_new(&l, &o) != RETRY_EINVAL)
            fail_msg("limiter %s = %g accepted", c->name, c->bad);
        set_field(&o, c, c->good, dbl);
        if (retry_limiter_new(&l, &o) != RETRY_OK)
            fail_msg("limiter %s = %g refused", c->name, c->good);
        retry_limiter_free(l);
    }
    /* window_ns matters to FIXED_WINDOW only; the rate does not */
    retry_limiter_options o = RETRY_LIMITER_OPTIONS_INIT;
    o.env = fake_env(&clk);
    o.kind = RETRY_LIMITER_FIXED_WINDOW;
    o.rate = 0;
    o.window_ns = 0;
    retry_limiter *l = NULL;
    assert_int_equal(retry_limiter_new(&l, &o), RETRY_EINVAL);
    o.window_ns = 1;
    assert_int_equal(retry_limiter_new(&l, &o), RETRY_OK);
    retry_limiter_free(l);
}

#define OPTS retry_budget_options
static const num_case tokens_cases[] = {
    CASE(version, 2, 1),         CASE(kind, 2, 0),
    CASE(max_tokens, 0.99, 1),   CASE(max_tokens, 1000.5, 1000),
    CASE(token_ratio, 0, 0.001), CASE(token_ratio, 10.01, 10), /* <= max_tokens (10) */
};
static const num_case percent_cases[] = {
    CASE(percent, -0.001, 0),
    CASE(percent, 1000.01, 1000),
    CASE(percent, NAN, 1),
    CASE(ttl_ns, 1e9 - 1, 1e9),
    CASE(ttl_ns, 3600e9 + 1, 3600e9),
    CASE(min_per_second, 1000001, 1000000),
};
#undef OPTS

static void budget_constraints(void **state)
{
    (void)state;
    for (int kind = 0; kind < 2; kind++) {
        const num_case *cases = kind == 0 ? tokens_cases : percent_cases;
        size_t n = kind == 0 ? sizeof tokens_cases / sizeof tokens_cases[0]
                             : sizeof percent_cases / sizeof percent_cases[0];
        for (size_t i = 0; i < n; i++) {
            const num_case *c = &cases[i];
            int dbl = is_double_field(c->name);
            retry_budget_options o = RETRY_BUDGET_OPTIONS_INIT;
            o.kind = kind == 0 ? RETRY_BUDGET_TOKENS : RETRY_BUDGET_PERCENT;
            o.env = fake_env(&clk);
            retry_budget *b = NULL;
            set_field(&o, c, c->bad, dbl);
            if (retry_budget_new(&b, &o) != RETRY_EINVAL)
                fail_msg("budget %s = %g accepted", c->name, c->bad);
            set_field(&o, c, c->good, dbl);
            if (retry_budget_new(&b, &o) != RETRY_OK)
                fail_msg("budget %s = %g refused", c->name, c->good);
            retry_budget_free(b);
        }
    }
}

#define OPTS retry_policy
static const num_case policy_cases[] = {
    CASE(version, 3, 1),
    CASE(max_attempts, 0, 1),
    CASE(max_elapsed_ns, -1, 0),
    CASE(max_delay_ns, 0, 1),
    CASE(limiter_timeout_ns, -1, 0),
    CASE(backoff.version, 2, 1),
    CASE(backoff.kind, 3, 2),
    CASE(backoff.jitter, 5, 4),
    CASE(backoff.base_ns, 0, 1),
    CASE(backoff.cap_ns, 0, 1),
    CASE(backoff.increment_ns, -1, 0),
    CASE(backoff.multiplier, 0.999, 1),
    CASE(backoff.multiplier, INFINITY, 1e300),
    CASE(backoff.jitter_factor, -0.01, 0),
    CASE(backoff.jitter_factor, 1.01, 1),
};
#undef OPTS

static int ok_fn(retry_call *call, void *ud)
{
    (void)call;
    (void)ud;
    return 0;
}

static void policy_constraints(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof policy_cases / sizeof policy_cases[0]; i++) {
        const num_case *c = &policy_cases[i];
        int dbl = is_double_field(c->name);
        retry_policy p = RETRY_POLICY_INIT;
        p.env = fake_env(&clk);
        retry_result r;
        set_field(&p, c, c->bad, dbl);
        if (retry_policy_check(&p) != RETRY_EINVAL ||
            retry_run(&r, &p, NULL, NULL, NULL, ok_fn, NULL) != RETRY_EINVAL)
            fail_msg("policy %s = %g accepted", c->name, c->bad);
        set_field(&p, c, c->good, dbl);
        if (retry_policy_check(&p) != RETRY_OK ||
            retry_run(&r, &p, NULL, NULL, NULL, ok_fn, NULL) != RETRY_OK)
            fail_msg("policy %s = %g refused", c->name, c->good);
    }
}

/* Fail calls through b until it refuses one; return how many it admitted. */
static int failures_to_trip(retry_breaker *b, int limit)
{
    for (int i = 0; i < limit; i++) {
        retry_permit pm;
        if (retry_breaker_acquire(b, &pm, NULL) != RETRY_OK)
            return i;
        retry_breaker_record(b, &pm, RETRY_OUTCOME_FAILURE);
    }
    return limit;
}

/* The clamps: min_calls and failure_count_threshold above a count window
 * act as the window's size; a time window keeps them as they are. */
static void count_window_clamps(void **state)
{
    (void)state;
    retry_breaker_options o = RETRY_BREAKER_OPTIONS_INIT;
    o.env = fake_env(&clk);
    o.slow_call_duration_ns = 0;
    o.window_size = 7;
    o.min_calls = 1000;
    o.failure_rate_threshold = 100.0;
    retry_breaker *b = NULL;
    assert_int_equal(retry_breaker_new(&b, &o), RETRY_OK);
    assert_int_equal(failures_to_trip(b, 100), 7);
    retry_breaker_free(b);

    o.min_calls = 1000;
    o.failure_rate_threshold = 100.0;
    o.failure_count_threshold = 50; /* more than a window of 7 can hold: clamped to 7 */
    assert_int_equal(retry_breaker_new(&b, &o), RETRY_OK);
    retry_permit pm;
    for (int i = 0; i < 6; i++) { /* successes keep the rate below 100 % */
        assert_int_equal(retry_breaker_acquire(b, &pm, NULL), RETRY_OK);
        retry_breaker_record(b, &pm, RETRY_OUTCOME_SUCCESS);
    }
    /* 7 failures in a window of 7: the clamped count threshold */
    assert_int_equal(failures_to_trip(b, 100), 7);
    retry_breaker_free(b);

    /* a time window: min_calls stays 1000 */
    o.window_kind = RETRY_WINDOW_TIME;
    o.window_size = 7;
    o.failure_count_threshold = 0;
    assert_int_equal(retry_breaker_new(&b, &o), RETRY_OK);
    assert_int_equal(failures_to_trip(b, 999), 999);
    assert_int_equal(failures_to_trip(b, 10), 1);
    retry_breaker_free(b);
}

/* "m failures out of the last n calls" without a percentage. */
static void m_of_n_threshold(void **state)
{
    (void)state;
    retry_breaker_options o = RETRY_BREAKER_OPTIONS_INIT;
    o.env = fake_env(&clk);
    o.slow_call_duration_ns = 0;
    o.window_size = 3;
    o.failure_rate_threshold = 100.0; /* the rate alone would need 3 of 3 */
    o.failure_count_threshold = 2;
    const struct {
        const char *seq;
        retry_breaker_state after;
    } cases[] = {
        { "F", RETRY_BREAKER_CLOSED },     { "FF", RETRY_BREAKER_OPEN },
        { "FSF", RETRY_BREAKER_OPEN },     { "FSSF", RETRY_BREAKER_CLOSED },
        { "SFSSF", RETRY_BREAKER_CLOSED }, { "SSFSF", RETRY_BREAKER_OPEN },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        retry_breaker *b = NULL;
        assert_int_equal(retry_breaker_new(&b, &o), RETRY_OK);
        for (const char *s = cases[i].seq; *s; s++) {
            retry_permit pm;
            assert_int_equal(retry_breaker_acquire(b, &pm, NULL), RETRY_OK);
            retry_breaker_record(b, &pm, *s == 'F' ? RETRY_OUTCOME_FAILURE : RETRY_OUTCOME_SUCCESS);
        }
        if (retry_breaker_state_now(b) != cases[i].after)
            fail_msg("%s: %s", cases[i].seq, retry_breaker_state_name(retry_breaker_state_now(b)));
        retry_breaker_free(b);
    }

    /* a version 1 caller's options end before failure_count_threshold: it
     * is off for them, whatever lies beyond their struct */
    retry_breaker_options v1 = o;
    v1.version = 1;
    v1.failure_count_threshold = 1; /* beyond a version 1 struct: not read */
    retry_breaker *b = NULL;
    assert_int_equal(retry_breaker_new(&b, &v1), RETRY_OK);
    retry_permit pm;
    for (int i = 0; i < 2; i++) {
        assert_int_equal(retry_breaker_acquire(b, &pm, NULL), RETRY_OK);
        retry_breaker_record(b, &pm, RETRY_OUTCOME_FAILURE);
    }
    assert_int_equal(retry_breaker_state_now(b), RETRY_BREAKER_CLOSED);
    retry_breaker_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(breaker_constraints, setup),
        cmocka_unit_test_setup(limiter_constraints, setup),
        cmocka_unit_test_setup(budget_constraints, setup),
        cmocka_unit_test_setup(policy_constraints, setup),
        cmocka_unit_test_setup(count_window_clamps, setup),
        cmocka_unit_test_setup(m_of_n_threshold, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
