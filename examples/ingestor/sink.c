#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sink.h"

static int fail(PGresult *r, PGconn *conn, char *err, size_t errlen, char sqlstate[6])
{
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    snprintf(sqlstate, 6, "%s", state ? state : "");
    const char *msg = r ? PQresultErrorMessage(r) : "";
    if (!msg || !*msg)
        msg = PQerrorMessage(conn);
    snprintf(err, errlen, "%s", msg);
    size_t len = strlen(err);
    while (len && (err[len - 1] == '\n' || err[len - 1] == ' '))
        err[--len] = '\0';
    PQclear(r);
    if (PQtransactionStatus(conn) == PQTRANS_INERROR ||
        PQtransactionStatus(conn) == PQTRANS_INTRANS)
        PQclear(PQexec(conn, "ROLLBACK"));
    return SINK_ERROR;
}

static int exec_cmd(PGconn *conn, const char *sql, char *err, size_t errlen, char sqlstate[6])
{
    PGresult *r = PQexec(conn, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        return fail(r, conn, err, errlen, sqlstate);
    PQclear(r);
    return SINK_OK;
}

/*
 * COPY's binary format: exact doubles with no formatting on this side and no
 * parsing on the server's, which makes it the cheapest way in for numbers.
 * Each row: a field count, then per field a length (-1: NULL) and the value,
 * all big-endian.
 */
static unsigned char *put_be(unsigned char *p, uint64_t v, int bytes)
{
    for (int k = bytes - 1; k >= 0; k--)
        *p++ = (unsigned char)(v >> (8 * k));
    return p;
}

static unsigned char *put_int8_field(unsigned char *p, int64_t v)
{
    p = put_be(p, 8, 4);
    return put_be(p, (uint64_t)v, 8);
}

static unsigned char *put_float8_field(unsigned char *p, double v, bool nullable)
{
    if (nullable && isnan(v))
        return put_be(p, UINT32_MAX, 4); /* -1: NULL */
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    p = put_be(p, 8, 4);
    return put_be(p, bits, 8);
}

static unsigned char *put_text_field(unsigned char *p, const char *s, size_t len)
{
    p = put_be(p, len, 4);
    memcpy(p, s, len);
    return p + len;
}

/* PostgreSQL's timestamps count microseconds from 2000-01-01 00:00 UTC. */
#define PG_EPOCH_MS INT64_C(946684800000)

/* Where a page's accepted bars go: the staging table (8 columns: the bar) or
 * ohlcv itself (13 columns: the job's key, the bar, adjusted, source). */
typedef struct copy_target {
    const char *sql;
    const sink_job *job; /* NULL: the staging table */
    size_t symbol_len, timespan_len, source_len;
} copy_target;

enum { STAGE_FIELDS = 8, OHLCV_FIELDS = 13, BAR_ROW_MAX = 2 + 8 * 12 };

/*
 * COPY the page's accepted bars to the target. When refused is not NULL, a
 * COPY the server refuses at its end (a constraint) is handed back in
 * *refused (caller owns; PQclear) with the transaction left as it is.
 */
static int copy_accepted(PGconn *conn, const copy_target *to, const sink_page *page,
                         size_t *ncopied, PGresult **refused, char *err, size_t errlen,
                         char sqlstate[6])
{
    PGresult *r = PQexec(conn, to->sql);
    if (PQresultStatus(r) != PGRES_COPY_IN)
        return fail(r, conn, err, errlen, sqlstate);
    PQclear(r);

    const sink_job *job = to->job;
    const size_t row_max =
        BAR_ROW_MAX +
        (job ? 5 * 4 + 4 + 1 + to->symbol_len + to->timespan_len + to->source_len : 0);
    static const unsigned char header[19] = "PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0\0";
    unsigned char chunk[65536];
    memcpy(chunk, header, sizeof header);
    size_t used = sizeof header;
    bool sent = true;
    *ncopied = 0;
    for (size_t i = 0; i < page->count && sent; i++) {
        if (!page->accepted[i])
            continue;
        if (used + row_max + 2 > sizeof chunk) {
            sent = PQputCopyData(conn, (const char *)chunk, (int)used) == 1;
            used = 0;
        }
        const dq_candle *b = &page->bars[i];
        unsigned char *p = chunk + used;
        if (job) {
            p = put_be(p, OHLCV_FIELDS, 2);
            p = put_text_field(p, job->symbol, to->symbol_len);
            p = put_text_field(p, job->timespan, to->timespan_len);
            p = put_be(p, 4, 4);
            p = put_be(p, (uint32_t)job->multiplier, 4);
            p = put_int8_field(p, (b->ts - PG_EPOCH_MS) * 1000); /* timestamptz */
        } else {
            p = put_be(p, STAGE_FIELDS, 2);
            p = put_int8_field(p, b->ts);
        }
        p = put_float8_field(p, b->open, false);
        p = put_float8_field(p, b->high, false);
        p = put_float8_field(p, b->low, false);
        p = put_float8_field(p, b->close, false);
        p = put_float8_field(p, b->volume, false);
        p = put_float8_field(p, b->vwap, true);
        p = !isnan(b->trades) ? put_int8_field(p, (int64_t)b->trades) : put_be(p, UINT32_MAX, 4);
        if (job) {
            p = put_be(p, 1, 4);
            *p++ = job->adjusted ? 1 : 0;
            p = put_text_field(p, job->source, to->source_len);
        }
        used = (size_t)(p - chunk);
        (*ncopied)++;
    }
    unsigned char *p = put_be(chunk + used, UINT16_MAX, 2); /* the trailer: -1 */
    used = (size_t)(p - chunk);
    sent = sent && PQputCopyData(conn, (const char *)chunk, (int)used) == 1;
    if (!sent) {
        PQputCopyEnd(conn, "client failed to send data");
    } else if (PQputCopyEnd(conn, NULL) != 1) {
        return fail(NULL, conn, err, errlen, sqlstate);
    }
    r = PQgetResult(conn);
    PGresult *rest;
    while ((rest = PQgetResult(conn)) != NULL)
        PQclear(rest);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        if (refused && sent && PQresultStatus(r) == PGRES_FATAL_ERROR &&
            PQstatus(conn) == CONNECTION_OK) {
            *refused = r;
            return SINK_OK;
        }
        return fail(r, conn, err, errlen, sqlstate);
    }
    PQclear(r);
    return SINK_OK;
}

