/*
 * libpgpool against the real throwaway PostgreSQL (DATABASE_URL). Tests that
 * do not stop the server: they run in parallel with other suites, so each
 * one only touches backends carrying its own application_name.
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/wait.h>

#include "pgtest.h"

/* ------------------------------------------------------------ fake clock */
static _Atomic int64_t fake_now = 1000000000;
static int64_t fake_clock(void *ud)
{
    (void)ud;
    return atomic_load(&fake_now);
}
static void advance_ms(int64_t ms)
{
    atomic_fetch_add(&fake_now, ms * 1000000);
}

/* Waits for a housekeeping pass of p's maintenance thread that ends after
 * the fake clock was last moved: what it would do at this time is done. */
static void wait_maintenance(pgpool *p)
{
    uint64_t m0 = stats_of(p).maintenance_runs;
    WAIT_FOR(stats_of(p).maintenance_runs > m0, 5000);
    assert_true(stats_of(p).maintenance_runs > m0);
}

/* ------------------------------------------------------------ capture callbacks */
typedef struct capture {
    pthread_mutex_t mu;
    int events[8];
    char text[16384];
    size_t len;
} capture;

static void on_event(const pgpool_event *ev, void *ud)
{
    capture *c = ud;
    pthread_mutex_lock(&c->mu);
    if ((int)ev->type >= 0 && ev->type < 8)
        c->events[ev->type]++;
    int n = snprintf(c->text + c->len, sizeof c->text - c->len, "E %s %s\n",
                     pgpool_event_name((int)ev->type), ev->message);
    if (n > 0 && c->len + (size_t)n < sizeof c->text)
        c->len += (size_t)n;
    pthread_mutex_unlock(&c->mu);
}

static void on_log(pgpool_log_level lvl, const char *msg, void *ud)
{
    capture *c = ud;
    pthread_mutex_lock(&c->mu);
    int n = snprintf(c->text + c->len, sizeof c->text - c->len, "L%d %s\n", (int)lvl, msg);
    if (n > 0 && c->len + (size_t)n < sizeof c->text)
        c->len += (size_t)n;
    pthread_mutex_unlock(&c->mu);
}

static int event_count(capture *c, pgpool_event_type t)
{
    pthread_mutex_lock(&c->mu);
    int n = c->events[t];
    pthread_mutex_unlock(&c->mu);
    return n;
}

static pgpool *make_pool(pgpool_options *o, const char *app)
{
    return pool_for_app(o, app, NULL);
}

/* ------------------------------------------------------------ tests */

static void acquire_query_release(void **state)
{
    (void)state;
    pgpool_options o = PGPOOL_OPTIONS_INIT;
    o.min_idle = 2;
    o.max_size = 4;
    pgpool *p = make_pool(&o, "pgpool_basic");
    pgpool_conn *c = NULL;
    assert_int_equal(pgpool_acquire(&c, p, 5000), PGPOOL_OK);
    select_one(c);
    assert_true(pgpool_conn_id(c) >= 1);
    pgpool_release(c);
    pgpool_stats st = stats_of(p);
    WAIT_FOR((st = stats_of(p)).idle >= 2 && st.connecting == 0, 5000);
    /* min_idle counts idle connections: while one was borrowed the pool may
     * have opened a third to keep two idle */
    assert_true(st.idle == 2 || st.idle == 3);
    assert_int_equal(st.total, st.idle);
    assert_int_equal(st.in_use, 0);
    assert_int_equal(st.acquires, 1);
    assert_int_equal(st.returned_idle, 1);
    assert_int_equal(st.health, PGPOOL_UP);
    char prom[16384];
    pgpool_stats_prometheus(prom, sizeof prom, &st, "basic");
    assert_non_null(strstr(prom, "pgpool_acquires_total{pool=\"basic\"} 1\n"));
    pgpool_health_info h;
    assert_int_equal(pgpool_health(&h, p), PGPOOL_OK);
    assert_int_equal(h.state, PGPOOL_UP);
    assert_string_equal(h.last_error, "");
    assert_int_equal(pgpool_close(p, 1000), PGPOOL_OK);
    assert_int_equal(pgpool_close(p, 1000), PGPOOL_OK); /* twice is fine */
    assert_int_equal(pgpool_acquire(&c, p, 100), PGPOOL_ECLOSED);
    assert_null(c);
    pgpool_free(p);
}

