/*
 * Ingest throughput: the ingestor backfilling generated minute bars from
 * polygon-replay on loopback into ohlcv, with full validation, three times:
 * into an empty table (the first load), the same bars again (a re-run: every
 * bar unchanged) and the bars with 1 in 100 restated (its volume changed),
 * served by a second replay. The reference is a plain psql \copy of the same
 * rows into an empty table, the floor of loading them into PostgreSQL; the
 * same three loads through psql the idempotent way (\copy into a temporary
 * table, then INSERT .. ON CONFLICT .. WHERE IS DISTINCT FROM) are a second
 * reference. Each load is checked: every bar stored once, no row updated by
 * the re-run, exactly the restated rows updated by the restatement. Also the
 * ingestor's peak memory at the full size and at a quarter of it: pages are
 * streamed, so it must not grow with the number of bars.
 *
 * The three sides (ingestor, psql upsert, psql plain) run RUNS times each,
 * interleaved: the ingestor first in even runs and last in odd ones, every
 * load after a CHECKPOINT, so that the WAL and checkpoint work one load
 * leaves behind does not always land on the same side. Figures are medians;
 * "runs" gives the number of runs of each side. A reference load that fails
 * ends the benchmark with exit status 1.
 *   bench-ingest INGESTOR REPLAY        (DATABASE_URL from scripts/bench)
 * BENCH_QUICK=1 in the environment loads 4 symbols of 5000 bars (a smoke run).
 */
#include <dirent.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "harness.h"

#define MAX_SYMBOLS 20
#define RUNS        5
#define KEY         "bench-key-1234"

static int SYMBOLS = MAX_SYMBOLS, BARS_PER_SYMBOL = 60000;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return v[n / 2];
}

/* Per-symbol CSV files for the replay and COPY files for psql: the bars
 * (data/, copy.txt, plain.txt) and the same bars with one in RESTATE_EVERY
 * restated, its volume one higher (restated/, copy_restated.txt). */
#define RESTATE_EVERY 100

static FILE *open_or_die(const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        exit(1);
    }
    return f;
}

static void generate(const char *dir)
{
    char path[512];
    snprintf(path, sizeof path, "%s/copy.txt", dir);
    FILE *copy = open_or_die(path);
    snprintf(path, sizeof path, "%s/copy_restated.txt", dir);
    FILE *copy2 = open_or_die(path);
    snprintf(path, sizeof path, "%s/plain.txt", dir);
    FILE *plain = open_or_die(path);
    uint64_t rng = 88172645463325252ULL;
    /* 2024-01-01 00:00 in New York, where the ingestor's dates are days */
    const int64_t start = INT64_C(1704085200000);
    for (int s = 0; s < SYMBOLS; s++) {
        char sym[16];
        snprintf(sym, sizeof sym, "SYM%02d", s);
        snprintf(path, sizeof path, "%s/data/%s-raw-minute.csv", dir, sym);
        FILE *f = open_or_die(path);
        snprintf(path, sizeof path, "%s/restated/%s-raw-minute.csv", dir, sym);
        FILE *f2 = open_or_die(path);
        fputs("timestamp_ms,open,high,low,close,volume,vwap,trades\n", f);
        fputs("timestamp_ms,open,high,low,close,volume,vwap,trades\n", f2);
        double price = 100.0 + s;
        for (int i = 0; i < BARS_PER_SYMBOL; i++) {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            double u = (double)(rng >> 11) / 9007199254740992.0;
            double open = price, close = price * (1.0 + (u - 0.5) * 0.002);
            double high = fmax(open, close) * 1.0005, low = fmin(open, close) * 0.9995;
            double volume = 1000.0 + (double)(rng % 5000), vwap = (high + low + close) / 3.0;
            double volume2 = volume + (i % RESTATE_EVERY == RESTATE_EVERY / 2 ? 1.0 : 0.0);
            long trades = 10 + (long)(rng % 90);
            int64_t ts = start + (int64_t)i * 60000;
            fprintf(f, "%lld,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%ld\n", (long long)ts, open, high,
                    low, close, volume, vwap, trades);
            fprintf(f2, "%lld,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%ld\n", (long long)ts, open, high,
                    low, close, volume2, vwap, trades);
            fprintf(copy, "%s\t%lld\t%.17g\t%.17g\t%.17g\t%.17g\t%.17g\t%.17g\t%ld\n", sym,
                    (long long)ts, open, high, low, close, volume, vwap, trades);
            fprintf(copy2, "%s\t%lld\t%.17g\t%.17g\t%.17g\t%.17g\t%.17g\t%.17g\t%ld\n", sym,
                    (long long)ts, open, high, low, close, volume2, vwap, trades);
            time_t secs = (time_t)(ts / 1000);
            struct tm tm;
            gmtime_r(&secs, &tm);
            fprintf(plain,
                    "%s\tminute\t1\t%04d-%02d-%02d %02d:%02d:%02d+00\t%.17g\t%.17g\t%.17g\t"
                    "%.17g\t%.17g\t%.17g\t%ld\ttrue\tpsql\n",
                    sym, tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                    tm.tm_sec, open, high, low, close, volume, vwap, trades);
            price = close;
        }
        fclose(f);
        fclose(f2);
    }
    fclose(copy);
    fclose(copy2);
    fclose(plain);
}

