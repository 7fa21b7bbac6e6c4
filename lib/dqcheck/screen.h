/* The fast screen of dq_check (screen_simd.c): branch-free tests of a block
 * of candles against their previous candles, in portable C, SSE2 or AVX2
 * (chosen at run time), and the helpers the checker shares with it. */
#ifndef DQCHECK_SCREEN_H
#define DQCHECK_SCREEN_H

#include <stddef.h>
#include <stdint.h>

#include "internal.h"

/* The screen's verdicts on a block of candles: bit j set when candle j of
 * the block needs the generic step. */
enum { DQ__BLOCK = 256, DQ__FLAG_WORDS = DQ__BLOCK / 64 };

static inline void dq__flag(uint64_t *m, size_t j, unsigned v)
{
    m[j >> 6] |= (uint64_t)v << (j & 63);
}

/* The first flagged candle at or after j, or DQ__BLOCK. */
static inline size_t dq__next_flagged(const uint64_t *m, size_t j)
{
    size_t w = j >> 6;
    uint64_t bits = m[w] & (~UINT64_C(0) << (j & 63));
    while (!bits) {
        if (++w == DQ__FLAG_WORDS)
            return DQ__BLOCK;
        bits = m[w];
    }
    return (w << 6) + (size_t)__builtin_ctzll(bits);
}

/* Thresholds of the fast screen (see dq_check). */
typedef struct dq__screen {
    double vlo, vhi, range, lo, hi;
} dq__screen;

/* The daily time screen: the calendar table and its session starts (both
 * NULL for 24x7, where the ordinal of a day is the day itself). */
typedef struct dq__day_screen {
    const int32_t *tab;
    int64_t day0, ndays;
    const int64_t *start;
    int64_t nsessions;
} dq__day_screen;

/* Daily bars: *ord becomes the ordinal of ts (the sessions before its day);
 * returns 1 when ts is in a session of the calendar. */
static inline int dq__day_of(const dq__day_screen *dy, int64_t ts, int64_t *ord)
{
    int64_t d =
        ts >= 0 ? (int64_t)((uint64_t)ts / (uint64_t)DQ__DAY_MS) : dq__floordiv(ts, DQ__DAY_MS);
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
static inline int dq__day_next(const dq__day_screen *dy, int64_t ts, int64_t *pord)
{
    int64_t ord;
    int ok = dq__day_of(dy, ts, &ord);
    ok &= ord - *pord == 1;
    *pord = ord;
    return ok;
}

/* Screen candles j0 .. hi_i - 1 (dq__flag bits mj .. of m): dq__flag each one that
 * fails a test against the previous candle (sound prices and volume, no
 * range, gap, split or unit candidate, not a repeat) and, for daily bars
 * (dy not NULL), each one not in the session after its previous candle's.
 * *nvw counts the candles with a vwap; *pordp is the ordinal of candle
 * j0 - 1 and becomes that of candle hi_i - 1 (daily bars only). */
void dq__screen_block(uint64_t *m, const dq_candle *cs, size_t mj, size_t j0, size_t hi_i,
                      const dq__screen *s, uint64_t *nvw, const dq__day_screen *dy, int64_t *pordp);

#endif