static void exhaustion_times_out_and_overflow_closes_on_release(void **state)
{
    (void)state;
    pgpool_options o = PGPOOL_OPTIONS_INIT;
    o.min_idle = 0;
    o.max_size = 2;
    o.max_overflow = 0;
    pgpool *p = make_pool(&o, "pgpool_exhaust");
    pgpool_conn *a, *b, *c;
    assert_int_equal(pgpool_acquire(&a, p, 5000), PGPOOL_OK);
    assert_int_equal(pgpool_acquire(&b, p, 5000), PGPOOL_OK);
    int64_t t0 = mono_ms();
    assert_int_equal(pgpool_acquire(&c, p, 200), PGPOOL_ETIMEDOUT);
    int64_t took = mono_ms() - t0;
    assert_true(took >= 200 && took < 200 + LATE_MS);
    assert_null(c);
    assert_int_equal(stats_of(p).timeouts, 1);
    pgpool_release(a);
    pgpool_release(b);
    pgpool_free(p);

    o.max_overflow = 1;
    p = make_pool(&o, "pgpool_overflow");
    assert_int_equal(pgpool_acquire(&a, p, 5000), PGPOOL_OK);
    assert_int_equal(pgpool_acquire(&b, p, 5000), PGPOOL_OK);
    assert_int_equal(pgpool_acquire(&c, p, 2000), PGPOOL_OK);
    select_one(c);
    assert_int_equal(stats_of(p).overflow_acquires, 1);
    pgpool_release(c);
    pgpool_stats st = stats_of(p);
    assert_int_equal(st.closed[PGPOOL_CLOSE_OVERFLOW], 1);
    assert_int_equal(st.total, 2);
    pgpool_release(a);
    pgpool_release(b);
    assert_int_equal(stats_of(p).idle, 2);
    pgpool_free(p);
}

static void release_mid_transaction_leaves_no_lock(void **state)
{
    (void)state;
    admin_exec("CREATE TABLE IF NOT EXISTS pgpool_locktest (id int primary key, v int)");
    admin_exec("INSERT INTO pgpool_locktest VALUES (1, 0) ON CONFLICT DO NOTHING");
    pgpool_options o = PGPOOL_OPTIONS_INIT;
    o.max_size = 1;
    pgpool *p = make_pool(&o, "pgpool_txn");
    pgpool_conn *c;
    assert_int_equal(pgpool_acquire(&c, p, 5000), PGPOOL_OK);
    PGconn *pg = pgpool_conn_pg(c);
    PQclear(PQexec(pg, "BEGIN"));
    PGresult *r = PQexec(pg, "SELECT v FROM pgpool_locktest WHERE id = 1 FOR UPDATE");
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    PQclear(r);
    assert_int_equal(PQtransactionStatus(pg), PQTRANS_INTRANS);
    pgpool_release(c);
    assert_int_equal(pgpool_acquire(&c, p, 5000), PGPOOL_OK);
    assert_int_equal(PQtransactionStatus(pgpool_conn_pg(c)), PQTRANS_IDLE);
    /* a failed transaction is rolled back too */
    PQclear(PQexec(pgpool_conn_pg(c), "BEGIN"));
    PQclear(PQexec(pgpool_conn_pg(c), "SELECT 1/0"));
    assert_int_equal(PQtransactionStatus(pgpool_conn_pg(c)), PQTRANS_INERROR);
    pgpool_release(c);
    assert_int_equal(admin_exec("SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a "
                                "ON a.pid = l.pid WHERE a.application_name = 'pgpool_txn' "
                                "AND l.locktype <> 'virtualxid'"),
                     0);
    /* the row can be locked by someone else at once */
    assert_int_equal(admin_exec("SELECT count(*) FROM (SELECT 1 FROM pgpool_locktest WHERE id = 1 "
                                "FOR UPDATE NOWAIT) s"),
                     1);
    pgpool_stats st = stats_of(p);
    assert_int_equal(st.returned_in_txn, 1);
    assert_int_equal(st.returned_failed, 1);
    assert_int_equal(st.rollbacks, 2);
    assert_int_equal(st.created, 1); /* reused, not reopened */
    pgpool_free(p);
}

static void busy_connection_is_discarded(void **state)
{
    (void)state;
    pgpool_options o = PGPOOL_OPTIONS_INIT;
    o.max_size = 1;
    pgpool *p = make_pool(&o, "pgpool_busy");
    pgpool_conn *c;
    assert_int_equal(pgpool_acquire(&c, p, 5000), PGPOOL_OK);
    assert_int_equal(PQsendQuery(pgpool_conn_pg(c), "SELECT pg_sleep(0.05)"), 1);
    pgpool_release(c); /* results unread */
    assert_int_equal(stats_of(p).closed[PGPOOL_CLOSE_BUSY], 1);
    assert_int_equal(pgpool_acquire(&c, p, 5000), PGPOOL_OK);
    select_one(c);
    pgpool_discard(c);
    assert_int_equal(stats_of(p).closed[PGPOOL_CLOSE_DISCARDED], 1);
    pgpool_free(p);
}

