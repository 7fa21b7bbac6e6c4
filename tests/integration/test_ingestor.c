/*
 * The ingestor end to end: a real PostgreSQL (DATABASE_URL, from
 * scripts/pg), a real polygon-replay on loopback, the real ingestor binary.
 * Each test works in a database of its own.
 *   test-ingestor INGESTOR_EXE REPLAY_EXE DATA_DIR PG_SCRIPT
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>
#include <curl/curl.h>
#include <libpq-fe.h>

#include "harness.h"

static const char *ingestor_exe, *replay_exe, *data_dir, *pg_script;
#define KEY "it-key-7c3e9a1f5b"

typedef struct env {
    char db[64];
    char url[512];
    char admin_url[512];
    replay_proc rp;
    char vars[12][600];
    const char *envp[13];
    int nvars;
} env;

static void setenv_var(env *e, const char *name, const char *value)
{
    snprintf(e->vars[e->nvars], sizeof e->vars[0], "%s=%s", name, value);
    e->envp[e->nvars] = e->vars[e->nvars];
    e->nvars++;
    e->envp[e->nvars] = NULL;
}

static PGconn *connect_to(const char *url)
{
    PGconn *c = PQconnectdb(url);
    if (PQstatus(c) != CONNECTION_OK)
        fail_msg("connect: %s", PQerrorMessage(c));
    return c;
}

static void exec_admin(const env *e, const char *sql)
{
    PGconn *c = connect_to(e->admin_url);
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        fail_msg("%s: %s", sql, PQresultErrorMessage(r));
    PQclear(r);
    PQfinish(c);
}

static long long query_int(const env *e, const char *sql)
{
    PGconn *c = connect_to(e->url);
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
        fail_msg("%s: %s", sql, PQresultErrorMessage(r));
    long long v = atoll(PQgetvalue(r, 0, 0));
    PQclear(r);
    PQfinish(c);
    return v;
}

/* A database of its own, the replay serving dir, and the environment. */
static void env_start(env *e, const char *name, const char *dir, const char *const *replay_args)
{
    memset(e, 0, sizeof *e);
    const char *base = getenv("DATABASE_URL");
    snprintf(e->admin_url, sizeof e->admin_url, "%s", base);
    snprintf(e->db, sizeof e->db, "it_%s_%ld", name, (long)getpid());
    char sql[200];
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s", e->db);
    exec_admin(e, sql);
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", e->db);
    exec_admin(e, sql);
    /* Same server, other database: replace the path of the URL. */
    const char *slash = strrchr(base, '/');
    snprintf(e->url, sizeof e->url, "%.*s/%s", (int)(slash - base), base, e->db);

    const char *args[32] = { "--api-key", KEY };
    int n = 2;
    for (int i = 0; replay_args && replay_args[i]; i++)
        args[n++] = replay_args[i];
    args[n] = NULL;
    assert_int_equal(replay_start(&e->rp, replay_exe, dir, args), 0);

    setenv_var(e, "DATABASE_URL", e->url);
    setenv_var(e, "POLYGON_API_KEY", KEY);
    setenv_var(e, "POLYGON_BASE_URL", e->rp.base);
    setenv_var(e, "POLYGON_RATE_LIMIT_PER_MIN", "0");
    setenv_var(e, "POLYGON_MAX_RETRY_DELAY", "3s");
    setenv_var(e, "LOG_LEVEL", "INFO");
}

static void env_stop(env *e)
{
    replay_stop(&e->rp);
    char sql[200];
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", e->db);
    exec_admin(e, sql);
}

