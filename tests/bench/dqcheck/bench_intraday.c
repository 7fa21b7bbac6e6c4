/*
 * Benchmark: the full libdqcheck rule set over minute bars on the NYSE
 * calendar (the intraday screen), against a same-run reference: one plain
 * pass that reads every field of every candle (a sum).
 *
 * The bars are what the exchange prints: 09:30-16:00 New York time on
 * regular days (standard and daylight-saving time), 09:30-13:00 on the early
 * closes (the day after Thanksgiving, Christmas Eve, July 3), none on
 * holidays and weekends; years 2019 and 2020, one series per symbol, each
 * checked as one stream. The same bars are checked clean (0% defects) and
 * with 1% of them broken in one of eight ways, in the same run.
 *
 * Lines (docs/design.md section 6):
 *   - candles per second at 0% and 1% defects, reference: the read pass;
 *   - the cost of a defective candle beyond a clean one: the time of the 1%
 *     check minus that of the 0% check, per defect (nanoseconds), with the
 *     goal as its target;
 *   - what a candle costs on the generic step (the path of a flagged candle),
 *     against the fast path, on the clean bars.
 * Times are the thread's CPU time (CLOCK_THREAD_CPUTIME_ID), the least
 * disturbed by other processes on a shared machine. BENCH_QUICK=1 checks one
 * symbol and three runs.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <dqcheck/dqcheck.h>

#include "bench.h"

#define MIN_MS INT64_C(60000)

/* US daylight-saving time, 2007 rules: second Sunday of March to first
 * Sunday of November. */
static int is_dst(int64_t day, int y)
{
    int64_t mar1 = days_from_civil(y, 3, 1), nov1 = days_from_civil(y, 11, 1);
    int64_t wmar = (mar1 + 4) % 7, wnov = (nov1 + 4) % 7; /* 0 = Sunday */
    int64_t start = mar1 + (7 - wmar) % 7 + 7, end = nov1 + (7 - wnov) % 7;
    return day >= start && day < end;
}

/* The early closes (13:00) of 2019 and 2020. */
static int early_close(int64_t day)
{
    static const int d[][3] = {
        { 2019, 7, 3 }, { 2019, 11, 29 }, { 2019, 12, 24 }, { 2020, 11, 27 }, { 2020, 12, 24 }
    };
    for (size_t i = 0; i < sizeof d / sizeof *d; i++)
        if (day == days_from_civil(d[i][0], (unsigned)d[i][1], (unsigned)d[i][2]))
            return 1;
    return 0;
}

static size_t nslots_total, ndays_regular, ndays_early, ndays_closed;
static int64_t *slots; /* the ts of every bar of one series */

static void make_slots(void)
{
    int64_t first = days_from_civil(2019, 1, 1), last = days_from_civil(2020, 12, 31);
    slots = malloc((size_t)(last - first + 1) * 390 * sizeof *slots);
    if (!slots)
        exit(1);
    for (int64_t day = first; day <= last; day++) {
        if (dq_calendar_is_session(DQ_CAL_NYSE, day) != 1) {
            if ((day + 4) % 7 != 0 && (day + 4) % 7 != 6)
                ndays_closed++; /* a holiday on a weekday */
            continue;
        }
        int y = day < days_from_civil(2020, 1, 1) ? 2019 : 2020;
        int64_t open =
            day * DAY_MS + (is_dst(day, y) ? 4 : 5) * HOUR_MS + 9 * HOUR_MS + 30 * MIN_MS;
        int bars = early_close(day) ? 210 : 390;
        if (bars == 210)
            ndays_early++;
        else
            ndays_regular++;
        for (int k = 0; k < bars; k++)
            slots[nslots_total++] = open + k * MIN_MS;
    }
}

/* nsym series of the bars, random walks; with defects, each candle is broken
 * with probability rate in one of eight ways. *ndefects counts them. */
