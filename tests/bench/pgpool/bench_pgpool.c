/*
 * libpgpool benchmarks (docs/design.md section 6): one JSON line per figure on
 * stdout, with a same-run reference. Needs DATABASE_URL (scripts/bench
 * starts a server); without it prints nothing and exits 77.
 *
 *  - acquire+release of an idle connection, uncontended, vs a pthread mutex
 *    lock+unlock pair (ratio = reference ns / pool ns);
 *  - SELECT 1 (prepared) through the pool with N connections at N, 2N, 4N
 *    threads vs pgbench -n -c N -j 2 -M prepared (ratio = pool tps / pgbench);
 *  - connect-per-request at N threads vs the pool at N threads;
 *  - HikariCP's spike test: min_idle 5, max 50, on_connect +150 ms, 50
 *    threads at once each running a 2 ms query;
 *  - recovery: from the server accepting connections again after a restart
 *    to the first successful acquire under load (needs PGPOOL_PG_SCRIPT and
 *    INGEST_PG_DIR).
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include <pgpool/pgpool.h>

#define N_CONN 4
#define RUNS   5

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_d);
    return v[n / 2];
}

static void emit(const char *cse, const char *metric, double value, const char *ref, double refv,
                 double ratio)
{
    printf("{\"bench\":\"pgpool\",\"case\":\"%s\",\"metric\":\"%s\",\"value\":%.6g,"
           "\"reference\":\"%s\",\"reference_value\":%.6g,\"ratio\":%.3f}\n",
           cse, metric, value, ref, refv, ratio);
    fflush(stdout);
}

static const char *url;

/* ------------------------------------------------------------ acquire/release */

static void bench_acquire_release(void)
{
    pgpool_options o = PGPOOL_OPTIONS_INIT;
    o.conninfo = url;
    o.min_idle = 1;
    o.max_size = 1;
    pgpool *p;
    if (pgpool_new(&p, &o) != PGPOOL_OK)
        exit(1);
    pgpool_conn *c;
    if (pgpool_acquire(&c, p, 10000) != PGPOOL_OK)
        exit(1);
    pgpool_release(c);
    const int iters = 1000000;
    double pool_ns[RUNS], mutex_ns[RUNS];
    pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
    for (int r = 0; r < RUNS; r++) {
        int64_t t0 = now_ns();
        for (int i = 0; i < iters; i++) {
            pthread_mutex_lock(&m);
            __asm__ volatile("" ::: "memory");
            pthread_mutex_unlock(&m);
        }
        mutex_ns[r] = (double)(now_ns() - t0) / iters;
        t0 = now_ns();
        for (int i = 0; i < iters; i++) {
            if (pgpool_acquire(&c, p, 1000) != PGPOOL_OK)
                exit(1);
            pgpool_release(c);
        }
        pool_ns[r] = (double)(now_ns() - t0) / iters;
    }
    double pv = median(pool_ns, RUNS), mv = median(mutex_ns, RUNS);
    emit("acquire+release, idle, uncontended", "ns_per_op", pv, "pthread_mutex_lock+unlock", mv,
         mv / pv);
    pgpool_free(p);
}

/* ------------------------------------------------------------ SELECT 1 */

static int prepare_hook(PGconn *pg, void *ud)
{
    (void)ud;
    PGresult *r = PQprepare(pg, "s1", "SELECT 1", 0, NULL);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    return ok ? 0 : -1;
}

typedef struct load {
    pgpool *p;
    int64_t end;
    long n;
    int connect_per_request;
} load;

static void *select_worker(void *arg)
{
    load *l = arg;
    while (now_ns() < l->end) {
        if (l->connect_per_request) {
            PGconn *pg = PQconnectdb(url);
            PGresult *r = PQexec(pg, "SELECT 1");
            if (PQresultStatus(r) == PGRES_TUPLES_OK)
                l->n++;
            PQclear(r);
            PQfinish(pg);
            continue;
        }
        pgpool_conn *c;
        if (pgpool_acquire(&c, l->p, 10000) != PGPOOL_OK)
            continue;
        PGresult *r = PQexecPrepared(pgpool_conn_pg(c), "s1", 0, NULL, NULL, NULL, 0);
        if (PQresultStatus(r) == PGRES_TUPLES_OK)
            l->n++;
        PQclear(r);
        pgpool_release(c);
    }
    return NULL;
}