static void terminate_idle_and_busy_backends(void **state)
{
    (void)state;
    pgpool_options o = PGPOOL_OPTIONS_INIT;
    o.min_idle = 3;
    o.max_size = 4;
    o.health_check_period_ms = 20;
    o.validate_after_idle_ms = -1; /* detection must come from the idle socket watch */
    pgpool *p = make_pool(&o, "pgpool_term");
    pgpool_stats st;
    WAIT_FOR((st = stats_of(p)).idle == 3, 5000);
    assert_int_equal(st.idle, 3);
    assert_int_equal(admin_exec("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                "WHERE application_name = 'pgpool_term'"),
                     3);
    WAIT_FOR(stats_of(p).closed[PGPOOL_CLOSE_BROKEN] + stats_of(p).closed[PGPOOL_CLOSE_STALE] >= 3,
             5000);
    st = stats_of(p);
    assert_true(st.closed[PGPOOL_CLOSE_BROKEN] + st.closed[PGPOOL_CLOSE_STALE] >= 3);
    for (int i = 0; i < 5; i++) {
        pgpool_conn *c;
        assert_int_equal(pgpool_acquire(&c, p, 5000), PGPOOL_OK);
        select_one(c);
        pgpool_release(c);
    }
    /* one busy backend */
    pgpool_conn *c;
    assert_int_equal(pgpool_acquire(&c, p, 5000), PGPOOL_OK);
    int pid = PQbackendPID(pgpool_conn_pg(c));
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT pg_terminate_backend(%d)::int", pid);
    assert_int_equal(admin_exec(sql), 1);
    sleep_ms(50);
    PGresult *r = PQexec(pgpool_conn_pg(c), "SELECT 1");
    assert_int_not_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    PQclear(r);
    uint64_t broken = stats_of(p).closed[PGPOOL_CLOSE_BROKEN];
    pgpool_release(c);
    assert_int_equal(stats_of(p).closed[PGPOOL_CLOSE_BROKEN], broken + 1);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(pgpool_acquire(&c, p, 5000), PGPOOL_OK);
        select_one(c);
        pgpool_release(c);
    }
    pgpool_free(p);
}

static void *wait_for_acquire(void *arg)
{
    pgpool *p = arg;
    pgpool_conn *c = NULL;
    int64_t t0 = mono_ms();
    int rc = pgpool_acquire(&c, p, 10000);
    int64_t took = mono_ms() - t0;
    return (void *)(intptr_t)(rc == PGPOOL_ECLOSED && took < 200 + LATE_MS ? 1 : 0);
}

static void close_with_a_connection_out_and_a_waiter(void **state)
{
    (void)state;
    pgpool_options o = PGPOOL_OPTIONS_INIT;
    o.max_size = 1;
    pgpool *p = make_pool(&o, "pgpool_close");
    pgpool_conn *c;
    assert_int_equal(pgpool_acquire(&c, p, 5000), PGPOOL_OK);
    pthread_t t;
    pthread_create(&t, NULL, wait_for_acquire, p);
    WAIT_FOR(stats_of(p).waiters == 1, 2000);
    assert_int_equal(stats_of(p).waiters, 1);
    int64_t t0 = mono_ms();
    assert_int_equal(pgpool_close(p, 200), PGPOOL_ETIMEDOUT);
    int64_t took = mono_ms() - t0;
    assert_true(took >= 190 && took < 200 + LATE_MS);
    void *ok;
    pthread_join(t, &ok);
    assert_int_equal((intptr_t)ok, 1);
    /* the socket was shut down at the deadline: queries fail, nothing crashes */
    PGresult *r = PQexec(pgpool_conn_pg(c), "SELECT 1");
    assert_int_not_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    PQclear(r);
    pgpool_free(p);    /* still borrowed: freed by the release */
    pgpool_release(c); /* closes it and frees the pool */
}

static void leak_is_reported_once(void **state)
{
    (void)state;
    capture cap;
    memset(&cap, 0, sizeof cap);
    pthread_mutex_init(&cap.mu, NULL);
    pgpool_options o = PGPOOL_OPTIONS_INIT;
    o.clock = fake_clock;
    o.leak_threshold_ms = 1000;
    o.health_check_period_ms = 10;
    o.on_event = on_event;
    o.event_userdata = &cap;
    pgpool *p = make_pool(&o, "pgpool_leak");
    pgpool_conn *c;
    assert_int_equal(pgpool_acquire(&c, p, 5000), PGPOOL_OK);
    advance_ms(500);
    wait_maintenance(p);
    assert_int_equal(stats_of(p).leaks, 0);
    advance_ms(600);
    WAIT_FOR(event_count(&cap, PGPOOL_EVENT_LEAK) == 1, 3000);
    assert_int_equal(event_count(&cap, PGPOOL_EVENT_LEAK), 1);
    advance_ms(5000);
    wait_maintenance(p);
    assert_int_equal(stats_of(p).leaks, 1); /* once per checkout */
    pgpool_release(c);
    char advice[2048];
    pgpool_stats st = stats_of(p);
    pgpool_advice(advice, sizeof advice, &st);
    assert_non_null(strstr(advice, "find the holder: 1 checkout(s)"));
    pgpool_free(p);
    pthread_mutex_destroy(&cap.mu);
}

