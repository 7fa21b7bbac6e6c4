/* The ingestor's metrics: latency histograms, the Prometheus text (checked
 * by a validating parser, then sample by sample) and the JSON rendering. */
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <cjson/cJSON.h>

#include "metrics.h"
#include "promcheck.h"

/* ---------------------------------------------------------------- helpers */

static double sample(const prom_doc *d, const char *name, const char *labels)
{
    double v = 0;
    if (!prom_get(d, name, labels, &v))
        fail_msg("no sample %s{%s}", name, labels);
    return v;
}

#define assert_sample(d, name, labels, expected)                                                   \
    assert_float_equal(sample((d), (name), (labels)), (double)(expected), 1e-9)

static void parse_ok(prom_doc *d, const char *text, size_t len)
{
    if (prom_parse(d, text, len) != 0)
        fail_msg("rejected: %s\n--- text ---\n%s", d->err, text);
}

static void reject(const char *text, const char *why)
{
    prom_doc d;
    int rc = prom_parse(&d, text, strlen(text));
    if (rc == 0)
        fail_msg("accepted (%s):\n%s", why, text);
    assert_true(d.err[0] != '\0');
    if (getenv("PROMCHECK_VERBOSE"))
        print_message("rejected (%s): %s\n", why, d.err);
    prom_free(&d);
}

/* A snapshot with a distinct value everywhere. */
static void fill(metrics_snapshot *s)
{
    memset(s, 0, sizeof *s);
    metrics_counters *c = &s->counters;
    c->requests = 1000;
    c->responses_2xx = 900;
    c->malformed = 7;
    c->responses_4xx = 40;
    c->responses_429 = 25;
    c->responses_5xx = 30;
    c->transport_errors = 30;
    c->retries = 77;
    c->db_retries = 3;
    c->pages = 893;
    c->bars_fetched = 5000;
    c->bars_inserted = 1234;
    c->bars_updated = 56;
    c->bars_unchanged = 3700;
    c->bars_quarantined = 10;
    c->dq_warnings = 11;
    c->dq_errors = 4;
    c->jobs_done = 20;
    c->jobs_failed = 2;
    c->waited_ms = 12345;

    /* page fetch: 0.001 and 0.005 (exactly on a bound) in le=0.005, 0.2 in
     * 0.25, 3 in 5, 100 in +Inf */
    latency_hist h;
    latency_hist_init(&h);
    latency_hist_observe(&h, 0.001);
    latency_hist_observe(&h, 0.005);
    latency_hist_observe(&h, 0.2);
    latency_hist_observe(&h, 3);
    latency_hist_observe(&h, 100);
    latency_hist_read(&s->page_fetch, &h);
    latency_hist_init(&h);
    latency_hist_observe(&h, 0.02);
    latency_hist_observe(&h, 0.02);
    latency_hist_observe(&h, 0.75);
    latency_hist_read(&s->db_write, &h);

    assert_int_equal(metrics_snapshot_add_jobs(s, "queued", 5), 0);
    assert_int_equal(metrics_snapshot_add_jobs(s, "running", 2), 0);
    assert_int_equal(metrics_snapshot_add_jobs(s, "done", 40), 0);
    assert_int_equal(metrics_snapshot_add_jobs(s, "failed", 1), 0);
    assert_int_equal(metrics_snapshot_add_jobs(s, "dead", 3), 0);
    s->lease_losses = 6;
    s->last_success_unix = 1718000000;
    s->alerts_sent[METRICS_ALERT_WEBHOOK] = 8;
    s->alerts_failed[METRICS_ALERT_WEBHOOK] = 1;
    s->alerts_sent[METRICS_ALERT_EMAIL] = 3;

    s->have_breaker = 1;
    s->breaker.state = RETRY_BREAKER_OPEN;
    s->breaker.rejections = 17;
    s->breaker.transitions = 4;
    s->breaker.failure_rate = 62.5;
    s->breaker.calls = 300;

    s->have_pool = 1;
    pgpool_stats *p = &s->pool;
    p->version = PGPOOL_STATS_VERSION;
    p->total = 6;
    p->idle = 3;
    p->in_use = 2;
    p->connecting = 1;
    p->waiters = 4;
    p->max_size = 10;
    p->max_overflow = 2;
    p->min_idle = 1;
    p->health = PGPOOL_DEGRADED;
    p->acquires = 500;
    p->waits = 50;
    p->timeouts = 5;
    p->connect_errors = 2;
    p->connect_attempts = 12;
    p->connect_failures = 3;
    p->created = 9;
    p->closed[PGPOOL_CLOSE_IDLE] = 2;
    p->closed[PGPOOL_CLOSE_BROKEN] = 1;
    p->leaks = 1;
    p->validations = 33;
    p->returned_idle = 480;
    p->returned_in_txn = 15;
    p->returned_failed = 5;
    p->rollbacks = 20;
    p->resets = 7;
    p->overflow_acquires = 8;
    p->wait_hist[0] = 400; /* <= 0.0001 */
    p->wait_hist[3] = 80;  /* <= 0.005 */
    p->wait_hist[PGPOOL_HIST_BUCKETS - 1] = 20;
    p->wait_sum_ns = 2500000000;
    p->usage_hist[4] = 300; /* <= 0.01 */
    p->usage_hist[8] = 200; /* <= 1 */
    p->usage_sum_ns = 150000000000;
    p->usage_count = 500;
}

