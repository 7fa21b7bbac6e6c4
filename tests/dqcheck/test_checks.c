/* Every check of libdqcheck: its finding, its threshold edge, its severity
 * changes, and the report fields it fills. */
#include "helpers.h"

static void clean_series_has_no_findings(void **state)
{
    (void)state;
    dq_candle cs[20];
    clean_series(cs, 20, 50);
    unsigned char acc[20];
    dq_report *r = check_with(NULL, cs, 20, acc);
    assert_int_equal(total_failed(r), 0);
    assert_int_equal(dq_report_candles(r), 20);
    assert_int_equal(dq_report_accepted(r), 20);
    assert_int_equal(dq_report_rejected(r), 0);
    assert_true(dq_report_score(r) == 1.0);
    assert_int_equal(dq_report_passed(r), 1);
    for (int i = 0; i < 20; i++)
        assert_int_equal(acc[i], 1);
    /* evaluated: candle checks on all, pairwise checks on all but the first */
    assert_int_equal(evaluated(r, DQ_HIGH_LT_LOW), 20);
    assert_int_equal(evaluated(r, DQ_UNSORTED), 19);
    assert_int_equal(evaluated(r, DQ_GAP), 19);
    assert_int_equal(evaluated(r, DQ_OPEN_GAP), 19);
    assert_int_equal(evaluated(r, DQ_RANGE), 20);
    assert_int_equal(evaluated(r, DQ_NON_SESSION_TS), 20);
    assert_int_equal(evaluated(r, DQ_VWAP_OUTSIDE_RANGE), 0); /* vwap absent */
    assert_string_equal(dq_report_symbol(r), "TEST");
    dq_report_free(r);
}

static void mixed_symbol_per_candle_and_per_batch(void **state)
{
    (void)state;
    dq_candle cs[4];
    clean_series(cs, 4, 10);
    const char *syms[4] = { "AAPL", NULL, "MSFT", "AAPL" };
    dq_checker *c;
    dq_report *r;
    assert_int_equal(dq_checker_new(&c, NULL), DQ_OK);
    assert_int_equal(dq_report_new(&r, NULL), DQ_OK);
    dq_batch b = DQ_BATCH_INIT;
    b.symbol = "AAPL";
    b.candles = cs;
    b.count = 4;
    b.symbols = syms;
    unsigned char acc[4];
    b.accept = acc;
    assert_int_equal(dq_check(r, c, &b), DQ_OK);
    assert_int_equal(failed(r, DQ_MIXED_SYMBOL), 1);
    const dq_issue *is = find_issue(r, DQ_MIXED_SYMBOL, 0);
    assert_non_null(is);
    assert_int_equal(is->index, 2);
    assert_int_equal(is->severity, DQ_SEVERITY_ERROR);
    assert_string_equal(is->message, "symbol MSFT in a stream of AAPL");
    assert_int_equal(acc[2], 0);
    assert_int_equal(acc[3], 1);
    /* a later batch of another symbol: each of its candles fails */
    dq_candle more[2] = { candle(session_ts(4), 10, 10.1, 9.9, 10, 5),
                          candle(session_ts(5), 10, 10.1, 9.9, 10, 5) };
    dq_batch b2 = DQ_BATCH_INIT;
    b2.symbol = "IBM";
    b2.candles = more;
    b2.count = 2;
    assert_int_equal(dq_check(r, c, &b2), DQ_OK);
    assert_int_equal(failed(r, DQ_MIXED_SYMBOL), 3);
    assert_int_equal(dq_report_rejected(r), 3);
    assert_string_equal(dq_report_symbol(r), "AAPL");
    dq_checker_free(c);
    dq_report_free(r);
}

static void unsorted_and_duplicate(void **state)
{
    (void)state;
    dq_candle cs[5];
    clean_series(cs, 5, 10);
    int64_t t[5] = { session_ts(0), session_ts(1), session_ts(0), session_ts(1), session_ts(2) };
    for (int i = 0; i < 5; i++)
        cs[i].ts = t[i];
    unsigned char acc[5];
    dq_report *r = check_with(NULL, cs, 5, acc);
    assert_int_equal(failed(r, DQ_UNSORTED), 1);
    assert_int_equal(failed(r, DQ_DUPLICATE_TS), 1);
    assert_int_equal(failed(r, DQ_GAP), 0);
    assert_int_equal(find_issue(r, DQ_UNSORTED, 0)->index, 2);
    assert_string_equal(find_issue(r, DQ_UNSORTED, 0)->message,
                        "ts 2024-01-02 is before the latest ts 2024-01-03");
    assert_int_equal(find_issue(r, DQ_DUPLICATE_TS, 0)->index, 3);
    assert_memory_equal(acc, ((unsigned char[]){ 1, 1, 0, 0, 1 }), 5);
    assert_int_equal(dq_report_rejected(r), 2);
    dq_report_free(r);
}

