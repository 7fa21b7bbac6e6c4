/*
 * One worker of the pipeline: claim a job, pull its pages from the source,
 * validate them with a stream checker (state carried across pages), write
 * each page in one fenced transaction, finish the job.
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

int worker_new(worker **out, const ingest_config *cfg, pgpool *pool, source *src,
               ingest_stats *stats);
void worker_free(worker *w);

/* Report pages to p (borrowed; may be NULL). */
void worker_set_progress(worker *w, progress *p);

enum { WORKER_OBSERVE_FETCH, WORKER_OBSERVE_WRITE };
typedef void (*worker_observer)(int what, double seconds, void *ud);

/*
 * Service mode (`ingestor run`): pages renew the lease for lease_seconds,
 * *stop interrupts a job, observe (may be NULL) times each page's fetch and
 * write, and worker_run_job() leaves settling the job to the caller.
 */
void worker_set_service(worker *w, atomic_int *stop, int lease_seconds, worker_observer observe,
                        void *ud);

/* Run one job to its end. The outcome is filled in either way. */
void worker_run_job(worker *w, job_row *row, job_outcome *out);

/* A job's time range in Unix ms from its dates (New York days). */
void job_range_ms(const job_row *row, int64_t *from_ms, int64_t *to_ms);

#endif
