/* The NYSE calendar (holidays, observed days, special closures), the
 * weekdays and 24x7 calendars, and intraday sessions with US DST. */
#include "helpers.h"

static int sess(int y, unsigned m, unsigned d)
{
    return dq_calendar_is_session(DQ_CAL_NYSE, days_from_civil(y, m, d));
}

static int sessions_in_year(int y)
{
    int n = 0;
    for (int64_t d = days_from_civil(y, 1, 1); d < days_from_civil(y + 1, 1, 1); d++)
        n += dq_calendar_is_session(DQ_CAL_NYSE, d) == 1;
    return n;
}

static void nyse_2024_holidays(void **state)
{
    (void)state;
    static const unsigned char h[][2] = { { 1, 1 },  { 1, 15 }, { 2, 19 }, { 3, 29 },  { 5, 27 },
                                          { 6, 19 }, { 7, 4 },  { 9, 2 },  { 11, 28 }, { 12, 25 } };
    for (size_t i = 0; i < sizeof h / sizeof h[0]; i++)
        assert_int_equal(sess(2024, h[i][0], h[i][1]), 0);
    assert_int_equal(sess(2024, 1, 2), 1);
    assert_int_equal(sess(2024, 7, 3), 1); /* early close, still a session */
    assert_int_equal(sess(2024, 11, 29), 1);
    assert_int_equal(sess(2024, 1, 6), 0); /* Saturday */
    assert_int_equal(sess(2024, 1, 7), 0); /* Sunday */
    assert_int_equal(sessions_in_year(2024), 252);
}

static void nyse_2025_holidays_and_carter(void **state)
{
    (void)state;
    static const unsigned char h[][2] = { { 1, 1 },  { 1, 9 },   { 1, 20 }, { 2, 17 },
                                          { 4, 18 }, { 5, 26 },  { 6, 19 }, { 7, 4 },
                                          { 9, 1 },  { 11, 27 }, { 12, 25 } };
    for (size_t i = 0; i < sizeof h / sizeof h[0]; i++)
        assert_int_equal(sess(2025, h[i][0], h[i][1]), 0);
    assert_int_equal(sess(2025, 1, 8), 1);
    assert_int_equal(sess(2025, 1, 10), 1);
    assert_int_equal(sessions_in_year(2025), 250);
}

static void observed_day_rules(void **state)
{
    (void)state;
    /* Christmas on Saturday 2021 -> Friday 12-24 */
    assert_int_equal(sess(2021, 12, 24), 0);
    /* New Year's Day on Saturday 2022: not made up on Friday 2021-12-31 */
    assert_int_equal(sess(2021, 12, 31), 1);
    /* New Year's Day on Sunday 2023 -> Monday 01-02 */
    assert_int_equal(sess(2023, 1, 2), 0);
    /* Juneteenth: from 2022 only; on Sunday 2022 -> Monday 06-20 */
    assert_int_equal(sess(2022, 6, 20), 0);
    assert_int_equal(sess(2021, 6, 18), 1);
    assert_int_equal(sess(2023, 6, 19), 0);
    /* Independence Day on Saturday 2026 -> Friday 07-03; on Sunday 2021 -> Monday 07-05 */
    assert_int_equal(sess(2026, 7, 3), 0);
    assert_int_equal(sess(2021, 7, 5), 0);
    /* Christmas on Sunday 2022 -> Monday 12-26 */
    assert_int_equal(sess(2022, 12, 26), 0);
    /* MLK Day from 1998 only */
    assert_int_equal(sess(1998, 1, 19), 0);
    assert_int_equal(sess(1997, 1, 20), 1);
    /* Good Friday via Easter */
    assert_int_equal(sess(2019, 4, 19), 0);
    assert_int_equal(sess(2000, 4, 21), 0);
    assert_int_equal(sess(2038, 4, 23), 0);
    /* Presidential Election Day 1980 */
    assert_int_equal(sess(1980, 11, 4), 0);
    assert_int_equal(sess(1984, 11, 6), 1);
}

