#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "jobs.h"
#include "log.h"
#include "symbol.h"
#include "textsafe.h"

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

/* The statement's result when it has status want; else NULL with err. */
static PGresult *run(PGconn *conn, ExecStatusType want, const char *sql, int n,
                     const char *const *p, char *err, size_t errlen)
{
    PGresult *r = PQexecParams(conn, sql, n, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) == want)
        return r;
    const char *m = r ? PQresultErrorMessage(r) : NULL;
    snprintf(err, errlen, "%s", m && *m ? m : PQerrorMessage(conn));
    size_t len = strlen(err);
    while (len && (err[len - 1] == '\n' || err[len - 1] == ' '))
        err[--len] = '\0';
    PQclear(r);
    return NULL;
}

/* A statement that returns no rows: 0, or -1 with err. */
static int command(PGconn *conn, const char *sql, int n, const char *const *p, char *err,
                   size_t errlen)
{
    PGresult *r = run(conn, PGRES_COMMAND_OK, sql, n, p, err, errlen);
    PQclear(r);
    return r ? 0 : -1;
}

/* An array literal of n items: quoted texts, or the numbers of ids (caller frees). */
static char *array_literal(const char *const *texts, const int64_t *ids, size_t n)
{
    size_t cap = 3;
    for (size_t i = 0; i < n; i++)
        cap += texts ? 2 * strlen(texts[i]) + 3 : 22;
    char *list = malloc(cap);
    if (!list)
        return NULL;
    size_t o = 0;
    list[o++] = '{';
    for (size_t i = 0; i < n; i++) {
        if (i)
            list[o++] = ',';
        if (ids) {
            o += (size_t)snprintf(list + o, cap - o, "%lld", (long long)ids[i]);
            continue;
        }
        list[o++] = '"';
        for (const char *t = texts[i]; *t; t++) {
            if (*t == '"' || *t == '\\')
                list[o++] = '\\';
            list[o++] = *t;
        }
        list[o++] = '"';
    }
    list[o++] = '}';
    list[o] = '\0';
    return list;
}

static const char job_columns[] =
    "id, symbol, timespan, multiplier, adjusted, from_date::text, to_date::text, state,"
    " checkpoint_ms, attempts";