static void nonfinite_anywhere(void **state)
{
    (void)state;
    dq_candle cs[6];
    clean_series(cs, 6, 10);
    cs[1].close = NAN;
    cs[2].volume = INFINITY;
    cs[3].vwap = -INFINITY;
    cs[4].vwap = DQ_ABSENT; /* absent, not a failure */
    cs[5].trades = INFINITY;
    dq_report *r = check_with(NULL, cs, 6, NULL);
    assert_int_equal(failed(r, DQ_NONFINITE), 4);
    const dq_issue *is = find_issue(r, DQ_NONFINITE, 0);
    assert_int_equal(is->index, 1);
    assert_string_equal(is->fields[0], "close");
    assert_true(isnan(is->values[0]));
    assert_string_equal(is->message, "close is nan");
    assert_int_equal(find_issue(r, DQ_NONFINITE, 2)->index, 3);
    assert_string_equal(find_issue(r, DQ_NONFINITE, 2)->fields[0], "vwap");
    assert_int_equal(dq_report_rejected(r), 4);
    dq_report_free(r);
}

static void nonpositive_and_negative_volume(void **state)
{
    (void)state;
    dq_candle cs[5];
    clean_series(cs, 5, 10);
    cs[1].low = 0; /* exactly at the threshold: <= 0 fails */
    cs[2].open = -1;
    cs[3].volume = -5;
    cs[4].trades = -1;
    dq_report *r = check_with(NULL, cs, 5, NULL);
    assert_int_equal(failed(r, DQ_NONPOSITIVE_PRICE), 2);
    assert_string_equal(find_issue(r, DQ_NONPOSITIVE_PRICE, 0)->message, "low 0 <= 0");
    assert_true(find_issue(r, DQ_NONPOSITIVE_PRICE, 0)->threshold == 0);
    assert_int_equal(failed(r, DQ_NEGATIVE_VOLUME), 2);
    assert_string_equal(find_issue(r, DQ_NEGATIVE_VOLUME, 0)->message, "volume -5 < 0");
    assert_string_equal(find_issue(r, DQ_NEGATIVE_VOLUME, 1)->fields[0], "trades");
    dq_report_free(r);
}

static void high_low_consistency(void **state)
{
    (void)state;
    dq_candle cs[6];
    clean_series(cs, 6, 10);
    cs[1] = candle(cs[1].ts, 10.2, 10, 10.5, 10.3, 100); /* high < low (and others) */
    cs[2] = candle(cs[2].ts, 10, 10.4, 9.9, 10.4, 100);  /* high == close: edge passes */
    cs[3] = candle(cs[3].ts, 10, 10.4, 9.9, 10.5, 100);  /* high < close */
    cs[4] = candle(cs[4].ts, 10, 10.4, 10, 10.2, 100);   /* low == open: edge passes */
    cs[5] = candle(cs[5].ts, 10, 10.4, 10.1, 10.2, 100); /* low > open */
    dq_report *r = check_with(NULL, cs, 6, NULL);
    assert_int_equal(failed(r, DQ_HIGH_LT_LOW), 1);
    const dq_issue *is = find_issue(r, DQ_HIGH_LT_LOW, 0);
    assert_int_equal(is->index, 1);
    assert_int_equal(is->nfields, 2);
    assert_string_equal(is->fields[0], "high");
    assert_string_equal(is->fields[1], "low");
    assert_true(is->values[0] == 10 && is->values[1] == 10.5);
    assert_true(isnan(is->threshold));
    assert_string_equal(is->message, "high 10 < low 10.5");
    assert_string_equal(is->suggestion,
                        "the vendor swapped or corrupted high/low; re-fetch the bar");
    assert_int_equal(failed(r, DQ_HIGH_LT_OPEN_CLOSE), 2);
    assert_int_equal(find_issue(r, DQ_HIGH_LT_OPEN_CLOSE, 1)->index, 3);
    assert_int_equal(failed(r, DQ_LOW_GT_OPEN_CLOSE), 2);
    assert_int_equal(find_issue(r, DQ_LOW_GT_OPEN_CLOSE, 1)->index, 5);
    dq_report_free(r);
}

static void vwap_outside_range_with_tolerance(void **state)
{
    (void)state;
    dq_candle cs[4];
    clean_series(cs, 4, 10);
    cs[0] = candle(cs[0].ts, 10, 11, 9, 10, 100);
    cs[1] = candle(cs[1].ts, 10, 11, 9, 10, 100);
    cs[2] = candle(cs[2].ts, 10, 11, 9, 10, 100);
    cs[3] = candle(cs[3].ts, 10, 11, 9, 10, 100);
    cs[0].vwap = 11;     /* at high: passes */
    cs[1].vwap = 11.005; /* within the default 0.1% slack */
    cs[2].vwap = 11.02;  /* outside */
    cs[3].vwap = 8.9;    /* below */
    dq_report *r = check_with(NULL, cs, 4, NULL);
    assert_int_equal(evaluated(r, DQ_VWAP_OUTSIDE_RANGE), 4);
    assert_int_equal(failed(r, DQ_VWAP_OUTSIDE_RANGE), 2);
    assert_int_equal(find_issue(r, DQ_VWAP_OUTSIDE_RANGE, 0)->severity, DQ_SEVERITY_WARNING);
    assert_string_equal(find_issue(r, DQ_VWAP_OUTSIDE_RANGE, 0)->message,
                        "vwap 11.02 outside [low 9, high 11]");
    assert_int_equal(dq_report_rejected(r), 0);
    dq_report_free(r);
    dq_options o = DQ_OPTIONS_INIT;
    o.vwap_tolerance = 0;
    r = check_with(&o, cs, 4, NULL);
    assert_int_equal(failed(r, DQ_VWAP_OUTSIDE_RANGE), 3);
    dq_report_free(r);
}