static char *render(const metrics_snapshot *s, size_t *len)
{
    char *text = NULL;
    assert_int_equal(metrics_render_prometheus(&text, len, s), 0);
    assert_non_null(text);
    assert_int_equal(strlen(text), *len);
    return text;
}

/* ---------------------------------------------------------------- histograms */

static void hist_buckets_and_bounds(void **state)
{
    (void)state;
    assert_float_equal(latency_hist_bound(0), 0.005, 0);
    assert_true(isinf(latency_hist_bound(LATENCY_HIST_BUCKETS - 1)));
    assert_true(isinf(latency_hist_bound(-1)));
    assert_true(isinf(latency_hist_bound(LATENCY_HIST_BUCKETS)));
    for (int i = 1; i < LATENCY_HIST_BUCKETS; i++)
        assert_true(latency_hist_bound(i) > latency_hist_bound(i - 1));

    latency_hist h;
    latency_hist_init(&h);
    latency_hist_observe(&h, -1);    /* counts as 0 */
    latency_hist_observe(&h, NAN);   /* counts as 0 */
    latency_hist_observe(&h, 0.005); /* on the bound: le=0.005 */
    latency_hist_observe(&h, 0.0051);
    latency_hist_observe(&h, 30);
    latency_hist_observe(&h, 30.5);
    latency_hist_observe(&h, INFINITY);
    latency_hist_snapshot s;
    latency_hist_read(&s, &h);
    assert_int_equal(s.count, 7);
    assert_int_equal(s.buckets[0], 3);
    assert_int_equal(s.buckets[1], 1);
    assert_int_equal(s.buckets[LATENCY_HIST_BUCKETS - 2], 1); /* le=30 */
    assert_int_equal(s.buckets[LATENCY_HIST_BUCKETS - 1], 2); /* +Inf */
    assert_int_equal(s.sum_ns, UINT64_MAX);                   /* saturated by +Inf */

    latency_hist_init(&h);
    latency_hist_observe(&h, 1.5);
    latency_hist_observe(&h, 0.25);
    latency_hist_read(&s, &h);
    assert_int_equal(s.sum_ns, 1750000000ULL);
}

#define THREADS    4
#define PER_THREAD 20000

static void *observer(void *arg)
{
    latency_hist *h = arg;
    for (int i = 0; i < PER_THREAD; i++)
        latency_hist_observe(h, (i % 2) ? 0.001 : 2.0); /* le=0.005 and le=2.5 */
    return NULL;
}

static void hist_concurrent_observe(void **state)
{
    (void)state;
    static latency_hist h; /* zero storage is an empty histogram */
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, observer, &h), 0);
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_join(t[i], NULL), 0);
    latency_hist_snapshot s;
    latency_hist_read(&s, &h);
    assert_int_equal(s.count, THREADS * PER_THREAD);
    assert_int_equal(s.buckets[0], THREADS * PER_THREAD / 2);
    assert_int_equal(s.buckets[8], THREADS * PER_THREAD / 2); /* le=2.5 */
    /* each 0.001 s adds 1000000 ns exactly, each 2 s 2000000000 ns */
    assert_int_equal(s.sum_ns, (uint64_t)THREADS * PER_THREAD / 2 * (1000000ULL + 2000000000ULL));
}

