/*
 * Metrics of the ingestor service: latency histograms that worker threads
 * feed, and a plain snapshot of every figure the admin endpoints show,
 * rendered as Prometheus text (exposition format 0.0.4, /metrics) or as JSON
 * (/api/v1/metrics).
 *
 * Thread safety: latency_hist_observe() and latency_hist_read() may be called
 * from any thread at any time on the same histogram (relaxed atomics; a read
 * taken while observations land may be a few observations behind in one
 * field, never inconsistent between the buckets and the count it reports).
 * A metrics_snapshot is a plain value owned by one thread; the render
 * functions are pure functions of it and may run concurrently.
 */
#ifndef INGESTOR_METRICS_H
#define INGESTOR_METRICS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <pgpool/pgpool.h>
#include <retry/retry.h>

#include "stats.h"

/* ---------------------------------------------------------------- latency histograms */

/* Buckets (upper bounds, seconds): 0.005 0.01 0.025 0.05 0.1 0.25 0.5 1 2.5
 * 5 10 30 +Inf. An observation lands in the first bucket whose bound is >=
 * it (Prometheus "le" semantics). */
#define LATENCY_HIST_BUCKETS 13

/* Upper bound, in seconds, of bucket i (0..LATENCY_HIST_BUCKETS-1); the last
 * is +infinity, out-of-range i too. */
double latency_hist_bound(int i);

/* A histogram written by many threads. Zero-initialised storage (static, or
 * memset, or latency_hist_init()) is an empty histogram. */
typedef struct latency_hist {
    atomic_ullong buckets[LATENCY_HIST_BUCKETS]; /* per bucket, not cumulative */
    atomic_ullong sum_ns;                        /* sum of the observations */
} latency_hist;

/* A plain copy of a latency_hist (latency_hist_read()). */
/* Alert channels, the indexes of alerts_sent[] and alerts_failed[]: the
 * same values as alert_channel in alert.h. */
enum { METRICS_ALERT_WEBHOOK = 0, METRICS_ALERT_EMAIL = 1, METRICS_ALERT_CHANNELS = 2 };

typedef struct latency_hist_snapshot {
    uint64_t buckets[LATENCY_HIST_BUCKETS]; /* per bucket, not cumulative */
    uint64_t count;                         /* the sum of buckets[] */
    uint64_t sum_ns;
} latency_hist_snapshot;

void latency_hist_init(latency_hist *h);

/* Record one duration. Negative and NaN durations count as 0, durations
 * beyond ~584 years as +Inf with a saturated sum. No allocation, no lock. */
void latency_hist_observe(latency_hist *h, double seconds);

/* Copy h into *out (count is the sum of the buckets copied). */
void latency_hist_read(latency_hist_snapshot *out, latency_hist *h);

/* ---------------------------------------------------------------- snapshot */

/* The process counters (stats.h), copied. */
typedef struct metrics_counters {
    int64_t requests; /* HTTP requests sent */
    int64_t responses_2xx, responses_4xx, responses_5xx, responses_429;
    int64_t transport_errors, malformed;
    int64_t retries; /* attempts after the first, HTTP and database */
    int64_t pages;
    int64_t bars_fetched, bars_inserted, bars_updated, bars_unchanged, bars_quarantined;
    int64_t dq_warnings, dq_errors;
    int64_t db_retries;
    int64_t jobs_done, jobs_failed;
    int64_t waited_ms; /* slept for backoff and the rate limit */
} metrics_counters;

/* Copy the counters of st (read only; the atomics are loaded in an order
 * that keeps malformed <= responses_2xx and responses_429 <= responses_4xx
 * while other threads count). */
void metrics_counters_from_stats(metrics_counters *out, ingest_stats *st);

/* Jobs in one state (the backfill_jobs table): "queued", "running", "done",
 * "failed", "dead". */
#define METRICS_MAX_JOB_STATES 8
typedef struct metrics_job_state {
    char state[32]; /* NUL-terminated; rendered escaped as a label value */
    int64_t count;
} metrics_job_state;

/*
 * Everything /metrics and /api/v1/metrics show, as plain values. Fill it
 * with memset(0) first, then the parts you have; the flags say which
 * optional parts are present (absent parts are left out of the output).
 */
