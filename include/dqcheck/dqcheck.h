/*
 * dqcheck.h — data-quality checks for OHLCV candles: batch, per-candle,
 * temporal and anomaly checks, a quality score and a JSON report.
 *
 * Thread safety: libdqcheck has no mutable global state. Functions that take
 * no handle are safe to call from any thread. A dq_checker and a dq_report
 * are not locked: one thread at a time may use each (a checker carries the
 * state of one stream). Functions that only read a report (the dq_report_*
 * getters and dq_report_to_json) may run concurrently with each other.
 * Distinct handles are independent, so N threads may check N streams with N
 * checkers and N reports.
 *
 * Overview. A candle (dq_candle) is one bar of one symbol. A batch
 * (dq_batch) is one symbol's candles in the order received, for example one
 * page of an API response. A checker (dq_checker) holds the configuration
 * (dq_options: interval, calendar, thresholds, severities) and the state of
 * the stream, so that page N+1 is checked against the end of page N: checking
 * a series in pages gives exactly the same findings as checking it whole.
 * dq_check() appends the findings to a report (dq_report), which counts every
 * failure, keeps at most max_issues issue records, and yields a quality
 * score and JSON. Per-candle checking allocates nothing.
 */
#ifndef DQCHECK_DQCHECK_H
#define DQCHECK_DQCHECK_H

#include <stddef.h>
#include <stdint.h>

#include <dqcheck/version.h> /* generated: DQ_VERSION_MAJOR/MINOR/PATCH/NUMBER */

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define DQ_API          __attribute__((visibility("default")))
#define DQ_NODISCARD    __attribute__((warn_unused_result))
#define DQ_NONNULL(...) __attribute__((nonnull(__VA_ARGS__)))
#else
#define DQ_API
#define DQ_NODISCARD
#define DQ_NONNULL(...)
#endif

/* Error codes: 0 is success, failures are negative. */
typedef enum dq_error {
    DQ_OK = 0,
    DQ_EINVAL = -1, /* an argument or option is out of range */
    DQ_ENOMEM = -2, /* allocation failed; nothing was changed */
} dq_error;

/* Static text for an error code; never NULL, also for unknown codes. */
DQ_API const char *dq_strerror(int err);

/* Runtime version as DQ_VERSION_NUMBER (0xMMmmpp) of the library linked. */
DQ_API uint32_t dq_version(void);

/* ------------------------------------------------------------------------
 * The model
 * ------------------------------------------------------------------------ */

/*
 * One bar. ts is Unix time in milliseconds at the start of the bar (daily
 * bars: any time of their day, usually midnight New York as Polygon stamps
 * them, or midnight UTC; the session date is the UTC date of ts). vwap and
 * trades are optional: NaN means absent (DQ_ABSENT). 64 bytes.
 */
typedef struct dq_candle {
    int64_t ts;
    double open;
    double high;
    double low;
    double close;
    double volume;
    double vwap;   /* NaN when absent */
    double trades; /* number of trades; NaN when absent */
} dq_candle;

/* The value of an absent optional field (a quiet NaN). */
#if defined(__GNUC__)
#define DQ_ABSENT (__builtin_nan(""))
#else
#define DQ_ABSENT (0.0 / 0.0)
#endif

/* Check codes. The numbers and names are stable: they appear in reports and
 * databases. Default severities are in brackets. The anomaly checks (OPEN_GAP
 * to STALE_REPEAT) compare a candle with the stream's reference candle: the
 * last in-order candle with finite, positive, consistent prices (low <= open,
 * close <= high), whatever the configured severities; "previous close" below
 * is its close. A candle found to be a split or a unit switch gets no
 * OPEN_GAP as well. */
