/* Small helpers shared by the libdqcheck tests (header-only). */
#ifndef DQCHECK_TEST_HELPERS_H
#define DQCHECK_TEST_HELPERS_H

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <dqcheck/dqcheck.h>

#include "civil.h"

/* Midnight New York (winter offset; the session date is the UTC date). */
static inline int64_t date_ts(int y, unsigned m, unsigned d)
{
    return days_from_civil(y, m, d) * DAY_MS + 5 * HOUR_MS;
}

/* The k-th NYSE session (0-based) from 2024-01-02, at 05:00Z. */
static inline int64_t session_ts(int k)
{
    int64_t day = days_from_civil(2024, 1, 2);
    for (;;) {
        if (dq_calendar_is_session(DQ_CAL_NYSE, day) == 1) {
            if (k == 0)
                return day * DAY_MS + 5 * HOUR_MS;
            k--;
        }
        day++;
    }
}

static inline dq_candle candle(int64_t ts, double o, double h, double l, double c, double v)
{
    dq_candle k = { ts, o, h, l, c, v, DQ_ABSENT, DQ_ABSENT };
    return k;
}

/* A clean flat-ish series on consecutive NYSE sessions. */
static inline void clean_series(dq_candle *cs, size_t n, double price)
{
    for (size_t i = 0; i < n; i++) {
        double p = price * (1.0 + 0.001 * (double)(i % 3));
        cs[i] = candle(session_ts((int)i), p, p * 1.01, p * 0.99, p * 1.005, 1000 + (double)i);
    }
}

/* Check cs with opts (NULL: defaults) into a new report the caller frees. */
static inline dq_report *check_with(const dq_options *opts, const dq_candle *cs, size_t n,
                                    unsigned char *accept)
{
    dq_checker *c = NULL;
    dq_report *r = NULL;
    assert_int_equal(dq_checker_new(&c, opts), DQ_OK);
    assert_int_equal(dq_report_new(&r, NULL), DQ_OK);
    dq_batch b = DQ_BATCH_INIT;
    b.symbol = "TEST";
    b.candles = cs;
    b.count = n;
    b.accept = accept;
    assert_int_equal(dq_check(r, c, &b), DQ_OK);
    dq_checker_free(c);
    return r;
}

static inline uint64_t failed(const dq_report *r, int code)
{
    uint64_t f = 0;
    assert_int_equal(dq_report_totals(r, code, NULL, &f), DQ_OK);
    return f;
}

static inline uint64_t evaluated(const dq_report *r, int code)
{
    uint64_t e = 0;
    assert_int_equal(dq_report_totals(r, code, &e, NULL), DQ_OK);
    return e;
}

/* The n-th (0-based) issue record with this code, or NULL. */
static inline const dq_issue *lookup_issue(const dq_report *r, int code, size_t nth)
{
    for (size_t i = 0; i < dq_report_issue_count(r); i++) {
        const dq_issue *is = dq_report_issue(r, i);
        if ((int)is->code == code && nth-- == 0)
            return is;
    }
    return NULL;
}

/* The n-th (0-based) issue record with this code; the test fails (and the
 * process stops) when there is none. */
static inline const dq_issue *find_issue(const dq_report *r, int code, size_t nth)
{
    const dq_issue *is = lookup_issue(r, code, nth);
    if (!is) {
        print_error("no issue #%zu with code %s\n", nth, dq_code_name(code));
        abort();
    }
    return is;
}

static inline uint64_t total_failed(const dq_report *r)
{
    uint64_t t = 0;
    for (int c = 0; c < DQ_CODE_COUNT; c++)
        t += failed(r, c);
    return t;
}

#endif
