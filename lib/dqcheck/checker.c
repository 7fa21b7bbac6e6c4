/* The checker: configuration, stream state and the per-candle hot path. */
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static int bad_num(double x)
{
    return !(x >= 0) || isinf(x);
}

int dq_checker_new(dq_checker **out, const dq_options *opts)
{
    *out = NULL;
    dq_options o = DQ_OPTIONS_INIT;
    if (opts) {
        if (opts->version != DQ_OPTIONS_VERSION)
            return DQ_EINVAL;
        o = *opts;
    }
    if (o.interval.multiplier < 1 || o.interval.multiplier > 1000000 ||
        o.interval.unit < DQ_UNIT_SECOND || o.interval.unit > DQ_UNIT_DAY)
        return DQ_EINVAL;
    if (o.calendar < DQ_CAL_NYSE || o.calendar > DQ_CAL_24X7)
        return DQ_EINVAL;
    if (bad_num(o.open_gap) || bad_num(o.range) || bad_num(o.split_tolerance) ||
        bad_num(o.unit_tolerance) || bad_num(o.vwap_tolerance) || o.split_tolerance >= 0.2 ||
        o.unit_tolerance >= 0.5 || o.stale_repeat < 2)
        return DQ_EINVAL;
    dq_checker *c = calloc(1, sizeof *c);
    if (!c)
        return DQ_ENOMEM;
    c->o = o;
    for (int i = 0; i < DQ_CODE_COUNT; i++) {
        unsigned s = o.severity[i];
        if (s > DQ_SEVERITY_ERROR) {
            free(c);
            return DQ_EINVAL;
        }
        c->sev[i] = (unsigned char)(s == DQ_SEVERITY_DEFAULT ? dq_code_default_severity(i) : s);
    }
    for (int i = DQ_CODE_COUNT; i < DQ_CODE_MAX; i++)
        if (o.severity[i] != 0) {
            free(c);
            return DQ_EINVAL;
        }
    if (o.zero_volume_flat_severity > DQ_SEVERITY_ERROR) {
        free(c);
        return DQ_EINVAL;
    }
    c->zv_flat = o.zero_volume_flat_severity == DQ_SEVERITY_DEFAULT
                     ? (unsigned char)DQ_SEVERITY_INFO
                     : o.zero_volume_flat_severity;
    for (int i = 0; i < DQ_CODE_COUNT; i++)
        if (c->sev[i] != DQ_SEVERITY_OFF || (i == DQ_ZERO_VOLUME && c->zv_flat != DQ_SEVERITY_OFF))
            c->enabled |= 1u << i;

    if (o.interval.unit == DQ_UNIT_DAY) {
        c->mode = o.calendar == DQ_CAL_24X7 ? MODE_DAILY_24X7 : MODE_DAILY_TABLE;
        c->day_mult = o.interval.multiplier;
    } else {
        int64_t unit_ms = o.interval.unit == DQ_UNIT_SECOND   ? 1000
                          : o.interval.unit == DQ_UNIT_MINUTE ? 60000
                                                              : DQ_HOUR_MS;
        c->step_ms = unit_ms * (int64_t)o.interval.multiplier;
        c->mode = o.calendar == DQ_CAL_24X7 ? MODE_INTRADAY_24X7 : MODE_INTRADAY_TABLE;
        c->slots = (SESSION_CLOSE_MS - SESSION_OPEN_MS + c->step_ms - 1) / c->step_ms;
    }
    if (c->mode == MODE_DAILY_TABLE || c->mode == MODE_INTRADAY_TABLE) {
        /* the daily AVX2 screen walks the session starts */
        int rc = dq_caltab_build(&c->tab, o.calendar, c->mode == MODE_DAILY_TABLE);
        if (rc != DQ_OK) {
            free(c);
            return rc;
        }
    }
    /* The smallest forward candidate is 3:2 (ratio 2/3), the smallest
     * reverse one 1:2 (ratio 2); 100x lies beyond both. */
    c->pre_lo = (2.0 / 3.0) * (1.0 + o.split_tolerance);
    c->pre_hi = 2.0 * (1.0 - o.split_tolerance);
    *out = c;
    return DQ_OK;
}

void dq_checker_free(dq_checker *c)
{
    if (!c)
        return;
    dq_caltab_free(&c->tab);
    free(c);
}

void dq_checker_reset(dq_checker *c)
{
    memset(&c->st, 0, sizeof c->st);
    c->err[0] = '\0';
}

const char *dq_checker_errmsg(const dq_checker *c)
{
    return c->err;
}

#define BIT(code) (1u << (code))

/* The loop's view of the stream: the checker's configuration unpacked, the
 * stream state, and this batch's counters. */
typedef struct loop {
    dq_checker *c;
    dq_report *report;
    const dq_batch *b;
    uint32_t en;
    uint32_t *errors; /* the batch's errors output, NULL when not wanted */
    int batch_mismatch;
    /* stream state (copied back to the checker at the end) */
    int have_prev, have_ord, have_ref;
    int64_t hw, last_ord, last_ord_ts;
    int last_ord_stale; /* last_ord is not yet worked out from last_ord_ts */
    double ro, rh, rl, rc, rv;
    unsigned run;
    int unit_level;
    /* counters of the candles the generic step handled */
    uint64_t ev_order, ev_gap, ev_sess, ev_valid, ev_anom, rejected, warned;
} loop;

/* Session and expected-bar ordinal of ts. Returns 0 when the date is
 * outside the calendar tables (not evaluated). */