static void counters_copied_from_stats(void **state)
{
    (void)state;
    static ingest_stats st;
    atomic_store(&st.requests, 10);
    atomic_store(&st.responses_2xx, 8);
    atomic_store(&st.malformed, 1);
    atomic_store(&st.responses_429, 2);
    atomic_store(&st.responses_4xx, 2);
    atomic_store(&st.bars_inserted, 1234);
    atomic_store(&st.bars_quarantined, 9);
    atomic_store(&st.waited_ms, 1500);
    atomic_store(&st.jobs_failed, 3);
    metrics_counters c;
    metrics_counters_from_stats(&c, &st);
    assert_int_equal(c.requests, 10);
    assert_int_equal(c.responses_2xx, 8);
    assert_int_equal(c.malformed, 1);
    assert_int_equal(c.responses_429, 2);
    assert_int_equal(c.responses_4xx, 2);
    assert_int_equal(c.bars_inserted, 1234);
    assert_int_equal(c.bars_quarantined, 9);
    assert_int_equal(c.waited_ms, 1500);
    assert_int_equal(c.jobs_failed, 3);
    assert_int_equal(c.jobs_done, 0);
}

/* ---------------------------------------------------------------- the validator */

static void validator_accepts_valid_text(void **state)
{
    (void)state;
    const char *text =
        "# a plain comment\n"
        "# HELP x_total A counter with \\\\ and \\n in its help.\n"
        "# TYPE x_total counter\n"
        "x_total{a=\"q\\\"uote\",b=\"back\\\\slash\",c=\"new\\nline\",} 3 1700000000000\n"
        "x_total{a=\"other\"} 1e3\n"
        "\n"
        "# HELP g A gauge.\n"
        "# TYPE g gauge\n"
        "g NaN\n"
        "g{k=\"v\"} -Inf\n"
        "g{k=\"w\"} -0.5\n"
        "# HELP h A histogram.\n"
        "# TYPE h histogram\n"
        "h_bucket{le=\"0.1\"} 1\n"
        "h_bucket{le=\"1\"} 1\n"
        "h_bucket{le=\"+Inf\"} 2\n"
        "h_sum 4.5\n"
        "h_count 2\n"
        "# HELP e A family without samples yet.\n"
        "# TYPE e gauge\n";
    prom_doc d;
    parse_ok(&d, text, strlen(text));
    assert_sample(&d, "x_total", "a=q\"uote,b=back\\slash,c=new\nline", 3);
    assert_sample(&d, "x_total", "a=other", 1000);
    assert_true(isnan(sample(&d, "g", "")));
    assert_true(isinf(sample(&d, "g", "k=v")));
    assert_sample(&d, "h_bucket", "le=+Inf", 2);
    assert_int_equal(prom_count(&d, "h_bucket"), 3);
    double v;
    assert_int_equal(prom_get(&d, "x_total", "a=missing", &v), 0);
    prom_free(&d);
}

#define HG "# HELP h H.\n# TYPE h histogram\n"
#define CT "# HELP c_total C.\n# TYPE c_total counter\n"

