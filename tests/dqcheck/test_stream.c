/* The stream checker: checking a series in pages gives exactly the findings
 * of checking it whole (a property over random series and random splits);
 * the JSON report against its schema. */
#include <stdio.h>

#include <cjson/cJSON.h>

#include "helpers.h"

#define N_SERIES 400

static int64_t daily_grid[N_SERIES + 64], intraday_grid[N_SERIES + 64];
static const int64_t *sessions = daily_grid; /* the timestamps random_series uses */

/* NYSE daily sessions from 2010-01-04 and 5-minute session bars from
 * 2010-03-10 (across the DST change of 2010-03-14). */
static void make_grids(void)
{
    int64_t day = days_from_civil(2010, 1, 4);
    for (size_t k = 0; k < sizeof daily_grid / sizeof daily_grid[0]; day++)
        if (dq_calendar_is_session(DQ_CAL_NYSE, day) == 1)
            daily_grid[k++] = day * DAY_MS + 5 * HOUR_MS;
    int64_t dst0 = days_from_civil(2010, 3, 14), dst1 = days_from_civil(2010, 11, 7);
    day = days_from_civil(2010, 3, 10);
    for (size_t k = 0; k < sizeof intraday_grid / sizeof intraday_grid[0]; day++) {
        if (dq_calendar_is_session(DQ_CAL_NYSE, day) != 1)
            continue;
        int64_t open =
            day * DAY_MS + (9 * 60 + 30) * 60000 + (day >= dst0 && day < dst1 ? 4 : 5) * HOUR_MS;
        for (int i = 0; i < 78 && k < sizeof intraday_grid / sizeof intraday_grid[0]; i++)
            intraday_grid[k++] = open + i * 300000;
    }
}

static uint64_t rng(uint64_t *s)
{
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return *s >> 33;
}

static double unit(uint64_t *s)
{
    return (double)rng(s) / 2147483648.0;
}

/* Defects 0-3 of the generators: high < low, NaN close, zero volume, the
 * previous candle's ts; other kinds leave the candle alone. */
static void plant(dq_candle *cs, size_t i, unsigned kind)
{
    switch (kind) {
    case 0:
        cs[i].high = cs[i].low * 0.9;
        break;
    case 1:
        cs[i].close = NAN;
        break;
    case 2:
        cs[i].volume = 0;
        break;
    case 3:
        if (i)
            cs[i].ts = cs[i - 1].ts;
        break;
    }
}

/* A random series with every kind of defect sprinkled in. */
static void random_series(dq_candle *cs, size_t n, uint64_t seed)
{
    uint64_t s = seed * 7919 + 1;
    double p = 20 + unit(&s) * 100;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        k += 1 + (rng(&s) % 40 == 0 ? rng(&s) % 4 : 0); /* occasional gaps */
        double o = p * (1 + 0.02 * (unit(&s) - 0.5));
        double c = o * (1 + 0.02 * (unit(&s) - 0.5));
        double hi = (o > c ? o : c) * (1 + 0.01 * unit(&s));
        double lo = (o < c ? o : c) * (1 - 0.01 * unit(&s));
        cs[i] = candle(sessions[k], o, hi, lo, c, (double)(1000 + rng(&s) % 1000));
        if (rng(&s) % 2)
            cs[i].vwap = (hi + lo) / 2;
        unsigned kind = (unsigned)(rng(&s) % 60);
        plant(cs, i, kind);
        switch (kind) {
        case 4:
            if (i > 2)
                cs[i].ts = cs[i - 2].ts;
            break;
        case 5:
            cs[i].ts = sessions[k] - DAY_MS * (1 + (int64_t)(rng(&s) % 2));
            break;
        case 6: {
            double f = rng(&s) % 2 ? 0.25 : 10;
            cs[i].open *= f;
            cs[i].high *= f;
            cs[i].low *= f;
            cs[i].close *= f;
        } break;
        case 7: {
            cs[i].open *= 100;
            cs[i].high *= 100;
            cs[i].low *= 100;
            cs[i].close *= 100;
        } break;
        case 8:
            if (i) {
                cs[i] = cs[i - 1];
                cs[i].ts = sessions[k];
            }
            break;
        case 9:
            cs[i].vwap = hi * 1.5;
            break;
        case 10:
            cs[i].open = o * 1.4;
            cs[i].high = o * 1.45;
            break;
        case 11:
            cs[i].low = -1;
            break;
        }
        if (cs[i].close == cs[i].close && cs[i].close > 0)
            p = cs[i].close;
        /* stale runs */
        if (rng(&s) % 80 == 0 && i + 6 < n) {
            for (int j = 1; j <= 6; j++) {
                cs[i + (size_t)j] = cs[i];
                cs[i + (size_t)j].ts = sessions[k + (size_t)j];
            }
            i += 6;
            k += 6;
        }
    }
}

