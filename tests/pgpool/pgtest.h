/* Helpers shared by the pgpool integration tests (header-only). */
#ifndef PGPOOL_PGTEST_H
#define PGPOOL_PGTEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <libpq-fe.h>

#include <pgpool/pgpool.h>

static inline const char *db_url(void)
{
    const char *u = getenv("DATABASE_URL");
    return u && *u ? u : NULL;
}

static inline int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* How late a bounded wait may return on a loaded machine (sanitizers, a few
 * shared cores): upper bounds on wall-clock time are this far from the
 * figure they bound, so that only a wait that did not end on its deadline
 * crosses them. Lower bounds stay exact. */
#define LATE_MS 3000

static inline void sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

/* DATABASE_URL with an application_name of our own, so that a test can find
 * (and terminate) exactly its own backends while other suites run. */
static inline void url_with_app(char *buf, size_t size, const char *app)
{
    const char *u = db_url();
    snprintf(buf, size, "%s%sapplication_name=%s", u, strchr(u, '?') ? "&" : "?", app);
}

/* A pool on DATABASE_URL with application_name app and extra URI
 * parameters appended ("&options=..."; NULL for none). o->conninfo is left
 * pointing at nothing: the pool copied it. */
static inline pgpool *pool_for_app(pgpool_options *o, const char *app, const char *extra)
{
    char url[1024];
    url_with_app(url, sizeof url, app);
    if (extra)
        snprintf(url + strlen(url), sizeof url - strlen(url), "%s", extra);
    o->conninfo = url;
    pgpool *p = NULL;
    assert_int_equal(pgpool_new(&p, o), PGPOOL_OK);
    assert_non_null(p);
    o->conninfo = NULL;
    return p;
}

/* Run sql on a fresh admin connection; returns the first value as an int
 * (or -1 when there is no row). */
static inline long admin_exec(const char *sql)
{
    PGconn *c = PQconnectdb(db_url());
    if (PQstatus(c) != CONNECTION_OK)
        fail_msg("admin connect: %s", PQerrorMessage(c));
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK)
        fail_msg("admin %s: %s", sql, PQresultErrorMessage(r));
    long v = -1;
    if (st == PGRES_TUPLES_OK && PQntuples(r) > 0 && !PQgetisnull(r, 0, 0))
        v = atol(PQgetvalue(r, 0, 0));
    PQclear(r);
    PQfinish(c);
    return v;
}

static inline pgpool_stats stats_of(pgpool *p)
{
    pgpool_stats st = PGPOOL_STATS_INIT;
    assert_int_equal(pgpool_stats_get(&st, p), PGPOOL_OK);
    return st;
}

/* Poll (real time) until cond holds or ms pass; check cond afterwards. */
#define WAIT_FOR(cond, ms)                                                                         \
    for (int64_t wait_end_ = mono_ms() + (ms); !(cond) && mono_ms() < wait_end_;)                  \
    sleep_ms(5)

static inline void select_one(pgpool_conn *c)
{
    PGresult *r = PQexec(pgpool_conn_pg(c), "SELECT 1");
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        fail_msg("SELECT 1: %s", PQresultErrorMessage(r));
    assert_string_equal(PQgetvalue(r, 0, 0), "1");
    PQclear(r);
}

/* A thread taking turns on a pool until end_ms: acquire with a deadline of
 * timeout_ms, hold the connection hold_ms (0: run SELECT 1), release. */
typedef struct fair_arg {
    pgpool *p;
    int timeout_ms;
    int hold_ms;
    int64_t end_ms;
    int count;           /* checkouts */
    int timeouts;        /* acquires that failed */
    int64_t max_wait_ms; /* longest successful acquire */
} fair_arg;

static inline void *fair_worker(void *arg)
{
    fair_arg *a = (fair_arg *)arg;
    while (mono_ms() < a->end_ms) {
        pgpool_conn *c;
        int64_t t0 = mono_ms();
        if (pgpool_acquire(&c, a->p, a->timeout_ms) != PGPOOL_OK) {
            a->timeouts++;
            continue;
        }
        int64_t w = mono_ms() - t0;
        if (w > a->max_wait_ms)
            a->max_wait_ms = w;
        if (a->hold_ms > 0)
            sleep_ms(a->hold_ms);
        else
            select_one(c);
        pgpool_release(c);
        a->count++;
    }
    return NULL;
}

#endif
