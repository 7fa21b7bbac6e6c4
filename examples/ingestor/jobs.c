#include <errno.h>
#include <stdatomic.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "jobs.h"
#include "log.h"
#include "symbol.h"

static char owner_token[160];
static pthread_once_t owner_once = PTHREAD_ONCE_INIT;

static void make_owner(void)
{
    char host[64] = "localhost";
    gethostname(host, sizeof host - 1);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    unsigned long r = (unsigned long)ts.tv_nsec ^ ((unsigned long)getpid() << 16);
    snprintf(owner_token, sizeof owner_token, "%s:%ld:%08lx", host, (long)getpid(),
             r & 0xffffffffUL);
}

const char *jobs_owner(void)
{
    pthread_once(&owner_once, make_owner);
    return owner_token;
}

static void pg_error(PGresult *r, PGconn *conn, char *err, size_t errlen)
{
    const char *m = r ? PQresultErrorMessage(r) : NULL;
    snprintf(err, errlen, "%s", m && *m ? m : PQerrorMessage(conn));
    size_t n = strlen(err);
    while (n && (err[n - 1] == '\n' || err[n - 1] == ' '))
        err[--n] = '\0';
}

/* A statement that returns no rows: 0, or -1 with err. */
static int exec_command(PGconn *conn, const char *sql, int n, const char *const *p, char *err,
                        size_t errlen)
{
    PGresult *r = PQexecParams(conn, sql, n, NULL, p, NULL, NULL, 0);
    int rc = PQresultStatus(r) == PGRES_COMMAND_OK ? 0 : -1;
    if (rc != 0)
        pg_error(r, conn, err, errlen);
    PQclear(r);
    return rc;
}

static const char job_columns[] =
    "id, symbol, timespan, multiplier, adjusted, from_date::text, to_date::text, state,"
    " checkpoint_ms, attempts, lease_owner, lease_until < now()";

static void read_row(PGresult *r, job_row *row)
{
    row->id = atoll(PQgetvalue(r, 0, 0));
    /* A symbol that is not a ticker (overlong ones included, which a copy
     * would cut into another ticker) is kept empty: the job then fails. */
    const char *symbol = PQgetvalue(r, 0, 1);
    if (symbol_valid(symbol, (size_t)PQgetlength(r, 0, 1)))
        snprintf(row->symbol, sizeof row->symbol, "%s", symbol);
    else
        row->symbol[0] = '\0';
    snprintf(row->timespan, sizeof row->timespan, "%s", PQgetvalue(r, 0, 2));
    row->multiplier = atoi(PQgetvalue(r, 0, 3));
    row->adjusted = PQgetvalue(r, 0, 4)[0] == 't';
    snprintf(row->from_date, sizeof row->from_date, "%s", PQgetvalue(r, 0, 5));
    snprintf(row->to_date, sizeof row->to_date, "%s", PQgetvalue(r, 0, 6));
    snprintf(row->state, sizeof row->state, "%s", PQgetvalue(r, 0, 7));
    row->has_checkpoint = !PQgetisnull(r, 0, 8);
    row->checkpoint_ms = row->has_checkpoint ? atoll(PQgetvalue(r, 0, 8)) : 0;
    row->attempts = atoi(PQgetvalue(r, 0, 9));
}

int jobs_ensure(PGconn *conn, const char *symbol, const char *timespan, int multiplier,
                bool adjusted, const char *from_date, const char *to_date, const char *source,
                job_row *row, char *err, size_t errlen)
{
    char mult[16];
    snprintf(mult, sizeof mult, "%d", multiplier);
    const char *p[7] = { symbol,    timespan, mult,  adjusted ? "true" : "false",
                         from_date, to_date,  source };
    if (exec_command(conn,
                     "INSERT INTO backfill_jobs (symbol, timespan, multiplier, adjusted,"
                     " from_date, to_date, source) VALUES ($1, $2, $3, $4, $5, $6, $7)"
                     " ON CONFLICT DO NOTHING",
                     7, p, err, errlen) != 0)
        return -1;
    char sql[512];
    PGresult *r;
    snprintf(sql, sizeof sql,
             "SELECT %s FROM backfill_jobs WHERE symbol = $1 AND timespan = $2 AND"
             " multiplier = $3 AND adjusted = $4 AND from_date = $5 AND to_date = $6 AND"
             " source = $7",
             job_columns);
    r = PQexecParams(conn, sql, 7, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
        pg_error(r, conn, err, errlen);
        PQclear(r);
        return -1;
    }
    memset(row, 0, sizeof *row);
    read_row(r, row);
    PQclear(r);
    return 0;
}