/* Each stats version fills its own fields and leaves a shorter caller's
 * struct alone past its end; version 3 counts housekeeping passes. */
static void stats_versions_fill_their_fields(void **state)
{
    (void)state;
    pgpool_options o = PGPOOL_OPTIONS_INIT;
    o.clock = fake_clock;
    o.health_check_period_ms = 10;
    pgpool *p = make_pool(&o, "pgpool_statsver");
    pgpool_conn *c;
    assert_int_equal(pgpool_acquire(&c, p, 5000), PGPOOL_OK);
    pgpool_release(c);
    pgpool_stats st = stats_of(p);
    assert_int_equal(st.version, PGPOOL_STATS_VERSION);
    uint64_t runs = st.maintenance_runs;
    advance_ms(100);
    wait_maintenance(p);
    assert_true(stats_of(p).maintenance_runs > runs);
    uint64_t untouched;
    memset(&untouched, 0xab, sizeof untouched);
    memset(&st, 0xab, sizeof st);
    st.version = 2;
    assert_int_equal(pgpool_stats_get(&st, p), PGPOOL_OK);
    assert_int_equal(st.version, 2);
    assert_int_equal(st.acquires, 1);
    assert_true(st.validation_timeouts != untouched);
    assert_true(st.maintenance_runs == untouched);
    memset(&st, 0xab, sizeof st);
    st.version = 1;
    assert_int_equal(pgpool_stats_get(&st, p), PGPOOL_OK);
    assert_int_equal(st.version, 1);
    assert_int_equal(st.acquires, 1);
    assert_true(st.warmup_waits == untouched);
    assert_true(st.maintenance_runs == untouched);
    pgpool_free(p);
}

static void lifetime_with_jitter_retires_and_refills(void **state)
{
    (void)state;
    pgpool_options o = PGPOOL_OPTIONS_INIT;
    o.clock = fake_clock;
    o.min_idle = 3;
    o.max_size = 4;
    o.max_lifetime_ms = 10000;
    o.max_lifetime_jitter_ms = 2000;
    o.health_check_period_ms = 10;
    o.validate_after_idle_ms = -1;
    pgpool *p = make_pool(&o, "pgpool_life");
    pgpool_stats st;
    WAIT_FOR((st = stats_of(p)).idle == 3, 15000);
    assert_int_equal(st.created, 3);
    /* in use across its lifetime: retired on release, not under its user */
    pgpool_conn *c;
    assert_int_equal(pgpool_acquire(&c, p, 5000), PGPOOL_OK);
    advance_ms(7900); /* before any lifetime (>= 8000) */
    wait_maintenance(p);
    assert_int_equal(stats_of(p).closed[PGPOOL_CLOSE_LIFETIME], 0);
    advance_ms(2200); /* past every lifetime (<= 10000) */
    WAIT_FOR(stats_of(p).closed[PGPOOL_CLOSE_LIFETIME] >= 2, 15000);
    select_one(c); /* still usable */
    pgpool_release(c);
    WAIT_FOR(stats_of(p).closed[PGPOOL_CLOSE_LIFETIME] >= 3 && stats_of(p).idle >= 3, 15000);
    st = stats_of(p);
    /* the borrowed one was retired on release, the others by the
     * maintenance thread; min_idle is back */
    assert_true(st.closed[PGPOOL_CLOSE_LIFETIME] >= 3);
    assert_true(st.idle >= 3);
    assert_true(st.created >= 6);
    pgpool_free(p);
}

