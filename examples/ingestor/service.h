/*
 * `ingestor run`, the service: any number of processes on any number of
 * hosts share one PostgreSQL and coordinate through it alone. Each runs
 * API_WORKERS workers that claim jobs with SKIP LOCKED and hold them by a
 * lease; a housekeeping thread renews the leases, enqueues the daily run
 * (once per day for the whole deployment), watches runs to their end and
 * raises alerts; the admin HTTP server shows health and metrics.
 */
#ifndef INGESTOR_SERVICE_H
#define INGESTOR_SERVICE_H

#include <stdatomic.h>
#include <stdbool.h>

#include <retry/retry.h>

#include "config.h"

/* Run until *stop is set; then stop within SHUTDOWN_TIMEOUT. cancel (may be
 * NULL) is set together with *stop: it ends the API requests' retries and
 * wakes their sleeps at once. Exit status. */
int service_run(const ingest_config *cfg, atomic_int *stop, retry_cancel *cancel);

/* `ingestor enqueue`: add (or re-arm) one job per symbol. Exit status. */
int service_enqueue(const ingest_config *cfg, const char *const *symbols, int nsymbols,
                    const char *from, const char *to, const char *timespan, int multiplier,
                    bool adjusted);

#endif
