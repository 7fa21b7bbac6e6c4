/*
 * The PostgreSQL side of the pipeline: one page of bars in one transaction.
 * When no bar is stored yet in the range of the page's accepted bars (a first
 * backfill), they are copied straight into ohlcv (binary COPY, in a
 * savepoint); otherwise, or when another process stored bars of the range
 * meanwhile (a unique violation rolls back to the savepoint), they go
 * through COPY into a session-local staging table and then INSERT .. ON
 * CONFLICT into ohlcv (so a re-run inserts nothing and a restated bar is
 * updated); rejected bars go to ohlcv_quarantine with their
 * reason codes; the page's quality record goes to dq_runs; the job's
 * checkpoint advances — all or nothing, and only while this worker still
 * holds the job's lease (fencing).
 */
#ifndef INGESTOR_SINK_H
#define INGESTOR_SINK_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <dqcheck/dqcheck.h>

#include "polygon_page.h"

enum {
    SINK_OK = 0,
    SINK_ERROR = -1,      /* the database refused; err has its message */
    SINK_LEASE_LOST = -2, /* another worker owns the job now: nothing was written */
};

typedef struct sink_job {
    int64_t id;
    const char *symbol;
    const char *timespan;
    int multiplier;
    bool adjusted;
    const char *source;      /* "polygon" or "files" */
    const char *lease_owner; /* the fencing token */
    int lease_seconds;       /* each committed page renews the lease for this long */
} sink_job;

typedef struct sink_rejected {
    size_t index;        /* into the page's bars */
    const char *codes;   /* a text[] literal: {HIGH_LT_LOW,NONFINITE} */
    const char *details; /* a JSON object */
} sink_rejected;

typedef struct sink_page {
    const dq_candle *bars; /* count checked bars, then refused ones */
    size_t count;
    size_t refused;                /* bars after count, only quarantined (rejected[] has them) */
    const unsigned char *accepted; /* per bar: nonzero when it is stored in ohlcv */
    const sink_rejected *rejected;
    size_t nrejected;
    const char *report_json; /* the page's quality report */
    double score;
    int errors, warnings, infos;
    int64_t checkpoint_ms; /* the job resumes after this bar; -1: it stays */
} sink_page;

typedef struct sink_result {
    int64_t inserted, updated, unchanged, quarantined;
    int64_t
        direct; /* of inserted: copied straight into ohlcv (no stored bar in the page's range) */
} sink_result;

/*
 * Write one page. Returns SINK_OK (and the counts), SINK_LEASE_LOST, or
 * SINK_ERROR with the server's message in err and its SQLSTATE in sqlstate
 * (6 bytes; "" for a connection failure).
 */
int sink_write_page(PGconn *conn, const sink_job *job, const sink_page *page, sink_result *res,
                    char *err, size_t errlen, char sqlstate[6]);

/*
 * The last stored bar of the series at or before at_or_before_ms, as a
 * candle: 1 found, 0 none, -1 a database error.
 */
int sink_last_bar(PGconn *conn, const char *symbol, const char *timespan, int multiplier,
                  int64_t at_or_before_ms, dq_candle *out);

/* The latest quality record of each symbol (caller PQclear()s); NULL on error. */
PGresult *sink_latest_quality(PGconn *conn);

typedef enum sink_series {
    SINK_SERIES_BARS,       /* the stored bars: ts (Unix ms), open .. volume, vwap, transactions */
    SINK_SERIES_QUARANTINE, /* the quarantined bars: New York time, codes */
    SINK_SERIES_RUNS,       /* the pages' quality records, summed up in one row */
} sink_series;

/*
 * What is stored of a series (symbol, timespan, multiplier) between the New
 * York dates from and to (NULL: unbounded), in time order (caller
 * PQclear()s); NULL with the server's message in err.
 */
PGresult *sink_read_series(PGconn *conn, sink_series what, const char *symbol, const char *timespan,
                           int multiplier, const char *from, const char *to, char *err,
                           size_t errlen);

#endif
