/*
 * The ingestor service's operations surface end to end: `ingestor run`
 * against a real PostgreSQL (DATABASE_URL, from scripts/pg), a real
 * polygon-replay on loopback, and alert receivers in this process (a
 * webhook receiver and an SMTP sink, tests/ingestor/receivers.c): alerts
 * for dead jobs on both channels without secrets and deduplicated, the API
 * breaker's alerts (opened, resolved), and the admin HTTP server's metrics,
 * jobs and probes matched against the database and the replay's request log.
 *   test-service-ops INGESTOR_EXE REPLAY_EXE DATA_DIR PG_SCRIPT
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>
#include <curl/curl.h>
#include <libpq-fe.h>

#include "deadline.h"
#include "harness.h"
#include "itenv.h"
#include "promcheck.h"
#include "receivers.h"

/* The key the replay accepts (ITENV_KEY), and secrets that must never be seen. */
#define ADMIN_TOKEN "adm-tok-9f3b1c7e5d2a4b60"
#define KEY         ITENV_KEY
#define SECRET_API  "pk_OPSTEST_Zq81vXw3Lk0dPr"
#define SECRET_DB   "dbPW-opstest-5c1e8f0a"
#define SECRET_SMTP "smtpPW-opstest-93b7d2e4"
#define HOOK_TOKEN  "HOOKtok-opstest-61aa0f7b"

static const char *const all_secrets[] = { SECRET_API, SECRET_DB, SECRET_SMTP, HOOK_TOKEN, NULL };

/* ------------------------------------------------------------------------ */
/* Helpers                                                                  */
/* ------------------------------------------------------------------------ */

#define WAIT_FOR(cond, ms) WAIT_FOR_EVERY(cond, ms, 20)

static void assert_no_secrets(const char *what, const char *text)
{
    for (int i = 0; all_secrets[i]; i++)
        assert_no_secret(what, text, all_secrets[i]);
}

static bool pg_halted;

/* The admin port of the running service (its one process, procs[0]). */
static unsigned admin_port;

/* A database of its own, a replay serving the data, the base environment. */
static void env_start(itenv *e, const char *name, const char *const *replay_args)
{
    char db[48];
    snprintf(db, sizeof db, "ops_%s", name);
    itenv_start(e, db, it_data_dir, SECRET_DB, replay_args);
    PQfinish(connect_to(e->url)); /* the password in the URL still connects */
    setenv_var(e, "POLYGON_MAX_RETRY_DELAY", "1s");
    setenv_var(e, "ADMIN_PORT", "0");
    setenv_var(e, "BACKFILL_SCHEDULE_TZ", "UTC");
    setenv_var(e, "JOB_LEASE", "30s");
    setenv_var(e, "SHUTDOWN_TIMEOUT", "10s");
}

static void enqueue(itenv *e, const char *symbols, const char *from, const char *to)
{
    const char *args[] = { "enqueue", "--symbols", symbols, "--from", from, "--to", to, NULL };
    char *out = run_ingestor_ok(e, args);
    assert_non_null(strstr(out, "enqueued"));
    assert_no_secrets("the output of enqueue", out);
    free(out);
}

/* The admin port from the start-up line; 0 while it is not written yet. */
static unsigned admin_port_logged(const itenv_proc *p)
{
    char *text = proc_output(p);
    const char *at = strstr(text, "admin HTTP on http://127.0.0.1:");
    unsigned port = at ? (unsigned)atoi(at + strlen("admin HTTP on http://127.0.0.1:")) : 0;
    free(text);
    return port;
}

/* Start `ingestor run` in the background (procs[0]), and wait for its admin server. */
static void service_start(itenv *e)
{
    static const char *const run[] = { "run", NULL };
    itenv_proc *p = spawn_ingestor(e, run, NULL);
    int64_t until = mono_ms() + 20000;
    while ((admin_port = admin_port_logged(p)) == 0 && mono_ms() < until) {
        if (wait_exit(p->pid, 0) >= 0) {
            p->pid = 0;
            char *text = proc_output(p);
            fail_msg("ingestor run ended at start-up:\n%s", text);
        }
        sleep_ms(20);
    }
    if (admin_port == 0)
        fail_msg("no admin HTTP line from ingestor run within 20 s");
}

