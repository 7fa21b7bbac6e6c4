/*
 * libpgpool benchmarks (docs/design.md section 6): one JSON line per figure on
 * stdout. Needs DATABASE_URL (scripts/bench starts a server); without it
 * prints nothing and exits 77. A reference that cannot be measured (pgbench
 * missing or failing) ends the benchmark with exit status 1.
 *
 * Figures with a reference are medians of RUNS runs interleaved with RUNS
 * runs of the reference, in alternating order ("runs" gives the pairs):
 *  - acquire+release of an idle connection, uncontended, vs a pthread mutex
 *    lock+unlock pair (ratio = reference ns / pool ns);
 *  - SELECT 1 (prepared) through the pool with N connections at T = N, 2N,
 *    4N threads vs pgbench -n -c T -j 2 -M prepared, the same number of
 *    clients each with a connection of its own (ratio = pool tps / pgbench);
 *  - SELECT 1 (prepared) through the pool with N connections at T = N, 2N,
 *    4N threads vs a minimal pool in the same process (an array of PGconn
 *    behind one mutex and one condition variable, about 40 lines, below):
 *    what the pool's features cost under contention (ratio = pool tps /
 *    minimal pool tps);
 *  - connect-per-request at N threads vs the pool with N connections at N
 *    threads, both running the same unprepared SELECT 1.
 * Figures with a published or configured figure beside them print it as a
 * "target" without a ratio ("runs" is then the number of runs of the value):
 *  - HikariCP's spike test: min_idle 5, max 50, on_connect +150 ms, 50
 *    threads at once each running a 2 ms query;
 *  - recovery: from the server accepting connections again after a restart
 *    to the first successful acquire under load (needs PGPOOL_PG_SCRIPT and
 *    INGEST_PG_DIR); no recovery within 10 s is a failure.
 * BENCH_QUICK=1 in the environment shortens every run (a smoke run).
 * PGPOOL_BENCH=acquire,minimal,pgbench,connect,spike,recovery (any subset)
 * runs only those parts; unset runs all.
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
           "\"reference\":\"%s\",\"reference_value\":%.6g,\"ratio\":%.3f,\"runs\":%d}\n",
           cse, metric, value, ref, refv, ratio, RUNS);
    fflush(stdout);
}

/* A published or configured figure is a target, not a measured reference:
 * printed beside the value, without a ratio. */
static void emit_target(const char *cse, const char *metric, double value, const char *target,
                        double targetv, int runs)
{
    printf("{\"bench\":\"pgpool\",\"case\":\"%s\",\"metric\":\"%s\",\"value\":%.6g,"
           "\"target\":\"%s\",\"target_value\":%.6g,\"runs\":%d}\n",
           cse, metric, value, target, targetv, runs);
    fflush(stdout);
}

static const char *url;
static int quick;

/* Is part name selected by PGPOOL_BENCH (unset: every part)? */
static int part(const char *name)
{
    const char *only = getenv("PGPOOL_BENCH");
    return !only || !*only || strstr(only, name) != NULL;
}

