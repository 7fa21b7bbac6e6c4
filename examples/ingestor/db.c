#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include <libpq-fe.h>

#include "db.h"
#include "log.h"
#include "migrate.h"
#include "urlcheck.h"

static int quiet_on_connect(PGconn *conn, void *userdata)
{
    (void)userdata;
    PGresult *r = PQexec(conn, "SET client_min_messages = warning");
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    return ok ? 0 : -1;
}

static void pool_log(pgpool_log_level level, const char *msg, void *userdata)
{
    (void)userdata;
    log_msg(level >= PGPOOL_LOG_ERROR  ? LOG_LEVEL_ERROR
            : level >= PGPOOL_LOG_WARN ? LOG_LEVEL_WARNING
                                       : LOG_LEVEL_DEBUG,
            "pool: %s", msg);
}

int db_open_pool(const ingest_config *cfg, pgpool **pool, int max_size)
{
    pgpool_options o = PGPOOL_OPTIONS_INIT;
    o.conninfo = cfg->db.url;
    o.min_idle = cfg->db.pool_min < max_size ? cfg->db.pool_min : max_size;
    o.max_size = max_size;
    o.on_connect = quiet_on_connect;
    o.log = pool_log;
    o.log_level = PGPOOL_LOG_WARN;
    o.name = "ingestor";
    int rc = pgpool_new(pool, &o);
    if (rc != PGPOOL_OK) {
        log_msg(LOG_LEVEL_ERROR, "cannot create the database pool: %s", pgpool_strerror(rc));
        return -1;
    }
    return 0;
}

/* Acquire a connection, or log why not (password masked by the pool). */
pgpool_conn *db_acquire_or_log(pgpool *pool)
{
    pgpool_conn *pc;
    int rc = pgpool_acquire(&pc, pool, 15000);
    if (rc == PGPOOL_OK)
        return pc;
    char buf[512];
    pgpool_last_error(pool, buf, sizeof buf);
    log_msg(LOG_LEVEL_ERROR, "database unavailable: %s%s%s", pgpool_strerror(rc),
            buf[0] ? ": " : "", buf);
    return NULL;
}

bool db_url_password(const char *url, char *out, size_t size)
{
    return url_password(url, out, size);
}

int db_open_ready(const ingest_config *cfg, pgpool **pool, int max_size)
{
    if (db_open_pool(cfg, pool, max_size) != 0)
        return EX_SOFTWARE;
    pgpool_conn *pc = db_acquire_or_log(*pool);
    if (!pc) {
        pgpool_free(*pool);
        *pool = NULL;
        return EX_UNAVAILABLE;
    }
    char err[512];
    int v = migrate_current_version(pgpool_conn_pg(pc), err, sizeof err);
    pgpool_release(pc);
    if (v != migrate_latest_version()) {
        log_msg(LOG_LEVEL_ERROR,
                "the database schema is at version %d, this program needs %d: "
                "run 'ingestor migrate'",
                v, migrate_latest_version());
        pgpool_free(*pool);
        *pool = NULL;
        return EX_SOFTWARE;
    }
    return 0;
}

void db_give_back(pgpool_conn *pc)
{
    if (PQstatus(pgpool_conn_pg(pc)) != CONNECTION_OK)
        pgpool_discard(pc);
    else
        pgpool_release(pc);
}
