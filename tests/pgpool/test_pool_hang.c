/*
 * Deadlines are hard bounds whatever the server does: a SIGSTOPped backend
 * (validation hangs) and a SIGSTOPped postmaster (connects hang). Every
 * acquire returns within its timeout plus 50 ms. Stops the shared server's
 * processes: registered with is_parallel: false; every stopped process is
 * continued in the teardown, whatever happened.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>

#include "pgtest.h"

#define SLACK_MS 50

static pid_t stopped[64];
static int guard_fd[64];
static int nstopped;

/* SIGSTOP pid, with a guardian process that sends SIGCONT when this
 * process lets it go or dies (a crash must not leave the server stopped). */
static void stop_pid(pid_t pid)
{
    assert_true(nstopped < 64);
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t g = fork();
    assert_true(g >= 0);
    if (g == 0) {
        close(fds[1]);
        char b;
        while (read(fds[0], &b, 1) < 0)
            ;
        kill(pid, SIGCONT);
        _exit(0);
    }
    close(fds[0]);
    guard_fd[nstopped] = fds[1];
    stopped[nstopped++] = pid;
    assert_int_equal(kill(pid, SIGSTOP), 0);
}

static void continue_all(void)
{
    while (nstopped > 0) {
        nstopped--;
        (void)kill(stopped[nstopped], SIGCONT);
        close(guard_fd[nstopped]); /* the guardian continues it again and exits */
    }
    while (waitpid(-1, NULL, WNOHANG) > 0)
        ;
}

static int teardown(void **state)
{
    (void)state;
    continue_all();
    return 0;
}

static pid_t postmaster_pid(void)
{
    const char *dir = getenv("INGEST_PG_DIR");
    assert_non_null(dir);
    char path[1024];
    snprintf(path, sizeof path, "%s/data/postmaster.pid", dir);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    long pid = 0;
    assert_int_equal(fscanf(f, "%ld", &pid), 1);
    fclose(f);
    assert_true(pid > 1);
    return (pid_t)pid;
}

static int64_t worst_overrun_ms = INT64_MIN;

/* Acquire with timeout_ms; assert that it returned within timeout + slack
 * and give back what it got. Returns the result code. */
static int timed_acquire(pgpool *p, int timeout_ms, pgpool_error_info *info, const char *what)
{
    pgpool_conn *c = NULL;
    int64_t t0 = mono_ms();
    int rc = pgpool_acquire_ex(&c, info, p, timeout_ms);
    int64_t took = mono_ms() - t0;
    int64_t over = took - timeout_ms;
    if (over > worst_overrun_ms)
        worst_overrun_ms = over;
    print_message("%s: acquire(%d) -> %s after %lld ms (overrun %lld ms)%s%s\n", what, timeout_ms,
                  pgpool_strerror(rc), (long long)took, (long long)over,
                  info && info->message[0] ? ": " : "", info ? info->message : "");
    assert_true(took <= timeout_ms + SLACK_MS);
    if (c)
        pgpool_release(c);
    return rc;
}

/* SIGSTOP every backend of the application. */
static void stop_backends(const char *app)
{
    PGconn *c = PQconnectdb(db_url());
    assert_int_equal(PQstatus(c), CONNECTION_OK);
    const char *params[1] = { app };
    PGresult *r = PQexecParams(c, "SELECT pid FROM pg_stat_activity WHERE application_name = $1", 1,
                               NULL, params, NULL, NULL, 0);
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    assert_true(PQntuples(r) > 0);
    for (int i = 0; i < PQntuples(r); i++)
        stop_pid((pid_t)atol(PQgetvalue(r, i, 0)));
    PQclear(r);
    PQfinish(c);
}

static void stopped_backend_keeps_every_deadline(void **state)
{
    (void)state;
    const int timeouts[] = { 0, 300, 1500 };
    for (size_t k = 0; k < sizeof timeouts / sizeof timeouts[0]; k++) {
        pgpool_options o = PGPOOL_OPTIONS_INIT;
        o.min_idle = 1;
        o.max_size = 1;
        o.validate_after_idle_ms = 0; /* validate at every acquire */
        o.validation_timeout_ms = 1500;
        pgpool *p = pool_for_app(&o, "pgpool_hang_backend", NULL);
        WAIT_FOR(stats_of(p).idle == 1, 10000);
        assert_int_equal(stats_of(p).idle, 1);
        stop_backends("pgpool_hang_backend");
        pgpool_error_info info = PGPOOL_ERROR_INFO_INIT;
        int rc = timed_acquire(p, timeouts[k], &info, "stopped backend");
        if (timeouts[k] > 0) {
            /* the validation ran into the deadline: that connection is gone */
            assert_int_equal(rc, PGPOOL_ECONNECT);
            assert_int_equal(info.cause, PGPOOL_CAUSE_VALIDATION_TIMEOUT);
            pgpool_stats st = stats_of(p);
            assert_int_equal(st.closed[PGPOOL_CLOSE_VALIDATION], 1);
            assert_int_equal(st.validation_timeouts, 1);
        }
        continue_all();
        pgpool_free(p);
    }
}