static void same_issue(const dq_issue *a, const dq_issue *b, int64_t page_start)
{
    assert_int_equal(a->code, b->code);
    assert_int_equal(a->severity, b->severity);
    assert_int_equal(a->row, b->row);
    assert_int_equal((int64_t)b->index, b->row - page_start);
    assert_int_equal(a->ts, b->ts);
    assert_int_equal(a->nfields, b->nfields);
    for (unsigned f = 0; f < a->nfields; f++) {
        assert_string_equal(a->fields[f], b->fields[f]);
        assert_memory_equal(&a->values[f], &b->values[f], sizeof(double));
    }
    assert_memory_equal(&a->threshold, &b->threshold, sizeof(double));
    assert_int_equal(a->ratio_num, b->ratio_num);
    assert_int_equal(a->ratio_den, b->ratio_den);
    assert_string_equal(a->message, b->message);
    assert_ptr_equal(a->suggestion, b->suggestion);
}

static void pages_equal_whole(void **state)
{
    (void)state;
    make_grids();
    sessions = daily_grid;
    static dq_candle cs[N_SERIES];
    static unsigned char acc_whole[N_SERIES], acc_paged[N_SERIES];
    dq_report_options ro = DQ_REPORT_OPTIONS_INIT;
    ro.max_issues = 5000;
    uint64_t total_findings = 0;
    for (uint64_t seed = 0; seed < 40; seed++) {
        random_series(cs, N_SERIES, seed);
        dq_checker *c;
        dq_report *whole, *paged;
        assert_int_equal(dq_checker_new(&c, NULL), DQ_OK);
        assert_int_equal(dq_report_new(&whole, &ro), DQ_OK);
        dq_batch b = DQ_BATCH_INIT;
        b.symbol = "X";
        b.candles = cs;
        b.count = N_SERIES;
        b.accept = acc_whole;
        assert_int_equal(dq_check(whole, c, &b), DQ_OK);
        total_findings += dq_report_issue_count(whole);
        uint64_t s = seed + 99;
        for (int split = 0; split < 3; split++) {
            dq_checker_reset(c);
            assert_int_equal(dq_report_new(&paged, &ro), DQ_OK);
            size_t starts[N_SERIES + 1], npages = 0, pos = 0;
            while (pos < N_SERIES) {
                size_t len = split == 0 ? 1 : rng(&s) % (split == 1 ? 10 : 150);
                if (len > N_SERIES - pos)
                    len = N_SERIES - pos;
                starts[npages++] = pos;
                dq_batch pb = DQ_BATCH_INIT;
                pb.symbol = "X";
                pb.candles = cs + pos;
                pb.count = len;
                pb.accept = acc_paged + pos;
                assert_int_equal(dq_check(paged, c, &pb), DQ_OK);
                pos += len;
            }
            starts[npages] = N_SERIES;
            assert_int_equal(dq_report_candles(paged), dq_report_candles(whole));
            assert_int_equal(dq_report_rejected(paged), dq_report_rejected(whole));
            for (int sev = DQ_SEVERITY_INFO; sev <= DQ_SEVERITY_ERROR; sev++)
                assert_int_equal(dq_report_count(paged, sev), dq_report_count(whole, sev));
            for (int code = 0; code < DQ_CODE_COUNT; code++) {
                assert_int_equal(failed(paged, code), failed(whole, code));
                assert_int_equal(evaluated(paged, code), evaluated(whole, code));
            }
            assert_true(dq_report_score(paged) == dq_report_score(whole));
            assert_memory_equal(acc_paged, acc_whole, N_SERIES);
            assert_int_equal(dq_report_issue_count(paged), dq_report_issue_count(whole));
            size_t page = 0;
            for (size_t i = 0; i < dq_report_issue_count(whole); i++) {
                const dq_issue *w = dq_report_issue(whole, i), *p = dq_report_issue(paged, i);
                while (starts[page + 1] <= (size_t)w->row)
                    page++;
                same_issue(w, p, (int64_t)starts[page]);
            }
            dq_report_free(paged);
        }
        dq_checker_free(c);
        dq_report_free(whole);
    }
    /* the generator really exercises the checks */
    assert_true(total_findings > 40 * 20);
}