/* SIGTERM, and the exit status (0: a clean stop) within a deadline. */
static int service_stop(itenv *e)
{
    if (e->nprocs == 0 || e->procs[0].pid <= 0)
        return -1;
    return proc_stop(&e->procs[0], 30000);
}

/* The service's output so far (caller frees). */
static char *service_output(const itenv *e)
{
    return proc_output(&e->procs[0]);
}

/* ADMIN_TOKEN of the service under test, sent to /api/v1/... (NULL: none). */
static const char *admin_token;

static void get(const itenv *e, const char *path, fetch_result *r)
{
    (void)e;
    char url[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%u%s", admin_port, path);
    const char *token = strncmp(path, "/api/v1/", 8) == 0 ? admin_token : NULL;
    assert_int_equal(fetch(r, url, token), 0);
    if (r->curl_code != 0)
        fail_msg("GET %s: curl error %d", path, r->curl_code);
}

static long get_status(const itenv *e, const char *path)
{
    fetch_result r;
    get(e, path, &r);
    long st = r.status;
    fetch_free(&r);
    return st;
}

static const char *jstr(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    if (!cJSON_IsString(v))
        fail_msg("no string \"%s\" in the JSON", name);
    return v->valuestring;
}

static double jnum(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    if (!cJSON_IsNumber(v))
        fail_msg("no number \"%s\" in the JSON", name);
    return v->valuedouble;
}

/* Webhook request i, parsed (it must be a 200 with a JSON body). */
static cJSON *hook_json(hook *h, int i)
{
    pthread_mutex_lock(&h->lock);
    assert_true(i < h->requests && i < HOOK_MAX_REQ);
    char *body = strdup(h->body[i]);
    int status = h->status[i];
    char ctype[64];
    snprintf(ctype, sizeof ctype, "%s", h->ctype[i]);
    pthread_mutex_unlock(&h->lock);
    assert_non_null(body);
    assert_int_equal(status, 200);
    assert_string_equal(ctype, "application/json");
    assert_no_secrets("a webhook body", body);
    cJSON *j = cJSON_Parse(body);
    if (!j)
        fail_msg("webhook body is not JSON: %s", body);
    free(body);
    return j;
}

/* The webhook request with this key and severity: its index, or -1. */
static int hook_find(hook *h, const char *key, const char *severity)
{
    int found = -1;
    for (int i = 0; i < hook_requests(h) && found < 0; i++) {
        cJSON *j = hook_json(h, i);
        if (strcmp(jstr(j, "key"), key) == 0 && strcmp(jstr(j, "severity"), severity) == 0)
            found = i;
        cJSON_Delete(j);
    }
    return found;
}

/* After a failure: PostgreSQL runs again, no child process is left. */
static int cleanup(void **state)
{
    (void)state;
    if (pg_halted) {
        pg_halted = false;
        pg_do("resume");
    }
    return itenv_teardown(state);
}

/* ------------------------------------------------------------------------ */
/* Alerts for dead jobs                                                     */
/* ------------------------------------------------------------------------ */

static long long job_id(const itenv *e, const char *symbol)
{
    char sql[200];
    snprintf(sql, sizeof sql, "SELECT id FROM backfill_jobs WHERE symbol = '%s'", symbol);
    return query_int(e, sql);
}

/*
 * The webhook request and the email of the alert for symbol's dead job:
 * exactly one of each, matching each other, naming the symbol, no secret.
 */
static void expect_dead_alert(const itenv *e, hook *h, smtp_sink *s, const char *symbol)
{
    char key[64];
    snprintf(key, sizeof key, "job-dead:%lld", job_id(e, symbol));
    char title[600] = "";
    int hits = 0;
    for (int i = 0; i < hook_requests(h); i++) {
        cJSON *j = hook_json(h, i);
        if (strcmp(jstr(j, "key"), key) == 0) {
            hits++;
            assert_string_equal(jstr(j, "severity"), "critical");
            assert_string_equal(jstr(j, "source"), "ingestor");
            snprintf(title, sizeof title, "%s", jstr(j, "title"));
            char want[64];
            snprintf(want, sizeof want, "%s: job ", symbol);
            assert_memory_equal(title, want, strlen(want));
            assert_non_null(strstr(title, " is dead after 1 attempt: "));
            assert_non_null(strstr(title, "HTTP 401"));
            /* the body adds to the title rather than repeat it */
            assert_null(strstr(jstr(j, "body"), title));
            assert_memory_equal(jstr(j, "body"), "host ", 5);
        }
        cJSON_Delete(j);
    }
    if (hits != 1)
        fail_msg("%d webhook alerts with key %s, want 1", hits, key);

    hits = 0;
    pthread_mutex_lock(&s->lock);
    int n = s->messages < SINK_MAX_MSG ? s->messages : SINK_MAX_MSG;
    for (int i = 0; i < n; i++) {
        char v[1024];
        const char *msg = s->all[i];
        mail_header(msg, "X-Ingestor-Alert-Key", v, sizeof v);
        if (strcmp(v, key) != 0)
            continue;
        hits++;
        assert_no_secrets("an email", msg);
        mail_header(msg, "Subject", v, sizeof v);
        char want[700];
        snprintf(want, sizeof want, "[ingestor CRITICAL] %s", title);
        assert_string_equal(v, want);
        mail_header(msg, "To", v, sizeof v);
        assert_string_equal(v, "ops@example.com, oncall@example.org");
        mail_header(msg, "From", v, sizeof v);
        assert_string_equal(v, "ingestor@example.com");
        const char *body = strstr(msg, "\r\n\r\n");
        assert_non_null(body);
        assert_null(strstr(body, title)); /* the title is the Subject only */
        assert_non_null(strstr(body, "Key: "));
    }
    pthread_mutex_unlock(&s->lock);
    if (hits != 1)
        fail_msg("%d emails with key %s, want 1", hits, key);
}

static void alerts_reach_webhook_and_smtp_without_secrets_and_are_deduplicated(void **state)
{
    (void)state;
    hook *h = hook_start(HOOK_TOKEN);
    smtp_sink *s = sink_start(1);
    static itenv e; /* static: the teardown reaches it after a failure */
    env_start(&e, "dead", NULL);
    /* The replay accepts KEY only: every request of the ingestor is a 401. */
    setenv_var(&e, "POLYGON_API_KEY", SECRET_API);
    setenv_var(&e, "LOG_LEVEL", "DEBUG");
    setenv_var(&e, "API_WORKERS", "1");
    setenv_var(&e, "JOB_MAX_ATTEMPTS", "1");
    setenv_var(&e, "ALERT_WEBHOOK_URL", h->url);
    setenv_var(&e, "ALERT_EMAIL_ENABLED", "true");
    setenv_var(&e, "ALERT_EMAIL_TO", "ops@example.com,oncall@example.org");
    setenv_var(&e, "ALERT_EMAIL_FROM", "ingestor@example.com");
    setenv_var(&e, "ALERT_SMTP_HOST", "127.0.0.1");
    char port[16];
    snprintf(port, sizeof port, "%d", s->port);
    setenv_var(&e, "ALERT_SMTP_PORT", port);
    setenv_var(&e, "ALERT_SMTP_USER", "alerts");
    setenv_var(&e, "ALERT_SMTP_PASSWORD", SECRET_SMTP);
    setenv_var(&e, "ALERT_SMTP_TLS", "off");
    migrate(&e);
    enqueue(&e, "AAPL,IBM", "2012-01-01", "2012-12-31");
    service_start(&e);

    /* Two jobs die: two keys, one alert each on each channel. */
    WAIT_FOR(hook_requests(h) >= 2 && sink_messages(s) >= 2, 60000);
    assert_int_equal(query_int(&e, "SELECT count(*) FROM backfill_jobs WHERE state = 'dead'"), 2);
    expect_dead_alert(&e, h, s, "AAPL");
    expect_dead_alert(&e, h, s, "IBM");
    /* AUTH PLAIN carries the password: the one place it may go. */
    static const char *const rcpt[] = { "<ops@example.com>", "<oncall@example.org>", NULL };
    sink_expect_envelope(s, "alerts", SECRET_SMTP, "<ingestor@example.com>", rcpt);

    /* The same jobs die again within the window: suppressed, both keys. */
    enqueue(&e, "AAPL,IBM", "2012-01-01", "2012-12-31");
    char aapl[96], ibm[96];
    snprintf(aapl, sizeof aapl, "alert job-dead:%lld (critical) suppressed", job_id(&e, "AAPL"));
    snprintf(ibm, sizeof ibm, "alert job-dead:%lld (critical) suppressed", job_id(&e, "IBM"));
    WAIT_FOR(output_has(&e.procs[0], aapl) && output_has(&e.procs[0], ibm), 60000);
    /* A third job dies after them on the one worker: its alert is queued
     * after anything the second deaths could have raised. */
    enqueue(&e, "KO", "2012-01-01", "2012-12-31");
    WAIT_FOR(hook_requests(h) >= 3 && sink_messages(s) >= 3, 60000);
    expect_dead_alert(&e, h, s, "KO");
    assert_int_equal(service_stop(&e), 0);
    assert_int_equal(hook_requests(h), 3);
    assert_int_equal(sink_messages(s), 3);
    assert_int_equal(query_int(&e, "SELECT count(*) FROM backfill_jobs WHERE state = 'dead'"), 3);

    /* Nothing received, logged or served carries a secret. */
    char *text = service_output(&e);
    assert_non_null(strstr(text, "HTTP 401"));
    assert_no_secrets("the output of ingestor run", text);
    /* Each module's prefix once, and the admin address announced once. */
    assert_int_equal(count_lines_with(text, "alerts: alerts:"), 0);
    assert_int_equal(count_lines_with(text, "admin: admin"), 0);
    assert_true(count_lines_with(text, "alerts: alert job-dead:") > 0);
    assert_int_equal(count_lines_with(text, "admin HTTP on") + count_lines_with(text, "listening"),
                     1);
    free(text);
    text = read_file(e.rp.log_path, NULL);
    assert_non_null(text);
    assert_int_equal(count_lines_with(text, "\"status\":401"), 5); /* never retried */
    assert_no_secrets("the replay's request log", text);
    free(text);
    pthread_mutex_lock(&h->lock);
    for (int i = 0; i < h->requests && i < HOOK_MAX_REQ; i++)
        assert_no_secrets("a webhook body", h->body[i]);
    pthread_mutex_unlock(&h->lock);
    pthread_mutex_lock(&s->lock);
    for (int i = 0; i < s->messages && i < SINK_MAX_MSG; i++)
        assert_no_secrets("an email", s->all[i]);
    pthread_mutex_unlock(&s->lock);
    itenv_stop(&e);
    sink_stop(s);
    hook_stop(h);
}

/* ------------------------------------------------------------------------ */
/* The API breaker                                                          */
/* ------------------------------------------------------------------------ */

static void breaker_alert_when_the_api_fails_and_resolved_when_it_recovers(void **state)
{
    (void)state;
    hook *h = hook_start(HOOK_TOKEN);
    static itenv e; /* static: the teardown reaches it after a failure */
    const char *failing[] = { "--faults", "503", "--fault-rate", "1.0", NULL };
    env_start(&e, "breaker", failing);
    setenv_var(&e, "POLYGON_API_KEY", KEY);
    setenv_var(&e, "LOG_LEVEL", "INFO");
    setenv_var(&e, "API_WORKERS", "2");
    setenv_var(&e, "POLYGON_MAX_ATTEMPTS", "4");
    setenv_var(&e, "JOB_MAX_ATTEMPTS", "100");
    setenv_var(&e, "JOB_RETRY_DELAY", "1s");
    setenv_var(&e, "ALERT_WEBHOOK_URL", h->url);
    migrate(&e);
    enqueue(&e, "AAPL,IBM", "2012-01-01", "2012-12-31");
    service_start(&e);

    /* Every request fails: the breaker opens, and says so once. */
    WAIT_FOR(hook_find(h, "api-breaker", "critical") >= 0, 40000);
    assert_int_equal(hook_requests(h), 1);
    cJSON *j = hook_json(h, 0);
    assert_non_null(strstr(jstr(j, "title"), "circuit breaker opened"));
    cJSON_Delete(j);
    char *log = read_file(e.rp.log_path, NULL);
    assert_non_null(log);
    assert_true(count_lines_with(log, "\"status\":503") >= 10);
    assert_int_equal(count_lines_with(log, "\"status\":200"), 0);
    free(log);

    /* The API recovers: the next probe succeeds, the breaker closes. */
    itenv_replay_restart(&e, it_data_dir, NULL);
    WAIT_FOR(hook_find(h, "api-breaker", "resolved") >= 0, 40000);
    assert_int_equal(hook_find(h, "api-breaker", "resolved"), 1);
    j = hook_json(h, 1);
    assert_non_null(strstr(jstr(j, "title"), "circuit breaker closed"));
    cJSON_Delete(j);
    WAIT_FOR(query_int(&e, "SELECT count(*) FROM backfill_jobs WHERE state = 'done'") == 2, 40000);
    assert_int_equal(service_stop(&e), 0);
    assert_int_equal(hook_requests(h), 2);
    itenv_stop(&e);
    hook_stop(h);
}

/* ------------------------------------------------------------------------ */
/* Metrics and probes                                                       */
/* ------------------------------------------------------------------------ */

static double prom_value(const prom_doc *d, const char *name, const char *labels)
{
    double v = 0;
    if (!prom_get(d, name, labels, &v))
        fail_msg("no sample %s{%s}", name, labels);
    return v;
}

static bool readyz_is(const itenv *e, long status)
{
    return get_status(e, "/readyz") == status;
}

/* Every metric name of the Grafana dashboard in docs/ is in this /metrics
 * text (tests/integration/check_dashboard.py reads the PromQL). */
static void check_dashboard(const char *text, size_t len)
{
    char path[] = "/tmp/service-ops-metrics-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, len), (ssize_t)len);
    close(fd);
    const char *argv[] = { CHECK_DASHBOARD, DASHBOARD_JSON, path, NULL };
    char *out = NULL;
    int rc = run_capture(argv, NULL, &out);
    unlink(path);
    if (rc != 0)
        fail_msg("the dashboard names metrics /metrics does not export (exit %d):\n%s", rc,
                 out ? out : "");
    print_message("dashboard: %s", out);
    free(out);
}

static void metrics_parse_and_match_the_run(void **state)
{
    (void)state;
    static itenv e; /* static: the teardown reaches it after a failure */
    env_start(&e, "metrics", NULL);
    setenv_var(&e, "POLYGON_API_KEY", KEY);
    setenv_var(&e, "POLYGON_PAGE_LIMIT", "100");
    setenv_var(&e, "LOG_LEVEL", "INFO");
    setenv_var(&e, "API_WORKERS", "2");
    setenv_var(&e, "ADMIN_TOKEN", ADMIN_TOKEN);
    admin_token = ADMIN_TOKEN;
    migrate(&e);
    enqueue(&e, "AAPL,IBM", "2012-01-01", "2014-12-31");
    service_start(&e);
    WAIT_FOR(query_int(&e, "SELECT count(*) FROM backfill_jobs WHERE state = 'done'") == 2, 60000);

    long long rows = query_int(&e, "SELECT count(*) FROM ohlcv");
    assert_true(rows > 0);
    char *log = read_file(e.rp.log_path, NULL);
    assert_non_null(log);
    long long requests = (long long)count_lines_with(log, "\"status\":");
    long long pages = (long long)count_lines_with(log, "\"status\":200");
    assert_int_equal(requests, pages); /* a clean run */
    /* 3 years of two symbols, 100 bars a page: 8 pages each */
    assert_int_equal(pages, 16);
    free(log);

    fetch_result r;
    get(&e, "/metrics", &r);
    assert_int_equal(r.status, 200);
    prom_doc d;
    if (prom_parse(&d, r.body, r.len) != 0)
        fail_msg("/metrics is not valid exposition text: %s", d.err);
    check_dashboard(r.body, r.len);
    fetch_free(&r);
    assert_int_equal((long long)prom_value(&d, "ingestor_bars_total", "outcome=inserted"), rows);
    static const char *const classes[] = { "2xx",      "4xx", "429", "5xx", "transport_error",
                                           "malformed" };
    double sum = 0;
    for (size_t i = 0; i < sizeof classes / sizeof classes[0]; i++) {
        char labels[64];
        snprintf(labels, sizeof labels, "class=%s", classes[i]);
        sum += prom_value(&d, "ingestor_http_requests_total", labels);
    }
    assert_int_equal(prom_count(&d, "ingestor_http_requests_total"), 6);
    assert_int_equal((long long)sum, requests);
    assert_int_equal((long long)prom_value(&d, "ingestor_http_requests_total", "class=2xx"),
                     requests);
    assert_int_equal((long long)prom_value(&d, "ingestor_jobs", "state=done"), 2);
    assert_int_equal((long long)prom_value(&d, "ingestor_page_fetch_seconds_count", ""), pages);
    assert_int_equal((long long)prom_value(&d, "ingestor_pages_total", ""), pages);
    /* The pool's families, labelled with the pool's name; DB_POOL_MAX (4)
     * is more than API_WORKERS + 1. */
    assert_int_equal(prom_count(&d, "pgpool_connections"), 3);
    assert_int_equal((long long)prom_value(&d, "pgpool_max_size", "pool=ingestor"), 4);
    assert_true(prom_value(&d, "pgpool_acquires_total", "pool=ingestor") > 0);
    assert_true(prom_value(&d, "pgpool_connections_created_total", "pool=ingestor") > 0);
    assert_true(prom_count(&d, "pgpool_acquire_wait_seconds_bucket") > 1);
    assert_int_equal(prom_count(&d, "pgpool_connection_usage_seconds_count"), 1);
    prom_free(&d);

    /* /api/v1/... needs ADMIN_TOKEN: 401 without it or with another */
    static const char *const api[] = { "/api/v1/metrics", "/api/v1/jobs" };
    for (int i = 0; i < 2; i++) {
        admin_token = i ? "adm-wrong-token-0000000000" : NULL;
        get(&e, api[i], &r);
        assert_int_equal(r.status, 401);
        assert_null(strstr(r.body, "\"jobs\""));
        fetch_free(&r);
    }
    admin_token = ADMIN_TOKEN;
    get(&e, "/api/v1/metrics", &r);
    assert_int_equal(r.status, 200);
    cJSON *j = cJSON_Parse(r.body);
    fetch_free(&r);
    assert_non_null(j);
    const cJSON *bars = cJSON_GetObjectItemCaseSensitive(j, "bars");
    assert_non_null(bars);
    assert_int_equal((long long)jnum(bars, "inserted"), rows);
    const cJSON *http = cJSON_GetObjectItemCaseSensitive(j, "http_requests");
    assert_non_null(http);
    assert_int_equal((long long)jnum(http, "sent"), requests);
    assert_int_equal((long long)jnum(j, "pages"), pages);
    const cJSON *jobs = cJSON_GetObjectItemCaseSensitive(j, "jobs");
    assert_non_null(jobs);
    assert_int_equal((long long)jnum(jobs, "done"), 2);
    assert_true(cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(j, "pgpool")));
    cJSON_Delete(j);

    get(&e, "/api/v1/jobs", &r);
    assert_int_equal(r.status, 200);
    j = cJSON_Parse(r.body);
    fetch_free(&r);
    assert_true(cJSON_IsArray(j));
    assert_int_equal(cJSON_GetArraySize(j), 2);
    int seen_aapl = 0, seen_ibm = 0;
    const cJSON *job;
    cJSON_ArrayForEach(job, j)
    {
        assert_string_equal(jstr(job, "state"), "done");
        seen_aapl += strcmp(jstr(job, "symbol"), "AAPL") == 0;
        seen_ibm += strcmp(jstr(job, "symbol"), "IBM") == 0;
    }
    assert_int_equal(seen_aapl, 1);
    assert_int_equal(seen_ibm, 1);
    cJSON_Delete(j);

    assert_int_equal(get_status(&e, "/healthz"), 200);
    get(&e, "/readyz", &r);
    assert_int_equal(r.status, 200);
    j = cJSON_Parse(r.body);
    fetch_free(&r);
    assert_non_null(j);
    assert_string_equal(jstr(j, "status"), "ready");
    cJSON_Delete(j);

    /* PostgreSQL goes away: not ready, and the reason says why. */
    pg_halted = true;
    pg_do("halt");
    WAIT_FOR(readyz_is(&e, 503), 15000);
    get(&e, "/readyz", &r);
    assert_int_equal(r.status, 503);
    j = cJSON_Parse(r.body);
    fetch_free(&r);
    assert_non_null(j);
    assert_string_equal(jstr(j, "status"), "not ready");
    assert_non_null(strstr(jstr(j, "reason"), "database"));
    cJSON_Delete(j);
    assert_int_equal(get_status(&e, "/healthz"), 200); /* alive all the same */

    /* ... and back: ready again. */
    pg_halted = false;
    pg_do("resume");
    WAIT_FOR(readyz_is(&e, 200), 30000);
    assert_int_equal(service_stop(&e), 0);
    assert_no_secret_anywhere(&e, ADMIN_TOKEN); /* nor in any log line */
    admin_token = NULL;
    itenv_stop(&e);
}

