/*
 * Each failure says what the caller waited for: ETIMEDOUT only when every
 * connection was in use, ECONNECT for connects that failed or still hang
 * (a refused port, a listener that never answers, a server error with its
 * SQLSTATE), EINVAL with libpq's parse message for a malformed connection
 * string; messages are one line without LOCATION:. Also the ping,
 * pgpool_invalidate(), pgpool_wait_ready() and the new metrics. Only
 * backends with this file's application_names are touched.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/socket.h>

#include "pgtest.h"

static pgpool *make_pool(pgpool_options *o, const char *conninfo)
{
    o->conninfo = conninfo;
    pgpool *p = NULL;
    pgpool_error_info info = PGPOOL_ERROR_INFO_INIT;
    assert_int_equal(pgpool_new_ex(&p, &info, o), PGPOOL_OK);
    assert_int_equal(info.code, PGPOOL_OK);
    assert_int_equal(info.cause, PGPOOL_CAUSE_NONE);
    return p;
}

static void assert_one_line(const char *msg)
{
    assert_true(msg[0] != '\0');
    assert_null(strchr(msg, '\n'));
    assert_null(strstr(msg, "LOCATION:"));
}

/* A loopback TCP socket bound to a free port; listening or not. */
static int loopback_socket(int *port, bool listening)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t len = sizeof a;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    *port = ntohs(a.sin_port);
    if (listening)
        assert_int_equal(listen(fd, 16), 0);
    return fd;
}

static void exhausted_pool_is_etimedout(void **state)
{
    (void)state;
    char url[512];
    url_with_app(url, sizeof url, "pgpool_err_exhausted");
    pgpool_options o = PGPOOL_OPTIONS_INIT;
    o.min_idle = 1;
    o.max_size = 1;
    pgpool *p = make_pool(&o, url);
    pgpool_conn *a;
    assert_int_equal(pgpool_acquire(&a, p, 5000), PGPOOL_OK);
    pgpool_conn *b = NULL;
    pgpool_error_info info = PGPOOL_ERROR_INFO_INIT;
    int64_t t0 = mono_ms();
    assert_int_equal(pgpool_acquire_ex(&b, &info, p, 200), PGPOOL_ETIMEDOUT);
    int64_t took = mono_ms() - t0;
    assert_null(b);
    assert_true(took >= 200 && took < 200 + LATE_MS);
    assert_int_equal(info.code, PGPOOL_ETIMEDOUT);
    assert_int_equal(info.cause, PGPOOL_CAUSE_EXHAUSTED);
    assert_string_equal(info.sqlstate, "");
    assert_one_line(info.message);
    assert_non_null(strstr(info.message, "in use"));
    pgpool_release(a);
    /* success clears the detail */
    assert_int_equal(pgpool_acquire_ex(&b, &info, p, 1000), PGPOOL_OK);
    assert_int_equal(info.cause, PGPOOL_CAUSE_NONE);
    assert_string_equal(info.message, "");
    pgpool_release(b);
    pgpool_free(p);
}

static void refused_connect_is_econnect(void **state)
{
    (void)state;
    int port;
    int fd = loopback_socket(&port, false); /* bound, not listening: refused */
    char ci[256];
    snprintf(ci, sizeof ci, "host=127.0.0.1 port=%d user=u password=hunter2 connect_timeout=5",
             port);
    pgpool_options o = PGPOOL_OPTIONS_INIT;
    o.min_idle = 0;
    o.max_size = 2;
    pgpool *p = make_pool(&o, ci);
    pgpool_conn *c = NULL;
    pgpool_error_info info = PGPOOL_ERROR_INFO_INIT;
    int64_t t0 = mono_ms();
    assert_int_equal(pgpool_acquire_ex(&c, &info, p, 500), PGPOOL_ECONNECT);
    assert_true(mono_ms() - t0 < 500 + LATE_MS);
    assert_int_equal(info.cause, PGPOOL_CAUSE_CONNECT_FAILED);
    assert_one_line(info.message);
    print_message("refused: %s\n", info.message);
    assert_non_null(strstr(info.message, "refused"));
    assert_null(strstr(info.message, "hunter2"));
    pgpool_free(p);
    close(fd);
}

