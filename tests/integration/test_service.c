/*
 * `ingestor run`, the service, end to end: several processes on one real
 * PostgreSQL (DATABASE_URL, from scripts/pg) and one real polygon-replay on
 * loopback. Each test works in a database of its own; processes are
 * started in the background and the database is polled with deadlines.
 *   test-service INGESTOR_EXE REPLAY_EXE DATA_DIR PG_SCRIPT
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

#include <cmocka.h>
#include <libpq-fe.h>

#include "deadline.h"
#include "harness.h"
#include "itenv.h"

#define WRONG_KEY "it-wrong-key-5d1e0b7a"

/* A database of its own, a replay serving DATA_DIR, and the environment. */
static void env_start(itenv *e, const char *name, const char *const *replay_args)
{
    char db[48];
    snprintf(db, sizeof db, "svc_%s", name);
    itenv_start(e, db, it_data_dir, NULL, replay_args);
    setenv_var(e, "POLYGON_API_KEY", ITENV_KEY);
    setenv_var(e, "POLYGON_MAX_RETRY_DELAY", "3s");
    setenv_var(e, "POLYGON_PAGE_LIMIT", "50");
    setenv_var(e, "LOG_LEVEL", "INFO");
    setenv_var(e, "API_WORKERS", "1");
    setenv_var(e, "JOB_LEASE", "3s");
    setenv_var(e, "JOB_RETRY_DELAY", "1s");
    setenv_var(e, "SHUTDOWN_TIMEOUT", "5s");
    setenv_var(e, "ADMIN_PORT", "0");
}

static double wall_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void enqueue(itenv *e, const char *symbols, const char *from, const char *to, int njobs)
{
    const char *args[] = { "enqueue", "--symbols", symbols, "--from", from, "--to", to, NULL };
    char *out = run_ingestor_ok(e, args);
    char want[128];
    snprintf(want, sizeof want, "%d job%s enqueued for %s..%s", njobs, njobs == 1 ? "" : "s", from,
             to);
    if (!strstr(out, want))
        fail_msg("enqueue said:\n%s", out);
    free(out);
}

/* Start `ingestor run` in the background with extra variables (may be NULL). */
static itenv_proc *service_start(itenv *e, const char *const *extra)
{
    static const char *const run[] = { "run", NULL };
    return spawn_ingestor(e, run, extra);
}

/* SIGTERM; expect exit 0 within timeout_ms. Returns the milliseconds it took. */
static int64_t service_stop(itenv_proc *s, long timeout_ms)
{
    int64_t t0 = mono_ms();
    int rc = proc_stop(s, timeout_ms);
    int64_t took = mono_ms() - t0;
    if (rc != 0) {
        char *text = proc_output(s);
        fail_msg("after SIGTERM: exit %d after %lld ms:\n%s", rc, (long long)took, text);
    }
    return took;
}

static void expect_no_duplicates(const itenv *e)
{
    assert_int_equal(query_int(e, "SELECT count(*) FROM (SELECT symbol, timespan, multiplier, ts"
                                  " FROM ohlcv GROUP BY 1, 2, 3, 4 HAVING count(*) > 1) d"),
                     0);
}

static void expect_four_symbols(const itenv *e)
{
    expect_symbol(e, "AAPL", AAPL_CSV);
    expect_symbol(e, "IBM", IBM_CSV);
    expect_symbol(e, "KO", KO_CSV);
    expect_symbol(e, "MSFT", MSFT_CSV);
    expect_no_duplicates(e);
}

/* ------------------------------------------------------------------ tests */