static void read_row(PGresult *r, job_row *row)
{
    memset(row, 0, sizeof *row);
    row->id = atoll(PQgetvalue(r, 0, 0));
    /* A symbol that is not a ticker (overlong ones included, which a copy
     * would cut into another ticker) is kept empty: the job then fails. */
    const char *symbol = PQgetvalue(r, 0, 1);
    if (symbol_valid(symbol, (size_t)PQgetlength(r, 0, 1)))
        snprintf(row->symbol, sizeof row->symbol, "%s", symbol);
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

int jobs_enqueue(PGconn *conn, const job_key *k, const char *run_date, int64_t *id, char *err,
                 size_t errlen)
{
    char mult[16];
    snprintf(mult, sizeof mult, "%d", k->multiplier);
    const char *p[8] = { k->symbol,    k->timespan, mult,      k->adjusted ? "true" : "false",
                         k->from_date, k->to_date,  k->source, run_date };
    if (command(conn,
                "INSERT INTO backfill_jobs (symbol, timespan, multiplier, adjusted, from_date,"
                " to_date, source, run_date) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
                " ON CONFLICT (symbol, timespan, multiplier, adjusted, from_date, to_date, source)"
                " DO UPDATE SET state = 'pending', attempts = 0, run_after = now(),"
                "  last_error = NULL, checkpoint_ms = CASE WHEN backfill_jobs.state = 'done'"
                "    THEN NULL ELSE backfill_jobs.checkpoint_ms END,"
                "  run_date = coalesce(EXCLUDED.run_date, backfill_jobs.run_date),"
                "  updated_at = now()"
                " WHERE backfill_jobs.state IN ('done', 'failed', 'dead')",
                8, p, err, errlen) != 0)
        return -1;
    if (!id)
        return 0;
    PGresult *r = run(conn, PGRES_TUPLES_OK,
                      "SELECT id FROM backfill_jobs WHERE symbol = $1 AND timespan = $2 AND"
                      " multiplier = $3 AND adjusted = $4 AND from_date = $5 AND to_date = $6"
                      " AND source = $7",
                      7, p, err, errlen);
    if (r && PQntuples(r) == 1)
        *id = atoll(PQgetvalue(r, 0, 0));
    else if (r)
        snprintf(err, errlen, "the job of %s vanished", k->symbol);
    int rc = r && PQntuples(r) == 1 ? 0 : -1;
    PQclear(r);
    return rc;
}

/* Is owner (a lease token) a process of this host that has exited? */
static bool owner_is_dead_local(const char *owner)
{
    char host[64] = "";
    gethostname(host, sizeof host - 1);
    size_t hl = strlen(host);
    if (strncmp(owner, host, hl) != 0 || owner[hl] != ':')
        return false;
    long pid = strtol(owner + hl + 1, NULL, 10);
    return pid > 0 && pid != (long)getpid() && kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

int jobs_claim_next(PGconn *conn, int lease_s, const int64_t *ids, size_t n, job_row *row,
                    char *err, size_t errlen)
{
    static atomic_uint claims;
    char *id_list = ids ? array_literal(NULL, ids, n) : NULL;
    if (ids && !id_list) {
        snprintf(err, errlen, "out of memory");
        return JOB_CLAIM_ERROR;
    }
    /* The live leases of owners that are dead processes of this host. */
    const char *p[4] = { id_list };
    PGresult *r = run(conn, PGRES_TUPLES_OK,
                      "SELECT DISTINCT lease_owner FROM backfill_jobs WHERE state = 'running'"
                      " AND lease_until > now() AND ($1::bigint[] IS NULL OR id = ANY ($1))",
                      1, p, err, errlen);
    const char *dead[64];
    size_t ndead = 0;
    for (int i = 0; r && i < PQntuples(r) && ndead < 64; i++)
        if (owner_is_dead_local(PQgetvalue(r, i, 0)))
            dead[ndead++] = PQgetvalue(r, i, 0);
    char *dead_list = r ? array_literal(dead, NULL, ndead) : NULL;
    PQclear(r);
    if (!dead_list) {
        free(id_list);
        return JOB_CLAIM_ERROR;
    }

    char lease[16], token[sizeof row->lease_token], sql[1024];
    snprintf(lease, sizeof lease, "%d", lease_s);
    snprintf(token, sizeof token, "%s:%u", jobs_owner(), atomic_fetch_add(&claims, 1) + 1);
    p[1] = dead_list;
    p[2] = token;
    p[3] = lease;
    /* SKIP LOCKED: workers of every process pick different rows at once,
     * without waiting on each other. The jobs of `ingestor backfill --source
     * files:` belong to that command alone. */
    snprintf(
        sql, sizeof sql,
        "UPDATE backfill_jobs SET state = 'running', lease_owner = $3,"
        "  lease_until = now() + $4::int * interval '1 second',"
        "  attempts = attempts + 1, started_at = now(), finished_at = NULL,"
        "  updated_at = now()"
        " WHERE id = (SELECT id FROM backfill_jobs"
        "   WHERE (CASE WHEN $1::bigint[] IS NULL THEN source = 'polygon' ELSE id = ANY ($1) END)"
        "   AND ((state IN ('pending', 'failed') AND run_after <= now()) OR"
        "     (state = 'running' AND (lease_until <= now() OR lease_owner = ANY ($2::text[]))))"
        "   ORDER BY run_after, id LIMIT 1 FOR UPDATE SKIP LOCKED)"
        " RETURNING %s",
        job_columns);
    r = run(conn, PGRES_TUPLES_OK, sql, 4, p, err, errlen);
    free(id_list);
    free(dead_list);
    int rc = !r ? JOB_CLAIM_ERROR : PQntuples(r) == 0 ? JOB_BUSY : JOB_CLAIMED;
    if (rc == JOB_CLAIMED) {
        read_row(r, row);
        snprintf(row->lease_token, sizeof row->lease_token, "%s", token);
    }
    PQclear(r);
    return rc;
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
    static const char *const sql[] = {
        [JOB_END_DONE] =
            "UPDATE backfill_jobs SET state = 'done', last_error = NULL, lease_owner = NULL,"
            " lease_until = NULL, finished_at = now(), updated_at = now()"
            " WHERE id = $1 AND lease_owner = $2 RETURNING state",
        /* Exponential backoff between attempts, at most an hour; dead after
         * the last one. */
        [JOB_END_FAILED] =
            "UPDATE backfill_jobs SET"
            "  state = CASE WHEN attempts >= $4::int THEN 'dead' ELSE 'failed' END,"
            "  last_error = $3, lease_owner = NULL, lease_until = NULL,"
            "  run_after = now() + least($5::int * power(2, greatest(attempts - 1, 0)), 3600)"
            "    * interval '1 second',"
            "  finished_at = now(), updated_at = now()"
            " WHERE id = $1 AND lease_owner = $2 RETURNING state",
        /* the attempt does not count */
        [JOB_END_RELEASED] =
            "UPDATE backfill_jobs SET state = 'pending', lease_owner = NULL,"
            "  lease_until = NULL, attempts = greatest(attempts - 1, 0), run_after = now(),"
            "  updated_at = now()"
            " WHERE id = $1 AND lease_owner = $2 RETURNING state",
    };
    const char *p[5] = { id, row->lease_token, error ? clean : NULL, max, base };
    PGresult *r =
        run(conn, PGRES_TUPLES_OK, sql[end], end == JOB_END_FAILED ? 5 : 2, p, err, errlen);
    if (r && state_out)
        snprintf(state_out, 12, "%s", PQntuples(r) ? PQgetvalue(r, 0, 0) : "lost");
    PQclear(r);
    return r ? 0 : -1;
}

int jobs_heartbeat(PGconn *conn, int lease_s, const char *const *tokens, size_t n, char *err,
                   size_t errlen)
{
    if (n == 0)
        return 0;
    char *list = array_literal(tokens, NULL, n), lease[16];
    if (!list) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    snprintf(lease, sizeof lease, "%d", lease_s);
    const char *p[2] = { list, lease };
    PGresult *r = run(conn, PGRES_COMMAND_OK,
                      "UPDATE backfill_jobs SET lease_until = now() + $2::int *"
                      " interval '1 second' WHERE state = 'running' AND"
                      " lease_owner = ANY ($1::text[])",
                      2, p, err, errlen);
    free(list);
    int renewed = r ? atoi(PQcmdTuples(r)) : -1;
    PQclear(r);
    return renewed;
}

const char *const jobs_states[5] = { "pending", "running", "done", "failed", "dead" };

int jobs_count_by_state(PGconn *conn, int64_t counts[5])
{
    char err[256];
    PGresult *r =
        run(conn, PGRES_TUPLES_OK, "SELECT state, count(*) FROM backfill_jobs GROUP BY state", 0,
            NULL, err, sizeof err);
    for (int k = 0; k < 5; k++)
        counts[k] = 0;
    for (int i = 0; r && i < PQntuples(r); i++)
        for (int k = 0; k < 5; k++)
            if (strcmp(PQgetvalue(r, i, 0), jobs_states[k]) == 0)
                counts[k] = atoll(PQgetvalue(r, i, 1));
    PQclear(r);
    return r ? 0 : -1;
}

char *jobs_json(PGconn *conn)
{
    char err[256];
    PGresult *r =
        run(conn, PGRES_TUPLES_OK,
            "SELECT coalesce(json_agg(j ORDER BY j.id DESC), '[]')::text FROM"
            " (SELECT id, symbol, timespan, multiplier, adjusted, from_date, to_date, state,"
            "   attempts, checkpoint_ms, bars_fetched, bars_inserted, bars_updated,"
            "   bars_quarantined, last_error, lease_owner, lease_until, run_after, run_date,"
            "   updated_at FROM backfill_jobs ORDER BY id DESC LIMIT 500) j",
            0, NULL, err, sizeof err);
    char *out = r && PQntuples(r) == 1 ? strdup(PQgetvalue(r, 0, 0)) : NULL;
    PQclear(r);
    return out;
}

PGresult *jobs_recent(PGconn *conn)
{
    char err[512];
    return run(conn, PGRES_TUPLES_OK,
               "SELECT id, symbol, timespan || '/' || multiplier AS interval,"
               " from_date, to_date, source, state, attempts, bars_fetched AS fetched,"
               " bars_inserted AS inserted, bars_updated AS updated,"
               " bars_quarantined AS quarantined,"
               " to_char(updated_at, 'YYYY-MM-DD HH24:MI:SS') AS updated_at,"
               " coalesce(left(last_error, 60), '') AS last_error"
               " FROM backfill_jobs ORDER BY id DESC LIMIT 50",
               0, NULL, err, sizeof err);
}

static int rollback(PGconn *conn, PGresult *r)
{
    PQclear(r);
    PQclear(PQexec(conn, "ROLLBACK"));
    return -1;
}

int jobs_enqueue_run(PGconn *conn, const char *run_date, int lookback, const char *const *symbols,
                     int n, char *err, size_t errlen)
{
    const char *p[3] = { run_date };
    PGresult *r = run(conn, PGRES_TUPLES_OK, "SELECT 1 FROM service_runs WHERE run_date = $1", 1, p,
                      err, errlen);
    if (!r || PQntuples(r) > 0) {
        int rc = r ? 0 : -1;
        PQclear(r);
        return rc;
    }
    PQclear(r);
    if (command(conn, "BEGIN", 0, NULL, err, errlen) != 0)
        return -1;
    char days[16], count[16];
    snprintf(days, sizeof days, "%d", lookback);
    p[1] = days;
    p[2] = jobs_owner();
    r = run(conn, PGRES_TUPLES_OK,
            "INSERT INTO service_runs (run_date, from_date, to_date, symbols, enqueued_by)"
            " SELECT $1::date, least($1::date - ($2::int - 1),"
            "   coalesce((SELECT max(to_date) + 1 FROM service_runs"
            "     WHERE completed_at IS NOT NULL), $1::date)), $1::date, 0, $3"
            " ON CONFLICT (run_date) DO NOTHING RETURNING from_date::text, to_date::text",
            3, p, err, errlen);
    if (!r || PQntuples(r) == 0) /* an error, or another process a moment ago */
        return rollback(conn, r) + (r ? 1 : 0);
    char from[11], to[11];
    snprintf(from, sizeof from, "%s", PQgetvalue(r, 0, 0));
    snprintf(to, sizeof to, "%s", PQgetvalue(r, 0, 1));
    PQclear(r);

    /* The universe: the symbols given, else the symbols table. */
    PGresult *syms = NULL;
    if (n == 0) {
        syms = run(conn, PGRES_TUPLES_OK, "SELECT symbol FROM symbols WHERE active ORDER BY symbol",
                   0, NULL, err, errlen);
        if (!syms)
            return rollback(conn, NULL);
        n = PQntuples(syms);
    }
    int enqueued = 0;
    for (int i = 0; i < n; i++) {
        const char *sym = syms ? PQgetvalue(syms, i, 0) : symbols[i];
        if (!symbol_valid(sym, strlen(sym))) {
            char shown[64];
            text_escape(shown, sizeof shown, sym, strlen(sym));
            log_msg(LOG_LEVEL_WARNING, "symbols table: skipping \"%s\": not %s", shown,
                    SYMBOL_RULE);
            continue;
        }
        job_key k = { sym, "day", 1, true, from, to, "polygon" };
        if (jobs_enqueue(conn, &k, run_date, NULL, err, errlen) != 0)
            return rollback(conn, syms);
        enqueued++;
    }
    PQclear(syms);
    snprintf(count, sizeof count, "%d", enqueued);
    p[1] = count;
    if (command(conn, "UPDATE service_runs SET symbols = $2 WHERE run_date = $1", 2, p, err,
                errlen) != 0 ||
        command(conn, "COMMIT", 0, NULL, err, errlen) != 0)
        return rollback(conn, NULL);
    log_msg(LOG_LEVEL_INFO, "scheduled run %s: %d job%s for %s..%s", run_date, enqueued,
            enqueued == 1 ? "" : "s", from, to);
    return 1;
}

void jobs_close_runs(PGconn *conn, void (*closed)(const char *run_date, long dead, void *ud),
                     void *ud)
{
    char err[256];
    PGresult *r =
        run(conn, PGRES_TUPLES_OK,
            "UPDATE service_runs r SET"
            "  completed_at = CASE WHEN j.dead = 0 THEN now() END,"
            "  failed_at = CASE WHEN j.dead > 0 THEN now() END"
            " FROM (SELECT r2.run_date,"
            "         count(b.id) FILTER (WHERE b.state = 'dead') AS dead,"
            "         count(b.id) FILTER (WHERE b.state <> 'done' AND b.state <> 'dead') AS open"
            "       FROM service_runs r2 LEFT JOIN backfill_jobs b ON b.run_date = r2.run_date"
            "       WHERE r2.completed_at IS NULL AND r2.failed_at IS NULL"
            "       GROUP BY r2.run_date) j"
            " WHERE r.run_date = j.run_date AND j.open = 0"
            /* again here: a concurrent closer's update is re-checked against
             * these, not against the subquery */
            "   AND r.completed_at IS NULL AND r.failed_at IS NULL"
            " RETURNING r.run_date::text, j.dead",
            0, NULL, err, sizeof err);
    for (int i = 0; r && i < PQntuples(r); i++)
        closed(PQgetvalue(r, i, 0), atol(PQgetvalue(r, i, 1)), ud);
    PQclear(r);
}