static inline int session_of(const dq_checker *c, int64_t ts, int *in_session, int64_t *ord,
                             int *outside_hours)
{
    const int32_t *tab = c->tab.e;
    const int64_t day0 = c->tab.day0, ndays = c->tab.ndays;
    *outside_hours = 0;
    switch (c->mode) {
    case MODE_DAILY_TABLE: {
        int64_t idx = dq_floordiv(ts, DQ_DAY_MS) - day0;
        if ((uint64_t)idx >= (uint64_t)ndays)
            return 0;
        int32_t e = tab[idx];
        *in_session = (e >> 1) & 1;
        *ord = e >> 2;
        return 1;
    }
    case MODE_DAILY_24X7:
        *in_session = 1;
        *ord = dq_floordiv(ts, DQ_DAY_MS);
        return 1;
    case MODE_INTRADAY_TABLE: {
        int64_t idx = dq_floordiv(ts - 5 * DQ_HOUR_MS, DQ_DAY_MS) - day0;
        if ((uint64_t)idx >= (uint64_t)ndays)
            return 0;
        int32_t e = tab[idx];
        int64_t local = ts - ((e & 1) ? 4 : 5) * DQ_HOUR_MS;
        int64_t lday = dq_floordiv(local, DQ_DAY_MS);
        if (lday - day0 != idx) { /* 23:00-24:00 local in summer */
            idx = lday - day0;
            if ((uint64_t)idx >= (uint64_t)ndays)
                return 0;
            e = tab[idx];
        }
        int64_t ms = local - lday * DQ_DAY_MS;
        int hours_ok = ms >= SESSION_OPEN_MS && ms < SESSION_CLOSE_MS;
        *in_session = ((e >> 1) & 1) & hours_ok;
        *outside_hours = ((e >> 1) & 1) && !hours_ok;
        *ord = (int64_t)(e >> 2) * c->slots + (ms - SESSION_OPEN_MS) / c->step_ms;
        return 1;
    }
    case MODE_INTRADAY_24X7:
        *in_session = 1;
        *ord = dq_floordiv(ts, c->step_ms);
        return 1;
    }
    return 0;
}

/* The ordinal of the last in-session bar. The fast path leaves it to be
 * worked out from its ts when needed: looking the day up then, next to the
 * candle being checked, costs one cache miss instead of two. */
static int64_t last_ord(loop *L)
{
    if (L->last_ord_stale) {
        int ins = 0, oh = 0;
        (void)session_of(L->c, L->last_ord_ts, &ins, &L->last_ord, &oh);
        L->last_ord_stale = 0;
    }
    return L->last_ord;
}

/*
 * The generic step: every check of candle i against the stream state, the
 * findings recorded, the state advanced. Returns 1 when afterwards the state
 * is "simple": candle i is the latest ts, the last in-session bar and the
 * reference, with no unit switch pending, so that the fast path may take
 * candle i + 1.
 */