static void zero_volume_warning_or_info(void **state)
{
    (void)state;
    dq_candle cs[3];
    clean_series(cs, 3, 10);
    cs[1].volume = 0;                            /* moved: warning */
    cs[2] = candle(cs[2].ts, 10, 10, 10, 10, 0); /* flat: info */
    dq_report *r = check_with(NULL, cs, 3, NULL);
    assert_int_equal(failed(r, DQ_ZERO_VOLUME), 2);
    assert_int_equal(find_issue(r, DQ_ZERO_VOLUME, 0)->severity, DQ_SEVERITY_WARNING);
    assert_int_equal(find_issue(r, DQ_ZERO_VOLUME, 1)->severity, DQ_SEVERITY_INFO);
    assert_string_equal(find_issue(r, DQ_ZERO_VOLUME, 1)->message, "volume 0 on a flat bar at 10");
    assert_int_equal(dq_report_count(r, DQ_SEVERITY_INFO), 1);
    assert_int_equal(dq_report_count(r, DQ_SEVERITY_WARNING), 1);
    assert_int_equal(dq_report_rejected(r), 0);
    dq_report_free(r);
    /* flat severity off, moving raised to error */
    dq_options o = DQ_OPTIONS_INIT;
    o.zero_volume_flat_severity = DQ_SEVERITY_OFF;
    o.severity[DQ_ZERO_VOLUME] = DQ_SEVERITY_ERROR;
    r = check_with(&o, cs, 3, NULL);
    assert_int_equal(failed(r, DQ_ZERO_VOLUME), 1);
    assert_int_equal(dq_report_rejected(r), 1);
    assert_int_equal(dq_report_count(r, DQ_SEVERITY_INFO), 0);
    dq_report_free(r);
}

static void gap_counts_missing_sessions(void **state)
{
    (void)state;
    dq_candle cs[3];
    clean_series(cs, 3, 10);
    cs[1].ts = session_ts(1);
    cs[2].ts = session_ts(5); /* sessions 2, 3, 4 missing */
    dq_report *r = check_with(NULL, cs, 3, NULL);
    assert_int_equal(failed(r, DQ_GAP), 1);
    const dq_issue *is = find_issue(r, DQ_GAP, 0);
    assert_int_equal(is->index, 2);
    assert_string_equal(is->fields[0], "missing");
    assert_true(is->values[0] == 3);
    assert_string_equal(is->message,
                        "3 expected sessions missing between 2024-01-03 and 2024-01-09");
    assert_int_equal(is->severity, DQ_SEVERITY_WARNING);
    dq_report_free(r);
    /* across the MLK holiday (Mon 2024-01-15) and a weekend: no gap */
    dq_candle h[2] = { candle(date_ts(2024, 1, 12), 10, 10.1, 9.9, 10, 1),
                       candle(date_ts(2024, 1, 16), 10, 10.1, 9.9, 10, 1) };
    r = check_with(NULL, h, 2, NULL);
    assert_int_equal(failed(r, DQ_GAP), 0);
    dq_report_free(r);
    /* the weekdays calendar expects the holiday: one missing */
    dq_options o = DQ_OPTIONS_INIT;
    o.calendar = DQ_CAL_WEEKDAYS;
    r = check_with(&o, h, 2, NULL);
    assert_int_equal(failed(r, DQ_GAP), 1);
    assert_true(find_issue(r, DQ_GAP, 0)->values[0] == 1);
    dq_report_free(r);
    /* 24x7 expects the weekend as well: 3 missing */
    o.calendar = DQ_CAL_24X7;
    r = check_with(&o, h, 2, NULL);
    assert_true(find_issue(r, DQ_GAP, 0)->values[0] == 3);
    dq_report_free(r);
}

static void non_session_daily_bars(void **state)
{
    (void)state;
    dq_candle cs[4] = {
        candle(date_ts(2023, 12, 29), 10, 10.1, 9.9, 10, 1),
        candle(date_ts(2024, 1, 1), 10, 10.1, 9.9, 10, 1), /* New Year's Day */
        candle(date_ts(2024, 1, 6), 10, 10.1, 9.9, 10, 1), /* Saturday */
        candle(date_ts(2024, 1, 8), 10, 10.1, 9.9, 10, 1),
    };
    dq_report *r = check_with(NULL, cs, 4, NULL);
    assert_int_equal(failed(r, DQ_NON_SESSION_TS), 2);
    assert_string_equal(find_issue(r, DQ_NON_SESSION_TS, 0)->message,
                        "2024-01-01 is not a NYSE session (weekend or holiday)");
    /* 2024-01-02..05 missing between 12-29 and 01-08; the holiday and the
     * Saturday bars do not count as sessions */
    assert_int_equal(failed(r, DQ_GAP), 1);
    assert_true(find_issue(r, DQ_GAP, 0)->values[0] == 4);
    dq_report_free(r);
    dq_options o = DQ_OPTIONS_INIT;
    o.calendar = DQ_CAL_WEEKDAYS;
    r = check_with(&o, cs, 4, NULL);
    assert_int_equal(failed(r, DQ_NON_SESSION_TS), 1); /* only the Saturday */
    dq_report_free(r);
}