static double run_load(pgpool *p, int threads, double secs, int cpr)
{
    pthread_t t[64];
    load l[64];
    int64_t end = now_ns() + (int64_t)(secs * 1e9);
    int64_t t0 = now_ns();
    for (int i = 0; i < threads; i++) {
        l[i] = (load){ p, end, 0, cpr };
        pthread_create(&t[i], NULL, select_worker, &l[i]);
    }
    long total = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(t[i], NULL);
        total += l[i].n;
    }
    return (double)total / ((double)(now_ns() - t0) / 1e9);
}

static double pgbench_tps(int n, const char *script)
{
    const char *bin = getenv("PGBENCH");
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "%s -n -c %d -j 2 -T 3 -M prepared -f '%s' '%s' 2>/dev/null | "
             "sed -n 's/^tps = \\([0-9.]*\\).*/\\1/p' | head -1",
             bin && *bin ? bin : "pgbench", n, script, url);
    FILE *f = popen(cmd, "r");
    if (!f)
        return 0;
    double tps = 0;
    if (fscanf(f, "%lf", &tps) != 1)
        tps = 0;
    pclose(f);
    return tps;
}

static void bench_select(void)
{
    pgpool_options o = PGPOOL_OPTIONS_INIT;
    o.conninfo = url;
    o.min_idle = N_CONN;
    o.max_size = N_CONN;
    o.on_connect = prepare_hook;
    pgpool *p;
    if (pgpool_new(&p, &o) != PGPOOL_OK)
        exit(1);
    pgpool_conn *c;
    if (pgpool_acquire(&c, p, 10000) != PGPOOL_OK)
        exit(1);
    pgpool_release(c);
    sleep_ms(300);
    const char *script = getenv("PGPOOL_SELECT1_SQL");
    double ref = pgbench_tps(N_CONN, script ? script : "select1.sql");
    char cse[128];
    double at_n = 0;
    for (int k = 1; k <= 4; k *= 2) {
        double tps = run_load(p, N_CONN * k, 3.0, 0);
        if (k == 1)
            at_n = tps;
        snprintf(cse, sizeof cse, "SELECT 1 prepared, %d connections, %d threads", N_CONN,
                 N_CONN * k);
        emit(cse, "queries_per_s", tps, "pgbench -c N -j 2 -M prepared", ref,
             ref > 0 ? tps / ref : 0);
    }
    double cpr = run_load(NULL, N_CONN, 2.0, 1);
    snprintf(cse, sizeof cse, "connect-per-request, %d threads", N_CONN);
    emit(cse, "queries_per_s", cpr, "pool at N threads", at_n, at_n > 0 ? cpr / at_n : 0);
    pgpool_free(p);
}

/* ------------------------------------------------------------ spike */

static int slow_hook(PGconn *pg, void *ud)
{
    (void)pg;
    (void)ud;
    sleep_ms(150);
    return 0;
}

static void *spike_worker(void *arg)
{
    pgpool *p = arg;
    pgpool_conn *c;
    if (pgpool_acquire(&c, p, 30000) != PGPOOL_OK)
        return NULL;
    PQclear(PQexec(pgpool_conn_pg(c), "SELECT pg_sleep(0.002)"));
    pgpool_release(c);
    return NULL;
}

