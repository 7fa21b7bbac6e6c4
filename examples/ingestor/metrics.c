/* Latency histograms and the rendering of a metrics snapshot (Prometheus
 * text 0.0.4 and JSON). */
#include "metrics.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "strbuf.h"

/* ---------------------------------------------------------------- histograms */

static const double hist_bounds[LATENCY_HIST_BUCKETS - 1] = {
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
};

double latency_hist_bound(int i)
{
    if (i < 0 || i >= LATENCY_HIST_BUCKETS - 1)
        return INFINITY;
    return hist_bounds[i];
}

void latency_hist_init(latency_hist *h)
{
    for (int i = 0; i < LATENCY_HIST_BUCKETS; i++)
        atomic_init(&h->buckets[i], 0);
    atomic_init(&h->sum_ns, 0);
}

void latency_hist_observe(latency_hist *h, double seconds)
{
    if (!(seconds > 0)) /* negative, zero and NaN */
        seconds = 0;
    int i = 0;
    while (i < LATENCY_HIST_BUCKETS - 1 && seconds > hist_bounds[i])
        i++;
    atomic_fetch_add_explicit(&h->buckets[i], 1, memory_order_relaxed);
    /* 2^64 ns is about 584 years: beyond it (and +Inf) the sum saturates */
    double ns = seconds * 1e9;
    unsigned long long add = ns >= 18446744073709549568.0 ? ~0ULL : (unsigned long long)(ns + 0.5);
    unsigned long long old = atomic_load_explicit(&h->sum_ns, memory_order_relaxed), sum;
    do {
        sum = old + add < old ? ~0ULL : old + add;
    } while (!atomic_compare_exchange_weak_explicit(&h->sum_ns, &old, sum, memory_order_relaxed,
                                                    memory_order_relaxed));
}

void latency_hist_read(latency_hist_snapshot *out, latency_hist *h)
{
    out->count = 0;
    for (int i = 0; i < LATENCY_HIST_BUCKETS; i++) {
        out->buckets[i] = atomic_load_explicit(&h->buckets[i], memory_order_relaxed);
        out->count += out->buckets[i];
    }
    out->sum_ns = atomic_load_explicit(&h->sum_ns, memory_order_relaxed);
}

/* ---------------------------------------------------------------- snapshot */

void metrics_counters_from_stats(metrics_counters *out, ingest_stats *st)
{
    /* The subset counters first: source_polygon.c counts a 2xx before it
     * finds it malformed and a 4xx before it sees it is a 429, so reading
     * malformed before 2xx (sequentially consistent loads) never shows more
     * malformed answers than 2xx answers. */
    out->malformed = atomic_load(&st->malformed);
    out->responses_429 = atomic_load(&st->responses_429);
    out->transport_errors = atomic_load(&st->transport_errors);
    out->responses_2xx = atomic_load(&st->responses_2xx);
    out->responses_4xx = atomic_load(&st->responses_4xx);
    out->responses_5xx = atomic_load(&st->responses_5xx);
    out->requests = atomic_load(&st->requests);
    out->retries = atomic_load(&st->retries);
    out->pages = atomic_load(&st->pages);
    out->bars_fetched = atomic_load(&st->bars_fetched);
    out->bars_inserted = atomic_load(&st->bars_inserted);
    out->bars_updated = atomic_load(&st->bars_updated);
    out->bars_unchanged = atomic_load(&st->bars_unchanged);
    out->bars_quarantined = atomic_load(&st->bars_quarantined);
    out->dq_warnings = atomic_load(&st->dq_warnings);
    out->dq_errors = atomic_load(&st->dq_errors);
    out->db_retries = atomic_load(&st->db_retries);
    out->jobs_done = atomic_load(&st->jobs_done);
    out->jobs_failed = atomic_load(&st->jobs_failed);
    out->waited_ms = atomic_load(&st->waited_ms);
}

int metrics_snapshot_add_jobs(metrics_snapshot *s, const char *state, int64_t count)
{
    if (s->njobs >= METRICS_MAX_JOB_STATES)
        return -1;
    metrics_job_state *j = &s->jobs[s->njobs++];
    snprintf(j->state, sizeof j->state, "%s", state ? state : "");
    j->count = count;
    return 0;
}

/* The HTTP classes, disjoint (see metrics.h); counters never go negative
 * even if a caller filled inconsistent figures. */
static int64_t nonneg(int64_t v)
{
    return v < 0 ? 0 : v;
}

typedef struct http_classes {
    const char *name;
    int64_t value;
} http_classes;

