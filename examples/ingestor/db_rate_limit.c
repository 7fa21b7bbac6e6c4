#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "db.h"
#include "db_rate_limit.h"

struct db_rate_limit {
    pgpool *pool;
    char name[64];
    char limit[16];
    char window[24]; /* ms, with the guard below */
};

int db_rate_limit_new(db_rate_limit **out, pgpool *pool, const char *name, int limit,
                      int64_t window_ms)
{
    *out = NULL;
    db_rate_limit *l = calloc(1, sizeof *l);
    if (!l)
        return -1;
    l->pool = pool;
    snprintf(l->name, sizeof l->name, "%s", name);
    snprintf(l->limit, sizeof l->limit, "%d", limit);
    /* A request reaches the server some time after its reservation (a
     * process's first request also opens its connection), and by a varying
     * delay: a window 5 % + 250 ms longer than the server's keeps any of its
     * windows within the limit unless one request is that much later than
     * another. */
    snprintf(l->window, sizeof l->window, "%lld", (long long)(window_ms + window_ms / 20 + 250));
    *out = l;
    return 0;
}

void db_rate_limit_free(db_rate_limit *l)
{
    free(l);
}

static void pg_fail(PGresult *r, PGconn *c, char *err, size_t errlen)
{
    const char *m = r ? PQresultErrorMessage(r) : "";
    snprintf(err, errlen, "shared rate limit: %s", m && *m ? m : PQerrorMessage(c));
    size_t n = strlen(err);
    while (n && (err[n - 1] == '\n' || err[n - 1] == ' '))
        err[--n] = '\0';
}

/*
 * One reservation attempt: 0 reserved, >0 the milliseconds until a slot
 * frees, -1 a database error.
 */
static int64_t try_reserve(db_rate_limit *l, PGconn *c, char *err, size_t errlen)
{
    const char *p[3] = { l->name, l->window, l->limit };
    PGresult *r = PQexecParams(c,
                               "INSERT INTO api_rate_slots (name) VALUES ($1)"
                               " ON CONFLICT DO NOTHING",
                               1, NULL, p, NULL, NULL, 0);
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok)
        pg_fail(r, c, err, errlen);
    PQclear(r);
    if (!ok)
        return -1;
    /* The row lock, held to the end of the transaction, queues concurrent
     * reservations; each then reads the times its predecessor wrote. The
     * window is measured with the database's clock. */
    r = PQexec(c, "BEGIN");
    ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok)
        pg_fail(r, c, err, errlen);
    PQclear(r);
    if (!ok)
        return -1;
    r = PQexecParams(c,
                     "WITH cur AS MATERIALIZED (SELECT times, clock_timestamp() AS c"
                     "   FROM api_rate_slots WHERE name = $1 FOR UPDATE)"
                     " SELECT count(t), ceil(extract(epoch FROM min(t) + $2::bigint *"
                     "   interval '1 millisecond' - cur.c) * 1000)::bigint"
                     " FROM cur LEFT JOIN LATERAL unnest(cur.times) t"
                     "   ON t > cur.c - $2::bigint * interval '1 millisecond'"
                     " GROUP BY cur.c",
                     2, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
        pg_fail(r, c, err, errlen);
        PQclear(r);
        PQclear(PQexec(c, "ROLLBACK"));
        return -1;
    }
    int64_t wait = 0;
    if (atoll(PQgetvalue(r, 0, 0)) >= atoll(l->limit)) {
        wait = PQgetisnull(r, 0, 1) ? 1 : atoll(PQgetvalue(r, 0, 1));
        if (wait < 1)
            wait = 1;
    }
    PQclear(r);
    if (wait == 0) {
        r = PQexecParams(c,
                         "UPDATE api_rate_slots SET times = array_append(ARRAY(SELECT t"
                         "   FROM unnest(times) t WHERE t > clock_timestamp() - $2::bigint *"
                         "   interval '1 millisecond' ORDER BY t), clock_timestamp())"
                         " WHERE name = $1",
                         2, NULL, p, NULL, NULL, 0);
        ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        if (!ok)
            pg_fail(r, c, err, errlen);
        PQclear(r);
        if (!ok) {
            PQclear(PQexec(c, "ROLLBACK"));
            return -1;
        }
    }
    r = PQexec(c, "COMMIT");
    ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok)
        pg_fail(r, c, err, errlen);
    PQclear(r);
    return ok ? wait : -1;
}

static void sleep_ms(int64_t ms)
{
    struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

int db_rate_limit_reserve(db_rate_limit *l, atomic_int *stop, int64_t *waited_ms, char *err,
                          size_t errlen)
{
    *waited_ms = 0;
    for (;;) {
        if (stop && *stop) {
            snprintf(err, errlen, "stopped");
            return -1;
        }
        pgpool_conn *pc;
        int rc = pgpool_acquire(&pc, l->pool, 10000);
        if (rc != PGPOOL_OK) {
            snprintf(err, errlen, "shared rate limit: database: %s", pgpool_strerror(rc));
            return -1;
        }
        PGconn *c = pgpool_conn_pg(pc);
        int64_t wait = try_reserve(l, c, err, errlen);
        db_give_back(pc);
        if (wait <= 0)
            return wait == 0 ? 0 : -1;
        /* Sleep in short steps: a shutdown should not wait a whole window. */
        int64_t step = wait < 200 ? wait : 200;
        sleep_ms(step);
        *waited_ms += step;
    }
}