static void validator_rejects_broken_text(void **state)
{
    (void)state;
    reject("# HELP c_total C.\n# TYPE c_total counter\nc_total 1", "no final newline");
    reject("c_total 1\n", "no TYPE");
    reject("# TYPE c_total counter\nc_total 1\n", "no HELP");
    reject("# HELP c_total C.\nc_total 1\n# TYPE c_total counter\n", "TYPE after the sample");
    reject(CT "c_total 1\n# HELP c_total again\n", "HELP after the sample");
    reject(CT "# TYPE c_total counter\nc_total 1\n", "two TYPE lines");
    reject("# HELP c_total C.\n# HELP c_total D.\n# TYPE c_total counter\nc_total 1\n",
           "two HELP lines");
    reject("# HELP c_total C.\n# TYPE c_total countr\nc_total 1\n", "unknown type");
    reject("# HELP c C.\n# TYPE c counter\nc 1\n", "counter without _total");
    reject("# HELP g_total G.\n# TYPE g_total gauge\ng_total 1\n", "gauge with _total");
    reject(CT "c_total -1\n", "negative counter");
    reject("# HELP 1c_total C.\n# TYPE 1c_total counter\n1c_total 1\n", "bad metric name");
    reject(CT "c-x_total 1\n", "dash in the name");
    reject(CT "c_total{1a=\"x\"} 1\n", "bad label name");
    reject(CT "c_total{__a=\"x\"} 1\n", "reserved label name");
    reject(CT "c_total{a=x} 1\n", "unquoted label value");
    reject(CT "c_total{a=\"x} 1\n", "unterminated label value");
    reject(CT "c_total{a=\"x\\t\"} 1\n", "bad escape");
    reject(CT "c_total{a=\"x\",a=\"y\"} 1\n", "label twice");
    reject(CT "c_total{a=\"x\" b=\"y\"} 1\n", "labels without a comma");
    reject(CT "c_total{a=\"x\"}1\n", "no blank before the value");
    reject(CT "c_total abc\n", "value not a number");
    reject(CT "c_total 0x10\n", "hex value");
    reject(CT "c_total 1 2.5\n", "fractional timestamp");
    reject(CT "c_total 1 2 3\n", "trailing text");
    reject(CT "c_total\n", "no value");
    reject(CT "c_total 1\nc_total 2\n", "duplicate series");
    reject(CT "c_total{a=\"1\",b=\"2\"} 1\nc_total{b=\"2\",a=\"1\"} 2\n",
           "duplicate series, labels reordered");
    reject(CT "c_total{a=\"1\"} 1\n# HELP g G.\n# TYPE g gauge\ng 1\nc_total{a=\"2\"} 1\n",
           "family split in two");
    reject(HG "h_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n",
           "buckets not cumulative");
    reject(HG "h_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 3\n",
           "+Inf differs from _count");
    reject(HG "h_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1\n", "no +Inf bucket");
    reject(HG "h_bucket{le=\"1\"} 1\nh_bucket{le=\"0.5\"} 1\nh_bucket{le=\"+Inf\"} 1\n"
              "h_sum 1\nh_count 1\n",
           "bounds out of order");
    reject(HG "h_bucket{le=\"x\"} 1\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n",
           "le not a number");
    reject(HG "h_bucket 1\nh_sum 1\nh_count 1\n", "bucket without le");
    reject(HG "h_bucket{le=\"+Inf\"} 1\nh_count 1\n", "no _sum");
    reject(HG "h_bucket{le=\"+Inf\"} 1\nh_sum 1\n", "no _count");
    reject(HG "h_bucket{le=\"+Inf\"} 1.5\nh_sum 1\nh_count 1.5\n", "fractional count");
    reject(HG "h 1\n", "histogram sample without a suffix");
    reject(HG "h_sum{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 1\nh_count 1\n", "le on _sum");
}

/* ---------------------------------------------------------------- Prometheus text */