static void http_by_class(http_classes out[6], const metrics_counters *c)
{
    out[0] = (http_classes){ "2xx", nonneg(c->responses_2xx - c->malformed) };
    out[1] = (http_classes){ "4xx", nonneg(c->responses_4xx - c->responses_429) };
    out[2] = (http_classes){ "429", nonneg(c->responses_429) };
    out[3] = (http_classes){ "5xx", nonneg(c->responses_5xx) };
    out[4] = (http_classes){ "transport_error", nonneg(c->transport_errors) };
    out[5] = (http_classes){ "malformed", nonneg(c->malformed) };
}

static const char *const breaker_states[] = { "closed", "open", "half_open", "forced_open",
                                              "disabled" };
#define BREAKER_STATES (int)(sizeof breaker_states / sizeof breaker_states[0])

static const char *breaker_state_name(retry_breaker_state st)
{
    return (int)st >= 0 && (int)st < BREAKER_STATES ? breaker_states[st] : "unknown";
}

/* ---------------------------------------------------------------- Prometheus text */

/* A label value with \, " and newline escaped (the 0.0.4 rules). */
static void escape_label(char *out, size_t size, const char *in)
{
    size_t o = 0;
    for (; *in && o + 3 < size; in++) {
        if (*in == '\\' || *in == '"') {
            out[o++] = '\\';
            out[o++] = *in;
        } else if (*in == '\n') {
            out[o++] = '\\';
            out[o++] = 'n';
        } else {
            out[o++] = *in;
        }
    }
    out[o] = '\0';
}

