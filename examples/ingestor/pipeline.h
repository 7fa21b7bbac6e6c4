/*
 * One worker of the pipeline: claim a job, pull its pages from the source,
 * validate them with a stream checker (state carried across pages), write
 * each page in one fenced transaction, finish the job.
 */
#ifndef INGESTOR_PIPELINE_H
#define INGESTOR_PIPELINE_H

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
    int64_t warnings, errors;
    double score_loss; /* sum over pages of (1 - score) * candles: score = 1 - loss / fetched */
    char error[512];
} job_outcome;

typedef struct worker worker;

int worker_new(worker **out, const ingest_config *cfg, pgpool *pool, source *src,
               ingest_stats *stats);
void worker_free(worker *w);

/* Report pages to p (borrowed; may be NULL). */
void worker_set_progress(worker *w, progress *p);

/* Run one job to its end. The outcome is filled in either way. */
void worker_run_job(worker *w, job_row *row, job_outcome *out);

/* A job's time range in Unix ms from its dates (New York days). */
void job_range_ms(const job_row *row, int64_t *from_ms, int64_t *to_ms);

#endif