static int step(loop *L, size_t i)
{
    dq_checker *c = L->c;
    const dq_options *o = &c->o;
    const dq_batch *b = L->b;
    const dq_candle *k = &b->candles[i];
    const double op = k->open, hi = k->high, lo = k->low, cl = k->close, vo = k->volume;
    const double vw = k->vwap, tr = k->trades;
    const int64_t ts = k->ts;
    uint32_t f = 0;

    /* Batch checks. */
    if (b->symbols && b->symbols[i]) {
        const char *s = b->symbols[i];
        stream_state *st = &c->st;
        if (!st->have_symbol) {
            snprintf(st->symbol, sizeof st->symbol, "%s", s);
            st->have_symbol = 1;
            if (!L->report->have_symbol) {
                snprintf(L->report->symbol, sizeof L->report->symbol, "%s", s);
                L->report->have_symbol = 1;
            }
        } else if (strncmp(s, st->symbol, sizeof st->symbol - 1) != 0) {
            f |= BIT(DQ_MIXED_SYMBOL);
        }
    } else {
        f |= (uint32_t)L->batch_mismatch << DQ_MIXED_SYMBOL;
    }
    int in_order = 1;
    if (L->have_prev) {
        L->ev_order++;
        if (ts <= L->hw) {
            in_order = 0;
            f |= ts == L->hw ? BIT(DQ_DUPLICATE_TS) : BIT(DQ_UNSORTED);
        }
    }

    /* Candle checks. */
    const double z = (op - op) + (hi - hi) + (lo - lo) + (cl - cl) + (vo - vo);
    const int finite = z == 0.0;
    const int opt_inf = (fabs(vw) == INFINITY) | (fabs(tr) == INFINITY);
    const int nonpos = (op <= 0) | (hi <= 0) | (lo <= 0) | (cl <= 0) | (vw <= 0);
    f |= (uint32_t)((!finite) | opt_inf) << DQ_NONFINITE;
    f |= (uint32_t)nonpos << DQ_NONPOSITIVE_PRICE;
    f |= (uint32_t)((vo < 0) | (tr < 0)) << DQ_NEGATIVE_VOLUME;
    f |= (uint32_t)(hi < lo) << DQ_HIGH_LT_LOW;
    f |= (uint32_t)((hi < op) | (hi < cl)) << DQ_HIGH_LT_OPEN_CLOSE;
    f |= (uint32_t)((lo > op) | (lo > cl)) << DQ_LOW_GT_OPEN_CLOSE;
    f |= (uint32_t)(vo == 0) << DQ_ZERO_VOLUME;
    f |= (uint32_t)((vw < lo * (1.0 - o->vwap_tolerance)) | (vw > hi * (1.0 + o->vwap_tolerance)))
         << DQ_VWAP_OUTSIDE_RANGE;

    /* Temporal checks. */
    int in_session = 0, outside_hours = 0;
    int64_t ord = 0;
    int covered = session_of(c, ts, &in_session, &ord, &outside_hours);
    L->ev_sess += (uint64_t)covered;
    f |= (uint32_t)(covered & !in_session) << DQ_NON_SESSION_TS;
    int64_t missing = 0, prev_ord_ts = L->last_ord_ts;
    if (covered && in_order && in_session) {
        if (L->have_ord) {
            L->ev_gap++;
            missing = ord - last_ord(L) - 1;
            if (c->day_mult > 1 && missing > 0) /* N/day bars: N sessions per bar */
                missing = (missing + 1) / c->day_mult - 1;
            f |= (uint32_t)(missing > 0) << DQ_GAP;
        }
        L->have_ord = 1;
        L->last_ord = ord;
        L->last_ord_stale = 0;
        L->last_ord_ts = ts;
    }
    if (in_order) {
        L->hw = ts;
        L->have_prev = 1;
    }

    /* Anomalies, against the reference candle (see below). */
    const int valid = finite & !nonpos;
    unsigned run_new = 1;
    int level_new = 0;
    double r = 0;
    unsigned num = 0, den = 0;
    if (valid) {
        L->ev_valid++;
        f |= (uint32_t)((hi - lo) > o->range * lo) << DQ_RANGE;
        if (L->have_ref) {
            L->ev_anom++;
            r = op / L->rc;
            level_new = L->unit_level;
            uint32_t explained = 0;
            if (r < c->pre_lo || r > c->pre_hi) {
                if (fabs(r / 100.0 - 1.0) <= o->unit_tolerance)
                    level_new++;
                else if (fabs(r * 100.0 - 1.0) <= o->unit_tolerance)
                    level_new--;
                else {
                    int sp = dq_classify_split(r, o->split_tolerance, &num, &den);
                    if (sp)
                        explained = BIT(sp == 1 ? DQ_POSSIBLE_SPLIT : DQ_POSSIBLE_REVERSE_SPLIT);
                }
            }
            if (level_new != 0)
                explained |= BIT(DQ_UNIT_100X);
            explained &= L->en;
            f |= explained;
            /* A split or a unit switch explains the gap: no OPEN_GAP too. */
            int unit_jump = level_new != L->unit_level && (L->en & BIT(DQ_UNIT_100X));
            if (!explained && !unit_jump)
                f |= (uint32_t)(fabs(r - 1.0) > o->open_gap) << DQ_OPEN_GAP;
            int same =
                (op == L->ro) & (hi == L->rh) & (lo == L->rl) & (cl == L->rc) & (vo == L->rv);
            run_new = same ? L->run + 1 : 1;
            f |= (uint32_t)(run_new >= o->stale_repeat) << DQ_STALE_REPEAT;
        }
    }

    uint32_t fe = f & L->en;
    int accepted = 1;
    uint32_t errors = 0;
    if (fe) {
        dq_finding_ctx x = { b->symbols && b->symbols[i] ? b->symbols[i] : b->symbol,
                             L->hw,
                             missing,
                             prev_ord_ts,
                             outside_hours,
                             r,
                             L->rc,
                             num,
                             den,
                             run_new,
                             level_new };
        int64_t row = b->rows ? b->rows[i] : (int64_t)(c->st.pos + i);
        int worst = dq_record(L->report, c, fe, k, i, row, &x, &errors);
        if (worst == DQ_SEVERITY_ERROR) {
            accepted = 0;
            L->rejected++;
        } else if (worst == DQ_SEVERITY_WARNING) {
            L->warned++;
        }
    }
    if (b->accept)
        b->accept[i] = (unsigned char)accepted;
    if (L->errors)
        L->errors[i] = errors;
    /* The next candle's reference: the last in-order candle with finite,
     * positive, consistent prices, whatever the configured severities (so
     * that rejecting an anomaly never poisons what follows). */
    const uint32_t inconsistent = BIT(DQ_HIGH_LT_LOW) | BIT(DQ_HIGH_LT_OPEN_CLOSE) |
                                  BIT(DQ_LOW_GT_OPEN_CLOSE) | BIT(DQ_UNSORTED) |
                                  BIT(DQ_DUPLICATE_TS);
    int is_ref = valid && !(f & inconsistent);
    if (is_ref) {
        L->have_ref = 1;
        L->ro = op;
        L->rh = hi;
        L->rl = lo;
        L->rc = cl;
        L->rv = vo;
        L->run = run_new;
        L->unit_level = level_new;
    }
    return is_ref && in_order && covered && in_session && L->unit_level == 0;
}

/* The screen's verdicts on a block of candles: bit j set when candle j of
 * the block needs the generic step. */
enum { BLOCK = 256, FLAG_WORDS = BLOCK / 64 };

static inline void flag(uint64_t *m, size_t j, unsigned v)
{
    m[j >> 6] |= (uint64_t)v << (j & 63);
}

/* The first flagged candle at or after j, or BLOCK. */
static inline size_t next_flagged(const uint64_t *m, size_t j)
{
    size_t w = j >> 6;
    uint64_t bits = m[w] & (~UINT64_C(0) << (j & 63));
    while (!bits) {
        if (++w == FLAG_WORDS)
            return BLOCK;
        bits = m[w];
    }
    return (w << 6) + (size_t)__builtin_ctzll(bits);
}

