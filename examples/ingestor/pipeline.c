#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <retry/retry.h>

#include "db.h"
#include "log.h"
#include "new_york_time.h"
#include "pipeline.h"
#include "strbuf.h"
#include "timing.h"

struct worker {
    const ingest_config *cfg;
    pgpool *pool;
    source *src;
    ingest_stats *stats;
    progress *progress;
    dq_checker *checker;
    dq_report *report;
    /* page buffers, grown to the largest page */
    dq_candle *candles; /* the bars asked for, then those refused */
    unsigned char *accept;
    uint32_t *reasons; /* per candle: a bit per check failed with error severity */
    sink_rejected *rejected;
    strbuf texts; /* the codes and details of the rejected candles */
    size_t cap;
    atomic_int *stop; /* interrupts a job */
    worker_observer observe;
    void *observe_ud;
};

static int grow(worker *w, size_t n)
{
    if (n <= w->cap)
        return 0;
    dq_candle *c = realloc(w->candles, n * sizeof *c);
    if (c)
        w->candles = c;
    unsigned char *a = realloc(w->accept, n);
    if (a)
        w->accept = a;
    uint32_t *r = realloc(w->reasons, n * sizeof *r);
    if (r)
        w->reasons = r;
    sink_rejected *rj = realloc(w->rejected, n * sizeof *rj);
    if (rj)
        w->rejected = rj;
    if (!c || !a || !r || !rj)
        return -1;
    w->cap = n;
    return 0;
}

static dq_calendar calendar_of(const char *name)
{
    if (name && strcmp(name, "weekdays") == 0)
        return DQ_CAL_WEEKDAYS;
    if (name && strcmp(name, "24x7") == 0)
        return DQ_CAL_24X7;
    return DQ_CAL_NYSE;
}

int worker_new(worker **out, const ingest_config *cfg, pgpool *pool, source *src,
               ingest_stats *stats, atomic_int *stop)
{
    *out = NULL;
    worker *w = calloc(1, sizeof *w);
    if (!w)
        return -1;
    w->cfg = cfg;
    w->pool = pool;
    w->src = src;
    w->stats = stats;
    w->stop = stop;
    dq_report_options ro = DQ_REPORT_OPTIONS_INIT;
    ro.max_issues = (size_t)cfg->quality.max_issues;
    if (dq_report_new(&w->report, &ro) != DQ_OK) {
        free(w);
        return -1;
    }
    *out = w;
    return 0;
}

void worker_set_hooks(worker *w, progress *p, worker_observer observe, void *ud)
{
    w->progress = p;
    w->observe = observe;
    w->observe_ud = ud;
}

void worker_free(worker *w)
{
    if (!w)
        return;
    dq_checker_free(w->checker);
    dq_report_free(w->report);
    free(w->candles);
    free(w->accept);
    free(w->reasons);
    free(w->rejected);
    strbuf_free(&w->texts);
    free(w);
}

void job_range_ms(const job_row *row, int64_t *from_ms, int64_t *to_ms)
{
    int y;
    unsigned m, d;
    ny_parse_date(row->from_date, 10, &y, &m, &d);
    *from_ms = ny_midnight_ms(y, m, d);
    ny_parse_date(row->to_date, 10, &y, &m, &d);
    int64_t next = days_from_civil(y, m, d) + 1;
    civil_from_days(next, &y, &m, &d);
    *to_ms = ny_midnight_ms(y, m, d) - 1;
}

void pipeline_dq_options(const ingest_config *cfg, const char *timespan, int multiplier,
                         dq_options *out)
{
    dq_options o = DQ_OPTIONS_INIT;
    o.calendar = calendar_of(cfg->quality.calendar);
    o.open_gap = cfg->quality.open_gap;
    o.range = cfg->quality.range;
    char text[48];
    snprintf(text, sizeof text, "%d/%s", multiplier, timespan);
    if (dq_interval_parse(&o.interval, text) != DQ_OK) {
        o.interval.multiplier = 1;
        o.interval.unit = DQ_UNIT_DAY;
        o.severity[DQ_GAP] = DQ_SEVERITY_OFF;
        o.severity[DQ_NON_SESSION_TS] = DQ_SEVERITY_OFF;
    }
    *out = o;
}

