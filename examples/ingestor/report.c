#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include <dqcheck/dqcheck.h>
#include <libpq-fe.h>

#include "db.h"
#include "dq_html.h"
#include "log.h"
#include "pipeline.h"
#include "report.h"
#include "sink.h"
#include "textsafe.h"

static PGresult *query(PGconn *conn, sink_series what, const report_args *a)
{
    char err[512];
    PGresult *r = sink_read_series(conn, what, a->symbol, a->timespan, a->multiplier, a->from,
                                   a->to, err, sizeof err);
    if (!r)
        log_msg(LOG_LEVEL_ERROR, "report: %s", err);
    return r;
}

static double num_or_absent(PGresult *r, int t, int f)
{
    return PQgetisnull(r, t, f) ? DQ_ABSENT : atof(PQgetvalue(r, t, f));
}

/* The stored bars as candles, in time order. */
static dq_candle *load_bars(PGresult *r, size_t *n)
{
    *n = (size_t)PQntuples(r);
    dq_candle *cs = malloc((*n ? *n : 1) * sizeof *cs);
    if (!cs)
        return NULL;
    for (size_t i = 0; i < *n; i++) {
        int t = (int)i;
        cs[i] = (dq_candle){ .ts = atoll(PQgetvalue(r, t, 0)),
                             .open = atof(PQgetvalue(r, t, 1)),
                             .high = atof(PQgetvalue(r, t, 2)),
                             .low = atof(PQgetvalue(r, t, 3)),
                             .close = atof(PQgetvalue(r, t, 4)),
                             .volume = atof(PQgetvalue(r, t, 5)),
                             .vwap = num_or_absent(r, t, 6),
                             .trades = num_or_absent(r, t, 7) };
    }
    return cs;
}

/* A stored text for the terminal or a JSON-free line: controls escaped. */
static const char *shown(char *buf, size_t size, const char *s)
{
    text_escape(buf, size, s, strlen(s));
    return buf;
}

static void write_text(FILE *out, const report_args *a, const dq_report *r, PGresult *q,
                       PGresult *runs, int daily)
{
    fprintf(out,
            "%s %d/%s: %llu stored bars checked, score %.4f, %llu errors, %llu warnings, "
            "%llu info: %s\n",
            a->symbol, a->multiplier, a->timespan, (unsigned long long)dq_report_candles(r),
            dq_report_score(r), (unsigned long long)dq_report_count(r, DQ_SEVERITY_ERROR),
            (unsigned long long)dq_report_count(r, DQ_SEVERITY_WARNING),
            (unsigned long long)dq_report_count(r, DQ_SEVERITY_INFO),
            dq_report_passed(r) ? "PASS" : "FAIL");
    char buf[1024];
    for (size_t k = 0; k < dq_report_issue_count(r); k++) {
        const dq_issue *is = dq_report_issue(r, k);
        char d[32];
        ts_text(d, sizeof d, is->ts, daily);
        fprintf(out, "  %s %-7s %-22s %s\n", d, dq_severity_name(is->severity),
                dq_code_name(is->code), shown(buf, sizeof buf, is->message));
    }
    fprintf(out, "quarantined bars: %d\n", PQntuples(q));
    for (int t = 0; t < PQntuples(q); t++)
        fprintf(out, "  %s %s\n", PQgetvalue(q, t, 0), shown(buf, sizeof buf, PQgetvalue(q, t, 1)));
    fprintf(out, "stored quality runs: %s, lowest score %s, %s errors, %s warnings\n",
            PQgetvalue(runs, 0, 0), PQgetisnull(runs, 0, 1) ? "-" : PQgetvalue(runs, 0, 1),
            PQgetvalue(runs, 0, 2), PQgetvalue(runs, 0, 3));
}

/* The quarantined bars and the stored runs, after the symbol's section. */
static void write_html_stored(FILE *out, PGresult *q, PGresult *runs)
{
    fprintf(out,
            "<h3>Quarantined bars</h3>\n<p>Bars refused by the ingestor are stored apart and "
            "are not in the chart: %d.</p>\n",
            PQntuples(q));
    fputs("<table id=\"quarantine\"><thead><tr><th>date</th><th>codes</th></tr></thead><tbody>\n",
          out);
    for (int t = 0; t < PQntuples(q); t++) {
        fputs("<tr class=\"quarantined\"><td>", out);
        html_text(out, PQgetvalue(q, t, 0));
        fputs("</td><td>", out);
        html_text(out, PQgetvalue(q, t, 1));
        fputs("</td></tr>\n", out);
    }
    fputs("</tbody></table>\n", out);
    fputs("<h3>Stored quality runs</h3>\n<dl class=\"summary\" id=\"stored-runs\">", out);
    static const char *const names[] = { "runs", "lowest score", "errors", "warnings",
                                         "last checked" };
    for (int f = 0; f < 5; f++) {
        fprintf(out, "<dt>%s</dt><dd>", names[f]);
        html_text(out, PQgetisnull(runs, 0, f) ? "-" : PQgetvalue(runs, 0, f));
        fputs("</dd>", out);
    }
    fputs("</dl>\n", out);
}

