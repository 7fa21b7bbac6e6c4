/* Shared by the dqcheck fuzz targets: run whatever a reader produced
 * through the checker and the JSON report, per symbol, as the tool does; and
 * check that the checker's fast path agrees with its generic step on it. */
#ifndef DQCHECK_FUZZ_COMMON_H
#define DQCHECK_FUZZ_COMMON_H

#include <stdlib.h>

#include <dqcheck/dqcheck.h>

#include "reader.h"

static void fuzz_fast_paths(const dqr_data *d);

static void fuzz_check_all(const dqr_data *d)
{
    dq_checker *c = NULL;
    dq_report *r = NULL;
    dq_report_options ro = DQ_REPORT_OPTIONS_INIT;
    ro.max_issues = 16;
    if (dq_checker_new(&c, NULL) != DQ_OK || dq_report_new(&r, &ro) != DQ_OK)
        abort();
    for (size_t i = 0; i < d->n; i++) {
        dq_batch b = DQ_BATCH_INIT;
        b.symbol = d->symbols[d->sym[i]];
        b.candles = &d->candles[i];
        b.count = 1;
        b.rows = &d->rows[i];
        if (dq_check(r, c, &b) != DQ_OK)
            abort();
    }
    char *json = NULL;
    if (dq_report_to_json(&json, r) != DQ_OK)
        abort();
    dq_string_free(json);
    if (dq_report_accepted(r) + dq_report_rejected(r) != d->n)
        abort();
    dq_report_free(r);
    dq_checker_free(c);
    fuzz_fast_paths(d);
}

/* The comparison's handles, kept for the life of the process: a checker is
 * costly to build (its calendar tables). Per option set (daily bars on the
 * NYSE and the 24x7 calendars, 5-minute bars) one checker for the fast path
 * and one for the generic step. */
enum { FUZZ_OPTION_SETS = 3 };
static struct {
    dq_checker *fast[FUZZ_OPTION_SETS], *generic[FUZZ_OPTION_SETS];
    dq_report *rf, *rg;
} fuzz_handles;

static void fuzz_handles_init(void)
{
    if (fuzz_handles.rf)
        return;
    for (int v = 0; v < FUZZ_OPTION_SETS; v++) {
        dq_options o = DQ_OPTIONS_INIT;
        if (v == 1)
            o.calendar = DQ_CAL_24X7;
        if (v == 2) {
            o.interval.unit = DQ_UNIT_MINUTE;
            o.interval.multiplier = 5;
        }
        if (dq_checker_new(&fuzz_handles.fast[v], &o) != DQ_OK ||
            dq_checker_new(&fuzz_handles.generic[v], &o) != DQ_OK)
            abort();
    }
    if (dq_report_new(&fuzz_handles.rf, NULL) != DQ_OK ||
        dq_report_new(&fuzz_handles.rg, NULL) != DQ_OK)
        abort();
}

/* One symbol's candles (m of them) checked in one batch, where the fast
 * path's screens run, and one candle per batch, where the generic step does
 * everything: the same findings, the same accept mask. */
static void fuzz_fast_equals_generic(const dq_candle *cs, size_t m, const char *symbol, int v,
                                     unsigned char *acc)
{
    dq_checker *cf = fuzz_handles.fast[v], *cg = fuzz_handles.generic[v];
    dq_report *rf = fuzz_handles.rf, *rg = fuzz_handles.rg;
    dq_checker_reset(cf);
    dq_checker_reset(cg);
    dq_report_reset(rf);
    dq_report_reset(rg);
    dq_batch b = DQ_BATCH_INIT;
    b.symbol = symbol;
    b.candles = cs;
    b.count = m;
    b.accept = acc;
    if (dq_check(rf, cf, &b) != DQ_OK)
        abort();
    for (size_t i = 0; i < m; i++) {
        unsigned char one;
        b.candles = &cs[i];
        b.count = 1;
        b.accept = &one;
        if (dq_check(rg, cg, &b) != DQ_OK || one != acc[i])
            abort();
    }
    /* one candle per batch never reaches the fast path; what the fast path
     * accepts has no finding */
    if (dq_report_fast_candles(rg) != 0 || dq_report_fast_candles(rf) > dq_report_accepted(rf))
        abort();
    if (dq_report_rejected(rf) != dq_report_rejected(rg) ||
        dq_report_score(rf) != dq_report_score(rg) ||
        dq_report_issue_count(rf) != dq_report_issue_count(rg))
        abort();
    for (int sev = DQ_SEVERITY_INFO; sev <= DQ_SEVERITY_ERROR; sev++)
        if (dq_report_count(rf, (dq_severity)sev) != dq_report_count(rg, (dq_severity)sev))
            abort();
    for (int code = 0; code < DQ_CODE_COUNT; code++) {
        uint64_t ef, ff, eg, fg;
        if (dq_report_totals(rf, code, &ef, &ff) != DQ_OK ||
            dq_report_totals(rg, code, &eg, &fg) != DQ_OK || ef != eg || ff != fg)
            abort();
    }
}

/* Once per process: a clean series of consecutive days on the 24x7 calendar
 * goes through the comparison, and its batch side must have accepted
 * candles on the fast path; otherwise every comparison would pit the
 * generic step against itself. */
static void fuzz_fast_path_runs(void)
{
    static int done;
    if (done)
        return;
    done = 1;
    enum { N = 64 };
    dq_candle cs[N];
    unsigned char acc[N];
    const int64_t day = INT64_C(86400000), start = INT64_C(18262) * day; /* 2020-01-01 */
    for (size_t i = 0; i < N; i++) {
        double p = 100.0 * (1.0 + 0.001 * (double)(i % 3));
        cs[i] = (dq_candle){ start + (int64_t)i * day, p,         p * 1.01, p * 0.99, p * 1.005,
                             1000.0 + (double)i,       DQ_ABSENT, DQ_ABSENT };
    }
    fuzz_fast_equals_generic(cs, N, "SELF", 1, acc);
    if (dq_report_fast_candles(fuzz_handles.rf) == 0)
        abort();
}

/* fuzz_fast_equals_generic for each symbol and option set. */
static void fuzz_fast_paths(const dqr_data *d)
{
    fuzz_handles_init();
    fuzz_fast_path_runs();
    dq_candle *cs = malloc((d->n ? d->n : 1) * sizeof *cs);
    unsigned char *acc = malloc(d->n ? d->n : 1);
    if (!cs || !acc)
        abort();
    for (size_t s = 0; s < d->nsym; s++) {
        size_t m = 0;
        for (size_t i = 0; i < d->n; i++)
            if (d->sym[i] == s)
                cs[m++] = d->candles[i];
        for (int v = 0; v < FUZZ_OPTION_SETS; v++)
            fuzz_fast_equals_generic(cs, m, d->symbols[s], v, acc);
    }
    free(cs);
    free(acc);
}

#endif
