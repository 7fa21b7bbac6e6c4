/* Backoff schedules, jitter and Retry-After parsing: pure functions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <string.h>

#include <cmocka.h>

#include "fake.h"

static retry_backoff plain(retry_backoff_kind kind)
{
    retry_backoff b = RETRY_BACKOFF_INIT;
    b.kind = kind;
    b.jitter = RETRY_JITTER_NONE;
    return b;
}

static void defaults_are_valid(void **state)
{
    (void)state;
    retry_backoff b = RETRY_BACKOFF_INIT;
    assert_int_equal(retry_backoff_check(&b), RETRY_OK);
    assert_int_equal(b.kind, RETRY_BACKOFF_EXPONENTIAL);
    assert_int_equal(b.jitter, RETRY_JITTER_FULL);
    assert_int_equal(b.base_ns, MS(100));
    assert_int_equal(b.cap_ns, SEC(30));
}

static void exponential_doubles_then_caps(void **state)
{
    (void)state;
    retry_backoff b = plain(RETRY_BACKOFF_EXPONENTIAL);
    assert_int_equal(retry_backoff_base_delay(&b, 0), MS(100));
    assert_int_equal(retry_backoff_base_delay(&b, 1), MS(100));
    assert_int_equal(retry_backoff_base_delay(&b, 2), MS(200));
    assert_int_equal(retry_backoff_base_delay(&b, 3), MS(400));
    assert_int_equal(retry_backoff_base_delay(&b, 5), MS(1600));
    assert_int_equal(retry_backoff_base_delay(&b, 9), MS(25600));
    assert_int_equal(retry_backoff_base_delay(&b, 10), SEC(30));
    assert_int_equal(retry_backoff_delay(&b, 4, 0, 0.7), MS(800));
}

static void no_overflow_at_any_attempt(void **state)
{
    (void)state;
    retry_backoff b = plain(RETRY_BACKOFF_EXPONENTIAL);
    b.base_ns = SEC(86400);
    b.cap_ns = SEC(7 * 86400);
    assert_int_equal(retry_backoff_base_delay(&b, 10000), SEC(7 * 86400));
    assert_int_equal(retry_backoff_base_delay(&b, UINT32_MAX), SEC(7 * 86400));
    b.cap_ns = INT64_MAX;
    assert_int_equal(retry_backoff_base_delay(&b, 10000), INT64_MAX);
    b.jitter = RETRY_JITTER_EQUAL;
    int64_t d = retry_backoff_delay(&b, 10000, 0, 0.999999);
    assert_true(d > 0 && d <= INT64_MAX);
    b.multiplier = 1e300;
    assert_int_equal(retry_backoff_base_delay(&b, 3), INT64_MAX);
    b = plain(RETRY_BACKOFF_LINEAR);
    b.base_ns = SEC(86400);
    b.cap_ns = INT64_MAX;
    assert_int_equal(retry_backoff_base_delay(&b, UINT32_MAX), INT64_MAX);
    assert_int_equal(retry_backoff_base_delay(&b, 3), SEC(3 * 86400));
    b.increment_ns = INT64_MAX / 2;
    assert_int_equal(retry_backoff_base_delay(&b, 5), INT64_MAX);
}

static void linear_and_fixed(void **state)
{
    (void)state;
    retry_backoff b = plain(RETRY_BACKOFF_LINEAR);
    b.increment_ns = MS(50);
    b.cap_ns = MS(260);
    assert_int_equal(retry_backoff_base_delay(&b, 1), MS(100));
    assert_int_equal(retry_backoff_base_delay(&b, 2), MS(150));
    assert_int_equal(retry_backoff_base_delay(&b, 4), MS(250));
    assert_int_equal(retry_backoff_base_delay(&b, 5), MS(260));
    b.increment_ns = 0; /* base is the step */
    b.cap_ns = SEC(30);
    assert_int_equal(retry_backoff_base_delay(&b, 3), MS(300));
    b = plain(RETRY_BACKOFF_FIXED);
    assert_int_equal(retry_backoff_base_delay(&b, 1), MS(100));
    assert_int_equal(retry_backoff_base_delay(&b, 1000), MS(100));
    b.cap_ns = MS(40); /* a cap below base wins */
    assert_int_equal(retry_backoff_base_delay(&b, 1), MS(40));
}