static const char exists_sql[] =
    "SELECT EXISTS (SELECT 1 FROM ohlcv WHERE symbol = $1 AND timespan = $2 AND"
    " multiplier = $3 AND ts BETWEEN 'epoch'::timestamptz + $4::bigint * interval '1 ms'"
    " AND 'epoch'::timestamptz + $5::bigint * interval '1 ms')";

/*
 * The fast path of a page whose range holds no stored bar (a first
 * backfill): its bars are copied straight into ohlcv, with no staging table
 * and no upsert. Another process may store bars of the same range between
 * the check and the copy (two backfills racing); its bars make the copy fail
 * with a unique violation, after the other transaction commits. The copy runs
 * inside a savepoint, so that the page then rolls back to it and goes the
 * staging way. *done is set when the bars are stored (*ncopied of them).
 */
static int copy_direct(PGconn *conn, const sink_job *job, const sink_page *page, const char *mult,
                       bool *done, size_t *ncopied, char *err, size_t errlen, char sqlstate[6])
{
    *done = false;
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    for (size_t i = 0; i < page->count; i++) {
        if (!page->accepted[i])
            continue;
        lo = page->bars[i].ts < lo ? page->bars[i].ts : lo;
        hi = page->bars[i].ts > hi ? page->bars[i].ts : hi;
    }
    size_t key_len = strlen(job->symbol) + strlen(job->timespan) + strlen(job->source);
    if (lo > hi || key_len > 1024)
        return SINK_OK; /* nothing accepted; or rows that the COPY buffer would not hold */
    char from[24], to[24];
    snprintf(from, sizeof from, "%lld", (long long)lo);
    snprintf(to, sizeof to, "%lld", (long long)hi);
    const char *p[5] = { job->symbol, job->timespan, mult, from, to };
    PGresult *r = PQexecParams(conn, exists_sql, 5, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        return fail(r, conn, err, errlen, sqlstate);
    bool stored = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    PQclear(r);
    if (stored)
        return SINK_OK;

    if (exec_cmd(conn, "SAVEPOINT sink_direct", err, errlen, sqlstate) != SINK_OK)
        return SINK_ERROR;
    copy_target target = { "COPY ohlcv (symbol, timespan, multiplier, ts, open, high, low, close,"
                           " volume, vwap, transactions, adjusted, source) FROM STDIN"
                           " (FORMAT binary)",
                           job, strlen(job->symbol), strlen(job->timespan), strlen(job->source) };
    PGresult *refused = NULL;
    if (copy_accepted(conn, &target, page, ncopied, &refused, err, errlen, sqlstate) != SINK_OK)
        return SINK_ERROR;
    if (refused) {
        const char *state = PQresultErrorField(refused, PG_DIAG_SQLSTATE);
        if (!state || strcmp(state, "23505") != 0) /* not a unique violation */
            return fail(refused, conn, err, errlen, sqlstate);
        PQclear(refused);
        *ncopied = 0;
        return exec_cmd(conn, "ROLLBACK TO SAVEPOINT sink_direct", err, errlen, sqlstate);
    }
    *done = true;
    return exec_cmd(conn, "RELEASE SAVEPOINT sink_direct", err, errlen, sqlstate);
}

static const char upsert_sql[] =
    "WITH up AS ("
    "  INSERT INTO ohlcv (symbol, timespan, multiplier, ts, open, high, low, close, volume,"
    "                     vwap, transactions, adjusted, source)"
    "  SELECT $1, $2, $3, 'epoch'::timestamptz + ts_ms * interval '1 millisecond',"
    "         open, high, low, close, volume, vwap, transactions, $4, $5"
    "  FROM ohlcv_stage"
    "  ON CONFLICT (symbol, timespan, multiplier, ts) DO UPDATE SET"
    "    open = EXCLUDED.open, high = EXCLUDED.high, low = EXCLUDED.low,"
    "    close = EXCLUDED.close, volume = EXCLUDED.volume, vwap = EXCLUDED.vwap,"
    "    transactions = EXCLUDED.transactions, adjusted = EXCLUDED.adjusted,"
    "    source = EXCLUDED.source, updated_at = now()"
    "  WHERE (ohlcv.open, ohlcv.high, ohlcv.low, ohlcv.close, ohlcv.volume, ohlcv.vwap,"
    "         ohlcv.transactions, ohlcv.adjusted)"
    "    IS DISTINCT FROM (EXCLUDED.open, EXCLUDED.high, EXCLUDED.low, EXCLUDED.close,"
    "         EXCLUDED.volume, EXCLUDED.vwap, EXCLUDED.transactions, EXCLUDED.adjusted)"
    "  RETURNING (xmax = 0) AS inserted)"
    "SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM up";

static const char quarantine_sql[] =
    "INSERT INTO ohlcv_quarantine (symbol, timespan, multiplier, ts, open, high, low, close,"
    "  volume, vwap, transactions, adjusted, source, codes, details, job_id)"
    "VALUES ($1, $2, $3, 'epoch'::timestamptz + $4::bigint * interval '1 millisecond',"
    "  $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)"
    "ON CONFLICT (symbol, timespan, multiplier, ts) DO UPDATE SET"
    "  open = EXCLUDED.open, high = EXCLUDED.high, low = EXCLUDED.low, close = EXCLUDED.close,"
    "  volume = EXCLUDED.volume, vwap = EXCLUDED.vwap, transactions = EXCLUDED.transactions,"
    "  codes = EXCLUDED.codes, details = EXCLUDED.details, job_id = EXCLUDED.job_id,"
    "  last_seen = now()";

static const char dq_run_sql[] =
    "INSERT INTO dq_runs (job_id, symbol, timespan, multiplier, first_ts, last_ts, candles,"
    "  accepted, rejected, score, errors, warnings, infos, report)"
    "VALUES ($1, $2, $3, $4,"
    "  'epoch'::timestamptz + $5::bigint * interval '1 millisecond',"
    "  'epoch'::timestamptz + $6::bigint * interval '1 millisecond',"
    "  $7, $8, $9, $10, $11, $12, $13, $14)";

static const char checkpoint_sql[] =
    "UPDATE backfill_jobs SET checkpoint_ms = coalesce($2::bigint, checkpoint_ms),"
    "  bars_fetched = bars_fetched + $4, bars_inserted = bars_inserted + $5,"
    "  bars_updated = bars_updated + $6, bars_unchanged = bars_unchanged + $7,"
    "  bars_quarantined = bars_quarantined + $8, updated_at = now(),"
    "  lease_until = now() + $9::int * interval '1 second'"
    " WHERE id = $1 AND lease_owner = $3 AND state = 'running'";

static void fmt_double(char *out, size_t size, double v, const char **param)
{
    if (isnan(v) || isinf(v)) {
        /* float8 accepts these spellings; quarantined bars may hold them. */
        snprintf(out, size, "%s", isnan(v) ? "NaN" : (v > 0 ? "Infinity" : "-Infinity"));
    } else {
        snprintf(out, size, "%.17g", v);
    }
    *param = out;
}

/* The general path: COPY into a session-local staging table, then one
 * INSERT .. ON CONFLICT that inserts new bars, updates changed ones and
 * leaves the others untouched. */
static int stage_and_upsert(PGconn *conn, const sink_job *job, const sink_page *page,
                            const char *mult, const char *adjusted, sink_result *res,
                            size_t *ncopied, char *err, size_t errlen, char sqlstate[6])
{
    /* The staging table lives as long as the session and empties at commit. */
    if (exec_cmd(conn,
                 "CREATE TEMP TABLE IF NOT EXISTS ohlcv_stage (ts_ms bigint, open float8,"
                 " high float8, low float8, close float8, volume float8, vwap float8,"
                 " transactions bigint) ON COMMIT DELETE ROWS",
                 err, errlen, sqlstate) != SINK_OK)
        return SINK_ERROR;
    static const copy_target stage = { "COPY ohlcv_stage (ts_ms, open, high, low, close, volume,"
                                       " vwap, transactions) FROM STDIN (FORMAT binary)",
                                       NULL, 0, 0, 0 };
    if (copy_accepted(conn, &stage, page, ncopied, NULL, err, errlen, sqlstate) != SINK_OK)
        return SINK_ERROR;
    if (*ncopied == 0)
        return SINK_OK;
    const char *p[5] = { job->symbol, job->timespan, mult, adjusted, job->source };
    PGresult *r = PQexecParams(conn, upsert_sql, 5, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        return fail(r, conn, err, errlen, sqlstate);
    res->inserted = atoll(PQgetvalue(r, 0, 0));
    res->updated = atoll(PQgetvalue(r, 0, 1));
    res->unchanged = (int64_t)*ncopied - res->inserted - res->updated;
    PQclear(r);
    return SINK_OK;
}

int sink_write_page(PGconn *conn, const sink_job *job, const sink_page *page, sink_result *res,
                    char *err, size_t errlen, char sqlstate[6])
{
    memset(res, 0, sizeof *res);
    sqlstate[0] = '\0';
    char mult[16], jobid[24];
    snprintf(mult, sizeof mult, "%d", job->multiplier);
    snprintf(jobid, sizeof jobid, "%lld", (long long)job->id);
    const char *adjusted = job->adjusted ? "true" : "false";

    if (exec_cmd(conn, "BEGIN", err, errlen, sqlstate) != SINK_OK)
        return SINK_ERROR;
    size_t ncopied = 0;
    bool direct = false;
    if (copy_direct(conn, job, page, mult, &direct, &ncopied, err, errlen, sqlstate) != SINK_OK)
        return SINK_ERROR;
    if (direct) {
        res->inserted = (int64_t)ncopied;
        res->direct = (int64_t)ncopied;
    } else if (stage_and_upsert(conn, job, page, mult, adjusted, res, &ncopied, err, errlen,
                                sqlstate) != SINK_OK) {
        return SINK_ERROR;
    }

    for (size_t k = 0; k < page->nrejected; k++) {
        const sink_rejected *rj = &page->rejected[k];
        const dq_candle *b = &page->bars[rj->index];
        char ts[24], o[32], h[32], l[32], c[32], v[32], vw[32], n[24];
        const char *p[16];
        p[0] = job->symbol;
        p[1] = job->timespan;
        p[2] = mult;
        snprintf(ts, sizeof ts, "%lld", (long long)b->ts);
        p[3] = ts;
        fmt_double(o, sizeof o, b->open, &p[4]);
        fmt_double(h, sizeof h, b->high, &p[5]);
        fmt_double(l, sizeof l, b->low, &p[6]);
        fmt_double(c, sizeof c, b->close, &p[7]);
        fmt_double(v, sizeof v, b->volume, &p[8]);
        if (isnan(b->vwap))
            p[9] = NULL;
        else
            fmt_double(vw, sizeof vw, b->vwap, &p[9]);
        snprintf(n, sizeof n, "%.0f", b->trades);
        p[10] = !isnan(b->trades) ? n : NULL;
        p[11] = adjusted;
        p[12] = job->source;
        p[13] = rj->codes;
        p[14] = rj->details;
        p[15] = job->id > 0 ? jobid : NULL;
        PGresult *r = PQexecParams(conn, quarantine_sql, 16, NULL, p, NULL, NULL, 0);
        if (PQresultStatus(r) != PGRES_COMMAND_OK)
            return fail(r, conn, err, errlen, sqlstate);
        PQclear(r);
        res->quarantined++;
    }

    if (page->count > 0) {
        char first[24], last[24], cnt[24], acc[24], rej[24], score[32], e[16], w[16], i[16];
        snprintf(first, sizeof first, "%lld", (long long)page->bars[0].ts);
        snprintf(last, sizeof last, "%lld", (long long)page->bars[page->count - 1].ts);
        snprintf(cnt, sizeof cnt, "%zu", page->count);
        snprintf(acc, sizeof acc, "%zu", ncopied);
        snprintf(rej, sizeof rej, "%zu", page->count - ncopied);
        snprintf(score, sizeof score, "%.6f", page->score);
        snprintf(e, sizeof e, "%d", page->errors);
        snprintf(w, sizeof w, "%d", page->warnings);
        snprintf(i, sizeof i, "%d", page->infos);
        const char *p[14] = { job->id > 0 ? jobid : NULL,
                              job->symbol,
                              job->timespan,
                              mult,
                              first,
                              last,
                              cnt,
                              acc,
                              rej,
                              score,
                              e,
                              w,
                              i,
                              page->report_json ? page->report_json : "{}" };
        PGresult *r = PQexecParams(conn, dq_run_sql, 14, NULL, p, NULL, NULL, 0);
        if (PQresultStatus(r) != PGRES_COMMAND_OK)
            return fail(r, conn, err, errlen, sqlstate);
        PQclear(r);
    }

    if (job->id > 0) {
        char ck[24], f[24], ins[24], upd[24], unch[24], q[24];
        snprintf(ck, sizeof ck, "%lld", (long long)page->checkpoint_ms);
        snprintf(f, sizeof f, "%zu", page->count + page->refused);
        snprintf(ins, sizeof ins, "%lld", (long long)res->inserted);
        snprintf(upd, sizeof upd, "%lld", (long long)res->updated);
        snprintf(unch, sizeof unch, "%lld", (long long)res->unchanged);
        snprintf(q, sizeof q, "%lld", (long long)res->quarantined);
        char lease[16];
        snprintf(lease, sizeof lease, "%d", job->lease_seconds > 0 ? job->lease_seconds : 120);
        const char *p[9] = { jobid,
                             page->checkpoint_ms >= 0 ? ck : NULL,
                             job->lease_owner ? job->lease_owner : "",
                             f,
                             ins,
                             upd,
                             unch,
                             q,
                             lease };
        PGresult *r = PQexecParams(conn, checkpoint_sql, 9, NULL, p, NULL, NULL, 0);
        if (PQresultStatus(r) != PGRES_COMMAND_OK)
            return fail(r, conn, err, errlen, sqlstate);
        int owned = atoi(PQcmdTuples(r)) == 1;
        PQclear(r);
        if (!owned) {
            PQclear(PQexec(conn, "ROLLBACK"));
            snprintf(err, errlen, "job %lld: the lease passed to another worker",
                     (long long)job->id);
            return SINK_LEASE_LOST;
        }
    }
    if (exec_cmd(conn, "COMMIT", err, errlen, sqlstate) != SINK_OK)
        return SINK_ERROR;
    return SINK_OK;
}

/* ------------------------------------------------------------ reading */

int sink_last_bar(PGconn *conn, const char *symbol, const char *timespan, int multiplier,
                  int64_t at_or_before_ms, dq_candle *out)
{
    char mult[16], ck[24];
    snprintf(mult, sizeof mult, "%d", multiplier);
    snprintf(ck, sizeof ck, "%lld", (long long)at_or_before_ms);
    const char *p[4] = { symbol, timespan, mult, ck };
    PGresult *r = PQexecParams(
        conn,
        "SELECT (extract(epoch FROM ts) * 1000)::bigint, open, high, low, close, volume,"
        " vwap, transactions FROM ohlcv WHERE symbol = $1 AND timespan = $2 AND"
        " multiplier = $3 AND ts <= 'epoch'::timestamptz + $4::bigint * interval '1 ms'"
        " ORDER BY ts DESC LIMIT 1",
        4, NULL, p, NULL, NULL, 0);
    int rc = PQresultStatus(r) != PGRES_TUPLES_OK ? -1 : PQntuples(r) == 1 ? 1 : 0;
    if (rc == 1)
        *out =
            (dq_candle){ .ts = atoll(PQgetvalue(r, 0, 0)),
                         .open = atof(PQgetvalue(r, 0, 1)),
                         .high = atof(PQgetvalue(r, 0, 2)),
                         .low = atof(PQgetvalue(r, 0, 3)),
                         .close = atof(PQgetvalue(r, 0, 4)),
                         .volume = atof(PQgetvalue(r, 0, 5)),
                         .vwap = PQgetisnull(r, 0, 6) ? DQ_ABSENT : atof(PQgetvalue(r, 0, 6)),
                         .trades = PQgetisnull(r, 0, 7) ? DQ_ABSENT : atof(PQgetvalue(r, 0, 7)) };
    PQclear(r);
    return rc;
}

PGresult *sink_latest_quality(PGconn *conn)
{
    PGresult *r =
        PQexec(conn, "SELECT DISTINCT ON (symbol) symbol, timespan || '/' || multiplier AS"
                     " interval, candles, accepted, rejected, round(score::numeric, 4) AS score,"
                     " errors, warnings, to_char(checked_at, 'YYYY-MM-DD HH24:MI:SS') AS"
                     " checked_at FROM dq_runs ORDER BY symbol, checked_at DESC, id DESC");
    if (PQresultStatus(r) == PGRES_TUPLES_OK)
        return r;
    PQclear(r);
    return NULL;
}

PGresult *sink_read_series(PGconn *conn, sink_series what, const char *symbol, const char *timespan,
                           int multiplier, const char *from, const char *to, char *err,
                           size_t errlen)
{
/* The filter all three share: $1 symbol, $2 timespan, $3 multiplier, $4/$5
 * the New York dates (NULL: unbounded). */
#define WHERE_SERIES                                                                               \
    " WHERE symbol = $1 AND timespan = $2 AND multiplier = $3"                                     \
    " AND ($4::date IS NULL OR (ts AT TIME ZONE 'America/New_York')::date >= $4::date)"            \
    " AND ($5::date IS NULL OR (ts AT TIME ZONE 'America/New_York')::date <= $5::date)"
    static const char *const sql[] = {
        [SINK_SERIES_BARS] =
            "SELECT (extract(epoch FROM ts) * 1000)::bigint, open, high, low,"
            " close, volume, vwap, transactions FROM ohlcv" WHERE_SERIES " ORDER BY ts",
        [SINK_SERIES_QUARANTINE] =
            "SELECT to_char(ts AT TIME ZONE 'America/New_York', 'YYYY-MM-DD HH24:MI'),"
            " array_to_string(codes, ', ') FROM ohlcv_quarantine" WHERE_SERIES " ORDER BY ts",
        /* dq_runs have no ts: their range is [first_ts, last_ts]; "ts" there is first_ts. */
        [SINK_SERIES_RUNS] = "SELECT count(*), round(min(score)::numeric, 4),"
                             " coalesce(sum(errors), 0), coalesce(sum(warnings), 0),"
                             " to_char(max(checked_at), 'YYYY-MM-DD HH24:MI:SS')"
                             " FROM (SELECT *, first_ts AS ts FROM dq_runs) d" WHERE_SERIES,
    };
#undef WHERE_SERIES
    char mult[16];
    snprintf(mult, sizeof mult, "%d", multiplier);
    const char *p[5] = { symbol, timespan, mult, from, to };
    PGresult *r = PQexecParams(conn, sql[what], 5, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) == PGRES_TUPLES_OK)
        return r;
    snprintf(err, errlen, "%s", PQresultErrorMessage(r));
    PQclear(r);
    return NULL;
}