/* Run the ingestor; returns its exit status and its output (caller frees). */
static int ingestor(env *e, char **out, const char *const *args)
{
    const char *argv[32] = { ingestor_exe };
    int n = 1;
    for (int i = 0; args[i]; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    /* The environment of this test process plus the test's variables. */
    return run_capture(argv, e->envp, out);
}

static int migrate(env *e)
{
    char *out;
    const char *args[] = { "migrate", NULL };
    int rc = ingestor(e, &out, args);
    if (rc != 0)
        fprintf(stderr, "%s\n", out);
    free(out);
    return rc;
}

static const char *const all_symbols[] = {
    "--symbols", "AAPL,IBM,KO,MSFT,GME", "--from", "2012-01-01", "--to", "2021-01-31", NULL
};

static int backfill(env *e, char **out, const char *const *extra)
{
    const char *args[32] = { "backfill" };
    int n = 1;
    for (int i = 0; all_symbols[i]; i++)
        args[n++] = all_symbols[i];
    for (int i = 0; extra && extra[i]; i++)
        args[n++] = extra[i];
    args[n] = NULL;
    return ingestor(e, out, args);
}

/* Data rows of a CSV file: its non-blank lines minus the header. */
static long long csv_rows(const char *dir, const char *file)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    char *text = read_file(path, NULL);
    assert_non_null(text);
    long long lines = 0;
    for (char *p = text; *p;) {
        char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        if (len > 0 && !(len == 1 && p[0] == '\r'))
            lines++;
        p = nl ? nl + 1 : p + len;
    }
    free(text);
    return lines - 1;
}

static void assert_no_key(const char *text)
{
    if (text && strstr(text, KEY))
        fail_msg("the API key appears in: %.300s", strstr(text, KEY) - 40);
}

static void expect_full_data(env *e)
{
    static const char *const files[][2] = {
        { "AAPL", "AAPL-2012_2014-adjusted-daily.csv" },
        { "IBM", "IBM-2012_2014-adjusted-daily.csv" },
        { "KO", "KO-2012_2014-adjusted-daily.csv" },
        { "MSFT", "MSFT-2012_2014-adjusted-daily.csv" },
        { "GME", "GME-2020-01-21_2021-01-26-raw-daily.csv" },
    };
    for (size_t i = 0; i < 5; i++) {
        char sql[200];
        snprintf(sql, sizeof sql,
                 "SELECT count(*) + (SELECT count(*) FROM ohlcv_quarantine WHERE symbol = '%s')"
                 " FROM ohlcv WHERE symbol = '%s'",
                 files[i][0], files[i][0]);
        long long want = csv_rows(data_dir, files[i][1]);
        long long got = query_int(e, sql);
        if (got != want)
            fail_msg("%s: %lld bars stored, the file has %lld", files[i][0], got, want);
    }
    /* No bar twice, by construction of the key, and every bar has a day. */
    assert_int_equal(query_int(e, "SELECT count(*) FROM (SELECT symbol, ts FROM ohlcv GROUP BY "
                                  "1, 2 HAVING count(*) > 1) d"),
                     0);
}

static void backfill_stores_every_bar_once_and_reruns_insert_nothing(void **state)
{
    (void)state;
    env e;
    env_start(&e, "full", data_dir, NULL);
    setenv_var(&e, "POLYGON_PAGE_LIMIT", "200");
    assert_int_equal(migrate(&e), 0);
    assert_int_equal(migrate(&e), 0); /* idempotent */

    char *out;
    int rc = backfill(&e, &out, NULL);
    if (rc != 0)
        fail_msg("backfill exited %d:\n%s", rc, out);
    assert_no_key(out);
    free(out);
    expect_full_data(&e);
    /* Real data is clean: nothing quarantined; GME's squeeze gives warnings. */
    assert_int_equal(query_int(&e, "SELECT count(*) FROM ohlcv_quarantine"), 0);
    assert_true(query_int(&e, "SELECT count(*) FROM dq_runs, jsonb_array_elements(report->"
                              "'issues') i WHERE symbol = 'GME' AND i->>'code' IN "
                              "('OPEN_GAP', 'RANGE')") >= 3);
    assert_int_equal(query_int(&e, "SELECT count(*) FROM dq_runs, jsonb_array_elements(report->"
                                   "'issues') i WHERE i->>'code' LIKE 'POSSIBLE_%SPLIT'"),
                     0);
    assert_int_equal(query_int(&e, "SELECT count(*) FROM backfill_jobs WHERE state = 'done'"), 5);
    long long rows = query_int(&e, "SELECT count(*) FROM ohlcv");

    rc = backfill(&e, &out, NULL);
    assert_int_equal(rc, 0);
    free(out);
    assert_int_equal(query_int(&e, "SELECT count(*) FROM ohlcv"), rows);
    assert_int_equal(query_int(&e, "SELECT count(*) FROM ohlcv WHERE updated_at > ingested_at"), 0);

    char *log = read_file(e.rp.log_path, NULL);
    assert_no_key(log);
    free(log);
    env_stop(&e);
}