static void idle_shrinks_to_min_idle_and_refills(void **state)
{
    (void)state;
    pgpool_options o = PGPOOL_OPTIONS_INIT;
    o.clock = fake_clock;
    o.min_idle = 1;
    o.max_size = 4;
    o.idle_timeout_ms = 60000;
    o.health_check_period_ms = 10;
    o.validate_after_idle_ms = -1;
    pgpool *p = make_pool(&o, "pgpool_idle");
    pgpool_conn *c[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pgpool_acquire(&c[i], p, 5000), PGPOOL_OK);
    for (int i = 0; i < 4; i++)
        pgpool_release(c[i]);
    pgpool_stats st;
    WAIT_FOR((st = stats_of(p)).idle == 4, 3000);
    assert_int_equal(st.idle, 4);
    advance_ms(30000);
    wait_maintenance(p);
    assert_int_equal(stats_of(p).idle, 4);
    advance_ms(31000);
    WAIT_FOR((st = stats_of(p)).idle == 1, 3000);
    assert_int_equal(st.idle, 1);
    assert_int_equal(st.closed[PGPOOL_CLOSE_IDLE], 3);
    /* the last one is taken: the pool refills min_idle on its own */
    assert_int_equal(pgpool_acquire(&c[0], p, 5000), PGPOOL_OK);
    WAIT_FOR((st = stats_of(p)).idle == 1, 3000);
    assert_int_equal(st.idle, 1);
    assert_int_equal(st.in_use, 1);
    pgpool_release(c[0]);
    pgpool_free(p);
}

static void fairness_sixteen_threads_on_two(void **state)
{
    (void)state;
    pgpool_options o = PGPOOL_OPTIONS_INIT;
    o.min_idle = 2;
    o.max_size = 2;
    pgpool *p = make_pool(&o, "pgpool_fair");
    WAIT_FOR(stats_of(p).idle == 2, 5000);
    enum { N = 16 };
    pthread_t t[N];
    fair_arg a[N];
    int64_t end = mono_ms() + 2000;
    for (int i = 0; i < N; i++) {
        a[i] = (fair_arg){ p, 5000, 5, end, 0, 0, 0 };
        pthread_create(&t[i], NULL, fair_worker, &a[i]);
    }
    int total = 0, lo = 1 << 30, hi = 0;
    int64_t max_wait = 0;
    for (int i = 0; i < N; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(a[i].timeouts, 0);
        total += a[i].count;
        lo = a[i].count < lo ? a[i].count : lo;
        hi = a[i].count > hi ? a[i].count : hi;
        max_wait = a[i].max_wait_ms > max_wait ? a[i].max_wait_ms : max_wait;
    }
    print_message("fairness: %d checkouts, per thread %d..%d, max wait %lld ms\n", total, lo, hi,
                  (long long)max_wait);
    /* FIFO: every thread gets its turn; one round of 16 on 2 takes ~40 ms */
    /* under valgrind threads run one at a time: only the counts hold */
    const char *pre = getenv("LD_PRELOAD");
    bool valgrind = pre && strstr(pre, "valgrind");
    assert_true(lo >= (total / N) * 6 / 10);
    if (!valgrind)
        assert_true(max_wait < 400);
    assert_int_equal(stats_of(p).timeouts, 0);
    pgpool_free(p);
}

static void too_many_connections_for_role(void **state)
{
    (void)state;
    admin_exec("DO $$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'pgpool_lim') "
               "THEN CREATE ROLE pgpool_lim LOGIN CONNECTION LIMIT 2; END IF; END$$");
    pgpool_options o = PGPOOL_OPTIONS_INIT;
    o.min_idle = 0;
    o.max_size = 4;
    char url[512];
    const char *u = db_url();
    const char *at = strchr(u, '@');
    snprintf(url, sizeof url, "postgresql://pgpool_lim%s%sapplication_name=pgpool_lim", at,
             strchr(u, '?') ? "&" : "?");
    o.conninfo = url;
    pgpool *p;
    assert_int_equal(pgpool_new(&p, &o), PGPOOL_OK);
    pgpool_conn *a, *b, *c;
    assert_int_equal(pgpool_acquire(&a, p, 5000), PGPOOL_OK);
    assert_int_equal(pgpool_acquire(&b, p, 5000), PGPOOL_OK);
    int64_t t0 = mono_ms();
    assert_int_equal(pgpool_acquire(&c, p, 500), PGPOOL_ECONNECT);
    assert_true(mono_ms() - t0 < 500 + LATE_MS);
    char err[256];
    pgpool_last_error(p, err, sizeof err);
    assert_non_null(strstr(err, "too many connections"));
    pgpool_health_info h;
    assert_int_equal(pgpool_health(&h, p), PGPOOL_OK);
    assert_int_equal(h.state, PGPOOL_DEGRADED); /* still serving a and b */
    select_one(a);
    pgpool_release(b);
    assert_int_equal(pgpool_acquire(&c, p, 2000), PGPOOL_OK);
    select_one(c);
    pgpool_release(a);
    pgpool_release(c);
    pgpool_free(p);
}