static void special_closures(void **state)
{
    (void)state;
    for (unsigned d = 11; d <= 14; d++)
        assert_int_equal(sess(2001, 9, d), 0);
    assert_int_equal(sess(2001, 9, 10), 1);
    assert_int_equal(sess(2001, 9, 17), 1);
    assert_int_equal(sess(2012, 10, 29), 0);
    assert_int_equal(sess(2012, 10, 30), 0);
    assert_int_equal(sess(2012, 10, 31), 1);
    assert_int_equal(sess(2018, 12, 5), 0);
    assert_int_equal(sess(2025, 1, 9), 0);
    assert_int_equal(sess(2004, 6, 11), 0);
    assert_int_equal(sess(2007, 1, 2), 0);
    assert_int_equal(sess(1985, 9, 27), 0);
    assert_int_equal(sessions_in_year(2012), 250);
    assert_int_equal(sessions_in_year(2001), 248);
}

static void other_calendars_and_range(void **state)
{
    (void)state;
    int64_t xmas = days_from_civil(2024, 12, 25), sat = days_from_civil(2024, 12, 28);
    assert_int_equal(dq_calendar_is_session(DQ_CAL_WEEKDAYS, xmas), 1);
    assert_int_equal(dq_calendar_is_session(DQ_CAL_WEEKDAYS, sat), 0);
    assert_int_equal(dq_calendar_is_session(DQ_CAL_24X7, sat), 1);
    assert_int_equal(dq_calendar_is_session(DQ_CAL_NYSE, days_from_civil(1960, 1, 4)), DQ_EINVAL);
    assert_int_equal(dq_calendar_is_session(DQ_CAL_NYSE, days_from_civil(2150, 1, 2)), DQ_EINVAL);
    assert_int_equal(dq_calendar_is_session((dq_calendar)9, sat), DQ_EINVAL);
    /* bars outside the covered years are not evaluated for sessions */
    dq_candle cs[2] = { candle(date_ts(1960, 1, 4), 1, 1, 1, 1, 1),
                        candle(date_ts(1960, 1, 5), 1, 1, 1, 1, 1) };
    dq_report *r = check_with(NULL, cs, 2, NULL);
    assert_int_equal(evaluated(r, DQ_NON_SESSION_TS), 0);
    assert_int_equal(evaluated(r, DQ_GAP), 0);
    dq_report_free(r);
}

/* 5-minute bars for one full session of a New York date, UTC offset off_h. */
static size_t session_bars(dq_candle *out, int y, unsigned m, unsigned d, int off_h)
{
    int64_t open = days_from_civil(y, m, d) * DAY_MS + (9 * 60 + 30) * 60000 + off_h * HOUR_MS;
    for (int i = 0; i < 78; i++)
        out[i] = candle(open + i * 300000, 10, 10.1, 9.9, 10, 100 + i);
    return 78;
}

static dq_report *check_intraday(dq_calendar cal, const char *interval, const dq_candle *cs,
                                 size_t n)
{
    dq_options o = DQ_OPTIONS_INIT;
    o.calendar = cal;
    assert_int_equal(dq_interval_parse(&o.interval, interval), DQ_OK);
    return check_with(&o, cs, n, NULL);
}

static void intraday_across_dst_start(void **state)
{
    (void)state;
    dq_candle cs[160];
    size_t n = session_bars(cs, 2024, 3, 8, 5); /* Friday, EST */
    n += session_bars(cs + n, 2024, 3, 11, 4);  /* Monday, EDT */
    dq_report *r = check_intraday(DQ_CAL_NYSE, "5/minute", cs, n);
    assert_int_equal(total_failed(r), 0);
    assert_int_equal(evaluated(r, DQ_GAP), n - 1);
    dq_report_free(r);
    /* Monday's bars stamped with the winter offset (as if DST were ignored):
     * they land an hour late, 10:30..16:55 New York, and the 12 bars from
     * 16:00 on are outside the session */
    for (size_t i = 78; i < n; i++)
        cs[i].ts += HOUR_MS;
    r = check_intraday(DQ_CAL_NYSE, "5/minute", cs, n);
    assert_int_equal(failed(r, DQ_NON_SESSION_TS), 12);
    assert_int_equal(failed(r, DQ_GAP), 1); /* 09:30..10:25 missing */
    assert_true(find_issue(r, DQ_GAP, 0)->values[0] == 12);
    dq_report_free(r);
}

