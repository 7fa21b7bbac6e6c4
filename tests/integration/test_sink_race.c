/*
 * The ingestor's sink against a real PostgreSQL: a page whose range holds no
 * stored bar is copied straight into ohlcv; a re-run of it writes nothing
 * (the rows keep their xmin); a restatement updates exactly the changed
 * rows; and two sessions writing the same range at once, each believing it
 * is first, end with every bar stored once and no error (the loser's copy
 * meets a unique violation and takes the upsert path).
 *
 * A database of its own on DATABASE_URL's server, migrated by migrate.c.
 * Skipped (exit 77) without DATABASE_URL.
 */
#include <math.h>
#include <pthread.h>
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

#include "migrate.h"
#include "sink.h"

static char url[600];

enum { BARS = 2000, PAGES = 20, PAGE_BARS = 500, ROUNDS = 3 };

static PGconn *connect_db(void)
{
    PGconn *c = PQconnectdb(url);
    if (PQstatus(c) != CONNECTION_OK)
        fail_msg("connect: %s", PQerrorMessage(c));
    return c;
}

static void exec_ok(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
        fail_msg("%s: %s", sql, PQresultErrorMessage(r));
    PQclear(r);
}

static long long query_ll(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
        fail_msg("%s: %s", sql, PQresultErrorMessage(r));
    long long v = atoll(PQgetvalue(r, 0, 0));
    PQclear(r);
    return v;
}

/* Minute bars from 2024-01-02 14:30 UTC on, with absent vwap and trades here and there. */
static void make_bars(dq_candle *bars, size_t n, int64_t first)
{
    for (size_t i = 0; i < n; i++) {
        double o = 100.0 + (double)(i % 97) * 0.01;
        bars[i] = (dq_candle){ .ts = INT64_C(1704205800000) + (first + (int64_t)i) * 60000,
                               .open = o,
                               .high = o + 0.5,
                               .low = o - 0.5,
                               .close = o + 0.25,
                               .volume = 1000.0 + (double)i,
                               .vwap = i % 10 == 3 ? (double)NAN : o + 0.1,
                               .trades = i % 10 == 4 ? (double)NAN : 10.0 + (double)i };
    }
}

static const sink_job job = { .id = 0,
                              .symbol = "RACE",
                              .timespan = "minute",
                              .multiplier = 1,
                              .adjusted = true,
                              .source = "files" };

static unsigned char all_accepted[BARS];

static sink_page page_of(const dq_candle *bars, size_t n)
{
    return (sink_page){ .bars = bars,
                        .count = n,
                        .accepted = all_accepted,
                        .report_json = "{}",
                        .score = 1.0,
                        .checkpoint_ms = -1 };
}

static sink_result write_ok(PGconn *c, const dq_candle *bars, size_t n)
{
    sink_page page = page_of(bars, n);
    sink_result res;
    char err[512], state[6];
    int rc = sink_write_page(c, &job, &page, &res, err, sizeof err, state);
    if (rc != SINK_OK)
        fail_msg("sink_write_page: %d, SQLSTATE %s: %s", rc, state, err);
    return res;
}

/* "ts_ms:xmin" of every stored bar, in ts order (caller frees). */
static char **row_versions(PGconn *c, int *n)
{
    PGresult *r = PQexec(c, "SELECT (extract(epoch FROM ts) * 1000)::bigint || ':' || xmin"
                            " FROM ohlcv WHERE symbol = 'RACE' ORDER BY ts");
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    *n = PQntuples(r);
    char **v = calloc((size_t)*n, sizeof *v);
    for (int i = 0; i < *n; i++)
        v[i] = strdup(PQgetvalue(r, i, 0));
    PQclear(r);
    return v;
}

