/* The example programs' small toolkit (examples/common): the growable
 * string and the sleep that a stop request or a wake-up descriptor ends. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "strbuf.h"
#include "timing.h"

static void strbuf_grows_across_many_appends(void **state)
{
    (void)state;
    strbuf b = STRBUF_INIT;
    for (int i = 0; i < 10000; i++)
        strbuf_printf(&b, "%d,", i % 10);
    assert_int_equal(b.len, 20000);
    assert_false(b.failed);
    char *s = strbuf_take(&b);
    assert_non_null(s);
    assert_int_equal(strlen(s), 20000);
    assert_memory_equal(s, "0,1,2,3,4,5,6,7,8,9,0,", 22);
    assert_null(b.p);
    free(s);
}

static void strbuf_printf_longer_than_any_fixed_buffer(void **state)
{
    (void)state;
    char big[5000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    strbuf b = STRBUF_INIT;
    strbuf_puts(&b, "<");
    strbuf_printf(&b, "%s>", big);
    assert_int_equal(b.len, 5001);
    assert_int_equal(b.p[5000], '>');
    assert_int_equal(b.p[5001], '\0');
    strbuf_free(&b);
    strbuf_free(NULL);
}

static void strbuf_take_of_nothing_is_an_empty_string(void **state)
{
    (void)state;
    strbuf b = STRBUF_INIT;
    char *s = strbuf_take(&b);
    assert_non_null(s);
    assert_string_equal(s, "");
    free(s);
}

static void strbuf_failure_is_reported_once_at_the_end(void **state)
{
    (void)state;
    strbuf b = STRBUF_INIT;
    strbuf_puts(&b, "partial");
    b.failed = true; /* as after a failed realloc */
    strbuf_puts(&b, " more");
    assert_int_equal(b.len, 7);
    assert_null(strbuf_take(&b));
}

static void sleep_ends_at_once_when_already_stopped(void **state)
{
    (void)state;
    atomic_int stop = 1;
    int64_t t0 = mono_ns();
    sleep_unless_stopped(60 * 1000000000LL, &stop, -1);
    assert_true(mono_ns() - t0 < 30 * 1000000000LL);
}

static void sleep_ends_when_the_wake_descriptor_is_readable(void **state)
{
    (void)state;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    assert_int_equal(write(fds[1], "x", 1), 1);
    int64_t t0 = mono_ns();
    sleep_unless_stopped(60 * 1000000000LL, NULL, fds[0]);
    assert_true(mono_ns() - t0 < 30 * 1000000000LL);
    close(fds[0]);
    close(fds[1]);
}

static void sleep_of_nothing_returns(void **state)
{
    (void)state;
    int64_t t0 = mono_ns();
    sleep_unless_stopped(0, NULL, -1);
    sleep_unless_stopped(-5, NULL, -1);
    assert_true(mono_ns() - t0 < 30 * 1000000000LL);
    assert_true(wall_ms() > 1600000000000LL);
    assert_true(mono_ms() <= mono_ns() / 1000000 + 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(strbuf_grows_across_many_appends),
        cmocka_unit_test(strbuf_printf_longer_than_any_fixed_buffer),
        cmocka_unit_test(strbuf_take_of_nothing_is_an_empty_string),
        cmocka_unit_test(strbuf_failure_is_reported_once_at_the_end),
        cmocka_unit_test(sleep_ends_at_once_when_already_stopped),
        cmocka_unit_test(sleep_ends_when_the_wake_descriptor_is_readable),
        cmocka_unit_test(sleep_of_nothing_returns),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
