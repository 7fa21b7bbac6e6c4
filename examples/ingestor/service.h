/*
 * The job lifecycle, one for every command: workers claim jobs (FOR UPDATE
 * SKIP LOCKED) and hold them by a lease, run them, and settle them (done;
 * failed, retried after a backoff; dead after JOB_MAX_ATTEMPTS; back to
 * pending at shutdown). A housekeeping loop renews the leases.
 *
 * `ingestor run`, the service: any number of processes on any number of
 * hosts share one PostgreSQL and coordinate through it alone; the
 * housekeeping also enqueues the daily run (once per day for the whole
 * deployment), watches runs to their end and raises alerts; the admin HTTP
 * server shows health and metrics. `ingestor backfill`: enqueue the jobs of
 * the command line, and run the same workers over those jobs alone.
 */
#ifndef INGESTOR_SERVICE_H
#define INGESTOR_SERVICE_H

#include <stdatomic.h>

#include <retry/retry.h>

#include "cli.h"
#include "config.h"

/* Run until *stop is set; then stop within SHUTDOWN_TIMEOUT. cancel (may be
 * NULL) is set together with *stop: it ends the API requests' retries and
 * wakes their sleeps at once. Exit status. */
int service_run(const ingest_config *cfg, atomic_int *stop, retry_cancel *cancel);

/*
 * `ingestor backfill`: enqueue the jobs of a, run them (up to API_WORKERS at
 * once) and print their summary. Jobs that fail wait for their retry (by the
 * service or the next backfill); *stop returns the running ones to pending.
 * Exit status: 0 every job done (or running elsewhere), 1 a job failed, 130
 * stopped, 69 the database is unavailable.
 */
int service_backfill(const ingest_config *cfg, const backfill_args *a, atomic_int *stop,
                     retry_cancel *cancel);

/* `ingestor enqueue`: add (or re-arm) one job per symbol of a for the service. Exit status. */
int service_enqueue(const ingest_config *cfg, const backfill_args *a);

#endif