static PGconn *db(const char *url)
{
    PGconn *c = PQconnectdb(url);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "%s", PQerrorMessage(c));
        exit(1);
    }
    return c;
}

static void exec(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
        fprintf(stderr, "%s: %s", sql, PQresultErrorMessage(r));
        exit(1);
    }
    PQclear(r);
}

static long long count(PGconn *c, const char *table)
{
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", table);
    PGresult *r = PQexec(c, sql);
    long long n = atoll(PQgetvalue(r, 0, 0));
    PQclear(r);
    return n;
}

/* Run argv with env; wall seconds, peak RSS (MB) of the child. */
static double last_child_cpu; /* CPU seconds (user + system) of the last run_timed child */

static int run_timed(const char *const *argv, const char *const *env, double *secs, double *rss_mb)
{
    double t0 = now_s();
    pid_t pid = fork();
    if (pid == 0) {
        for (int i = 0; env && env[i]; i++) {
            const char *eq = strchr(env[i], '=');
            char name[64];
            snprintf(name, sizeof name, "%.*s", (int)(eq - env[i]), env[i]);
            setenv(name, eq + 1, 1);
        }
        if (!freopen("/dev/null", "w", stdout))
            _exit(127);
        char *copy[32];
        int n = 0;
        for (; argv[n]; n++)
            copy[n] = (char *)(uintptr_t)argv[n];
        copy[n] = NULL;
        execvp(copy[0], copy);
        _exit(127);
    }
    int status;
    struct rusage ru;
    wait4(pid, &status, 0, &ru);
    *secs = now_s() - t0;
    if (rss_mb)
        *rss_mb = (double)ru.ru_maxrss / 1024.0;
    last_child_cpu = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                     (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

/* The replays are stopped however the benchmark ends: a server left behind
 * would hold the test runner's output pipe open. */
static replay_proc replays[2];
static int running_replays;

static void stop_replays(void)
{
    while (running_replays > 0)
        replay_stop(&replays[--running_replays]);
}

static const char *find_psql(void)
{
    static char path[256];
    if (system("command -v psql >/dev/null 2>&1") == 0)
        return "psql";
    for (int v = 20; v >= 10; v--) {
        snprintf(path, sizeof path, "/usr/lib/postgresql/%d/bin/psql", v);
        if (access(path, X_OK) == 0)
            return path;
    }
    return NULL;
}

/*
 * CPU seconds from /proc/PID/stat: user + system, and with children also the
 * CPU of its children that have ended. false when the process is gone.
 */
static bool proc_cpu(pid_t pid, bool children, pid_t *ppid, double *cpu)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')'); /* after the command name */
    long long v[15] = { 0 };
    int got = p ? sscanf(p + 2, "%*c %lld %*d %*d %*d %*d %*u %*u %*u %*u %*u %lld %lld %lld %lld",
                         &v[0], &v[1], &v[2], &v[3], &v[4])
                : 0;
    if (got != 5)
        return false;
    *ppid = (pid_t)v[0];
    *cpu = (double)(v[1] + v[2] + (children ? v[3] + v[4] : 0)) / (double)sysconf(_SC_CLK_TCK);
    return true;
}