/* A directory with one symbol whose file the test writes. */
static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void bad_bars_are_quarantined_with_their_codes_and_restated_bars_update(void **state)
{
    (void)state;
    char dir[] = "/tmp/it-bad.XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/ZZZ-daily.csv", dir);
    write_file(path, "date,open,high,low,close,volume\n"
                     "2024-01-02,10,11,9,10.5,1000\n"
                     "2024-01-03,10.5,10,11,10.2,1000\n" /* high < low */
                     "2024-01-04,10.2,10.8,10,10.6,-5\n" /* negative volume */
                     "2024-01-05,10.6,11,10.1,10.9,1200\n"
                     "2024-01-08,0,11,10.1,10.9,1200\n"); /* non-positive open */
    env e;
    env_start(&e, "bad", dir, NULL);
    assert_int_equal(migrate(&e), 0);
    const char *args[] = { "backfill",   "--symbols", "ZZZ",        "--from",
                           "2024-01-01", "--to",      "2024-01-31", NULL };
    char *out;
    int rc = ingestor(&e, &out, args);
    if (rc != 0) /* quarantined bars are not a failure */
        fail_msg("exit %d:\n%s", rc, out);
    free(out);
    assert_int_equal(query_int(&e, "SELECT count(*) FROM ohlcv"), 2);
    assert_int_equal(query_int(&e, "SELECT count(*) FROM ohlcv_quarantine"), 3);
    assert_int_equal(query_int(&e, "SELECT count(*) FROM ohlcv_quarantine WHERE 'HIGH_LT_LOW' ="
                                   " ANY (codes) AND ts::date = '2024-01-03'"),
                     1);
    assert_int_equal(query_int(&e, "SELECT count(*) FROM ohlcv_quarantine WHERE"
                                   " 'NEGATIVE_VOLUME' = ANY (codes)"),
                     1);
    assert_int_equal(query_int(&e, "SELECT count(*) FROM ohlcv_quarantine WHERE"
                                   " 'NONPOSITIVE_PRICE' = ANY (codes)"),
                     1);

    /* The vendor restates one bar: the next run updates exactly that row. */
    replay_stop(&e.rp);
    write_file(path, "date,open,high,low,close,volume\n"
                     "2024-01-02,10,11,9,10.75,1000\n"
                     "2024-01-03,10.5,10,11,10.2,1000\n"
                     "2024-01-04,10.2,10.8,10,10.6,-5\n"
                     "2024-01-05,10.6,11,10.1,10.9,1200\n"
                     "2024-01-08,0,11,10.1,10.9,1200\n");
    const char *rargs[] = { "--api-key", KEY, NULL };
    assert_int_equal(replay_start(&e.rp, replay_exe, dir, rargs), 0);
    snprintf(e.vars[2], sizeof e.vars[2], "POLYGON_BASE_URL=%s", e.rp.base);
    rc = ingestor(&e, &out, args);
    assert_int_equal(rc, 0);
    free(out);
    assert_int_equal(query_int(&e, "SELECT count(*) FROM ohlcv"), 2);
    assert_int_equal(query_int(&e, "SELECT count(*) FROM ohlcv WHERE close = 10.75 AND"
                                   " updated_at > ingested_at"),
                     1);
    env_stop(&e);
    unlink(path);
    rmdir(dir);
}