static void three_processes_store_every_bar_once_under_one_rate_limit(void **state)
{
    (void)state;
    static itenv e;
    const char *limited[] = { "--rate-limit-per-min", "6", "--rate-window-ms", "2000", NULL };
    env_start(&e, "three", limited);
    setenv_var(&e, "POLYGON_PAGE_LIMIT", "100");
    setenv_var(&e, "API_WORKERS", "2");
    setenv_var(&e, "POLYGON_RATE_LIMIT_PER_MIN", "6");
    setenv_var(&e, "POLYGON_RATE_WINDOW", "2s");
    migrate(&e);
    enqueue(&e, "AAPL,IBM,KO,MSFT", "2012-01-01", "2014-12-31", 4);
    for (int i = 0; i < 3; i++)
        service_start(&e, NULL);
    wait_for(&e, "SELECT count(*) FROM backfill_jobs WHERE state = 'done'", 4, 90000);
    expect_four_symbols(&e);
    assert_int_equal(query_int(&e, "SELECT count(*) FROM backfill_jobs WHERE attempts = 1 AND"
                                   " last_error IS NULL AND lease_owner IS NULL"),
                     4);

    /* Every page once, no 429, and no window of the server's over the limit. */
    size_t n;
    request_entry *rq = read_requests(&e, &n);
    long long pages = 0;
    const char *const files[] = { AAPL_CSV, IBM_CSV, KO_CSV, MSFT_CSV };
    for (size_t i = 0; i < 4; i++)
        pages += (csv_rows(files[i], NULL, NULL) + 99) / 100;
    for (size_t i = 0; i < n; i++)
        if (rq[i].status != 200)
            fail_msg("request %zu of %zu: HTTP %d", i, n, rq[i].status);
    assert_int_equal(n, pages);
    for (size_t i = 0; i < n; i++) {
        size_t in_window = 0;
        for (size_t j = i; j < n && rq[j].mono_ms < rq[i].mono_ms + 2000; j++)
            in_window++;
        if (in_window > 6)
            fail_msg("%zu requests in the 2 s from request %zu", in_window, i);
    }
    free(rq);

    /* The work was shared: more than one process finished jobs. */
    size_t done = 0;
    int finishers = 0;
    for (int i = 0; i < 3; i++) {
        char *text = proc_output(&e.procs[i]);
        size_t d = count_lines_with(text, " done: ");
        done += d;
        finishers += d > 0;
        free(text);
    }
    assert_int_equal(done, 4);
    assert_true(finishers >= 2);

    for (int i = 0; i < 3; i++)
        service_stop(&e.procs[i], 5000);
    assert_no_secret_anywhere(&e, ITENV_KEY);
    itenv_stop(&e);
}

/* A slow service: 4 requests a second, pages of 50 bars. */
static void slow_service_env(itenv *e, const char *name)
{
    env_start(e, name, NULL);
    setenv_var(e, "POLYGON_RATE_LIMIT_PER_MIN", "4");
    setenv_var(e, "POLYGON_RATE_WINDOW", "1s");
    migrate(e);
}

static const char job_ko[] = "(SELECT id FROM backfill_jobs WHERE symbol = 'KO')";

static void kill_9_lease_expires_and_another_process_finishes(void **state)
{
    (void)state;
    static itenv e;
    slow_service_env(&e, "kill9");
    enqueue(&e, "KO", "2012-01-01", "2014-12-31", 1);
    itenv_proc *first = service_start(&e, NULL);
    wait_for(&e, "SELECT count(*) FROM backfill_jobs WHERE checkpoint_ms IS NOT NULL", 1, 30000);
    assert_int_equal(kill(first->pid, SIGKILL), 0);
    assert_int_equal(wait_exit(first->pid, 5000), 128 + SIGKILL);
    first->pid = 0;

    /* Left as it was: running, leased to the dead process; its pages whole. */
    assert_query_text(&e,
                      "SELECT state || ' ' || (lease_owner IS NOT NULL) || ' ' || attempts"
                      " FROM backfill_jobs",
                      "running true 1");
    long long partial = query_int(&e, "SELECT count(*) FROM ohlcv");
    long long total = csv_rows(KO_CSV, NULL, NULL);
    assert_true(partial > 0 && partial < total);
    assert_int_equal(partial % 50, 0);
    assert_int_equal(query_int(&e, "SELECT bars_inserted FROM backfill_jobs"), partial);

    itenv_proc *second = service_start(&e, NULL);
    wait_for(&e, "SELECT count(*) FROM backfill_jobs WHERE state = 'done'", 1, 60000);
    expect_symbol(&e, "KO", KO_CSV);
    expect_no_duplicates(&e);
    char done[64];
    snprintf(done, sizeof done, "done 2 %lld true", total);
    assert_query_text(&e,
                      "SELECT state || ' ' || attempts || ' ' || bars_inserted || ' ' ||"
                      " (lease_owner IS NULL) FROM backfill_jobs",
                      done);
    char *text = proc_output(second);
    char want[64];
    snprintf(want, sizeof want, "KO: resuming job %lld after its checkpoint",
             query_int(&e, job_ko));
    if (!strstr(text, want))
        fail_msg("no \"%s\" in:\n%s", want, text);
    free(text);
    service_stop(second, 5000);
    itenv_stop(&e);
}

