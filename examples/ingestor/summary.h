/*
 * The closing lines of `ingestor backfill`: request tallies with proper
 * plurals and the time waited, phrased for a reader rather than a parser.
 */
#ifndef INGESTOR_SUMMARY_H
#define INGESTOR_SUMMARY_H

#include <stddef.h>

typedef struct summary_totals {
    long long requests, retries, rate_limited, transport_errors, reconnects, bars_refused;
    double waited_s;  /* backoff and rate-limit sleeps, added over the workers */
    double elapsed_s; /* wall-clock time of the run */
    int workers;
} summary_totals;

/* "1 request" or "2 requests": n, a space, and word with an s unless n is 1. */
void summary_count(char *out, size_t size, long long n, const char *word);

/*
 * Two lines (each ending in a newline) into out, cut to size:
 *   41 requests (5 retries, 1 rate-limited with HTTP 429, 1 transport error,
 *   1 reconnect), 0 bars refused
 *   took 12.3 s; the 4 workers waited 22.9 s between them for backoff and the
 *   rate limit (5.7 s each on average)
 */
void summary_format(char *out, size_t size, const summary_totals *t);

#endif