static void validation_timeout_discards_only_that_connection(void **state)
{
    (void)state;
    pgpool_options o = PGPOOL_OPTIONS_INIT;
    o.min_idle = 2;
    o.max_size = 2;
    o.validate_after_idle_ms = 0;
    o.validation_timeout_ms = 300;
    pgpool *p = pool_for_app(&o, "pgpool_hang_one", NULL);
    WAIT_FOR(stats_of(p).idle == 2, 10000);
    pgpool_conn *a, *b;
    assert_int_equal(pgpool_acquire(&a, p, 5000), PGPOOL_OK);
    assert_int_equal(pgpool_acquire(&b, p, 5000), PGPOOL_OK);
    if (pgpool_conn_id(a) < pgpool_conn_id(b)) { /* a: the newer one */
        pgpool_conn *t = a;
        a = b;
        b = t;
    }
    uint64_t older = pgpool_conn_id(b);
    pid_t pid = (pid_t)PQbackendPID(pgpool_conn_pg(a));
    pgpool_release(b);
    pgpool_release(a); /* LIFO: a is validated first */
    stop_pid(pid);
    pgpool_conn *c = NULL;
    int64_t t0 = mono_ms();
    assert_int_equal(pgpool_acquire(&c, p, 1500), PGPOOL_OK);
    int64_t took = mono_ms() - t0;
    assert_int_equal(pgpool_conn_id(c), older);
    select_one(c);
    pgpool_release(c);
    pgpool_stats st = stats_of(p);
    print_message("validation timeout after %lld ms: closed validation %llu, stale %llu\n",
                  (long long)took, (unsigned long long)st.closed[PGPOOL_CLOSE_VALIDATION],
                  (unsigned long long)st.closed[PGPOOL_CLOSE_STALE]);
    assert_true(took >= 300 && took < 300 + LATE_MS);
    assert_int_equal(st.closed[PGPOOL_CLOSE_VALIDATION], 1);
    assert_int_equal(st.closed[PGPOOL_CLOSE_STALE], 0);
    assert_int_equal(st.validation_timeouts, 1);
    assert_true(st.validations_ok >= 1);
    continue_all();
    pgpool_free(p);
}

/* Bytes waiting in the receive queue of the server's end of the loopback
 * TCP connection whose client end is bound to client_port (/proc/net/tcp);
 * -1 when that socket is not listed. */
static long server_rx_queue(unsigned client_port)
{
    FILE *f = fopen("/proc/net/tcp", "r");
    if (!f)
        return -1;
    char line[512];
    long q = -1;
    while (q < 0 && fgets(line, sizeof line, f)) {
        unsigned lport, rport;
        unsigned long tx, rx;
        if (sscanf(line, " %*d: %*8s:%x %*8s:%x %*x %lx:%lx", &lport, &rport, &tx, &rx) == 4 &&
            rport == client_port && lport != client_port)
            q = (long)rx;
    }
    fclose(f);
    return q;
}

typedef struct {
    unsigned client_port;
    pid_t backend;
    atomic_int continued; /* 1: the query arrived, the backend was continued */
} watcher;

/* Continue the stopped backend once a query has reached its socket, so
 * that it answers that query with the FATAL of its pending SIGTERM. */
static void *continue_on_query(void *arg)
{
    watcher *w = arg;
    for (int64_t end = mono_ms() + 20000; mono_ms() < end;) {
        if (server_rx_queue(w->client_port) > 0) {
            atomic_store(&w->continued, 1);
            (void)kill(w->backend, SIGCONT);
            return NULL;
        }
        sleep_ms(1);
    }
    return NULL;
}