static void static_mode_shares_one_connection(void **state)
{
    (void)state;
    pgpool_options o = PGPOOL_OPTIONS_INIT;
    o.static_mode = 1;
    pgpool *p = make_pool(&o, "pgpool_static");
    pgpool_conn *a, *b;
    assert_int_equal(pgpool_acquire(&a, p, 5000), PGPOOL_OK);
    assert_int_equal(pgpool_acquire(&b, p, 5000), PGPOOL_OK);
    assert_ptr_equal(a, b);
    select_one(b);
    pgpool_release(b);
    select_one(a);
    pgpool_release(a);
    pgpool_stats st = stats_of(p);
    assert_int_equal(st.created, 1);
    assert_int_equal(st.max_size, 1);
    assert_int_equal(st.idle, 1);
    pgpool_free(p);
}

static void passwords_never_reach_logs_or_events(void **state)
{
    (void)state;
    capture cap;
    memset(&cap, 0, sizeof cap);
    pthread_mutex_init(&cap.mu, NULL);
    pgpool_options o = PGPOOL_OPTIONS_INIT;
    o.on_event = on_event;
    o.event_userdata = &cap;
    o.log = on_log;
    o.log_userdata = &cap;
    o.log_level = PGPOOL_LOG_TRACE;
    o.backoff_initial_ms = 10;
    /* nothing listens on port 1: every connect fails with a message */
    o.conninfo = "host=127.0.0.1 port=1 user=u password=Sup3rSecretPw dbname=x";
    pgpool *p;
    assert_int_equal(pgpool_new(&p, &o), PGPOOL_OK);
    pgpool_conn *c;
    int64_t t0 = mono_ms();
    assert_int_equal(pgpool_acquire(&c, p, 300), PGPOOL_ECONNECT);
    assert_true(mono_ms() - t0 < 300 + LATE_MS);
    char err[256];
    assert_true(pgpool_last_error(p, err, sizeof err) > 0);
    assert_null(strstr(err, "Sup3rSecretPw"));
    pgpool_health_info h;
    assert_int_equal(pgpool_health(&h, p), PGPOOL_OK);
    assert_int_equal(h.state, PGPOOL_DOWN);
    assert_true(h.consecutive_failures >= 1);
    pgpool_free(p);
    assert_true(cap.len > 0);
    assert_null(strstr(cap.text, "Sup3rSecretPw"));
    assert_non_null(strstr(cap.text, "password=**********"));
    assert_non_null(strstr(cap.text, "E connect_failed"));
    assert_non_null(strstr(cap.text, "E state"));

    /* a working pool traces every acquire and release */
    memset(cap.text, 0, sizeof cap.text);
    cap.len = 0;
    pgpool_options o2 = PGPOOL_OPTIONS_INIT;
    o2.log = on_log;
    o2.log_userdata = &cap;
    o2.log_level = PGPOOL_LOG_TRACE;
    p = make_pool(&o2, "pgpool_trace");
    assert_int_equal(pgpool_acquire(&c, p, 5000), PGPOOL_OK);
    pgpool_release(c);
    pgpool_free(p);
    assert_non_null(strstr(cap.text, "L0 acquire: connection"));
    assert_non_null(strstr(cap.text, "L0 release: connection"));
    pthread_mutex_destroy(&cap.mu);
}

static void fail_fast_answers_at_once(void **state)
{
    (void)state;
    pgpool_options o = PGPOOL_OPTIONS_INIT;
    o.fail_fast = 1;
    o.backoff_initial_ms = 1000;
    o.conninfo = "host=127.0.0.1 port=1 dbname=x";
    pgpool *p;
    assert_int_equal(pgpool_new(&p, &o), PGPOOL_OK);
    pgpool_health_info h;
    WAIT_FOR(pgpool_health(&h, p) == PGPOOL_OK && h.consecutive_failures > 0, 3000);
    pgpool_conn *c;
    int64_t t0 = mono_ms();
    assert_int_equal(pgpool_acquire(&c, p, 10000), PGPOOL_ECONNECT);
    assert_true(mono_ms() - t0 < LATE_MS); /* not the 10 s timeout */
    pgpool_free(p);
}

static int slow_hook_calls;
static int on_connect_set(PGconn *pg, void *ud)
{
    (void)ud;
    slow_hook_calls++;
    PGresult *r = PQexec(pg, "SET application_name = 'pgpool_hooked'");
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    return ok ? 0 : -1;
}