static void intraday_across_dst_end_and_holiday(void **state)
{
    (void)state;
    dq_candle cs[240];
    size_t n = session_bars(cs, 2024, 11, 1, 4); /* Friday, EDT */
    n += session_bars(cs + n, 2024, 11, 4, 5);   /* Monday, EST */
    n += session_bars(cs + n, 2024, 11, 5, 5);
    dq_report *r = check_intraday(DQ_CAL_NYSE, "5/minute", cs, n);
    assert_int_equal(total_failed(r), 0);
    dq_report_free(r);
    /* 2024-07-03 then 2024-07-05: no bars expected on the 4th */
    n = session_bars(cs, 2024, 7, 3, 4);
    n += session_bars(cs + n, 2024, 7, 5, 4);
    r = check_intraday(DQ_CAL_NYSE, "5/minute", cs, n);
    assert_int_equal(total_failed(r), 0);
    dq_report_free(r);
}

static void intraday_gaps_and_non_session(void **state)
{
    (void)state;
    dq_candle cs[80];
    size_t n = session_bars(cs, 2024, 1, 9, 5);
    /* drop bars 10..12: one finding with 3 missing */
    memmove(cs + 10, cs + 13, (n - 13) * sizeof cs[0]);
    n -= 3;
    /* a pre-market bar at 08:00 New York on the next day, then the open */
    cs[n++] = candle(days_from_civil(2024, 1, 10) * DAY_MS + 13 * HOUR_MS, 10, 10.1, 9.9, 10, 1);
    cs[n++] = candle(days_from_civil(2024, 1, 10) * DAY_MS + 14 * HOUR_MS + 30 * 60000, 10, 10.1,
                     9.9, 10, 1);
    dq_report *r = check_intraday(DQ_CAL_NYSE, "5/minute", cs, n);
    assert_int_equal(failed(r, DQ_GAP), 1);
    const dq_issue *is = find_issue(r, DQ_GAP, 0);
    assert_true(is->values[0] == 3);
    assert_string_equal(is->message, "3 expected bars missing between 2024-01-09T15:15:00Z and "
                                     "2024-01-09T15:35:00Z");
    assert_int_equal(failed(r, DQ_NON_SESSION_TS), 1);
    assert_string_equal(find_issue(r, DQ_NON_SESSION_TS, 0)->message,
                        "2024-01-10T13:00:00Z is outside the 09:30-16:00 New York session");
    dq_report_free(r);
    /* 24x7 minute bars: every minute expected */
    dq_candle m[3] = { candle(0, 1, 1, 1, 1, 1), candle(60000, 1, 1, 1, 1, 1),
                       candle(10 * 60000, 1, 1, 1, 1, 1) };
    for (int i = 0; i < 3; i++)
        m[i].ts += days_from_civil(2024, 1, 6) * DAY_MS; /* a Saturday */
    r = check_intraday(DQ_CAL_24X7, "1/minute", m, 3);
    assert_int_equal(failed(r, DQ_NON_SESSION_TS), 0);
    assert_int_equal(failed(r, DQ_GAP), 1);
    assert_true(find_issue(r, DQ_GAP, 0)->values[0] == 8);
    dq_report_free(r);
    /* hourly bars from 09:30: 7 per session (the last one is half an hour) */
    dq_candle hb[8];
    int64_t open = days_from_civil(2024, 1, 9) * DAY_MS + 14 * HOUR_MS + 30 * 60000;
    for (int i = 0; i < 7; i++)
        hb[i] = candle(open + i * HOUR_MS, 10, 10.1, 9.9, 10, 1 + i);
    hb[7] = candle(open + DAY_MS, 10, 10.1, 9.9, 10, 1);
    r = check_intraday(DQ_CAL_NYSE, "1/hour", hb, 8);
    assert_int_equal(total_failed(r), 0);
    dq_report_free(r);
}

/* The slot of a bar, for every interval that fits in a session: bars at the
 * first and at the last millisecond of each slot of a session, then the
 * next session's first bar, show no GAP; one slot left out shows a GAP of
 * exactly one bar. */