/* A checker configured for the job's interval. */
static int checker_for(worker *w, const job_row *row)
{
    dq_options o;
    pipeline_dq_options(w->cfg, row->timespan, row->multiplier, &o);
    dq_checker_free(w->checker);
    w->checker = NULL;
    return dq_checker_new(&w->checker, &o) == DQ_OK ? 0 : -1;
}

/*
 * The rejected candles of the checked page, each with its error codes (a
 * text[] literal) and a JSON object of its error findings, their texts one
 * after another in w->texts. Returns their number, or -1 when out of memory.
 */
static long collect_rejected(worker *w, size_t count)
{
    size_t nissues = dq_report_issue_count(w->report), nrej = 0;
    strbuf_free(&w->texts);
    for (size_t i = 0; i < count; i++) {
        if (w->accept[i])
            continue;
        /* The codes come from the checker's per-candle output, which is
         * never truncated; the messages from the issue records it kept. */
        const char *sep = "{";
        for (int c = 0; c < DQ_CODE_COUNT; c++)
            if (w->reasons[i] & (1u << c)) {
                strbuf_printf(&w->texts, "%s%s", sep, dq_code_name(c));
                sep = ",";
            }
        if (*sep == '{')
            strbuf_puts(&w->texts, "{");
        strbuf_add(&w->texts, "}", 2); /* with its NUL */
        cJSON *doc = cJSON_CreateObject(), *issues = cJSON_AddArrayToObject(doc, "issues");
        for (size_t k = 0; k < nissues; k++) {
            const dq_issue *is = dq_report_issue(w->report, k);
            if (is->index != i || is->severity != DQ_SEVERITY_ERROR)
                continue;
            cJSON *o = cJSON_CreateObject();
            if (!cJSON_AddItemToArray(issues, o)) {
                cJSON_Delete(o);
                continue;
            }
            cJSON_AddStringToObject(o, "code", dq_code_name((int)is->code));
            cJSON_AddStringToObject(o, "message", is->message);
        }
        char *json = issues ? cJSON_PrintUnformatted(doc) : NULL;
        cJSON_Delete(doc);
        if (!json)
            return -1;
        strbuf_add(&w->texts, json, strlen(json) + 1);
        cJSON_free(json);
        w->rejected[nrej++].index = i;
    }
    if (w->texts.failed)
        return -1;
    const char *t = w->texts.p;
    for (size_t k = 0; k < nrej; k++, t += strlen(t) + 1) {
        w->rejected[k].codes = t;
        t += strlen(t) + 1;
        w->rejected[k].details = t;
    }
    return (long)nrej;
}

/*
 * Sort the page into w->candles: first the bars the job asked for (*asked of
 * them), then those it did not — outside [from_ms, to_ms] (*outside of
 * them), or all of them when the page is for another ticker (*other).
 */
static void sort_asked(worker *w, const polygon_page *page, const char *symbol, int64_t from_ms,
                       int64_t to_ms, size_t *asked, size_t *outside, size_t *other)
{
    bool wrong = page->ticker[0] && strcasecmp(page->ticker, symbol) != 0;
    size_t k = 0, tail = page->count;
    for (size_t i = page->count; i-- > 0;) { /* refused ones fill the tail, in order */
        const dq_candle *b = &page->bars[i];
        if (wrong || b->ts < from_ms || b->ts > to_ms)
            w->candles[--tail] = *b;
    }
    for (size_t i = 0; i < page->count; i++) {
        const dq_candle *b = &page->bars[i];
        if (!(wrong || b->ts < from_ms || b->ts > to_ms))
            w->candles[k++] = *b;
    }
    *asked = k;
    *outside = wrong ? 0 : page->count - k;
    *other = wrong ? page->count : 0;
}

