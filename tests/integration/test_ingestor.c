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
#include <unistd.h>

#include <cmocka.h>
#include <libpq-fe.h>

#include "deadline.h"
#include "harness.h"
#include "itenv.h"

/* The test's defaults on top of itenv_start's. */
static void env_start(itenv *e, const char *name, const char *dir, const char *const *replay_args)
{
    itenv_start(e, name, dir, NULL, replay_args);
    setenv_var(e, "POLYGON_API_KEY", ITENV_KEY);
    setenv_var(e, "POLYGON_MAX_RETRY_DELAY", "3s");
    setenv_var(e, "LOG_LEVEL", "INFO");
}

/* A backfill of every symbol. */
static const char *const backfill_all[] = { "backfill",   "--symbols",  "AAPL,IBM,KO,MSFT,GME",
                                            "--from",     "2012-01-01", "--to",
                                            "2021-01-31", NULL };

static void assert_no_key(const char *what, const char *text)
{
    assert_no_secret(what, text, ITENV_KEY);
}

static void expect_full_data(itenv *e)
{
    static const char *const files[][2] = {
        { "AAPL", AAPL_CSV }, { "IBM", IBM_CSV }, { "KO", KO_CSV },
        { "MSFT", MSFT_CSV }, { "GME", GME_CSV },
    };
    for (size_t i = 0; i < 5; i++)
        expect_symbol(e, files[i][0], files[i][1]);
    /* No bar twice, by construction of the key, and every bar has a day. */
    assert_int_equal(query_int(e, "SELECT count(*) FROM (SELECT symbol, ts FROM ohlcv GROUP BY "
                                  "1, 2 HAVING count(*) > 1) d"),
                     0);
}

static void backfill_stores_every_bar_once_and_reruns_insert_nothing(void **state)
{
    (void)state;
    static itenv e;
    env_start(&e, "full", it_data_dir, NULL);
    setenv_var(&e, "POLYGON_PAGE_LIMIT", "200");
    migrate(&e);
    migrate(&e); /* idempotent */

    char *out = run_ingestor_ok(&e, backfill_all);
    assert_no_key("the output of backfill", out);
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

    free(run_ingestor_ok(&e, backfill_all));
    assert_int_equal(query_int(&e, "SELECT count(*) FROM ohlcv"), rows);
    assert_int_equal(query_int(&e, "SELECT count(*) FROM ohlcv WHERE updated_at > ingested_at"), 0);

    char *log = read_file(e.rp.log_path, NULL);
    assert_no_key("the replay's request log", log);
    free(log);
    itenv_stop(&e);
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
    snprintf(path, sizeof path, "%s/ZZZ-raw-daily.csv", dir);
    write_file(path, "date,open,high,low,close,volume\n"
                     "2024-01-02,10,11,9,10.5,1000\n"
                     "2024-01-03,10.5,10,11,10.2,1000\n" /* high < low */
                     "2024-01-04,10.2,10.8,10,10.6,-5\n" /* negative volume */
                     "2024-01-05,10.6,11,10.1,10.9,1200\n"
                     "2024-01-08,0,11,10.1,10.9,1200\n"); /* non-positive open */
    static itenv e;
    env_start(&e, "bad", dir, NULL);
    migrate(&e);
    const char *args[] = { "backfill",   "--symbols", "ZZZ",        "--from",
                           "2024-01-01", "--to",      "2024-01-31", NULL };
    free(run_ingestor_ok(&e, args)); /* quarantined bars are not a failure */
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
    write_file(path, "date,open,high,low,close,volume\n"
                     "2024-01-02,10,11,9,10.75,1000\n"
                     "2024-01-03,10.5,10,11,10.2,1000\n"
                     "2024-01-04,10.2,10.8,10,10.6,-5\n"
                     "2024-01-05,10.6,11,10.1,10.9,1200\n"
                     "2024-01-08,0,11,10.1,10.9,1200\n");
    itenv_replay_restart(&e, dir, NULL);
    free(run_ingestor_ok(&e, args));
    assert_int_equal(query_int(&e, "SELECT count(*) FROM ohlcv"), 2);
    assert_int_equal(query_int(&e, "SELECT count(*) FROM ohlcv WHERE close = 10.75 AND"
                                   " updated_at > ingested_at"),
                     1);
    itenv_stop(&e);
    unlink(path);
    rmdir(dir);
}