static void hanging_connect_is_econnect(void **state)
{
    (void)state;
    int port;
    int fd = loopback_socket(&port, true); /* accepts in the kernel, never answers */
    char ci[256];
    snprintf(ci, sizeof ci, "host=127.0.0.1 port=%d user=u", port);
    pgpool_options o = PGPOOL_OPTIONS_INIT;
    o.min_idle = 0;
    o.max_size = 2;
    pgpool *p = make_pool(&o, ci);
    int rc = PGPOOL_OK;
    for (int t = 0; t < 3; t++) {
        const int timeouts[] = { 0, 300, 700 };
        pgpool_conn *c = NULL;
        pgpool_error_info info = PGPOOL_ERROR_INFO_INIT;
        int64_t t0 = mono_ms();
        rc = pgpool_acquire_ex(&c, &info, p, timeouts[t]);
        int64_t took = mono_ms() - t0;
        print_message("hanging connect: acquire(%d) after %lld ms: %s\n", timeouts[t],
                      (long long)took, info.message);
        assert_int_equal(rc, PGPOOL_ECONNECT);
        assert_int_equal(info.cause, PGPOOL_CAUSE_CONNECTING);
        assert_true(took < timeouts[t] + LATE_MS);
        assert_one_line(info.message);
    }
    assert_int_equal(pgpool_wait_ready(p, 100), PGPOOL_OK); /* min_idle 0: ready at once */
    pgpool_stats st = stats_of(p);
    assert_int_equal(st.timeouts, 0);
    assert_int_equal(st.connect_errors, 3);
    pgpool_free(p);
    close(fd);
}

/* A server that accepts the TCP connection and never answers: the pool's
 * own connect_timeout_ms ends the attempt (libpq would wait for ever), the
 * waiter gets ECONNECT with the reason, and the attempt counts as failed. */
static void connect_timeout_ends_a_connect_that_never_answers(void **state)
{
    (void)state;
    int port;
    int fd = loopback_socket(&port, true); /* accepts in the kernel, never answers */
    char ci[256];
    snprintf(ci, sizeof ci, "host=127.0.0.1 port=%d user=u", port);
    pgpool_options o = PGPOOL_OPTIONS_INIT;
    o.min_idle = 1; /* the maintenance thread connects at once */
    o.max_size = 1;
    o.connect_timeout_ms = 300;
    o.backoff_initial_ms = 10000; /* one attempt in this test's time */
    o.backoff_max_ms = 10000;
    int64_t t0 = mono_ms();
    pgpool *p = make_pool(&o, ci);
    WAIT_FOR(stats_of(p).connect_failures == 1, 10000);
    int64_t took = mono_ms() - t0;
    print_message("never answers: the connect failed after %lld ms\n", (long long)took);
    assert_int_equal(stats_of(p).connect_failures, 1);
    assert_true(took >= 300 && took < 300 + LATE_MS);
    /* a waiter meanwhile learns why, once its own time is up */
    pgpool_conn *c = NULL;
    pgpool_error_info info = PGPOOL_ERROR_INFO_INIT;
    assert_int_equal(pgpool_acquire_ex(&c, &info, p, 200), PGPOOL_ECONNECT);
    assert_null(c);
    assert_int_equal(info.cause, PGPOOL_CAUSE_CONNECT_FAILED);
    assert_string_equal(info.message, "connect timed out after 300 ms (connect_timeout)");
    pgpool_stats st = stats_of(p);
    assert_int_equal(st.connect_attempts, 1);
    assert_int_equal(st.connect_failures, 1);
    assert_int_equal(st.created, 0);
    assert_int_equal(st.connecting, 0);
    pgpool_free(p);
    close(fd);
}