static void open_gap_threshold_edge(void **state)
{
    (void)state;
    /* previous close 4, opens at 5: |5/4 - 1| = 0.25 exactly */
    dq_candle cs[2] = { candle(session_ts(0), 4, 4, 4, 4, 1),
                        candle(session_ts(1), 5, 5, 5, 5, 1) };
    dq_options o = DQ_OPTIONS_INIT;
    o.open_gap = 0.25;
    dq_report *r = check_with(&o, cs, 2, NULL);
    assert_int_equal(failed(r, DQ_OPEN_GAP), 0); /* at the threshold: passes */
    dq_report_free(r);
    o.open_gap = 0.2499;
    r = check_with(&o, cs, 2, NULL);
    assert_int_equal(failed(r, DQ_OPEN_GAP), 1);
    const dq_issue *is = find_issue(r, DQ_OPEN_GAP, 0);
    assert_true(is->threshold == 0.2499);
    assert_string_equal(is->message, "open 5 is 25.0% above the previous close 4");
    assert_string_equal(is->fields[1], "previous_close");
    dq_report_free(r);
    /* default 0.2, downward */
    cs[1] = candle(session_ts(1), 3, 3, 3, 3, 1);
    r = check_with(NULL, cs, 2, NULL);
    assert_int_equal(failed(r, DQ_OPEN_GAP), 1);
    assert_int_equal(dq_report_rejected(r), 0);
    dq_report_free(r);
}

static void range_threshold_edge(void **state)
{
    (void)state;
    dq_candle cs[2] = { candle(session_ts(0), 4, 5, 4, 4.5, 1),        /* (5-4)/4 = 0.25 */
                        candle(session_ts(1), 4.5, 5.01, 4, 4.5, 1) }; /* 0.2525 */
    dq_options o = DQ_OPTIONS_INIT;
    o.range = 0.25;
    dq_report *r = check_with(&o, cs, 2, NULL);
    assert_int_equal(failed(r, DQ_RANGE), 1);
    assert_int_equal(find_issue(r, DQ_RANGE, 0)->index, 1);
    assert_true(find_issue(r, DQ_RANGE, 0)->threshold == 0.25);
    dq_report_free(r);
    r = check_with(NULL, cs, 2, NULL); /* default 0.3: neither */
    assert_int_equal(failed(r, DQ_RANGE), 0);
    dq_report_free(r);
}

static void severity_changes(void **state)
{
    (void)state;
    dq_candle cs[3];
    clean_series(cs, 3, 10);
    cs[1] = candle(cs[1].ts, 10.2, 10, 10.5, 10.3, 100); /* high < low ... */
    dq_options o = DQ_OPTIONS_INIT;
    o.severity[DQ_HIGH_LT_LOW] = DQ_SEVERITY_WARNING;
    o.severity[DQ_HIGH_LT_OPEN_CLOSE] = DQ_SEVERITY_INFO;
    o.severity[DQ_LOW_GT_OPEN_CLOSE] = DQ_SEVERITY_OFF;
    unsigned char acc[3];
    dq_report *r = check_with(&o, cs, 3, acc);
    assert_int_equal(dq_report_rejected(r), 0);
    assert_int_equal(acc[1], 1);
    assert_int_equal(find_issue(r, DQ_HIGH_LT_LOW, 0)->severity, DQ_SEVERITY_WARNING);
    assert_int_equal(find_issue(r, DQ_HIGH_LT_OPEN_CLOSE, 0)->severity, DQ_SEVERITY_INFO);
    assert_null(lookup_issue(r, DQ_LOW_GT_OPEN_CLOSE, 0));
    assert_int_equal(evaluated(r, DQ_LOW_GT_OPEN_CLOSE), 0);
    assert_int_equal(dq_report_count(r, DQ_SEVERITY_WARNING), 1);
    assert_int_equal(dq_report_count(r, DQ_SEVERITY_INFO), 1);
    dq_report_free(r);
    /* a warning raised to error rejects */
    cs[1] = candle(cs[1].ts, 15, 15.1, 10, 10.05, 100); /* opens ~50% up, falls back */
    dq_options o2 = DQ_OPTIONS_INIT;
    o2.severity[DQ_OPEN_GAP] = DQ_SEVERITY_ERROR;
    r = check_with(&o2, cs, 3, acc);
    assert_int_equal(failed(r, DQ_OPEN_GAP), 1);
    assert_int_equal(dq_report_rejected(r), 1);
    assert_memory_equal(acc, ((unsigned char[]){ 1, 0, 1 }), 3);
    /* candle 2 is measured against candle 1 (rejected by configuration, but
     * its prices are sound): no gap */
    assert_true(find_issue(r, DQ_OPEN_GAP, 0)->index == 1);
    dq_report_free(r);
    /* a candle with inconsistent prices is no reference: candle 2 is measured
     * against candle 0 */
    cs[1] = candle(cs[1].ts, 13, 12.9, 13.1, 13, 100); /* high < low */
    r = check_with(NULL, cs, 3, acc);
    assert_int_equal(failed(r, DQ_OPEN_GAP), 1);
    assert_int_equal(find_issue(r, DQ_OPEN_GAP, 0)->index, 1);
    assert_true(find_issue(r, DQ_OPEN_GAP, 0)->values[1] == cs[0].close);
    dq_report_free(r);
}