/* The number just before word in the summary ("41 requests"); 0 when absent. */
static long long tally(const char *out, const char *word)
{
    const char *p = strstr(out, word);
    if (!p)
        return 0;
    while (p > out && p[-1] == ' ')
        p--;
    while (p > out && p[-1] >= '0' && p[-1] <= '9')
        p--;
    return atoll(p);
}

static void transient_faults_are_retried_to_the_full_data(void **state)
{
    (void)state;
    static itenv e;
    const char *faults[] = { "--faults", "500,502,503,504,truncate,malformed,drop", "--fault-every",
                             "2", NULL };
    env_start(&e, "faults", it_data_dir, faults);
    setenv_var(&e, "POLYGON_PAGE_LIMIT", "300");
    migrate(&e);
    char *out = run_ingestor_ok(&e, backfill_all);
    assert_no_key("the output of backfill", out);
    expect_full_data(&e);
    char *log = read_file(e.rp.log_path, NULL);
    assert_true(count_lines_with(log, "\"fault\":\"truncate\"") >= 1);
    assert_true(count_lines_with(log, "\"fault\":\"drop\"") >= 1);
    /* The replay's tallies and the ingestor's agree: a request libcurl sent
     * again on a fresh connection (after a dropped one) counts as a
     * reconnect, and every fault was answered by a retry or a reconnect. */
    long long requests = tally(out, " requests"), retries = tally(out, " retries"),
              reconnects = tally(out, " reconnect");
    long long logged = (long long)count_lines_with(log, "\"path\":");
    long long nfaults = logged - (long long)count_lines_with(log, "\"fault\":\"none\"");
    if (requests != logged || retries + reconnects != nfaults)
        fail_msg("the ingestor counts %lld requests, %lld retries and %lld reconnects; the replay "
                 "logged %lld requests and %lld faults",
                 requests, retries, reconnects, logged, nfaults);
    free(out);
    assert_no_key("the replay's request log", log);
    free(log);
    itenv_stop(&e);
}

static void unauthorized_fails_at_once_with_a_clear_message(void **state)
{
    (void)state;
    static itenv e;
    env_start(&e, "auth", it_data_dir, NULL);
    setenv_var(&e, "POLYGON_API_KEY", "wrong-key-0000");
    migrate(&e);
    const char *args[] = { "backfill",   "--symbols", "AAPL",       "--from",
                           "2012-01-01", "--to",      "2012-12-31", NULL };
    char *out;
    int rc = run_ingestor(&e, &out, args);
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
    itenv_stop(&e);
}