/* Run r measures the reference first when r is even, the value first when odd. */
static int ref_first(int r)
{
    return r % 2 == 0;
}

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
    const int iters = quick ? 100000 : 1000000;
    double pool_ns[RUNS], mutex_ns[RUNS];
    pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
    for (int r = 0; r < RUNS; r++) {
        for (int side = 0; side < 2; side++) {
            int64_t t0 = now_ns();
            if ((side == 0) == ref_first(r)) {
                for (int i = 0; i < iters; i++) {
                    pthread_mutex_lock(&m);
                    __asm__ volatile("" ::: "memory");
                    pthread_mutex_unlock(&m);
                }
                mutex_ns[r] = (double)(now_ns() - t0) / iters;
            } else {
                for (int i = 0; i < iters; i++) {
                    if (pgpool_acquire(&c, p, 1000) != PGPOOL_OK)
                        exit(1);
                    pgpool_release(c);
                }
                pool_ns[r] = (double)(now_ns() - t0) / iters;
            }
        }
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

/* The reference for contention: the smallest correct pool, a stack of open
 * connections behind one mutex and one condition variable, no deadline, no
 * checks, no statistics. */
typedef struct minpool {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    PGconn *free[N_CONN];
    int n_free;
    long acquires, waits; /* acquires, and those that found no connection free */
} minpool;

static void minpool_init(minpool *m)
{
    pthread_mutex_init(&m->mu, NULL);
    pthread_cond_init(&m->cv, NULL);
    m->n_free = 0;
    m->acquires = m->waits = 0;
    for (int i = 0; i < N_CONN; i++) {
        PGconn *pg = PQconnectdb(url);
        if (PQstatus(pg) != CONNECTION_OK || prepare_hook(pg, NULL) != 0) {
            fprintf(stderr, "bench-pgpool: the minimal pool cannot connect\n");
            exit(1);
        }
        m->free[m->n_free++] = pg;
    }
}

static PGconn *minpool_acquire(minpool *m)
{
    pthread_mutex_lock(&m->mu);
    m->acquires++;
    m->waits += m->n_free == 0;
    while (m->n_free == 0)
        pthread_cond_wait(&m->cv, &m->mu);
    PGconn *pg = m->free[--m->n_free];
    pthread_mutex_unlock(&m->mu);
    return pg;
}

static void minpool_release(minpool *m, PGconn *pg)
{
    pthread_mutex_lock(&m->mu);
    m->free[m->n_free++] = pg;
    pthread_cond_signal(&m->cv);
    pthread_mutex_unlock(&m->mu);
}

static void minpool_destroy(minpool *m)
{
    for (int i = 0; i < m->n_free; i++)
        PQfinish(m->free[i]);
    pthread_cond_destroy(&m->cv);
    pthread_mutex_destroy(&m->mu);
}

/* How a load thread runs its SELECT 1. */
typedef enum load_mode {
    LOAD_POOL_PREPARED, /* through the pool, the statement prepared by on_connect */
    LOAD_MINIMAL,       /* through the minimal pool, prepared */
    LOAD_POOL_SIMPLE,   /* through the pool, PQexec */
    LOAD_CONNECT_EACH,  /* a new connection per query, PQexec */
} load_mode;

typedef struct load {
    pgpool *p;
    minpool *m;
    int64_t end;
    long n;
    load_mode mode;
} load;

static void *select_worker(void *arg)
{
    load *l = arg;
    while (now_ns() < l->end) {
        if (l->mode == LOAD_CONNECT_EACH) {
            PGconn *pg = PQconnectdb(url);
            PGresult *r = PQexec(pg, "SELECT 1");
            if (PQresultStatus(r) == PGRES_TUPLES_OK)
                l->n++;
            PQclear(r);
            PQfinish(pg);
            continue;
        }
        if (l->mode == LOAD_MINIMAL) {
            PGconn *pg = minpool_acquire(l->m);
            PGresult *r = PQexecPrepared(pg, "s1", 0, NULL, NULL, NULL, 0);
            if (PQresultStatus(r) == PGRES_TUPLES_OK)
                l->n++;
            PQclear(r);
            minpool_release(l->m, pg);
            continue;
        }
        pgpool_conn *c;
        if (pgpool_acquire(&c, l->p, 10000) != PGPOOL_OK)
            continue;
        PGresult *r = l->mode == LOAD_POOL_PREPARED
                          ? PQexecPrepared(pgpool_conn_pg(c), "s1", 0, NULL, NULL, NULL, 0)
                          : PQexec(pgpool_conn_pg(c), "SELECT 1");
        if (PQresultStatus(r) == PGRES_TUPLES_OK)
            l->n++;
        PQclear(r);
        pgpool_release(c);
    }
    return NULL;
}

static double run_load(pgpool *p, minpool *m, int threads, double secs, load_mode mode)
{
    pthread_t t[64];
    load l[64];
    int64_t end = now_ns() + (int64_t)(secs * 1e9);
    int64_t t0 = now_ns();
    for (int i = 0; i < threads; i++) {
        l[i] = (load){ p, m, end, 0, mode };
        pthread_create(&t[i], NULL, select_worker, &l[i]);
    }
    long total = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(t[i], NULL);
        total += l[i].n;
    }
    return (double)total / ((double)(now_ns() - t0) / 1e9);
}