static void every_code_is_exercised_by_the_generator(void **state)
{
    (void)state;
    make_grids();
    sessions = daily_grid;
    static dq_candle cs[N_SERIES];
    dq_report_options ro = DQ_REPORT_OPTIONS_INIT;
    dq_report *r;
    assert_int_equal(dq_report_new(&r, &ro), DQ_OK);
    for (uint64_t seed = 0; seed < 40; seed++) {
        random_series(cs, N_SERIES, seed);
        dq_checker *c;
        assert_int_equal(dq_checker_new(&c, NULL), DQ_OK);
        dq_batch b = DQ_BATCH_INIT;
        b.candles = cs;
        b.count = N_SERIES;
        assert_int_equal(dq_check(r, c, &b), DQ_OK);
        dq_checker_free(c);
    }
    static const int codes[] = { DQ_UNSORTED,       DQ_DUPLICATE_TS,
                                 DQ_NONFINITE,      DQ_NONPOSITIVE_PRICE,
                                 DQ_HIGH_LT_LOW,    DQ_VWAP_OUTSIDE_RANGE,
                                 DQ_ZERO_VOLUME,    DQ_GAP,
                                 DQ_OPEN_GAP,       DQ_RANGE,
                                 DQ_POSSIBLE_SPLIT, DQ_POSSIBLE_REVERSE_SPLIT,
                                 DQ_UNIT_100X,      DQ_STALE_REPEAT };
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        if (failed(r, codes[i]) == 0)
            fail_msg("the generator never triggers %s", dq_code_name(codes[i]));
    dq_report_free(r);
}

/* Daily timestamps at the first and the last millisecond of their days or
 * one millisecond outside them, and now and then one far outside the
 * calendar or the exact doubles. */
static void ts_edges(dq_candle *cs, size_t n, uint64_t seed)
{
    static const int64_t far[] = { -1,
                                   -DAY_MS,
                                   INT64_MIN,
                                   INT64_MAX,
                                   INT64_C(1) << 52,
                                   (INT64_C(1) << 52) - 1,
                                   INT64_C(-315619200000), /* 1960 */
                                   INT64_C(7258118400000) /* 2200 */ };
    uint64_t s = seed * 31 + 7;
    for (size_t i = 0; i < n; i++) {
        int64_t day = cs[i].ts / DAY_MS; /* the grid is after 1970 */
        switch (rng(&s) % 8) {
        case 0:
        case 1:
            cs[i].ts = day * DAY_MS;
            break;
        case 2:
        case 3:
            cs[i].ts = day * DAY_MS + DAY_MS - 1;
            break;
        case 4:
            cs[i].ts = day * DAY_MS - 1;
            break;
        case 5:
            cs[i].ts = day * DAY_MS + DAY_MS;
            break;
        }
        if (rng(&s) % 40 == 0)
            cs[i].ts = far[rng(&s) % (sizeof far / sizeof far[0])];
    }
}

/* The fast screen gives exactly the generic step's findings: per-candle
 * symbols force the generic step on every candle. The report's count of
 * candles the fast path accepted shows that each side took its path. */