int main(int argc, char **argv)
{
    /* The ingestor under test must not inherit settings from this shell. */
    static const char *const inherited[] = {
        "POLYGON_API_KEY",     "LOG_FORMAT",           "ALERT_WEBHOOK_URL",
        "ALERT_EMAIL_ENABLED", "ALERT_SMTP_HOST",      "ALERT_SMTP_USER",
        "ALERT_SMTP_PASSWORD", "ALERT_DEDUP_WINDOW",   "BACKFILL_SYMBOLS",
        "POLYGON_PAGE_LIMIT",  "JOB_MAX_ATTEMPTS",     "JOB_RETRY_DELAY",
        "API_WORKERS",         "ADMIN_ADDR",           "DB_POOL_MAX",
        "ADMIN_TOKEN",         "ADMIN_HEADER_TIMEOUT", "ADMIN_CLIENT_CONNECTIONS",
        "DB_POOL_MIN",         "POLYGON_MAX_ATTEMPTS", NULL,
    };
    int rc = itenv_init(argc, argv, inherited);
    if (rc != 0)
        return rc;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(
            alerts_reach_webhook_and_smtp_without_secrets_and_are_deduplicated, cleanup),
        cmocka_unit_test_teardown(breaker_alert_when_the_api_fails_and_resolved_when_it_recovers,
                                  cleanup),
        cmocka_unit_test_teardown(metrics_parse_and_match_the_run, cleanup),
    };
    rc = cmocka_run_group_tests_name("service-ops", tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
