/*
 * The tables of the job queue: backfill_jobs, one row per (symbol, timespan,
 * multiplier, adjusted, date range, source), and service_runs, one row per
 * daily run of the service. A worker of any process claims a job by taking
 * its lease (a fencing token + expiry), renews it (heartbeat, and each page
 * it commits), and settles it. A lease whose owner died is taken over after
 * its expiry, or at once when the owner was a process on this host that no
 * longer exists (kill -9, then a re-run). Every SQL statement on these
 * tables is here.
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
    /* The fencing token of this claim: the process's owner token and a
     * claim number (so that two workers of one process never both hold a job). */
    char lease_token[96];
} job_row;

/* What a job fetches. */
typedef struct job_key {
    const char *symbol, *timespan;
    int multiplier;
    bool adjusted;
    const char *from_date, *to_date; /* YYYY-MM-DD */
    const char *source;              /* "polygon" or "files" */
} job_key;

/* This process's lease owner token: "host:pid:random". */
const char *jobs_owner(void);

/*
 * Add the job of k (run_date may be NULL), or make a finished, failed or dead
 * job of the same key pending again with a fresh set of attempts (a done job
 * starts over from its first bar, so that restated bars are seen; a failed one
 * resumes from its checkpoint); a pending or running one is left alone.
 * *id (may be NULL) receives its id. 0, or -1 with err.
 */
int jobs_enqueue(PGconn *conn, const job_key *k, const char *run_date, int64_t *id, char *err,
                 size_t errlen);

enum { JOB_CLAIMED = 1, JOB_BUSY = 0, JOB_CLAIM_ERROR = -1 };

/*
 * Claim the next runnable job (pending, failed and due for a retry, running
 * with an expired lease or a dead local owner) with FOR UPDATE SKIP LOCKED,
 * for lease_s seconds: one of the n ids, or when ids is NULL any job of
 * source polygon (the service's). JOB_BUSY: nothing to claim now.
 */
int jobs_claim_next(PGconn *conn, int lease_s, const int64_t *ids, size_t n, job_row *row,
                    char *err, size_t errlen);

typedef enum job_end {
    JOB_END_DONE,
    JOB_END_FAILED,   /* retried after a backoff; dead after max_attempts */
    JOB_END_RELEASED, /* shutdown: back to pending, the attempt not counted */
} job_end;

/* The longest error text stored with a job, in bytes (cut on a character). */
#define JOB_ERROR_MAX 1024

/*
 * End a claimed job, fenced by its lease; error (may be NULL) is stored
 * masked, as valid UTF-8, cut to JOB_ERROR_MAX. state_out (12 bytes, may be
 * NULL) receives the new state: done, failed, dead, pending, or "lost" when
 * the lease had passed to another worker.
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

/* The number of jobs in each of the 5 states (pending, running, done, failed, dead). */
extern const char *const jobs_states[5];
int jobs_count_by_state(PGconn *conn, int64_t counts[5]);

/* The latest 500 jobs as a JSON array (caller frees); NULL on error. */
char *jobs_json(PGconn *conn);

/* The latest 50 jobs, for `ingestor status` (caller PQclear()s); NULL on error. */
PGresult *jobs_recent(PGconn *conn);

/*
 * Enqueue the jobs (daily bars of each of the n symbols, or of the active
 * rows of the symbols table when n is 0) of the daily run of run_date unless
 * some process already has: the row in service_runs, inserted in the same
 * transaction as the jobs, is the once-only key. The run covers the days
 * since the last completed run, and at least lookback days. Returns 1 when
 * this process enqueued, 0 when it was done already, -1 with err.
 */
int jobs_enqueue_run(PGconn *conn, const char *run_date, int lookback, const char *const *symbols,
                     int n, char *err, size_t errlen);

/*
 * Close the runs whose jobs have all ended: completed when every job is
 * done, failed when one is dead; closed(run_date, dead jobs, ud) for each.
 */
void jobs_close_runs(PGconn *conn, void (*closed)(const char *run_date, long dead, void *ud),
                     void *ud);

#endif