typedef struct metrics_snapshot {
    metrics_counters counters;
    latency_hist_snapshot page_fetch; /* one Polygon page: request to parsed page */
    latency_hist_snapshot db_write;   /* one page's database transaction */
    metrics_job_state jobs[METRICS_MAX_JOB_STATES];
    size_t njobs;              /* entries of jobs[] in use, <= METRICS_MAX_JOB_STATES */
    int64_t lease_losses;      /* jobs whose lease another worker took over */
    int64_t last_success_unix; /* last job that finished done, unix seconds; 0 = never */
    int64_t alerts_sent[METRICS_ALERT_CHANNELS];   /* deliveries, by channel */
    int64_t alerts_failed[METRICS_ALERT_CHANNELS]; /* deliveries that failed, by channel */
    int have_breaker;                              /* breaker below is filled */
    retry_breaker_snapshot breaker;                /* the Polygon API's circuit breaker */
    int have_pool;                                 /* pool below is filled */
    pgpool_stats pool;                             /* pgpool_stats_get() of the database pool */
} metrics_snapshot;

/* Append a jobs-by-state entry (state is copied, cut to 31 bytes). Returns 0,
 * or -1 when jobs[] is full. */
int metrics_snapshot_add_jobs(metrics_snapshot *s, const char *state, int64_t count);

/* ---------------------------------------------------------------- rendering */

/*
 * Render s as Prometheus text exposition format 0.0.4 (Content-Type
 * "text/plain; version=0.0.4; charset=utf-8"). Families (every one with
 * # HELP and # TYPE; counters end in _total; base units):
 *
 *   ingestor_http_requests_total{class}  counter; classes are disjoint, so
 *       their sum is the answered requests: "2xx" (parsed 2xx answers; a 2xx
 *       whose body did not parse is "malformed"), "4xx" (other than 429),
 *       "429", "5xx", "transport_error", "malformed"
 *   ingestor_retries_total, ingestor_db_retries_total, ingestor_pages_total
 *   ingestor_bars_total{outcome="received"|"inserted"|"updated"|"unchanged"|"quarantined"}
 *   ingestor_dq_issues_total{severity="warning"|"error"}
 *   ingestor_jobs_finished_total{result="done"|"failed"}
 *   ingestor_wait_seconds_total            time slept for backoff and rate limits
 *   ingestor_page_fetch_seconds, ingestor_db_write_seconds   histograms
 *   ingestor_jobs{state}                   gauge, one sample per jobs[] entry
 *   ingestor_lease_losses_total
 *   ingestor_last_success_timestamp_seconds  gauge, 0 = never
 *   ingestor_alerts_total{channel="webhook"|"email",result="sent"|"failed"}
 *   with have_breaker:
 *   ingestor_api_breaker_state{state="closed"|"open"|"half_open"|"forced_open"|"disabled"}
 *       gauge, 1 for the current state and 0 for the others (one sample per
 *       state, so alerts can say ingestor_api_breaker_state{state="open"} == 1)
 *   ingestor_api_breaker_rejections_total, ingestor_api_breaker_transitions_total
 *   with have_pool, pgpool_stats_prometheus()'s own text with pool="ingestor":
 *   pgpool_connections{state="idle"|"in_use"|"connecting"}, pgpool_waiters,
 *   pgpool_max_size, pgpool_max_overflow, pgpool_min_idle,
 *   pgpool_health{state="up"|"degraded"|"down"} (1 for the current one),
 *   pgpool_acquires_total, pgpool_acquire_waits_total,
 *   pgpool_acquire_timeouts_total, pgpool_acquire_connect_errors_total,
 *   pgpool_overflow_acquires_total, pgpool_connect_attempts_total,
 *   pgpool_connect_failures_total, pgpool_connections_created_total,
 *   pgpool_connections_closed_total{reason}, pgpool_leaks_total,
 *   pgpool_validations_total, pgpool_releases_total{txn},
 *   pgpool_rollbacks_total, pgpool_resets_total, and the histograms
 *   pgpool_acquire_wait_seconds, pgpool_connection_usage_seconds.
 *
 * On success *out is NUL-terminated text of *len bytes that the caller owns
 * (free with free()); returns 0. Returns -1 (nothing allocated) when an
 * argument is NULL or memory runs out.
 */
int metrics_render_prometheus(char **out, size_t *len, const metrics_snapshot *s);

/*
 * Render s as one JSON object with the same figures (cJSON). Histograms are
 * {"buckets":[{"le":0.005,"count":n},...,{"le":"+Inf","count":n}],"sum":s,
 * "count":n} with cumulative counts; absent breaker or pool are null.
 * Ownership and return values as metrics_render_prometheus().
 */
int metrics_render_json(char **out, size_t *len, const metrics_snapshot *s);

#endif