typedef enum dq_code {
    DQ_MIXED_SYMBOL = 0,       /* [error] candle of another symbol than the stream's */
    DQ_UNSORTED = 1,           /* [error] ts before the latest ts seen so far */
    DQ_DUPLICATE_TS = 2,       /* [error] ts equal to the latest ts seen so far */
    DQ_NONFINITE = 3,          /* [error] NaN or +-Inf in a price or volume, Inf in vwap/trades */
    DQ_NONPOSITIVE_PRICE = 4,  /* [error] open, high, low, close (or vwap) <= 0 */
    DQ_NEGATIVE_VOLUME = 5,    /* [error] volume (or trades) < 0 */
    DQ_HIGH_LT_LOW = 6,        /* [error] high < low */
    DQ_HIGH_LT_OPEN_CLOSE = 7, /* [error] high < max(open, close) */
    DQ_LOW_GT_OPEN_CLOSE = 8,  /* [error] low > min(open, close) */
    DQ_VWAP_OUTSIDE_RANGE = 9, /* [warning] vwap outside [low, high] beyond vwap_tolerance */
    DQ_ZERO_VOLUME = 10,       /* [warning; info for a flat bar, high == low] volume == 0 */
    DQ_GAP = 11,               /* [warning] expected intervals missing; reports how many */
    DQ_NON_SESSION_TS = 12,    /* [warning] bar outside the calendar's sessions */
    DQ_OPEN_GAP = 13,          /* [warning] |open / previous close - 1| > open_gap */
    DQ_RANGE = 14,             /* [warning] (high - low) / low > range */
    DQ_POSSIBLE_SPLIT = 15,    /* [warning] open / previous close near 1/k (k:1 split) */
    DQ_POSSIBLE_REVERSE_SPLIT = 16, /* [warning] open / previous close near k (1:k) */
    DQ_UNIT_100X = 17,              /* [warning] prices 100x off the previous ones */
    DQ_STALE_REPEAT = 18,           /* [warning] stale_repeat identical consecutive candles */
} dq_code;

/* Number of check codes defined (codes are 0 .. DQ_CODE_COUNT - 1). */
#define DQ_CODE_COUNT 19
/* Room reserved in dq_options.severity for codes added later. */
#define DQ_CODE_MAX 32

/* Severities. DQ_SEVERITY_DEFAULT (0) in dq_options.severity means "the
 * check's default"; DQ_SEVERITY_OFF turns the check off (not evaluated). */
typedef enum dq_severity {
    DQ_SEVERITY_DEFAULT = 0,
    DQ_SEVERITY_OFF = 1,
    DQ_SEVERITY_INFO = 2,
    DQ_SEVERITY_WARNING = 3,
    DQ_SEVERITY_ERROR = 4,
} dq_severity;

/* Stable name of a code, e.g. "HIGH_LT_LOW"; NULL for an unknown code. */
DQ_API const char *dq_code_name(int code);

/* The code named name (as dq_code_name spells it, case-insensitive), or
 * DQ_EINVAL when there is none. name is borrowed for the call. */
DQ_API DQ_NODISCARD DQ_NONNULL(1) int dq_code_from_name(const char *name);

/* Default severity of a code (DQ_SEVERITY_INFO .. _ERROR); ZERO_VOLUME's
 * default for a moving bar (warning). DQ_SEVERITY_OFF for an unknown code. */
DQ_API dq_severity dq_code_default_severity(int code);

/* "off", "info", "warning", "error" ("default" for 0); NULL when unknown. */
DQ_API const char *dq_severity_name(int severity);

/* The severity named name ("off", "info", "warning", "error"), or
 * DQ_EINVAL. name is borrowed for the call. */
DQ_API DQ_NODISCARD DQ_NONNULL(1) int dq_severity_from_name(const char *name);

/* Bar interval units. */
typedef enum dq_unit {
    DQ_UNIT_SECOND = 1,
    DQ_UNIT_MINUTE = 2,
    DQ_UNIT_HOUR = 3,
    DQ_UNIT_DAY = 4,
} dq_unit;

/* A bar interval: multiplier x unit, as Polygon's "5/minute". */
typedef struct dq_interval {
    unsigned multiplier; /* >= 1 */
    dq_unit unit;
} dq_interval;

/*
 * Parse "N/unit" (unit: second, minute, hour, day; plural accepted, e.g.
 * "1/day", "5/minute", "2/hours") into *out. Returns DQ_OK or DQ_EINVAL
 * (*out unchanged). text is borrowed for the call.
 */
DQ_API DQ_NODISCARD DQ_NONNULL(1, 2) int dq_interval_parse(dq_interval *out, const char *text);

