/* The split / reverse-split detector on synthetic splits with market noise,
 * and on real data: the GME squeeze is no split, adjusted AAPL is clean. */
#include <stdio.h>

#include "helpers.h"
#include "reader.h"

#ifndef DQ_TEST_DATA
#define DQ_TEST_DATA "."
#endif

/* 20 quiet bars around 100, then a bar opening at prev_close * factor. */
static dq_report *split_series(double factor)
{
    dq_candle cs[22];
    double p = 100;
    for (int i = 0; i < 20; i++) {
        p *= 1.0 + 0.004 * ((i % 5) - 2);
        cs[i] = candle(session_ts(i), p, p * 1.01, p * 0.99, p, 1e6 + i);
    }
    double o = p * factor;
    cs[20] = candle(session_ts(20), o, o * 1.01, o * 0.99, o * 1.002, 5e6);
    cs[21] = candle(session_ts(21), o * 1.002, o * 1.012, o * 0.992, o * 1.001, 4e6);
    return check_with(NULL, cs, 22, NULL);
}

static void forward_splits_with_noise(void **state)
{
    (void)state;
    static const unsigned ks[] = { 2, 3, 4, 5, 7, 10, 20 };
    static const double noise[] = { -0.03, -0.015, 0, 0.01, 0.03 };
    for (size_t i = 0; i < sizeof ks / sizeof ks[0]; i++) {
        for (size_t j = 0; j < sizeof noise / sizeof noise[0]; j++) {
            dq_report *r = split_series((1.0 + noise[j]) / ks[i]);
            if (!lookup_issue(r, DQ_POSSIBLE_SPLIT, 0))
                fail_msg("no split found for %u:1 with %+.1f%%", ks[i], noise[j] * 100);
            const dq_issue *is = find_issue(r, DQ_POSSIBLE_SPLIT, 0);
            assert_int_equal(failed(r, DQ_POSSIBLE_SPLIT), 1);
            assert_int_equal(is->index, 20);
            assert_int_equal(is->ratio_num, ks[i]);
            assert_int_equal(is->ratio_den, 1);
            char want[32];
            snprintf(want, sizeof want, "a %u:1 split", ks[i]);
            assert_non_null(strstr(is->message, want));
            assert_int_equal(failed(r, DQ_OPEN_GAP), 0); /* explained by the split */
            assert_int_equal(failed(r, DQ_POSSIBLE_REVERSE_SPLIT), 0);
            assert_int_equal(dq_report_rejected(r), 0);
            dq_report_free(r);
        }
    }
    /* 3:2 */
    dq_report *r = split_series(1.02 * 2.0 / 3.0);
    const dq_issue *is = find_issue(r, DQ_POSSIBLE_SPLIT, 0);
    assert_non_null(is);
    assert_int_equal(is->ratio_num, 3);
    assert_int_equal(is->ratio_den, 2);
    assert_string_equal(is->suggestion, "compare with the corporate-action calendar; store "
                                        "adjusted prices or the split factor");
    dq_report_free(r);
}

static void reverse_splits_with_noise(void **state)
{
    (void)state;
    static const unsigned ks[] = { 8, 10, 20 };
    static const double noise[] = { -0.03, 0, 0.03 };
    for (size_t i = 0; i < sizeof ks / sizeof ks[0]; i++) {
        for (size_t j = 0; j < sizeof noise / sizeof noise[0]; j++) {
            dq_report *r = split_series((1.0 + noise[j]) * ks[i]);
            const dq_issue *is = find_issue(r, DQ_POSSIBLE_REVERSE_SPLIT, 0);
            assert_non_null(is);
            assert_int_equal(failed(r, DQ_POSSIBLE_REVERSE_SPLIT), 1);
            assert_int_equal(is->ratio_num, 1);
            assert_int_equal(is->ratio_den, ks[i]);
            char want[32];
            snprintf(want, sizeof want, "a 1:%u reverse split", ks[i]);
            assert_non_null(strstr(is->message, want));
            assert_int_equal(failed(r, DQ_POSSIBLE_SPLIT), 0);
            dq_report_free(r);
        }
    }
}