/* pgbench's throughput without the time spent connecting: "tps = X (without
 * initial connection time)" since PostgreSQL 14, "tps = X (excluding
 * connections establishing)" before. Anything else (pgbench missing, failing
 * or printing neither) ends the benchmark: the reference cannot be measured. */
static double pgbench_tps(int clients, int secs, const char *script)
{
    const char *bin = getenv("PGBENCH");
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "%s -n -c %d -j 2 -T %d -M prepared -f '%s' '%s' 2>&1",
             bin && *bin ? bin : "pgbench", clients, secs, script, url);
    FILE *f = popen(cmd, "r");
    if (!f) {
        fprintf(stderr, "bench-pgpool: cannot run pgbench\n");
        exit(1);
    }
    double tps = -1;
    char line[512], out[8192] = "";
    while (fgets(line, sizeof line, f)) {
        double x;
        if (sscanf(line, "tps = %lf", &x) == 1 &&
            (strstr(line, "without initial connection time") ||
             strstr(line, "excluding connections establishing")))
            tps = x;
        else if (strlen(out) + strlen(line) < sizeof out)
            strcat(out, line);
    }
    int st = pclose(f);
    if (st != 0 || !(tps > 0)) {
        fprintf(stderr, "%sbench-pgpool: pgbench -c %d gave no throughput (status %d)\n", out,
                clients, st);
        exit(1);
    }
    return tps;
}

/* A pool of N_CONN connections with the statement prepared, warmed up. */
static pgpool *select_pool(void)
{
    pgpool_options o = PGPOOL_OPTIONS_INIT;
    o.conninfo = url;
    o.min_idle = N_CONN;
    o.max_size = N_CONN;
    o.on_connect = prepare_hook;
    pgpool *p;
    if (pgpool_new(&p, &o) != PGPOOL_OK || pgpool_wait_ready(p, 10000) != PGPOOL_OK)
        exit(1);
    sleep_ms(300);
    return p;
}

/* SELECT 1 through the pool at N, 2N and 4N threads against a reference:
 * the minimal pool (minimal != 0) or pgbench with as many clients. */
static void bench_select_vs(int minimal)
{
    pgpool *p = select_pool();
    minpool m;
    if (minimal)
        minpool_init(&m);
    const char *script = getenv("PGPOOL_SELECT1_SQL");
    const int secs = quick ? 1 : 3;
    char cse[128], refname[128];
    for (int k = 1; k <= 4; k *= 2) {
        int threads = N_CONN * k;
        double tps[RUNS], ref[RUNS];
        pgpool_stats st0 = PGPOOL_STATS_INIT, st1 = PGPOOL_STATS_INIT;
        if (pgpool_stats_get(&st0, p) != PGPOOL_OK)
            exit(1);
        if (minimal)
            m.acquires = m.waits = 0;
        for (int r = 0; r < RUNS; r++) {
            for (int side = 0; side < 2; side++) {
                if ((side == 0) == ref_first(r))
                    ref[r] = minimal ? run_load(NULL, &m, threads, secs, LOAD_MINIMAL)
                                     : pgbench_tps(threads, secs, script ? script : "select1.sql");
                else
                    tps[r] = run_load(p, NULL, threads, secs, LOAD_POOL_PREPARED);
            }
        }
        double v = median(tps, RUNS), rv = median(ref, RUNS);
        if (pgpool_stats_get(&st1, p) != PGPOOL_OK)
            exit(1);
        /* For people: how often a checkout had to wait (a handoff to a
         * sleeping thread in the pool), on each side. */
        if (minimal)
            fprintf(stderr,
                    "%d threads: %.0f%% of the pool's checkouts waited, %.0f%% of the "
                    "minimal pool's\n",
                    threads,
                    100.0 * (double)(st1.waits - st0.waits) / (double)(st1.acquires - st0.acquires),
                    100.0 * (double)m.waits / (double)m.acquires);
        snprintf(cse, sizeof cse, "SELECT 1 prepared, %d connections, %d threads", N_CONN, threads);
        if (minimal)
            snprintf(refname, sizeof refname, "minimal mutex+condvar pool, %d connections", N_CONN);
        else
            snprintf(refname, sizeof refname, "pgbench -c %d -j 2 -M prepared", threads);
        emit(cse, "queries_per_s", v, refname, rv, v / rv);
    }
    if (minimal)
        minpool_destroy(&m);
    pgpool_free(p);
}

