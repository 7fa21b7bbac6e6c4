/* Private declarations shared by the sources of libdqcheck. */
#ifndef DQCHECK_INTERNAL_H
#define DQCHECK_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <dqcheck/dqcheck.h>

#define DQ__DAY_MS  INT64_C(86400000)
#define DQ__HOUR_MS INT64_C(3600000)

/* ---- calendar.c ---- */

/* Floor division and modulo for possibly negative numerators. */
static inline int64_t dq__floordiv(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return q - ((a % b != 0) & ((a < 0) != (b < 0)));
}

int64_t dq__days_from_civil(int y, unsigned m, unsigned d);
void dq__civil_from_days(int64_t z, int *y, unsigned *m, unsigned *d);
/* 0 = Sunday .. 6 = Saturday */
int dq__weekday(int64_t day);

/* First and last year the built-in calendar tables cover. */
#define DQ__CAL_FIRST_YEAR 1971
#define DQ__CAL_LAST_YEAR  2149

/* NYSE full-day closures on weekdays in year y, sorted; returns the count
 * (at most max). */
size_t dq__nyse_closures(int y, int64_t *out, size_t max);
/* US daylight-saving time: local dates [*start, *end) are in DST (the
 * session hours of the start day are already in DST). */
void dq__us_dst(int y, int64_t *start, int64_t *end);

/* A per-day table: entry = sessions_before_day << 2 | is_session << 1 | is_dst.
 * With it, when asked for, the start (Unix ms, UTC midnight) of each session
 * by its ordinal (sessions_before_day of its day), so that a run of
 * consecutive sessions is a run of consecutive entries. */
typedef struct dq__caltab {
    int32_t *e;
    int64_t day0;  /* first day covered */
    int64_t ndays; /* days covered */
    int64_t *start;
    int64_t nsessions;
} dq__caltab;

int dq__caltab_build(dq__caltab *t, dq_calendar cal, int with_starts);
void dq__caltab_free(dq__caltab *t);

/* ---- codes.c ---- */
const char *dq__code_suggestion(int code);
const char *dq__interval_unit_name(dq_unit u);

/* ---- issue.c: what an issue's message needs, kept when the finding is
 * recorded; the text is written when the issue is first read ---- */
typedef struct dq__pending {
    dq_candle k;
    int64_t hw, missing, prev_ord_ts;
    double r, prev_close;
    unsigned num, den, run;
    int level;
    unsigned char intraday_outside, daily, calendar;
    _Atomic unsigned char state;        /* DQ__MSG_* */
    char symbol[25], stream_symbol[25]; /* MIXED_SYMBOL only */
} dq__pending;

enum { DQ__MSG_PENDING, DQ__MSG_WRITING, DQ__MSG_READY };

/* ---- report.c ---- */
struct dq_report {
    dq_report_options o;
    char symbol[64];
    int have_symbol;
    dq_interval interval;
    int have_interval;
    unsigned char sev[DQ_CODE_COUNT]; /* severities of the last dq_check */
    uint32_t enabled;                 /* codes enabled in any dq_check */
    uint64_t candles, rejected, warned;
    uint64_t count[5]; /* by severity */
    uint64_t evaluated[DQ_CODE_COUNT];
    uint64_t failed[DQ_CODE_COUNT];
    uint64_t findings;
    uint64_t fast; /* candles accepted by the fast path */
    size_t nissues;
    dq_issue *issues;
    dq__pending *pending; /* one per issue record */
};

/* ---- checker.c: the checker's layout, shared with issue.c ---- */
#define DQ__SESSION_OPEN_MS  (INT64_C(34200000)) /* 09:30 */
#define DQ__SESSION_CLOSE_MS (INT64_C(57600000)) /* 16:00 */

enum dq__mode {
    DQ__MODE_DAILY_TABLE,
    DQ__MODE_DAILY_24X7,
    DQ__MODE_INTRADAY_TABLE,
    DQ__MODE_INTRADAY_24X7
};

typedef struct dq__stream_state {
    int have_prev;
    int64_t hw; /* latest ts seen */
    int have_ord;
    int64_t last_ord;
    int64_t last_ord_ts;
    int have_ref; /* last in-order candle with finite, positive, consistent prices */
    double ro, rh, rl, rc, rv;
    int64_t rts;
    unsigned run;   /* identical consecutive reference candles ending at ref */
    int unit_level; /* 0, or +-1 per 100x step away from the first level */
    int have_symbol;
    char symbol[64];
    uint64_t pos; /* candles checked since reset */
} dq__stream_state;

struct dq_checker {
    dq_options o;
    unsigned char sev[DQ_CODE_COUNT];
    unsigned char zv_flat;
    uint32_t enabled;
    enum dq__mode mode;
    int64_t step_ms;       /* intraday */
    int64_t slots;         /* intraday bars per session */
    uint64_t step_mul;     /* intraday: x / step_ms = x * step_mul >> step_shift */
    unsigned step_shift;   /*   for 0 <= x < one day (no division per candle) */
    int64_t day_mult;      /* daily multiplier */
    double pre_lo, pre_hi; /* open/prev close outside [pre_lo, pre_hi]: classify */
    dq__caltab tab;
    dq__stream_state st;
    char err[160];
};

/* ---- split.c ---- */
/* Classify open / previous close r as a split: 1 forward (num:den, e.g.
 * 4:1), 2 reverse (1:k), 0 neither, within the relative tolerance tol. */
int dq__classify_split(double r, double tol, unsigned *num, unsigned *den);

/* ---- issue.c ---- */
/* What the hot path learnt about a failing candle, for its messages. */
typedef struct dq__finding_ctx {
    const char *symbol;
    int64_t hw;
    int64_t missing, prev_ord_ts;
    int intraday_outside; /* NON_SESSION: outside the hours, not the day */
    double r, prev_close;
    unsigned num, den;
    unsigned run;
    int level;
} dq__finding_ctx;

/* Count the findings `fails` (a bit per code) of candle k in report r and
 * store issue records while there is room; returns the worst severity and
 * sets *errors to the codes raised with error severity. */
int dq__record(dq_report *r, const dq_checker *c, uint32_t fails, const dq_candle *k, size_t index,
               int64_t row, const dq__finding_ctx *x, uint32_t *errors);

/* Issue record i of r with its message written (the first reader writes it;
 * readers may run concurrently). */
const dq_issue *dq__issue_ready(const dq_report *r, size_t i);

#endif