static dq_candle *make(size_t nsym, double rate, size_t *ndefects)
{
    size_t n = nsym * nslots_total;
    dq_candle *cs = malloc(n * sizeof *cs);
    if (!cs)
        return NULL;
    *ndefects = 0;
    rng_state = 0x9E3779B97F4A7C15ULL;
    double p = 50;
    for (size_t i = 0; i < n; i++) {
        size_t k = i % nslots_total;
        if (k == 0)
            p = 10 + 90 * uni();
        double o = p * (1 + 0.001 * (uni() - 0.5));
        double c = o * (1 + 0.002 * (uni() - 0.5));
        double hi = (o > c ? o : c) * (1 + 0.0005 * uni());
        double lo = (o < c ? o : c) * (1 - 0.0005 * uni());
        dq_candle x = { slots[k],
                        o,
                        hi,
                        lo,
                        c,
                        1e3 + (double)(rng() % 10000),
                        (hi + lo) / 2,
                        (double)(rng() % 500) };
        cs[i] = x;
        p = c;
    }
    /* defects drawn from their own generator, so that the clean bars are
     * the same in both sets */
    uint64_t saved = rng_state;
    rng_state = 0x2545F4914F6CDD1DULL;
    for (size_t i = 1; rate > 0 && i < n; i++) {
        if (uni() >= rate)
            continue;
        (*ndefects)++;
        plant_defect(cs, i, 0);
    }
    rng_state = saved;
    return cs;
}

static dq_candle *work; /* the bars checked: both sets are copied here */

/* Check every series of cs (one stream per symbol) into one report, from the
 * same memory for either set, so that where a set lies never weighs. */
static const char **syms; /* per-candle symbols: the generic step on every candle */

static double check_pass(const dq_candle *src, size_t nsym, dq_report *r, dq_checker *c)
{
    memcpy(work, src, nsym * nslots_total * sizeof *work);
    const dq_candle *cs = work;
    dq_report_reset(r);
    double t0 = bench_now(CLOCK_THREAD_CPUTIME_ID);
    for (size_t s = 0; s < nsym; s++) {
        dq_checker_reset(c);
        dq_batch b = DQ_BATCH_INIT;
        b.symbol = "BENCH";
        b.candles = cs + s * nslots_total;
        b.count = nslots_total;
        b.symbols = syms;
        if (dq_check(r, c, &b) != DQ_OK)
            abort();
    }
    return bench_now(CLOCK_THREAD_CPUTIME_ID) - t0;
}

static uint64_t findings(const dq_report *r)
{
    return dq_report_count(r, DQ_SEVERITY_INFO) + dq_report_count(r, DQ_SEVERITY_WARNING) +
           dq_report_count(r, DQ_SEVERITY_ERROR);
}

