/*
 * One worker of the pipeline: run a claimed job, pulling its pages from the
 * source, validating them with a stream checker (state carried across
 * pages), writing each page in one fenced transaction.
 */
#ifndef INGESTOR_PIPELINE_H
#define INGESTOR_PIPELINE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <dqcheck/dqcheck.h>
#include <pgpool/pgpool.h>

#include "config.h"
#include "jobs.h"
#include "progress.h"
#include "sink.h"
#include "source.h"
#include "stats.h"

/* What one job did, for the summary. */
typedef struct job_outcome {
    char symbol[32];
    bool ok;
    bool skipped; /* another live worker holds it */
    int64_t fetched, inserted, updated, unchanged, quarantined;
    int64_t refused; /* bars outside the range or for another ticker (quarantined) */
    int64_t warnings, errors;
    double score_loss; /* sum over pages of (1 - score) * candles: score = 1 - loss / fetched */
    char error[512];
    bool interrupted; /* stopped by a shutdown request */
    bool lease_lost;  /* another worker took the job over */
} job_outcome;

typedef struct worker worker;

/*
 * The checker options the workers use for bars of timespan/multiplier:
 * the configured calendar and thresholds, the interval (intervals the
 * checker has no unit for, week and longer, without the temporal checks).
 */
void pipeline_dq_options(const ingest_config *cfg, const char *timespan, int multiplier,
                         dq_options *out);

/* A worker over src (borrowed); *stop (may be NULL) interrupts its job. */
int worker_new(worker **out, const ingest_config *cfg, pgpool *pool, source *src,
               ingest_stats *stats, atomic_int *stop);
void worker_free(worker *w);

enum { WORKER_OBSERVE_FETCH, WORKER_OBSERVE_WRITE };
typedef void (*worker_observer)(int what, double seconds, void *ud);

/* Report pages to p, and time each page's fetch and write with observe
 * (each may be NULL; borrowed). */
void worker_set_hooks(worker *w, progress *p, worker_observer observe, void *ud);

/* Run a claimed job to its end, each page renewing its lease; the caller
 * settles it. The outcome is filled in either way. */
void worker_run_job(worker *w, job_row *row, job_outcome *out);

/* A job's time range in Unix ms from its dates (New York days). */
void job_range_ms(const job_row *row, int64_t *from_ms, int64_t *to_ms);

#endif
