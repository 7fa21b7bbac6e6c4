/*
 * The backfill_jobs table: one row per (symbol, timespan, multiplier,
 * adjusted, date range, source). A worker claims a job by taking its lease
 * (owner + expiry), renews it as pages commit, and finishes it. A lease whose
 * owner died is taken over: after its expiry, or at once when the owner was
 * a process on this host that no longer exists (kill -9, then a re-run).
 */
#ifndef INGESTOR_JOBS_H
#define INGESTOR_JOBS_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct job_row {
    int64_t id;
    char symbol[32];
    char timespan[16];
    int multiplier;
    bool adjusted;
    char from_date[11], to_date[11]; /* YYYY-MM-DD */
    char state[12];
    bool has_checkpoint;
    int64_t checkpoint_ms;
    int attempts;
    /* The fencing token of this claim: the process's owner token, plus a
     * claim number in the service (so that two workers of one process can
     * never both hold a job). */
    char lease_token[96];
} job_row;

/* This process's lease owner token: "host:pid:random". */
const char *jobs_owner(void);

/* Seconds a lease lasts without renewal. */
#define JOB_LEASE_SECONDS 120

/*
 * Find or create the job row. Returns 0 with *row filled, -1 with err.
 */
int jobs_ensure(PGconn *conn, const char *symbol, const char *timespan, int multiplier,
                bool adjusted, const char *from_date, const char *to_date, const char *source,
                job_row *row, char *err, size_t errlen);

enum { JOB_CLAIMED = 1, JOB_BUSY = 0, JOB_CLAIM_ERROR = -1 };

/*
 * Take the job's lease. A finished job starts a new pass from the beginning
 * (so restated bars are seen again); a failed or interrupted one resumes
 * from its checkpoint. JOB_BUSY when a live worker holds it.
 */
int jobs_claim(PGconn *conn, job_row *row, char *err, size_t errlen);

/* The longest error text stored with a job, in bytes (cut on a character). */
#define JOB_ERROR_MAX 1024

/*
 * End the job: state "done" or "failed" (error text may be NULL; stored
 * masked, as valid UTF-8, cut to JOB_ERROR_MAX). Fenced.
 */
int jobs_finish(PGconn *conn, const job_row *row, bool ok, const char *error, char *err,
                size_t errlen);

/*
 * The service's side (`ingestor run`): any worker of any process claims the
 * next runnable job (pending, failed and due for a retry, or running with an
 * expired lease) with FOR UPDATE SKIP LOCKED. JOB_BUSY: nothing to do now.
 */
int jobs_claim_next(PGconn *conn, int lease_s, job_row *row, char *err, size_t errlen);

typedef enum job_end {
    JOB_END_DONE,
    JOB_END_FAILED,   /* retried after a backoff; dead after max_attempts */
    JOB_END_RELEASED, /* shutdown: back to pending, the attempt not counted */
} job_end;

/*
 * End a claimed job, fenced by this process's lease; error is stored as by
 * jobs_finish. state_out (12 bytes,
 * may be NULL) receives the new state: done, failed, dead, pending, or
 * "lost" when the lease had passed to another worker.
 */
int jobs_settle(PGconn *conn, const job_row *row, job_end end, const char *error, int max_attempts,
                int retry_base_s, char *state_out, char *err, size_t errlen);

/*
 * Renew the leases of the running jobs whose lease tokens are the n of
 * tokens (those the live workers hold: a job left behind by a worker is
 * not renewed, so that its lease expires); the number renewed, or -1.
 */
int jobs_heartbeat(PGconn *conn, int lease_s, const char *const *tokens, size_t n, char *err,
                   size_t errlen);

/*
 * Add a job for the service (source polygon; run_date may be NULL), or
 * make a finished, failed or dead job of the same range pending again.
 */
int jobs_enqueue(PGconn *conn, const char *symbol, const char *timespan, int multiplier,
                 bool adjusted, const char *from_date, const char *to_date, const char *run_date,
                 char *err, size_t errlen);

#endif