static void ordinary_moves_are_not_splits(void **state)
{
    (void)state;
    /* big real moves between the candidates: gaps, never splits */
    static const double moves[] = { 0.55, 0.6, 0.75, 1.3, 1.5, 1.75, 2.4, 2.7 };
    for (size_t i = 0; i < sizeof moves / sizeof moves[0]; i++) {
        dq_report *r = split_series(moves[i]);
        assert_int_equal(failed(r, DQ_POSSIBLE_SPLIT) + failed(r, DQ_POSSIBLE_REVERSE_SPLIT), 0);
        assert_int_equal(failed(r, DQ_OPEN_GAP), 1);
        dq_report_free(r);
    }
    /* a split check turned off leaves the plain gap */
    dq_options o = DQ_OPTIONS_INIT;
    o.severity[DQ_POSSIBLE_SPLIT] = DQ_SEVERITY_OFF;
    dq_candle cs[2] = { candle(session_ts(0), 100, 101, 99, 100, 1),
                        candle(session_ts(1), 25, 25.5, 24.5, 25, 1) };
    dq_report *r = check_with(&o, cs, 2, NULL);
    assert_int_equal(failed(r, DQ_OPEN_GAP), 1);
    assert_int_equal(evaluated(r, DQ_POSSIBLE_SPLIT), 0);
    dq_report_free(r);
    /* a random walk with 3% daily moves: no splits in 5000 bars */
    dq_candle *w = malloc(5000 * sizeof *w);
    assert_non_null(w);
    uint64_t s = 42;
    double p = 50;
    for (int i = 0; i < 5000; i++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        double u = (double)(s >> 11) / 9007199254740992.0 - 0.5;
        double o2 = p * (1 + 0.06 * u);
        p = o2 * (1 + 0.02 * u);
        double hi = (o2 > p ? o2 : p) * 1.01, lo = (o2 < p ? o2 : p) * 0.99;
        w[i] = candle(date_ts(2000, 1, 3) + (int64_t)i * DAY_MS, o2, hi, lo, p, 1000 + i);
    }
    dq_options o3 = DQ_OPTIONS_INIT;
    o3.calendar = DQ_CAL_24X7;
    r = check_with(&o3, w, 5000, NULL);
    assert_int_equal(failed(r, DQ_POSSIBLE_SPLIT) + failed(r, DQ_POSSIBLE_REVERSE_SPLIT), 0);
    assert_int_equal(total_failed(r), 0);
    dq_report_free(r);
    free(w);
}

static dq_report *check_file(const char *name, dqr_data *d)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", DQ_TEST_DATA, name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static char buf[1 << 17];
    size_t len = fread(buf, 1, sizeof buf, f);
    fclose(f);
    dqr_init(d);
    assert_int_equal(dqr_read_csv(d, name, buf, len, "X"), 0);
    assert_int_equal(d->nbad, 0);
    return check_with(NULL, d->candles, d->n, NULL);
}

static void gme_squeeze_is_no_split(void **state)
{
    (void)state;
    dqr_data d;
    dq_report *r = check_file("GME-2020-01-21_2021-01-26-raw-daily.csv", &d);
    assert_int_equal(dq_report_candles(r), d.n);
    assert_int_equal(failed(r, DQ_POSSIBLE_SPLIT), 0);
    assert_int_equal(failed(r, DQ_POSSIBLE_REVERSE_SPLIT), 0);
    assert_int_equal(failed(r, DQ_UNIT_100X), 0);
    assert_int_equal(dq_report_rejected(r), 0);
    assert_int_equal(dq_report_count(r, DQ_SEVERITY_ERROR), 0);
    /* 2021-01-25: opens 48.8% above the previous close; high 2.6x the low */
    int gap = 0, range = 0;
    int64_t jan25 = date_ts(2021, 1, 25);
    for (size_t i = 0; i < dq_report_issue_count(r); i++) {
        const dq_issue *is = dq_report_issue(r, i);
        if (is->ts != jan25)
            continue;
        gap |= is->code == DQ_OPEN_GAP;
        range |= is->code == DQ_RANGE;
        assert_int_equal(is->severity, DQ_SEVERITY_WARNING);
    }
    assert_true(gap && range);
    assert_true(failed(r, DQ_RANGE) >= 4);
    assert_int_equal(failed(r, DQ_GAP), 0);
    assert_int_equal(failed(r, DQ_NON_SESSION_TS), 0);
    dq_report_free(r);
    dqr_free(&d);
}

static void adjusted_aapl_is_clean(void **state)
{
    (void)state;
    dqr_data d;
    dq_report *r = check_file("adjusted/AAPL-2012_2014-adjusted-daily.csv", &d);
    assert_int_equal(d.n, 754);
    assert_int_equal(total_failed(r), 0); /* incl. no GAP over Hurricane Sandy */
    assert_int_equal(evaluated(r, DQ_GAP), 753);
    dq_report_free(r);
    /* the same prices unadjusted before the 2014-06-09 7:1 split */
    for (size_t i = 0; i < d.n; i++) {
        if (d.candles[i].ts >= date_ts(2014, 6, 9) - HOUR_MS)
            break;
        d.candles[i].open *= 7;
        d.candles[i].high *= 7;
        d.candles[i].low *= 7;
        d.candles[i].close *= 7;
    }
    r = check_with(NULL, d.candles, d.n, NULL);
    assert_int_equal(failed(r, DQ_POSSIBLE_SPLIT), 1);
    const dq_issue *is = find_issue(r, DQ_POSSIBLE_SPLIT, 0);
    assert_int_equal(is->ts, date_ts(2014, 6, 9) - HOUR_MS); /* summer: 04:00Z */
    assert_int_equal(is->ratio_num, 7);
    assert_int_equal(total_failed(r), 1);
    dq_report_free(r);
    dqr_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(forward_splits_with_noise),
        cmocka_unit_test(reverse_splits_with_noise),
        cmocka_unit_test(ordinary_moves_are_not_splits),
        cmocka_unit_test(gme_squeeze_is_no_split),
        cmocka_unit_test(adjusted_aapl_is_clean),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