static void server_error_has_its_sqlstate(void **state)
{
    (void)state;
    char url[512];
    url_with_app(url, sizeof url, "pgpool_err_nodb");
    /* the same server, a database that does not exist */
    char *slash = strrchr(url, '/');
    char *q = strchr(slash, '?');
    char tail[256];
    snprintf(tail, sizeof tail, "%s", q);
    snprintf(slash, sizeof url - (size_t)(slash - url), "/no_such_db_pgpool%s", tail);
    pgpool_options o = PGPOOL_OPTIONS_INIT;
    o.min_idle = 0;
    pgpool *p = make_pool(&o, url);
    pgpool_conn *c = NULL;
    pgpool_error_info info = PGPOOL_ERROR_INFO_INIT;
    assert_int_equal(pgpool_acquire_ex(&c, &info, p, 2000), PGPOOL_ECONNECT);
    print_message("no database: [%s] %s\n", info.sqlstate, info.message);
    assert_int_equal(info.cause, PGPOOL_CAUSE_CONNECT_FAILED);
    assert_string_equal(info.sqlstate, "3D000");
    assert_one_line(info.message);
    assert_non_null(strstr(info.message, "no_such_db_pgpool"));
    char last[256];
    pgpool_last_error(p, last, sizeof last);
    assert_one_line(last);
    pgpool_free(p);
}

static void malformed_conninfo_is_einval_with_libpq_message(void **state)
{
    (void)state;
    pgpool_options o = PGPOOL_OPTIONS_INIT;
    o.conninfo = "hostt=foo";
    pgpool *p = NULL;
    pgpool_error_info info = PGPOOL_ERROR_INFO_INIT;
    assert_int_equal(pgpool_new_ex(&p, &info, &o), PGPOOL_EINVAL);
    assert_null(p);
    print_message("hostt=foo: %s\n", info.message);
    assert_int_equal(info.cause, PGPOOL_CAUSE_CONNINFO);
    assert_non_null(strstr(info.message, "invalid connection option \"hostt\""));
    assert_one_line(info.message);
    /* a value in libpq's message is never shown: it may be a password */
    o.conninfo = "host=x sekrit";
    assert_int_equal(pgpool_new_ex(&p, &info, &o), PGPOOL_EINVAL);
    print_message("host=x sekrit: %s\n", info.message);
    assert_int_equal(info.cause, PGPOOL_CAUSE_CONNINFO);
    assert_null(strstr(info.message, "sekrit"));
    assert_non_null(strstr(info.message, "**********"));
    o.conninfo = "postgresql://u:pw@[::1/db";
    assert_int_equal(pgpool_new_ex(&p, &info, &o), PGPOOL_EINVAL);
    print_message("bad URI: %s\n", info.message);
    assert_null(strstr(info.message, "pw@"));
    /* an option out of range names it */
    o.conninfo = NULL;
    o.max_size = 0;
    assert_int_equal(pgpool_new_ex(&p, &info, &o), PGPOOL_EINVAL);
    assert_int_equal(info.cause, PGPOOL_CAUSE_OPTIONS);
    assert_non_null(strstr(info.message, "max_size"));
    assert_int_equal(pgpool_new(&p, &o), PGPOOL_EINVAL); /* and without detail */
}