/* Thresholds of the fast screen (see dq_check). */
typedef struct screen {
    double vlo, vhi, range, lo, hi;
} screen;

/* The daily time screen: the calendar table and its session starts (both
 * NULL for 24x7, where the ordinal of a day is the day itself). */
typedef struct day_screen {
    const int32_t *tab;
    int64_t day0, ndays;
    const int64_t *start;
    int64_t nsessions;
} day_screen;

/* Daily bars: *ord becomes the ordinal of ts (the sessions before its day);
 * returns 1 when ts is in a session of the calendar. */
static inline int day_of(const day_screen *dy, int64_t ts, int64_t *ord)
{
    int64_t d =
        ts >= 0 ? (int64_t)((uint64_t)ts / (uint64_t)DQ_DAY_MS) : dq_floordiv(ts, DQ_DAY_MS);
    if (!dy->tab) {
        *ord = d;
        return 1;
    }
    int64_t idx = d - dy->day0;
    /* outside the table: 0, no session */
    int32_t e = (uint64_t)idx < (uint64_t)dy->ndays ? dy->tab[idx] : 0;
    *ord = e >> 2;
    return (e >> 1) & 1;
}

/* Daily bars: 1 when ts is in the session after ordinal *pord (which implies
 * a later ts); *pord becomes the ordinal of ts. */
static inline int day_next(const day_screen *dy, int64_t ts, int64_t *pord)
{
    int64_t ord;
    int ok = day_of(dy, ts, &ord);
    ok &= ord - *pord == 1;
    *pord = ord;
    return ok;
}

/* DQ_PORTABLE_SCREEN builds the portable screen on x86 too (tests). */
#if defined(__SSE2__) && !defined(DQ_PORTABLE_SCREEN)
#define DQ_SSE2_SCREEN 1
#include <emmintrin.h>
#endif
/* Candles to prefetch ahead in the screen (measured: 32 beats 8 and 16 by
 * 20-30% on the benchmark, 48 and 64 are no better). */
#ifndef PREFETCH_AHEAD
#define PREFETCH_AHEAD 32
#endif
/* The same for the AVX2 screen: one block ahead, so that the memory keeps
 * streaming while the generic step works through the block's flagged
 * candles (measured on a 2-core EPYC VM, the two builds in one process:
 * 256 beats 64 by 3-13%, 32 is 6-8% slower than 64, 512 is no better). */
#ifndef PREFETCH_AHEAD_AVX2
#define PREFETCH_AHEAD_AVX2 256
#endif
#if defined(DQ_SSE2_SCREEN)
/* The screen of dq_check, two fields per instruction: flags candle j0 + c
 * (bit mj + c of m) unless it passes every test against the previous candle
 * (the same tests as the portable loop). */
static void screen_prices_sse2(uint64_t *m, const dq_candle *cs, size_t mj, size_t j0, size_t hi_i,
                               const screen *s, uint64_t *nvw, const day_screen *dy, int64_t *pordp)
{
    int64_t pord = *pordp;
    const __m128d zero = _mm_setzero_pd(), dmax = _mm_set1_pd(DBL_MAX);
    const __m128d zmax = _mm_set_pd(DBL_MAX, 0.0); /* [0, DBL_MAX] */
    const __m128d vlh = _mm_set_pd(s->vhi, s->vlo);
    const __m128d rng = _mm_set1_pd(s->range);
    const __m128d slh = _mm_set_pd(s->hi, s->lo);
    uint64_t nv = 0;
    for (size_t j = j0; j < hi_i; j++, mj++) {
        const dq_candle *k = &cs[j];
        /* the stream is memory-bound: ask for the candles well ahead */
        _mm_prefetch((const char *)((uintptr_t)k + PREFETCH_AHEAD * sizeof *k), _MM_HINT_T0);
        const __m128d oh = _mm_loadu_pd(&k->open);   /* [open, high] */
        const __m128d lc = _mm_loadu_pd(&k->low);    /* [low, close] */
        const __m128d vw = _mm_loadu_pd(&k->volume); /* [volume, vwap] */
        const __m128d tr = _mm_load1_pd(&k->trades);
        const __m128d pcv = _mm_loadu_pd(&cs[j - 1].close); /* [prev close, prev volume] */
        const __m128d ll = _mm_unpacklo_pd(lc, lc);
        const __m128d hh = _mm_unpackhi_pd(oh, oh);
        const __m128d oc = _mm_move_sd(lc, oh);       /* [open, close] */
        const __m128d lv = _mm_unpacklo_pd(lc, vw);   /* [low, volume] */
        const __m128d hv = _mm_shuffle_pd(oh, vw, 1); /* [high, volume] */
        const __m128d lh = _mm_shuffle_pd(lc, oh, 2); /* [low, high] */
        const __m128d ww = _mm_unpackhi_pd(vw, vw);   /* [vwap, vwap] */
        const __m128d oo = _mm_unpacklo_pd(oh, oh);   /* [open, open] */
        const __m128d pp = _mm_unpacklo_pd(pcv, pcv); /* [prev close x2] */
        const __m128d cv = _mm_shuffle_pd(lc, vw, 1); /* [close, volume] */
        /* low <= open, close <= high; low, volume > 0; high, volume finite */
        __m128d g = _mm_and_pd(_mm_cmple_pd(ll, oc), _mm_cmple_pd(oc, hh));
        g = _mm_and_pd(g, _mm_cmplt_pd(zero, lv));
        g = _mm_and_pd(g, _mm_cmple_pd(hv, dmax));
        /* vwap absent (NaN) or in [low * vlo, high * vhi] and > 0 */
        const __m128d lim = _mm_mul_pd(lh, vlh);
        g = _mm_and_pd(g, _mm_move_sd(_mm_cmpnlt_pd(lim, ww), _mm_cmpnlt_pd(ww, lim)));
        g = _mm_and_pd(g, _mm_cmpnle_pd(ww, zero));
        /* trades absent or in [0, DBL_MAX] */
        g = _mm_and_pd(g, _mm_move_sd(_mm_cmpnlt_pd(zmax, tr), _mm_cmpnlt_pd(tr, zmax)));
        /* range */
        g = _mm_and_pd(g, _mm_cmple_pd(_mm_sub_pd(hh, ll), _mm_mul_pd(rng, ll)));
        /* open within [prev close * lo, prev close * hi] */
        const __m128d ol = _mm_mul_pd(pp, slh);
        g = _mm_and_pd(g, _mm_move_sd(_mm_cmple_pd(oo, ol), _mm_cmple_pd(ol, oo)));
        const int ok = _mm_movemask_pd(g) == 3;
        const int changed = _mm_movemask_pd(_mm_cmpneq_pd(cv, pcv)) != 0;
        nv += (uint64_t)(_mm_movemask_pd(_mm_cmpord_pd(ww, ww)) & 1);
        int tok = 1;
        if (dy)
            tok = day_next(dy, k->ts, &pord);
        flag(m, mj, (unsigned)!(ok & changed & tok));
    }
    *nvw += nv;
    *pordp = pord;
}