static void stolen_lease_commits_nothing(void **state)
{
    (void)state;
    static itenv e;
    slow_service_env(&e, "stolen");
    enqueue(&e, "KO", "2012-01-01", "2014-12-31", 1);
    itenv_proc *s = service_start(&e, NULL);
    wait_for(&e, "SELECT count(*) FROM backfill_jobs WHERE checkpoint_ms IS NOT NULL", 1, 30000);
    /* Once this returns, a page that had passed its fence has committed;
     * every later one finds the thief's name. */
    exec_on(e.url, "UPDATE backfill_jobs SET lease_owner = 'thief',"
                   " lease_until = now() + interval '1 hour'");
    const char *counts = "SELECT (SELECT count(*) FROM ohlcv WHERE symbol = 'KO') || ' ' ||"
                         " (SELECT count(*) FROM dq_runs WHERE symbol = 'KO') || ' ' ||"
                         " checkpoint_ms || ' ' || bars_inserted FROM backfill_jobs";
    char before[200];
    query_text(&e, counts, before, sizeof before);
    long long id = query_int(&e, job_ko);
    char want[128];
    snprintf(want, sizeof want, "KO: database: job %lld: the lease passed to another worker", id);
    wait_output(s, want, 10000);
    sleep_ms(1500); /* some six page-times at 4 requests a second */
    assert_query_text(&e, counts, before);
    assert_query_text(&e,
                      "SELECT state || ' ' || lease_owner || ' ' || (lease_until > now() +"
                      " interval '50 minutes') FROM backfill_jobs",
                      "running thief true");
    service_stop(s, 5000);
    /* Stopping did not release what is not its own. */
    assert_query_text(&e, "SELECT state || ' ' || lease_owner FROM backfill_jobs", "running thief");
    assert_query_text(&e, counts, before);
    itenv_stop(&e);
}

static void postgres_restart_during_run_completes(void **state)
{
    (void)state;
    static itenv e;
    const char *slow[] = { "--faults", "delay", "--fault-every", "1", "--delay-ms", "120", NULL };
    env_start(&e, "restart", slow);
    setenv_var(&e, "API_WORKERS", "2");
    migrate(&e);
    enqueue(&e, "AAPL,IBM,KO,MSFT", "2012-01-01", "2014-12-31", 4);
    itenv_proc *s = service_start(&e, NULL);
    int64_t end = mono_ms() + 30000;
    while (query_int(&e, "SELECT count(*) FROM ohlcv") < 200 && mono_ms() < end)
        sleep_ms(100);
    assert_true(query_int(&e, "SELECT count(*) FROM ohlcv") >= 200);
    assert_true(query_int(&e, "SELECT count(*) FROM backfill_jobs WHERE state = 'done'") < 4);
    pg_do("restart");
    wait_for(&e, "SELECT count(*) FROM backfill_jobs WHERE state = 'done'", 4, 90000);
    expect_four_symbols(&e);
    /* The process rode it out, and every job's counters match its bars. */
    assert_int_equal(waitpid(s->pid, NULL, WNOHANG), 0);
    assert_int_equal(query_int(&e, "SELECT count(*) FROM backfill_jobs WHERE bars_inserted ="
                                   " (SELECT count(*) FROM ohlcv o WHERE o.symbol ="
                                   " backfill_jobs.symbol)"),
                     4);
    service_stop(s, 5000);
    itenv_stop(&e);
}

