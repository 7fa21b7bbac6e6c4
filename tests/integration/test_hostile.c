/*
 * The ingestor against a hostile upstream (tests/integration/hostile.c):
 * bodies that do not end or decode to gigabytes, pages larger than asked,
 * error messages that echo the key or are not UTF-8, cursors that do not
 * move, bars that were not asked for. A real PostgreSQL (DATABASE_URL, from
 * scripts/pg), the real ingestor binary, the hostile server on loopback.
 *   test-hostile INGESTOR_EXE REPLAY_EXE DATA_DIR PG_SCRIPT
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <libpq-fe.h>

#include "deadline.h"
#include "harness.h"
#include "hostile.h"
#include "itenv.h"
#include "receivers.h"

/* A key with a character that JSON escapes and URLs encode. */
#define HKEY "Zq7\"PolyKEY_ABCDE98765"

static hostile *server;

static void env_start(itenv *e, const char *name)
{
    itenv_start(e, name, it_data_dir, NULL, NULL);
    server = hostile_start();
    setenv_var(e, "POLYGON_BASE_URL", hostile_base(server));
    setenv_var(e, "POLYGON_API_KEY", HKEY);
    setenv_var(e, "POLYGON_MAX_ATTEMPTS", "2");
    setenv_var(e, "POLYGON_MAX_RETRY_DELAY", "1s");
    setenv_var(e, "POLYGON_TIMEOUT", "20s");
    setenv_var(e, "LOG_LEVEL", "INFO");
    setenv_var(e, "API_WORKERS", "1");
    migrate(e);
}

static void env_stop(itenv *e)
{
    itenv_stop(e);
    hostile_stop(server);
    server = NULL;
}

static int teardown(void **state)
{
    itenv_teardown(state);
    hostile_stop(server);
    server = NULL;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* One ingestor run: its two streams apart, its exit, its peak memory       */
/* ------------------------------------------------------------------------ */

typedef struct run_result {
    int status;     /* exit status; 128+N for signal N; -1: killed at the deadline */
    long maxrss_mb; /* peak resident memory of the process */
    char *out, *err;
} run_result;

static void run_free(run_result *r)
{
    free(r->out);
    free(r->err);
}

static void run_measured(itenv *e, const char *const *args, long deadline_ms, run_result *r)
{
    memset(r, 0, sizeof *r);
    char out_path[300], err_path[300];
    snprintf(out_path, sizeof out_path, "%s/stdout", e->dir);
    snprintf(err_path, sizeof err_path, "%s/stderr", e->dir);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int o = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int x = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (o < 0 || x < 0)
            _exit(127);
        dup2(o, STDOUT_FILENO);
        dup2(x, STDERR_FILENO);
        for (int i = 0; e->envp[i]; i++)
            putenv(strdup(e->envp[i]));
        char *argv[32] = { strdup(it_ingestor_exe) };
        int n = 1;
        for (int i = 0; args[i] && n < 31; i++)
            argv[n++] = strdup(args[i]);
        argv[n] = NULL;
        execv(argv[0], argv);
        _exit(127);
    }
    int64_t until = mono_ms() + deadline_ms;
    int st;
    struct rusage ru;
    for (;;) {
        pid_t got = wait4(pid, &st, WNOHANG, &ru);
        if (got == pid)
            break;
        if (got < 0 && errno != EINTR)
            fail_msg("wait4: %s", strerror(errno));
        if (mono_ms() >= until) {
            kill(pid, SIGKILL);
            wait4(pid, &st, 0, &ru);
            r->status = -1;
            break;
        }
        sleep_ms(20);
    }
    if (r->status == 0)
        r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    r->maxrss_mb = ru.ru_maxrss / 1024;
    r->out = read_file(out_path, NULL);
    r->err = read_file(err_path, NULL);
    assert_non_null(r->out);
    assert_non_null(r->err);
}

static void backfill(itenv *e, const char *symbols, long deadline_ms, run_result *r)
{
    const char *args[] = { "backfill",   "--symbols", symbols,      "--from",
                           "2020-01-01", "--to",      "2020-12-31", NULL };
    run_measured(e, args, deadline_ms, r);
}

static char *job_text(const itenv *e, const char *symbol, const char *column)
{
    char sql[300], v[600];
    snprintf(sql, sizeof sql, "SELECT %s FROM backfill_jobs WHERE symbol = '%s'", column, symbol);
    query_text(e, sql, v, sizeof v);
    return strdup(v);
}