static void transient_faults_are_retried_to_the_full_data(void **state)
{
    (void)state;
    env e;
    const char *faults[] = { "--faults", "500,502,503,504,truncate,malformed,drop", "--fault-every",
                             "2", NULL };
    env_start(&e, "faults", data_dir, faults);
    setenv_var(&e, "POLYGON_PAGE_LIMIT", "300");
    assert_int_equal(migrate(&e), 0);
    char *out;
    int rc = backfill(&e, &out, NULL);
    if (rc != 0)
        fail_msg("exit %d:\n%s", rc, out);
    assert_no_key(out);
    free(out);
    expect_full_data(&e);
    char *log = read_file(e.rp.log_path, NULL);
    assert_true(count_lines_with(log, "\"fault\":\"truncate\"") >= 1);
    assert_true(count_lines_with(log, "\"fault\":\"drop\"") >= 1);
    assert_no_key(log);
    free(log);
    env_stop(&e);
}

static void unauthorized_fails_at_once_with_a_clear_message(void **state)
{
    (void)state;
    env e;
    env_start(&e, "auth", data_dir, NULL);
    snprintf(e.vars[1], sizeof e.vars[1], "POLYGON_API_KEY=wrong-key-0000");
    assert_int_equal(migrate(&e), 0);
    const char *args[] = { "backfill",   "--symbols", "AAPL",       "--from",
                           "2012-01-01", "--to",      "2012-12-31", NULL };
    char *out;
    int rc = ingestor(&e, &out, args);
    assert_int_equal(rc, 1);
    assert_non_null(strstr(out, "HTTP 401"));
    assert_non_null(strstr(out, "Unknown API Key"));
    assert_null(strstr(out, "wrong-key-0000"));
    free(out);
    char *log = read_file(e.rp.log_path, NULL);
    assert_int_equal(count_lines_with(log, "\"status\":401"), 1); /* never retried */
    free(log);
    assert_int_equal(query_int(&e, "SELECT count(*) FROM backfill_jobs WHERE state = 'failed'"
                                   " AND last_error LIKE '%401%'"),
                     1);
    env_stop(&e);
}

/* Times (monotonic ms) of the requests in a replay log with a status. */
static size_t request_times(const char *log, long long *t, size_t max, long long *status)
{
    size_t n = 0;
    for (const char *p = log; p && *p && n < max;) {
        const char *m = strstr(p, "\"mono_ms\":");
        const char *s = strstr(p, "\"status\":");
        if (!m || !s)
            break;
        t[n] = atoll(m + 10);
        status[n] = atoll(s + 9);
        n++;
        p = strchr(s, '\n');
    }
    return n;
}