static void on_connect_hook_and_reset_policy(void **state)
{
    (void)state;
    pgpool_options o = PGPOOL_OPTIONS_INIT;
    o.max_size = 1;
    o.on_connect = on_connect_set;
    o.reset = PGPOOL_RESET_ALWAYS;
    pgpool *p = make_pool(&o, "pgpool_hook");
    pgpool_conn *c;
    assert_int_equal(pgpool_acquire(&c, p, 5000), PGPOOL_OK);
    PGresult *r = PQexec(pgpool_conn_pg(c), "SHOW application_name");
    assert_string_equal(PQgetvalue(r, 0, 0), "pgpool_hooked");
    PQclear(r);
    PQclear(PQexec(pgpool_conn_pg(c), "SET work_mem = '7MB'"));
    pgpool_release(c); /* DISCARD ALL, then the hook again */
    assert_int_equal(pgpool_acquire(&c, p, 5000), PGPOOL_OK);
    r = PQexec(pgpool_conn_pg(c), "SHOW work_mem");
    assert_string_not_equal(PQgetvalue(r, 0, 0), "7MB");
    PQclear(r);
    r = PQexec(pgpool_conn_pg(c), "SHOW application_name");
    assert_string_equal(PQgetvalue(r, 0, 0), "pgpool_hooked");
    PQclear(r);
    pgpool_release(c);
    assert_int_equal(stats_of(p).resets, 2);
    assert_int_equal(slow_hook_calls, 3);
    pgpool_free(p);
}