static void prometheus_valid_and_exact(void **state)
{
    (void)state;
    metrics_snapshot s;
    fill(&s);
    size_t len;
    char *text = render(&s, &len);
    prom_doc d;
    parse_ok(&d, text, len);

    /* HTTP: disjoint classes */
    assert_sample(&d, "ingestor_http_requests_total", "class=2xx", 893);
    assert_sample(&d, "ingestor_http_requests_total", "class=malformed", 7);
    assert_sample(&d, "ingestor_http_requests_total", "class=4xx", 15);
    assert_sample(&d, "ingestor_http_requests_total", "class=429", 25);
    assert_sample(&d, "ingestor_http_requests_total", "class=5xx", 30);
    assert_sample(&d, "ingestor_http_requests_total", "class=transport_error", 30);
    assert_int_equal(prom_count(&d, "ingestor_http_requests_total"), 6);
    assert_sample(&d, "ingestor_retries_total", "", 77);
    assert_sample(&d, "ingestor_db_retries_total", "", 3);
    assert_sample(&d, "ingestor_pages_total", "", 893);

    assert_sample(&d, "ingestor_bars_total", "outcome=received", 5000);
    assert_sample(&d, "ingestor_bars_total", "outcome=inserted", 1234);
    assert_sample(&d, "ingestor_bars_total", "outcome=updated", 56);
    assert_sample(&d, "ingestor_bars_total", "outcome=unchanged", 3700);
    assert_sample(&d, "ingestor_bars_total", "outcome=quarantined", 10);
    assert_sample(&d, "ingestor_dq_issues_total", "severity=warning", 11);
    assert_sample(&d, "ingestor_dq_issues_total", "severity=error", 4);
    assert_sample(&d, "ingestor_jobs_finished_total", "result=done", 20);
    assert_sample(&d, "ingestor_jobs_finished_total", "result=failed", 2);
    assert_sample(&d, "ingestor_wait_seconds_total", "", 12.345);

    /* histograms, cumulative */
    assert_sample(&d, "ingestor_page_fetch_seconds_bucket", "le=0.005", 2);
    assert_sample(&d, "ingestor_page_fetch_seconds_bucket", "le=0.1", 2);
    assert_sample(&d, "ingestor_page_fetch_seconds_bucket", "le=0.25", 3);
    assert_sample(&d, "ingestor_page_fetch_seconds_bucket", "le=2.5", 3);
    assert_sample(&d, "ingestor_page_fetch_seconds_bucket", "le=5", 4);
    assert_sample(&d, "ingestor_page_fetch_seconds_bucket", "le=30", 4);
    assert_sample(&d, "ingestor_page_fetch_seconds_bucket", "le=+Inf", 5);
    assert_sample(&d, "ingestor_page_fetch_seconds_count", "", 5);
    assert_sample(&d, "ingestor_page_fetch_seconds_sum", "", 103.206);
    assert_int_equal(prom_count(&d, "ingestor_page_fetch_seconds_bucket"), LATENCY_HIST_BUCKETS);
    assert_sample(&d, "ingestor_db_write_seconds_bucket", "le=0.025", 2);
    assert_sample(&d, "ingestor_db_write_seconds_bucket", "le=1", 3);
    assert_sample(&d, "ingestor_db_write_seconds_count", "", 3);
    assert_sample(&d, "ingestor_db_write_seconds_sum", "", 0.79);

    assert_sample(&d, "ingestor_jobs", "state=queued", 5);
    assert_sample(&d, "ingestor_jobs", "state=running", 2);
    assert_sample(&d, "ingestor_jobs", "state=done", 40);
    assert_sample(&d, "ingestor_jobs", "state=failed", 1);
    assert_sample(&d, "ingestor_jobs", "state=dead", 3);
    assert_sample(&d, "ingestor_lease_losses_total", "", 6);
    assert_sample(&d, "ingestor_last_success_timestamp_seconds", "", 1718000000);
    assert_sample(&d, "ingestor_alerts_total", "channel=webhook,result=sent", 8);
    assert_sample(&d, "ingestor_alerts_total", "channel=webhook,result=failed", 1);
    assert_sample(&d, "ingestor_alerts_total", "channel=email,result=sent", 3);
    assert_sample(&d, "ingestor_alerts_total", "channel=email,result=failed", 0);

    assert_sample(&d, "ingestor_api_breaker_state", "state=open", 1);
    assert_sample(&d, "ingestor_api_breaker_state", "state=closed", 0);
    assert_sample(&d, "ingestor_api_breaker_state", "state=half_open", 0);
    assert_sample(&d, "ingestor_api_breaker_state", "state=forced_open", 0);
    assert_sample(&d, "ingestor_api_breaker_state", "state=disabled", 0);
    assert_sample(&d, "ingestor_api_breaker_rejections_total", "", 17);
    assert_sample(&d, "ingestor_api_breaker_transitions_total", "", 4);

    assert_sample(&d, "pgpool_connections", "pool=ingestor,state=idle", 3);
    assert_sample(&d, "pgpool_connections", "pool=ingestor,state=in_use", 2);
    assert_sample(&d, "pgpool_connections", "pool=ingestor,state=connecting", 1);
    assert_sample(&d, "pgpool_waiters", "pool=ingestor", 4);
    assert_sample(&d, "pgpool_max_size", "pool=ingestor", 10);
    assert_sample(&d, "pgpool_health", "pool=ingestor,state=degraded", 1);
    assert_sample(&d, "pgpool_health", "pool=ingestor,state=up", 0);
    assert_sample(&d, "pgpool_acquires_total", "pool=ingestor", 500);
    assert_sample(&d, "pgpool_acquire_waits_total", "pool=ingestor", 50);
    assert_sample(&d, "pgpool_acquire_timeouts_total", "pool=ingestor", 5);
    assert_sample(&d, "pgpool_acquire_connect_errors_total", "pool=ingestor", 2);
    assert_sample(&d, "pgpool_overflow_acquires_total", "pool=ingestor", 8);
    assert_sample(&d, "pgpool_connections_created_total", "pool=ingestor", 9);
    assert_sample(&d, "pgpool_connections_closed_total", "pool=ingestor,reason=idle", 2);
    assert_sample(&d, "pgpool_connections_closed_total", "pool=ingestor,reason=broken", 1);
    assert_sample(&d, "pgpool_connections_closed_total", "pool=ingestor,reason=lifetime", 0);
    assert_sample(&d, "pgpool_releases_total", "pool=ingestor,txn=in_transaction", 15);
    assert_sample(&d, "pgpool_rollbacks_total", "pool=ingestor", 20);
    assert_sample(&d, "pgpool_acquire_wait_seconds_bucket", "le=0.0001,pool=ingestor", 400);
    assert_sample(&d, "pgpool_acquire_wait_seconds_bucket", "le=0.005,pool=ingestor", 480);
    assert_sample(&d, "pgpool_acquire_wait_seconds_bucket", "le=10,pool=ingestor", 480);
    assert_sample(&d, "pgpool_acquire_wait_seconds_bucket", "le=+Inf,pool=ingestor", 500);
    assert_sample(&d, "pgpool_acquire_wait_seconds_count", "pool=ingestor", 500);
    assert_sample(&d, "pgpool_acquire_wait_seconds_sum", "pool=ingestor", 2.5);
    assert_sample(&d, "pgpool_connection_usage_seconds_bucket", "le=0.01,pool=ingestor", 300);
    assert_sample(&d, "pgpool_connection_usage_seconds_bucket", "le=1,pool=ingestor", 500);
    assert_sample(&d, "pgpool_connection_usage_seconds_count", "pool=ingestor", 500);
    assert_sample(&d, "pgpool_connection_usage_seconds_sum", "pool=ingestor", 150);
    assert_int_equal(prom_count(&d, "pgpool_acquire_wait_seconds_bucket"), PGPOOL_HIST_BUCKETS);

    /* no series per symbol, nothing but the ingestor's and the pool's */
    for (size_t i = 0; i < d.n; i++) {
        assert_null(strstr(d.samples[i].labels, "symbol"));
        assert_true(!strncmp(d.samples[i].name, "ingestor_", 9) ||
                    !strncmp(d.samples[i].name, "pgpool_", 7));
    }
    prom_free(&d);
    free(text);
}