/* CPU seconds of the whole server: the postmaster, its live processes and
 * the ones that have ended (backends of closed connections). */
static double server_cpu(pid_t postmaster)
{
    double total = 0, cpu;
    pid_t ppid;
    DIR *d = opendir("/proc");
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        char *end;
        long pid = strtol(e->d_name, &end, 10);
        if (*end == '\0' && pid > 0 && proc_cpu((pid_t)pid, false, &ppid, &cpu) &&
            ppid == postmaster)
            total += cpu;
    }
    if (d)
        closedir(d);
    if (proc_cpu(postmaster, true, &ppid, &cpu))
        total += cpu;
    return total;
}

static pid_t postmaster_pid(PGconn *c)
{
    PGresult *r = PQexec(c, "SHOW data_directory");
    pid_t pid = 0;
    if (PQresultStatus(r) == PGRES_TUPLES_OK) {
        char path[600];
        snprintf(path, sizeof path, "%s/postmaster.pid", PQgetvalue(r, 0, 0));
        FILE *f = fopen(path, "r");
        long v;
        if (f && fscanf(f, "%ld", &v) == 1)
            pid = (pid_t)v;
        if (f)
            fclose(f);
    }
    PQclear(r);
    return pid;
}

static double replay_cpu(const replay_proc *rp)
{
    double cpu = 0;
    pid_t ppid;
    return proc_cpu(rp->pid, true, &ppid, &cpu) ? cpu : 0;
}

static long long query_ll(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        fprintf(stderr, "%s: %s", sql, PQresultErrorMessage(r));
        exit(1);
    }
    long long n = atoll(PQgetvalue(r, 0, 0));
    PQclear(r);
    return n;
}

/* The psql load of the copy file into ohlcv_ref through a temporary table
 * and INSERT .. ON CONFLICT, as a script. */
static void write_upsert_sql(const char *sql_path, const char *copy_path)
{
    FILE *f = open_or_die(sql_path);
    fprintf(f,
            "BEGIN;\n"
            "CREATE TEMP TABLE stage (symbol text, ts_ms bigint, open float8, high float8,"
            " low float8, close float8, volume float8, vwap float8, transactions bigint)"
            " ON COMMIT DROP;\n"
            "\\copy stage FROM '%s'\n"
            "INSERT INTO ohlcv_ref (symbol, timespan, multiplier, ts, open, high, low, close,"
            " volume, vwap, transactions, adjusted, source)"
            " SELECT symbol, 'minute', 1, 'epoch'::timestamptz + ts_ms * interval '1 millisecond',"
            " open, high, low, close, volume, vwap, transactions, true, 'psql' FROM stage"
            " ON CONFLICT (symbol, timespan, multiplier, ts) DO UPDATE SET open = EXCLUDED.open,"
            " high = EXCLUDED.high, low = EXCLUDED.low, close = EXCLUDED.close,"
            " volume = EXCLUDED.volume, vwap = EXCLUDED.vwap,"
            " transactions = EXCLUDED.transactions, updated_at = now()"
            " WHERE (ohlcv_ref.open, ohlcv_ref.high, ohlcv_ref.low, ohlcv_ref.close,"
            " ohlcv_ref.volume, ohlcv_ref.vwap, ohlcv_ref.transactions) IS DISTINCT FROM"
            " (EXCLUDED.open, EXCLUDED.high, EXCLUDED.low, EXCLUDED.close, EXCLUDED.volume,"
            " EXCLUDED.vwap, EXCLUDED.transactions);\n"
            "COMMIT;\n",
            copy_path);
    fclose(f);
}

/* Rows of table that a later load updated. */
static long long restated_rows(PGconn *c, const char *table)
{
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s WHERE updated_at > ingested_at", table);
    return query_ll(c, sql);
}

/* The three loads of one side, in order: into an empty table, the same bars
 * again, the restated bars. */
enum { FIRST, RERUN, RESTATE, LOADS };
static const char *const load_name[LOADS] = { "first load", "re-run", "1% restatement" };