static void intraday_slots_of_every_interval(void **state)
{
    (void)state;
    static const struct {
        dq_unit unit;
        unsigned mult;
    } iv[] = { { DQ_UNIT_SECOND, 1 },   { DQ_UNIT_SECOND, 7 },  { DQ_UNIT_SECOND, 45 },
               { DQ_UNIT_MINUTE, 1 },   { DQ_UNIT_MINUTE, 2 },  { DQ_UNIT_MINUTE, 7 },
               { DQ_UNIT_MINUTE, 13 },  { DQ_UNIT_MINUTE, 30 }, { DQ_UNIT_MINUTE, 389 },
               { DQ_UNIT_MINUTE, 390 }, { DQ_UNIT_HOUR, 1 },    { DQ_UNIT_HOUR, 4 },
               { DQ_UNIT_HOUR, 6 },     { DQ_UNIT_HOUR, 7 },    { DQ_UNIT_HOUR, 24 } };
    const int64_t open = date_ts(2024, 1, 3) + (9 * 60 + 30) * 60000; /* 09:30 EST */
    const int64_t next = date_ts(2024, 1, 4) + (9 * 60 + 30) * 60000;
    const int64_t len = 390 * 60000;
    static dq_candle cs[23400 * 2 + 2];
    for (size_t v = 0; v < sizeof iv / sizeof iv[0]; v++) {
        const int64_t step = (iv[v].unit == DQ_UNIT_SECOND   ? 1000
                              : iv[v].unit == DQ_UNIT_MINUTE ? 60000
                                                             : HOUR_MS) *
                             (int64_t)iv[v].mult;
        const int64_t slots = (len + step - 1) / step;
        for (int64_t skip = -1; skip < (slots > 2 ? 1 : 0); skip++) {
            size_t n = 0;
            for (int64_t s = 0; s < slots; s++) {
                if (s == slots / 2 && skip == 0)
                    continue;
                int64_t end =
                    open + (s + 1) * step < open + len ? open + (s + 1) * step : open + len;
                cs[n++] = candle(open + s * step, 10, 10.5, 9.5, 10, 100);
                if (end - 1 > open + s * step && (s % 2) && skip < 0)
                    cs[n - 1].ts = end - 1; /* the slot's last millisecond */
            }
            cs[n++] = candle(next, 10, 10.5, 9.5, 10, 100);
            dq_options o = DQ_OPTIONS_INIT;
            o.interval.unit = iv[v].unit;
            o.interval.multiplier = iv[v].mult;
            dq_checker *c;
            dq_report *r;
            assert_int_equal(dq_checker_new(&c, &o), DQ_OK);
            assert_int_equal(dq_report_new(&r, NULL), DQ_OK);
            dq_batch b = DQ_BATCH_INIT;
            b.candles = cs;
            b.count = n;
            assert_int_equal(dq_check(r, c, &b), DQ_OK);
            if (failed(r, DQ_NON_SESSION_TS) != 0 || failed(r, DQ_GAP) != (uint64_t)(skip == 0))
                fail_msg("%u/%d: %llu gaps, %llu outside sessions, expected %d gaps", iv[v].mult,
                         (int)iv[v].unit, (unsigned long long)failed(r, DQ_GAP),
                         (unsigned long long)failed(r, DQ_NON_SESSION_TS), skip == 0);
            for (size_t i = 0; i < dq_report_issue_count(r); i++)
                if (dq_report_issue(r, i)->code == DQ_GAP)
                    assert_true(dq_report_issue(r, i)->values[0] == 1.0); /* missing */
            dq_report_free(r);
            dq_checker_free(c);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(nyse_2024_holidays),
        cmocka_unit_test(nyse_2025_holidays_and_carter),
        cmocka_unit_test(observed_day_rules),
        cmocka_unit_test(special_closures),
        cmocka_unit_test(other_calendars_and_range),
        cmocka_unit_test(intraday_across_dst_start),
        cmocka_unit_test(intraday_across_dst_end_and_holiday),
        cmocka_unit_test(intraday_gaps_and_non_session),
        cmocka_unit_test(intraday_slots_of_every_interval),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