/* Is owner a process of this host that has exited? */
static bool owner_is_dead_local(const char *owner)
{
    char host[64] = "";
    gethostname(host, sizeof host - 1);
    size_t hl = strlen(host);
    if (strncmp(owner, host, hl) != 0 || owner[hl] != ':')
        return false;
    long pid = strtol(owner + hl + 1, NULL, 10);
    if (pid <= 0)
        return false;
    if (strcmp(owner, jobs_owner()) == 0)
        return false; /* ourselves */
    return kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

int jobs_claim(PGconn *conn, job_row *row, char *err, size_t errlen)
{
    char id[24];
    snprintf(id, sizeof id, "%lld", (long long)row->id);
    const char *p1[1] = { id };
    PGresult *r = PQexecParams(conn,
                               "SELECT lease_owner, state = 'running' AND lease_until > now()"
                               " FROM backfill_jobs WHERE id = $1",
                               1, NULL, p1, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
        pg_error(r, conn, err, errlen);
        PQclear(r);
        return JOB_CLAIM_ERROR;
    }
    char stale[160] = "";
    if (!PQgetisnull(r, 0, 0) && PQgetvalue(r, 0, 1)[0] == 't' &&
        owner_is_dead_local(PQgetvalue(r, 0, 0)))
        snprintf(stale, sizeof stale, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);

    char lease[16];
    snprintf(lease, sizeof lease, "%d", JOB_LEASE_SECONDS);
    const char *p[4] = { id, jobs_owner(), lease, stale };
    char sql[1024];
    snprintf(sql, sizeof sql,
             "UPDATE backfill_jobs SET"
             "  checkpoint_ms = CASE WHEN state = 'done' THEN NULL ELSE checkpoint_ms END,"
             "  state = 'running', lease_owner = $2,"
             "  lease_until = now() + $3::int * interval '1 second',"
             "  attempts = attempts + 1, started_at = now(), finished_at = NULL,"
             "  last_error = NULL, updated_at = now()"
             " WHERE id = $1 AND (state <> 'running' OR lease_until <= now()"
             "   OR lease_owner = $2 OR lease_owner = $4)"
             " RETURNING %s",
             job_columns);
    r = PQexecParams(conn, sql, 4, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        pg_error(r, conn, err, errlen);
        PQclear(r);
        return JOB_CLAIM_ERROR;
    }
    if (PQntuples(r) == 0) {
        PQclear(r);
        return JOB_BUSY;
    }
    read_row(r, row);
    PQclear(r);
    snprintf(row->lease_token, sizeof row->lease_token, "%s", jobs_owner());
    return JOB_CLAIMED;
}

int jobs_finish(PGconn *conn, const job_row *row, bool ok, const char *error, char *err,
                size_t errlen)
{
    char id[24], clean[JOB_ERROR_MAX];
    snprintf(id, sizeof id, "%lld", (long long)row->id);
    if (error)
        log_scrub(error, clean, sizeof clean);
    const char *p[4] = { id, row->lease_token, ok ? "done" : "failed", error ? clean : NULL };
    PGresult *r = PQexecParams(conn,
                               "UPDATE backfill_jobs SET state = $3, last_error = $4,"
                               " lease_owner = NULL, lease_until = NULL, finished_at = now(),"
                               " updated_at = now() WHERE id = $1 AND lease_owner = $2",
                               4, NULL, p, NULL, NULL, 0);
    int rc = PQresultStatus(r) == PGRES_COMMAND_OK ? 0 : -1;
    if (rc != 0)
        pg_error(r, conn, err, errlen);
    PQclear(r);
    return rc;
}

int jobs_claim_next(PGconn *conn, int lease_s, job_row *row, char *err, size_t errlen)
{
    static atomic_uint claims;
    char lease[16], token[sizeof row->lease_token];
    snprintf(lease, sizeof lease, "%d", lease_s);
    snprintf(token, sizeof token, "%s:%u", jobs_owner(), atomic_fetch_add(&claims, 1) + 1);
    const char *p[2] = { token, lease };
    char sql[1024];
    /* SKIP LOCKED: workers of every process pick different rows at once,
     * without waiting on each other. Jobs of `ingestor backfill --source
     * files:` belong to that command, not to the service. */
    snprintf(sql, sizeof sql,
             "UPDATE backfill_jobs SET state = 'running', lease_owner = $1,"
             "  lease_until = now() + $2::int * interval '1 second',"
             "  attempts = attempts + 1, started_at = now(), finished_at = NULL,"
             "  updated_at = now()"
             " WHERE id = (SELECT id FROM backfill_jobs"
             "   WHERE source = 'polygon' AND ((state IN ('pending', 'failed') AND"
             "     run_after <= now()) OR (state = 'running' AND lease_until <= now()))"
             "   ORDER BY run_after, id LIMIT 1 FOR UPDATE SKIP LOCKED)"
             " RETURNING %s",
             job_columns);
    PGresult *r = PQexecParams(conn, sql, 2, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        pg_error(r, conn, err, errlen);
        PQclear(r);
        return JOB_CLAIM_ERROR;
    }
    if (PQntuples(r) == 0) {
        PQclear(r);
        return JOB_BUSY;
    }
    memset(row, 0, sizeof *row);
    read_row(r, row);
    PQclear(r);
    snprintf(row->lease_token, sizeof row->lease_token, "%s", token);
    return JOB_CLAIMED;
}

int jobs_settle(PGconn *conn, const job_row *row, job_end end, const char *error, int max_attempts,
                int retry_base_s, char *state_out, char *err, size_t errlen)
{
    char id[24], max[16], base[16], clean[JOB_ERROR_MAX];
    snprintf(id, sizeof id, "%lld", (long long)row->id);
    if (error)
        log_scrub(error, clean, sizeof clean);
    snprintf(max, sizeof max, "%d", max_attempts);
    snprintf(base, sizeof base, "%d", retry_base_s);
    const char *sql;
    switch (end) {
    case JOB_END_DONE:
        sql = "UPDATE backfill_jobs SET state = 'done', last_error = NULL, lease_owner = NULL,"
              " lease_until = NULL, finished_at = now(), updated_at = now()"
              " WHERE id = $1 AND lease_owner = $2 RETURNING state";
        break;
    case JOB_END_FAILED:
        /* Exponential backoff between attempts, at most an hour; dead after
         * the last one. */
        sql = "UPDATE backfill_jobs SET"
              "  state = CASE WHEN attempts >= $4::int THEN 'dead' ELSE 'failed' END,"
              "  last_error = $3, lease_owner = NULL, lease_until = NULL,"
              "  run_after = now() + least($5::int * power(2, greatest(attempts - 1, 0)), 3600)"
              "    * interval '1 second',"
              "  finished_at = now(), updated_at = now()"
              " WHERE id = $1 AND lease_owner = $2 RETURNING state";
        break;
    default: /* JOB_END_RELEASED: shutdown; the attempt does not count */
        sql = "UPDATE backfill_jobs SET state = 'pending', lease_owner = NULL,"
              "  lease_until = NULL, attempts = greatest(attempts - 1, 0), run_after = now(),"
              "  updated_at = now()"
              " WHERE id = $1 AND lease_owner = $2 RETURNING state";
        break;
    }
    const char *p[5] = { id, row->lease_token, error ? clean : NULL, max, base };
    PGresult *r = PQexecParams(conn, sql, end == JOB_END_FAILED ? 5 : 2, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        pg_error(r, conn, err, errlen);
        PQclear(r);
        return -1;
    }
    if (state_out)
        snprintf(state_out, 12, "%s", PQntuples(r) ? PQgetvalue(r, 0, 0) : "lost");
    PQclear(r);
    return 0;
}

int jobs_heartbeat(PGconn *conn, int lease_s, const char *const *tokens, size_t n, char *err,
                   size_t errlen)
{
    if (n == 0)
        return 0;
    /* A text[] literal of the tokens, each quoted. */
    size_t cap = 3;
    for (size_t i = 0; i < n; i++)
        cap += 2 * strlen(tokens[i]) + 3;
    char *list = malloc(cap);
    if (!list) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    size_t o = 0;
    list[o++] = '{';
    for (size_t i = 0; i < n; i++) {
        if (i)
            list[o++] = ',';
        list[o++] = '"';
        for (const char *t = tokens[i]; *t; t++) {
            if (*t == '"' || *t == '\\')
                list[o++] = '\\';
            list[o++] = *t;
        }
        list[o++] = '"';
    }
    list[o++] = '}';
    list[o] = '\0';
    char lease[16];
    snprintf(lease, sizeof lease, "%d", lease_s);
    const char *p[2] = { list, lease };
    PGresult *r = PQexecParams(conn,
                               "UPDATE backfill_jobs SET lease_until = now() + $2::int *"
                               " interval '1 second' WHERE state = 'running' AND"
                               " lease_owner = ANY ($1::text[])",
                               2, NULL, p, NULL, NULL, 0);
    free(list);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        pg_error(r, conn, err, errlen);
        PQclear(r);
        return -1;
    }
    int renewed = atoi(PQcmdTuples(r));
    PQclear(r);
    return renewed;
}