static void rate_limit_and_retry_after_are_honoured(void **state)
{
    (void)state;
    for (int with_header = 1; with_header >= 0; with_header--) {
        env e;
        const char *limited[] = { "--rate-limit-per-min",
                                  "2",
                                  "--rate-window-ms",
                                  "1500",
                                  with_header ? "--retry-after" : NULL,
                                  "auto",
                                  NULL };
        env_start(&e, with_header ? "ra" : "nora", data_dir, limited);
        setenv_var(&e, "POLYGON_PAGE_LIMIT", "50");
        assert_int_equal(migrate(&e), 0);
        const char *args[] = { "backfill",   "--symbols", "KO",         "--from",
                               "2012-01-01", "--to",      "2012-12-31", NULL };
        char *out;
        int rc = ingestor(&e, &out, args);
        if (rc != 0)
            fail_msg("exit %d:\n%s", rc, out);
        free(out);
        assert_int_equal(query_int(&e, "SELECT count(*) FROM ohlcv"), 250);
        char *log = read_file(e.rp.log_path, NULL);
        long long t[200], st[200];
        size_t n = request_times(log, t, 200, st);
        free(log);
        size_t n429 = 0;
        for (size_t i = 0; i + 1 < n; i++) {
            if (st[i] != 429)
                continue;
            n429++;
            /* With Retry-After (whole seconds, at least 1), the client waited it. */
            if (with_header && t[i + 1] - t[i] < 950)
                fail_msg("request %zu came %lld ms after a 429 with Retry-After", i + 1,
                         t[i + 1] - t[i]);
        }
        assert_true(n429 >= 1);
        env_stop(&e);
    }

    /* The client's own limit: at 120/min, requests are at least ~0.5 s apart,
     * so no 60 s window ever holds more than 120. */
    env e;
    env_start(&e, "limit", data_dir, NULL);
    setenv_var(&e, "POLYGON_PAGE_LIMIT", "100");
    setenv_var(&e, "POLYGON_RATE_LIMIT_PER_MIN", "120");
    assert_int_equal(migrate(&e), 0);
    const char *args[] = { "backfill",   "--symbols", "IBM",        "--from",
                           "2012-01-01", "--to",      "2012-12-31", NULL };
    char *out;
    assert_int_equal(ingestor(&e, &out, args), 0);
    free(out);
    char *log = read_file(e.rp.log_path, NULL);
    long long t[200], st[200];
    size_t n = request_times(log, t, 200, st);
    free(log);
    assert_int_equal(n, 3);
    for (size_t i = 0; i + 1 < n; i++)
        if (t[i + 1] - t[i] < 480)
            fail_msg("requests %zu and %zu only %lld ms apart", i, i + 1, t[i + 1] - t[i]);
    env_stop(&e);
}

/* Start the ingestor in the background; returns its pid. */
static pid_t spawn_ingestor(env *e, const char *const *args, const char *out_path)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        FILE *f = freopen(out_path, "w", stdout);
        if (!f)
            _exit(127);
        dup2(fileno(stdout), STDERR_FILENO);
        for (int i = 0; e->envp[i]; i++) {
            const char *eq = strchr(e->envp[i], '=');
            char name[64];
            snprintf(name, sizeof name, "%.*s", (int)(eq - e->envp[i]), e->envp[i]);
            setenv(name, eq + 1, 1);
        }
        const char *argv[32] = { ingestor_exe };
        int n = 1;
        for (int i = 0; args[i]; i++)
            argv[n++] = args[i];
        argv[n] = NULL;
        char *copy[32];
        memcpy(copy, argv, sizeof copy);
        execv(ingestor_exe, copy);
        _exit(127);
    }
    return pid;
}

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

/*
 * A slow backfill of every symbol in the background (each page delayed by the
 * replay), started in a fresh environment; returns once it has stored at
 * least `rows` bars. *pid is the ingestor's, out_path its output.
 */
static const char *const slow_args[] = { "backfill",   "--symbols",  "AAPL,IBM,KO,MSFT,GME",
                                         "--from",     "2012-01-01", "--to",
                                         "2021-01-31", NULL };

static void start_slow_backfill(env *e, const char *name, const char *page_limit, long rows,
                                pid_t *pid, char *out_path, size_t out_size)
{
    const char *slow[] = { "--faults", "delay", "--fault-every", "1", "--delay-ms", "120", NULL };
    env_start(e, name, data_dir, slow);
    setenv_var(e, "POLYGON_PAGE_LIMIT", page_limit);
    assert_int_equal(migrate(e), 0);
    snprintf(out_path, out_size, "%s/ingestor.out", e->rp.dir);
    *pid = spawn_ingestor(e, slow_args, out_path);
    for (int i = 0; i < 150 && query_int(e, "SELECT count(*) FROM ohlcv") < rows; i++)
        sleep_ms(100);
}