static void family(strbuf *b, const char *name, const char *type, const char *help)
{
    strbuf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void one(strbuf *b, const char *name, const char *type, const char *help, long long v)
{
    family(b, name, type, help);
    strbuf_printf(b, "%s %lld\n", name, v);
}

/* A histogram from per-bucket counts; bound(i) gives the upper bounds, the
 * last bucket is +Inf. _count is the sum of the buckets, so it always equals
 * the +Inf bucket. */
static void histogram(strbuf *b, const char *name, const char *help, const uint64_t *h, int n,
                      double (*bound)(int), double sum_seconds)
{
    family(b, name, "histogram", help);
    unsigned long long cum = 0;
    for (int i = 0; i < n; i++) {
        cum += h[i];
        if (i == n - 1)
            strbuf_printf(b, "%s_bucket{le=\"+Inf\"} %llu\n", name, cum);
        else
            strbuf_printf(b, "%s_bucket{le=\"%g\"} %llu\n", name, bound(i), cum);
    }
    strbuf_printf(b, "%s_sum %.9f\n%s_count %llu\n", name, sum_seconds, name, cum);
}

static double pgpool_bound(int i)
{
    return pgpool_hist_bound(i);
}

/* The pool's families, as libpgpool renders them (label pool="ingestor"). */
static void render_pool(strbuf *b, const pgpool_stats *st)
{
    size_t n = pgpool_stats_prometheus(NULL, 0, st, "ingestor");
    char *text = malloc(n + 1);
    if (!text) {
        b->failed = true;
        return;
    }
    pgpool_stats_prometheus(text, n + 1, st, "ingestor");
    strbuf_add(b, text, strlen(text));
    free(text);
}

int metrics_render_prometheus(char **out, size_t *len, const metrics_snapshot *s)
{
    if (!out || !len || !s)
        return -1;
    strbuf b = STRBUF_INIT;
    const metrics_counters *c = &s->counters;

    http_classes cls[6];
    http_by_class(cls, c);
    family(&b, "ingestor_http_requests_total", "counter",
           "Polygon API requests answered, by outcome (disjoint classes: 2xx excludes "
           "malformed, 4xx excludes 429).");
    for (int i = 0; i < 6; i++)
        strbuf_printf(&b, "ingestor_http_requests_total{class=\"%s\"} %lld\n", cls[i].name,
                      (long long)cls[i].value);
    one(&b, "ingestor_retries_total", "counter", "Attempts after the first, HTTP and database.",
        (long long)nonneg(c->retries));
    one(&b, "ingestor_db_retries_total", "counter", "Database transactions retried.",
        (long long)nonneg(c->db_retries));
    one(&b, "ingestor_pages_total", "counter", "Pages of bars fetched.",
        (long long)nonneg(c->pages));

    family(&b, "ingestor_bars_total", "counter", "Bars by outcome.");
    const struct {
        const char *name;
        int64_t v;
    } bars[] = {
        { "received", c->bars_fetched },        { "inserted", c->bars_inserted },
        { "updated", c->bars_updated },         { "unchanged", c->bars_unchanged },
        { "quarantined", c->bars_quarantined },
    };
    for (size_t i = 0; i < sizeof bars / sizeof bars[0]; i++)
        strbuf_printf(&b, "ingestor_bars_total{outcome=\"%s\"} %lld\n", bars[i].name,
                      (long long)nonneg(bars[i].v));

    family(&b, "ingestor_dq_issues_total", "counter", "Data quality issues by severity.");
    strbuf_printf(&b,
                  "ingestor_dq_issues_total{severity=\"warning\"} %lld\n"
                  "ingestor_dq_issues_total{severity=\"error\"} %lld\n",
                  (long long)nonneg(c->dq_warnings), (long long)nonneg(c->dq_errors));
    family(&b, "ingestor_jobs_finished_total", "counter", "Jobs finished by this process.");
    strbuf_printf(&b,
                  "ingestor_jobs_finished_total{result=\"done\"} %lld\n"
                  "ingestor_jobs_finished_total{result=\"failed\"} %lld\n",
                  (long long)nonneg(c->jobs_done), (long long)nonneg(c->jobs_failed));
    family(&b, "ingestor_wait_seconds_total", "counter",
           "Time slept for backoff and the rate limit.");
    strbuf_printf(&b, "ingestor_wait_seconds_total %.3f\n", (double)nonneg(c->waited_ms) / 1000.0);

    histogram(&b, "ingestor_page_fetch_seconds", "Time to fetch and parse one page of bars.",
              s->page_fetch.buckets, LATENCY_HIST_BUCKETS, latency_hist_bound,
              (double)s->page_fetch.sum_ns / 1e9);
    histogram(&b, "ingestor_db_write_seconds", "Time of one page's database transaction.",
              s->db_write.buckets, LATENCY_HIST_BUCKETS, latency_hist_bound,
              (double)s->db_write.sum_ns / 1e9);

    family(&b, "ingestor_jobs", "gauge", "Backfill jobs by state.");
    size_t njobs = s->njobs < METRICS_MAX_JOB_STATES ? s->njobs : METRICS_MAX_JOB_STATES;
    for (size_t i = 0; i < njobs; i++) {
        char st[sizeof s->jobs[i].state * 2 + 1];
        char name[sizeof s->jobs[i].state];
        memcpy(name, s->jobs[i].state, sizeof name);
        name[sizeof name - 1] = '\0';
        escape_label(st, sizeof st, name);
        strbuf_printf(&b, "ingestor_jobs{state=\"%s\"} %lld\n", st, (long long)s->jobs[i].count);
    }
    one(&b, "ingestor_lease_losses_total", "counter",
        "Jobs whose lease was lost to another worker.", (long long)nonneg(s->lease_losses));
    one(&b, "ingestor_last_success_timestamp_seconds", "gauge",
        "Unix time of the last job that finished done (0: never).",
        (long long)nonneg(s->last_success_unix));
    family(&b, "ingestor_alerts_total", "counter", "Alert deliveries by channel and result.");
    static const char *const channel[METRICS_ALERT_CHANNELS] = { "webhook", "email" };
    for (int ch = 0; ch < METRICS_ALERT_CHANNELS; ch++)
        strbuf_printf(&b,
                      "ingestor_alerts_total{channel=\"%s\",result=\"sent\"} %lld\n"
                      "ingestor_alerts_total{channel=\"%s\",result=\"failed\"} %lld\n",
                      channel[ch], (long long)nonneg(s->alerts_sent[ch]), channel[ch],
                      (long long)nonneg(s->alerts_failed[ch]));

    if (s->have_breaker) {
        family(&b, "ingestor_api_breaker_state", "gauge",
               "Circuit breaker of the Polygon API (1 for the current state).");
        for (int i = 0; i < BREAKER_STATES; i++)
            strbuf_printf(&b, "ingestor_api_breaker_state{state=\"%s\"} %d\n", breaker_states[i],
                          (int)s->breaker.state == i);
        one(&b, "ingestor_api_breaker_rejections_total", "counter",
            "Calls the circuit breaker refused.", (long long)s->breaker.rejections);
        one(&b, "ingestor_api_breaker_transitions_total", "counter",
            "State changes of the circuit breaker.", (long long)s->breaker.transitions);
    }
    if (s->have_pool)
        render_pool(&b, &s->pool);

    *len = b.len;
    *out = strbuf_take(&b);
    return *out ? 0 : -1;
}

/* ---------------------------------------------------------------- JSON */

static int num(cJSON *o, const char *name, double v)
{
    return cJSON_AddNumberToObject(o, name, v) != NULL;
}

static cJSON *hist_json(const uint64_t *h, int n, double (*bound)(int), double sum_seconds)
{
    cJSON *o = cJSON_CreateObject(), *arr = o ? cJSON_AddArrayToObject(o, "buckets") : NULL;
    if (!arr) {
        cJSON_Delete(o);
        return NULL;
    }
    uint64_t cum = 0;
    int ok = 1;
    for (int i = 0; i < n && ok; i++) {
        cum += h[i];
        cJSON *bk = cJSON_CreateObject();
        ok = bk && cJSON_AddItemToArray(arr, bk);
        if (!ok) {
            cJSON_Delete(bk);
            break;
        }
        if (i == n - 1)
            ok = cJSON_AddStringToObject(bk, "le", "+Inf") != NULL;
        else
            ok = num(bk, "le", bound(i));
        ok = ok && num(bk, "count", (double)cum);
    }
    ok = ok && num(o, "sum", sum_seconds) && num(o, "count", (double)cum);
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static int add(cJSON *parent, const char *name, cJSON *child)
{
    if (!child)
        return 0;
    if (!cJSON_AddItemToObject(parent, name, child)) {
        cJSON_Delete(child);
        return 0;
    }
    return 1;
}

static cJSON *pool_json(const pgpool_stats *st)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON *conn = cJSON_AddObjectToObject(o, "connections");
    int ok = conn && num(conn, "idle", st->idle) && num(conn, "in_use", st->in_use) &&
             num(conn, "connecting", st->connecting) && num(conn, "total", st->total) &&
             num(o, "waiters", st->waiters) && num(o, "max_size", st->max_size) &&
             num(o, "max_overflow", st->max_overflow) && num(o, "min_idle", st->min_idle) &&
             cJSON_AddStringToObject(o, "health", pgpool_health_state_name((int)st->health)) &&
             num(o, "acquires", (double)st->acquires) &&
             num(o, "acquire_waits", (double)st->waits) &&
             num(o, "acquire_timeouts", (double)st->timeouts) &&
             num(o, "acquire_connect_errors", (double)st->connect_errors) &&
             num(o, "overflow_acquires", (double)st->overflow_acquires) &&
             num(o, "connect_attempts", (double)st->connect_attempts) &&
             num(o, "connect_failures", (double)st->connect_failures) &&
             num(o, "connections_created", (double)st->created) &&
             num(o, "leaks", (double)st->leaks) && num(o, "validations", (double)st->validations) &&
             num(o, "rollbacks", (double)st->rollbacks) && num(o, "resets", (double)st->resets);
    cJSON *closed = ok ? cJSON_AddObjectToObject(o, "connections_closed") : NULL;
    ok = ok && closed;
    for (int r = 0; ok && r < PGPOOL_CLOSE_REASON_COUNT; r++)
        ok = num(closed, pgpool_close_reason_name(r), (double)st->closed[r]);
    cJSON *rel = ok ? cJSON_AddObjectToObject(o, "releases") : NULL;
    ok = ok && rel && num(rel, "idle", (double)st->returned_idle) &&
         num(rel, "in_transaction", (double)st->returned_in_txn) &&
         num(rel, "failed", (double)st->returned_failed);
    ok = ok && add(o, "acquire_wait_seconds",
                   hist_json(st->wait_hist, PGPOOL_HIST_BUCKETS, pgpool_bound,
                             (double)st->wait_sum_ns / 1e9));
    ok = ok && add(o, "connection_usage_seconds",
                   hist_json(st->usage_hist, PGPOOL_HIST_BUCKETS, pgpool_bound,
                             (double)st->usage_sum_ns / 1e9));
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static int build_json(cJSON *o, const metrics_snapshot *s)
{
    const metrics_counters *c = &s->counters;
    http_classes cls[6];
    http_by_class(cls, c);
    cJSON *http = cJSON_AddObjectToObject(o, "http_requests");
    if (!http || !num(http, "sent", (double)nonneg(c->requests)))
        return 0;
    cJSON *by = cJSON_AddObjectToObject(http, "by_class");
    if (!by)
        return 0;
    for (int i = 0; i < 6; i++)
        if (!num(by, cls[i].name, (double)cls[i].value))
            return 0;
    if (!num(o, "retries", (double)nonneg(c->retries)) ||
        !num(o, "db_retries", (double)nonneg(c->db_retries)) ||
        !num(o, "pages", (double)nonneg(c->pages)))
        return 0;
    cJSON *bars = cJSON_AddObjectToObject(o, "bars");
    if (!bars || !num(bars, "received", (double)nonneg(c->bars_fetched)) ||
        !num(bars, "inserted", (double)nonneg(c->bars_inserted)) ||
        !num(bars, "updated", (double)nonneg(c->bars_updated)) ||
        !num(bars, "unchanged", (double)nonneg(c->bars_unchanged)) ||
        !num(bars, "quarantined", (double)nonneg(c->bars_quarantined)))
        return 0;
    cJSON *dq = cJSON_AddObjectToObject(o, "dq_issues");
    if (!dq || !num(dq, "warning", (double)nonneg(c->dq_warnings)) ||
        !num(dq, "error", (double)nonneg(c->dq_errors)))
        return 0;
    cJSON *fin = cJSON_AddObjectToObject(o, "jobs_finished");
    if (!fin || !num(fin, "done", (double)nonneg(c->jobs_done)) ||
        !num(fin, "failed", (double)nonneg(c->jobs_failed)))
        return 0;
    if (!num(o, "wait_seconds", (double)nonneg(c->waited_ms) / 1000.0))
        return 0;
    if (!add(o, "page_fetch_seconds",
             hist_json(s->page_fetch.buckets, LATENCY_HIST_BUCKETS, latency_hist_bound,
                       (double)s->page_fetch.sum_ns / 1e9)) ||
        !add(o, "db_write_seconds",
             hist_json(s->db_write.buckets, LATENCY_HIST_BUCKETS, latency_hist_bound,
                       (double)s->db_write.sum_ns / 1e9)))
        return 0;
    cJSON *jobs = cJSON_AddObjectToObject(o, "jobs");
    if (!jobs)
        return 0;
    size_t njobs = s->njobs < METRICS_MAX_JOB_STATES ? s->njobs : METRICS_MAX_JOB_STATES;
    for (size_t i = 0; i < njobs; i++) {
        char name[sizeof s->jobs[i].state];
        memcpy(name, s->jobs[i].state, sizeof name);
        name[sizeof name - 1] = '\0';
        if (!num(jobs, name, (double)s->jobs[i].count))
            return 0;
    }
    if (!num(o, "lease_losses", (double)nonneg(s->lease_losses)) ||
        !num(o, "last_success_timestamp_seconds", (double)nonneg(s->last_success_unix)))
        return 0;
    cJSON *alerts = cJSON_AddObjectToObject(o, "alerts");
    cJSON *web = alerts ? cJSON_AddObjectToObject(alerts, "webhook") : NULL;
    cJSON *mail = alerts ? cJSON_AddObjectToObject(alerts, "email") : NULL;
    int64_t sent = nonneg(s->alerts_sent[0]) + nonneg(s->alerts_sent[1]);
    int64_t failed = nonneg(s->alerts_failed[0]) + nonneg(s->alerts_failed[1]);
    if (!web || !mail || !num(alerts, "sent", (double)sent) ||
        !num(alerts, "failed", (double)failed) ||
        !num(web, "sent", (double)nonneg(s->alerts_sent[METRICS_ALERT_WEBHOOK])) ||
        !num(web, "failed", (double)nonneg(s->alerts_failed[METRICS_ALERT_WEBHOOK])) ||
        !num(mail, "sent", (double)nonneg(s->alerts_sent[METRICS_ALERT_EMAIL])) ||
        !num(mail, "failed", (double)nonneg(s->alerts_failed[METRICS_ALERT_EMAIL])))
        return 0;
    if (s->have_breaker) {
        cJSON *br = cJSON_AddObjectToObject(o, "api_breaker");
        if (!br || !cJSON_AddStringToObject(br, "state", breaker_state_name(s->breaker.state)) ||
            !num(br, "failure_rate", s->breaker.failure_rate) ||
            !num(br, "window_calls", s->breaker.window_calls) ||
            !num(br, "window_failures", s->breaker.window_failures) ||
            !num(br, "calls", (double)s->breaker.calls) ||
            !num(br, "rejections", (double)s->breaker.rejections) ||
            !num(br, "transitions", (double)s->breaker.transitions) ||
            !num(br, "until_admit_seconds", (double)s->breaker.until_admit_ns / 1e9))
            return 0;
    } else if (!cJSON_AddNullToObject(o, "api_breaker")) {
        return 0;
    }
    if (s->have_pool)
        return add(o, "pgpool", pool_json(&s->pool));
    return cJSON_AddNullToObject(o, "pgpool") != NULL;
}

int metrics_render_json(char **out, size_t *len, const metrics_snapshot *s)
{
    if (!out || !len || !s)
        return -1;
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return -1;
    char *text = build_json(o, s) ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    if (!text)
        return -1;
    *out = text;
    *len = strlen(text);
    return 0;
}