static void stale_repeat_run(void **state)
{
    (void)state;
    dq_candle cs[8];
    for (int i = 0; i < 8; i++)
        cs[i] = candle(session_ts(i), 10, 10.5, 9.5, 10, 100);
    cs[0].close = 10.1; /* the run starts at candle 1 */
    dq_report *r = check_with(NULL, cs, 8, NULL);
    assert_int_equal(failed(r, DQ_STALE_REPEAT), 3); /* candles 5, 6, 7 */
    const dq_issue *is = find_issue(r, DQ_STALE_REPEAT, 0);
    assert_int_equal(is->index, 5);
    assert_true(is->values[0] == 5);
    assert_string_equal(is->message, "5 identical consecutive bars (close 10, volume 100)");
    dq_report_free(r);
    dq_options o = DQ_OPTIONS_INIT;
    o.stale_repeat = 7;
    r = check_with(&o, cs, 8, NULL);
    assert_int_equal(failed(r, DQ_STALE_REPEAT), 1);
    dq_report_free(r);
}

static void unit_100x_flags_the_off_candles_only(void **state)
{
    (void)state;
    dq_candle cs[6];
    double p[6] = { 10, 10.1, 1010, 1005, 10.05, 10 };
    for (int i = 0; i < 6; i++)
        cs[i] = candle(session_ts(i), p[i], p[i] * 1.01, p[i] * 0.99, p[i], 100 + i);
    dq_report *r = check_with(NULL, cs, 6, NULL);
    assert_int_equal(failed(r, DQ_UNIT_100X), 2);
    assert_int_equal(find_issue(r, DQ_UNIT_100X, 0)->index, 2);
    assert_int_equal(find_issue(r, DQ_UNIT_100X, 1)->index, 3);
    assert_int_equal(failed(r, DQ_OPEN_GAP), 0);
    assert_int_equal(failed(r, DQ_POSSIBLE_SPLIT) + failed(r, DQ_POSSIBLE_REVERSE_SPLIT), 0);
    assert_int_equal(dq_report_rejected(r), 0);
    dq_report_free(r);
}

static void truncation_keeps_counting(void **state)
{
    (void)state;
    dq_candle cs[10];
    clean_series(cs, 10, 10);
    for (int i = 0; i < 10; i += 2)
        cs[i].high = cs[i].low - 1;
    dq_checker *c;
    dq_report *r;
    dq_report_options ro = DQ_REPORT_OPTIONS_INIT;
    ro.max_issues = 2;
    assert_int_equal(dq_checker_new(&c, NULL), DQ_OK);
    assert_int_equal(dq_report_new(&r, &ro), DQ_OK);
    dq_batch b = DQ_BATCH_INIT;
    b.candles = cs;
    b.count = 10;
    assert_int_equal(dq_check(r, c, &b), DQ_OK);
    assert_int_equal(dq_report_issue_count(r), 2);
    assert_int_equal(dq_report_truncated(r), 1);
    assert_int_equal(failed(r, DQ_HIGH_LT_LOW), 5);
    assert_int_equal(dq_report_rejected(r), 5);
    assert_null(dq_report_issue(r, 2));
    /* row defaults to the position in the stream */
    assert_int_equal(dq_report_issue(r, 0)->row, 0);
    dq_report_reset(r);
    assert_int_equal(dq_report_candles(r), 0);
    assert_int_equal(dq_report_truncated(r), 0);
    assert_int_equal(dq_report_issue_count(r), 0);
    dq_checker_free(c);
    dq_report_free(r);
}

/* The per-candle errors output names every rejected candle's error codes,
 * even when the report keeps a single issue record, and is 0 elsewhere
 * (also for the candles the fast path accepts in bulk); a version 1 batch,
 * which has no errors field, is still accepted. */
