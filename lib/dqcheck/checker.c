/* The checker: configuration, stream state and the per-candle hot path. */
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "screen.h"

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
        c->mode = o.calendar == DQ_CAL_24X7 ? DQ__MODE_DAILY_24X7 : DQ__MODE_DAILY_TABLE;
        c->day_mult = o.interval.multiplier;
    } else {
        int64_t unit_ms = o.interval.unit == DQ_UNIT_SECOND   ? 1000
                          : o.interval.unit == DQ_UNIT_MINUTE ? 60000
                                                              : DQ__HOUR_MS;
        c->step_ms = unit_ms * (int64_t)o.interval.multiplier;
        c->mode = o.calendar == DQ_CAL_24X7 ? DQ__MODE_INTRADAY_24X7 : DQ__MODE_INTRADAY_TABLE;
        c->slots = (DQ__SESSION_CLOSE_MS - DQ__SESSION_OPEN_MS + c->step_ms - 1) / c->step_ms;
        /* Offsets x into the session are < 2^25 ms. With shift = 32 +
         * floor(log2 step) and mul = ceil(2^shift / step), x * mul < 2^58
         * and x * (mul * step - 2^shift) < x * step < 2^shift, so that
         * x * mul >> shift is exactly x / step. A step longer than the
         * session leaves every bar in slot 0 (mul 0). */
        if (c->step_ms <= DQ__SESSION_CLOSE_MS - DQ__SESSION_OPEN_MS) {
            c->step_shift = 32u + (unsigned)(63 - __builtin_clzll((uint64_t)c->step_ms));
            c->step_mul =
                ((UINT64_C(1) << c->step_shift) + (uint64_t)c->step_ms - 1) / (uint64_t)c->step_ms;
        }
    }
    if (c->mode == DQ__MODE_DAILY_TABLE || c->mode == DQ__MODE_INTRADAY_TABLE) {
        /* the daily AVX2 screen walks the session starts */
        int rc = dq__caltab_build(&c->tab, o.calendar, c->mode == DQ__MODE_DAILY_TABLE);
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
    dq__caltab_free(&c->tab);
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

/* Intraday: the ts values [lo, hi) of the slot after a bar's, in the same
 * session (empty when the bar is in the session's last slot, or not in a
 * session), and the end of that session. */
typedef struct slot_window {
    int64_t lo, hi, end;
} slot_window;

/* The window of the slot after the one that starts at start, in a session
 * that ends at end. */
static inline void window_after(slot_window *w, int64_t start, int64_t step, int64_t end)
{
    w->end = end;
    w->lo = start + step;
    w->hi = w->lo < end - step ? w->lo + step : end;
}

/* Session and expected-bar ordinal of ts. Returns 0 when the date is
 * outside the calendar tables (not evaluated). For intraday bars, when w is
 * not NULL, *w becomes the window of the next slot. */
static inline int session_of(const dq_checker *c, int64_t ts, int *in_session, int64_t *ord,
                             int *outside_hours, slot_window *w)
{
    if (w)
        w->lo = w->hi = w->end = 0;
    const int32_t *tab = c->tab.e;
    const int64_t day0 = c->tab.day0, ndays = c->tab.ndays;
    *outside_hours = 0;
    switch (c->mode) {
    case DQ__MODE_DAILY_TABLE: {
        int64_t idx = dq__floordiv(ts, DQ__DAY_MS) - day0;
        if ((uint64_t)idx >= (uint64_t)ndays)
            return 0;
        int32_t e = tab[idx];
        *in_session = (e >> 1) & 1;
        *ord = e >> 2;
        return 1;
    }
    case DQ__MODE_DAILY_24X7:
        *in_session = 1;
        *ord = dq__floordiv(ts, DQ__DAY_MS);
        return 1;
    case DQ__MODE_INTRADAY_TABLE: {
        int64_t idx = dq__floordiv(ts - 5 * DQ__HOUR_MS, DQ__DAY_MS) - day0;
        if ((uint64_t)idx >= (uint64_t)ndays)
            return 0;
        int32_t e = tab[idx];
        int64_t local = ts - ((e & 1) ? 4 : 5) * DQ__HOUR_MS;
        int64_t lday = dq__floordiv(local, DQ__DAY_MS);
        if (lday - day0 != idx) { /* 23:00-24:00 local in summer */
            idx = lday - day0;
            if ((uint64_t)idx >= (uint64_t)ndays)
                return 0;
            e = tab[idx];
        }
        int64_t ms = local - lday * DQ__DAY_MS;
        int hours_ok = ms >= DQ__SESSION_OPEN_MS && ms < DQ__SESSION_CLOSE_MS;
        *in_session = ((e >> 1) & 1) & hours_ok;
        *outside_hours = ((e >> 1) & 1) && !hours_ok;
        /* the slot in the session (any value outside the hours) */
        const uint64_t off = hours_ok ? (uint64_t)(ms - DQ__SESSION_OPEN_MS) : 0;
        *ord = (int64_t)(e >> 2) * c->slots + (int64_t)((off * c->step_mul) >> c->step_shift);
        if (w && *in_session)
            window_after(w, ts - (int64_t)off + (*ord - (int64_t)(e >> 2) * c->slots) * c->step_ms,
                         c->step_ms, ts - ms + DQ__SESSION_CLOSE_MS);
        return 1;
    }
    case DQ__MODE_INTRADAY_24X7:
        *in_session = 1;
        *ord = dq__floordiv(ts, c->step_ms);
        /* as far as the next two slots fit in an int64 */
        if (w && ts > INT64_MIN + 2 * c->step_ms && ts < INT64_MAX - 3 * c->step_ms)
            window_after(w, *ord * c->step_ms, c->step_ms, INT64_MAX - c->step_ms);
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
        (void)session_of(L->c, L->last_ord_ts, &ins, &L->last_ord, &oh, NULL);
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
        dq__stream_state *st = &c->st;
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
    int covered = session_of(c, ts, &in_session, &ord, &outside_hours, NULL);
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
                    int sp = dq__classify_split(r, o->split_tolerance, &num, &den);
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
        dq__finding_ctx x = { b->symbols && b->symbols[i] ? b->symbols[i] : b->symbol,
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
        int worst = dq__record(L->report, c, fe, k, i, row, &x, &errors);
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
    dq__stream_state *st = &c->st;
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
    const int daily = c->mode == DQ__MODE_DAILY_TABLE || c->mode == DQ__MODE_DAILY_24X7;
    const int fast_ok = (!daily || c->day_mult == 1) && !b->symbols && !L.batch_mismatch;
    /* open / previous close must lie within [1 - open_gap, 1 + open_gap] and
     * [pre_lo, pre_hi]; the screen is narrower by a relative 1e-9 so that
     * rounding never lets through a candle the generic step would flag. */
    dq__screen scr;
    scr.vlo = 1.0 - o->vwap_tolerance;
    scr.vhi = 1.0 + o->vwap_tolerance;
    scr.range = o->range;
    scr.lo = fmax(1.0 - o->open_gap, c->pre_lo) * (1 + 1e-9);
    scr.hi = fmin(1.0 + o->open_gap, c->pre_hi) * (1 - 1e-9);
    const int table = c->mode == DQ__MODE_DAILY_TABLE;
    const dq__day_screen dys = { table ? c->tab.e : NULL, c->tab.day0, c->tab.ndays,
                                 table ? c->tab.start : NULL, c->tab.nsessions };
    uint64_t ev_vwap = 0, nfast = 0;
    int simple = 0, pending = 0; /* pending: the state is candle i - 1, not yet written */
    uint64_t m[DQ__FLAG_WORDS];

    for (size_t lo_i = 0; lo_i < n; lo_i += DQ__BLOCK) {
        size_t hi_i = n - lo_i < DQ__BLOCK ? n : lo_i + DQ__BLOCK;
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
                    dq__flag(m, j, 1);
                    ev_vwap += cs[j].vwap == cs[j].vwap;
                }
            }
            /* the ordinal of candle j0 - 1 (a value no ordinal follows when
             * it is outside the tables) */
            int64_t pord = INT64_MIN / 2;
            slot_window w;
            {
                int ins = 0, oh = 0;
                int64_t ord = 0;
                if (session_of(c, cs[j0 - 1].ts, &ins, &ord, &oh, &w))
                    pord = ord;
            }
            /* prices, against the previous close; NaN fails every test */
            uint64_t nvw = 0;
            dq__screen_block(m, cs, j0 - lo_i, j0, hi_i, &scr, &nvw, daily ? &dys : NULL, &pord);
            ev_vwap += nvw;
            /* time: the next session after candle j - 1 (implies a later ts);
             * the SSE2 and AVX2 screens do it for daily bars in the same pass */
            if (!daily) {
                /* intraday: in a session and the next slot (slot ordinals grow
                 * with ts, so this implies a later ts as well) */
                for (size_t j = j0; j < hi_i; j++) {
                    const int64_t ts = cs[j].ts;
                    if (ts >= w.lo && ts < w.hi) { /* the slot after candle j - 1's */
                        pord++;
                        window_after(&w, w.lo, c->step_ms, w.end);
                        continue;
                    }
                    /* the next session, or not the next slot: look the day up
                     * (once per session on clean bars) */
                    int ins = 0, oh = 0;
                    int64_t ord = 0;
                    int covered = session_of(c, ts, &ins, &ord, &oh, &w);
                    dq__flag(m, j - lo_i, (unsigned)!(covered & ins & (ord - pord == 1)));
                    /* candle j + 1 is screened against candle j, whatever
                     * candle j's verdict: the fast path takes it only when
                     * candle j left the state simple (in a session, in order) */
                    pord = covered ? ord : INT64_MIN / 2;
                }
            }
        }
        size_t i = lo_i;
        while (i < hi_i) {
            if (fast_ok && simple) {
                /* accept the run of screened candles up to the next flagged one */
                size_t j = dq__next_flagged(m, i - lo_i);
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