static void schedule_fires_and_catches_up_missed_days(void **state)
{
    (void)state;
    static itenv e;
    env_start(&e, "schedule", NULL);
    setenv_var(&e, "BACKFILL_SYMBOLS", "GME");
    setenv_var(&e, "BACKFILL_SCHEDULE_TZ", "UTC");
    setenv_var(&e, "BACKFILL_SCHEDULE_HOUR", "22");
    setenv_var(&e, "BACKFILL_SCHEDULE_MINUTE", "0");
    setenv_var(&e, "BACKFILL_LOOKBACK_DAYS", "3");
    setenv_var(&e, "POLYGON_PAGE_LIMIT", "100");
    migrate(&e);
    exec_on(e.url, "INSERT INTO service_runs (run_date, from_date, to_date, symbols, enqueued_by,"
                   " completed_at) VALUES ('2021-01-19', '2021-01-15', '2021-01-19', 1, 'seed',"
                   " now())");

    /* Both processes' clocks read 2021-01-26T21:59:56Z (and up to 1 s) at start. */
    struct tm at = {
        .tm_year = 121, .tm_mon = 0, .tm_mday = 26, .tm_hour = 21, .tm_min = 59, .tm_sec = 56
    };
    time_t target = timegm(&at);
    double started = wall_s();
    long long offset = (long long)target - (long long)started;
    char offset_var[64];
    snprintf(offset_var, sizeof offset_var, "INGESTOR_CLOCK_OFFSET=%lld", offset);
    const char *extra[] = { offset_var, NULL };
    itenv_proc *a = service_start(&e, extra);
    itenv_proc *b = service_start(&e, extra);

    /* Once the 26th's run is enqueued, hold its row until its job is done
     * and both housekeepers have come to close it: they close it at once. */
    wait_for(&e, "SELECT count(*) FROM service_runs WHERE run_date = '2021-01-26'", 1, 20000);
    PGconn *holder = connect_to(e.url);
    PQclear(PQexec(holder, "BEGIN"));
    PGresult *r = PQexec(holder, "SELECT completed_at IS NULL FROM service_runs"
                                 " WHERE run_date = '2021-01-26' FOR UPDATE");
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    bool held_open = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    PQclear(r);
    wait_for(&e,
             "SELECT count(*) FROM backfill_jobs WHERE run_date = '2021-01-26' AND"
             " state = 'done'",
             1, 20000);
    sleep_ms(3000); /* each ticks every 2 to 2.5 s */
    r = PQexec(holder, "COMMIT");
    assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
    PQclear(r);
    PQfinish(holder);

    wait_for(&e,
             "SELECT count(*) FROM service_runs WHERE run_date IN ('2021-01-25', '2021-01-26')"
             " AND completed_at IS NOT NULL",
             2, 30000);
    assert_int_equal(query_int(&e, "SELECT count(*) FROM service_runs"), 3);
    assert_int_equal(query_int(&e, "SELECT count(*) FROM service_runs WHERE failed_at IS NOT NULL"),
                     0);

    /* The missed run of the 25th, at once, from the day after the seed's. */
    assert_query_text(&e,
                      "SELECT from_date || ' ' || to_date || ' ' || symbols FROM service_runs"
                      " WHERE run_date = '2021-01-25'",
                      "2021-01-20 2021-01-25 1");
    double caught_up = query_double(&e, "SELECT extract(epoch FROM enqueued_at) FROM service_runs"
                                        " WHERE run_date = '2021-01-25'");
    if (caught_up - started > 3.0)
        fail_msg("the missed run was enqueued %.2f s after the start", caught_up - started);

    /* The 26th's at 22:00 of the shifted clock, within one housekeeping period. */
    double fired = query_double(&e, "SELECT extract(epoch FROM enqueued_at) FROM service_runs"
                                    " WHERE run_date = '2021-01-26'");
    double fired_clock = fired + (double)offset - (double)target; /* seconds after 21:59:56 */
    if (fired_clock < 4.0 || fired_clock > 7.0)
        fail_msg("the run of the 26th was enqueued at 21:59:56 + %.2f s", fired_clock);
    /* Its start: the lookback (the 24th), or the day after the last run
     * completed when it was enqueued, whichever is earlier. */
    bool completed_first = query_int(&e, "SELECT count(*) FROM service_runs a, service_runs b"
                                         " WHERE a.run_date = '2021-01-25' AND b.run_date ="
                                         " '2021-01-26' AND a.completed_at < b.enqueued_at") == 1;
    assert_query_text(&e,
                      "SELECT from_date || ' ' || to_date || ' ' || symbols FROM service_runs"
                      " WHERE run_date = '2021-01-26'",
                      completed_first ? "2021-01-24 2021-01-26 1" : "2021-01-20 2021-01-26 1");

    /* Each run once: one job each, enqueued by one of the two processes. */
    assert_query_text(&e,
                      "SELECT string_agg(run_date || ' ' || symbol || ' ' || from_date || ' ' ||"
                      " to_date || ' ' || state, ', ' ORDER BY run_date) FROM backfill_jobs",
                      completed_first ? "2021-01-25 GME 2021-01-20 2021-01-25 done, "
                                        "2021-01-26 GME 2021-01-24 2021-01-26 done"
                                      : "2021-01-25 GME 2021-01-20 2021-01-25 done, "
                                        "2021-01-26 GME 2021-01-20 2021-01-26 done");
    char host[64] = "";
    gethostname(host, sizeof host - 1);
    char owner_a[128], owner_b[128], sql[400];
    snprintf(owner_a, sizeof owner_a, "%s:%ld:%%", host, (long)a->pid);
    snprintf(owner_b, sizeof owner_b, "%s:%ld:%%", host, (long)b->pid);
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM service_runs WHERE run_date > '2021-01-19' AND"
             " (enqueued_by LIKE '%s' OR enqueued_by LIKE '%s')",
             owner_a, owner_b);
    assert_int_equal(query_int(&e, sql), 2);
    char *ta = proc_output(a), *tb = proc_output(b);
    assert_int_equal(count_lines_with(ta, "scheduled run 2021-01-25: 1 job for "
                                          "2021-01-20..2021-01-25") +
                         count_lines_with(tb, "scheduled run 2021-01-25: 1 job for "
                                              "2021-01-20..2021-01-25"),
                     1);
    assert_int_equal(count_lines_with(ta, "scheduled run 2021-01-26: 1 job for ") +
                         count_lines_with(tb, "scheduled run 2021-01-26: 1 job for "),
                     1);
    free(ta);
    free(tb);

    /* The bars of the 20th to the 26th, and no others. */
    long long want = csv_rows(GME_CSV, "2021-01-20", "2021-01-26");
    assert_int_equal(want, 5);
    assert_int_equal(query_int(&e, "SELECT count(*) FROM ohlcv WHERE symbol = 'GME' AND"
                                   " (ts AT TIME ZONE 'America/New_York')::date BETWEEN"
                                   " '2021-01-20' AND '2021-01-26'"),
                     want);
    assert_int_equal(query_int(&e, "SELECT count(*) FROM ohlcv"), want);
    assert_int_equal(query_int(&e, "SELECT count(*) FROM ohlcv_quarantine"), 0);
    service_stop(a, 5000);
    service_stop(b, 5000);

    /* Each run is closed once too: one "completed" line (and, for a failed
     * run, one alert) for the deployment, not one per process. */
    ta = proc_output(a);
    tb = proc_output(b);
    size_t closed25 = count_lines_with(ta, "scheduled run 2021-01-25 completed") +
                      count_lines_with(tb, "scheduled run 2021-01-25 completed");
    size_t closed26 = count_lines_with(ta, "scheduled run 2021-01-26 completed") +
                      count_lines_with(tb, "scheduled run 2021-01-26 completed");
    free(ta);
    free(tb);
    if (closed25 != 1 || closed26 != 1)
        fail_msg("the runs of the 25th and 26th were closed %zu and %zu times (the 26th's row"
                 " %s held while both processes came to close it)",
                 closed25, closed26, held_open ? "was" : "was not");
    itenv_stop(&e);
}