static void jitter_formulas(void **state)
{
    (void)state;
    retry_backoff b = plain(RETRY_BACKOFF_EXPONENTIAL); /* attempt 3: 400 ms */
    b.jitter = RETRY_JITTER_FULL;
    assert_int_equal(retry_backoff_delay(&b, 3, 0, 0.0), 0);
    assert_int_equal(retry_backoff_delay(&b, 3, 0, 0.5), MS(200));
    assert_int_equal(retry_backoff_delay(&b, 3, 0, 0.25), MS(100));
    b.jitter = RETRY_JITTER_EQUAL;
    assert_int_equal(retry_backoff_delay(&b, 3, 0, 0.0), MS(200));
    assert_int_equal(retry_backoff_delay(&b, 3, 0, 0.5), MS(300));
    b.jitter = RETRY_JITTER_PROPORTIONAL; /* +/- 20 % */
    assert_int_equal(retry_backoff_delay(&b, 3, 0, 0.0), MS(320));
    assert_int_equal(retry_backoff_delay(&b, 3, 0, 0.5), MS(400));
    assert_int_equal(retry_backoff_delay(&b, 3, 0, 0.75), MS(440));
    b.jitter = RETRY_JITTER_DECORRELATED; /* min(cap, U(base, 3 * prev)) */
    assert_int_equal(retry_backoff_delay(&b, 1, 0, 0.0), MS(100));
    assert_int_equal(retry_backoff_delay(&b, 1, 0, 0.5), MS(200));
    assert_int_equal(retry_backoff_delay(&b, 7, SEC(1), 0.5), MS(1550));
    assert_int_equal(retry_backoff_delay(&b, 7, SEC(20), 0.5), SEC(30));
    assert_int_equal(retry_backoff_delay(&b, 7, INT64_MAX, 0.9), SEC(30));
}

static void random_values_are_clamped(void **state)
{
    (void)state;
    retry_backoff b = plain(RETRY_BACKOFF_EXPONENTIAL);
    b.jitter = RETRY_JITTER_FULL;
    assert_int_equal(retry_backoff_delay(&b, 3, 0, -1.0), 0);
    int64_t hi = retry_backoff_delay(&b, 3, 0, 5.0);
    assert_true(hi >= MS(399) && hi < MS(400));
    assert_int_equal(retry_backoff_delay(&b, 3, 0, NAN), 0);
}

static void invalid_schedules(void **state)
{
    (void)state;
    retry_backoff b = plain(RETRY_BACKOFF_EXPONENTIAL);
    b.base_ns = 0;
    assert_int_equal(retry_backoff_check(&b), RETRY_EINVAL);
    assert_int_equal(retry_backoff_delay(&b, 1, 0, 0.5), 0);
    b = plain(RETRY_BACKOFF_EXPONENTIAL);
    b.multiplier = 0.5;
    assert_int_equal(retry_backoff_check(&b), RETRY_EINVAL);
    b = plain(RETRY_BACKOFF_EXPONENTIAL);
    b.cap_ns = -1;
    assert_int_equal(retry_backoff_check(&b), RETRY_EINVAL);
    b = plain(RETRY_BACKOFF_EXPONENTIAL);
    b.jitter_factor = 1.5;
    assert_int_equal(retry_backoff_check(&b), RETRY_EINVAL);
    b = plain((retry_backoff_kind)9);
    assert_int_equal(retry_backoff_check(&b), RETRY_EINVAL);
    b = plain(RETRY_BACKOFF_EXPONENTIAL);
    b.version = 99;
    assert_int_equal(retry_backoff_check(&b), RETRY_EINVAL);
}

/* 1994-11-06 08:49:37 UTC */
#define T1994 INT64_C(784111777)