static void rate_limit_and_retry_after_are_honoured(void **state)
{
    (void)state;
    static itenv e;
    for (int with_header = 1; with_header >= 0; with_header--) {
        const char *limited[] = { "--rate-limit-per-min",
                                  "2",
                                  "--rate-window-ms",
                                  "1500",
                                  with_header ? "--retry-after" : NULL,
                                  "auto",
                                  NULL };
        env_start(&e, with_header ? "ra" : "nora", it_data_dir, limited);
        setenv_var(&e, "POLYGON_PAGE_LIMIT", "50");
        migrate(&e);
        const char *args[] = { "backfill",   "--symbols", "KO",         "--from",
                               "2012-01-01", "--to",      "2012-12-31", NULL };
        free(run_ingestor_ok(&e, args));
        assert_int_equal(query_int(&e, "SELECT count(*) FROM ohlcv"), 250);
        size_t n;
        request_entry *rq = read_requests(&e, &n);
        size_t n429 = 0;
        for (size_t i = 0; i + 1 < n; i++) {
            if (rq[i].status != 429)
                continue;
            n429++;
            /* With Retry-After (whole seconds, at least 1), the client waited it. */
            if (with_header && rq[i + 1].mono_ms - rq[i].mono_ms < 950)
                fail_msg("request %zu came %lld ms after a 429 with Retry-After", i + 1,
                         rq[i + 1].mono_ms - rq[i].mono_ms);
        }
        free(rq);
        assert_true(n429 >= 1);
        itenv_stop(&e);
    }

    /* The client's own limit: at 120/min, requests are granted 0.5 s apart,
     * so no 60 s window ever holds more than 120. The server stamps a request
     * when it arrives, which the client's connect and a loaded machine's
     * scheduling delay by tens of milliseconds, not by the limiter's 500:
     * without the limiter the three requests come a few milliseconds apart. */
    env_start(&e, "limit", it_data_dir, NULL);
    setenv_var(&e, "POLYGON_PAGE_LIMIT", "100");
    setenv_var(&e, "POLYGON_RATE_LIMIT_PER_MIN", "120");
    migrate(&e);
    const char *args[] = { "backfill",   "--symbols", "IBM",        "--from",
                           "2012-01-01", "--to",      "2012-12-31", NULL };
    char *out;
    assert_int_equal(run_ingestor(&e, &out, args), 0);
    free(out);
    size_t n;
    request_entry *rq = read_requests(&e, &n);
    assert_int_equal(n, 3);
    for (size_t i = 0; i + 1 < n; i++)
        if (rq[i + 1].mono_ms - rq[i].mono_ms < 400)
            fail_msg("requests %zu and %zu only %lld ms apart", i, i + 1,
                     rq[i + 1].mono_ms - rq[i].mono_ms);
    free(rq);
    itenv_stop(&e);
}

/*
 * SIGTERM while the client sits out a long Retry-After: it stops at once,
 * and makes no further request on its way out (a sleep cut short must not
 * turn into an early retry).
 */
static void sigterm_during_retry_after_stops_without_another_request(void **state)
{
    (void)state;
    static itenv e;
    /* one request a minute: the second page gets a 429 with Retry-After 30 */
    const char *throttled[] = { "--rate-limit-per-min", "1", "--retry-after", "30", NULL };
    env_start(&e, "term", it_data_dir, throttled);
    setenv_var(&e, "POLYGON_PAGE_LIMIT", "50");
    setenv_var(&e, "POLYGON_MAX_RETRY_DELAY", "60s");
    setenv_var(&e, "POLYGON_MAX_ATTEMPTS", "5");
    migrate(&e);
    const char *args[] = { "backfill",   "--symbols", "KO",         "--from",
                           "2012-01-01", "--to",      "2012-12-31", NULL };
    itenv_proc *p = spawn_ingestor(&e, args, NULL);
    size_t n = 0;
    for (int i = 0; i < 100 && n < 2; i++) {
        sleep_ms(100);
        free(read_requests(&e, &n));
    }
    assert_int_equal(n, 2); /* the second request got its 429: the client now waits 30 s */
    sleep_ms(300);
    int64_t t0 = mono_ms();
    (void)proc_stop(p, 5000);
    int64_t took = mono_ms() - t0;
    if (took > 2000)
        fail_msg("exited %lld ms after SIGTERM", (long long)took);
    sleep_ms(200);
    free(read_requests(&e, &n));
    if (n != 2) {
        char *text = proc_output(p);
        fail_msg("%zu requests, expected 2 (none after SIGTERM):\n%s", n, text);
    }
    itenv_stop(&e);
}

/*
 * The free tier: 5 requests per window and 4 workers for 5 symbols. Most of
 * the time every worker waits for the rate limit, however long its turn
 * takes: the backfill completes, says it waits, and fails no job. A window
 * of 6 s instead of a minute: a slot every 1.2 s.
 */
static const char *const free_tier_backfill[] = {
    "backfill",   "--symbols", "AAPL,IBM,KO,MSFT,GME", "--from",
    "2012-01-01", "--to",      "2012-12-31",           NULL
};