static void ping_invalidate_and_metrics(void **state)
{
    (void)state;
    char url[512];
    url_with_app(url, sizeof url, "pgpool_err_ping");
    pgpool_options o = PGPOOL_OPTIONS_INIT;
    o.min_idle = 3;
    o.max_size = 4;
    pgpool *p = make_pool(&o, url);
    assert_int_equal(pgpool_wait_ready(p, 10000), PGPOOL_OK);
    pgpool_stats st = stats_of(p);
    assert_true(st.idle + st.in_use >= 3);
    assert_int_equal(st.warmup_waits, 0);

    pgpool_conn *c;
    pgpool_error_info info = PGPOOL_ERROR_INFO_INIT;
    assert_int_equal(pgpool_acquire(&c, p, 5000), PGPOOL_OK);
    assert_int_equal(pgpool_conn_ping(&info, c, 2000), PGPOOL_OK);
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT pg_terminate_backend(%d, 5000)::int",
             PQbackendPID(pgpool_conn_pg(c)));
    assert_int_equal(admin_exec(sql), 1);
    assert_int_equal(pgpool_conn_ping(&info, c, 2000), PGPOOL_ECONNECT);
    print_message("ping after terminate: [%s] %s\n", info.sqlstate, info.message);
    assert_one_line(info.message);
    assert_string_equal(info.sqlstate, "57P01");
    pgpool_discard(c);
    st = stats_of(p);
    assert_int_equal(st.validations_ok, 1);
    assert_int_equal(st.validations_failed, 1);
    assert_true(st.connect_hist[PGPOOL_HIST_BUCKETS - 1] == 0);
    uint64_t connects = 0;
    for (int i = 0; i < PGPOOL_HIST_BUCKETS; i++)
        connects += st.connect_hist[i];
    assert_int_equal(connects, st.created);
    assert_true(st.connect_sum_ns > 0);
    static char text[32768];
    pgpool_stats_prometheus(text, sizeof text, &st, "err");
    assert_non_null(
        strstr(text, "pgpool_validation_results_total{pool=\"err\",result=\"ok\"} 1\n"));
    assert_non_null(
        strstr(text, "pgpool_validation_results_total{pool=\"err\",result=\"failed\"} 1\n"));
    assert_non_null(strstr(text, "pgpool_connect_seconds_count{pool=\"err\"} "));

    /* invalidate: idle ones close as stale, a borrowed one on release */
    WAIT_FOR(stats_of(p).idle >= 3, 10000);
    assert_int_equal(pgpool_acquire(&c, p, 5000), PGPOOL_OK);
    uint64_t old_id = pgpool_conn_id(c);
    st = stats_of(p);
    uint32_t idle_before = st.idle;
    pgpool_invalidate(p);
    WAIT_FOR(stats_of(p).closed[PGPOOL_CLOSE_STALE] >= idle_before, 5000);
    assert_int_equal(stats_of(p).closed[PGPOOL_CLOSE_STALE], idle_before);
    pgpool_release(c);
    assert_int_equal(stats_of(p).closed[PGPOOL_CLOSE_STALE], idle_before + 1);
    assert_int_equal(pgpool_acquire(&c, p, 5000), PGPOOL_OK);
    assert_true(pgpool_conn_id(c) > old_id);
    select_one(c);
    pgpool_release(c);
    pgpool_free(p);
}