/* A SIGTERM while a request waits out a Retry-After: the wait ends at once and
 * no further request is made. */
static void sigterm_during_retry_after_makes_no_further_request(void **state)
{
    (void)state;
    static itenv e;
    /* one request a minute: the second page gets a 429 with Retry-After 30 */
    const char *throttled[] = { "--rate-limit-per-min", "1", "--retry-after", "30", NULL };
    env_start(&e, "term_retry", throttled);
    setenv_var(&e, "POLYGON_MAX_RETRY_DELAY", "60s");
    setenv_var(&e, "POLYGON_MAX_ATTEMPTS", "5");
    migrate(&e);
    enqueue(&e, "KO", "2012-01-01", "2012-12-31", 1);
    itenv_proc *s = service_start(&e, NULL);
    size_t n = 0;
    for (int i = 0; i < 200 && n < 2; i++) {
        sleep_ms(100);
        free(read_requests(&e, &n));
    }
    assert_int_equal(n, 2); /* the second request got its 429: the worker now waits 30 s */
    sleep_ms(300);
    int64_t took = service_stop(s, 5000 + 1000);
    if (took > 2000)
        fail_msg("the process took %lld ms to stop in a 30 s Retry-After wait", (long long)took);
    sleep_ms(200);
    free(read_requests(&e, &n));
    if (n != 2) {
        char *text = proc_output(s);
        fail_msg("%zu requests, expected 2 (none after SIGTERM):\n%s", n, text);
    }
    assert_int_equal(query_int(&e, "SELECT count(*) FROM backfill_jobs WHERE state = 'pending'"),
                     1);
}