static void free_tier_env(itenv *e, const char *name)
{
    env_start(e, name, it_data_dir, NULL);
    setenv_var(e, "POLYGON_RATE_LIMIT_PER_MIN", "5");
    setenv_var(e, "POLYGON_RATE_WINDOW", "6s");
    setenv_var(e, "API_WORKERS", "4");
    setenv_var(e, "DB_POOL_MAX", "5"); /* each worker one connection, the service one more */
    migrate(e);
}

static void free_tier_backfill_waits_for_the_rate_limit_and_completes(void **state)
{
    (void)state;
    static itenv e;
    free_tier_env(&e, "free");
    char *out;
    int rc = run_ingestor(&e, &out, free_tier_backfill);
    if (rc != 0 || query_int(&e, "SELECT count(*) FROM backfill_jobs WHERE state = 'done'") != 5)
        fail_msg("exit %d, %lld of 5 jobs done:\n%s", rc,
                 query_int(&e, "SELECT count(*) FROM backfill_jobs WHERE state = 'done'"), out);
    if (!strstr(out, "waiting for rate limit"))
        fail_msg("the progress does not say that it waits for the rate limit:\n%s", out);
    free(out);
    static const char *const files[][2] = {
        { "AAPL", AAPL_CSV }, { "IBM", IBM_CSV }, { "KO", KO_CSV }, { "MSFT", MSFT_CSV }
    };
    for (size_t i = 0; i < 4; i++) {
        char sql[160];
        snprintf(sql, sizeof sql, "SELECT count(*) FROM ohlcv WHERE symbol = '%s'", files[i][0]);
        assert_int_equal(query_int(&e, sql), csv_rows(files[i][1], "2012-01-01", "2012-12-31"));
    }
    itenv_stop(&e);
}

/*
 * SIGTERM during a backfill: the jobs its workers hold go back to pending,
 * the attempt not counted, and the next backfill completes them.
 */
static void sigterm_during_backfill_returns_its_jobs_to_pending(void **state)
{
    (void)state;
    static itenv e;
    free_tier_env(&e, "termjobs");
    itenv_proc *p = spawn_ingestor(&e, free_tier_backfill, NULL);
    /* the first job is done: the others are claimed, waiting for their turn */
    WAIT_FOR_EVERY(query_int(&e, "SELECT count(*) FROM backfill_jobs WHERE state = 'done'") >= 1,
                   20000, 100);
    int rc = proc_stop(p, 10000);
    char *text = proc_output(p);
    long long running = query_int(&e, "SELECT count(*) FROM backfill_jobs WHERE state = 'running'");
    long long failed =
        query_int(&e, "SELECT count(*) FROM backfill_jobs WHERE state NOT IN ('done', 'pending')"
                      " OR (state = 'pending' AND attempts <> 0)");
    long long pending = query_int(&e, "SELECT count(*) FROM backfill_jobs WHERE state = 'pending'");
    if (rc != 130 || running != 0 || failed != 0 || pending < 1)
        fail_msg("exit %d; %lld running, %lld failed or counted, %lld pending:\n%s", rc, running,
                 failed, pending, text);
    free(text);
    char *out = run_ingestor_ok(&e, free_tier_backfill);
    free(out);
    assert_int_equal(query_int(&e, "SELECT count(*) FROM backfill_jobs WHERE state = 'done'"), 5);
    itenv_stop(&e);
}

/*
 * A slow backfill of every symbol in the background (each page delayed by the
 * replay), started in a fresh environment; returns once it has stored at
 * least `rows` bars.
 */
static itenv_proc *start_slow_backfill(itenv *e, const char *name, const char *page_limit,
                                       long rows)
{
    const char *slow[] = { "--faults", "delay", "--fault-every", "1", "--delay-ms", "120", NULL };
    env_start(e, name, it_data_dir, slow);
    setenv_var(e, "POLYGON_PAGE_LIMIT", page_limit);
    migrate(e);
    itenv_proc *p = spawn_ingestor(e, backfill_all, NULL);
    for (int i = 0; i < 150 && query_int(e, "SELECT count(*) FROM ohlcv") < rows; i++)
        sleep_ms(100);
    return p;
}