static void bench_spike(void)
{
    pgpool_options o = PGPOOL_OPTIONS_INIT;
    o.conninfo = url;
    o.min_idle = 5;
    o.max_size = 50;
    o.on_connect = slow_hook;
    pgpool *p;
    if (pgpool_new(&p, &o) != PGPOOL_OK)
        exit(1);
    pgpool_stats st = PGPOOL_STATS_INIT;
    for (int i = 0; i < 400; i++) {
        if (pgpool_stats_get(&st, p) == PGPOOL_OK && st.idle >= 5)
            break;
        sleep_ms(10);
    }
    pthread_t t[50];
    int64_t t0 = now_ns();
    for (int i = 0; i < 50; i++)
        pthread_create(&t[i], NULL, spike_worker, p);
    for (int i = 0; i < 50; i++)
        pthread_join(t[i], NULL);
    double ms = (double)(now_ns() - t0) / 1e6;
    if (pgpool_stats_get(&st, p) != PGPOOL_OK)
        exit(1);
    double conns = st.total;
    emit("HikariCP spike: min_idle 5, max 50, connect +150 ms, 50 threads x 2 ms",
         "connections_at_burst_end", conns, "HikariCP (published)", 5, conns > 0 ? 5 / conns : 0);
    emit("HikariCP spike: min_idle 5, max 50, connect +150 ms, 50 threads x 2 ms", "burst_ms", ms,
         "one connect (150 ms hook)", 150, 150 / ms);
    pgpool_free(p);
}

/* ------------------------------------------------------------ recovery */

static atomic_llong first_ok_ns;
static atomic_int recovery_stop;

static void *recovery_worker(void *arg)
{
    pgpool *p = arg;
    while (!atomic_load(&recovery_stop)) {
        pgpool_conn *c;
        if (pgpool_acquire(&c, p, 200) != PGPOOL_OK)
            continue;
        PGresult *r = PQexec(pgpool_conn_pg(c), "SELECT 1");
        int ok = PQresultStatus(r) == PGRES_TUPLES_OK;
        PQclear(r);
        pgpool_release(c);
        if (ok) {
            long long zero = 0;
            atomic_compare_exchange_strong(&first_ok_ns, &zero, (long long)now_ns());
        }
        sleep_ms(1);
    }
    return NULL;
}

static void bench_recovery(void)
{
    const char *script = getenv("PGPOOL_PG_SCRIPT"), *dir = getenv("INGEST_PG_DIR");
    if (!script || !dir)
        return;
    pgpool_options o = PGPOOL_OPTIONS_INIT;
    o.conninfo = url;
    o.min_idle = 2;
    o.max_size = 4;
    pgpool *p;
    if (pgpool_new(&p, &o) != PGPOOL_OK)
        exit(1);
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, recovery_worker, p);
    sleep_ms(300);
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "'%s' halt '%s' >/dev/null 2>&1", script, dir);
    if (system(cmd) != 0)
        fprintf(stderr, "halt failed\n");
    sleep_ms(1000);
    atomic_store(&first_ok_ns, 0);
    snprintf(cmd, sizeof cmd, "'%s' resume '%s' >/dev/null 2>&1", script, dir);
    if (system(cmd) != 0)
        fprintf(stderr, "resume failed\n");
    /* pg_ctl -w returns once the server accepts connections */
    int64_t ready = now_ns();
    for (int i = 0; i < 1000 && atomic_load(&first_ok_ns) == 0; i++)
        sleep_ms(5);
    int64_t first = atomic_load(&first_ok_ns);
    atomic_store(&recovery_stop, 1);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    double ms = first ? (double)(first - ready) / 1e6 : -1;
    if (ms < 0 && first)
        ms = 0; /* served before pg_ctl even returned */
    emit("recovery after restart, 4 threads under load", "ms_to_first_acquire", ms,
         "backoff_max_ms", (double)o.backoff_max_ms, ms > 0 ? (double)o.backoff_max_ms / ms : 0);
    pgpool_free(p);
}

int main(void)
{
    url = getenv("DATABASE_URL");
    if (!url || !*url)
        return 77;
    signal(SIGPIPE, SIG_IGN);
    bench_acquire_release();
    bench_select();
    bench_spike();
    bench_recovery();
    return 0;
}