/* Session calendars. */
typedef enum dq_calendar {
    DQ_CAL_NYSE = 1,     /* NYSE: weekends, holidays with observed days, special
                            closures; intraday: 09:30-16:00 America/New_York */
    DQ_CAL_WEEKDAYS = 2, /* every Monday-Friday; intraday as NYSE's session hours */
    DQ_CAL_24X7 = 3,     /* every day, every minute (crypto) */
} dq_calendar;

/*
 * Is the UTC date `day` (days since 1970-01-01) a session of calendar cal?
 * Returns 1 or 0, or DQ_EINVAL for an unknown calendar or, for NYSE, a date
 * outside the years the built-in rules cover (1970-2149).
 */
DQ_API DQ_NODISCARD int dq_calendar_is_session(dq_calendar cal, int64_t day);

/* ------------------------------------------------------------------------
 * The checker
 * ------------------------------------------------------------------------ */

/*
 * Configuration. Initialise with DQ_OPTIONS_INIT, then change fields; new
 * fields are only ever added at the end. Each default's reason is in
 * docs/dqcheck.md. Thresholds compare with ">" (a value exactly at the
 * threshold passes) except the tolerances, which match with "<=".
 */
typedef struct dq_options {
    unsigned version;       /* DQ_OPTIONS_VERSION */
    dq_interval interval;   /* default 1/day */
    dq_calendar calendar;   /* default DQ_CAL_NYSE */
    double open_gap;        /* OPEN_GAP: |open/prev close - 1| > this; default 0.20 */
    double range;           /* RANGE: (high - low)/low > this; default 0.30 */
    double split_tolerance; /* splits: |ratio/candidate - 1| <= this; default 0.05 */
    double unit_tolerance;  /* UNIT_100X: |ratio/100 - 1| <= this; default 0.10 */
    double vwap_tolerance;  /* VWAP_OUTSIDE_RANGE: relative slack; default 0.001 */
    unsigned stale_repeat;  /* STALE_REPEAT: run length N (>= 2); default 5 */
    /* Severity per code, indexed by dq_code; DQ_SEVERITY_DEFAULT (0) keeps
     * the default, DQ_SEVERITY_OFF disables the check. */
    unsigned char severity[DQ_CODE_MAX];
    /* Severity of ZERO_VOLUME on a flat bar (high == low); default info. */
    unsigned char zero_volume_flat_severity;
} dq_options;

#define DQ_OPTIONS_VERSION 1
#define DQ_OPTIONS_INIT                                                                            \
    {                                                                                              \
        DQ_OPTIONS_VERSION, { 1, DQ_UNIT_DAY }, DQ_CAL_NYSE, 0.20, 0.30, 0.05, 0.10, 0.001, 5,     \
            { 0 }, 0                                                                               \
    }

/* A checker with its configuration and stream state. Opaque. */
typedef struct dq_checker dq_checker;

/*
 * Create a checker. opts may be NULL for the defaults; it is copied, not
 * kept. On success *out is a new checker that the caller owns and frees with
 * dq_checker_free(). Returns DQ_OK, DQ_EINVAL (a field out of range: bad
 * version, interval, calendar, a negative or NaN threshold, stale_repeat < 2,
 * an unknown severity) or DQ_ENOMEM; on failure *out is NULL.
 */
DQ_API DQ_NODISCARD DQ_NONNULL(1) int dq_checker_new(dq_checker **out, const dq_options *opts);

/* Free a checker. NULL is a harmless no-op. */
DQ_API void dq_checker_free(dq_checker *c);

/* Forget the stream state (previous candle, symbol, position): the next
 * batch starts a new series. The configuration is kept. */
DQ_API DQ_NONNULL(1) void dq_checker_reset(dq_checker *c);

/* Text describing the last failure of a call on this checker ("" when the
 * last call succeeded). Borrowed; valid until the next call on c. */
DQ_API DQ_NONNULL(1) const char *dq_checker_errmsg(const dq_checker *c);

/* A batch to check. Initialise with DQ_BATCH_INIT. All pointers are
 * borrowed for the duration of dq_check(). */