int main(void)
{
    const int quick = getenv("BENCH_QUICK") != NULL;
    const size_t nsym = quick ? 1 : 8;
    enum { MAXRUNS = 9 };
    const int runs = quick ? 3 : MAXRUNS;
    make_slots();
    size_t n = nsym * nslots_total, d0 = 0, d1 = 0;
    dq_candle *clean = make(nsym, 0.0, &d0), *dirty = make(nsym, 0.01, &d1);
    work = malloc(n * sizeof *work);
    dq_options o = DQ_OPTIONS_INIT;
    dq_checker *c;
    dq_report *r;
    if (!clean || !dirty || !work || dq_interval_parse(&o.interval, "1/minute") != DQ_OK ||
        dq_checker_new(&c, &o) != DQ_OK || dq_report_new(&r, NULL) != DQ_OK) {
        fprintf(stderr, "setup failed\n");
        return 1;
    }
    fprintf(stderr,
            "%zu series of %zu minute bars: %zu regular days, %zu early closes, %zu weekday "
            "holidays; %zu defects at 1%%\n",
            nsym, nslots_total, ndays_regular, ndays_early, ndays_closed, d1);
    /* warm up: fault the pages in */
    read_pass(clean, n, CLOCK_THREAD_CPUTIME_ID);
    check_pass(clean, nsym, r, c);
    check_pass(dirty, nsym, r, c);
    double tr[MAXRUNS], t0[MAXRUNS], t1[MAXRUNS], extra[MAXRUNS];
    uint64_t fast0 = 0, fast1 = 0, find0 = 0, find1 = 0, rej1 = 0;
    for (int i = 0; i < runs; i++) {
        /* each figure of a run is the least of REPS passes, the clean and
         * the defective check alternating (the order alternates from run to
         * run): the cost of a defect is a small difference of two large
         * times, which an interrupt in either would swamp */
        enum { REPS = 5 };
        tr[i] = t0[i] = t1[i] = INFINITY;
        for (int k = 0; k < REPS; k++) {
            double x;
            if ((i + k) & 1) {
                x = check_pass(dirty, nsym, r, c);
                t1[i] = x < t1[i] ? x : t1[i];
                fast1 = dq_report_fast_candles(r);
                find1 = findings(r);
                rej1 = dq_report_rejected(r);
            }
            x = check_pass(clean, nsym, r, c);
            t0[i] = x < t0[i] ? x : t0[i];
            fast0 = dq_report_fast_candles(r);
            find0 = findings(r);
            if (!((i + k) & 1)) {
                x = check_pass(dirty, nsym, r, c);
                t1[i] = x < t1[i] ? x : t1[i];
            }
            memcpy(work, clean, n * sizeof *work);
            x = read_pass(work, n, CLOCK_THREAD_CPUTIME_ID);
            tr[i] = x < tr[i] ? x : tr[i];
        }
        extra[i] = (t1[i] - t0[i]) / (double)d1 * 1e9;
    }
    double ref = (double)n / median(tr, runs);
    double v0 = (double)n / median(t0, runs), v1 = (double)n / median(t1, runs);
    double cost = median(extra, runs);
    printf("{\"bench\":\"dq_check_intraday\",\"case\":\"%zu minute bars, 0%% defects\","
           "\"metric\":\"candles_per_s\",\"value\":%.4g,\"reference\":\"read_pass\","
           "\"reference_value\":%.4g,\"ratio\":%.3f,\"runs\":%d}\n",
           n, v0, ref, v0 / ref, runs);
    printf("{\"bench\":\"dq_check_intraday\",\"case\":\"%zu minute bars, 1%% defects\","
           "\"metric\":\"candles_per_s\",\"value\":%.4g,\"reference\":\"read_pass\","
           "\"reference_value\":%.4g,\"ratio\":%.3f,\"runs\":%d}\n",
           n, v1, ref, v1 / ref, runs);
    printf("{\"bench\":\"dq_check_intraday\",\"case\":\"%zu minute bars, 1%% defects\","
           "\"metric\":\"ns_per_defective_candle\",\"value\":%.1f,\"target\":\"goal\","
           "\"target_value\":20,\"runs\":%d}\n",
           n, cost, runs);
    fprintf(stderr,
            "read %.3g candles/s; check 0%%: %.3g candles/s (ratio %.3f, %.1f ns/candle, fast "
            "path %.1f%%, %llu findings); 1%%: %.3g candles/s (ratio %.3f, fast path %.1f%%, "
            "%llu findings, %llu rejected); a defective candle costs %.1f ns beyond a clean one\n",
            ref, v0, v0 / ref, 1e9 / v0, 100.0 * (double)fast0 / (double)n,
            (unsigned long long)find0, v1, v1 / ref, 100.0 * (double)fast1 / (double)n,
            (unsigned long long)find1, (unsigned long long)rej1, cost);
    /* What a candle costs on the generic step, the path every flagged
     * candle takes: the clean bars with per-candle symbols, which keep the
     * fast path out, against the same bars on the fast path. */
    syms = malloc(nslots_total * sizeof *syms);
    if (!syms)
        return 1;
    for (size_t i = 0; i < nslots_total; i++)
        syms[i] = "BENCH";
    double tg[MAXRUNS], tf[MAXRUNS];
    for (int i = 0; i < runs; i++) {
        const char **s = syms;
        syms = i & 1 ? s : NULL;
        double a = check_pass(clean, nsym, r, c);
        syms = i & 1 ? NULL : s;
        double b = check_pass(clean, nsym, r, c);
        syms = s;
        tg[i] = i & 1 ? a : b;
        tf[i] = i & 1 ? b : a;
    }
    double ng = median(tg, runs) / (double)n * 1e9, nf = median(tf, runs) / (double)n * 1e9;
    printf("{\"bench\":\"dq_check_intraday\",\"case\":\"%zu minute bars, 0%% defects, generic "
           "step on every candle\",\"metric\":\"ns_per_candle\",\"value\":%.2f,\"reference\":"
           "\"fast_path\",\"reference_value\":%.2f,\"ratio\":%.3f,\"runs\":%d}\n",
           n, ng, nf, nf / ng, runs);
    fprintf(stderr, "generic step: %.1f ns per candle; fast path: %.1f ns per candle\n", ng, nf);
    free(syms);
    fflush(stdout);
    dq_report_free(r);
    dq_checker_free(c);
    free(clean);
    free(dirty);
    free(work);
    free(slots);
    return 0;
}