/* DQ_NO_AVX2_SCREEN leaves the SSE2 screen alone on AVX2 hosts (tests). */
#if defined(__GNUC__) && defined(__x86_64__) && !defined(DQ_NO_AVX2_SCREEN)
#define DQ_AVX2_SCREEN 1
#include <immintrin.h>

/* Four candles' pairs of adjacent 8-byte fields at p (the first field of
 * candle 0) transposed: *a = the first field of candles 0..3, *b = the second. */
__attribute__((target("avx2"))) static inline void pairs4(const void *p, __m256d *a, __m256d *b)
{
    enum { S = sizeof(dq_candle) };
    const char *c0 = p;
    const double *f0 = p, *f1 = (const void *)(c0 + S), *f2 = (const void *)(c0 + 2 * S),
                 *f3 = (const void *)(c0 + 3 * S);
    const __m256d x0 =
        _mm256_insertf128_pd(_mm256_castpd128_pd256(_mm_loadu_pd(f0)), _mm_loadu_pd(f2), 1);
    const __m256d x1 =
        _mm256_insertf128_pd(_mm256_castpd128_pd256(_mm_loadu_pd(f1)), _mm_loadu_pd(f3), 1);
    *a = _mm256_unpacklo_pd(x0, x1);
    *b = _mm256_unpackhi_pd(x0, x1);
}

/* The session starts of ordinals base .. base + 3 in *st; 0 when the
 * calendar has no such run. */
__attribute__((target("avx2"))) static inline int session_starts4(const day_screen *dy,
                                                                  int64_t base, __m256i *st)
{
    if (dy->start) {
        if (base < 0 || base > dy->nsessions - 4)
            return 0;
        *st = _mm256_loadu_si256((const __m256i *)(const void *)(dy->start + base));
        return 1;
    }
    /* 24x7: the days themselves, as far as their starts fit in an int64 */
    const int64_t far = INT64_C(1) << 36;
    if (base < -far || base > far)
        return 0;
    *st = _mm256_add_epi64(_mm256_set1_epi64x(base * DQ_DAY_MS),
                           _mm256_setr_epi64x(0, DQ_DAY_MS, 2 * DQ_DAY_MS, 3 * DQ_DAY_MS));
    return 1;
}

/* The SSE2 screen four candles at a time, the fields transposed so that each
 * test is one instruction for four candles (the same tests, the same
 * rounding). Screens candles j0 .. j0 + 4q - 1 and returns 4q; mj is a
 * multiple of 4, so that a group's flags share a word. *pordp is the ordinal
 * of candle j0 - 1, and becomes that of the last candle screened. */