static void kill_9_then_rerun_gives_the_full_data(void **state)
{
    (void)state;
    static itenv e;
    /* Let it commit some pages, then kill it without warning. */
    itenv_proc *p = start_slow_backfill(&e, "kill", "40", 100);
    kill(p->pid, SIGKILL);
    int status;
    waitpid(p->pid, &status, 0);
    p->pid = 0;
    long long partial = query_int(&e, "SELECT count(*) FROM ohlcv");
    assert_true(partial >= 100);
    assert_true(partial < 3000);

    /* The re-run takes over the dead process's lease at once and resumes. */
    char *out = run_ingestor_ok(&e, backfill_all);
    assert_non_null(strstr(out, "resuming"));
    free(out);
    expect_full_data(&e);
    itenv_stop(&e);
}

static void postgres_restart_mid_run_loses_nothing(void **state)
{
    (void)state;
    static itenv e;
    itenv_proc *p = start_slow_backfill(&e, "restart", "50", 200);
    pg_do("restart");
    int status;
    waitpid(p->pid, &status, 0);
    p->pid = 0;
    char *text = proc_output(p);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        /* Failing cleanly is allowed; then the re-run must complete. */
        char *out;
        int rc = run_ingestor(&e, &out, backfill_all);
        if (rc != 0)
            fail_msg("first run:\n%s\nre-run exit %d:\n%s", text, rc, out);
        free(out);
    }
    free(text);
    expect_full_data(&e);
    itenv_stop(&e);
}

static void bad_configuration_exits_78_listing_every_problem(void **state)
{
    (void)state;
    static itenv e;
    memset(&e, 0, sizeof e);
    setenv_var(&e, "DATABASE_URL", "mysql://u:s3cretpw@h/db");
    setenv_var(&e, "POLYGON_RATE_LIMIT_PER_MIN", "-1");
    setenv_var(&e, "POLYGON_PAGE_LIMIT", "many");
    setenv_var(&e, "LOG_LEVEL", "LOUD");
    const char *args[] = { "check-config", NULL };
    char *out;
    int rc = run_ingestor(&e, &out, args);
    assert_int_equal(rc, 78);
    assert_non_null(strstr(out, "DATABASE_URL"));
    assert_non_null(strstr(out, "POLYGON_RATE_LIMIT_PER_MIN"));
    assert_non_null(strstr(out, "POLYGON_PAGE_LIMIT"));
    assert_non_null(strstr(out, "LOG_LEVEL"));
    assert_null(strstr(out, "s3cretpw"));
    free(out);
}

/* Stored texts (an upstream's error message, a symbol) with a newline and
 * escape sequences: `ingestor status` shows them escaped, on their row. */
static void status_escapes_control_characters(void **state)
{
    (void)state;
    static itenv e;
    env_start(&e, "status", it_data_dir, NULL);
    migrate(&e);
    exec_on(e.url, "INSERT INTO backfill_jobs (symbol, timespan, multiplier, adjusted, from_date,"
                   " to_date, source, state, last_error) VALUES ('EVIL' || chr(27) || '[2J',"
                   " 'day', 1, true, '2020-01-01', '2020-01-31', 'polygon', 'failed',"
                   " 'boom' || chr(10) || '2024-01-01T00:00:00Z ERROR forged'"
                   " || chr(13) || chr(27) || ']0;title' || chr(7))");
    const char *args[] = { "status", NULL };
    char *out = run_ingestor_ok(&e, args);
    if (strchr(out, '\x1b') || strchr(out, '\r') || strchr(out, '\x07'))
        fail_msg("raw control characters in the output:\n%s", out);
    if (strstr(out, "\n2024-01-01T00:00:00Z ERROR forged"))
        fail_msg("a forged line in the output:\n%s", out);
    assert_non_null(strstr(out, "EVIL\\e[2J"));
    assert_non_null(strstr(out, "boom\\n2024-01-01T00:00:00Z ERROR forged\\r\\e]0;title\\x07"));
    free(out);
    itenv_stop(&e);
}

