/*
 * The closing lines of `ingestor backfill` (examples/ingestor/summary.c):
 * plurals that agree with their counts, and the time waited by the workers
 * told apart from the time the run took.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "summary.h"

static void counts_agree_with_their_nouns(void **state)
{
    (void)state;
    char s[64];
    summary_count(s, sizeof s, 1, "transport error");
    assert_string_equal(s, "1 transport error");
    summary_count(s, sizeof s, 0, "transport error");
    assert_string_equal(s, "0 transport errors");
    summary_count(s, sizeof s, 2, "request");
    assert_string_equal(s, "2 requests");
}

static void ones_are_singular(void **state)
{
    (void)state;
    summary_totals t = { .requests = 1,
                         .retries = 1,
                         .rate_limited = 1,
                         .transport_errors = 1,
                         .reconnects = 1,
                         .bars_refused = 1,
                         .waited_s = 0.5,
                         .elapsed_s = 2.0,
                         .workers = 1 };
    char out[512];
    summary_format(out, sizeof out, &t);
    assert_string_equal(out,
                        "1 request (1 retry, 1 rate-limited with HTTP 429, 1 transport error, "
                        "1 reconnect), 1 bar refused\n"
                        "took 2.0 s; the worker waited 0.5 s for backoff and the rate limit\n");
}

static void waiting_summed_over_workers_is_said_so(void **state)
{
    (void)state;
    summary_totals t = { .requests = 41,
                         .retries = 5,
                         .transport_errors = 3,
                         .waited_s = 22.9,
                         .elapsed_s = 12.3,
                         .workers = 4 };
    char out[512];
    summary_format(out, sizeof out, &t);
    assert_string_equal(out, "41 requests (5 retries, 0 rate-limited with HTTP 429, 3 transport "
                             "errors, 0 reconnects), 0 bars refused\n"
                             "took 12.3 s; the 4 workers waited 22.9 s between them for backoff "
                             "and the rate limit (5.7 s each on average)\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(counts_agree_with_their_nouns),
        cmocka_unit_test(ones_are_singular),
        cmocka_unit_test(waiting_summed_over_workers_is_said_so),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