__attribute__((target("avx2"))) static size_t
screen_prices_avx2(uint64_t *m, const dq_candle *cs, size_t mj, size_t j0, size_t hi_i,
                   const screen *s, uint64_t *nvw, const day_screen *dy, int64_t *pordp)
{
    const __m256d zero = _mm256_setzero_pd(), dmax = _mm256_set1_pd(DBL_MAX);
    const __m256d vlo = _mm256_set1_pd(s->vlo), vhi = _mm256_set1_pd(s->vhi);
    const __m256d rng = _mm256_set1_pd(s->range);
    const __m256d slo = _mm256_set1_pd(s->lo), shi = _mm256_set1_pd(s->hi);
    /* Daily bars: base is the ordinal after candle j - 1's, and candle j + c
     * passes when it lies in the session of ordinal base + c (bit c of t)
     * and, for c > 0, candle j + c - 1 in that of base + c - 1 (t << 1):
     * then the two are consecutive sessions, as day_next asks. When some
     * candle of a group is not where expected, candle j + 3 resyncs base.
     * Either way base - 1 is the ordinal of the last candle screened. */
    int64_t base = *pordp + 1;
    const __m256i izero = _mm256_setzero_si256(), dayms = _mm256_set1_epi64x(DQ_DAY_MS);
    uint64_t nv = 0;
    size_t j = j0;
    for (; j + 4 <= hi_i; j += 4, mj += 4) {
        const dq_candle *k = &cs[j];
        /* a candle is a cache line: one prefetch each */
        for (size_t c = 0; c < 4; c++)
            _mm_prefetch((const char *)((uintptr_t)k + (PREFETCH_AHEAD_AVX2 + c) * sizeof *k),
                         _MM_HINT_T0);
        __m256d ts, op, hi, lo, cl, vo, vw, tr, pc, pv;
        pairs4(&k->ts, &ts, &op);
        pairs4(&k->high, &hi, &lo);
        pairs4(&k->close, &cl, &vo);
        pairs4(&k->vwap, &vw, &tr);
        pairs4(&k[-1].close, &pc, &pv);
        /* low <= open, close <= high; low, volume > 0; high, volume finite */
        __m256d g =
            _mm256_and_pd(_mm256_cmp_pd(lo, op, _CMP_LE_OQ), _mm256_cmp_pd(lo, cl, _CMP_LE_OQ));
        g = _mm256_and_pd(g, _mm256_cmp_pd(op, hi, _CMP_LE_OQ));
        g = _mm256_and_pd(g, _mm256_cmp_pd(cl, hi, _CMP_LE_OQ));
        g = _mm256_and_pd(g, _mm256_cmp_pd(zero, lo, _CMP_LT_OQ));
        g = _mm256_and_pd(g, _mm256_cmp_pd(zero, vo, _CMP_LT_OQ));
        g = _mm256_and_pd(g, _mm256_cmp_pd(hi, dmax, _CMP_LE_OQ));
        g = _mm256_and_pd(g, _mm256_cmp_pd(vo, dmax, _CMP_LE_OQ));
        /* vwap absent (NaN) or in [low * vlo, high * vhi] and > 0 */
        g = _mm256_and_pd(g, _mm256_cmp_pd(vw, _mm256_mul_pd(lo, vlo), _CMP_NLT_UQ));
        g = _mm256_and_pd(g, _mm256_cmp_pd(vw, _mm256_mul_pd(hi, vhi), _CMP_NGT_UQ));
        g = _mm256_and_pd(g, _mm256_cmp_pd(vw, zero, _CMP_NLE_UQ));
        /* trades absent or in [0, DBL_MAX] */
        g = _mm256_and_pd(g, _mm256_cmp_pd(tr, zero, _CMP_NLT_UQ));
        g = _mm256_and_pd(g, _mm256_cmp_pd(tr, dmax, _CMP_NGT_UQ));
        /* range */
        g = _mm256_and_pd(g,
                          _mm256_cmp_pd(_mm256_sub_pd(hi, lo), _mm256_mul_pd(rng, lo), _CMP_LE_OQ));
        /* open within [prev close * lo, prev close * hi] */
        g = _mm256_and_pd(g, _mm256_cmp_pd(_mm256_mul_pd(pc, slo), op, _CMP_LE_OQ));
        g = _mm256_and_pd(g, _mm256_cmp_pd(op, _mm256_mul_pd(pc, shi), _CMP_LE_OQ));
        /* not a repeat of the previous candle (close and volume) */
        g = _mm256_and_pd(g, _mm256_or_pd(_mm256_cmp_pd(cl, pc, _CMP_NEQ_UQ),
                                          _mm256_cmp_pd(vo, pv, _CMP_NEQ_UQ)));
        unsigned ok = (unsigned)_mm256_movemask_pd(g);
        nv += (uint64_t)__builtin_popcount(
            (unsigned)_mm256_movemask_pd(_mm256_cmp_pd(vw, vw, _CMP_ORD_Q)));
        if (dy) {
            unsigned t = 0;
            __m256i st;
            if (session_starts4(dy, base, &st)) {
                /* ts - start in [0, one day) (wrapping: a far ts lands outside) */
                const __m256i d = _mm256_sub_epi64(_mm256_castpd_si256(ts), st);
                const __m256i in =
                    _mm256_andnot_si256(_mm256_cmpgt_epi64(izero, d), _mm256_cmpgt_epi64(dayms, d));
                t = (unsigned)_mm256_movemask_pd(_mm256_castsi256_pd(in));
            }
            ok &= t & (t << 1 | 1);
            base += 4;
            if (t != 15) {
                (void)day_of(dy, k[3].ts, &base);
                base++;
            }
        }
        m[mj >> 6] |= (uint64_t)(~ok & 15u) << (mj & 63);
    }
    *nvw += nv;
    if (dy)
        *pordp = base - 1;
    return j - j0;
}
#endif
#endif

/* After the fast path accepted candle p: the state it left. */
static void materialise(loop *L, const dq_candle *p)
{
    L->have_prev = L->have_ord = L->have_ref = 1;
    L->hw = L->last_ord_ts = p->ts;
    L->last_ord_stale = 1;
    L->ro = p->open;
    L->rh = p->high;
    L->rl = p->low;
    L->rc = p->close;
    L->rv = p->volume;
    L->run = 1;
    L->unit_level = 0;
}

