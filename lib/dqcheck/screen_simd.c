/* The fast screen of dq_check: the same tests in portable C, two fields per
 * instruction (SSE2) or four candles per instruction (AVX2, when the CPU has
 * it). */
#include <float.h>
#include <stdint.h>

#include "screen.h"

/* DQ_PORTABLE_SCREEN builds the portable screen on x86 too (tests). */
#if defined(__SSE2__) && !defined(DQ_PORTABLE_SCREEN)
#define DQ__SSE2_SCREEN 1
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
#if defined(DQ__SSE2_SCREEN)
/* The screen of dq_check, two fields per instruction: flags candle j0 + c
 * (bit mj + c of m) unless it passes every test against the previous candle
 * (the same tests as the portable loop). */
static void screen_prices_sse2(uint64_t *m, const dq_candle *cs, size_t mj, size_t j0, size_t hi_i,
                               const dq__screen *s, uint64_t *nvw, const dq__day_screen *dy,
                               int64_t *pordp)
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
            tok = dq__day_next(dy, k->ts, &pord);
        dq__flag(m, mj, (unsigned)!(ok & changed & tok));
    }
    *nvw += nv;
    *pordp = pord;
}

/* DQ_NO_AVX2_SCREEN leaves the SSE2 screen alone on AVX2 hosts (tests). */
#if defined(__GNUC__) && defined(__x86_64__) && !defined(DQ_NO_AVX2_SCREEN)
#define DQ__AVX2_SCREEN 1
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
__attribute__((target("avx2"))) static inline int session_starts4(const dq__day_screen *dy,
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
    *st = _mm256_add_epi64(_mm256_set1_epi64x(base * DQ__DAY_MS),
                           _mm256_setr_epi64x(0, DQ__DAY_MS, 2 * DQ__DAY_MS, 3 * DQ__DAY_MS));
    return 1;
}

/* The SSE2 screen four candles at a time, the fields transposed so that each
 * test is one instruction for four candles (the same tests, the same
 * rounding). Screens candles j0 .. j0 + 4q - 1 and returns 4q; mj is a
 * multiple of 4, so that a group's flags share a word. *pordp is the ordinal
 * of candle j0 - 1, and becomes that of the last candle screened. */
__attribute__((target("avx2"))) static size_t
screen_prices_avx2(uint64_t *m, const dq_candle *cs, size_t mj, size_t j0, size_t hi_i,
                   const dq__screen *s, uint64_t *nvw, const dq__day_screen *dy, int64_t *pordp)
{
    const __m256d zero = _mm256_setzero_pd(), dmax = _mm256_set1_pd(DBL_MAX);
    const __m256d vlo = _mm256_set1_pd(s->vlo), vhi = _mm256_set1_pd(s->vhi);
    const __m256d rng = _mm256_set1_pd(s->range);
    const __m256d slo = _mm256_set1_pd(s->lo), shi = _mm256_set1_pd(s->hi);
    /* Daily bars: base is the ordinal after candle j - 1's, and candle j + c
     * passes when it lies in the session of ordinal base + c (bit c of t)
     * and, for c > 0, candle j + c - 1 in that of base + c - 1 (t << 1):
     * then the two are consecutive sessions, as dq__day_next asks. When some
     * candle of a group is not where expected, candle j + 3 resyncs base.
     * Either way base - 1 is the ordinal of the last candle screened. */
    int64_t base = *pordp + 1;
    const __m256i izero = _mm256_setzero_si256(), dayms = _mm256_set1_epi64x(DQ__DAY_MS);
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
                (void)dq__day_of(dy, k[3].ts, &base);
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

void dq__screen_block(uint64_t *m, const dq_candle *cs, size_t mj, size_t j0, size_t hi_i,
                      const dq__screen *s, uint64_t *nvw, const dq__day_screen *dy, int64_t *pordp)
{
#if defined(DQ__SSE2_SCREEN)
    size_t j1 = j0;
#if defined(DQ__AVX2_SCREEN)
    if (__builtin_cpu_supports("avx2"))
        j1 += screen_prices_avx2(m, cs, mj, j0, hi_i, s, nvw, dy, pordp);
#endif
    screen_prices_sse2(m, cs, mj + (j1 - j0), j1, hi_i, s, nvw, dy, pordp);
#else
    uint64_t nv = 0;
    for (size_t j = j0; j < hi_i; j++) {
        const dq_candle *k = &cs[j];
#if defined(__GNUC__)
        __builtin_prefetch((const void *)((uintptr_t)k + PREFETCH_AHEAD * sizeof *k));
#endif
        const double op = k->open, hi = k->high, lw = k->low, cl = k->close;
        const double vo = k->volume, vw = k->vwap, tr = k->trades;
        const double pc = cs[j - 1].close, pv = cs[j - 1].volume;
        nv += vw == vw;
        /* finite, positive, low <= open, close <= high: NONFINITE,
         * NONPOSITIVE_PRICE and the three high/low checks */
        int good = (lw > 0) & (op >= lw) & (cl >= lw) & (op <= hi) & (cl <= hi) & (hi <= DBL_MAX) &
                   (vo > 0) & (vo <= DBL_MAX);
        /* optional fields: NaN (absent) passes */
        good &= !((vw <= 0) | (vw < lw * s->vlo) | (vw > hi * s->vhi) | (tr < 0) | (tr > DBL_MAX));
        good &= (hi - lw) <= s->range * lw;
        /* open against the previous close: no gap, split or unit
         * candidate (screen_lo/hi are conservative by a hair, so the
         * generic step decides every case near a threshold) */
        good &= (op >= pc * s->lo) & (op <= pc * s->hi);
        /* not a repeat of the previous candle (close and volume) */
        good &= (cl != pc) | (vo != pv);
        dq__flag(m, mj + (j - j0), (unsigned)!good);
    }
    *nvw += nv;
    /* time: the next session after candle j - 1 (implies a later ts) */
    if (dy)
        for (size_t j = j0; j < hi_i; j++)
            dq__flag(m, mj + (j - j0), (unsigned)!dq__day_next(dy, cs[j].ts, pordp));
#endif
}