static void errors_output_is_exact_and_never_truncated(void **state)
{
    (void)state;
    enum { N = 600 };
    static dq_candle cs[N];
    clean_series(cs, N, 50.0);
    cs[10].high = cs[10].low * 0.9; /* HIGH_LT_LOW (and high below open/close) */
    cs[20].volume = -1;             /* NEGATIVE_VOLUME */
    cs[300].open = 0;               /* NONPOSITIVE_PRICE, LOW_GT_OPEN_CLOSE */
    cs[301].close = NAN;            /* NONFINITE */
    cs[302].ts = cs[301].ts;        /* DUPLICATE_TS */
    dq_checker *c = NULL;
    dq_report *r = NULL;
    dq_report_options ro = DQ_REPORT_OPTIONS_INIT;
    ro.max_issues = 1;
    assert_int_equal(dq_checker_new(&c, NULL), DQ_OK);
    assert_int_equal(dq_report_new(&r, &ro), DQ_OK);
    static unsigned char accept[N];
    static uint32_t errors[N];
    memset(errors, 0xff, sizeof errors);
    dq_batch b = DQ_BATCH_INIT;
    b.symbol = "TEST";
    b.candles = cs;
    b.count = N;
    b.accept = accept;
    b.errors = errors;
    assert_int_equal(dq_check(r, c, &b), DQ_OK);
    assert_int_equal(dq_report_truncated(r), 1);
#define E(code) (UINT32_C(1) << (code))
    assert_int_equal(errors[10], E(DQ_HIGH_LT_LOW) | E(DQ_HIGH_LT_OPEN_CLOSE));
    assert_int_equal(errors[20], E(DQ_NEGATIVE_VOLUME));
    assert_int_equal(errors[300], E(DQ_NONPOSITIVE_PRICE) | E(DQ_LOW_GT_OPEN_CLOSE));
    assert_true(errors[301] & E(DQ_NONFINITE));
    assert_true(errors[302] & E(DQ_DUPLICATE_TS));
#undef E
    for (size_t i = 0; i < N; i++) {
        if (i == 10 || i == 20 || (i >= 300 && i <= 302))
            assert_int_equal(accept[i], 0);
        else if (errors[i] != 0 || accept[i] != 1)
            fail_msg("candle %zu: accept %d errors 0x%x", i, accept[i], (unsigned)errors[i]);
    }
    assert_int_equal(dq_report_rejected(r), 5);

    /* version 1: errors is not read (nor written) */
    dq_checker_reset(c);
    dq_report_reset(r);
    dq_batch v1 = DQ_BATCH_INIT;
    v1.version = 1;
    v1.symbol = "TEST";
    v1.candles = cs;
    v1.count = N;
    assert_int_equal(dq_check(r, c, &v1), DQ_OK);
    assert_int_equal(dq_report_rejected(r), 5);
    v1.version = 3;
    assert_int_equal(dq_check(r, c, &v1), DQ_EINVAL);
    dq_report_free(r);
    dq_checker_free(c);
}

static void score_and_passed(void **state)
{
    (void)state;
    dq_candle cs[20];
    clean_series(cs, 20, 10);
    cs[3].high = cs[3].low - 1;                                                      /* error */
    cs[7].volume = 0;                                                                /* warning */
    cs[9] = candle(cs[9].ts, cs[8].close, cs[8].close, cs[8].close, cs[8].close, 0); /* info */
    dq_report *r = check_with(NULL, cs, 20, NULL);
    assert_int_equal(dq_report_rejected(r), 1);
    /* 1 - (1 + 0.1 * 1) / 20 */
    assert_true(fabs(dq_report_score(r) - (1.0 - 1.1 / 20.0)) < 1e-15);
    assert_int_equal(dq_report_passed(r), 0);
    dq_report_free(r);
    /* fail_on warning / never */
    dq_checker *c;
    dq_report_options ro = DQ_REPORT_OPTIONS_INIT;
    ro.fail_on = DQ_SEVERITY_WARNING;
    cs[3].high = cs[3].low + 0.2;
    cs[3].open = cs[3].close = cs[3].low + 0.1;
    assert_int_equal(dq_checker_new(&c, NULL), DQ_OK);
    assert_int_equal(dq_report_new(&r, &ro), DQ_OK);
    dq_batch b = DQ_BATCH_INIT;
    b.candles = cs;
    b.count = 20;
    assert_int_equal(dq_check(r, c, &b), DQ_OK);
    assert_int_equal(dq_report_rejected(r), 0);
    assert_int_equal(dq_report_passed(r), 0);
    dq_report_free(r);
    ro.fail_on = DQ_SEVERITY_OFF;
    assert_int_equal(dq_report_new(&r, &ro), DQ_OK);
    dq_checker_reset(c);
    assert_int_equal(dq_check(r, c, &b), DQ_OK);
    assert_int_equal(dq_report_passed(r), 1);
    dq_report_free(r);
    dq_checker_free(c);
}

static void invalid_arguments(void **state)
{
    (void)state;
    dq_checker *c = (dq_checker *)&c;
    dq_options o = DQ_OPTIONS_INIT;
    o.version = 99;
    assert_int_equal(dq_checker_new(&c, &o), DQ_EINVAL);
    assert_null(c);
    dq_options bad[6];
    for (int i = 0; i < 6; i++) {
        dq_options d = DQ_OPTIONS_INIT;
        bad[i] = d;
    }
    bad[0].open_gap = NAN;
    bad[1].range = -1;
    bad[2].stale_repeat = 1;
    bad[3].severity[DQ_GAP] = 9;
    bad[4].interval.multiplier = 0;
    bad[5].calendar = (dq_calendar)0;
    for (int i = 0; i < 6; i++)
        assert_int_equal(dq_checker_new(&c, &bad[i]), DQ_EINVAL);
    dq_report *r = (dq_report *)&r;
    dq_report_options ro = DQ_REPORT_OPTIONS_INIT;
    ro.fail_on = (dq_severity)7;
    assert_int_equal(dq_report_new(&r, &ro), DQ_EINVAL);
    assert_null(r);
    assert_int_equal(dq_checker_new(&c, NULL), DQ_OK);
    assert_int_equal(dq_report_new(&r, NULL), DQ_OK);
    dq_batch b = DQ_BATCH_INIT;
    b.count = 3;
    assert_int_equal(dq_check(r, c, &b), DQ_EINVAL);
    assert_string_equal(dq_checker_errmsg(c), "dq_batch.candles is NULL with count 3");
    b.version = 0;
    assert_int_equal(dq_check(r, c, &b), DQ_EINVAL);
    assert_int_equal(dq_report_candles(r), 0);
    b.version = DQ_BATCH_VERSION;
    b.count = 0; /* an empty batch is fine */
    assert_int_equal(dq_check(r, c, &b), DQ_OK);
    assert_string_equal(dq_checker_errmsg(c), "");
    assert_int_equal(dq_report_totals(r, DQ_CODE_COUNT, NULL, NULL), DQ_EINVAL);
    dq_checker_free(c);
    dq_report_free(r);
    dq_checker_free(NULL);
    dq_report_free(NULL);
    dq_string_free(NULL);
}