int dq_check(dq_report *report, dq_checker *c, const dq_batch *b)
{
    if (b->version < 1 || b->version > DQ_BATCH_VERSION) {
        snprintf(c->err, sizeof c->err, "dq_batch.version is %u, expected 1..%u", b->version,
                 (unsigned)DQ_BATCH_VERSION);
        return DQ_EINVAL;
    }
    if (!b->candles && b->count > 0) {
        snprintf(c->err, sizeof c->err, "dq_batch.candles is NULL with count %zu", b->count);
        return DQ_EINVAL;
    }
    c->err[0] = '\0';
    stream_state *st = &c->st;
    const dq_options *o = &c->o;

    loop L;
    memset(&L, 0, sizeof L);
    L.c = c;
    L.report = report;
    L.b = b;
    L.en = c->enabled;
    L.errors = b->version >= 2 ? b->errors : NULL;

    /* Symbols: the stream's symbol is the first one seen. */
    if (b->symbol && b->symbol[0]) {
        if (!st->have_symbol) {
            snprintf(st->symbol, sizeof st->symbol, "%s", b->symbol);
            st->have_symbol = 1;
        } else {
            L.batch_mismatch = strncmp(b->symbol, st->symbol, sizeof st->symbol - 1) != 0;
        }
        if (!report->have_symbol) {
            snprintf(report->symbol, sizeof report->symbol, "%s", b->symbol);
            report->have_symbol = 1;
        }
    }
    report->interval = o->interval;
    report->have_interval = 1;
    memcpy(report->sev, c->sev, sizeof report->sev);
    report->enabled |= L.en;

    L.have_prev = st->have_prev;
    L.have_ord = st->have_ord;
    L.have_ref = st->have_ref;
    L.hw = st->hw;
    L.last_ord = st->last_ord;
    L.last_ord_ts = st->last_ord_ts;
    L.ro = st->ro;
    L.rh = st->rh;
    L.rl = st->rl;
    L.rc = st->rc;
    L.rv = st->rv;
    L.run = st->run;
    L.unit_level = st->unit_level;

    const dq_candle *cs = b->candles;
    const size_t n = b->count;
    unsigned char *const accept = b->accept;

    /*
     * The fast path. Phase 1 screens a block of candles without branches:
     * m[j] is 0 when candle i passes every check measured against candle
     * i - 1 as the stream state (in order, one session after it, not equal
     * to it, no gap, range, split or unit candidate, sound prices and
     * volume). Phase 2 accepts such a candle at once when the state really
     * is candle i - 1 ("simple"); every other candle takes the generic step,
     * which gives the same answer for the fast ones by construction.
     */
    const int daily = c->mode == MODE_DAILY_TABLE || c->mode == MODE_DAILY_24X7;
    const int fast_ok = (!daily || c->day_mult == 1) && !b->symbols && !L.batch_mismatch;
    /* open / previous close must lie within [1 - open_gap, 1 + open_gap] and
     * [pre_lo, pre_hi]; the screen is narrower by a relative 1e-9 so that
     * rounding never lets through a candle the generic step would flag. */
    screen scr;
    scr.vlo = 1.0 - o->vwap_tolerance;
    scr.vhi = 1.0 + o->vwap_tolerance;
    scr.range = o->range;
    scr.lo = fmax(1.0 - o->open_gap, c->pre_lo) * (1 + 1e-9);
    scr.hi = fmin(1.0 + o->open_gap, c->pre_hi) * (1 - 1e-9);
    const int table = c->mode == MODE_DAILY_TABLE;
    const day_screen dys = { table ? c->tab.e : NULL, c->tab.day0, c->tab.ndays,
                             table ? c->tab.start : NULL, c->tab.nsessions };
    uint64_t ev_vwap = 0, nfast = 0;
    int simple = 0, pending = 0; /* pending: the state is candle i - 1, not yet written */
    uint64_t m[FLAG_WORDS];

    for (size_t lo_i = 0; lo_i < n; lo_i += BLOCK) {
        size_t hi_i = n - lo_i < BLOCK ? n : lo_i + BLOCK;
        if (fast_ok) {
            memset(m, 0, sizeof m);
            /* the outputs of the candles the fast path accepts (the generic
             * step overwrites those of the others) */
            if (accept)
                memset(accept + lo_i, 1, hi_i - lo_i);
            if (L.errors)
                memset(L.errors + lo_i, 0, (hi_i - lo_i) * sizeof *L.errors);
            /* the batch's first four candles take the generic step (the
             * first has no previous candle; the rest keep the screens'
             * groups of four aligned) */
            size_t j0 = lo_i;
            if (lo_i == 0) {
                j0 = n < 4 ? n : 4;
                for (size_t j = 0; j < j0; j++) {
                    flag(m, j, 1);
                    ev_vwap += cs[j].vwap == cs[j].vwap;
                }
            }
            /* the ordinal of candle j0 - 1 (a value no ordinal follows when
             * it is outside the tables) */
            int64_t pord = INT64_MIN / 2;
            {
                int ins = 0, oh = 0;
                int64_t ord = 0;
                if (session_of(c, cs[j0 - 1].ts, &ins, &ord, &oh))
                    pord = ord;
            }
            /* prices, against the previous close; NaN fails every test */
            uint64_t nvw = 0;
#if defined(DQ_SSE2_SCREEN)
            size_t j1 = j0;
#if defined(DQ_AVX2_SCREEN)
            if (__builtin_cpu_supports("avx2"))
                j1 += screen_prices_avx2(m, cs, j0 - lo_i, j0, hi_i, &scr, &nvw,
                                         daily ? &dys : NULL, &pord);
#endif
            screen_prices_sse2(m, cs, j1 - lo_i, j1, hi_i, &scr, &nvw, daily ? &dys : NULL, &pord);
#else
            for (size_t j = j0; j < hi_i; j++) {
                const dq_candle *k = &cs[j];
#if defined(__GNUC__)
                __builtin_prefetch((const void *)((uintptr_t)k + PREFETCH_AHEAD * sizeof *k));
#endif
                const double op = k->open, hi = k->high, lw = k->low, cl = k->close;
                const double vo = k->volume, vw = k->vwap, tr = k->trades;
                const double pc = cs[j - 1].close, pv = cs[j - 1].volume;
                nvw += vw == vw;
                /* finite, positive, low <= open, close <= high: NONFINITE,
                 * NONPOSITIVE_PRICE and the three high/low checks */
                int good = (lw > 0) & (op >= lw) & (cl >= lw) & (op <= hi) & (cl <= hi) &
                           (hi <= DBL_MAX) & (vo > 0) & (vo <= DBL_MAX);
                /* optional fields: NaN (absent) passes */
                good &= !((vw <= 0) | (vw < lw * scr.vlo) | (vw > hi * scr.vhi) | (tr < 0) |
                          (tr > DBL_MAX));
                good &= (hi - lw) <= scr.range * lw;
                /* open against the previous close: no gap, split or unit
                 * candidate (screen_lo/hi are conservative by a hair, so the
                 * generic step decides every case near a threshold) */
                good &= (op >= pc * scr.lo) & (op <= pc * scr.hi);
                /* not a repeat of the previous candle (close and volume) */
                good &= (cl != pc) | (vo != pv);
                flag(m, j - lo_i, (unsigned)!good);
            }
#endif
            ev_vwap += nvw;
            /* time: the next session after candle j - 1 (implies a later ts);
             * the SSE2 and AVX2 screens do it for daily bars in the same pass */
            if (daily) {
#if !defined(DQ_SSE2_SCREEN)
                for (size_t j = j0; j < hi_i; j++)
                    flag(m, j - lo_i, (unsigned)!day_next(&dys, cs[j].ts, &pord));
#endif
            } else {
                /* intraday: in a session and the next slot (slot ordinals grow
                 * with ts, so this implies a later ts as well) */
                for (size_t j = j0; j < hi_i; j++) {
                    int ins = 0, oh = 0;
                    int64_t ord = 0;
                    int ok = session_of(c, cs[j].ts, &ins, &ord, &oh) & ins;
                    ok &= ord - pord == 1;
                    pord = ok ? ord : INT64_MIN / 2;
                    flag(m, j - lo_i, (unsigned)!ok);
                }
            }
        }
        size_t i = lo_i;
        while (i < hi_i) {
            if (fast_ok && simple) {
                /* accept the run of screened candles up to the next flagged one */
                size_t j = next_flagged(m, i - lo_i);
                if (j > hi_i - lo_i)
                    j = hi_i - lo_i;
                size_t run = lo_i + j - i;
                if (run) {
                    nfast += run;
                    pending = 1;
                    i += run;
                    continue;
                }
            }
            if (pending) { /* materialise the state: candle i - 1 */
                materialise(&L, &cs[i - 1]);
                pending = 0;
            }
            if (!fast_ok)
                ev_vwap += cs[i].vwap == cs[i].vwap;
            simple = step(&L, i);
            i++;
        }
    }
    if (pending)
        materialise(&L, &cs[n - 1]);

    st->have_prev = L.have_prev;
    st->have_ord = L.have_ord;
    st->have_ref = L.have_ref;
    st->hw = L.hw;
    st->last_ord = last_ord(&L);
    st->last_ord_ts = L.last_ord_ts;
    st->ro = L.ro;
    st->rh = L.rh;
    st->rl = L.rl;
    st->rc = L.rc;
    st->rv = L.rv;
    st->run = L.run;
    st->unit_level = L.unit_level;
    st->pos += n;

    report->candles += n;
    report->fast += nfast;
    report->rejected += L.rejected;
    report->warned += L.warned;
    const uint32_t en = L.en;
    uint64_t *ev = report->evaluated;
    static const unsigned char all_candles[] = {
        DQ_MIXED_SYMBOL, DQ_NONFINITE,          DQ_NONPOSITIVE_PRICE, DQ_NEGATIVE_VOLUME,
        DQ_HIGH_LT_LOW,  DQ_HIGH_LT_OPEN_CLOSE, DQ_LOW_GT_OPEN_CLOSE, DQ_ZERO_VOLUME,
    };
    for (size_t j = 0; j < sizeof all_candles; j++)
        if (en & BIT(all_candles[j]))
            ev[all_candles[j]] += n;
    static const unsigned char anomalies[] = { DQ_OPEN_GAP, DQ_POSSIBLE_SPLIT,
                                               DQ_POSSIBLE_REVERSE_SPLIT, DQ_UNIT_100X,
                                               DQ_STALE_REPEAT };
    for (size_t j = 0; j < sizeof anomalies; j++)
        if (en & BIT(anomalies[j]))
            ev[anomalies[j]] += L.ev_anom + nfast;
    if (en & BIT(DQ_UNSORTED))
        ev[DQ_UNSORTED] += L.ev_order + nfast;
    if (en & BIT(DQ_DUPLICATE_TS))
        ev[DQ_DUPLICATE_TS] += L.ev_order + nfast;
    if (en & BIT(DQ_VWAP_OUTSIDE_RANGE))
        ev[DQ_VWAP_OUTSIDE_RANGE] += ev_vwap;
    if (en & BIT(DQ_GAP))
        ev[DQ_GAP] += L.ev_gap + nfast;
    if (en & BIT(DQ_NON_SESSION_TS))
        ev[DQ_NON_SESSION_TS] += L.ev_sess + nfast;
    if (en & BIT(DQ_RANGE))
        ev[DQ_RANGE] += L.ev_valid + nfast;
    return DQ_OK;
}