static void sigterm_during_a_page_leaves_no_partial_page(void **state)
{
    (void)state;
    static itenv e;
    /* Each request takes 400 ms: a SIGTERM lands in the middle of a page. */
    const char *slow[] = { "--faults", "delay", "--fault-every", "1", "--delay-ms", "400", NULL };
    env_start(&e, "sigterm", slow);
    migrate(&e);
    enqueue(&e, "MSFT", "2012-01-01", "2014-12-31", 1);
    itenv_proc *s = service_start(&e, NULL);
    wait_for(&e, "SELECT count(*) FROM backfill_jobs WHERE checkpoint_ms IS NOT NULL", 1, 30000);
    sleep_ms(200);
    int64_t took = service_stop(s, 5000 + 1000);
    if (took > 5000)
        fail_msg("the process took %lld ms to stop; SHUTDOWN_TIMEOUT is 5 s", (long long)took);
    char *text = proc_output(s);
    char want[96];
    long long id = query_int(&e, "SELECT id FROM backfill_jobs");
    snprintf(want, sizeof want, "MSFT: job %lld released at shutdown (pending)", id);
    if (!strstr(text, want))
        fail_msg("no \"%s\" in:\n%s", want, text);
    free(text);

    /* Whole pages only, and the job's counters and checkpoint agree with them. */
    long long rows = query_int(&e, "SELECT count(*) FROM ohlcv WHERE symbol = 'MSFT'");
    long long total = csv_rows(MSFT_CSV, NULL, NULL);
    assert_true(rows > 0 && rows < total);
    assert_int_equal(rows % 50, 0);
    assert_int_equal(query_int(&e, "SELECT sum(accepted) FROM dq_runs WHERE symbol = 'MSFT'"),
                     rows);
    assert_int_equal(query_int(&e, "SELECT 50 * count(*) FROM dq_runs WHERE symbol = 'MSFT'"),
                     rows);
    assert_int_equal(query_int(&e, "SELECT bars_inserted FROM backfill_jobs"), rows);
    assert_query_text(&e,
                      "SELECT state || ' ' || attempts || ' ' || (lease_owner IS NULL) || ' ' ||"
                      " (lease_until IS NULL) || ' ' || (checkpoint_ms = (SELECT (extract(epoch"
                      " FROM max(ts)) * 1000)::bigint FROM ohlcv)) FROM backfill_jobs",
                      "pending 0 true true true");

    itenv_proc *next = service_start(&e, NULL);
    wait_for(&e, "SELECT count(*) FROM backfill_jobs WHERE state = 'done'", 1, 60000);
    expect_symbol(&e, "MSFT", MSFT_CSV);
    expect_no_duplicates(&e);
    assert_int_equal(query_int(&e, "SELECT bars_inserted FROM backfill_jobs"), total);
    assert_int_equal(query_int(&e, "SELECT sum(accepted) FROM dq_runs"), total);
    snprintf(want, sizeof want, "MSFT: resuming job %lld after its checkpoint", id);
    assert_true(output_has(next, want));
    service_stop(next, 5000);
    itenv_stop(&e);
}