static void bench_connect_each(void)
{
    pgpool_options o = PGPOOL_OPTIONS_INIT;
    o.conninfo = url;
    o.min_idle = N_CONN;
    o.max_size = N_CONN;
    pgpool *p;
    pgpool_conn *c;
    const int secs = quick ? 1 : 3;
    char cse[128], refname[128];
    /* Connect-per-request against the pool, both with the same unprepared
     * statement at the same number of threads. */
    if (pgpool_new(&p, &o) != PGPOOL_OK)
        exit(1);
    if (pgpool_acquire(&c, p, 10000) != PGPOOL_OK)
        exit(1);
    pgpool_release(c);
    sleep_ms(300);
    double cpr[RUNS], pool[RUNS];
    for (int r = 0; r < RUNS; r++) {
        for (int side = 0; side < 2; side++) {
            if ((side == 0) == ref_first(r))
                pool[r] = run_load(p, NULL, N_CONN, secs, LOAD_POOL_SIMPLE);
            else
                cpr[r] = run_load(NULL, NULL, N_CONN, secs, LOAD_CONNECT_EACH);
        }
    }
    double v = median(cpr, RUNS), rv = median(pool, RUNS);
    if (!(rv > 0)) {
        fprintf(stderr, "bench-pgpool: the pool ran no query\n");
        exit(1);
    }
    snprintf(cse, sizeof cse, "connect-per-request SELECT 1, %d threads", N_CONN);
    snprintf(refname, sizeof refname, "pool SELECT 1, %d connections, %d threads", N_CONN, N_CONN);
    emit(cse, "queries_per_s", v, refname, rv, v / rv);
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

/* One spike run: connections open at the end of the burst, burst ms. */
static void spike_once(double *conns, double *ms)
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
    *ms = (double)(now_ns() - t0) / 1e6;
    if (pgpool_stats_get(&st, p) != PGPOOL_OK)
        exit(1);
    *conns = st.total;
    pgpool_free(p);
}

static void bench_spike(void)
{
    double conns[RUNS], ms[RUNS];
    for (int r = 0; r < RUNS; r++)
        spike_once(&conns[r], &ms[r]);
    const char *cse = "HikariCP spike: min_idle 5, max 50, connect +150 ms, 50 threads x 2 ms";
    emit_target(cse, "connections_at_burst_end", median(conns, RUNS), "HikariCP (published)", 5,
                RUNS);
    emit_target(cse, "burst_ms", median(ms, RUNS), "one connect (150 ms hook)", 150, RUNS);
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
    if (!script || !dir) {
        fprintf(stderr, "bench-pgpool: recovery not measured (PGPOOL_PG_SCRIPT or INGEST_PG_DIR "
                        "unset)\n");
        return;
    }
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
    for (int i = 0; i < 2000 && atomic_load(&first_ok_ns) == 0; i++)
        sleep_ms(5);
    int64_t first = atomic_load(&first_ok_ns);
    atomic_store(&recovery_stop, 1);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    if (!first) {
        fprintf(stderr, "bench-pgpool: no acquire succeeded within 10 s of the restart\n");
        exit(1);
    }
    double ms = (double)(first - ready) / 1e6;
    if (ms < 0)
        ms = 0; /* served before pg_ctl even returned */
    emit_target("recovery after restart, 4 threads under load", "ms_to_first_acquire", ms,
                "at most backoff_max_ms", (double)o.backoff_max_ms, 1);
    pgpool_free(p);
}

int main(void)
{
    url = getenv("DATABASE_URL");
    if (!url || !*url)
        return 77;
    const char *q = getenv("BENCH_QUICK");
    quick = q && *q && strcmp(q, "0") != 0;
    signal(SIGPIPE, SIG_IGN);
    if (part("acquire"))
        bench_acquire_release();
    if (part("minimal"))
        bench_select_vs(1);
    if (part("pgbench"))
        bench_select_vs(0);
    if (part("connect"))
        bench_connect_each();
    if (part("spike"))
        bench_spike();
    if (part("recovery"))
        bench_recovery();
    return 0;
}
