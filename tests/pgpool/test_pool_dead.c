/*
 * Dead connections are never handed out: backends terminated while idle
 * (pg_terminate_backend, idle_session_timeout) are found at checkout or by
 * the idle watch, from 8 threads acquiring at 0-200 ms after the kill; and
 * one dead connection closes exactly that connection. Each test touches
 * only backends carrying its own application_name, so the file runs in
 * parallel with other suites (suite stress: under ThreadSanitizer too).
 */
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>

#include "pgtest.h"

#define THREADS    8
#define PER_THREAD 10 /* acquires per thread and round, spread over 0-200 ms */
#define SPREAD_MS  200

typedef struct round_arg {
    pgpool *p;
    int id;
    int64_t t0_ms;     /* round start (the kill) */
    int ok, dead, err; /* acquires that ran SELECT 1 / got a dead connection / failed */
    char first_dead[256];
} round_arg;

static void *round_worker(void *v)
{
    round_arg *a = v;
    for (int k = 0; k < PER_THREAD; k++) {
        int64_t at = a->t0_ms + (int64_t)(k * THREADS + a->id) * SPREAD_MS / (THREADS * PER_THREAD);
        int64_t now = mono_ms();
        if (at > now)
            sleep_ms((int)(at - now));
        pgpool_conn *c;
        if (pgpool_acquire(&c, a->p, 5000) != PGPOOL_OK) {
            a->err++;
            continue;
        }
        PGresult *r = PQexec(pgpool_conn_pg(c), "SELECT 1");
        bool good = PQresultStatus(r) == PGRES_TUPLES_OK;
        if (!good && !a->first_dead[0])
            snprintf(a->first_dead, sizeof a->first_dead, "%s", PQresultErrorMessage(r));
        PQclear(r);
        if (good) {
            a->ok++;
            pgpool_release(c);
        } else {
            a->dead++;
            pgpool_discard(c);
        }
    }
    return NULL;
}

/* One round: THREADS threads, PER_THREAD acquires each at offsets spread
 * over 0..SPREAD_MS from now. Adds to *dead and *handed. */
