/* The version and error-text API of libenvcheck. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <envcheck/envcheck.h>

static void version_matches_header(void **state)
{
    (void)state;
    assert_int_equal(envcheck_version(), ENVCHECK_VERSION_NUMBER);
    assert_int_equal(ENVCHECK_VERSION_NUMBER >> 16, ENVCHECK_VERSION_MAJOR);
    assert_int_equal((ENVCHECK_VERSION_NUMBER >> 8) & 0xff, ENVCHECK_VERSION_MINOR);
    assert_int_equal(ENVCHECK_VERSION_NUMBER & 0xff, ENVCHECK_VERSION_PATCH);
}

static void strerror_names_every_code(void **state)
{
    (void)state;
    assert_string_equal(envcheck_strerror(ENVCHECK_OK), "success");
    assert_string_equal(envcheck_strerror(ENVCHECK_EINVAL), "invalid argument");
    assert_string_equal(envcheck_strerror(ENVCHECK_ENOMEM), "out of memory");
    assert_string_equal(envcheck_strerror(ENVCHECK_ESCHEMA), "invalid schema");
    assert_string_equal(envcheck_strerror(ENVCHECK_EIO), "input/output error");
    assert_string_equal(envcheck_strerror(ENVCHECK_ENOENT), "no such variable");
    assert_string_equal(envcheck_strerror(ENVCHECK_ETYPE), "wrong type for this getter");
    assert_string_equal(envcheck_strerror(ENVCHECK_ENOVALUE), "the variable has no valid value");
}

static void strerror_of_unknown_code_is_not_null(void **state)
{
    (void)state;
    assert_string_equal(envcheck_strerror(-9999), "unknown error");
    assert_string_equal(envcheck_strerror(42), "unknown error");
}

static void free_functions_accept_null(void **state)
{
    (void)state;
    envcheck_schema_free(NULL);
    envcheck_source_free(NULL);
    envcheck_result_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(version_matches_header),
        cmocka_unit_test(strerror_names_every_code),
        cmocka_unit_test(strerror_of_unknown_code_is_not_null),
        cmocka_unit_test(free_functions_accept_null),
    };
    return cmocka_run_group_tests_name("envcheck_version", tests, NULL, NULL);
}