static void free_versions(char **v, int n)
{
    for (int i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static int setup(void **state)
{
    (void)state;
    PGconn *c = connect_db();
    exec_ok(c, "TRUNCATE ohlcv, dq_runs");
    PQfinish(c);
    return 0;
}

static void first_load_copies_rerun_writes_nothing_restatement_updates_changed(void **state)
{
    (void)state;
    static dq_candle bars[BARS];
    make_bars(bars, BARS, 0);
    PGconn *c = connect_db();

    sink_result res = write_ok(c, bars, BARS);
    assert_int_equal(res.inserted, BARS);
    assert_int_equal(res.direct, BARS); /* no stored bar in the range: straight in */
    assert_int_equal(res.updated + res.unchanged, 0);
    assert_int_equal(query_ll(c, "SELECT count(*) FROM ohlcv"), BARS);
    /* The binary rows read back as the bars: the timestamp, NULLs, the job's columns. */
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM ohlcv WHERE symbol = 'RACE' AND timespan = 'minute' AND"
             " multiplier = 1 AND adjusted AND source = 'files' AND"
             " ts = 'epoch'::timestamptz + %lld * interval '1 ms' AND open = %.17g AND"
             " high = %.17g AND low = %.17g AND close = %.17g AND volume = %.17g AND"
             " vwap IS NULL AND transactions = %lld",
             (long long)bars[3].ts, bars[3].open, bars[3].high, bars[3].low, bars[3].close,
             bars[3].volume, (long long)bars[3].trades);
    assert_int_equal(query_ll(c, sql), 1);
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM ohlcv WHERE ts = '2024-01-02 14:34:00+00' AND"
             " transactions IS NULL AND vwap = %.17g",
             bars[4].vwap);
    assert_int_equal(query_ll(c, sql), 1);
    assert_int_equal(query_ll(c, "SELECT count(*) FROM dq_runs"), 1);

    int n0, n1, n2;
    char **before = row_versions(c, &n0);

    /* A re-run: every bar unchanged, no row version written. */
    res = write_ok(c, bars, BARS);
    assert_int_equal(res.inserted, 0);
    assert_int_equal(res.updated, 0);
    assert_int_equal(res.unchanged, BARS);
    assert_int_equal(res.direct, 0);
    char **after = row_versions(c, &n1);
    assert_int_equal(n1, n0);
    for (int i = 0; i < n0; i++)
        assert_string_equal(after[i], before[i]);
    free_versions(after, n1);

    /* A 1 % restatement: exactly the changed rows get a new version. */
    for (size_t i = 7; i < BARS; i += 100)
        bars[i].volume += 1.0;
    res = write_ok(c, bars, BARS);
    assert_int_equal(res.updated, BARS / 100);
    assert_int_equal(res.unchanged, BARS - BARS / 100);
    assert_int_equal(res.inserted, 0);
    after = row_versions(c, &n2);
    assert_int_equal(n2, n0);
    for (int i = 0; i < n0; i++) {
        if (i % 100 == 7)
            assert_string_not_equal(after[i], before[i]);
        else
            assert_string_equal(after[i], before[i]);
    }
    assert_int_equal(query_ll(c, "SELECT count(*) FROM ohlcv WHERE updated_at > ingested_at"),
                     BARS / 100);
    free_versions(after, n2);
    free_versions(before, n0);
    PQfinish(c);
}

static void page_over_stored_bars_takes_the_upsert(void **state)
{
    (void)state;
    static dq_candle bars[BARS];
    make_bars(bars, BARS, 0);
    PGconn *c = connect_db();
    sink_result res = write_ok(c, bars + BARS / 2, BARS / 2); /* the second half */
    assert_int_equal(res.direct, BARS / 2);
    res = write_ok(c, bars, BARS); /* the whole range: some of it stored */
    assert_int_equal(res.direct, 0);
    assert_int_equal(res.inserted, BARS / 2);
    assert_int_equal(res.unchanged, BARS / 2);
    assert_int_equal(query_ll(c, "SELECT count(*) FROM ohlcv"), BARS);
    PQfinish(c);
}

typedef struct racer {
    const dq_candle *bars;
    size_t npages, per_page;
    pthread_barrier_t *start; /* NULL: none */
    sink_result total;
    int rc;
    char err[512], state[6];
} racer;

static void *race(void *arg)
{
    racer *r = arg;
    PGconn *c = PQconnectdb(url);
    r->rc = PQstatus(c) == CONNECTION_OK ? SINK_OK : SINK_ERROR;
    if (r->start)
        pthread_barrier_wait(r->start);
    for (size_t p = 0; p < r->npages && r->rc == SINK_OK; p++) {
        sink_page page = page_of(r->bars + p * r->per_page, r->per_page);
        sink_result res;
        r->rc = sink_write_page(c, &job, &page, &res, r->err, sizeof r->err, r->state);
        r->total.inserted += res.inserted;
        r->total.updated += res.updated;
        r->total.unchanged += res.unchanged;
        r->total.direct += res.direct;
    }
    PQfinish(c);
    return NULL;
}

static void assert_raced_ok(const racer *a, const racer *b, long long bars, PGconn *c)
{
    if (a->rc != SINK_OK)
        fail_msg("first writer: %d, SQLSTATE %s: %s", a->rc, a->state, a->err);
    if (b->rc != SINK_OK)
        fail_msg("second writer: %d, SQLSTATE %s: %s", b->rc, b->state, b->err);
    assert_int_equal(a->total.inserted + b->total.inserted, bars);
    assert_int_equal(a->total.inserted + a->total.unchanged, bars);
    assert_int_equal(b->total.inserted + b->total.unchanged, bars);
    assert_int_equal(a->total.updated + b->total.updated, 0);
    assert_int_equal(query_ll(c, "SELECT count(*) FROM ohlcv"), bars);
    assert_int_equal(query_ll(c, "SELECT count(DISTINCT ts) FROM ohlcv"), bars);
}