static void fast_path_equals_generic(void **state)
{
    (void)state;
    make_grids();
    static dq_candle cs[N_SERIES];
    static const char *syms[N_SERIES];
    for (size_t i = 0; i < N_SERIES; i++)
        syms[i] = "X";
    dq_report_options ro = DQ_REPORT_OPTIONS_INIT;
    ro.max_issues = 5000;
    uint64_t fast_by_mode[4] = { 0 };
    for (uint64_t seed = 0; seed < 60; seed++) {
        dq_options o = DQ_OPTIONS_INIT;
        if (seed % 4 == 2) {
            o.open_gap = 0.5;
            o.range = 0.01;
            o.vwap_tolerance = 0;
        }
        sessions = daily_grid;
        if (seed % 5 == 3)
            o.calendar = DQ_CAL_24X7;
        if (seed % 5 == 4 || seed % 10 == 8) { /* 5-minute bars, NYSE or 24x7 */
            sessions = intraday_grid;
            o.interval.unit = DQ_UNIT_MINUTE;
            o.interval.multiplier = 5;
            if (seed % 10 == 8)
                o.calendar = DQ_CAL_24X7;
        }
        random_series(cs, N_SERIES, seed + 1000);
        if (seed % 3 == 1) /* candles exactly at the open-gap threshold */
            for (size_t i = 1; i < N_SERIES; i += 7)
                cs[i].open = cs[i - 1].close * (seed % 2 ? 1.2 : 0.8);
        if (sessions == daily_grid && seed % 3 == 0)
            ts_edges(cs, N_SERIES, seed);
        else if (sessions == daily_grid && o.calendar == DQ_CAL_24X7 && seed % 2 == 1)
            for (size_t i = 0; i < N_SERIES; i++) /* before 1970 */
                cs[i].ts -= 60 * 365 * DAY_MS;
        dq_report *fast, *slow;
        dq_checker *c1, *c2;
        static unsigned char a1[N_SERIES], a2[N_SERIES];
        assert_int_equal(dq_checker_new(&c1, &o), DQ_OK);
        assert_int_equal(dq_checker_new(&c2, &o), DQ_OK);
        assert_int_equal(dq_report_new(&fast, &ro), DQ_OK);
        assert_int_equal(dq_report_new(&slow, &ro), DQ_OK);
        dq_batch b = DQ_BATCH_INIT;
        b.symbol = "X";
        b.candles = cs;
        b.count = N_SERIES;
        b.accept = a1;
        assert_int_equal(dq_check(fast, c1, &b), DQ_OK);
        b.symbols = syms;
        b.accept = a2;
        assert_int_equal(dq_check(slow, c2, &b), DQ_OK);
        assert_memory_equal(a1, a2, N_SERIES);
        for (int code = 0; code < DQ_CODE_COUNT; code++) {
            assert_int_equal(failed(fast, code), failed(slow, code));
            assert_int_equal(evaluated(fast, code), evaluated(slow, code));
        }
        assert_int_equal(dq_report_issue_count(fast), dq_report_issue_count(slow));
        for (size_t i = 0; i < dq_report_issue_count(fast); i++)
            same_issue(dq_report_issue(fast, i), dq_report_issue(slow, i), 0);
        assert_true(dq_report_score(fast) == dq_report_score(slow));
        /* by interval and calendar: daily NYSE, daily 24x7, intraday NYSE, 24x7 */
        fast_by_mode[(sessions == intraday_grid) * 2 + (o.calendar == DQ_CAL_24X7)] +=
            dq_report_fast_candles(fast);
        assert_true(dq_report_fast_candles(fast) <= dq_report_accepted(fast));
        assert_int_equal(dq_report_fast_candles(slow), 0);
        dq_report_reset(fast);
        assert_int_equal(dq_report_fast_candles(fast), 0);
        dq_report_free(fast);
        dq_report_free(slow);
        dq_checker_free(c1);
        dq_checker_free(c2);
    }
    print_message("candles on the fast path: daily NYSE %llu, daily 24x7 %llu, intraday NYSE "
                  "%llu, intraday 24x7 %llu\n",
                  (unsigned long long)fast_by_mode[0], (unsigned long long)fast_by_mode[1],
                  (unsigned long long)fast_by_mode[2], (unsigned long long)fast_by_mode[3]);
    for (int k = 0; k < 4; k++)
        assert_true(fast_by_mode[k] > 0);
    sessions = daily_grid;
}

/* Minute bars as the exchange prints them, from day first on: step apart
 * from 09:30 New York time to 16:00 on regular days and to 13:00 on early
 * closes (which the calendar does not model: they show as a GAP at the
 * next open), none on holidays and weekends. */
#define N_MINUTE 3000
static int64_t minute_grid[N_MINUTE + 600];

static int is_early_close(int64_t day)
{
    static const unsigned d[][3] = {
        { 2019, 7, 3 }, { 2019, 11, 29 }, { 2019, 12, 24 }, { 2020, 11, 27 }, { 2020, 12, 24 }
    };
    for (size_t i = 0; i < sizeof d / sizeof d[0]; i++)
        if (day == days_from_civil((int)d[i][0], d[i][1], d[i][2]))
            return 1;
    return 0;
}