static void a_job_refused_by_the_api_ends_dead(void **state)
{
    (void)state;
    static itenv e;
    env_start(&e, "dead", NULL);
    setenv_var(&e, "POLYGON_API_KEY", WRONG_KEY);
    setenv_var(&e, "JOB_MAX_ATTEMPTS", "2");
    migrate(&e);
    enqueue(&e, "IBM", "2012-01-01", "2012-12-31", 1);
    itenv_proc *s = service_start(&e, NULL);
    wait_for(&e, "SELECT count(*) FROM backfill_jobs WHERE state = 'dead'", 1, 20000);
    assert_query_text(&e, "SELECT attempts || ' ' || last_error FROM backfill_jobs",
                      "2 fatal error after 1 attempt: GET /v2/aggs/ticker/IBM/range/1/day/"
                      "1325394000000/1357016399999: HTTP 401: Unknown API Key");
    long long id = query_int(&e, "SELECT id FROM backfill_jobs");
    char want[80];
    snprintf(want, sizeof want, "IBM: job %lld failed; will retry: ", id);
    wait_output(s, want, 1000);
    snprintf(want, sizeof want, "IBM: job %lld is dead after its last attempt: ", id);
    wait_output(s, want, 1000);

    /* Two requests, JOB_RETRY_DELAY apart; none after the job died. */
    sleep_ms(1500);
    size_t n;
    request_entry *rq = read_requests(&e, &n);
    assert_int_equal(n, 2);
    assert_int_equal(rq[0].status, 401);
    assert_int_equal(rq[1].status, 401);
    if (rq[1].mono_ms - rq[0].mono_ms < 950)
        fail_msg("the second attempt came %lld ms after the first; JOB_RETRY_DELAY is 1 s",
                 rq[1].mono_ms - rq[0].mono_ms);
    free(rq);
    service_stop(s, 5000);
    assert_no_secret_anywhere(&e, WRONG_KEY);
    itenv_stop(&e);
}

/* Symbols that are not tickers, in job rows written by anyone: a path that
 * climbs out of the API's, one that replaces the query string (and its
 * key), one of 3,000 characters that a copy would cut into another ticker.
 * Their jobs end dead with a clear error and no request is ever made. */
static void symbols_that_are_not_tickers_are_never_requested(void **state)
{
    (void)state;
    static itenv e;
    env_start(&e, "symbols", NULL);
    setenv_var(&e, "JOB_MAX_ATTEMPTS", "1");
    migrate(&e);
    enqueue(&e, "IBM,KO,MSFT", "2012-01-01", "2012-01-31", 3);
    exec_on(e.url, "UPDATE backfill_jobs SET symbol = CASE symbol"
                   " WHEN 'IBM' THEN 'OK/../../../v9/steal?x='"
                   " WHEN 'KO' THEN 'OK?apiKey=zzz#'"
                   " ELSE 'MSFT' || repeat('X', 2996) END");
    itenv_proc *s = service_start(&e, NULL);
    wait_for(&e, "SELECT count(*) FROM backfill_jobs WHERE state = 'dead'", 3, 20000);
    assert_int_equal(query_int(&e, "SELECT count(*) FROM backfill_jobs"
                                   " WHERE last_error LIKE '%invalid symbol: not a ticker%'"),
                     3);
    size_t n;
    request_entry *rq = read_requests(&e, &n);
    free(rq);
    if (n != 0)
        fail_msg("%zu requests reached the API for symbols that are not tickers", n);
    service_stop(s, 5000);
    itenv_stop(&e);
}

int main(int argc, char **argv)
{
    /* The ingestors under test must not inherit settings from this shell. */
    static const char *const inherited[] = {
        "POLYGON_API_KEY",       "LOG_FORMAT",
        "BACKFILL_SYMBOLS",      "BACKFILL_SCHEDULE_TZ",
        "INGESTOR_CLOCK_OFFSET", "ALERT_WEBHOOK_URL",
        "ALERT_EMAIL_ENABLED",   "DB_POOL_MAX",
        "DB_POOL_MIN",           NULL,
    };
    int rc = itenv_init(argc, argv, inherited);
    if (rc != 0)
        return rc;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(three_processes_store_every_bar_once_under_one_rate_limit,
                                  itenv_teardown),
        cmocka_unit_test_teardown(kill_9_lease_expires_and_another_process_finishes,
                                  itenv_teardown),
        cmocka_unit_test_teardown(stolen_lease_commits_nothing, itenv_teardown),
        cmocka_unit_test_teardown(postgres_restart_during_run_completes, itenv_teardown),
        cmocka_unit_test_teardown(schedule_fires_and_catches_up_missed_days, itenv_teardown),
        cmocka_unit_test_teardown(sigterm_during_retry_after_makes_no_further_request,
                                  itenv_teardown),
        cmocka_unit_test_teardown(sigterm_during_a_page_leaves_no_partial_page, itenv_teardown),
        cmocka_unit_test_teardown(a_job_refused_by_the_api_ends_dead, itenv_teardown),
        cmocka_unit_test_teardown(symbols_that_are_not_tickers_are_never_requested, itenv_teardown),
    };
    return cmocka_run_group_tests_name("service", tests, NULL, NULL);
}
