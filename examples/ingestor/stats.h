/*
 * Counters of one ingestor process, shared by its threads (atomics): what
 * the progress line, the summary and the metrics endpoint show.
 */
#ifndef INGESTOR_STATS_H
#define INGESTOR_STATS_H

#include <stdatomic.h>
#include <stdint.h>

typedef struct ingest_stats {
    atomic_llong requests;      /* HTTP requests sent */
    atomic_llong responses_2xx; /* answers by class */
    atomic_llong responses_4xx;
    atomic_llong responses_5xx;
    atomic_llong responses_429;
    atomic_llong transport_errors; /* refused, dropped, timed out, truncated */
    atomic_llong malformed;        /* 200 answers whose body did not parse */
    atomic_llong retries;          /* attempts after the first, HTTP and database */
    atomic_llong pages;
    atomic_llong bars_fetched;
    atomic_llong bars_inserted;
    atomic_llong bars_updated;
    atomic_llong bars_unchanged;
    atomic_llong bars_quarantined;
    atomic_llong bars_refused; /* outside the job's range or for another ticker */
    atomic_llong dq_warnings;
    atomic_llong dq_errors;
    atomic_llong db_retries;
    atomic_llong jobs_done;
    atomic_llong jobs_failed;
    atomic_llong waited_ms;  /* slept for backoff and the rate limit */
    atomic_llong reconnects; /* requests libcurl sent again on a fresh connection after the
                                server dropped one (also counted in requests) */
} ingest_stats;

#endif