static void run_round(pgpool *p, int *dead, int *handed, int *errors, char *first, size_t fsize)
{
    pthread_t th[THREADS];
    round_arg a[THREADS];
    int64_t t0 = mono_ms();
    for (int i = 0; i < THREADS; i++) {
        a[i] = (round_arg){ .p = p, .id = i, .t0_ms = t0 };
        assert_int_equal(pthread_create(&th[i], NULL, round_worker, &a[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        *dead += a[i].dead;
        *handed += a[i].ok + a[i].dead;
        *errors += a[i].err;
        if (a[i].first_dead[0] && !first[0])
            snprintf(first, fsize, "%s", a[i].first_dead);
    }
}

static void terminate_idle_then_acquire_from_8_threads(void **state)
{
    (void)state;
    pgpool_options o = PGPOOL_OPTIONS_INIT;
    o.min_idle = THREADS;
    o.max_size = THREADS;
    pgpool *p = pool_for_app(&o, "pgpool_dead_kill", NULL);
    int dead = 0, handed = 0, errors = 0, rounds = 0;
    char first[256] = "";
    while (handed + errors < 1000) {
        WAIT_FOR(stats_of(p).idle == THREADS, 10000);
        assert_int_equal(stats_of(p).idle, THREADS);
        /* pg_terminate_backend(pid, timeout) returns once the backend is gone:
         * its FATAL and the end of the stream are in every socket. */
        long killed = admin_exec("SELECT count(*) FROM (SELECT pg_terminate_backend(pid, 5000) "
                                 "FROM pg_stat_activity WHERE application_name = "
                                 "'pgpool_dead_kill' AND state = 'idle') t");
        assert_int_equal(killed, THREADS);
        run_round(p, &dead, &handed, &errors, first, sizeof first);
        rounds++;
    }
    pgpool_stats st = stats_of(p);
    print_message("pg_terminate_backend: %d dead connection(s) handed out in %d acquires "
                  "(%d rounds, %d acquire errors); closed broken %llu stale %llu%s%s\n",
                  dead, handed, rounds, errors, (unsigned long long)st.closed[PGPOOL_CLOSE_BROKEN],
                  (unsigned long long)st.closed[PGPOOL_CLOSE_STALE], first[0] ? "; first: " : "",
                  first);
    assert_int_equal(errors, 0);
    assert_int_equal(dead, 0);
    /* every killed connection was counted as broken */
    assert_true(st.closed[PGPOOL_CLOSE_BROKEN] >= (uint64_t)(rounds * THREADS));
    pgpool_free(p);
}

static void idle_session_timeout_then_acquire_from_8_threads(void **state)
{
    (void)state;
    pgpool_options o = PGPOOL_OPTIONS_INIT;
    o.min_idle = THREADS;
    o.max_size = THREADS;
    /* The idle watch is slowed down: checkout must catch dead connections
     * by itself, as it must for a backend that dies just before a checkout. */
    o.health_check_period_ms = 5000;
    pgpool *p = pool_for_app(&o, "pgpool_dead_idle", "&options=-c%20idle_session_timeout%3D1000");
    int dead = 0, handed = 0, errors = 0, rounds = 0;
    char first[256] = "";
    WAIT_FOR(stats_of(p).idle == THREADS, 10000);
    while (handed + errors < 1000) {
        /* every idle connection passes the server's idle_session_timeout;
         * within a round (0-200 ms, more on a loaded machine) none comes
         * near it, so no backend can end between the check and the query */
        sleep_ms(1200);
        run_round(p, &dead, &handed, &errors, first, sizeof first);
        rounds++;
    }
    pgpool_stats st = stats_of(p);
    print_message("idle_session_timeout: %d dead connection(s) handed out in %d acquires "
                  "(%d rounds, %d acquire errors); closed broken %llu%s%s\n",
                  dead, handed, rounds, errors, (unsigned long long)st.closed[PGPOOL_CLOSE_BROKEN],
                  first[0] ? "; first: " : "", first);
    assert_int_equal(errors, 0);
    assert_int_equal(dead, 0);
    assert_true(st.closed[PGPOOL_CLOSE_BROKEN] >= (uint64_t)rounds);
    pgpool_free(p);
}

static uint64_t closed_total(const pgpool_stats *st)
{
    uint64_t n = 0;
    for (int i = 0; i < PGPOOL_CLOSE_REASON_COUNT; i++)
        n += st->closed[i];
    return n;
}

static void one_kill_closes_exactly_one(void **state)
{
    (void)state;
    pgpool_options o = PGPOOL_OPTIONS_INIT;
    o.min_idle = 4;
    o.max_size = 4;
    o.validate_after_idle_ms = -1;
    pgpool *p = pool_for_app(&o, "pgpool_dead_one", NULL);
    WAIT_FOR(stats_of(p).idle == 4, 10000);
    pgpool_conn *c[4];
    int newest = 0;
    for (int i = 0; i < 4; i++) {
        assert_int_equal(pgpool_acquire(&c[i], p, 5000), PGPOOL_OK);
        select_one(c[i]);
        if (pgpool_conn_id(c[i]) > pgpool_conn_id(c[newest]))
            newest = i;
    }
    /* the newest of four checked-out connections dies */
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT pg_terminate_backend(%d, 5000)::int",
             PQbackendPID(pgpool_conn_pg(c[newest])));
    assert_int_equal(admin_exec(sql), 1);
    PGresult *r = PQexec(pgpool_conn_pg(c[newest]), "SELECT 1");
    assert_int_not_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    PQclear(r);
    for (int i = 0; i < 4; i++)
        pgpool_release(c[i]);
    pgpool_stats st = stats_of(p);
    assert_int_equal(st.closed[PGPOOL_CLOSE_BROKEN], 1);
    assert_int_equal(closed_total(&st), 1);

    /* the newest idle one dies */
    WAIT_FOR(stats_of(p).idle == 4, 10000);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(pgpool_acquire(&c[i], p, 5000), PGPOOL_OK);
        if (pgpool_conn_id(c[i]) > pgpool_conn_id(c[newest]))
            newest = i;
    }
    int pid = PQbackendPID(pgpool_conn_pg(c[newest]));
    for (int i = 0; i < 4; i++)
        pgpool_release(c[i]);
    snprintf(sql, sizeof sql, "SELECT pg_terminate_backend(%d, 5000)::int", pid);
    assert_int_equal(admin_exec(sql), 1);
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 4; i++) {
            assert_int_equal(pgpool_acquire(&c[i], p, 5000), PGPOOL_OK);
            select_one(c[i]);
        }
        for (int i = 0; i < 4; i++)
            pgpool_release(c[i]);
    }
    st = stats_of(p);
    print_message("one kill: closed broken %llu, stale %llu, total %llu\n",
                  (unsigned long long)st.closed[PGPOOL_CLOSE_BROKEN],
                  (unsigned long long)st.closed[PGPOOL_CLOSE_STALE],
                  (unsigned long long)closed_total(&st));
    assert_int_equal(st.closed[PGPOOL_CLOSE_BROKEN], 2);
    assert_int_equal(closed_total(&st), 2);
    pgpool_free(p);
}

int main(void)
{
    if (!db_url()) {
        fprintf(stderr, "DATABASE_URL not set: skipped\n");
        return 77;
    }
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(terminate_idle_then_acquire_from_8_threads),
        cmocka_unit_test(idle_session_timeout_then_acquire_from_8_threads),
        cmocka_unit_test(one_kill_closes_exactly_one),
    };
    return cmocka_run_group_tests_name("pgpool_dead", tests, NULL, NULL);
}