int jobs_enqueue(PGconn *conn, const char *symbol, const char *timespan, int multiplier,
                 bool adjusted, const char *from_date, const char *to_date, const char *run_date,
                 char *err, size_t errlen)
{
    char mult[16];
    snprintf(mult, sizeof mult, "%d", multiplier);
    const char *p[7] = { symbol,    timespan, mult,    adjusted ? "true" : "false",
                         from_date, to_date,  run_date };
    /* A finished job of the same range runs again from its start (restated
     * bars are seen); a failed or dead one resumes from its checkpoint with
     * a fresh set of attempts; a pending or running one is left alone. */
    return exec_command(
        conn,
        "INSERT INTO backfill_jobs (symbol, timespan, multiplier, adjusted, from_date, to_date,"
        " source, run_date) VALUES ($1, $2, $3, $4, $5, $6, 'polygon', $7)"
        " ON CONFLICT (symbol, timespan, multiplier, adjusted, from_date, to_date, source)"
        " DO UPDATE SET state = 'pending', attempts = 0, run_after = now(), last_error = NULL,"
        "  checkpoint_ms = CASE WHEN backfill_jobs.state = 'done' THEN NULL"
        "    ELSE backfill_jobs.checkpoint_ms END,"
        "  run_date = coalesce(EXCLUDED.run_date, backfill_jobs.run_date), updated_at = now()"
        " WHERE backfill_jobs.state IN ('done', 'failed', 'dead')",
        7, p, err, errlen);
}