typedef struct dq_batch {
    unsigned version;         /* DQ_BATCH_VERSION */
    const char *symbol;       /* the batch's symbol; may be NULL (unknown) */
    const dq_candle *candles; /* count candles in received order */
    size_t count;
    /* Optional per-candle symbols (count entries; NULL entries mean "the
     * batch's symbol"); a candle whose symbol differs from the stream's
     * (the first symbol seen since the last reset) fails MIXED_SYMBOL. */
    const char *const *symbols;
    /* Optional row numbers for the report's "row" (count entries), e.g. the
     * line of a file; default: the candle's position in the stream (candles
     * checked by this checker since the last reset). */
    const int64_t *rows;
    /* Optional output: accept[i] is set to 1 when candle i has no finding of
     * error severity, else 0 (count entries; caller-owned). */
    unsigned char *accept;
    /* Optional output (version 2): errors[i] is set to the checks candle i
     * failed with error severity, bit (1u << code) per dq_code, 0 for an
     * accepted candle (count entries; caller-owned). Unlike the report's
     * issue records it is never truncated, so a caller can always say why
     * each rejected candle was rejected. */
    uint32_t *errors;
} dq_batch;

/* Batches of version 1 (without errors) are still accepted. */
#define DQ_BATCH_VERSION 2
#define DQ_BATCH_INIT                                                                              \
    {                                                                                              \
        DQ_BATCH_VERSION, NULL, NULL, 0, NULL, NULL, NULL, NULL                                    \
    }

/* A report: counts, issue records, score. Opaque. */
typedef struct dq_report dq_report;

/*
 * Check a batch against the stream state of c and append the findings to
 * report (which may already hold earlier batches' findings: it accumulates
 * until dq_report_reset()). Updates the stream state. Allocates nothing per
 * candle. Returns DQ_OK or DQ_EINVAL (bad batch version, candles NULL with
 * count > 0); on failure neither c nor report changed.
 */
DQ_API DQ_NODISCARD DQ_NONNULL(1, 2, 3) int dq_check(dq_report *report, dq_checker *c,
                                                     const dq_batch *batch);

/* ------------------------------------------------------------------------
 * The report
 * ------------------------------------------------------------------------ */

/* Report options. Initialise with DQ_REPORT_OPTIONS_INIT. */
typedef struct dq_report_options {
    unsigned version;  /* DQ_REPORT_OPTIONS_VERSION */
    size_t max_issues; /* issue records kept (all are counted); default 1000 */
    /* The report "passed" when no finding reaches this severity
     * (DQ_SEVERITY_INFO .. _ERROR, or DQ_SEVERITY_OFF: always passes);
     * default DQ_SEVERITY_ERROR. */
    dq_severity fail_on;
} dq_report_options;

#define DQ_REPORT_OPTIONS_VERSION 1
#define DQ_REPORT_OPTIONS_INIT                                                                     \
    {                                                                                              \
        DQ_REPORT_OPTIONS_VERSION, 1000, DQ_SEVERITY_ERROR                                         \
    }

/* One finding. Owned by its report; see dq_report_issue(). */
typedef struct dq_issue {
    dq_code code;
    dq_severity severity;   /* the severity it was raised with */
    size_t index;           /* 0-based position in its batch */
    int64_t row;            /* dq_batch.rows[index], or the position in the stream */
    int64_t ts;             /* the candle's ts */
    unsigned nfields;       /* entries used in fields/values (0..4) */
    const char *fields[4];  /* static names: "open", "high", "ts", "symbol", ... */
    double values[4];       /* their values (NaN or Inf as found) */
    double threshold;       /* the threshold compared with, NaN when none */
    unsigned ratio_num;     /* splits: estimated ratio num:den ("4:1", "1:10", "3:2"); */
    unsigned ratio_den;     /*   0:0 for other codes */
    char message[160];      /* one line, e.g. "high 10 < low 10.5" */
    const char *suggestion; /* static: what to do about it */
} dq_issue;

/*
 * Create an empty report. opts may be NULL for the defaults; it is copied.
 * On success *out is a new report that the caller owns and frees with
 * dq_report_free(). The issue array is allocated here, once (max_issues
 * records), so checking never allocates. Returns DQ_OK, DQ_EINVAL (bad
 * version or fail_on) or DQ_ENOMEM; on failure *out is NULL.
 */
DQ_API DQ_NODISCARD DQ_NONNULL(1) int dq_report_new(dq_report **out, const dq_report_options *opts);