/* A validation that fails (the server answers the validation query with a
 * FATAL: the backend was terminated while stopped, so the idle socket was
 * silent when the checkout looked at it and the termination only shows up
 * as the answer to the query) closes that connection as validation, counts
 * a failed validation (not a timeout), and the caller gets the other
 * connection, healthy, within its deadline. */
static void validation_failure_discards_only_that_connection(void **state)
{
    (void)state;
    pgpool_options o = PGPOOL_OPTIONS_INIT;
    o.min_idle = 2;
    o.max_size = 2;
    o.validate_after_idle_ms = 0;
    o.validation_timeout_ms = 10000;
    pgpool *p = pool_for_app(&o, "pgpool_hang_vfail", NULL);
    WAIT_FOR(stats_of(p).idle == 2, 10000);
    pgpool_conn *a, *b;
    assert_int_equal(pgpool_acquire(&a, p, 5000), PGPOOL_OK);
    assert_int_equal(pgpool_acquire(&b, p, 5000), PGPOOL_OK);
    if (pgpool_conn_id(a) < pgpool_conn_id(b)) { /* a: the newer one */
        pgpool_conn *t = a;
        a = b;
        b = t;
    }
    uint64_t older = pgpool_conn_id(b);
    PGconn *apg = pgpool_conn_pg(a);
    pid_t pid = (pid_t)PQbackendPID(apg);
    struct sockaddr_in local;
    socklen_t len = sizeof local;
    assert_int_equal(getsockname(PQsocket(apg), (struct sockaddr *)&local, &len), 0);
    assert_int_equal(local.sin_family, AF_INET);
    watcher w = { ntohs(local.sin_port), pid, 0 };
    assert_int_equal(server_rx_queue(w.client_port), 0);
    pgpool_release(b);
    pgpool_release(a); /* LIFO: a is validated first */
    stop_pid(pid);
    char sql[80];
    snprintf(sql, sizeof sql, "SELECT pg_terminate_backend(%ld)::int", (long)pid);
    assert_int_equal(admin_exec(sql), 1);
    pgpool_stats before = stats_of(p);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, continue_on_query, &w), 0);
    pgpool_conn *c = NULL;
    int rc = pgpool_acquire(&c, p, 5000);
    pthread_join(th, NULL);
    assert_int_equal(rc, PGPOOL_OK);
    assert_int_equal(atomic_load(&w.continued), 1);
    assert_int_equal(pgpool_conn_id(c), older);
    assert_int_not_equal(PQbackendPID(pgpool_conn_pg(c)), pid);
    select_one(c);
    pgpool_release(c);
    pgpool_stats st = stats_of(p);
    print_message("validation failure: validations %llu ok %llu failed %llu timeouts %llu, "
                  "closed validation %llu broken %llu\n",
                  (unsigned long long)st.validations, (unsigned long long)st.validations_ok,
                  (unsigned long long)st.validations_failed,
                  (unsigned long long)st.validation_timeouts,
                  (unsigned long long)st.closed[PGPOOL_CLOSE_VALIDATION],
                  (unsigned long long)st.closed[PGPOOL_CLOSE_BROKEN]);
    assert_int_equal(st.validations_failed, 1);
    assert_int_equal(st.validation_timeouts, 0);
    assert_int_equal(st.closed[PGPOOL_CLOSE_VALIDATION], 1);
    assert_int_equal(st.closed[PGPOOL_CLOSE_BROKEN], 0);
    assert_int_equal(st.validations - before.validations, 2);
    assert_int_equal(st.validations_ok - before.validations_ok, 1); /* the other one */
    continue_all();
    pgpool_free(p);
}

/* A release whose ROLLBACK (a connection given back inside a transaction)
 * or reset statement (reset ALWAYS) does not answer returns after
 * rollback_timeout_ms and closes that connection as reset_failed; the pool
 * then serves a new one. */