static void make_minute_grid(int64_t first, int64_t step)
{
    size_t k = 0, cap = sizeof minute_grid / sizeof minute_grid[0];
    for (int64_t day = first; k < cap; day++) {
        if (dq_calendar_is_session(DQ_CAL_NYSE, day) != 1)
            continue;
        /* US DST (2007 rules) for 2019-2020 */
        int64_t start = day < days_from_civil(2020, 1, 1) ? days_from_civil(2019, 3, 10)
                                                          : days_from_civil(2020, 3, 8);
        int64_t end = day < days_from_civil(2020, 1, 1) ? days_from_civil(2019, 11, 3)
                                                        : days_from_civil(2020, 11, 1);
        int64_t open =
            day * DAY_MS + (9 * 60 + 30) * 60000 + (day >= start && day < end ? 4 : 5) * HOUR_MS;
        int64_t close = open + (is_early_close(day) ? 210 : 390) * 60000;
        for (int64_t ts = open; ts < close && k < cap; ts += step)
            minute_grid[k++] = ts;
    }
}

/* A quiet series on the grid (moves of 0.1%, now and then a missing bar)
 * with one candle in 50 broken in one of eight ways. */
static void quiet_series(dq_candle *cs, size_t n, uint64_t seed)
{
    uint64_t s = seed * 7919 + 5;
    double p = 20 + unit(&s) * 100;
    size_t k = 0;
    for (size_t i = 0; i < n; i++, k++) {
        k += rng(&s) % 200 == 0;
        double o = p * (1 + 0.002 * (unit(&s) - 0.5));
        double c = o * (1 + 0.002 * (unit(&s) - 0.5));
        double hi = (o > c ? o : c) * (1 + 0.001 * unit(&s));
        double lo = (o < c ? o : c) * (1 - 0.001 * unit(&s));
        cs[i] = candle(sessions[k], o, hi, lo, c, (double)(1000 + rng(&s) % 1000));
        cs[i].vwap = (hi + lo) / 2;
        p = c;
        if (rng(&s) % 50 == 0) {
            unsigned kind = (unsigned)(rng(&s) % 8);
            plant(cs, i, kind);
            switch (kind) {
            case 4:
                cs[i].open *= 1.3;
                cs[i].high = cs[i].open;
                break;
            case 5:
                cs[i].vwap = hi * 1.1;
                break;
            case 6:
                if (k > 2)
                    cs[i].ts = sessions[k - 2];
                break;
            case 7:
                cs[i].open *= 0.25;
                cs[i].high *= 0.25;
                cs[i].low *= 0.25;
                cs[i].close *= 0.25;
                p = cs[i].close;
                break;
            }
        }
    }
}

/* Intraday timestamps moved within or just outside their slots and
 * sessions: mid-slot, the last millisecond of a slot, the close, one
 * millisecond before the open. */
static void minute_edges(dq_candle *cs, size_t n, int64_t step, uint64_t seed)
{
    uint64_t s = seed * 17 + 3;
    for (size_t i = 0; i < n; i++) {
        switch (rng(&s) % 64) {
        case 0:
            cs[i].ts += step / 2;
            break;
        case 1:
            cs[i].ts += step - 1;
            break;
        case 2:
            cs[i].ts += step;
            break;
        case 3:
            cs[i].ts -= 1;
            break;
        case 4: /* 16:00 (winter offset) of the bar's UTC day */
            cs[i].ts = cs[i].ts / DAY_MS * DAY_MS + 21 * HOUR_MS;
            break;
        case 5:
            cs[i].ts = cs[i].ts / DAY_MS * DAY_MS + 21 * HOUR_MS - 1;
            break;
        }
        /* after a session's last bar, now and then a bar one step later:
         * past the close (the slot after the last one is no slot) */
        if (i && cs[i].ts - cs[i - 1].ts > HOUR_MS && rng(&s) % 3 == 0)
            cs[i].ts = cs[i - 1].ts + step + (int64_t)(rng(&s) % 2) * (step / 2);
    }
}

/* The intraday screen (the next slot's window, the calendar looked up once
 * per session) gives exactly the findings of the generic step (per-candle
 * symbols force it on every candle) over regular days, early closes,
 * holidays and the DST changes, at 1, 5 and 7 minutes (a partial last slot)
 * and on the 24x7 calendar. */