/* The admin server's address: the wildcard in any spelling is refused
 * (it would bind every interface); an explicit address of another
 * interface is fine; the admin token is never shown. */
static void admin_wildcard_address_is_a_configuration_error(void **state)
{
    (void)state;
    static const char *const wild[] = { "0", "0.0.0.0", "00.0.0.0", "0.0" };
    const char *args[] = { "check-config", NULL };
    for (size_t i = 0; i < sizeof wild / sizeof wild[0]; i++) {
        static itenv e;
        memset(&e, 0, sizeof e);
        setenv_var(&e, "DATABASE_URL", "postgresql://u@h/db");
        setenv_var(&e, "ADMIN_ADDR", wild[i]);
        char *out;
        int rc = run_ingestor(&e, &out, args);
        if (rc != 78 || !strstr(out, "ADMIN_ADDR") || !strstr(out, "every interface"))
            fail_msg("ADMIN_ADDR=%s: exit %d\n%s", wild[i], rc, out);
        free(out);
    }
    static itenv e;
    memset(&e, 0, sizeof e);
    setenv_var(&e, "DATABASE_URL", "postgresql://u@h/db");
    setenv_var(&e, "ADMIN_ADDR", "192.0.2.10");
    setenv_var(&e, "ADMIN_TOKEN", "adm1n-T0ken-4f7c2e9b");
    char *out;
    int rc = run_ingestor(&e, &out, args);
    if (rc != 0)
        fail_msg("ADMIN_ADDR=192.0.2.10: exit %d\n%s", rc, out);
    assert_non_null(strstr(out, "192.0.2.10"));
    assert_no_secret("check-config", out, "adm1n-T0ken-4f7c2e9b");
    free(out);
}

