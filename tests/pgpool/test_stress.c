/*
 * Many threads hammering a small pool: acquire, query, release or discard,
 * stats and Prometheus text at the same time, then close while threads are
 * still acquiring. Run under ThreadSanitizer too (suite stress).
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>

#include "pgtest.h"

typedef struct arg {
    pgpool *p;
    int id;
    int ok, closed, other;
    int in_txn, discarded, busy; /* checkouts given back each way */
} arg;

static atomic_int stop_flag;
static atomic_int checkouts; /* all workers' checkouts so far */

static void *worker(void *v)
{
    arg *a = v;
    unsigned seed = (unsigned)a->id * 2654435761u;
    while (!atomic_load(&stop_flag)) {
        pgpool_conn *c;
        int rc = pgpool_acquire(&c, a->p, 2000);
        if (rc == PGPOOL_ECLOSED) {
            a->closed++;
            break;
        }
        if (rc != PGPOOL_OK) {
            a->other++;
            continue;
        }
        seed = seed * 1103515245u + 12345u;
        PGconn *pg = pgpool_conn_pg(c);
        switch ((seed >> 16) % 8) {
        case 0:
            PQclear(PQexec(pg, "BEGIN"));
            PQclear(PQexec(pg, "SELECT 1"));
            pgpool_release(c); /* rolled back by the pool */
            a->in_txn++;
            break;
        case 1:
            pgpool_discard(c);
            a->discarded++;
            break;
        case 2:
            (void)PQsendQuery(pg, "SELECT 1");
            pgpool_release(c); /* busy: discarded */
            a->busy++;
            break;
        default:
            PQclear(PQexec(pg, "SELECT 1"));
            pgpool_release(c);
        }
        a->ok++;
        atomic_fetch_add(&checkouts, 1);
    }
    return NULL;
}

static void *observer(void *v)
{
    pgpool *p = v;
    static char buf[16384];
    while (!atomic_load(&stop_flag)) {
        pgpool_stats st = PGPOOL_STATS_INIT;
        if (pgpool_stats_get(&st, p) == PGPOOL_OK) {
            pgpool_stats_prometheus(buf, sizeof buf, &st, "stress");
            pgpool_advice(buf, sizeof buf, &st);
        }
        pgpool_health_info h;
        if (pgpool_health(&h, p) != PGPOOL_OK)
            break;
        sleep_ms(2);
    }
    return NULL;
}

static void on_event(const pgpool_event *ev, void *ud)
{
    atomic_fetch_add((atomic_int *)ud, ev->type == PGPOOL_EVENT_ACQUIRE);
}

