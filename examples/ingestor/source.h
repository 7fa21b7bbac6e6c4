/*
 * Where bars come from: the Polygon aggregates API (over HTTP, rate-limited,
 * behind a circuit breaker, retried with backoff and Retry-After under a
 * retry budget) or local files (CSV or saved Polygon pages). Both hand out
 * pages of bars in time order for one job at a time.
 */
#ifndef INGESTOR_SOURCE_H
#define INGESTOR_SOURCE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <retry/retry.h>

#include "polygon_page.h"
#include "stats.h"

/* What a job asks for. */
typedef struct job_spec {
    const char *symbol;
    const char *timespan; /* "day", "minute", ... */
    int multiplier;
    bool adjusted;
    int64_t from_ms; /* first bar time wanted (inclusive) */
    int64_t to_ms;   /* last bar time wanted (inclusive) */
} job_spec;

/* Shared by every worker of a process: created once, thread-safe. */
typedef struct polygon_client {
    const char *base_url; /* borrowed: scheme://host[:port] (no trailing slash) */
    const char *api_key;  /* borrowed; sent only to base_url's origin */
    int page_limit;
    long timeout_ms;
    size_t max_body; /* largest response body, decoded */
    retry_policy policy;
    retry_limiter *limiter; /* NULL: unlimited */
    retry_breaker *breaker;
    retry_budget *budget;
    ingest_stats *stats;
    atomic_int *stop; /* set to abandon waits at shutdown; may be NULL */
    /* Set together with *stop (by the signal handler): retry_run() stops
     * before its next attempt and its backoff and limiter sleeps wake at
     * once. Borrowed; may be NULL (then the sleeps poll *stop). */
    retry_cancel *cancel;
    /* A limit shared with other processes (the service), asked before every
     * request; NULL: none. 0 when the request may go; otherwise err says
     * why not. */
    int (*reserve)(void *ud, int64_t *waited_ms, char *err, size_t errlen);
    void *reserve_ud;
    /* Told (may be NULL) when a page waits wait_ns for its turn in the limiter. */
    void (*on_rate_wait)(void *ud, int64_t wait_ns);
    void *on_rate_wait_ud;
} polygon_client;

/* Create the limiter, breaker and budget: rate_limit requests per
 * rate_window_ms (0: no limit). Bodies larger than max_body bytes (decoded)
 * and pages of more than page_limit bars fail the job. */
int polygon_client_init(polygon_client *sh, const char *base_url, const char *api_key,
                        int page_limit, long timeout_ms, int max_attempts,
                        int64_t max_retry_delay_ms, int rate_limit, int64_t rate_window_ms,
                        size_t max_body, ingest_stats *stats);
void polygon_client_destroy(polygon_client *sh);

typedef struct source source;

enum {
    SOURCE_PAGE = 1,   /* a page is ready */
    SOURCE_END = 0,    /* no more pages */
    SOURCE_FAIL = -1,  /* gave up after retries; err says why */
    SOURCE_FATAL = -2, /* a permanent failure (401, 400, bad data); err says why */
};

/* A source over the API, using sh (borrowed; outlives the source). */
int source_polygon_new(source **out, polygon_client *sh);

/* A source over the files in dir: *.csv and *.json (saved Polygon pages). */
int source_files_new(source **out, const char *dir, int page_limit);

/* Start a job: the next source_next() returns its first page. */
int source_begin(source *s, const job_spec *job, char *err, size_t errlen);

/*
 * The next page of the job. On SOURCE_PAGE *page points at bars owned by the
 * source, valid until the next call.
 */
int source_next(source *s, const polygon_page **page, char *err, size_t errlen);

/* "polygon" or "files". */
const char *source_name(const source *s);

void source_free(source *s);

#endif