static void names_and_intervals(void **state)
{
    (void)state;
    assert_string_equal(dq_code_name(DQ_POSSIBLE_REVERSE_SPLIT), "POSSIBLE_REVERSE_SPLIT");
    assert_null(dq_code_name(DQ_CODE_COUNT));
    assert_null(dq_code_name(-1));
    for (int i = 0; i < DQ_CODE_COUNT; i++)
        assert_int_equal(dq_code_from_name(dq_code_name(i)), i);
    assert_int_equal(dq_code_from_name("high_lt_low"), DQ_HIGH_LT_LOW);
    assert_int_equal(dq_code_from_name("NOPE"), DQ_EINVAL);
    assert_int_equal(dq_code_default_severity(DQ_GAP), DQ_SEVERITY_WARNING);
    assert_int_equal(dq_code_default_severity(DQ_UNSORTED), DQ_SEVERITY_ERROR);
    assert_int_equal(dq_code_default_severity(99), DQ_SEVERITY_OFF);
    assert_string_equal(dq_severity_name(DQ_SEVERITY_WARNING), "warning");
    assert_null(dq_severity_name(42));
    assert_int_equal(dq_severity_from_name("Error"), DQ_SEVERITY_ERROR);
    assert_int_equal(dq_severity_from_name("default"), DQ_EINVAL);
    dq_interval iv = { 0, DQ_UNIT_DAY };
    assert_int_equal(dq_interval_parse(&iv, "5/minute"), DQ_OK);
    assert_int_equal(iv.multiplier, 5);
    assert_int_equal(iv.unit, DQ_UNIT_MINUTE);
    assert_int_equal(dq_interval_parse(&iv, "2/hours"), DQ_OK);
    assert_int_equal(iv.unit, DQ_UNIT_HOUR);
    assert_int_equal(dq_interval_parse(&iv, "0/day"), DQ_EINVAL);
    assert_int_equal(dq_interval_parse(&iv, "1/week"), DQ_EINVAL);
    assert_int_equal(dq_interval_parse(&iv, "day"), DQ_EINVAL);
    assert_int_equal(iv.multiplier, 2); /* unchanged on failure */
}

/* 40 clean sessions with candle 20 onwards scaled by f (open against the
 * previous close: about f). */
static dq_report *scaled_from_20(const dq_options *o, double f)
{
    dq_candle cs[40];
    clean_series(cs, 40, 100.0);
    for (size_t i = 20; i < 40; i++) {
        cs[i].open *= f;
        cs[i].high *= f;
        cs[i].low *= f;
        cs[i].close *= f;
    }
    return check_with(o, cs, 40, NULL);
}

/* split_tolerance: a 2:1 split 3.6 % off its exact ratio is a split within
 * the default 5 %, not within 3 % (then it is only an opening gap). */
static void split_tolerance_decides_a_split(void **state)
{
    (void)state;
    dq_options o = DQ_OPTIONS_INIT;
    dq_report *r = scaled_from_20(&o, 0.52);
    assert_int_equal(failed(r, DQ_POSSIBLE_SPLIT), 1);
    assert_int_equal(failed(r, DQ_OPEN_GAP), 0);
    dq_report_free(r);
    o.split_tolerance = 0.03;
    r = scaled_from_20(&o, 0.52);
    assert_int_equal(failed(r, DQ_POSSIBLE_SPLIT), 0);
    assert_int_equal(failed(r, DQ_OPEN_GAP), 1);
    dq_report_free(r);
}

/* unit_tolerance: prices 100x down, 5.3 % off, are a unit error within the
 * default 10 %, not within 4 %. */
static void unit_tolerance_decides_a_unit_error(void **state)
{
    (void)state;
    dq_options o = DQ_OPTIONS_INIT;
    dq_report *r = scaled_from_20(&o, 1.06 / 100.0);
    assert_int_equal(failed(r, DQ_UNIT_100X), 20); /* every candle off by 100x */
    dq_report_free(r);
    o.unit_tolerance = 0.04;
    r = scaled_from_20(&o, 1.06 / 100.0);
    assert_int_equal(failed(r, DQ_UNIT_100X), 0);
    assert_true(total_failed(r) > 0); /* still an opening gap */
    dq_report_free(r);
}

/* 2/day bars on NYSE: one every second session is complete; skipping one
 * slot is a gap of one bar. */