static void hung_rollback_or_reset_on_release_is_bounded(void **state)
{
    (void)state;
    for (int mode = 0; mode < 2; mode++) {
        pgpool_options o = PGPOOL_OPTIONS_INIT;
        o.min_idle = 1;
        o.max_size = 1;
        o.rollback_timeout_ms = 300;
        o.reset = mode == 0 ? PGPOOL_RESET_NEVER : PGPOOL_RESET_ALWAYS;
        pgpool *p =
            pool_for_app(&o, mode == 0 ? "pgpool_hang_rollback" : "pgpool_hang_reset", NULL);
        pgpool_conn *c;
        assert_int_equal(pgpool_acquire(&c, p, 5000), PGPOOL_OK);
        PGconn *pg = pgpool_conn_pg(c);
        if (mode == 0)
            PQclear(PQexec(pg, "BEGIN"));
        select_one(c);
        stop_pid((pid_t)PQbackendPID(pg));
        int64_t t0 = mono_ms();
        pgpool_release(c);
        int64_t took = mono_ms() - t0;
        print_message("%s hung on release: returned after %lld ms\n",
                      mode == 0 ? "ROLLBACK" : "DISCARD ALL", (long long)took);
        assert_true(took >= 300 && took < 300 + LATE_MS);
        pgpool_stats st = stats_of(p);
        assert_int_equal(st.closed[PGPOOL_CLOSE_RESET_FAILED], 1);
        assert_int_equal(st.returned_in_txn, mode == 0 ? 1 : 0);
        assert_int_equal(st.rollbacks, mode == 0 ? 1 : 0);
        assert_int_equal(st.resets, mode == 0 ? 0 : 1);
        continue_all();
        assert_int_equal(pgpool_acquire(&c, p, 5000), PGPOOL_OK);
        select_one(c);
        pgpool_release(c);
        assert_true(stats_of(p).created >= 2);
        pgpool_free(p);
    }
}

static void stopped_postmaster_keeps_every_deadline(void **state)
{
    (void)state;
    /* a pool with one idle connection: its backend still answers */
    pgpool_options o = PGPOOL_OPTIONS_INIT;
    o.min_idle = 1;
    o.max_size = 2;
    o.validate_after_idle_ms = 0;
    pgpool *warm = pool_for_app(&o, "pgpool_hang_pm_warm", NULL);
    assert_int_equal(pgpool_wait_ready(warm, 10000), PGPOOL_OK);

    stop_pid(postmaster_pid());
    const int timeouts[] = { 0, 300, 1500 };
    for (size_t k = 0; k < sizeof timeouts / sizeof timeouts[0]; k++) {
        /* a new pool: every connect hangs */
        pgpool_options n = PGPOOL_OPTIONS_INIT;
        n.min_idle = 1;
        n.max_size = 2;
        pgpool *p = pool_for_app(&n, "pgpool_hang_pm", NULL);
        pgpool_error_info info = PGPOOL_ERROR_INFO_INIT;
        int rc = timed_acquire(p, timeouts[k], &info, "stopped postmaster, new pool");
        assert_int_equal(rc, PGPOOL_ECONNECT);
        assert_int_equal(info.cause, PGPOOL_CAUSE_CONNECTING);
        assert_int_equal(pgpool_wait_ready(p, timeouts[k]), PGPOOL_ECONNECT);
        pgpool_free(p);
        /* the warm pool still serves its connection (validated, except for
         * acquire(0)); a second one would hang */
        pgpool_conn *c = NULL;
        int64_t t0 = mono_ms();
        assert_int_equal(pgpool_acquire(&c, warm, timeouts[k]), PGPOOL_OK);
        assert_true(mono_ms() - t0 <= timeouts[k] + SLACK_MS);
        select_one(c);
        int rc2 = timed_acquire(warm, timeouts[k], &info, "stopped postmaster, second connection");
        assert_int_equal(rc2, PGPOOL_ECONNECT);
        assert_int_equal(info.cause, PGPOOL_CAUSE_CONNECTING);
        pgpool_release(c);
    }
    continue_all();
    pgpool_free(warm);
    print_message("worst deadline overrun: %lld ms\n", (long long)worst_overrun_ms);
}

int main(void)
{
    if (!db_url() || !getenv("INGEST_PG_DIR")) {
        fprintf(stderr, "DATABASE_URL or INGEST_PG_DIR not set: skipped\n");
        return 77;
    }
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(stopped_backend_keeps_every_deadline, teardown),
        cmocka_unit_test_teardown(validation_timeout_discards_only_that_connection, teardown),
        cmocka_unit_test_teardown(validation_failure_discards_only_that_connection, teardown),
        cmocka_unit_test_teardown(hung_rollback_or_reset_on_release_is_bounded, teardown),
        cmocka_unit_test_teardown(stopped_postmaster_keeps_every_deadline, teardown),
    };
    int rc = cmocka_run_group_tests_name("pgpool_hang", tests, NULL, NULL);
    continue_all();
    return rc;
}