static void many_threads_small_pool(void **state)
{
    (void)state;
    atomic_int events = 0;
    pgpool_options o = PGPOOL_OPTIONS_INIT;
    o.conninfo = db_url();
    o.min_idle = 2;
    o.max_size = 3;
    o.max_overflow = 1;
    o.max_lifetime_ms = 300;
    o.max_lifetime_jitter_ms = 100;
    o.health_check_period_ms = 5;
    o.leak_threshold_ms = 50;
    o.on_event = on_event;
    o.event_userdata = &events;
    pgpool *p;
    assert_int_equal(pgpool_new(&p, &o), PGPOOL_OK);
    enum { N = 12 };
    pthread_t t[N], obs;
    arg a[N];
    for (int i = 0; i < N; i++) {
        a[i] = (arg){ p, i, 0, 0, 0, 0, 0, 0 };
        pthread_create(&t[i], NULL, worker, &a[i]);
    }
    pthread_create(&obs, NULL, observer, p);
    /* at least 1.5 s and 150 checkouts (a loaded machine is slow) */
    sleep_ms(1500);
    WAIT_FOR(atomic_load(&checkouts) >= 150, 20000);
    /* close while the workers are still going */
    (void)pgpool_close(p, 2000);
    atomic_store(&stop_flag, 1);
    int ok = 0, in_txn = 0, discarded = 0, busy = 0;
    for (int i = 0; i < N; i++) {
        pthread_join(t[i], NULL);
        ok += a[i].ok;
        in_txn += a[i].in_txn;
        discarded += a[i].discarded;
        busy += a[i].busy;
    }
    pthread_join(obs, NULL);
    pgpool_stats st = stats_of(p);
    print_message("stress: %d checkouts, %llu created, %d acquire events\n", ok,
                  (unsigned long long)st.created, atomic_load(&events));
    assert_true(ok > 100);
    assert_int_equal(st.in_use, 0);
    assert_int_equal(st.idle, 0);
    assert_int_equal(st.total, 0);
    assert_int_equal((uint64_t)atomic_load(&events), st.acquires);
    /* the workers' own tallies against the pool's counters */
    print_message("stress: %d in a transaction, %d discarded, %d busy; pool: %llu rollbacks, "
                  "%llu discarded, %llu busy\n",
                  in_txn, discarded, busy, (unsigned long long)st.rollbacks,
                  (unsigned long long)st.closed[PGPOOL_CLOSE_DISCARDED],
                  (unsigned long long)st.closed[PGPOOL_CLOSE_BUSY]);
    assert_int_equal(st.acquires, (uint64_t)ok);
    assert_int_equal(st.returned_in_txn, (uint64_t)in_txn);
    assert_int_equal(st.rollbacks, (uint64_t)in_txn);
    assert_int_equal(st.closed[PGPOOL_CLOSE_DISCARDED], (uint64_t)discarded);
    assert_int_equal(st.closed[PGPOOL_CLOSE_BUSY], (uint64_t)busy);
    pgpool_free(p);
}

/* 16 threads take turns on 2 connections for 10 s, each acquire with a
 * deadline: FIFO hands every waiter a connection long before its deadline
 * (zero timeouts), and no thread falls behind the others. */
static void sixteen_threads_on_two_for_ten_seconds(void **state)
{
    (void)state;
    enum { N = 16, DEADLINE_MS = 2000 };
    pgpool_options o = PGPOOL_OPTIONS_INIT;
    o.conninfo = db_url();
    o.min_idle = 2;
    o.max_size = 2;
    pgpool *p;
    assert_int_equal(pgpool_new(&p, &o), PGPOOL_OK);
    assert_int_equal(pgpool_wait_ready(p, 10000), PGPOOL_OK);
    pthread_t t[N];
    fair_arg a[N];
    int64_t end = mono_ms() + 10000;
    for (int i = 0; i < N; i++) {
        a[i] = (fair_arg){ p, DEADLINE_MS, 0, end, 0, 0, 0 };
        assert_int_equal(pthread_create(&t[i], NULL, fair_worker, &a[i]), 0);
    }
    int total = 0, lo = 1 << 30, hi = 0, timeouts = 0;
    int64_t max_wait = 0;
    for (int i = 0; i < N; i++) {
        pthread_join(t[i], NULL);
        total += a[i].count;
        timeouts += a[i].timeouts;
        lo = a[i].count < lo ? a[i].count : lo;
        hi = a[i].count > hi ? a[i].count : hi;
        max_wait = a[i].max_wait_ms > max_wait ? a[i].max_wait_ms : max_wait;
    }
    pgpool_stats st = stats_of(p);
    print_message("16 threads on 2 for 10 s: %d checkouts, per thread %d..%d, max wait %lld ms "
                  "(deadline %d ms), %d timeouts\n",
                  total, lo, hi, (long long)max_wait, DEADLINE_MS, timeouts);
    assert_int_equal(timeouts, 0);
    assert_int_equal(st.timeouts, 0);
    assert_true(max_wait <= DEADLINE_MS);
    assert_true(lo > 0);
    assert_true(lo >= (total / N) * 6 / 10); /* nobody starved: FIFO turns */
    assert_int_equal(st.acquires, (uint64_t)total);
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
        cmocka_unit_test(many_threads_small_pool),
        cmocka_unit_test(sixteen_threads_on_two_for_ten_seconds),
    };
    return cmocka_run_group_tests_name("pgpool_stress", tests, NULL, NULL);
}