#define assert_job(e, symbol, column, want)                                                        \
    do {                                                                                           \
        char *got_ = job_text((e), (symbol), (column));                                            \
        if (strcmp(got_, (want)) != 0)                                                             \
            fail_msg("%s of %s: got '%s', want '%s'", (column), (symbol), got_, (want));           \
        free(got_);                                                                                \
    } while (0)

static void assert_job_error_has(const itenv *e, const char *symbol, const char *needle)
{
    char *got = job_text(e, symbol, "last_error");
    if (!strstr(got, needle))
        fail_msg("last_error of %s: '%s' has no '%s'", symbol, got, needle);
    free(got);
}

/* ------------------------------------------------------------------------ */
/* Point 1: bounded memory                                                  */
/* ------------------------------------------------------------------------ */

static void hostile_bodies_are_cut_and_memory_stays_bounded(void **state)
{
    (void)state;
    static itenv e;
    env_start(&e, "hbody");
    static const struct {
        const char *symbol, *error;
    } bodies[] = {
        { "BOMB", "POLYGON_MAX_BODY" },
        { "ENDLESS", "POLYGON_MAX_BODY" },
        { "HUGE", "POLYGON_MAX_BODY" },
    };
    /* Every body first, so that each peak is measured and shown. */
    long peak[3];
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        run_result r;
        int64_t t0 = mono_ms();
        backfill(&e, bodies[i].symbol, 60000, &r);
        fprintf(stderr, "peak RSS of a backfill under %s: %ld MB (exit %d, %lld ms)\n",
                bodies[i].symbol, r.maxrss_mb, r.status, (long long)(mono_ms() - t0));
        peak[i] = r.maxrss_mb;
        run_free(&r);
    }
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++)
        if (peak[i] >= 300)
            fail_msg("%s: peak RSS %ld MB", bodies[i].symbol, peak[i]);
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        run_result r;
        backfill(&e, bodies[i].symbol, 60000, &r);
        if (r.status != 1)
            fail_msg("%s: exit %d:\n%s%s", bodies[i].symbol, r.status, r.out, r.err);
        assert_job(&e, bodies[i].symbol, "state", "failed");
        assert_job_error_has(&e, bodies[i].symbol, bodies[i].error);
        run_free(&r);
    }
    /* A page larger than asked is refused, with the figures. */
    setenv_var(&e, "POLYGON_PAGE_LIMIT", "5");
    run_result r;
    backfill(&e, "MORE", 30000, &r);
    assert_int_equal(r.status, 1);
    assert_job(&e, "MORE", "state", "failed");
    assert_job_error_has(&e, "MORE", "10 bars, more than the 5 asked for");
    assert_int_equal(query_int(&e, "SELECT count(*) FROM ohlcv"), 0);
    run_free(&r);
    env_stop(&e);
}

/* ------------------------------------------------------------------------ */
/* Point 2: the key, echoed by the server, reaches no sink                  */
/* ------------------------------------------------------------------------ */

/* Pads that put the key astride the cuts of the messages built from it. */
#define ECHO_SYMBOLS "ECHO0,ECHO150,ECHO165,ECHO170,ECHO175,ECHO178,ECHO182,ECHO230,ECHO480,ECHO999"

/* The key in every form it can take, and the first half of each. */
static void assert_no_key(const char *what, const char *text)
{
    static const char *const forms[] = { HKEY,
                                         "Zq7\\\"PolyKEY_ABCDE98765",
                                         "Zq7%22PolyKEY_ABCDE98765",
                                         "Zq7\"PolyKE",
                                         "Zq7\\\"PolyKE",
                                         "Zq7%22PolyKE",
                                         "Zq7\"\"PolyKE",
                                         NULL };
    for (int i = 0; forms[i]; i++)
        assert_no_secret(what, text, forms[i]);
}