static void intraday_fast_path_equals_generic(void **state)
{
    (void)state;
    static const unsigned starts[][3] = { { 2019, 3, 6 },   { 2019, 7, 1 },   { 2019, 10, 30 },
                                          { 2019, 11, 25 }, { 2019, 12, 19 }, { 2020, 11, 24 } };
    static const int64_t steps[] = { 60000, 300000, 420000 };
    static dq_candle cs[N_MINUTE];
    static const char *syms[N_MINUTE];
    static unsigned char a1[N_MINUTE], a2[N_MINUTE];
    static uint32_t e1[N_MINUTE], e2[N_MINUTE];
    for (size_t i = 0; i < N_MINUTE; i++)
        syms[i] = "X";
    dq_report_options ro = DQ_REPORT_OPTIONS_INIT;
    ro.max_issues = 20000;
    uint64_t fast_total = 0, gaps = 0, non_session = 0;
    for (uint64_t seed = 0; seed < 36; seed++) {
        const unsigned *d = starts[seed % 6];
        const int64_t step = steps[seed / 6 % 3];
        make_minute_grid(days_from_civil((int)d[0], d[1], d[2]), step);
        sessions = minute_grid;
        if (seed % 4 == 3)
            random_series(cs, N_MINUTE, seed + 5000);
        else
            quiet_series(cs, N_MINUTE, seed);
        if (seed % 2)
            minute_edges(cs, N_MINUTE, step, seed);
        dq_options o = DQ_OPTIONS_INIT;
        o.interval.unit = DQ_UNIT_MINUTE;
        o.interval.multiplier = (unsigned)(step / 60000);
        if (seed / 18 == 1 && seed % 3 == 0)
            o.calendar = DQ_CAL_24X7;
        dq_report *fast, *slow;
        dq_checker *c1, *c2;
        assert_int_equal(dq_checker_new(&c1, &o), DQ_OK);
        assert_int_equal(dq_checker_new(&c2, &o), DQ_OK);
        assert_int_equal(dq_report_new(&fast, &ro), DQ_OK);
        assert_int_equal(dq_report_new(&slow, &ro), DQ_OK);
        /* in pages, so that the screen starts from a stream state too */
        static int64_t page_of[N_MINUTE]; /* the start of each candle's page */
        for (size_t pos = 0, len = 0; pos < N_MINUTE; pos += len) {
            len = 1 + (size_t)(rng(&(uint64_t){ seed * 131 + pos }) % 1500);
            if (len > N_MINUTE - pos)
                len = N_MINUTE - pos;
            for (size_t i = pos; i < pos + len; i++)
                page_of[i] = (int64_t)pos;
            dq_batch b = DQ_BATCH_INIT;
            b.symbol = "X";
            b.candles = cs + pos;
            b.count = len;
            b.accept = a1 + pos;
            b.errors = e1 + pos;
            assert_int_equal(dq_check(fast, c1, &b), DQ_OK);
            b.symbols = syms + pos;
            b.accept = a2 + pos;
            b.errors = e2 + pos;
            assert_int_equal(dq_check(slow, c2, &b), DQ_OK);
        }
        assert_memory_equal(a1, a2, N_MINUTE);
        assert_memory_equal(e1, e2, sizeof e1);
        for (int code = 0; code < DQ_CODE_COUNT; code++) {
            assert_int_equal(failed(fast, code), failed(slow, code));
            assert_int_equal(evaluated(fast, code), evaluated(slow, code));
        }
        assert_int_equal(dq_report_issue_count(fast), dq_report_issue_count(slow));
        assert_false(dq_report_truncated(fast));
        for (size_t i = 0; i < dq_report_issue_count(fast); i++)
            same_issue(dq_report_issue(fast, i), dq_report_issue(slow, i),
                       page_of[dq_report_issue(fast, i)->row]);
        assert_true(dq_report_score(fast) == dq_report_score(slow));
        assert_int_equal(dq_report_fast_candles(slow), 0);
        fast_total += dq_report_fast_candles(fast);
        gaps += failed(fast, DQ_GAP);
        non_session += failed(fast, DQ_NON_SESSION_TS);
        dq_report_free(fast);
        dq_report_free(slow);
        dq_checker_free(c1);
        dq_checker_free(c2);
    }
    print_message("intraday: %llu candles on the fast path of %llu, %llu gaps, %llu outside "
                  "sessions\n",
                  (unsigned long long)fast_total, (unsigned long long)(36 * N_MINUTE),
                  (unsigned long long)gaps, (unsigned long long)non_session);
    /* most candles take the fast path, and the series cross sessions,
     * early closes and the edges of slots */
    assert_true(fast_total > 36 * N_MINUTE / 2);
    assert_true(gaps > 36 && non_session > 36);
    sessions = daily_grid;
}