static void fork_child_forgets_without_killing_parent_sessions(void **state)
{
    (void)state;
    pgpool_options o = PGPOOL_OPTIONS_INIT;
    o.min_idle = 2;
    o.max_size = 2;
    o.validate_after_idle_ms = 0; /* prove the sessions by a round trip */
    pgpool *p = make_pool(&o, "pgpool_fork");
    WAIT_FOR(stats_of(p).idle == 2, 5000);
    pid_t pid = fork();
    if (pid == 0) {
        pgpool_forget_after_fork(p);
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    /* the code is not checked: a leak checker may fail the child for the
     * parent's memory that it inherited */
    assert_true(WIFEXITED(status));
    sleep_ms(50);
    pgpool_conn *a, *b;
    assert_int_equal(pgpool_acquire(&a, p, 5000), PGPOOL_OK);
    assert_int_equal(pgpool_acquire(&b, p, 5000), PGPOOL_OK);
    select_one(a);
    select_one(b);
    pgpool_release(a);
    pgpool_release(b);
    pgpool_stats st = stats_of(p);
    assert_int_equal(st.created, 2);
    assert_int_equal(st.closed[PGPOOL_CLOSE_BROKEN] + st.closed[PGPOOL_CLOSE_VALIDATION], 0);
    pgpool_free(p);
}

/* ------------------------------------------------------------ FIFO handoff */

enum { FIFO_N = 8 };
static atomic_int fifo_seq;

typedef struct fifo_arg {
    pgpool *p;
    int first, second; /* the order of this thread's two acquires among all */
} fifo_arg;

/* Acquire (queued behind the others), release at once and acquire again:
 * the second acquire must queue behind every thread that was waiting. */
static void *fifo_worker(void *v)
{
    fifo_arg *a = v;
    pgpool_conn *c;
    assert_int_equal(pgpool_acquire(&c, a->p, 10000), PGPOOL_OK);
    a->first = atomic_fetch_add(&fifo_seq, 1);
    pgpool_release(c);
    assert_int_equal(pgpool_acquire(&c, a->p, 10000), PGPOOL_OK);
    a->second = atomic_fetch_add(&fifo_seq, 1);
    pgpool_release(c);
    return NULL;
}

static void released_connection_goes_to_waiters_in_arrival_order(void **state)
{
    (void)state;
    pgpool_options o = PGPOOL_OPTIONS_INIT;
    o.min_idle = 1;
    o.max_size = 1;
    pgpool *p = make_pool(&o, "pgpool_fifo");
    pgpool_conn *held;
    assert_int_equal(pgpool_acquire(&held, p, 5000), PGPOOL_OK);
    pthread_t t[FIFO_N];
    fifo_arg a[FIFO_N];
    for (int i = 0; i < FIFO_N; i++) { /* thread i is the (i+1)th in the queue */
        a[i] = (fifo_arg){ p, -1, -1 };
        assert_int_equal(pthread_create(&t[i], NULL, fifo_worker, &a[i]), 0);
        WAIT_FOR(stats_of(p).waiters == (uint32_t)i + 1, 10000);
        assert_int_equal(stats_of(p).waiters, i + 1);
    }
    pgpool_release(held);
    for (int i = 0; i < FIFO_N; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < FIFO_N; i++) {
        assert_int_equal(a[i].first, i);    /* served in arrival order */
        assert_true(a[i].second >= FIFO_N); /* a releaser never jumps the queue */
    }
    pgpool_stats st = stats_of(p);
    assert_int_equal(st.acquires, 1 + 2 * FIFO_N);
    assert_int_equal(st.timeouts, 0);
    pgpool_free(p);
}

/* ------------------------------------------------------------ alive_bypass_ms */

/* A pool of two idle connections on the fake clock, with no validation:
 * only the socket check at acquire (or a failed query) finds a dead one. */
static pgpool *bypass_pool(int64_t bypass_ms, const char *app)
{
    pgpool_options o = PGPOOL_OPTIONS_INIT;
    o.min_idle = 2;
    o.max_size = 2;
    o.validate_after_idle_ms = -1;
    o.alive_bypass_ms = bypass_ms;
    o.clock = fake_clock;
    pgpool *p = make_pool(&o, app);
    WAIT_FOR(stats_of(p).idle == 2, 10000);
    assert_int_equal(stats_of(p).idle, 2);
    return p;
}

/* Acquire, release and terminate the backend of the connection that the
 * next acquire gets (LIFO: the one just returned). Returns its id. */
static uint64_t kill_next(pgpool *p)
{
    pgpool_conn *c;
    assert_int_equal(pgpool_acquire(&c, p, 5000), PGPOOL_OK);
    uint64_t id = pgpool_conn_id(c);
    int pid = PQbackendPID(pgpool_conn_pg(c));
    pgpool_release(c);
    char sql[96];
    snprintf(sql, sizeof sql, "SELECT pg_terminate_backend(%d, 5000)::int", pid);
    assert_int_equal(admin_exec(sql), 1);
    return id;
}

/* The next acquire gets a working connection, not the dead one. */
static void acquire_alive_other_than(pgpool *p, uint64_t dead)
{
    pgpool_conn *c;
    assert_int_equal(pgpool_acquire(&c, p, 5000), PGPOOL_OK);
    assert_true(pgpool_conn_id(c) != dead);
    select_one(c);
    pgpool_release(c);
}

static void alive_bypass_zero_checks_every_acquire(void **state)
{
    (void)state;
    pgpool *p = bypass_pool(0, "pgpool_bypass0");
    uint64_t dead = kill_next(p); /* the clock has not moved: returned 0 ms ago */
    acquire_alive_other_than(p, dead);
    assert_int_equal(stats_of(p).closed[PGPOOL_CLOSE_BROKEN], 1);
    pgpool_free(p);
}

static void alive_bypass_window_skips_the_check_and_release_catches_it(void **state)
{
    (void)state;
    pgpool *p = bypass_pool(50, "pgpool_bypass50");
    /* within the window: the dead connection is handed out, its query
     * fails, and the release closes it as broken */
    uint64_t dead = kill_next(p);
    pgpool_conn *c;
    assert_int_equal(pgpool_acquire(&c, p, 5000), PGPOOL_OK);
    assert_int_equal(pgpool_conn_id(c), dead);
    PGresult *r = PQexec(pgpool_conn_pg(c), "SELECT 1");
    assert_int_not_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    PQclear(r);
    pgpool_release(c);
    assert_int_equal(stats_of(p).closed[PGPOOL_CLOSE_BROKEN], 1);
    acquire_alive_other_than(p, dead);
    /* past the window: the check at acquire finds it, nobody sees it */
    WAIT_FOR(stats_of(p).idle == 2, 10000);
    dead = kill_next(p);
    advance_ms(50);
    acquire_alive_other_than(p, dead);
    assert_int_equal(stats_of(p).closed[PGPOOL_CLOSE_BROKEN], 2);
    pgpool_free(p);
}

int main(void)
{
    if (!db_url()) {
        fprintf(stderr, "DATABASE_URL is not set: skipped\n");
        return 77;
    }
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(acquire_query_release),
        cmocka_unit_test(exhaustion_times_out_and_overflow_closes_on_release),
        cmocka_unit_test(release_mid_transaction_leaves_no_lock),
        cmocka_unit_test(busy_connection_is_discarded),
        cmocka_unit_test(terminate_idle_and_busy_backends),
        cmocka_unit_test(close_with_a_connection_out_and_a_waiter),
        cmocka_unit_test(leak_is_reported_once),
        cmocka_unit_test(stats_versions_fill_their_fields),
        cmocka_unit_test(lifetime_with_jitter_retires_and_refills),
        cmocka_unit_test(idle_shrinks_to_min_idle_and_refills),
        cmocka_unit_test(fairness_sixteen_threads_on_two),
        cmocka_unit_test(too_many_connections_for_role),
        cmocka_unit_test(static_mode_shares_one_connection),
        cmocka_unit_test(passwords_never_reach_logs_or_events),
        cmocka_unit_test(fail_fast_answers_at_once),
        cmocka_unit_test(on_connect_hook_and_reset_policy),
        cmocka_unit_test(fork_child_forgets_without_killing_parent_sessions),
        cmocka_unit_test(released_connection_goes_to_waiters_in_arrival_order),
        cmocka_unit_test(alive_bypass_zero_checks_every_acquire),
        cmocka_unit_test(alive_bypass_window_skips_the_check_and_release_catches_it),
    };
    return cmocka_run_group_tests_name("pgpool_pg", tests, NULL, NULL);
}