/* Quarantine records of the refused bars, after the checker's own. */
static size_t add_refused(worker *w, size_t nrej, size_t asked, size_t total, bool other)
{
    for (size_t i = asked; i < total; i++) {
        w->rejected[nrej].index = i;
        w->rejected[nrej].codes = other ? "{WRONG_TICKER}" : "{OUT_OF_RANGE}";
        w->rejected[nrej].details =
            other ? "{\"issues\":[{\"code\":\"WRONG_TICKER\",\"message\":\"the response is "
                    "for another ticker\"}]}"
                  : "{\"issues\":[{\"code\":\"OUT_OF_RANGE\",\"message\":\"the bar is outside "
                    "the range the job asked for\"}]}";
        nrej++;
    }
    return nrej;
}

/* The database side of a page, retried on connection failures. */
typedef struct write_ctx {
    worker *w;
    const sink_job *job;
    const sink_page *page;
    sink_result res;
    int kind; /* SINK_* of the last attempt */
} write_ctx;

enum { WRITE_OK = 0, WRITE_RETRY = 1, WRITE_FATAL = 2, WRITE_LEASE = 3 };

static bool transient_sqlstate(const char *s)
{
    /* Connection failures (08), the server shutting down or starting (57P0x),
     * too many connections (53300), serialisation and deadlocks (40). */
    return s[0] == '\0' || strncmp(s, "08", 2) == 0 || strncmp(s, "57P0", 4) == 0 ||
           strcmp(s, "53300") == 0 || strncmp(s, "40", 2) == 0;
}

static int write_once(retry_call *call, void *userdata)
{
    write_ctx *x = userdata;
    if (call->attempt > 1) {
        atomic_fetch_add(&x->w->stats->db_retries, 1);
        atomic_fetch_add(&x->w->stats->retries, 1);
    }
    pgpool_conn *pc;
    int rc = pgpool_acquire(&pc, x->w->pool, 10000);
    if (rc != PGPOOL_OK) {
        char buf[256];
        pgpool_last_error(x->w->pool, buf, sizeof buf);
        snprintf(call->errmsg, sizeof call->errmsg, "database: %s%s%s", pgpool_strerror(rc),
                 buf[0] ? ": " : "", buf);
        log_msg(LOG_LEVEL_WARNING, "attempt %u: %s", call->attempt, call->errmsg);
        return WRITE_RETRY;
    }
    char err[RETRY_ERRMSG_SIZE], state[6];
    x->kind = sink_write_page(pgpool_conn_pg(pc), x->job, x->page, &x->res, err, sizeof err, state);
    if (x->kind == SINK_OK) {
        pgpool_release(pc);
        return WRITE_OK;
    }
    snprintf(call->errmsg, sizeof call->errmsg, "database: %s", err);
    if (x->kind == SINK_LEASE_LOST) {
        pgpool_release(pc);
        return WRITE_LEASE;
    }
    bool transient = transient_sqlstate(state) || PQstatus(pgpool_conn_pg(pc)) != CONNECTION_OK;
    db_give_back(pc);
    log_msg(transient ? LOG_LEVEL_WARNING : LOG_LEVEL_ERROR, "attempt %u: %s", call->attempt,
            call->errmsg);
    return transient ? WRITE_RETRY : WRITE_FATAL;
}

static retry_class classify_write(int rc, const retry_call *call, void *userdata)
{
    (void)call;
    (void)userdata;
    return rc == WRITE_OK      ? RETRY_CLASS_SUCCESS
           : rc == WRITE_RETRY ? RETRY_CLASS_RETRYABLE
                               : RETRY_CLASS_FATAL;
}

/* Feed the checker the last stored bar before a resume point, so that the
 * first page after a restart is checked against it (gaps, opening gaps). */