/* Every value of every column of every table of the test's database, as text. */
static char *all_tables_text(const itenv *e)
{
    PGconn *c = connect_to(e->url);
    PGresult *r = PQexec(c, "SELECT format('SELECT coalesce(string_agg(%I::text, E''\\n''), '''')"
                            " FROM %I', column_name, table_name) FROM information_schema.columns"
                            " WHERE table_schema = 'public'");
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    size_t cap = 1 << 16, len = 0;
    char *all = malloc(cap);
    assert_non_null(all);
    all[0] = '\0';
    for (int i = 0; i < PQntuples(r); i++) {
        PGresult *v = PQexec(c, PQgetvalue(r, i, 0));
        if (PQresultStatus(v) != PGRES_TUPLES_OK)
            fail_msg("%s: %s", PQgetvalue(r, i, 0), PQresultErrorMessage(v));
        const char *t = PQgetvalue(v, 0, 0);
        size_t n = strlen(t);
        while (len + n + 2 > cap)
            cap *= 2;
        all = realloc(all, cap);
        assert_non_null(all);
        memcpy(all + len, t, n);
        len += n;
        all[len++] = '\n';
        all[len] = '\0';
        PQclear(v);
    }
    PQclear(r);
    PQfinish(c);
    return all;
}

static void an_echoed_key_reaches_no_output_and_no_table(void **state)
{
    (void)state;
    static itenv e;
    env_start(&e, "hecho");
    run_result r;
    backfill(&e, ECHO_SYMBOLS, 60000, &r);
    assert_int_equal(r.status, 1);
    assert_no_key("the standard output of backfill", r.out);
    assert_no_key("the standard error of backfill", r.err);
    assert_non_null(strstr(r.out, "Unknown API Key: **********"));
    run_free(&r);
    assert_int_equal(query_int(&e, "SELECT count(*) FROM backfill_jobs WHERE state = 'failed'"
                                   " AND last_error LIKE '%HTTP 403%'"),
                     10);
    char *tables = all_tables_text(&e);
    assert_no_key("the tables", tables);
    assert_non_null(strstr(tables, "Unknown API Key: **********"));
    free(tables);
    env_stop(&e);
}

/* ------------------------------------------------------------------------ */
/* Point 3: texts that are not UTF-8, jobs that end                         */
/* ------------------------------------------------------------------------ */

static void texts_that_are_not_utf8_are_stored_replaced_and_jobs_end(void **state)
{
    (void)state;
    static itenv e;
    env_start(&e, "hutf8");
    run_result r;
    backfill(&e, "BADUTF8,UTF8CUT0,UTF8CUT1,UTF8CUT2,UTF8CUT3", 60000, &r);
    assert_int_equal(r.status, 1);
    run_free(&r);
    assert_int_equal(query_int(&e, "SELECT count(*) FROM backfill_jobs WHERE state = 'running'"),
                     0);
    assert_int_equal(query_int(&e, "SELECT count(*) FROM backfill_jobs WHERE state = 'failed'"
                                   " AND last_error LIKE '%HTTP 403%'"),
                     5);
    /* Each byte that is not UTF-8 became U+FFFD; the cut ones end on a whole "€". */
    assert_job_error_has(&e, "BADUTF8", "bad \xEF\xBF\xBD\xEF\xBF\xBD bytes \xEF\xBF\xBD( and ");
    for (int pad = 0; pad < 4; pad++) {
        char sym[16], sql[200];
        snprintf(sym, sizeof sym, "UTF8CUT%d", pad);
        assert_job_error_has(&e, sym, "\xE2\x82\xAC\xE2\x82\xAC");
        snprintf(sql, sizeof sql,
                 "SELECT count(*) FROM backfill_jobs WHERE symbol = '%s' AND"
                 " last_error ~ '\xE2\x82\xAC$'",
                 sym);
        assert_int_equal(query_int(&e, sql), 1);
    }
    env_stop(&e);
}

/* A server's newline and escape sequences do not forge a log line or reach the terminal. */
static void server_text_cannot_forge_a_log_line(void **state)
{
    (void)state;
    static itenv e;
    env_start(&e, "hinject");
    run_result r;
    backfill(&e, "INJECT", 30000, &r);
    assert_int_equal(r.status, 1);
    /* The server's newline stays inside its line: no line was forged. */
    assert_true(count_lines_with(r.err, "forged line") >= 1);
    assert_int_equal(count_lines_with(r.err, "forged line"),
                     count_lines_with(r.err, "denied\\n2020-01-01T00:00:00.000Z ERROR forged"));
    assert_null(strchr(r.err, '\x1b'));
    assert_null(strchr(r.out, '\x1b'));
    assert_non_null(strstr(r.err, "denied\\n2020-01-01T00:00:00.000Z ERROR forged line"));
    run_free(&r);
    env_stop(&e);
}

/* ------------------------------------------------------------------------ */
/* Point 4: cursors that do not move                                        */
/* ------------------------------------------------------------------------ */