static void prometheus_empty_snapshot(void **state)
{
    (void)state;
    metrics_snapshot s;
    memset(&s, 0, sizeof s);
    size_t len;
    char *text = render(&s, &len);
    prom_doc d;
    parse_ok(&d, text, len);
    assert_sample(&d, "ingestor_bars_total", "outcome=inserted", 0);
    assert_sample(&d, "ingestor_page_fetch_seconds_bucket", "le=+Inf", 0);
    assert_sample(&d, "ingestor_page_fetch_seconds_count", "", 0);
    assert_sample(&d, "ingestor_last_success_timestamp_seconds", "", 0);
    assert_int_equal(prom_count(&d, "ingestor_jobs"), 0);
    assert_int_equal(prom_count(&d, "ingestor_api_breaker_state"), 0);
    assert_int_equal(prom_count(&d, "pgpool_connections"), 0);
    assert_non_null(strstr(text, "# TYPE ingestor_jobs gauge\n"));
    prom_free(&d);
    free(text);
}

static void prometheus_escapes_label_values(void **state)
{
    (void)state;
    metrics_snapshot s;
    memset(&s, 0, sizeof s);
    assert_int_equal(metrics_snapshot_add_jobs(&s, "we\"ird\\st\nate", 9), 0);
    for (int i = 1; i < METRICS_MAX_JOB_STATES; i++) {
        char name[16];
        snprintf(name, sizeof name, "s%d", i);
        assert_int_equal(metrics_snapshot_add_jobs(&s, name, i), 0);
    }
    assert_int_equal(metrics_snapshot_add_jobs(&s, "one too many", 1), -1);
    size_t len;
    char *text = render(&s, &len);
    prom_doc d;
    parse_ok(&d, text, len);
    assert_sample(&d, "ingestor_jobs", "state=we\"ird\\st\nate", 9);
    assert_int_equal(prom_count(&d, "ingestor_jobs"), METRICS_MAX_JOB_STATES);
    prom_free(&d);
    free(text);
}