static void prime_checker(worker *w, const job_row *row)
{
    if (!row->has_checkpoint)
        return;
    pgpool_conn *pc;
    if (pgpool_acquire(&pc, w->pool, 10000) != PGPOOL_OK)
        return;
    dq_candle c;
    if (sink_last_bar(pgpool_conn_pg(pc), row->symbol, row->timespan, row->multiplier,
                      row->checkpoint_ms, &c) == 1) {
        dq_batch b = DQ_BATCH_INIT;
        b.symbol = row->symbol;
        b.candles = &c;
        b.count = 1;
        if (dq_check(w->report, w->checker, &b) != DQ_OK)
            log_msg(LOG_LEVEL_DEBUG, "%s: could not prime the checker", row->symbol);
        dq_report_reset(w->report);
    }
    db_give_back(pc);
}

void worker_run_job(worker *w, job_row *row, job_outcome *out)
{
    memset(out, 0, sizeof *out);
    snprintf(out->symbol, sizeof out->symbol, "%s", row->symbol);

    job_spec spec = { .symbol = row->symbol,
                      .timespan = row->timespan,
                      .multiplier = row->multiplier,
                      .adjusted = row->adjusted };
    job_range_ms(row, &spec.from_ms, &spec.to_ms);
    if (row->has_checkpoint) {
        spec.from_ms = row->checkpoint_ms + 1;
        log_msg(LOG_LEVEL_INFO, "%s: resuming job %lld after its checkpoint", row->symbol,
                (long long)row->id);
    }
    char err[512];
    if (checker_for(w, row) != 0) {
        snprintf(out->error, sizeof out->error, "cannot create the data-quality checker");
        goto end;
    }
    prime_checker(w, row);
    if (source_begin(w->src, &spec, err, sizeof err) != 0) {
        snprintf(out->error, sizeof out->error, "%s", err);
        goto end;
    }
    sink_job sj = { .id = row->id,
                    .symbol = row->symbol,
                    .timespan = row->timespan,
                    .multiplier = row->multiplier,
                    .adjusted = row->adjusted,
                    .source = source_name(w->src),
                    .lease_owner = row->lease_token,
                    .lease_seconds = w->cfg->service.job_lease_s };
    retry_policy wp = RETRY_POLICY_INIT;
    wp.max_attempts = 8;
    wp.backoff.base_ns = 200 * RETRY_NS_PER_MS;
    wp.backoff.cap_ns = 5 * RETRY_NS_PER_S;
    wp.classify = classify_write;

    int pages = 0;
    int64_t checkpoint = spec.from_ms - 1; /* the job resumes after this bar */
    for (;;) {
        const polygon_page *page;
        double t0 = (double)mono_ns() / 1e9;
        int rc = source_next(w->src, &page, err, sizeof err);
        if (w->observe && rc == SOURCE_PAGE)
            w->observe(WORKER_OBSERVE_FETCH, (double)mono_ns() / 1e9 - t0, w->observe_ud);
        if (rc == SOURCE_END)
            break;
        if (rc < 0) {
            snprintf(out->error, sizeof out->error, "%s", err);
            break;
        }
        pages++;
        if (grow(w, page->count) != 0) {
            snprintf(out->error, sizeof out->error, "out of memory for a page of %zu bars",
                     page->count);
            break;
        }
        size_t asked, outside, other;
        sort_asked(w, page, row->symbol, spec.from_ms, spec.to_ms, &asked, &outside, &other);
        int64_t last = INT64_MIN;
        for (size_t i = 0; i < asked; i++)
            last = w->candles[i].ts > last ? w->candles[i].ts : last;
        if (asked > 0 && last <= checkpoint) {
            /* The same bars again: the cursor is not moving. */
            snprintf(out->error, sizeof out->error,
                     "page %d does not advance the job: its last bar (%lld ms) is not after the "
                     "checkpoint (%lld ms)",
                     pages, (long long)last, (long long)checkpoint);
            break;
        }
        if (outside + other > 0)
            log_msg(LOG_LEVEL_WARNING,
                    "%s: page %d: %zu bars outside the job's range and %zu for another ticker "
                    "refused and quarantined",
                    row->symbol, pages, outside, other);
        dq_report_reset(w->report);
        dq_batch b = DQ_BATCH_INIT;
        b.symbol = row->symbol;
        b.candles = w->candles;
        b.count = asked;
        b.accept = w->accept;
        b.errors = w->reasons;
        if (dq_check(w->report, w->checker, &b) != DQ_OK) {
            snprintf(out->error, sizeof out->error, "data-quality check failed: %s",
                     dq_checker_errmsg(w->checker));
            break;
        }
        long nrej = collect_rejected(w, asked);
        char *json = NULL;
        if (nrej < 0 || dq_report_to_json(&json, w->report) != DQ_OK) {
            snprintf(out->error, sizeof out->error, "out of memory for the quality report");
            break;
        }
        nrej = (long)add_refused(w, (size_t)nrej, asked, page->count, other > 0);
        sink_page sp = { .bars = w->candles,
                         .count = asked,
                         .refused = outside + other,
                         .accepted = w->accept,
                         .rejected = w->rejected,
                         .nrejected = (size_t)nrej,
                         .report_json = json,
                         .score = dq_report_score(w->report),
                         .errors = (int)dq_report_count(w->report, DQ_SEVERITY_ERROR),
                         .warnings = (int)dq_report_count(w->report, DQ_SEVERITY_WARNING),
                         .infos = (int)dq_report_count(w->report, DQ_SEVERITY_INFO),
                         .checkpoint_ms = asked ? last : -1 };
        write_ctx x = { .w = w, .job = &sj, .page = &sp };
        retry_result rr;
        t0 = (double)mono_ns() / 1e9;
        int wrc = page->count ? retry_run(&rr, &wp, NULL, NULL, NULL, write_once, &x) : RETRY_OK;
        if (w->observe && page->count)
            w->observe(WORKER_OBSERVE_WRITE, (double)mono_ns() / 1e9 - t0, w->observe_ud);
        dq_string_free(json);
        if (wrc != RETRY_OK) {
            snprintf(out->error, sizeof out->error, "%s", rr.last_errmsg);
            out->lease_lost = x.kind == SINK_LEASE_LOST;
            if (x.kind == SINK_LEASE_LOST)
                log_msg(LOG_LEVEL_WARNING, "%s: %s; this worker stops the job", row->symbol,
                        rr.last_errmsg);
            break;
        }
        if (asked)
            checkpoint = last;
        out->fetched += (int64_t)page->count;
        out->refused += (int64_t)(outside + other);
        atomic_fetch_add(&w->stats->bars_refused, (long long)(outside + other));
        out->inserted += x.res.inserted;
        out->updated += x.res.updated;
        out->unchanged += x.res.unchanged;
        out->quarantined += x.res.quarantined;
        out->warnings += sp.warnings;
        out->errors += sp.errors;
        out->score_loss += (1.0 - sp.score) * (double)page->count;
        atomic_fetch_add(&w->stats->bars_inserted, x.res.inserted);
        atomic_fetch_add(&w->stats->bars_updated, x.res.updated);
        atomic_fetch_add(&w->stats->bars_unchanged, x.res.unchanged);
        atomic_fetch_add(&w->stats->bars_quarantined, x.res.quarantined);
        atomic_fetch_add(&w->stats->dq_warnings, sp.warnings);
        atomic_fetch_add(&w->stats->dq_errors, sp.errors);
        if (w->progress)
            progress_page(w->progress, (int64_t)page->count);
        log_msg(LOG_LEVEL_DEBUG,
                "%s: page %d: %zu bars, %lld new, %lld updated, %lld unchanged, %lld "
                "quarantined, %d warnings",
                row->symbol, pages, page->count, (long long)x.res.inserted,
                (long long)x.res.updated, (long long)x.res.unchanged, (long long)x.res.quarantined,
                sp.warnings);
    }
end:
    out->ok = out->error[0] == '\0';
    out->interrupted = !out->ok && w->stop && *w->stop;
}