static void a_cursor_that_does_not_move_ends_the_job(void **state)
{
    (void)state;
    static itenv e;
    env_start(&e, "hloop");
    static const struct {
        const char *symbol, *error;
        long max_requests, max_dq_runs;
    } cases[] = {
        { "LOOP", "next_url leads back to a page already fetched", 2, 1 },
        { "CREEP", "page 2 does not advance the job", 2, 1 },
        { "EMPTY", "the cursor did not end after 12 pages", 12, 0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        long before = hostile_requests(server);
        run_result r;
        backfill(&e, cases[i].symbol, 15000, &r);
        if (r.status != 1)
            fail_msg("%s: exit %d (-1: still running after 15 s), %ld requests:\n%s",
                     cases[i].symbol, r.status, hostile_requests(server) - before, r.err);
        run_free(&r);
        assert_job(&e, cases[i].symbol, "state", "failed");
        assert_job_error_has(&e, cases[i].symbol, cases[i].error);
        long requests = hostile_requests(server) - before;
        if (requests > cases[i].max_requests)
            fail_msg("%s: %ld requests", cases[i].symbol, requests);
        char sql[200];
        snprintf(sql, sizeof sql, "SELECT count(*) FROM dq_runs WHERE symbol = '%s'",
                 cases[i].symbol);
        assert_true(query_int(&e, sql) <= cases[i].max_dq_runs);
    }
    env_stop(&e);
}

/* ------------------------------------------------------------------------ */
/* Point 5: bars that were not asked for                                    */
/* ------------------------------------------------------------------------ */

static void bars_not_asked_for_are_refused_and_quarantined(void **state)
{
    (void)state;
    static itenv e;
    env_start(&e, "hrange");
    run_result r;
    backfill(&e, "RANGE,OTHER", 30000, &r);
    if (r.status != 0)
        fail_msg("exit %d:\n%s%s", r.status, r.out, r.err);
    /* Only the two bars of 2020 for RANGE are stored. */
    assert_int_equal(query_int(&e, "SELECT count(*) FROM ohlcv"), 2);
    assert_int_equal(query_int(&e, "SELECT count(*) FROM ohlcv WHERE symbol = 'RANGE' AND"
                                   " ts >= '2020-01-02' AND ts < '2020-01-04'"),
                     2);
    assert_int_equal(query_int(&e, "SELECT count(*) FROM ohlcv_quarantine WHERE symbol = 'RANGE'"
                                   " AND codes = '{OUT_OF_RANGE}'"),
                     3);
    assert_int_equal(query_int(&e, "SELECT count(*) FROM ohlcv_quarantine WHERE symbol = 'OTHER'"
                                   " AND codes = '{WRONG_TICKER}'"),
                     3);
    /* The checkpoint is the last bar asked for, never past the range. */
    assert_job(&e, "RANGE", "checkpoint_ms", "1578027600000");
    assert_job(&e, "OTHER", "checkpoint_ms", "NULL");
    /* Counted and reported. */
    assert_non_null(strstr(r.out, "ok; 3 bars refused"));
    assert_non_null(strstr(r.out, "6 bars refused"));
    assert_non_null(strstr(r.err, "3 bars outside the job's range and 0 for another ticker"));
    run_free(&r);
    env_stop(&e);
}

static void plain_http_to_another_host_is_warned_at_start_up(void **state)
{
    (void)state;
    static itenv e;
    env_start(&e, "hhttp");
    setenv_var(&e, "POLYGON_BASE_URL", "http://192.0.2.1:9");
    setenv_var(&e, "POLYGON_TIMEOUT", "1s");
    setenv_var(&e, "POLYGON_MAX_ATTEMPTS", "1");
    run_result r;
    backfill(&e, "AAPL", 30000, &r);
    assert_non_null(strstr(r.err, "POLYGON_BASE_URL is plain http to another host"));
    run_free(&r);
    setenv_var(&e, "POLYGON_BASE_URL", hostile_base(server));
    backfill(&e, "RANGE", 30000, &r);
    assert_null(strstr(r.err, "plain http"));
    run_free(&r);
    env_stop(&e);
}

/* ------------------------------------------------------------------------ */
/* The service: alerts, the admin API, leases                               */
/* ------------------------------------------------------------------------ */

static unsigned service_admin_port(itenv_proc *p)
{
    static const char line[] = "admin HTTP on http://127.0.0.1:";
    int64_t until = mono_ms() + 20000;
    while (mono_ms() < until) {
        char *text = proc_output(p);
        const char *at = strstr(text, line);
        unsigned port = at ? (unsigned)atoi(at + strlen(line)) : 0;
        free(text);
        if (port)
            return port;
        if (wait_exit(p->pid, 0) >= 0) {
            p->pid = 0;
            fail_msg("ingestor run ended at start-up:\n%s", proc_output(p));
        }
        sleep_ms(20);
    }
    fail_msg("no admin HTTP line from ingestor run within 20 s");
    return 0;
}

static char *admin_get(unsigned port, const char *path)
{
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%u%s", port, path);
    fetch_result r;
    assert_int_equal(fetch(&r, url, NULL), 0);
    if (r.curl_code != 0 || r.status != 200)
        fail_msg("GET %s: curl %d, HTTP %ld", path, r.curl_code, r.status);
    char *body = strdup(r.body ? r.body : "");
    fetch_free(&r);
    return body;
}

#define SERVICE_SYMBOLS "ECHO0,ECHO170,ECHO178,BADUTF8,UTF8CUT2"

static void the_service_masks_the_key_everywhere_and_leaves_no_job_running(void **state)
{
    (void)state;
    hook *h = hook_start("HOOKtok-hostile-5e1f");
    smtp_sink *m = sink_start(0);
    static itenv e;
    env_start(&e, "hsvc");
    setenv_var(&e, "ADMIN_PORT", "0");
    setenv_var(&e, "BACKFILL_SCHEDULE_TZ", "UTC");
    setenv_var(&e, "JOB_LEASE", "3s");
    setenv_var(&e, "JOB_MAX_ATTEMPTS", "1");
    setenv_var(&e, "SHUTDOWN_TIMEOUT", "5s");
    setenv_var(&e, "ALERT_WEBHOOK_URL", h->url);
    setenv_var(&e, "ALERT_EMAIL_ENABLED", "true");
    setenv_var(&e, "ALERT_EMAIL_TO", "ops@example.com");
    setenv_var(&e, "ALERT_EMAIL_FROM", "ingestor@example.com");
    setenv_var(&e, "ALERT_SMTP_HOST", "127.0.0.1");
    char port[16];
    snprintf(port, sizeof port, "%d", m->port);
    setenv_var(&e, "ALERT_SMTP_PORT", port);
    setenv_var(&e, "ALERT_SMTP_TLS", "off");
    const char *args[] = { "enqueue",    "--symbols", SERVICE_SYMBOLS, "--from",
                           "2020-01-01", "--to",      "2020-12-31",    NULL };
    free(run_ingestor_ok(&e, args));
    static const char *const run[] = { "run", NULL };
    itenv_proc *p = spawn_ingestor(&e, run, NULL);
    unsigned admin = service_admin_port(p);

    /* Every job ends dead, each with its alert on both channels. */
    WAIT_FOR_EVERY(query_int(&e, "SELECT count(*) FROM backfill_jobs WHERE state = 'dead'") == 5,
                   60000, 100);
    if (query_int(&e, "SELECT count(*) FROM backfill_jobs WHERE state = 'dead'") != 5) {
        char *text = proc_output(p);
        fail_msg("not every job is dead after 60 s:\n%s", text);
    }
    WAIT_FOR_EVERY(hook_requests(h) >= 5 && sink_messages(m) >= 5, 30000, 50);
    assert_int_equal(hook_requests(h), 5);
    assert_int_equal(sink_messages(m), 5);

    /* A job left running by a worker of this process that is gone, while
     * another worker holds a job: the orphan's lease is not renewed, it
     * expires, and a worker takes the job. */
    const char *slow[] = { "enqueue",    "--symbols", "SLOW",       "--from",
                           "2020-01-01", "--to",      "2020-12-31", NULL };
    free(run_ingestor_ok(&e, slow));
    WAIT_FOR_EVERY(query_int(&e, "SELECT count(*) FROM backfill_jobs WHERE symbol = 'SLOW' AND"
                                 " state = 'running'") == 1,
                   10000, 50);
    char owner[200];
    pthread_mutex_lock(&h->lock);
    const char *proc = strstr(h->body[0], "process ");
    assert_non_null(proc);
    snprintf(owner, sizeof owner, "%.*s", (int)strcspn(proc + 8, "\\\""), proc + 8);
    pthread_mutex_unlock(&h->lock);
    char sql[600];
    snprintf(sql, sizeof sql,
             "INSERT INTO backfill_jobs (symbol, timespan, multiplier, adjusted, from_date,"
             " to_date, source, state, attempts, lease_owner, lease_until) VALUES ('ORPHAN',"
             " 'day', 1, true, '2020-01-01', '2020-12-31', 'polygon', 'running', 1, '%s:999',"
             " now() + interval '2 seconds')",
             owner);
    exec_on(e.url, sql);
    /* Past its first lease (JOB_LEASE=3s), the slow job's was renewed. */
    sleep_ms(3500);
    assert_int_equal(query_int(&e, "SELECT count(*) FROM backfill_jobs WHERE symbol = 'SLOW' AND"
                                   " state = 'running' AND lease_until > now()"),
                     1);
    WAIT_FOR_EVERY(query_int(&e, "SELECT count(*) FROM backfill_jobs WHERE symbol = 'ORPHAN'"
                                 " AND state = 'running' AND lease_owner LIKE '%:999'") == 0,
                   15000, 100);
    assert_int_equal(query_int(&e, "SELECT count(*) FROM backfill_jobs WHERE symbol = 'ORPHAN'"
                                   " AND state = 'running' AND lease_owner LIKE '%:999'"),
                     0);
    assert_int_equal(query_int(&e, "SELECT count(*) FROM backfill_jobs WHERE symbol = 'SLOW' AND"
                                   " state = 'dead'"),
                     1);

    /* Nothing the service serves, sends or logs holds the key. */
    char *body = admin_get(admin, "/api/v1/jobs");
    assert_non_null(strstr(body, "Unknown API Key: **********"));
    assert_no_key("/api/v1/jobs", body);
    free(body);
    body = admin_get(admin, "/api/v1/metrics");
    assert_no_key("/api/v1/metrics", body);
    free(body);
    body = admin_get(admin, "/metrics");
    assert_no_key("/metrics", body);
    free(body);
    pthread_mutex_lock(&h->lock);
    bool masked = false;
    for (int i = 0; i < h->requests && i < HOOK_MAX_REQ; i++) {
        assert_no_key("a webhook body", h->body[i]);
        masked = masked || strstr(h->body[i], "Unknown API Key: ********") != NULL;
    }
    pthread_mutex_unlock(&h->lock);
    assert_true(masked);
    pthread_mutex_lock(&m->lock);
    for (int i = 0; i < m->messages && i < SINK_MAX_MSG; i++)
        assert_no_key("an email", m->all[i]);
    pthread_mutex_unlock(&m->lock);
    assert_int_equal(proc_stop(p, 20000), 0);
    char *text = proc_output(p);
    assert_no_key("the output of ingestor run", text);
    free(text);
    char *tables = all_tables_text(&e);
    assert_no_key("the tables", tables);
    free(tables);
    env_stop(&e);
    sink_stop(m);
    hook_stop(h);
}

int main(int argc, char **argv)
{
    static const char *const inherited[] = {
        "POLYGON_API_KEY",     "LOG_FORMAT",      "POLYGON_PAGE_LIMIT",     "ALERT_WEBHOOK_URL",
        "ALERT_EMAIL_ENABLED", "ALERT_SMTP_HOST", "ALERT_SMTP_USER",        "ALERT_SMTP_PASSWORD",
        "BACKFILL_SYMBOLS",    "ADMIN_ADDR",      "POLYGON_MAX_BODY_BYTES", NULL,
    };
    int rc = itenv_init(argc, argv, inherited);
    if (rc != 0)
        return rc;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(hostile_bodies_are_cut_and_memory_stays_bounded, teardown),
        cmocka_unit_test_teardown(an_echoed_key_reaches_no_output_and_no_table, teardown),
        cmocka_unit_test_teardown(texts_that_are_not_utf8_are_stored_replaced_and_jobs_end,
                                  teardown),
        cmocka_unit_test_teardown(server_text_cannot_forge_a_log_line, teardown),
        cmocka_unit_test_teardown(a_cursor_that_does_not_move_ends_the_job, teardown),
        cmocka_unit_test_teardown(bars_not_asked_for_are_refused_and_quarantined, teardown),
        cmocka_unit_test_teardown(plain_http_to_another_host_is_warned_at_start_up, teardown),
        cmocka_unit_test_teardown(the_service_masks_the_key_everywhere_and_leaves_no_job_running,
                                  teardown),
    };
    rc = cmocka_run_group_tests_name("hostile", tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
