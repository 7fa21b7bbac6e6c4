/* The version and error-text API of libretry. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <retry/retry.h>

static void version_matches_header(void **state)
{
    (void)state;
    assert_int_equal(retry_version(), RETRY_VERSION_NUMBER);
    assert_int_equal(RETRY_VERSION_NUMBER >> 16, RETRY_VERSION_MAJOR);
    assert_int_equal((RETRY_VERSION_NUMBER >> 8) & 0xff, RETRY_VERSION_MINOR);
    assert_int_equal(RETRY_VERSION_NUMBER & 0xff, RETRY_VERSION_PATCH);
}

static void strerror_names_every_code(void **state)
{
    (void)state;
    assert_string_equal(retry_strerror(RETRY_OK), "success");
    assert_string_equal(retry_strerror(RETRY_EINVAL), "invalid argument");
    assert_string_equal(retry_strerror(RETRY_ENOMEM), "out of memory");
    assert_string_equal(retry_strerror(RETRY_EOPEN), "circuit breaker open");
    assert_string_equal(retry_strerror(RETRY_ELIMIT), "rate limit reached");
    assert_string_equal(retry_strerror(RETRY_ETIMEOUT), "rate limit wait exceeds timeout");
    assert_string_equal(retry_strerror(RETRY_EBUDGET), "retry budget exhausted");
    assert_string_equal(retry_strerror(RETRY_EGAVEUP), "gave up retrying");
}

static void strerror_of_unknown_code_is_not_null(void **state)
{
    (void)state;
    assert_string_equal(retry_strerror(-9999), "unknown error");
    assert_string_equal(retry_strerror(42), "unknown error");
}

static void names_of_states_and_stops(void **state)
{
    (void)state;
    assert_string_equal(retry_breaker_state_name(RETRY_BREAKER_CLOSED), "CLOSED");
    assert_string_equal(retry_breaker_state_name(RETRY_BREAKER_OPEN), "OPEN");
    assert_string_equal(retry_breaker_state_name(RETRY_BREAKER_HALF_OPEN), "HALF_OPEN");
    assert_string_equal(retry_breaker_state_name(RETRY_BREAKER_FORCED_OPEN), "FORCED_OPEN");
    assert_string_equal(retry_breaker_state_name(RETRY_BREAKER_DISABLED), "DISABLED");
    assert_string_equal(retry_breaker_state_name((retry_breaker_state)77), "UNKNOWN");
    assert_string_equal(retry_stop_name(RETRY_STOP_SUCCESS), "success");
    assert_string_equal(retry_stop_name(RETRY_STOP_ATTEMPTS), "attempts exhausted");
    assert_string_equal(retry_stop_name(RETRY_STOP_BUDGET), "retry budget exhausted");
    assert_string_equal(retry_stop_name((retry_stop)77), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(version_matches_header),
        cmocka_unit_test(strerror_names_every_code),
        cmocka_unit_test(strerror_of_unknown_code_is_not_null),
        cmocka_unit_test(names_of_states_and_stops),
    };
    return cmocka_run_group_tests_name("retry_version", tests, NULL, NULL);
}
