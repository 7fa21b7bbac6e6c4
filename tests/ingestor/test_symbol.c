/* Ticker symbols (examples/common/symbol.c): the grammar and the URL path
 * segment. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "symbol.h"

static int valid(const char *s)
{
    return symbol_valid(s, strlen(s));
}

static void polygon_tickers_are_valid(void **state)
{
    (void)state;
    const char *ok[] = { "AAPL",     "A",        "BRK.A",      "BRK-B",
                         "X:BTCUSD", "C:EURUSD", "I:SPX",      "O:SPY251219C00650000",
                         "gme",      "1234",     "ABC:DEF123", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (!valid(ok[i]))
            fail_msg("%s is refused", ok[i]);
}

static void hostile_and_broken_symbols_are_refused(void **state)
{
    (void)state;
    const char *bad[] = { "",
                          "OK/../../../v9/steal?x=",
                          "OK?apiKey=zzz#",
                          "A/B",
                          "A?B",
                          "A#B",
                          "A%2F",
                          "A B",
                          " AAPL",
                          "AAPL\n",
                          "AA\rPL",
                          "AA\tPL",
                          "A\x1b[2J",
                          "A\x7f",
                          "\xc3\xa9T",
                          ":AAPL",
                          "X:",
                          "X:Y:Z",
                          "ABCD:X",
                          "x:BTCUSD",
                          "1:X",
                          ".A",
                          "-A",
                          "A.",
                          "A-",
                          "A..B",
                          "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", /* 32 */
                          "A&limit=1",
                          "A;B",
                          "A\\B" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (valid(bad[i]))
            fail_msg("\"%s\" is accepted", bad[i]);
    /* a NUL inside, and 3,000 characters */
    assert_false(symbol_valid("AA\0PL", 5));
    char big[3001];
    memset(big, 'A', 3000);
    big[3000] = '\0';
    assert_false(valid(big));
    assert_false(symbol_valid(NULL, 0));
}

static void path_segments_are_percent_encoded(void **state)
{
    (void)state;
    char out[128];
    assert_int_equal(url_path_segment(out, sizeof out, "X:BTCUSD", 8), 8);
    assert_string_equal(out, "X:BTCUSD");
    const char *in = "OK/../v9?x=#%20 \n";
    assert_true(url_path_segment(out, sizeof out, in, strlen(in)) > 0);
    assert_string_equal(out, "OK%2F..%2Fv9%3Fx%3D%23%2520%20%0A");
    assert_null(strpbrk(out, "/?#\n "));
    /* too small: -1 and "" */
    assert_int_equal(url_path_segment(out, 4, "A/B", 3), -1);
    assert_string_equal(out, "");
    assert_int_equal(url_path_segment(out, 4, "ABC", 3), 3);
    assert_int_equal(url_path_segment(out, 3, "ABC", 3), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(polygon_tickers_are_valid),
        cmocka_unit_test(hostile_and_broken_symbols_are_refused),
        cmocka_unit_test(path_segments_are_percent_encoded),
    };
    return cmocka_run_group_tests_name("ingestor_symbol", tests, NULL, NULL);
}
