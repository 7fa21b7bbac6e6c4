#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "migrate.h"

typedef struct migration {
    int version;
    const char *description;
    const char *sql;
} migration;

/* Never edit a migration that has shipped: add a new one. */
static const migration migrations[] = {
    { 1, "bars, quarantine, quality runs, backfill jobs",
      "CREATE TABLE ohlcv ("
      "  symbol text NOT NULL,"
      "  timespan text NOT NULL,"
      "  multiplier integer NOT NULL CHECK (multiplier > 0),"
      "  ts timestamptz NOT NULL,"
      "  open float8 NOT NULL,"
      "  high float8 NOT NULL,"
      "  low float8 NOT NULL,"
      "  close float8 NOT NULL,"
      "  volume float8 NOT NULL,"
      "  vwap float8,"
      "  transactions bigint,"
      "  adjusted boolean NOT NULL,"
      "  source text NOT NULL,"
      "  ingested_at timestamptz NOT NULL DEFAULT now(),"
      "  updated_at timestamptz NOT NULL DEFAULT now(),"
      "  PRIMARY KEY (symbol, timespan, multiplier, ts));"
      "CREATE TABLE ohlcv_quarantine ("
      "  symbol text NOT NULL,"
      "  timespan text NOT NULL,"
      "  multiplier integer NOT NULL,"
      "  ts timestamptz NOT NULL,"
      "  open float8, high float8, low float8, close float8, volume float8,"
      "  vwap float8,"
      "  transactions bigint,"
      "  adjusted boolean NOT NULL,"
      "  source text NOT NULL,"
      "  codes text[] NOT NULL,"
      "  details jsonb NOT NULL,"
      "  job_id bigint,"
      "  first_seen timestamptz NOT NULL DEFAULT now(),"
      "  last_seen timestamptz NOT NULL DEFAULT now(),"
      "  PRIMARY KEY (symbol, timespan, multiplier, ts));"
      "CREATE TABLE backfill_jobs ("
      "  id bigserial PRIMARY KEY,"
      "  symbol text NOT NULL,"
      "  timespan text NOT NULL,"
      "  multiplier integer NOT NULL,"
      "  adjusted boolean NOT NULL,"
      "  from_date date NOT NULL,"
      "  to_date date NOT NULL,"
      "  source text NOT NULL,"
      "  state text NOT NULL DEFAULT 'pending'"
      "    CHECK (state IN ('pending', 'running', 'done', 'failed', 'dead')),"
      "  checkpoint_ms bigint,"
      "  attempts integer NOT NULL DEFAULT 0,"
      "  last_error text,"
      "  lease_owner text,"
      "  lease_until timestamptz,"
      "  run_after timestamptz NOT NULL DEFAULT now(),"
      "  bars_fetched bigint NOT NULL DEFAULT 0,"
      "  bars_inserted bigint NOT NULL DEFAULT 0,"
      "  bars_updated bigint NOT NULL DEFAULT 0,"
      "  bars_unchanged bigint NOT NULL DEFAULT 0,"
      "  bars_quarantined bigint NOT NULL DEFAULT 0,"
      "  created_at timestamptz NOT NULL DEFAULT now(),"
      "  updated_at timestamptz NOT NULL DEFAULT now(),"
      "  started_at timestamptz,"
      "  finished_at timestamptz,"
      "  UNIQUE (symbol, timespan, multiplier, adjusted, from_date, to_date, source));"
      "CREATE INDEX backfill_jobs_claim ON backfill_jobs (state, run_after);"
      "CREATE TABLE dq_runs ("
      "  id bigserial PRIMARY KEY,"
      "  job_id bigint REFERENCES backfill_jobs (id) ON DELETE SET NULL,"
      "  symbol text NOT NULL,"
      "  timespan text NOT NULL,"
      "  multiplier integer NOT NULL,"
      "  first_ts timestamptz,"
      "  last_ts timestamptz,"
      "  candles integer NOT NULL,"
      "  accepted integer NOT NULL,"
      "  rejected integer NOT NULL,"
      "  score float8 NOT NULL,"
      "  errors integer NOT NULL,"
      "  warnings integer NOT NULL,"
      "  infos integer NOT NULL,"
      "  report jsonb NOT NULL,"
      "  checked_at timestamptz NOT NULL DEFAULT now());"
      "CREATE INDEX dq_runs_symbol ON dq_runs (symbol, checked_at DESC);" },
    { 2, "the service: scheduled runs, the symbol universe, the shared rate limit",
      "ALTER TABLE backfill_jobs ADD COLUMN run_date date;"
      "CREATE TABLE service_runs ("
      "  run_date date PRIMARY KEY,"
      "  from_date date NOT NULL,"
      "  to_date date NOT NULL,"
      "  symbols integer NOT NULL,"
      "  enqueued_by text NOT NULL,"
      "  enqueued_at timestamptz NOT NULL DEFAULT now(),"
      "  completed_at timestamptz,"
      "  failed_at timestamptz);"
      "CREATE TABLE symbols ("
      "  symbol text PRIMARY KEY,"
      "  active boolean NOT NULL DEFAULT true,"
      "  added_at timestamptz NOT NULL DEFAULT now());"
      /* One row per limited API: the start times of the requests of the
       * last window, whoever made them. */
      "CREATE TABLE api_rate_slots ("
      "  name text PRIMARY KEY,"
      "  times timestamptz[] NOT NULL DEFAULT '{}');" },
};