static const cJSON *key(const cJSON *obj, const char *name, int type_ok)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (!it || !type_ok)
        fail_msg("JSON key %s missing or of the wrong type", name);
    return it;
}

static void expect_keys(const cJSON *obj, const char *const *names, size_t n)
{
    size_t i = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, obj)
    {
        assert_true(i < n);
        assert_string_equal(it->string, names[i]);
        i++;
    }
    assert_int_equal(i, n);
}

static void json_matches_the_schema(void **state)
{
    (void)state;
    dq_candle cs[6];
    clean_series(cs, 6, 10);
    cs[2] = candle(cs[2].ts, 10.2, 10, 10.5, 10.3, 100);
    cs[4].close = NAN;
    dq_checker *c;
    dq_report *r;
    dq_options o = DQ_OPTIONS_INIT;
    o.severity[DQ_STALE_REPEAT] = DQ_SEVERITY_OFF;
    assert_int_equal(dq_checker_new(&c, &o), DQ_OK);
    assert_int_equal(dq_report_new(&r, NULL), DQ_OK);
    dq_batch b = DQ_BATCH_INIT;
    b.symbol = "AAPL";
    b.candles = cs;
    b.count = 6;
    int64_t rows[6] = { 10, 11, 12, 13, 14, 15 };
    b.rows = rows;
    assert_int_equal(dq_check(r, c, &b), DQ_OK);
    char *text = NULL;
    assert_int_equal(dq_report_to_json(&text, r), DQ_OK);
    assert_non_null(text);
    assert_null(strchr(text, '\n'));
    cJSON *root = cJSON_Parse(text);
    assert_non_null(root);
    static const char *top[] = { "version",  "symbol",    "interval", "candles",
                                 "accepted", "rejected",  "score",    "passed",
                                 "counts",   "truncated", "checks",   "issues" };
    expect_keys(root, top, sizeof top / sizeof top[0]);
    assert_true(key(root, "version", 1)->valuedouble == 1);
    assert_string_equal(key(root, "symbol", 1)->valuestring, "AAPL");
    assert_string_equal(key(root, "interval", 1)->valuestring, "1/day");
    assert_true(
        key(root, "candles", cJSON_IsNumber(cJSON_GetObjectItem(root, "candles")))->valuedouble ==
        6);
    assert_true(cJSON_GetObjectItem(root, "accepted")->valuedouble == 4);
    assert_true(cJSON_GetObjectItem(root, "rejected")->valuedouble == 2);
    double score = cJSON_GetObjectItem(root, "score")->valuedouble;
    assert_true(fabs(score - round(dq_report_score(r) * 1e4) / 1e4) < 1e-12);
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(root, "passed")));
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(root, "truncated")));
    const cJSON *counts = cJSON_GetObjectItem(root, "counts");
    static const char *ck[] = { "error", "warning", "info" };
    expect_keys(counts, ck, 3);
    assert_true(cJSON_GetObjectItem(counts, "error")->valuedouble ==
                (double)dq_report_count(r, DQ_SEVERITY_ERROR));
    const cJSON *checks = cJSON_GetObjectItem(root, "checks");
    assert_true(cJSON_IsArray(checks));
    assert_int_equal(cJSON_GetArraySize(checks), DQ_CODE_COUNT - 1); /* STALE_REPEAT off */
    const cJSON *it;
    static const char *chk[] = { "code", "severity", "evaluated", "failed" };
    cJSON_ArrayForEach(it, checks)
    {
        expect_keys(it, chk, 4);
        assert_true(cJSON_IsString(cJSON_GetObjectItem(it, "code")));
        assert_true(cJSON_IsString(cJSON_GetObjectItem(it, "severity")));
        assert_true(cJSON_IsNumber(cJSON_GetObjectItem(it, "evaluated")));
        assert_true(cJSON_IsNumber(cJSON_GetObjectItem(it, "failed")));
        assert_string_not_equal(cJSON_GetObjectItem(it, "code")->valuestring, "STALE_REPEAT");
    }
    const cJSON *issues = cJSON_GetObjectItem(root, "issues");
    assert_int_equal(cJSON_GetArraySize(issues), (int)dq_report_issue_count(r));
    static const char *ik[] = { "code",   "severity", "index",     "row",     "ts",
                                "fields", "values",   "threshold", "message", "suggestion" };
    int saw_null_value = 0;
    cJSON_ArrayForEach(it, issues)
    {
        expect_keys(it, ik, 10);
        const cJSON *fields = cJSON_GetObjectItem(it, "fields");
        const cJSON *values = cJSON_GetObjectItem(it, "values");
        assert_int_equal(cJSON_GetArraySize(fields), cJSON_GetArraySize(values));
        const cJSON *v;
        cJSON_ArrayForEach(v, values)
        {
            assert_true(cJSON_IsNumber(v) || cJSON_IsNull(v));
            saw_null_value |= cJSON_IsNull(v);
        }
        const cJSON *th = cJSON_GetObjectItem(it, "threshold");
        assert_true(cJSON_IsNumber(th) || cJSON_IsNull(th));
        assert_true(cJSON_IsString(cJSON_GetObjectItem(it, "message")));
        assert_true(cJSON_IsString(cJSON_GetObjectItem(it, "suggestion")));
    }
    assert_true(saw_null_value); /* the NaN close */
    const cJSON *first = cJSON_GetArrayItem(issues, 0);
    assert_string_equal(cJSON_GetObjectItem(first, "code")->valuestring, "HIGH_LT_LOW");
    assert_string_equal(cJSON_GetObjectItem(first, "severity")->valuestring, "error");
    assert_true(cJSON_GetObjectItem(first, "index")->valuedouble == 2);
    assert_true(cJSON_GetObjectItem(first, "row")->valuedouble == 12);
    assert_true(cJSON_GetObjectItem(first, "ts")->valuedouble == (double)cs[2].ts);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(first, "threshold")));
    assert_string_equal(cJSON_GetObjectItem(first, "message")->valuestring, "high 10 < low 10.5");
    cJSON_Delete(root);
    dq_string_free(text);

    /* an empty report is valid JSON too */
    dq_report *e;
    assert_int_equal(dq_report_new(&e, NULL), DQ_OK);
    assert_int_equal(dq_report_to_json(&text, e), DQ_OK);
    assert_string_equal(text, "{\"version\":1,\"symbol\":\"\",\"interval\":\"\",\"candles\":0,"
                              "\"accepted\":0,\"rejected\":0,\"score\":1,\"passed\":true,"
                              "\"counts\":{\"error\":0,\"warning\":0,\"info\":0},"
                              "\"truncated\":false,\"checks\":[],\"issues\":[]}");
    dq_string_free(text);
    dq_report_free(e);
    dq_report_free(r);
    dq_checker_free(c);
}

