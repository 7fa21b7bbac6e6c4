/*
 * Faults that stop the server (scripts/pg restart / halt / resume): run with
 * is_parallel: false, and the server is running again at the end.
 * PGPOOL_PG_SCRIPT is the absolute path of scripts/pg (from meson).
 */
#include <signal.h>

#include "pgtest.h"

static void pg_script(const char *cmd)
{
    const char *script = getenv("PGPOOL_PG_SCRIPT");
    const char *dir = getenv("INGEST_PG_DIR");
    assert_non_null(script);
    assert_non_null(dir);
    char line[1024];
    snprintf(line, sizeof line, "'%s' %s '%s' >/dev/null 2>&1", script, cmd, dir);
    assert_int_equal(system(line), 0);
}

static void restart_while_idle(void **state)
{
    (void)state;
    pgpool_options o = PGPOOL_OPTIONS_INIT;
    o.min_idle = 3;
    o.max_size = 4;
    o.conninfo = db_url();
    pgpool *p;
    assert_int_equal(pgpool_new(&p, &o), PGPOOL_OK);
    pgpool_conn *c[3];
    for (int i = 0; i < 3; i++)
        assert_int_equal(pgpool_acquire(&c[i], p, 5000), PGPOOL_OK);
    for (int i = 0; i < 3; i++) {
        select_one(c[i]);
        pgpool_release(c[i]);
    }
    pg_script("restart");
    /* every subsequent acquire works, the most recently used one included */
    for (int i = 0; i < 10; i++) {
        pgpool_conn *x;
        assert_int_equal(pgpool_acquire(&x, p, 10000), PGPOOL_OK);
        select_one(x);
        pgpool_release(x);
    }
    pgpool_stats st = stats_of(p);
    assert_true(st.closed[PGPOOL_CLOSE_BROKEN] + st.closed[PGPOOL_CLOSE_STALE] +
                    st.closed[PGPOOL_CLOSE_VALIDATION] >=
                3);
    pgpool_free(p);
}

static void stopped_then_started(void **state)
{
    (void)state;
    pgpool_options o = PGPOOL_OPTIONS_INIT;
    o.min_idle = 2;
    o.max_size = 4;
    o.backoff_initial_ms = 50;
    o.backoff_max_ms = 400;
    o.conninfo = db_url();
    pgpool *p;
    assert_int_equal(pgpool_new(&p, &o), PGPOOL_OK);
    WAIT_FOR(stats_of(p).idle == 2, 5000);
    pgpool_conn *a, *b;
    assert_int_equal(pgpool_acquire(&a, p, 5000), PGPOOL_OK);
    assert_int_equal(pgpool_acquire(&b, p, 5000), PGPOOL_OK);
    pg_script("halt");
    /* the users find their connections dead and give them back */
    PQclear(PQexec(pgpool_conn_pg(a), "SELECT 1"));
    PQclear(PQexec(pgpool_conn_pg(b), "SELECT 1"));
    pgpool_release(a);
    pgpool_release(b);
    /* While a and b were out, the pool may have opened two more to keep
     * min_idle; the server's shutdown closed those too, and the pool
     * notices their dead sockets by itself, without an acquire. */
    WAIT_FOR(stats_of(p).idle == 0, 5000);
    assert_int_equal(stats_of(p).idle, 0);
    uint64_t attempts0 = stats_of(p).connect_attempts;
    int64_t t0 = mono_ms();
    pgpool_conn *c = NULL;
    assert_int_equal(pgpool_acquire(&c, p, 1000), PGPOOL_ECONNECT);
    int64_t took = mono_ms() - t0;
    assert_true(took >= 1000 && took < 1000 + LATE_MS);
    char err[256];
    assert_true(pgpool_last_error(p, err, sizeof err) > 0);
    pgpool_stats st = stats_of(p);
    uint64_t attempts = st.connect_attempts - attempts0;
    print_message("down: %llu connect attempts in %lld ms, last error: %s\n",
                  (unsigned long long)attempts, (long long)took, err);
    /* backoff 50, 100, 200, 400, 400 ms (each in [d/2, d]): at most ~12 in 1 s */
    assert_true(attempts >= 2 && attempts <= 12);
    assert_int_equal(st.health, PGPOOL_DOWN);
    assert_int_equal(st.connect_errors, 1);

    pg_script("resume");
    /* back to min_idle without any acquire */
    WAIT_FOR((st = stats_of(p)).idle >= 2, 10000);
    assert_int_equal(st.idle, 2);
    assert_int_equal(st.health, PGPOOL_UP);
    assert_int_equal(pgpool_acquire(&c, p, 2000), PGPOOL_OK);
    select_one(c);
    pgpool_release(c);
    pgpool_free(p);
}

int main(void)
{
    if (!db_url() || !getenv("INGEST_PG_DIR") || !getenv("PGPOOL_PG_SCRIPT")) {
        fprintf(stderr, "DATABASE_URL, INGEST_PG_DIR or PGPOOL_PG_SCRIPT not set: skipped\n");
        return 77;
    }
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(restart_while_idle),
        cmocka_unit_test(stopped_then_started),
    };
    int rc = cmocka_run_group_tests_name("pgpool_faults", tests, NULL, NULL);
    /* leave the server running whatever happened */
    const char *script = getenv("PGPOOL_PG_SCRIPT");
    char line[1024];
    snprintf(line, sizeof line, "'%s' status '%s' || '%s' resume '%s'", script,
             getenv("INGEST_PG_DIR"), script, getenv("INGEST_PG_DIR"));
    if (system(line) != 0)
        fprintf(stderr, "could not restart the server\n");
    return rc;
}
