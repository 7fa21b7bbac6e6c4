/* What the dqcheck benchmarks share (header-only): a clock, a random
 * source, civil dates, the defects they plant, the read pass they compare
 * with, and medians. */
#ifndef DQCHECK_BENCH_H
#define DQCHECK_BENCH_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include <dqcheck/dqcheck.h>

#include "../../dqcheck/civil.h"

/* Seconds on the given clock (CLOCK_MONOTONIC, CLOCK_THREAD_CPUTIME_ID). */
static inline double bench_now(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;
static inline uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}
static inline double uni(void)
{
    return (double)(rng() >> 11) / 9007199254740992.0;
}

/* Break candle i in one of eight ways, chosen by the random source: high <
 * low, NaN close, zero volume, the previous candle's ts (none when first: the
 * first of its series), a 30% open jump, vwap above the high, negative
 * volume, a low 40% down. */
static inline void plant_defect(dq_candle *cs, size_t i, int first)
{
    switch (rng() % 8) {
    case 0:
        cs[i].high = cs[i].low * 0.99;
        break;
    case 1:
        cs[i].close = NAN;
        break;
    case 2:
        cs[i].volume = 0;
        break;
    case 3:
        if (!first)
            cs[i].ts = cs[i - 1].ts;
        break;
    case 4:
        cs[i].open *= 1.3;
        cs[i].high = cs[i].open;
        break;
    case 5:
        cs[i].vwap = cs[i].high * 1.1;
        break;
    case 6:
        cs[i].volume = -1;
        break;
    case 7:
        cs[i].low = cs[i].low * 0.6;
        break;
    }
}

static volatile double bench_sink;

/* The reference: one pass summing every field of every candle; seconds on
 * the given clock. */
static inline double read_pass(const dq_candle *cs, size_t n, clockid_t clock)
{
    double t0 = bench_now(clock);
    double s = 0;
    for (size_t i = 0; i < n; i++) {
        const dq_candle *c = &cs[i];
        s +=
            (double)c->ts + c->open + c->high + c->low + c->close + c->volume + c->vwap + c->trades;
    }
    bench_sink = s;
    return bench_now(clock) - t0;
}

static inline int bench_cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The median of v[0..n) (sorts v). */
static inline double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, bench_cmp_d);
    return v[n / 2];
}

#endif