static void reset_starts_a_new_series(void **state)
{
    (void)state;
    dq_candle cs[3];
    clean_series(cs, 3, 10);
    dq_checker *c;
    dq_report *r;
    assert_int_equal(dq_checker_new(&c, NULL), DQ_OK);
    assert_int_equal(dq_report_new(&r, NULL), DQ_OK);
    dq_batch b = DQ_BATCH_INIT;
    b.symbol = "A";
    b.candles = cs;
    b.count = 3;
    assert_int_equal(dq_check(r, c, &b), DQ_OK);
    /* the same batch again continues the stream: all 3 out of order */
    assert_int_equal(dq_check(r, c, &b), DQ_OK);
    assert_int_equal(failed(r, DQ_UNSORTED) + failed(r, DQ_DUPLICATE_TS), 3);
    assert_int_equal(dq_report_issue(r, 0)->row, 3); /* stream position */
    dq_report_reset(r);
    dq_checker_reset(c);
    b.symbol = "B"; /* a new stream may have another symbol */
    assert_int_equal(dq_check(r, c, &b), DQ_OK);
    assert_int_equal(total_failed(r), 0);
    assert_string_equal(dq_report_symbol(r), "B");
    dq_report_free(r);
    dq_checker_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pages_equal_whole),
        cmocka_unit_test(every_code_is_exercised_by_the_generator),
        cmocka_unit_test(fast_path_equals_generic),
        cmocka_unit_test(intraday_fast_path_equals_generic),
        cmocka_unit_test(json_matches_the_schema),
        cmocka_unit_test(reset_starts_a_new_series),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