static int report_conn(PGconn *conn, const ingest_config *cfg, const report_args *a, FILE *out)
{
    PGresult *bars = query(conn, SINK_SERIES_BARS, a);
    PGresult *q = query(conn, SINK_SERIES_QUARANTINE, a);
    PGresult *runs = query(conn, SINK_SERIES_RUNS, a);
    int rc = EX_SOFTWARE;
    dq_candle *cs = NULL;
    dq_checker *c = NULL;
    dq_report *r = NULL;
    html_series s = { 0 };
    if (!bars || !q || !runs)
        goto done;
    if (PQntuples(bars) == 0 && PQntuples(q) == 0) {
        fprintf(stderr,
                "ingestor: report: nothing stored for symbol %s (%d/%s%s%s%s%s): no bars, no "
                "quarantined bars; 'ingestor status' lists what is stored\n",
                a->symbol, a->multiplier, a->timespan, a->from ? ", from " : "",
                a->from ? a->from : "", a->to ? ", to " : "", a->to ? a->to : "");
        rc = 1;
        goto done;
    }
    size_t n;
    cs = load_bars(bars, &n);
    dq_options o;
    pipeline_dq_options(cfg, a->timespan, a->multiplier, &o);
    dq_report_options ro = DQ_REPORT_OPTIONS_INIT;
    ro.max_issues = (size_t)cfg->quality.max_issues;
    if (!cs || dq_checker_new(&c, &o) != DQ_OK || dq_report_new(&r, &ro) != DQ_OK) {
        log_msg(LOG_LEVEL_ERROR, "report: out of memory");
        goto done;
    }
    dq_batch b = DQ_BATCH_INIT;
    b.symbol = a->symbol;
    b.candles = cs;
    b.count = n;
    int crc = html_check_in_parts(&s, c, r, &b);
    if (crc != 0) {
        log_msg(LOG_LEVEL_ERROR, "report: %s", crc == -2 ? "out of memory" : dq_checker_errmsg(c));
        goto done;
    }
    int daily = o.interval.unit == DQ_UNIT_DAY;
    if (a->format == REPORT_HTML) {
        char title[96], what[128];
        snprintf(title, sizeof title, "ingestor report: %s", a->symbol);
        snprintf(what, sizeof what, "stored bars, %d/%s%s%s%s%s", a->multiplier, a->timespan,
                 a->from ? ", from " : "", a->from ? a->from : "", a->to ? ", to " : "",
                 a->to ? a->to : "");
        s.source = what;
        s.daily = daily;
        html_begin(out, title);
        html_section(out, &s, r);
        write_html_stored(out, q, runs);
        html_end(out);
    } else if (a->format == REPORT_JSON) {
        char *js = NULL;
        if (dq_report_to_json(&js, r) != DQ_OK) {
            log_msg(LOG_LEVEL_ERROR, "report: out of memory");
            goto done;
        }
        fprintf(out, "%s\n", js);
        dq_string_free(js);
    } else {
        write_text(out, a, r, q, runs, daily);
    }
    rc = fflush(out) == 0 ? 0 : EX_SOFTWARE;
done:
    html_series_free(&s);
    dq_report_free(r);
    dq_checker_free(c);
    free(cs);
    PQclear(bars);
    PQclear(q);
    PQclear(runs);
    return rc;
}

int report_run(const ingest_config *cfg, const report_args *a, FILE *out)
{
    pgpool *pool;
    int ready = db_open_ready(cfg, &pool, 1);
    if (ready != 0)
        return ready;
    pgpool_conn *pc = db_acquire_or_log(pool);
    if (!pc) {
        pgpool_free(pool);
        return EX_UNAVAILABLE;
    }
    int rc = report_conn(pgpool_conn_pg(pc), cfg, a, out);
    pgpool_release(pc);
    pgpool_free(pool);
    return rc;
}