/* How many times needle occurs in text. */
static size_t occurrences(const char *text, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(text, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

/* `ingestor report --format html` over stored bars: one self-contained
 * page whose chart draws every stored bar, marks the squeeze week's
 * findings and escapes stored text; an unknown symbol is an error. */
static void report_draws_the_stored_bars_and_marks_the_squeeze_week(void **state)
{
    (void)state;
    static itenv e;
    env_start(&e, "report", it_data_dir, NULL);
    setenv_var(&e, "LOG_LEVEL", "ERROR"); /* stdout and stderr are captured together */
    migrate(&e);
    const char *backfill[] = { "backfill",   "--symbols", "GME",        "--from",
                               "2020-01-01", "--to",      "2021-12-31", NULL };
    free(run_ingestor_ok(&e, backfill));
    long long stored = query_int(&e, "SELECT count(*) FROM ohlcv WHERE symbol = 'GME'");
    assert_int_equal(stored, csv_rows(GME_CSV, "2020-01-01", "2021-12-31"));
    /* A quarantined bar whose stored text is markup: shown, escaped. */
    exec_on(e.url, "INSERT INTO ohlcv_quarantine (symbol, timespan, multiplier, ts, adjusted,"
                   " source, codes, details) VALUES ('GME', 'day', 1, '2021-01-27 05:00+00', true,"
                   " 'polygon', '{\"<b>FORGED</b>\"}', '{}')");

    const char *args[] = { "report", "--symbol", "GME", "--format", "html", NULL };
    char *page = run_ingestor_ok(&e, args);
    if (strncmp(page, "<!DOCTYPE html>", 15) != 0)
        fail_msg("not an HTML page:\n%.400s", page);
    static const char *const external[] = { "http://", "https://", "src=",    "href=",
                                            "url(",    "@import",  "<script", "<link" };
    for (size_t i = 0; i < sizeof external / sizeof external[0]; i++)
        if (strstr(page, external[i]))
            fail_msg("the page is not self-contained: it has '%s'", external[i]);
    size_t candles = occurrences(page, "<g class=\"candle ");
    if ((long long)candles != stored)
        fail_msg("%zu candles drawn, %lld bars stored", candles, stored);
    static const char *const squeeze[][2] = {
        { "2021-01-22", "RANGE" },
        { "2021-01-25", "OPEN_GAP" },
        { "2021-01-25", "RANGE" },
        { "2021-01-26", "RANGE" },
    };
    for (size_t i = 0; i < sizeof squeeze / sizeof squeeze[0]; i++) {
        char marker[160];
        snprintf(marker, sizeof marker,
                 "class=\"marker sev-warning\" data-code=\"%s\" data-date=\"%s\"", squeeze[i][1],
                 squeeze[i][0]);
        if (!strstr(page, marker))
            fail_msg("no %s marker on %s", squeeze[i][1], squeeze[i][0]);
    }
    /* every finding has a marker and a row of the table */
    assert_int_equal(occurrences(page, "<circle class=\"marker "),
                     occurrences(page, "<tr class=\"sev-"));
    assert_non_null(strstr(page, "<title>ingestor report: GME</title>"));
    assert_non_null(strstr(page, "data-symbol=\"GME\""));
    assert_non_null(strstr(page, "&lt;b&gt;FORGED&lt;/b&gt;"));
    assert_null(strstr(page, "<b>FORGED"));
    free(page);

    const char *unknown[] = { "report", "--symbol", "NOPE", "--format", "html", NULL };
    char *out;
    int rc = run_ingestor(&e, &out, unknown);
    if (rc == 0 || !strstr(out, "nothing stored for symbol NOPE") || strstr(out, "<!DOCTYPE"))
        fail_msg("unknown symbol: exit %d\n%s", rc, out);
    free(out);
    const char *bad[] = { "report", "--symbol", "<b>", NULL };
    rc = run_ingestor(&e, &out, bad);
    if (rc != 64 || !strstr(out, "bad symbol"))
        fail_msg("bad symbol: exit %d\n%s", rc, out);
    free(out);
    itenv_stop(&e);
}

int main(int argc, char **argv)
{
    /* The ingestor under test must not inherit settings from this shell. */
    static const char *const inherited[] = { "POLYGON_API_KEY", "LOG_FORMAT", NULL };
    int rc = itenv_init(argc, argv, inherited);
    if (rc != 0)
        return rc;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(backfill_stores_every_bar_once_and_reruns_insert_nothing,
                                  itenv_teardown),
        cmocka_unit_test_teardown(
            bad_bars_are_quarantined_with_their_codes_and_restated_bars_update, itenv_teardown),
        cmocka_unit_test_teardown(transient_faults_are_retried_to_the_full_data, itenv_teardown),
        cmocka_unit_test_teardown(unauthorized_fails_at_once_with_a_clear_message, itenv_teardown),
        cmocka_unit_test_teardown(rate_limit_and_retry_after_are_honoured, itenv_teardown),
        cmocka_unit_test_teardown(sigterm_during_retry_after_stops_without_another_request,
                                  itenv_teardown),
        cmocka_unit_test_teardown(free_tier_backfill_waits_for_the_rate_limit_and_completes,
                                  itenv_teardown),
        cmocka_unit_test_teardown(sigterm_during_backfill_returns_its_jobs_to_pending,
                                  itenv_teardown),
        cmocka_unit_test_teardown(kill_9_then_rerun_gives_the_full_data, itenv_teardown),
        cmocka_unit_test_teardown(postgres_restart_mid_run_loses_nothing, itenv_teardown),
        cmocka_unit_test(bad_configuration_exits_78_listing_every_problem),
        cmocka_unit_test(admin_wildcard_address_is_a_configuration_error),
        cmocka_unit_test_teardown(status_escapes_control_characters, itenv_teardown),
        cmocka_unit_test_teardown(report_draws_the_stored_bars_and_marks_the_squeeze_week,
                                  itenv_teardown),
    };
    return cmocka_run_group_tests_name("ingestor", tests, NULL, NULL);
}