static int64_t ra(const char *s, int64_t now, int expect_rc)
{
    int64_t d = -1;
    assert_int_equal(retry_parse_retry_after(&d, s, strlen(s), now), expect_rc);
    return d;
}

static void retry_after_delay_seconds(void **state)
{
    (void)state;
    assert_int_equal(ra("120", 0, RETRY_OK), SEC(120));
    assert_int_equal(ra("0", 0, RETRY_OK), 0);
    assert_int_equal(ra(" \t5 ", 0, RETRY_OK), SEC(5));
    assert_int_equal(ra("99999999999999999999999", 0, RETRY_OK),
                     INT64_MAX / RETRY_NS_PER_S * RETRY_NS_PER_S);
    /* not NUL-terminated: only len bytes count */
    int64_t d;
    assert_int_equal(retry_parse_retry_after(&d, "1234", 2, 0), RETRY_OK);
    assert_int_equal(d, SEC(12));
}

static void retry_after_http_dates(void **state)
{
    (void)state;
    assert_int_equal(ra("Sun, 06 Nov 1994 08:49:37 GMT", T1994 - 10, RETRY_OK), SEC(10));
    assert_int_equal(ra("Sunday, 06-Nov-94 08:49:37 GMT", T1994 - 10, RETRY_OK), SEC(10));
    assert_int_equal(ra("Sun Nov  6 08:49:37 1994", T1994 - 10, RETRY_OK), SEC(10));
    assert_int_equal(ra("Sun Nov 16 08:49:37 1994", T1994, RETRY_OK), SEC(10 * 86400));
    /* past dates give 0 */
    assert_int_equal(ra("Sun, 06 Nov 1994 08:49:37 GMT", T1994, RETRY_OK), 0);
    assert_int_equal(ra("Sun, 06 Nov 1994 08:49:37 GMT", T1994 + 3600, RETRY_OK), 0);
    /* leap day; 2024-02-29 00:00:00 UTC = 1709164800 */
    assert_int_equal(ra("Thu, 29 Feb 2024 00:00:01 GMT", INT64_C(1709164800), RETRY_OK), SEC(1));
    /* RFC 850 two-digit years: "30" seen from 2026 is 2030, "94" is 1994 */
    assert_int_equal(ra("Monday, 01-Jan-30 00:00:00 GMT", INT64_C(1893455990), RETRY_OK),
                     SEC(10)); /* 2030-01-01 = 1893456000 */
}

static void retry_after_garbage_gives_zero(void **state)
{
    (void)state;
    const char *bad[] = {
        "",
        "   ",
        "abc",
        "12a",
        "-5",
        "+5",
        "1.5",
        "Sun, 06 Nov 1994 08:49:37 UTC",
        "Sun, 31 Feb 1994 08:49:37 GMT",
        "Fri, 29 Feb 2023 08:49:37 GMT",
        "Sun, 06 Nov 1994 24:00:00 GMT",
        "Sun, 06 Foo 1994 08:49:37 GMT",
        "Sun, 6 Nov 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 08:49:37 GMT trailing",
        "Sunday, 06-Nov-1994 08:49:37 GMT",
        "Sun Nov  6 08:49:37 94",
        "Xyz, 06 Nov 1994 08:49:37 GMT",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(ra(bad[i], T1994 - 100, RETRY_EINVAL), 0);
    int64_t d = 7;
    assert_int_equal(retry_parse_retry_after(&d, NULL, 0, 0), RETRY_EINVAL);
    assert_int_equal(d, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults_are_valid),
        cmocka_unit_test(exponential_doubles_then_caps),
        cmocka_unit_test(no_overflow_at_any_attempt),
        cmocka_unit_test(linear_and_fixed),
        cmocka_unit_test(jitter_formulas),
        cmocka_unit_test(random_values_are_clamped),
        cmocka_unit_test(invalid_schedules),
        cmocka_unit_test(retry_after_delay_seconds),
        cmocka_unit_test(retry_after_http_dates),
        cmocka_unit_test(retry_after_garbage_gives_zero),
    };
    return cmocka_run_group_tests_name("retry_backoff", tests, NULL, NULL);
}