int migrate_latest_version(void)
{
    return migrations[sizeof migrations / sizeof migrations[0] - 1].version;
}

static int exec_ok(PGconn *conn, const char *sql, char *err, size_t errlen)
{
    PGresult *r = PQexec(conn, sql);
    ExecStatusType st = PQresultStatus(r);
    int ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
    if (!ok)
        snprintf(err, errlen, "%s", PQresultErrorMessage(r));
    PQclear(r);
    return ok ? 0 : -1;
}

int migrate_current_version(PGconn *conn, char *err, size_t errlen)
{
    PGresult *r = PQexec(conn, "SELECT coalesce(max(version), 0) FROM schema_migrations");
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
        int missing = state && strcmp(state, "42P01") == 0; /* undefined_table */
        if (!missing)
            snprintf(err, errlen, "%s", PQresultErrorMessage(r));
        PQclear(r);
        return missing ? 0 : -1;
    }
    int v = atoi(PQgetvalue(r, 0, 0));
    PQclear(r);
    return v;
}

int migrate_run(PGconn *conn, int *applied, char *err, size_t errlen)
{
    *applied = 0;
    if (exec_ok(conn,
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                "  version integer PRIMARY KEY,"
                "  description text NOT NULL,"
                "  applied_at timestamptz NOT NULL DEFAULT now())",
                err, errlen) != 0) {
        /* Two processes creating it at once: one loses with a unique
         * violation on the catalog; the table exists either way. */
        if (migrate_current_version(conn, err, errlen) < 0)
            return -1;
    }
    for (size_t i = 0; i < sizeof migrations / sizeof migrations[0]; i++) {
        const migration *m = &migrations[i];
        /* One transaction per migration, serialised across processes. */
        if (exec_ok(conn, "BEGIN", err, errlen) != 0)
            return -1;
        if (exec_ok(conn, "SELECT pg_advisory_xact_lock(7243019)", err, errlen) != 0)
            goto fail;
        char sql[128];
        snprintf(sql, sizeof sql, "SELECT 1 FROM schema_migrations WHERE version = %d", m->version);
        PGresult *r = PQexec(conn, sql);
        if (PQresultStatus(r) != PGRES_TUPLES_OK) {
            snprintf(err, errlen, "%s", PQresultErrorMessage(r));
            PQclear(r);
            goto fail;
        }
        int done = PQntuples(r) > 0;
        PQclear(r);
        if (!done) {
            if (exec_ok(conn, m->sql, err, errlen) != 0)
                goto fail;
            char v[16];
            snprintf(v, sizeof v, "%d", m->version);
            const char *params[2] = { v, m->description };
            r = PQexecParams(conn,
                             "INSERT INTO schema_migrations (version, description) "
                             "VALUES ($1, $2)",
                             2, NULL, params, NULL, NULL, 0);
            int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
            if (!ok)
                snprintf(err, errlen, "%s", PQresultErrorMessage(r));
            PQclear(r);
            if (!ok)
                goto fail;
            (*applied)++;
        }
        if (exec_ok(conn, "COMMIT", err, errlen) != 0)
            return -1;
    }
    return 0;
fail:
    PQclear(PQexec(conn, "ROLLBACK"));
    return -1;
}