/* SHOW search_path on a borrowed connection. */
static void show_search_path(pgpool_conn *c, char *out, size_t size)
{
    PGresult *r = PQexec(pgpool_conn_pg(c), "SHOW search_path");
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    snprintf(out, size, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
}

/* LIFO hands out the connection released last, FIFO the one released first. */
static void reuse_order_lifo_and_fifo(void **state)
{
    (void)state;
    for (int fifo = 0; fifo < 2; fifo++) {
        char url[512];
        url_with_app(url, sizeof url, "pgpool_err_reuse");
        pgpool_options o = PGPOOL_OPTIONS_INIT;
        o.min_idle = 0;
        o.max_size = 2;
        o.validate_after_idle_ms = -1;
        o.reuse = fifo ? PGPOOL_REUSE_FIFO : PGPOOL_REUSE_LIFO;
        pgpool *p = make_pool(&o, url);
        pgpool_conn *a, *b, *c;
        assert_int_equal(pgpool_acquire(&a, p, 5000), PGPOOL_OK);
        assert_int_equal(pgpool_acquire(&b, p, 5000), PGPOOL_OK);
        uint64_t first = pgpool_conn_id(a), last = pgpool_conn_id(b);
        assert_true(first != last);
        pgpool_release(a);
        pgpool_release(b);
        for (int round = 0; round < 3; round++) {
            assert_int_equal(pgpool_acquire(&c, p, 5000), PGPOOL_OK);
            uint64_t got = pgpool_conn_id(c);
            assert_int_equal(got, fifo ? first : last);
            pgpool_release(c);
            if (fifo) { /* c went to the back: the other one is first now */
                uint64_t t = first;
                first = last;
                last = t;
            }
        }
        pgpool_free(p);
    }
}

/* reset DIRTY runs reset_query only after a connection came back inside a
 * transaction; the statement is the configured one. */
static void reset_dirty_runs_the_reset_query(void **state)
{
    (void)state;
    char url[512], path[128];
    url_with_app(url, sizeof url, "pgpool_err_reset");
    pgpool_options o = PGPOOL_OPTIONS_INIT;
    o.min_idle = 1;
    o.max_size = 1;
    o.reset = PGPOOL_RESET_DIRTY;
    o.reset_query = "SET search_path TO pgpool_reset_marker";
    pgpool *p = make_pool(&o, url);
    pgpool_conn *c;
    assert_int_equal(pgpool_acquire(&c, p, 5000), PGPOOL_OK);
    show_search_path(c, path, sizeof path);
    assert_string_not_equal(path, "pgpool_reset_marker");
    pgpool_release(c); /* outside a transaction: no reset */
    assert_int_equal(stats_of(p).resets, 0);
    assert_int_equal(pgpool_acquire(&c, p, 5000), PGPOOL_OK);
    show_search_path(c, path, sizeof path);
    assert_string_not_equal(path, "pgpool_reset_marker");
    PQclear(PQexec(pgpool_conn_pg(c), "BEGIN"));
    uint64_t id = pgpool_conn_id(c);
    pgpool_release(c); /* inside one: ROLLBACK, then the reset statement */
    pgpool_stats st = stats_of(p);
    assert_int_equal(st.rollbacks, 1);
    assert_int_equal(st.resets, 1);
    assert_int_equal(pgpool_acquire(&c, p, 5000), PGPOOL_OK);
    assert_int_equal(pgpool_conn_id(c), id); /* the same session, reset */
    show_search_path(c, path, sizeof path);
    assert_string_equal(path, "pgpool_reset_marker");
    pgpool_release(c);
    pgpool_free(p);
}

/* At most max_connecting connects are in flight, however many min_idle asks
 * for: against a server that never answers, after several housekeeping
 * passes. */
static void max_connecting_caps_connects_in_flight(void **state)
{
    (void)state;
    int port;
    int fd = loopback_socket(&port, true); /* accepts in the kernel, never answers */
    char ci[256];
    snprintf(ci, sizeof ci, "host=127.0.0.1 port=%d user=u", port);
    for (int cap = 1; cap <= 2; cap++) {
        pgpool_options o = PGPOOL_OPTIONS_INIT;
        o.min_idle = 4;
        o.max_size = 4;
        o.max_connecting = cap;
        o.connect_timeout_ms = 60000;
        o.health_check_period_ms = 10;
        pgpool *p = make_pool(&o, ci);
        WAIT_FOR(stats_of(p).connecting == (uint32_t)cap, 5000);
        uint64_t m0 = stats_of(p).maintenance_runs;
        WAIT_FOR(stats_of(p).maintenance_runs >= m0 + 5, 10000);
        pgpool_stats st = stats_of(p);
        print_message("max_connecting %d: %u connecting, %llu attempts after %llu passes\n", cap,
                      st.connecting, (unsigned long long)st.connect_attempts,
                      (unsigned long long)(st.maintenance_runs - m0));
        assert_true(st.maintenance_runs >= m0 + 5);
        assert_int_equal(st.connecting, cap);
        assert_int_equal(st.connect_attempts, cap);
        pgpool_free(p);
    }
    close(fd);
}

static int reject_connection(PGconn *pg, void *ud)
{
    (void)pg;
    (*(int *)ud)++;
    return -1;
}

/* A connection that on_connect rejects is closed and counted as a failed
 * connect; a waiter gets ECONNECT. */
static void on_connect_rejection_fails_the_connect(void **state)
{
    (void)state;
    char url[512];
    url_with_app(url, sizeof url, "pgpool_err_reject");
    int calls = 0;
    pgpool_options o = PGPOOL_OPTIONS_INIT;
    o.min_idle = 1;
    o.max_size = 1;
    o.backoff_initial_ms = 10000;
    o.backoff_max_ms = 10000;
    o.on_connect = reject_connection;
    o.on_connect_userdata = &calls;
    pgpool *p = make_pool(&o, url);
    WAIT_FOR(stats_of(p).connect_failures == 1, 10000);
    pgpool_conn *c = NULL;
    pgpool_error_info info = PGPOOL_ERROR_INFO_INIT;
    assert_int_equal(pgpool_acquire_ex(&c, &info, p, 200), PGPOOL_ECONNECT);
    assert_null(c);
    print_message("on_connect rejected: %s\n", info.message);
    assert_int_equal(info.cause, PGPOOL_CAUSE_CONNECT_FAILED);
    pgpool_stats st = stats_of(p);
    assert_int_equal(st.connect_attempts, 1);
    assert_int_equal(st.connect_failures, 1);
    assert_int_equal(st.idle + st.in_use, 0);
    assert_int_equal(st.acquires, 0);
    pgpool_free(p);
    assert_int_equal(calls, 1);
}

/* A negative timeout means the pool's acquire_timeout_ms. */
static void negative_timeout_uses_acquire_timeout(void **state)
{
    (void)state;
    char url[512];
    url_with_app(url, sizeof url, "pgpool_err_negative");
    pgpool_options o = PGPOOL_OPTIONS_INIT;
    o.min_idle = 1;
    o.max_size = 1;
    o.acquire_timeout_ms = 300;
    pgpool *p = make_pool(&o, url);
    pgpool_conn *a, *b = NULL;
    assert_int_equal(pgpool_acquire(&a, p, 5000), PGPOOL_OK);
    int64_t t0 = mono_ms();
    assert_int_equal(pgpool_acquire(&b, p, -1), PGPOOL_ETIMEDOUT);
    int64_t took = mono_ms() - t0;
    assert_null(b);
    assert_true(took >= 300 && took < 300 + LATE_MS);
    assert_int_equal(stats_of(p).timeouts, 1);
    pgpool_release(a);
    pgpool_free(p);
}

static void warm_up_waits_are_counted_apart(void **state)
{
    (void)state;
    pgpool_options o = PGPOOL_OPTIONS_INIT;
    o.min_idle = 2;
    o.max_size = 2;
    pgpool *p = pool_for_app(&o, "pgpool_err_warm", NULL);
    /* at once: no connection is open yet, this acquire waits for one */
    pgpool_conn *a, *b;
    assert_int_equal(pgpool_acquire(&a, p, 5000), PGPOOL_OK);
    pgpool_stats st = stats_of(p);
    assert_int_equal(st.waits, 1);
    assert_int_equal(st.warmup_waits, 1);
    pgpool_release(a);
    assert_int_equal(pgpool_wait_ready(p, 5000), PGPOOL_OK);
    /* warm: a wait for a connection in use is a real one */
    assert_int_equal(pgpool_acquire(&a, p, 5000), PGPOOL_OK);
    assert_int_equal(pgpool_acquire(&b, p, 5000), PGPOOL_OK);
    pgpool_conn *c = NULL;
    assert_int_equal(pgpool_acquire(&c, p, 50), PGPOOL_ETIMEDOUT);
    st = stats_of(p);
    assert_int_equal(st.warmup_waits, 1);
    assert_int_equal(st.timeouts, 1);
    pgpool_release(a);
    pgpool_release(b);
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
        cmocka_unit_test(exhausted_pool_is_etimedout),
        cmocka_unit_test(refused_connect_is_econnect),
        cmocka_unit_test(hanging_connect_is_econnect),
        cmocka_unit_test(connect_timeout_ends_a_connect_that_never_answers),
        cmocka_unit_test(server_error_has_its_sqlstate),
        cmocka_unit_test(malformed_conninfo_is_einval_with_libpq_message),
        cmocka_unit_test(ping_invalidate_and_metrics),
        cmocka_unit_test(warm_up_waits_are_counted_apart),
        cmocka_unit_test(reuse_order_lifo_and_fifo),
        cmocka_unit_test(reset_dirty_runs_the_reset_query),
        cmocka_unit_test(max_connecting_caps_connects_in_flight),
        cmocka_unit_test(on_connect_rejection_fails_the_connect),
        cmocka_unit_test(negative_timeout_uses_acquire_timeout),
    };
    return cmocka_run_group_tests_name("pgpool_errors", tests, NULL, NULL);
}