static void multi_day_interval(void **state)
{
    (void)state;
    dq_options o = DQ_OPTIONS_INIT;
    o.interval.multiplier = 2;
    dq_candle cs[20];
    clean_series(cs, 20, 50.0);
    for (int i = 0; i < 20; i++)
        cs[i].ts = session_ts(2 * i);
    dq_report *r = check_with(&o, cs, 20, NULL);
    assert_int_equal(total_failed(r), 0);
    dq_report_free(r);
    for (int i = 10; i < 20; i++)
        cs[i].ts = session_ts(2 * i + 2); /* slot 10 missing */
    r = check_with(&o, cs, 20, NULL);
    assert_int_equal(failed(r, DQ_GAP), 1);
    assert_int_equal(find_issue(r, DQ_GAP, 0)->index, 10);
    dq_report_free(r);
}

/* 1/second bars on 24x7: consecutive seconds are complete; three missing
 * seconds are one gap. */
static void per_second_interval(void **state)
{
    (void)state;
    dq_options o = DQ_OPTIONS_INIT;
    o.interval.unit = DQ_UNIT_SECOND;
    o.calendar = DQ_CAL_24X7;
    dq_candle cs[50];
    clean_series(cs, 50, 50.0);
    const int64_t t0 = date_ts(2024, 3, 9); /* a Saturday: 24x7 trades */
    for (int i = 0; i < 50; i++)
        cs[i].ts = t0 + (int64_t)i * 1000;
    dq_report *r = check_with(&o, cs, 50, NULL);
    assert_int_equal(total_failed(r), 0);
    dq_report_free(r);
    for (int i = 30; i < 50; i++)
        cs[i].ts += 3000;
    r = check_with(&o, cs, 50, NULL);
    assert_int_equal(failed(r, DQ_GAP), 1);
    const dq_issue *g = find_issue(r, DQ_GAP, 0);
    assert_int_equal(g->index, 30);
    print_message("per-second gap: %s\n", g->message);
    assert_non_null(strstr(g->message, "3"));
    dq_report_free(r);
}

/* dq_interval_parse leaves *out alone on failure. */
static void interval_parse_failure_leaves_out_unchanged(void **state)
{
    (void)state;
    static const char *bad[] = { "", "5", "0/day", "5/fortnight", "x/day", "5/minute/2", "-1/day" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        dq_interval iv = { 7, DQ_UNIT_HOUR };
        assert_int_equal(dq_interval_parse(&iv, bad[i]), DQ_EINVAL);
        assert_int_equal(iv.multiplier, 7);
        assert_int_equal(iv.unit, DQ_UNIT_HOUR);
    }
    dq_interval iv = { 7, DQ_UNIT_HOUR };
    assert_int_equal(dq_interval_parse(&iv, "5/minutes"), DQ_OK);
    assert_int_equal(iv.multiplier, 5);
    assert_int_equal(iv.unit, DQ_UNIT_MINUTE);
}

/* The report keeps at most 63 bytes of the symbol. */
static void report_symbol_is_truncated_to_63_bytes(void **state)
{
    (void)state;
    char sym[101];
    for (int i = 0; i < 100; i++)
        sym[i] = (char)('A' + i % 26);
    sym[100] = '\0';
    dq_candle cs[3];
    clean_series(cs, 3, 10.0);
    dq_checker *c;
    dq_report *r;
    assert_int_equal(dq_checker_new(&c, NULL), DQ_OK);
    assert_int_equal(dq_report_new(&r, NULL), DQ_OK);
    dq_batch b = DQ_BATCH_INIT;
    b.symbol = sym;
    b.candles = cs;
    b.count = 3;
    assert_int_equal(dq_check(r, c, &b), DQ_OK);
    assert_int_equal(strlen(dq_report_symbol(r)), 63);
    assert_memory_equal(dq_report_symbol(r), sym, 63);
    dq_report_free(r);
    dq_checker_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(clean_series_has_no_findings),
        cmocka_unit_test(split_tolerance_decides_a_split),
        cmocka_unit_test(unit_tolerance_decides_a_unit_error),
        cmocka_unit_test(multi_day_interval),
        cmocka_unit_test(per_second_interval),
        cmocka_unit_test(interval_parse_failure_leaves_out_unchanged),
        cmocka_unit_test(report_symbol_is_truncated_to_63_bytes),
        cmocka_unit_test(mixed_symbol_per_candle_and_per_batch),
        cmocka_unit_test(unsorted_and_duplicate),
        cmocka_unit_test(nonfinite_anywhere),
        cmocka_unit_test(nonpositive_and_negative_volume),
        cmocka_unit_test(high_low_consistency),
        cmocka_unit_test(vwap_outside_range_with_tolerance),
        cmocka_unit_test(zero_volume_warning_or_info),
        cmocka_unit_test(gap_counts_missing_sessions),
        cmocka_unit_test(non_session_daily_bars),
        cmocka_unit_test(open_gap_threshold_edge),
        cmocka_unit_test(range_threshold_edge),
        cmocka_unit_test(severity_changes),
        cmocka_unit_test(stale_repeat_run),
        cmocka_unit_test(unit_100x_flags_the_off_candles_only),
        cmocka_unit_test(truncation_keeps_counting),
        cmocka_unit_test(errors_output_is_exact_and_never_truncated),
        cmocka_unit_test(score_and_passed),
        cmocka_unit_test(invalid_arguments),
        cmocka_unit_test(names_and_intervals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