/*
 * Both sessions find the range empty, then both copy: a third session holds
 * a lock on ohlcv that lets their range checks through and stops their
 * copies until both wait on it, then lets them go together.
 */
static void racing_first_loads_store_each_bar_once(void **state)
{
    (void)state;
    static dq_candle bars[BARS];
    make_bars(bars, BARS, 0);
    PGconn *c = connect_db();
    exec_ok(c, "BEGIN");
    exec_ok(c, "LOCK TABLE ohlcv IN SHARE ROW EXCLUSIVE MODE");
    racer a = { .bars = bars, .npages = 1, .per_page = BARS };
    racer b = a;
    pthread_t ta, tb;
    assert_int_equal(pthread_create(&ta, NULL, race, &a), 0);
    assert_int_equal(pthread_create(&tb, NULL, race, &b), 0);
    /* Until both copies wait for the lock (each has seen an empty range). */
    long long waiting = 0;
    for (int i = 0; i < 60000 && waiting < 2; i++) {
        waiting = query_ll(c, "SELECT count(*) FROM pg_locks WHERE NOT granted AND"
                              " relation = 'ohlcv'::regclass");
        if (waiting < 2)
            nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
    }
    assert_int_equal(waiting, 2);
    exec_ok(c, "COMMIT");
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    assert_raced_ok(&a, &b, BARS, c);
    /* One copied straight in; the other met its bars and stored nothing twice. */
    assert_int_equal(a.total.direct + b.total.direct, BARS);
    assert_true(a.total.direct == 0 || b.total.direct == 0);
    PQfinish(c);
}

/* Two backfills of one range, page after page, started together. */
static void racing_backfills_of_one_range_store_each_bar_once(void **state)
{
    (void)state;
    static dq_candle bars[PAGES * PAGE_BARS];
    make_bars(bars, PAGES * PAGE_BARS, 0);
    PGconn *c = connect_db();
    for (int round = 0; round < ROUNDS; round++) {
        exec_ok(c, "TRUNCATE ohlcv, dq_runs");
        pthread_barrier_t start;
        pthread_barrier_init(&start, NULL, 2);
        racer a = { .bars = bars, .npages = PAGES, .per_page = PAGE_BARS, .start = &start };
        racer b = a;
        pthread_t ta, tb;
        assert_int_equal(pthread_create(&ta, NULL, race, &a), 0);
        assert_int_equal(pthread_create(&tb, NULL, race, &b), 0);
        pthread_join(ta, NULL);
        pthread_join(tb, NULL);
        pthread_barrier_destroy(&start);
        assert_raced_ok(&a, &b, PAGES * PAGE_BARS, c);
    }
    PQfinish(c);
}

int main(void)
{
    const char *base = getenv("DATABASE_URL");
    if (!base || !*base) {
        fprintf(stderr, "DATABASE_URL is not set: run through scripts/test\n");
        return 77;
    }
    memset(all_accepted, 1, sizeof all_accepted);
    char db[64], sql[160];
    snprintf(db, sizeof db, "it_sink_race_%ld", (long)getpid());
    PGconn *admin = PQconnectdb(base);
    if (PQstatus(admin) != CONNECTION_OK) {
        fprintf(stderr, "%s", PQerrorMessage(admin));
        return 1;
    }
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", db);
    PQclear(PQexec(admin, sql));
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", db);
    PGresult *r = PQexec(admin, sql);
    int created = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    const char *slash = strrchr(base, '/');
    snprintf(url, sizeof url, "%.*s/%s", (int)(slash - base), base, db);
    PGconn *c = PQconnectdb(url);
    char err[512];
    int applied;
    if (!created || PQstatus(c) != CONNECTION_OK || migrate_run(c, &applied, err, sizeof err)) {
        fprintf(stderr, "database %s: %s%s\n", db, PQerrorMessage(c), err);
        return 1;
    }
    PQfinish(c);

    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(first_load_copies_rerun_writes_nothing_restatement_updates_changed,
                               setup),
        cmocka_unit_test_setup(page_over_stored_bars_takes_the_upsert, setup),
        cmocka_unit_test_setup(racing_first_loads_store_each_bar_once, setup),
        cmocka_unit_test_setup(racing_backfills_of_one_range_store_each_bar_once, setup),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", db);
    PQclear(PQexec(admin, sql));
    PQfinish(admin);
    return failed;
}
