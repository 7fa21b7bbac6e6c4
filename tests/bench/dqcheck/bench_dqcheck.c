/*
 * Benchmark: the full libdqcheck rule set (batch, candle, temporal with the
 * NYSE calendar, anomalies, report) over 10 million daily candles already in
 * memory, at 0% and 1% defect density, against a same-run reference: one
 * plain pass that reads every field of every candle (a sum). Also the peak
 * memory growth while checking (getrusage maxrss), for 1M and 10M candles,
 * which must not depend on the number of candles.
 *
 * One JSON object per line on stdout (docs/design.md section 6); a table on stderr.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <dqcheck/dqcheck.h>

#include "bench.h"

#define SERIES 5000 /* candles per symbol: 20 years of sessions */
#define RUNS   5

/* n candles: n / SERIES symbols of SERIES consecutive NYSE sessions each,
 * a random walk; `defects` of them (spread at random) broken in one of
 * several ways. */
static dq_candle *make(size_t n, double defect_rate)
{
    static int64_t sessions[SERIES];
    int64_t day = days_from_civil(2000, 1, 3);
    for (size_t k = 0; k < SERIES; day++)
        if (dq_calendar_is_session(DQ_CAL_NYSE, day) == 1)
            sessions[k++] = day * DAY_MS + 5 * 3600000;
    dq_candle *cs = malloc(n * sizeof *cs);
    if (!cs)
        return NULL;
    double p = 50;
    for (size_t i = 0; i < n; i++) {
        size_t k = i % SERIES;
        if (k == 0)
            p = 10 + 90 * uni();
        double o = p * (1 + 0.01 * (uni() - 0.5));
        double c = o * (1 + 0.02 * (uni() - 0.5));
        double hi = (o > c ? o : c) * (1 + 0.005 * uni());
        double lo = (o < c ? o : c) * (1 - 0.005 * uni());
        dq_candle x = {
            sessions[k],           o, hi, lo, c, 1e5 + (double)(rng() % 100000), (hi + lo) / 2,
            (double)(rng() % 5000)
        };
        cs[i] = x;
        p = c;
        if (defect_rate > 0 && uni() < defect_rate) {
            plant_defect(cs, i, k == 0);
        }
    }
    return cs;
}

/* Check all series (one stream per symbol) into one report. */
static double check_pass(const dq_candle *cs, size_t n, dq_report *r, dq_checker *c,
                         unsigned char *accept)
{
    dq_report_reset(r);
    double t0 = bench_now(CLOCK_MONOTONIC);
    for (size_t off = 0; off < n; off += SERIES) {
        dq_checker_reset(c);
        dq_batch b = DQ_BATCH_INIT;
        b.symbol = "BENCH";
        b.candles = cs + off;
        b.count = n - off < SERIES ? n - off : SERIES;
        b.accept = accept ? accept + off : NULL;
        if (dq_check(r, c, &b) != DQ_OK)
            abort();
    }
    return bench_now(CLOCK_MONOTONIC) - t0;
}

static void throughput(const char *name, size_t n, double rate, int with_mask)
{
    dq_candle *cs = make(n, rate);
    unsigned char *mask = with_mask ? malloc(n) : NULL;
    dq_checker *c;
    dq_report *r;
    if (!cs || (with_mask && !mask) || dq_checker_new(&c, NULL) != DQ_OK ||
        dq_report_new(&r, NULL) != DQ_OK) {
        fprintf(stderr, "setup failed\n");
        exit(1);
    }
    double tr[RUNS], tc[RUNS];
    read_pass(cs, n, CLOCK_MONOTONIC); /* warm up: fault the pages in */
    check_pass(cs, n, r, c, mask);
    for (int i = 0; i < RUNS; i++) {
        tr[i] = read_pass(cs, n, CLOCK_MONOTONIC);
        tc[i] = check_pass(cs, n, r, c, mask);
    }
    double ref = (double)n / median(tr, RUNS), val = (double)n / median(tc, RUNS);
    printf("{\"bench\":\"dq_check\",\"case\":\"%s\",\"metric\":\"candles_per_s\",\"value\":%.4g,"
           "\"reference\":\"read_pass\",\"reference_value\":%.4g,\"ratio\":%.3f}\n",
           name, val, ref, val / ref);
    fprintf(stderr,
            "%-40s check %.3g candles/s  read %.3g candles/s  ratio %.3f  "
            "(findings: %llu errors, %llu warnings, %llu info; score %.4f)\n",
            name, val, ref, val / ref, (unsigned long long)dq_report_count(r, DQ_SEVERITY_ERROR),
            (unsigned long long)dq_report_count(r, DQ_SEVERITY_WARNING),
            (unsigned long long)dq_report_count(r, DQ_SEVERITY_INFO), dq_report_score(r));
    fflush(stdout);
    dq_report_free(r);
    dq_checker_free(c);
    free(mask);
    free(cs);
}

static long maxrss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

/* In a child process: maxrss growth (KB) while checking n candles. */
static long rss_growth(size_t n)
{
    int fd[2];
    if (pipe(fd) != 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        close(fd[0]);
        dq_candle *cs = make(n, 0.01);
        if (!cs)
            _exit(1);
        long before = maxrss_kb();
        dq_checker *c;
        dq_report *r;
        if (dq_checker_new(&c, NULL) != DQ_OK || dq_report_new(&r, NULL) != DQ_OK)
            _exit(1);
        check_pass(cs, n, r, c, NULL);
        long growth = maxrss_kb() - before;
        if (write(fd[1], &growth, sizeof growth) != (ssize_t)sizeof growth)
            _exit(1);
        _exit(0);
    }
    close(fd[1]);
    long growth = -1;
    if (read(fd[0], &growth, sizeof growth) != (ssize_t)sizeof growth)
        growth = -1;
    close(fd[0]);
    waitpid(pid, NULL, 0);
    return growth;
}

int main(int argc, char **argv)
{
    size_t n = 10000000;
    if (argc > 1)
        n = (size_t)strtoull(argv[1], NULL, 10); /* a smaller n for a quick look */
    char name[96];
    snprintf(name, sizeof name, "%zuM candles, 0%% defects", n / 1000000);
    throughput(name, n, 0.0, 0);
    snprintf(name, sizeof name, "%zuM candles, 1%% defects", n / 1000000);
    throughput(name, n, 0.01, 0);
    snprintf(name, sizeof name, "%zuM candles, 1%% defects, accept mask", n / 1000000);
    throughput(name, n, 0.01, 1);
    long small = rss_growth(n / 10), big = rss_growth(n);
    printf("{\"bench\":\"dq_check\",\"case\":\"%zuM candles, 1%% defects\",\"metric\":"
           "\"peak_rss_growth_kb\",\"value\":%ld,\"reference\":\"%zuM candles\","
           "\"reference_value\":%ld,\"ratio\":%.3f}\n",
           n / 1000000, big, n / 10000000 ? n / 10000000 : 0, small,
           (double)(small > 0 ? small : 1) / (double)(big > 0 ? big : 1));
    fprintf(stderr,
            "peak RSS growth while checking: %ld KB for %zu candles, %ld KB for %zu "
            "(candles themselves: %zu KB)\n",
            big, n, small, n / 10, n * sizeof(dq_candle) / 1024);
    return 0;
}