static void render_rejects_null(void **state)
{
    (void)state;
    metrics_snapshot s;
    memset(&s, 0, sizeof s);
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(metrics_render_prometheus(NULL, &len, &s), -1);
    assert_int_equal(metrics_render_prometheus(&text, NULL, &s), -1);
    assert_int_equal(metrics_render_prometheus(&text, &len, NULL), -1);
    assert_int_equal(metrics_render_json(&text, &len, NULL), -1);
    assert_null(text);
}

/* ---------------------------------------------------------------- JSON */

static double jnum(const cJSON *o, const char *path)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    const cJSON *cur = o;
    for (char *save = NULL, *tok = strtok_r(buf, ".", &save); tok;
         tok = strtok_r(NULL, ".", &save)) {
        cur = cJSON_GetObjectItemCaseSensitive(cur, tok);
        if (!cur)
            fail_msg("no member %s (in %s)", tok, path);
    }
    if (!cJSON_IsNumber(cur))
        fail_msg("%s is not a number", path);
    return cur->valuedouble;
}

static void check_hist(const cJSON *h, const double *le, const double *cum, int n, double sum)
{
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(h, "buckets");
    assert_true(cJSON_IsArray(b));
    assert_int_equal(cJSON_GetArraySize(b), n);
    for (int i = 0; i < n; i++) {
        const cJSON *e = cJSON_GetArrayItem(b, i);
        const cJSON *l = cJSON_GetObjectItemCaseSensitive(e, "le");
        if (i == n - 1) {
            assert_true(cJSON_IsString(l));
            assert_string_equal(l->valuestring, "+Inf");
        } else {
            assert_true(cJSON_IsNumber(l));
            assert_float_equal(l->valuedouble, le[i], 1e-12);
        }
        assert_float_equal(jnum(e, "count"), cum[i], 0);
    }
    assert_float_equal(jnum(h, "count"), cum[n - 1], 0);
    assert_float_equal(jnum(h, "sum"), sum, 1e-9);
}