/* Free a report. NULL is a harmless no-op. */
DQ_API void dq_report_free(dq_report *r);

/* Empty the report (counts, issues, symbol), keeping its options. */
DQ_API DQ_NONNULL(1) void dq_report_reset(dq_report *r);

/* The symbol of the first batch with a symbol ("" when none; at most 63
 * bytes kept). Borrowed; valid until the report is reset or freed. */
DQ_API DQ_NONNULL(1) const char *dq_report_symbol(const dq_report *r);

/* Candles checked, accepted (no error finding) and rejected. */
DQ_API DQ_NONNULL(1) uint64_t dq_report_candles(const dq_report *r);
DQ_API DQ_NONNULL(1) uint64_t dq_report_accepted(const dq_report *r);
DQ_API DQ_NONNULL(1) uint64_t dq_report_rejected(const dq_report *r);

/* Of the candles checked, those that the fast path accepted without the
 * generic per-candle step (see "Performance" in the guide). The findings are
 * the same either way; this only shows which path ran, for tests and
 * profiling. */
DQ_API DQ_NONNULL(1) uint64_t dq_report_fast_candles(const dq_report *r);

/* Findings raised with severity sev (DQ_SEVERITY_INFO .. _ERROR); 0 for
 * any other value. Every finding is counted, stored or not. */
DQ_API DQ_NONNULL(1) uint64_t dq_report_count(const dq_report *r, dq_severity sev);

/*
 * Totals of one check: candles it was evaluated on and candles it failed.
 * Either out pointer may be NULL. Returns DQ_OK or DQ_EINVAL (unknown code).
 */
DQ_API DQ_NODISCARD DQ_NONNULL(1) int dq_report_totals(const dq_report *r, int code,
                                                       uint64_t *evaluated, uint64_t *failed);

/*
 * Quality score in [0, 1]:
 *     score = 1 - (E + 0.1 * W) / N
 * where N is the number of candles checked, E the number of candles with at
 * least one error finding (rejected) and W the number of the other candles
 * with at least one warning finding; info findings cost nothing. 1.0 when N
 * is 0. It depends on counts only, so a series checked whole or in pages has
 * exactly the same score.
 */
DQ_API DQ_NONNULL(1) double dq_report_score(const dq_report *r);

/* 1 when no finding reaches the report's fail_on severity, else 0. */
DQ_API DQ_NONNULL(1) int dq_report_passed(const dq_report *r);

/* 1 when more findings were counted than the max_issues records kept. */
DQ_API DQ_NONNULL(1) int dq_report_truncated(const dq_report *r);

/* Number of issue records kept (<= max_issues), in the order found. */
DQ_API DQ_NONNULL(1) size_t dq_report_issue_count(const dq_report *r);

/* Issue record i (0-based), or NULL when i is out of range. Borrowed; valid
 * until the report is reset or freed. */
DQ_API DQ_NONNULL(1) const dq_issue *dq_report_issue(const dq_report *r, size_t i);

/*
 * The report as one line of JSON (no newline), in the shape that is a
 * public contract of the library and the dqcheck tool:
 *   {"version":1,"symbol":"AAPL","interval":"1/day","candles":754,
 *    "accepted":752,"rejected":2,"score":0.9973,"passed":false,
 *    "counts":{"error":2,"warning":5,"info":0},"truncated":false,
 *    "checks":[{"code":..,"severity":..,"evaluated":..,"failed":..}, ...],
 *    "issues":[{"code":..,"severity":..,"index":..,"row":..,"ts":..,
 *               "fields":[..],"values":[..],"threshold":..|null,
 *               "message":..,"suggestion":..}, ...]}
 * "checks" lists every check that was enabled, in code order; "score" is
 * rounded to 4 decimals; non-finite values are written as null. On success
 * *out is a new NUL-terminated string that the caller owns and frees with
 * dq_string_free(). Returns DQ_OK or DQ_ENOMEM (*out NULL).
 */
DQ_API DQ_NODISCARD DQ_NONNULL(1, 2) int dq_report_to_json(char **out, const dq_report *r);

/* Free a string returned by this library. NULL is a harmless no-op. */
DQ_API void dq_string_free(char *s);

#ifdef __cplusplus
}
#endif

#endif /* DQCHECK_DQCHECK_H */