static void kill_9_then_rerun_gives_the_full_data(void **state)
{
    (void)state;
    env e;
    pid_t pid;
    char out_path[300];
    /* Let it commit some pages, then kill it without warning. */
    start_slow_backfill(&e, "kill", "40", 100, &pid, out_path, sizeof out_path);
    kill(pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
    long long partial = query_int(&e, "SELECT count(*) FROM ohlcv");
    assert_true(partial >= 100);
    assert_true(partial < 3000);

    /* The re-run takes over the dead process's lease at once and resumes. */
    char *out;
    int rc = ingestor(&e, &out, slow_args);
    if (rc != 0)
        fail_msg("re-run exit %d:\n%s", rc, out);
    assert_non_null(strstr(out, "resuming"));
    free(out);
    expect_full_data(&e);
    env_stop(&e);
}

static void postgres_restart_mid_run_loses_nothing(void **state)
{
    (void)state;
    env e;
    pid_t pid;
    char out_path[300];
    start_slow_backfill(&e, "restart", "50", 200, &pid, out_path, sizeof out_path);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "'%s' restart '%s' >/dev/null", pg_script, getenv("INGEST_PG_DIR"));
    assert_int_equal(system(cmd), 0);
    int status;
    waitpid(pid, &status, 0);
    char *text = read_file(out_path, NULL);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        /* Failing cleanly is allowed; then the re-run must complete. */
        char *out;
        int rc = ingestor(&e, &out, slow_args);
        if (rc != 0)
            fail_msg("first run:\n%s\nre-run exit %d:\n%s", text, rc, out);
        free(out);
    }
    free(text);
    expect_full_data(&e);
    env_stop(&e);
}

static void bad_configuration_exits_78_listing_every_problem(void **state)
{
    (void)state;
    env e;
    memset(&e, 0, sizeof e);
    setenv_var(&e, "DATABASE_URL", "mysql://u:s3cretpw@h/db");
    setenv_var(&e, "POLYGON_RATE_LIMIT_PER_MIN", "-1");
    setenv_var(&e, "POLYGON_PAGE_LIMIT", "many");
    setenv_var(&e, "LOG_LEVEL", "LOUD");
    const char *args[] = { "check-config", NULL };
    char *out;
    int rc = ingestor(&e, &out, args);
    assert_int_equal(rc, 78);
    assert_non_null(strstr(out, "DATABASE_URL"));
    assert_non_null(strstr(out, "POLYGON_RATE_LIMIT_PER_MIN"));
    assert_non_null(strstr(out, "POLYGON_PAGE_LIMIT"));
    assert_non_null(strstr(out, "LOG_LEVEL"));
    assert_null(strstr(out, "s3cretpw"));
    free(out);
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: %s INGESTOR REPLAY DATA_DIR PG_SCRIPT\n", argv[0]);
        return 2;
    }
    if (!getenv("DATABASE_URL") || !getenv("INGEST_PG_DIR")) {
        fprintf(stderr, "DATABASE_URL/INGEST_PG_DIR not set: run through scripts/test\n");
        return 77;
    }
    ingestor_exe = argv[1];
    replay_exe = argv[2];
    data_dir = argv[3];
    pg_script = argv[4];
    /* The ingestor under test must not inherit settings from this shell. */
    unsetenv("POLYGON_API_KEY");
    unsetenv("LOG_FORMAT");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(backfill_stores_every_bar_once_and_reruns_insert_nothing),
        cmocka_unit_test(bad_bars_are_quarantined_with_their_codes_and_restated_bars_update),
        cmocka_unit_test(transient_faults_are_retried_to_the_full_data),
        cmocka_unit_test(unauthorized_fails_at_once_with_a_clear_message),
        cmocka_unit_test(rate_limit_and_retry_after_are_honoured),
        cmocka_unit_test(kill_9_then_rerun_gives_the_full_data),
        cmocka_unit_test(postgres_restart_mid_run_loses_nothing),
        cmocka_unit_test(bad_configuration_exits_78_listing_every_problem),
    };
    return cmocka_run_group_tests_name("ingestor", tests, NULL, NULL);
}