static void json_has_the_same_figures(void **state)
{
    (void)state;
    metrics_snapshot s;
    fill(&s);
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(metrics_render_json(&text, &len, &s), 0);
    assert_int_equal(strlen(text), len);
    cJSON *o = cJSON_Parse(text);
    assert_non_null(o);
    assert_true(cJSON_IsObject(o));

    assert_float_equal(jnum(o, "http_requests.sent"), 1000, 0);
    assert_float_equal(jnum(o, "http_requests.by_class.2xx"), 893, 0);
    assert_float_equal(jnum(o, "http_requests.by_class.4xx"), 15, 0);
    assert_float_equal(jnum(o, "http_requests.by_class.429"), 25, 0);
    assert_float_equal(jnum(o, "http_requests.by_class.5xx"), 30, 0);
    assert_float_equal(jnum(o, "http_requests.by_class.transport_error"), 30, 0);
    assert_float_equal(jnum(o, "http_requests.by_class.malformed"), 7, 0);
    assert_float_equal(jnum(o, "retries"), 77, 0);
    assert_float_equal(jnum(o, "db_retries"), 3, 0);
    assert_float_equal(jnum(o, "pages"), 893, 0);
    assert_float_equal(jnum(o, "bars.received"), 5000, 0);
    assert_float_equal(jnum(o, "bars.inserted"), 1234, 0);
    assert_float_equal(jnum(o, "bars.updated"), 56, 0);
    assert_float_equal(jnum(o, "bars.unchanged"), 3700, 0);
    assert_float_equal(jnum(o, "bars.quarantined"), 10, 0);
    assert_float_equal(jnum(o, "dq_issues.warning"), 11, 0);
    assert_float_equal(jnum(o, "dq_issues.error"), 4, 0);
    assert_float_equal(jnum(o, "jobs_finished.done"), 20, 0);
    assert_float_equal(jnum(o, "jobs_finished.failed"), 2, 0);
    assert_float_equal(jnum(o, "wait_seconds"), 12.345, 1e-9);
    assert_float_equal(jnum(o, "jobs.queued"), 5, 0);
    assert_float_equal(jnum(o, "jobs.running"), 2, 0);
    assert_float_equal(jnum(o, "jobs.done"), 40, 0);
    assert_float_equal(jnum(o, "jobs.failed"), 1, 0);
    assert_float_equal(jnum(o, "jobs.dead"), 3, 0);
    assert_float_equal(jnum(o, "lease_losses"), 6, 0);
    assert_float_equal(jnum(o, "last_success_timestamp_seconds"), 1718000000, 0);
    assert_float_equal(jnum(o, "alerts.sent"), 11, 0);
    assert_float_equal(jnum(o, "alerts.failed"), 1, 0);
    assert_float_equal(jnum(o, "alerts.webhook.sent"), 8, 0);
    assert_float_equal(jnum(o, "alerts.email.sent"), 3, 0);

    double le[LATENCY_HIST_BUCKETS];
    for (int i = 0; i < LATENCY_HIST_BUCKETS; i++)
        le[i] = latency_hist_bound(i);
    const double page_cum[LATENCY_HIST_BUCKETS] = { 2, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 5 };
    check_hist(cJSON_GetObjectItemCaseSensitive(o, "page_fetch_seconds"), le, page_cum,
               LATENCY_HIST_BUCKETS, 103.206);
    const double db_cum[LATENCY_HIST_BUCKETS] = { 0, 0, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3 };
    check_hist(cJSON_GetObjectItemCaseSensitive(o, "db_write_seconds"), le, db_cum,
               LATENCY_HIST_BUCKETS, 0.79);

    const cJSON *br = cJSON_GetObjectItemCaseSensitive(o, "api_breaker");
    assert_true(cJSON_IsObject(br));
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(br, "state")->valuestring, "open");
    assert_float_equal(jnum(br, "rejections"), 17, 0);
    assert_float_equal(jnum(br, "transitions"), 4, 0);
    assert_float_equal(jnum(br, "failure_rate"), 62.5, 0);
    assert_float_equal(jnum(br, "calls"), 300, 0);

    const cJSON *p = cJSON_GetObjectItemCaseSensitive(o, "pgpool");
    assert_true(cJSON_IsObject(p));
    assert_float_equal(jnum(p, "connections.idle"), 3, 0);
    assert_float_equal(jnum(p, "connections.in_use"), 2, 0);
    assert_float_equal(jnum(p, "connections.connecting"), 1, 0);
    assert_float_equal(jnum(p, "connections.total"), 6, 0);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(p, "health")->valuestring, "degraded");
    assert_float_equal(jnum(p, "acquires"), 500, 0);
    assert_float_equal(jnum(p, "acquire_timeouts"), 5, 0);
    assert_float_equal(jnum(p, "connections_closed.idle"), 2, 0);
    assert_float_equal(jnum(p, "releases.failed"), 5, 0);
    double ple[PGPOOL_HIST_BUCKETS], pcum[PGPOOL_HIST_BUCKETS];
    for (int i = 0; i < PGPOOL_HIST_BUCKETS; i++) {
        ple[i] = pgpool_hist_bound(i);
        pcum[i] = i < 3 ? 400 : i < PGPOOL_HIST_BUCKETS - 1 ? 480 : 500;
    }
    check_hist(cJSON_GetObjectItemCaseSensitive(p, "acquire_wait_seconds"), ple, pcum,
               PGPOOL_HIST_BUCKETS, 2.5);
    cJSON_Delete(o);
    free(text);

    /* without breaker and pool: null */
    memset(&s, 0, sizeof s);
    assert_int_equal(metrics_render_json(&text, &len, &s), 0);
    o = cJSON_Parse(text);
    assert_non_null(o);
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o, "api_breaker")));
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o, "pgpool")));
    assert_float_equal(jnum(o, "page_fetch_seconds.count"), 0, 0);
    cJSON_Delete(o);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hist_buckets_and_bounds),
        cmocka_unit_test(hist_concurrent_observe),
        cmocka_unit_test(counters_copied_from_stats),
        cmocka_unit_test(validator_accepts_valid_text),
        cmocka_unit_test(validator_rejects_broken_text),
        cmocka_unit_test(prometheus_valid_and_exact),
        cmocka_unit_test(prometheus_empty_snapshot),
        cmocka_unit_test(prometheus_escapes_label_values),
        cmocka_unit_test(render_rejects_null),
        cmocka_unit_test(json_has_the_same_figures),
    };
    return cmocka_run_group_tests_name("ingestor_metrics", tests, NULL, NULL);
}