static void line(const char *casename, const char *metric, double v, const char *ref, double r,
                 double ratio, int runs)
{
    printf("{\"bench\":\"ingest\",\"case\":\"%s\",\"metric\":\"%s\",\"value\":%.1f,"
           "\"reference\":\"%s\",\"reference_value\":%.1f,\"ratio\":%.3f,\"runs\":%d}\n",
           casename, metric, v, ref, r, ratio, runs);
}

int main(int argc, char **argv)
{
    const char *base = getenv("DATABASE_URL");
    if (argc != 3 || !base) {
        fprintf(stderr, "usage: DATABASE_URL=... %s INGESTOR REPLAY\n", argv[0]);
        return 77;
    }
    const char *psql = find_psql();
    if (!psql) { /* the references cannot be measured */
        fprintf(stderr, "psql not found: no reference\n");
        return 1;
    }
    const char *quick = getenv("BENCH_QUICK");
    if (quick && *quick && strcmp(quick, "0") != 0) {
        SYMBOLS = 4;
        BARS_PER_SYMBOL = 5000;
    }
    char dir[] = "/tmp/bench-ingest.XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    char path[600], path2[600];
    snprintf(path, sizeof path, "%s/data", dir);
    snprintf(path2, sizeof path2, "%s/restated", dir);
    if (mkdir(path, 0755) != 0 || mkdir(path2, 0755) != 0)
        return 1;
    generate(dir);

    /* A database of the benchmark's own. */
    PGconn *admin = db(base);
    exec(admin, "DROP DATABASE IF EXISTS bench_ingest WITH (FORCE)");
    exec(admin, "CREATE DATABASE bench_ingest");
    const char *slash = strrchr(base, '/');
    char url[512];
    snprintf(url, sizeof url, "%.*s/bench_ingest", (int)(slash - base), base);

    /* One replay serves the bars, the other the restated bars. */
    const char *rargs[] = { "--api-key", KEY, NULL };
    if (replay_start(&replays[0], argv[2], path, rargs) != 0 ||
        (running_replays = 1, replay_start(&replays[1], argv[2], path2, rargs) != 0)) {
        fprintf(stderr, "polygon-replay did not start\n");
        return 1;
    }
    running_replays = 2;
    atexit(stop_replays);
    char e_url[600], e_base[128], e_base2[128];
    snprintf(e_url, sizeof e_url, "DATABASE_URL=%s", url);
    snprintf(e_base, sizeof e_base, "POLYGON_BASE_URL=%s", replays[0].base);
    snprintf(e_base2, sizeof e_base2, "POLYGON_BASE_URL=%s", replays[1].base);
    const char *env[] = { e_url,
                          e_base,
                          "POLYGON_API_KEY=" KEY,
                          "POLYGON_RATE_LIMIT_PER_MIN=0",
                          "POLYGON_PAGE_LIMIT=50000",
                          "API_WORKERS=2",
                          "DQ_CALENDAR=24x7",
                          "LOG_LEVEL=WARNING",
                          NULL };
    const char *env2[sizeof env / sizeof env[0]];
    memcpy(env2, env, sizeof env);
    env2[1] = e_base2;
    double secs, rss;
    const char *mig[] = { argv[1], "migrate", NULL };
    if (run_timed(mig, env, &secs, NULL) != 0)
        return 1;

    char symbols[MAX_SYMBOLS * 8] = "", quarter[MAX_SYMBOLS * 8] = "";
    for (int s = 0; s < SYMBOLS; s++) {
        char one[16];
        snprintf(one, sizeof one, "%sSYM%02d", s ? "," : "", s);
        strcat(symbols, one);
        if (s < SYMBOLS / 4)
            strcat(quarter, one);
    }
    const char *bf[] = { argv[1], "backfill",   "--symbols",  symbols,  "--from", "2024-01-01",
                         "--to",  "2024-03-31", "--timespan", "minute", NULL };
    const char *bfq[] = { argv[1], "backfill",   "--symbols",  quarter,  "--from", "2024-01-01",
                          "--to",  "2024-03-31", "--timespan", "minute", NULL };

    PGconn *c = db(url);
    exec(c, "SET client_min_messages = warning");
    exec(c, "CREATE TABLE ohlcv_ref (LIKE ohlcv INCLUDING ALL)");
    char sql_path[600], sql_path2[600], copy_path[600];
    snprintf(copy_path, sizeof copy_path, "%s/copy.txt", dir);
    snprintf(sql_path, sizeof sql_path, "%s/upsert.sql", dir);
    write_upsert_sql(sql_path, copy_path);
    snprintf(copy_path, sizeof copy_path, "%s/copy_restated.txt", dir);
    snprintf(sql_path2, sizeof sql_path2, "%s/upsert_restated.sql", dir);
    write_upsert_sql(sql_path2, copy_path);
    snprintf(path, sizeof path, "%s/plain.sql", dir);
    FILE *f = open_or_die(path);
    fprintf(f,
            "\\copy ohlcv_ref (symbol, timespan, multiplier, ts, open, high, low, close,"
            " volume, vwap, transactions, adjusted, source) FROM '%s/plain.txt'\n",
            dir);
    fclose(f);

    const double total = (double)SYMBOLS * BARS_PER_SYMBOL;
    const long long restated = (long long)SYMBOLS * (BARS_PER_SYMBOL / RESTATE_EVERY);
    double ing[LOADS][RUNS], ups[LOADS][RUNS], plain[RUNS], rss_full[RUNS], rss_q = 0;
    /* CPU seconds of the first load, per process, and of the plain copy */
    double cpu_ing[RUNS], cpu_replay[RUNS], cpu_server[RUNS], cpu_psql[RUNS], cpu_server_pl[RUNS];
    const pid_t postmaster = postmaster_pid(c);
    if (postmaster <= 0 || server_cpu(postmaster) <= 0) {
        fprintf(stderr, "the server's processes cannot be measured\n");
        return 1;
    }
    char e_url2[600];
    snprintf(e_url2, sizeof e_url2, "%s", url);
    const char *up[] = { psql, "-X",   "-q", "-v",     "ON_ERROR_STOP=1",
                         "-d", e_url2, "-f", sql_path, NULL };
    const char *up2[] = { psql, "-X",   "-q", "-v",      "ON_ERROR_STOP=1",
                          "-d", e_url2, "-f", sql_path2, NULL };
    const char *pl[] = {
        psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", e_url2, "-f", path, NULL
    };
    for (int run = 0; run < RUNS; run++) {
        for (int step = 0; step < 3; step++) {
            /* even runs: ingestor, upsert, plain; odd runs: upsert, plain, ingestor */
            int which = run % 2 == 0 ? step : (step + 1) % 3;
            exec(c, "TRUNCATE ohlcv, ohlcv_quarantine, dq_runs, backfill_jobs, ohlcv_ref");
            exec(c, "CHECKPOINT");
            if (which == 0) {
                /* the first load, a re-run (nothing changes), the restated bars */
                for (int load = FIRST; load < LOADS; load++) {
                    if (load > FIRST)
                        exec(c, "CHECKPOINT");
                    double *peak = load == FIRST ? &rss : NULL;
                    double srv0 = server_cpu(postmaster), rep0 = replay_cpu(&replays[0]);
                    if (run_timed(bf, load == RESTATE ? env2 : env, &secs, peak) != 0 ||
                        count(c, "ohlcv") != (long long)total ||
                        restated_rows(c, "ohlcv") != (load == RESTATE ? restated : 0)) {
                        fprintf(stderr, "ingestor %s failed (%lld bars stored, %lld updated)\n",
                                load_name[load], count(c, "ohlcv"), restated_rows(c, "ohlcv"));
                        return 1;
                    }
                    ing[load][run] = total / secs;
                    if (load == FIRST) {
                        cpu_ing[run] = last_child_cpu;
                        cpu_replay[run] = replay_cpu(&replays[0]) - rep0;
                        cpu_server[run] = server_cpu(postmaster) - srv0;
                    }
                }
                rss_full[run] = rss;
            } else if (which == 1) {
                const char *const *argvs[LOADS] = { up, up, up2 };
                for (int load = FIRST; load < LOADS; load++) {
                    if (load > FIRST)
                        exec(c, "CHECKPOINT");
                    if (run_timed(argvs[load], NULL, &secs, NULL) != 0 ||
                        count(c, "ohlcv_ref") != (long long)total ||
                        restated_rows(c, "ohlcv_ref") != (load == RESTATE ? restated : 0)) {
                        fprintf(stderr,
                                "the psql reference (copy then upsert, %s) failed: no reference\n",
                                load_name[load]);
                        return 1;
                    }
                    ups[load][run] = total / secs;
                }
            } else {
                double srv0 = server_cpu(postmaster);
                if (run_timed(pl, NULL, &secs, NULL) != 0 ||
                    count(c, "ohlcv_ref") != (long long)total) {
                    fprintf(stderr, "the psql reference load (plain copy) failed: no reference\n");
                    return 1;
                }
                plain[run] = total / secs;
                cpu_psql[run] = last_child_cpu;
                cpu_server_pl[run] = server_cpu(postmaster) - srv0;
            }
        }
    }
    exec(c, "TRUNCATE ohlcv, ohlcv_quarantine, dq_runs, backfill_jobs");
    if (run_timed(bfq, env, &secs, &rss_q) != 0)
        return 1;

    double p = median(plain, RUNS);
    for (int load = FIRST; load < LOADS; load++) {
        double v = median(ing[load], RUNS), u = median(ups[load], RUNS);
        char casename[256];
        snprintf(casename, sizeof casename,
                 "%s: %d minute bars%s, %d symbols, pages of 50000, validation on, 2 workers",
                 load_name[load], (int)total,
                 load == FIRST   ? " into an empty table"
                 : load == RERUN ? " already stored, all unchanged"
                                 : " already stored, 1 in 100 restated",
                 SYMBOLS);
        /* plain \copy into an empty table: the floor of loading these bars */
        line(casename, "bars_per_s", v, "psql_plain_copy", p, v / p, RUNS);
        line(casename, "bars_per_s", v,
             load == FIRST   ? "psql_copy_then_upsert"
             : load == RERUN ? "psql_copy_then_upsert_rerun"
                             : "psql_copy_then_upsert_restated",
             u, v / u, RUNS);
    }
    /* Where the first load's CPU goes, next to the plain copy's: per million bars. */
    const double per_m = 1e6 / total;
    double c_ing = median(cpu_ing, RUNS) * per_m, c_rep = median(cpu_replay, RUNS) * per_m;
    double c_srv = median(cpu_server, RUNS) * per_m, c_psql = median(cpu_psql, RUNS) * per_m;
    double c_srv_pl = median(cpu_server_pl, RUNS) * per_m;
    double c_all[RUNS], c_all_pl[RUNS];
    for (int run = 0; run < RUNS; run++) {
        c_all[run] = (cpu_ing[run] + cpu_replay[run] + cpu_server[run]) * per_m;
        c_all_pl[run] = (cpu_psql[run] + cpu_server_pl[run]) * per_m;
    }
    double c_tot = median(c_all, RUNS), c_tot_pl = median(c_all_pl, RUNS);
    line("first load: CPU seconds per million bars, every process (ingestor, replay, PostgreSQL)",
         "cpu_s_per_million_bars", c_tot, "psql_plain_copy (psql, PostgreSQL)", c_tot_pl,
         c_tot_pl / c_tot, RUNS);
    line("first load: CPU seconds per million bars, PostgreSQL's processes",
         "cpu_s_per_million_bars", c_srv, "psql_plain_copy", c_srv_pl, c_srv_pl / c_srv, RUNS);
    fprintf(stderr,
            "first load, CPU s per million bars (medians of %d):\n"
            "  ingestor %.2f + replay %.2f + PostgreSQL %.2f = %.2f\n"
            "  plain \\copy: psql %.2f + PostgreSQL %.2f = %.2f\n",
            RUNS, c_ing, c_rep, c_srv, c_tot, c_psql, c_srv_pl, c_tot_pl);
    char casename[128];
    snprintf(casename, sizeof casename, "peak memory, %d bars vs %d bars", (int)total,
             (int)total / 4);
    line(casename, "peak_rss_mb", median(rss_full, RUNS), "peak_rss_mb_quarter_size", rss_q,
         rss_q / median(rss_full, RUNS), 1);
    fflush(stdout);

    PQfinish(c);
    stop_replays();
    exec(admin, "DROP DATABASE IF EXISTS bench_ingest WITH (FORCE)");
    PQfinish(admin);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : 1;
}
