#include <errno.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <retry/retry.h>

#include "admin.h"
#include "alert.h"
#include "db.h"
#include "hostname.h"
#include "jobs.h"
#include "log.h"
#include "metrics.h"
#include "pipeline.h"
#include "service.h"
#include "db_rate_limit.h"
#include "source.h"
#include "symbol.h"
#include "textsafe.h"

#define EX_UNAVAILABLE 69
#define EX_SOFTWARE    70
#define EX_CONFIG      78

/* How often an idle worker looks for a job, and the housekeeper wakes. */
#define POLL_MS 500

typedef struct service {
    const ingest_config *cfg;
    atomic_int *stop;
    pgpool *pool;
    polygon_client sh;
    db_rate_limit *limit;
    ingest_stats stats;
    atomic_llong lease_losses;
    atomic_llong last_success_s; /* Unix time of the last job done */
    atomic_int workers_running;
    alerter *alerts; /* NULL: no channel configured */
    admin_server *admin;
    latency_hist fetch_hist, write_hist;
    retry_breaker_state breaker_seen;
    char db_password[256]; /* to mask it in alerts */
    /* The lease tokens of the jobs the workers hold now: the heartbeat
     * renews these and nothing else. */
    pthread_mutex_t held_lock;
    atomic_int next_slot;                               /* the slot of the next worker thread */
    char held[64][sizeof(((job_row *)0)->lease_token)]; /* "" when free */
} service;

/* Note (token) or forget (NULL) the job worker slot holds. */
static void hold(service *s, int slot, const char *token)
{
    pthread_mutex_lock(&s->held_lock);
    snprintf(s->held[slot], sizeof s->held[slot], "%s", token ? token : "");
    pthread_mutex_unlock(&s->held_lock);
}

static int heartbeat(service *s, PGconn *c, char *err, size_t errlen)
{
    const char *tokens[64];
    char copy[64][sizeof s->held[0]];
    size_t n = 0;
    pthread_mutex_lock(&s->held_lock);
    for (int i = 0; i < 64; i++)
        if (s->held[i][0]) {
            memcpy(copy[n], s->held[i], sizeof copy[n]);
            tokens[n] = copy[n];
            n++;
        }
    pthread_mutex_unlock(&s->held_lock);
    return jobs_heartbeat(c, s->cfg->service.job_lease_s, tokens, n, err, errlen);
}

/* Raise an alert (about symbol, NULL for none) when a channel is configured;
 * never waits. */
__attribute__((format(printf, 5, 6))) static void
alert(service *s, const char *key, const char *symbol, alert_severity sev, const char *fmt, ...)
{
    if (!s->alerts)
        return;
    char title[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(title, sizeof title, fmt, ap);
    va_end(ap);
    char host[128] = "";
    gethostname(host, sizeof host - 1);
    char body[768];
    snprintf(body, sizeof body, "host %s, process %s", host, jobs_owner());
    int rc = alert_raise_symbol(s->alerts, key, sev, symbol, title, body);
    if (rc < 0)
        log_msg(LOG_LEVEL_WARNING, "alert %s not queued: %s", key, alert_strerror(rc));
}

static void alert_log(int level, const char *msg, void *ud)
{
    (void)ud;
    log_msg((log_level)level, "alerts: %s", msg);
}

static int start_alerts(service *s)
{
    const ingest_config *cfg = s->cfg;
    bool webhook = cfg->alerts.webhook_url && cfg->alerts.webhook_url[0];
    if (!webhook && !cfg->alerts.email_enabled)
        return 0;
    db_url_password(cfg->db.url, s->db_password, sizeof s->db_password);
    const char *secrets[] = { cfg->polygon.api_key, s->db_password[0] ? s->db_password : NULL,
                              NULL };
    char from[192];
    if (cfg->alerts.email_from) {
        snprintf(from, sizeof from, "%s", cfg->alerts.email_from);
    } else {
        char host[128];
        bool fq = host_fqdn(host, sizeof host);
        snprintf(from, sizeof from, "ingestor@%s%s", host, fq ? "" : ".localdomain");
    }
    alert_options o = ALERT_OPTIONS_INIT;
    o.webhook_url = webhook ? cfg->alerts.webhook_url : NULL;
    o.webhook_slack = (cfg->alerts.webhook_format == CONFIG_WEBHOOK_SLACK);
    o.email_enabled = cfg->alerts.email_enabled;
    o.email_to = cfg->alerts.email_to;
    o.email_from = from;
    o.smtp_host = cfg->alerts.smtp_host;
    o.smtp_port = cfg->alerts.smtp_port;
    o.smtp_user = cfg->alerts.smtp_user;
    o.smtp_password = cfg->alerts.smtp_password;
    o.smtp_tls_off = (cfg->alerts.smtp_tls == CONFIG_SMTP_TLS_OFF);
    o.dedup_window_ms = cfg->alerts.dedup_window_ms;
    o.webhook_alertmanager = (cfg->alerts.webhook_format == CONFIG_WEBHOOK_ALERTMANAGER);
    char instance[192] = "", generator[256] = "";
    if (cfg->admin.port > 0) {
        char host[128] = "localhost";
        gethostname(host, sizeof host - 1);
        bool any = !cfg->admin.addr || !*cfg->admin.addr || strcmp(cfg->admin.addr, "0.0.0.0") == 0;
        snprintf(instance, sizeof instance, "%s:%d", host, cfg->admin.port);
        bool v6 = !any && strchr(cfg->admin.addr, ':') != NULL;
        snprintf(generator, sizeof generator, "http://%s%s%s:%d/api/v1/jobs", v6 ? "[" : "",
                 any ? host : cfg->admin.addr, v6 ? "]" : "", cfg->admin.port);
        o.am_instance = instance;
        o.am_generator_url = generator;
    }
    o.secrets = secrets;
    o.log = alert_log;
    int rc = alerter_new(&s->alerts, &o);
    if (rc != ALERT_OK) {
        log_msg(LOG_LEVEL_ERROR, "cannot start the alerts: %s", alert_strerror(rc));
        return -1;
    }
    return 0;
}

/* Sleep, in steps, until *stop is set (stop may be NULL: just sleep). */
static void sleep_ms_interruptible(int64_t ms, atomic_int *stop)
{
    while (ms > 0 && !(stop && *stop)) {
        int64_t step = ms < 100 ? ms : 100;
        struct timespec ts = { 0, (long)step * 1000000L };
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
            ;
        ms -= step;
    }
}

static int reserve_slot(void *ud, int64_t *waited_ms, char *err, size_t errlen)
{
    service *s = ud;
    return db_rate_limit_reserve(s->limit, s->stop, waited_ms, err, errlen);
}

/* ---------------------------------------------------------------- workers */

static void observe(int what, double seconds, void *ud)
{
    service *s = ud;
    latency_hist_observe(what == WORKER_OBSERVE_FETCH ? &s->fetch_hist : &s->write_hist, seconds);
}

/* Settle a job, retrying while the database is away; the new state. */
static void settle(service *s, const job_row *row, job_end end, const char *error, char state[12])
{
    snprintf(state, 12, "unknown");
    for (int attempt = 0; attempt < 10; attempt++) {
        pgpool_conn *pc;
        if (pgpool_acquire(&pc, s->pool, 5000) != PGPOOL_OK) {
            sleep_ms_interruptible(1000, NULL);
            continue;
        }
        char err[256];
        int rc = jobs_settle(pgpool_conn_pg(pc), row, end, error, s->cfg->service.job_max_attempts,
                             s->cfg->service.job_retry_delay_s, state, err, sizeof err);
        db_give_back(pc);
        if (rc == 0)
            return;
        log_msg(LOG_LEVEL_WARNING, "job %lld: could not record its end: %s", (long long)row->id,
                err);
        /* The database may refuse the text itself: record the end without it. */
        if (error)
            error = "the job's error could not be recorded";
    }
    /* Not recorded: the caller forgets the job, the heartbeat stops renewing
     * its lease, and another worker takes it when the lease expires. */
}

static void run_claimed(service *s, worker *w, job_row *row)
{
    job_outcome out;
    log_msg(LOG_LEVEL_INFO, "%s: job %lld (%s..%s), attempt %d", row->symbol, (long long)row->id,
            row->from_date, row->to_date, row->attempts);
    worker_run_job(w, row, &out);
    char state[12];
    if (out.lease_lost) {
        atomic_fetch_add(&s->lease_losses, 1);
        return; /* the job is another worker's now: touch nothing */
    }
    if (out.ok) {
        settle(s, row, JOB_END_DONE, NULL, state);
        atomic_fetch_add(&s->stats.jobs_done, 1);
        atomic_store(&s->last_success_s, (long long)time(NULL));
        double score = out.fetched ? 1.0 - out.score_loss / (double)out.fetched : 1.0;
        log_msg(LOG_LEVEL_INFO,
                "%s: job %lld done: %lld bars, %lld new, %lld quarantined, score %.4f", row->symbol,
                (long long)row->id, (long long)out.fetched, (long long)out.inserted,
                (long long)out.quarantined, score);
        if (out.fetched > 0 && score < s->cfg->quality.alert_score) {
            char key[64];
            snprintf(key, sizeof key, "dq-score:%s", row->symbol);
            alert(s, key, row->symbol, ALERT_WARNING,
                  "%s: data-quality score %.4f below %.4f (job %lld, %s..%s: %lld bars, "
                  "%lld quarantined, %lld warnings)",
                  row->symbol, score, s->cfg->quality.alert_score, (long long)row->id,
                  row->from_date, row->to_date, (long long)out.fetched, (long long)out.quarantined,
                  (long long)out.warnings);
        }
        return;
    }
    if (out.interrupted) {
        settle(s, row, JOB_END_RELEASED, NULL, state);
        log_msg(LOG_LEVEL_INFO, "%s: job %lld released at shutdown (%s)", row->symbol,
                (long long)row->id, state);
        return;
    }
    settle(s, row, JOB_END_FAILED, out.error, state);
    atomic_fetch_add(&s->stats.jobs_failed, 1);
    if (strcmp(state, "dead") == 0) {
        char key[64];
        snprintf(key, sizeof key, "job-dead:%lld", (long long)row->id);
        alert(s, key, row->symbol, ALERT_CRITICAL,
              "%s: job %lld (%s..%s) is dead after %d attempt%s: %s", row->symbol,
              (long long)row->id, row->from_date, row->to_date, row->attempts,
              row->attempts == 1 ? "" : "s", out.error);
    }
    log_msg(strcmp(state, "dead") == 0 ? LOG_LEVEL_ERROR : LOG_LEVEL_WARNING, "%s: job %lld %s: %s",
            row->symbol, (long long)row->id,
            strcmp(state, "dead") == 0 ? "is dead after its last attempt" : "failed; will retry",
            out.error);
}

static void *worker_thread(void *arg)
{
    service *s = arg;
    source *src = NULL;
    worker *w = NULL;
    if (source_polygon_new(&src, &s->sh) != 0 ||
        worker_new(&w, s->cfg, s->pool, src, &s->stats) != 0) {
        log_msg(LOG_LEVEL_ERROR, "out of memory for a worker");
        source_free(src);
        atomic_fetch_sub(&s->workers_running, 1);
        return NULL;
    }
    worker_set_service(w, s->stop, s->cfg->service.job_lease_s, observe, s);
    int slot = atomic_fetch_add(&s->next_slot, 1) % 64;
    while (!*s->stop) {
        pgpool_conn *pc;
        if (pgpool_acquire(&pc, s->pool, 5000) != PGPOOL_OK) {
            sleep_ms_interruptible(1000, s->stop);
            continue;
        }
        job_row row;
        char err[256];
        int rc =
            jobs_claim_next(pgpool_conn_pg(pc), s->cfg->service.job_lease_s, &row, err, sizeof err);
        db_give_back(pc);
        if (rc == JOB_CLAIMED) {
            hold(s, slot, row.lease_token);
            run_claimed(s, w, &row);
            hold(s, slot, NULL);
            continue;
        }
        if (rc == JOB_CLAIM_ERROR)
            log_msg(LOG_LEVEL_WARNING, "claiming a job: %s", err);
        sleep_ms_interruptible(POLL_MS, s->stop);
    }
    worker_free(w);
    source_free(src);
    atomic_fetch_sub(&s->workers_running, 1);
    return NULL;
}

/* ------------------------------------------------------------- schedule */

static bool exec_ok(PGconn *c, const char *sql, int n, const char *const *p, char *err,
                    size_t errlen)
{
    PGresult *r = PQexecParams(c, sql, n, NULL, p, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(r);
    bool ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
    if (!ok)
        snprintf(err, errlen, "%s", PQresultErrorMessage(r));
    PQclear(r);
    return ok;
}

/*
 * The run date due now: the local date (in BACKFILL_SCHEDULE_TZ, the
 * process's TZ) of the latest scheduled instant that is not in the future.
 */
static void due_run_date(const service *s, char out[11])
{
    time_t now = time(NULL) + (time_t)s->cfg->service.clock_offset_s;
    struct tm tm;
    localtime_r(&now, &tm);
    struct tm at = tm;
    at.tm_hour = s->cfg->service.schedule_hour;
    at.tm_min = s->cfg->service.schedule_minute;
    at.tm_sec = 0;
    at.tm_isdst = -1;
    time_t t = mktime(&at);
    if (t > now) {
        at = tm;
        at.tm_mday -= 1;
        at.tm_hour = s->cfg->service.schedule_hour;
        at.tm_min = s->cfg->service.schedule_minute;
        at.tm_sec = 0;
        at.tm_isdst = -1;
        t = mktime(&at);
    }
    localtime_r(&t, &at);
    strftime(out, 11, "%Y-%m-%d", &at);
}

/*
 * Enqueue the jobs of run_date unless some process already has: the row
 * in service_runs is the once-only key, inserted in the same transaction as
 * the jobs. Returns 1 when this process enqueued, 0 when it was done
 * already, -1 on error.
 */
static int enqueue_run(service *s, PGconn *c, const char *run_date, char *err, size_t errlen)
{
    const ingest_config *cfg = s->cfg;
    PGresult *r = PQexecParams(c, "SELECT 1 FROM service_runs WHERE run_date = $1", 1, NULL,
                               (const char *const[]){ run_date }, NULL, NULL, 0);
    bool exists = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0;
    bool failed = PQresultStatus(r) != PGRES_TUPLES_OK;
    if (failed)
        snprintf(err, errlen, "%s", PQresultErrorMessage(r));
    PQclear(r);
    if (failed)
        return -1;
    if (exists)
        return 0;

    if (!exec_ok(c, "BEGIN", 0, NULL, err, errlen))
        return -1;
    /* The days since the last completed run, and at least the lookback. */
    char lookback[16];
    snprintf(lookback, sizeof lookback, "%d", cfg->service.lookback_days);
    const char *p[3] = { run_date, lookback, jobs_owner() };
    r = PQexecParams(c,
                     "INSERT INTO service_runs (run_date, from_date, to_date, symbols,"
                     "  enqueued_by)"
                     " SELECT $1::date, least($1::date - ($2::int - 1),"
                     "   coalesce((SELECT max(to_date) + 1 FROM service_runs"
                     "     WHERE completed_at IS NOT NULL), $1::date)), $1::date, 0, $3"
                     " ON CONFLICT (run_date) DO NOTHING"
                     " RETURNING from_date::text, to_date::text",
                     3, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        snprintf(err, errlen, "%s", PQresultErrorMessage(r));
        PQclear(r);
        PQclear(PQexec(c, "ROLLBACK"));
        return -1;
    }
    if (PQntuples(r) == 0) { /* another process, a moment ago */
        PQclear(r);
        PQclear(PQexec(c, "ROLLBACK"));
        return 0;
    }
    char from[11], to[11];
    snprintf(from, sizeof from, "%s", PQgetvalue(r, 0, 0));
    snprintf(to, sizeof to, "%s", PQgetvalue(r, 0, 1));
    PQclear(r);

    /* The universe: BACKFILL_SYMBOLS, else the symbols table. */
    PGresult *syms = NULL;
    int n = cfg->service.symbols.n;
    if (n == 0) {
        syms = PQexec(c, "SELECT symbol FROM symbols WHERE active ORDER BY symbol");
        if (PQresultStatus(syms) != PGRES_TUPLES_OK) {
            snprintf(err, errlen, "%s", PQresultErrorMessage(syms));
            PQclear(syms);
            PQclear(PQexec(c, "ROLLBACK"));
            return -1;
        }
        n = PQntuples(syms);
    }
    int skipped = 0;
    for (int i = 0; i < n; i++) {
        const char *sym = syms ? PQgetvalue(syms, i, 0) : cfg->service.symbols.item[i];
        if (!symbol_valid(sym, strlen(sym))) {
            char shown[64];
            text_escape(shown, sizeof shown, sym, strlen(sym));
            log_msg(LOG_LEVEL_WARNING, "symbols table: skipping \"%s\": not %s", shown,
                    SYMBOL_RULE);
            skipped++;
            continue;
        }
        if (jobs_enqueue(c, sym, "day", 1, true, from, to, run_date, err, errlen) != 0) {
            PQclear(syms);
            PQclear(PQexec(c, "ROLLBACK"));
            return -1;
        }
    }
    PQclear(syms);
    n -= skipped;
    char count[16];
    snprintf(count, sizeof count, "%d", n);
    if (!exec_ok(c, "UPDATE service_runs SET symbols = $2 WHERE run_date = $1", 2,
                 (const char *const[]){ run_date, count }, err, errlen) ||
        !exec_ok(c, "COMMIT", 0, NULL, err, errlen)) {
        PQclear(PQexec(c, "ROLLBACK"));
        return -1;
    }
    log_msg(LOG_LEVEL_INFO, "scheduled run %s: %d job%s for %s..%s", run_date, n, n == 1 ? "" : "s",
            from, to);
    return 1;
}

/*
 * Close the runs whose jobs have all ended: completed when every job is
 * done, failed when one is dead.
 */
static void close_runs(service *s, PGconn *c)
{
    PGresult *r = PQexec(
        c, "UPDATE service_runs r SET"
           "  completed_at = CASE WHEN j.dead = 0 THEN now() END,"
           "  failed_at = CASE WHEN j.dead > 0 THEN now() END"
           " FROM (SELECT r2.run_date,"
           "         count(b.id) FILTER (WHERE b.state = 'dead') AS dead,"
           "         count(b.id) FILTER (WHERE b.state <> 'done' AND b.state <> 'dead') AS open"
           "       FROM service_runs r2 LEFT JOIN backfill_jobs b ON b.run_date = r2.run_date"
           "       WHERE r2.completed_at IS NULL AND r2.failed_at IS NULL"
           "       GROUP BY r2.run_date) j"
           " WHERE r.run_date = j.run_date AND j.open = 0"
           /* again here: a concurrent closer's update is re-checked
            * against these, not against the subquery */
           "   AND r.completed_at IS NULL AND r.failed_at IS NULL"
           " RETURNING r.run_date::text, j.dead");
    if (PQresultStatus(r) == PGRES_TUPLES_OK) {
        for (int i = 0; i < PQntuples(r); i++) {
            long dead = atol(PQgetvalue(r, i, 1));
            if (dead == 0)
                log_msg(LOG_LEVEL_INFO, "scheduled run %s completed", PQgetvalue(r, i, 0));
            else {
                log_msg(LOG_LEVEL_ERROR, "scheduled run %s did not complete: %ld dead job%s",
                        PQgetvalue(r, i, 0), dead, dead == 1 ? "" : "s");
                char key[64];
                snprintf(key, sizeof key, "run:%s", PQgetvalue(r, i, 0));
                alert(s, key, NULL, ALERT_CRITICAL,
                      "scheduled run %s did not complete: %ld dead job%s", PQgetvalue(r, i, 0),
                      dead, dead == 1 ? "" : "s");
            }
        }
    }
    PQclear(r);
}

/* The API breaker's transitions, as alerts: opened, and resolved. */
static void watch_breaker(service *s)
{
    retry_breaker_state now = retry_breaker_state_now(s->sh.breaker);
    retry_breaker_state was = s->breaker_seen;
    s->breaker_seen = now;
    bool open = now == RETRY_BREAKER_OPEN || now == RETRY_BREAKER_FORCED_OPEN;
    bool was_open = was == RETRY_BREAKER_OPEN || was == RETRY_BREAKER_FORCED_OPEN;
    if (open && !was_open && was != RETRY_BREAKER_HALF_OPEN) {
        log_msg(LOG_LEVEL_ERROR, "the API circuit breaker opened: the API is failing");
        alert(s, "api-breaker", NULL, ALERT_CRITICAL,
              "the Polygon API circuit breaker opened: requests are failing");
    } else if (now == RETRY_BREAKER_CLOSED && was != RETRY_BREAKER_CLOSED) {
        log_msg(LOG_LEVEL_INFO, "the API circuit breaker closed again");
        alert(s, "api-breaker", NULL, ALERT_RESOLVED,
              "the Polygon API circuit breaker closed: requests succeed again");
    }
}

static void housekeeping(service *s, int64_t *next_heartbeat, int64_t *next_schedule)
{
    watch_breaker(s);
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int64_t now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    if (now < *next_heartbeat && now < *next_schedule)
        return;
    pgpool_conn *pc;
    if (pgpool_acquire(&pc, s->pool, 2000) != PGPOOL_OK)
        return;
    PGconn *c = pgpool_conn_pg(pc);
    char err[512];
    if (now >= *next_heartbeat) {
        if (heartbeat(s, c, err, sizeof err) < 0)
            log_msg(LOG_LEVEL_WARNING, "lease heartbeat: %s", err);
        *next_heartbeat = now + s->cfg->service.job_lease_s * 1000 / 3;
    }
    if (now >= *next_schedule) {
        char run_date[11];
        due_run_date(s, run_date);
        if (enqueue_run(s, c, run_date, err, sizeof err) < 0)
            log_msg(LOG_LEVEL_WARNING, "scheduled run %s: %s", run_date, err);
        close_runs(s, c);
        *next_schedule = now + 2000;
    }
    db_give_back(pc);
}

/* ---------------------------------------------------------------- admin */

/* The admin server's callbacks run on its threads, several at once: they
 * read atomics and snapshots, and take their own pool connections. */
static int admin_snapshot(metrics_snapshot *out, void *ud)
{
    service *s = ud;
    metrics_counters_from_stats(&out->counters, &s->stats);
    latency_hist_read(&out->page_fetch, &s->fetch_hist);
    latency_hist_read(&out->db_write, &s->write_hist);
    out->lease_losses = atomic_load(&s->lease_losses);
    out->last_success_unix = atomic_load(&s->last_success_s);
    if (s->alerts) {
        for (int ch = 0; ch < METRICS_ALERT_CHANNELS; ch++) {
            uint64_t sent, failed;
            alerter_channel_counts(s->alerts, (alert_channel)ch, &sent, &failed);
            out->alerts_sent[ch] = (int64_t)sent;
            out->alerts_failed[ch] = (int64_t)failed;
        }
    }
    retry_breaker_snapshot_get(s->sh.breaker, &out->breaker);
    out->have_breaker = 1;
    out->pool.version = PGPOOL_STATS_VERSION;
    out->have_pool = pgpool_stats_get(&out->pool, s->pool) == PGPOOL_OK;
    /* Jobs by state, for the whole deployment: the table is the truth. */
    static const char *const states[] = { "pending", "running", "done", "failed", "dead" };
    int64_t counts[5] = { 0 };
    pgpool_conn *pc;
    if (pgpool_acquire(&pc, s->pool, 1000) != PGPOOL_OK)
        return -1;
    PGresult *r =
        PQexec(pgpool_conn_pg(pc), "SELECT state, count(*) FROM backfill_jobs GROUP BY state");
    bool ok = PQresultStatus(r) == PGRES_TUPLES_OK;
    for (int i = 0; ok && i < PQntuples(r); i++)
        for (int k = 0; k < 5; k++)
            if (strcmp(PQgetvalue(r, i, 0), states[k]) == 0)
                counts[k] = atoll(PQgetvalue(r, i, 1));
    PQclear(r);
    db_give_back(pc);
    if (!ok)
        return -1;
    for (int k = 0; k < 5; k++)
        metrics_snapshot_add_jobs(out, states[k], counts[k]);
    return 0;
}

static int admin_ready(char *reason, size_t len, void *ud)
{
    service *s = ud;
    if (*s->stop) {
        snprintf(reason, len, "shutting down");
        return 0;
    }
    retry_breaker_state b = retry_breaker_state_now(s->sh.breaker);
    if (b == RETRY_BREAKER_OPEN || b == RETRY_BREAKER_FORCED_OPEN) {
        snprintf(reason, len, "the API circuit breaker is open");
        return 0;
    }
    pgpool_conn *pc;
    int rc = pgpool_acquire(&pc, s->pool, 1000);
    if (rc != PGPOOL_OK) {
        snprintf(reason, len, "database: %s", pgpool_strerror(rc));
        return 0;
    }
    PGresult *r = PQexec(pgpool_conn_pg(pc), "SELECT 1");
    bool ok = PQresultStatus(r) == PGRES_TUPLES_OK;
    PQclear(r);
    db_give_back(pc);
    if (!ok)
        snprintf(reason, len, "database: SELECT 1 failed");
    return ok;
}

static int admin_jobs(char **out, void *ud)
{
    service *s = ud;
    pgpool_conn *pc;
    if (pgpool_acquire(&pc, s->pool, 1000) != PGPOOL_OK)
        return -1;
    PGresult *r =
        PQexec(pgpool_conn_pg(pc),
               "SELECT coalesce(json_agg(j ORDER BY j.id DESC), '[]')::text FROM"
               " (SELECT id, symbol, timespan, multiplier, adjusted, from_date, to_date, state,"
               "   attempts, checkpoint_ms, bars_fetched, bars_inserted, bars_updated,"
               "   bars_quarantined, last_error, lease_owner, lease_until, run_after, run_date,"
               "   updated_at FROM backfill_jobs ORDER BY id DESC LIMIT 500) j");
    int rc = -1;
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1) {
        /* Error texts come from servers: mask the secrets, as in logs. */
        size_t n = strlen(PQgetvalue(r, 0, 0));
        size_t cap = n * 3 + 64;
        *out = malloc(cap);
        if (*out) {
            log_scrub(PQgetvalue(r, 0, 0), *out, cap);
            rc = 0;
        }
    }
    PQclear(r);
    db_give_back(pc);
    return rc;
}

/* The admin module's messages carry their own "admin http" prefix. */
static void admin_log(log_level level, const char *msg, void *ud)
{
    (void)ud;
    log_msg(level, "%s", msg);
}

static int start_admin(service *s)
{
    admin_options o = ADMIN_OPTIONS_INIT;
    o.bind_address = s->cfg->admin.addr;
    o.port = (unsigned)s->cfg->admin.port;
    o.snapshot = admin_snapshot;
    o.ready = admin_ready;
    o.jobs_json = admin_jobs;
    o.log = admin_log;
    o.userdata = s;
    o.token = s->cfg->admin.token;
    o.per_client_limit = (unsigned)s->cfg->admin.client_connections;
    o.header_timeout_ms = (unsigned)s->cfg->admin.header_timeout_ms;
    if (admin_start(&s->admin, &o) != 0) {
        log_msg(LOG_LEVEL_ERROR, "the admin HTTP server cannot listen on %s:%d", s->cfg->admin.addr,
                s->cfg->admin.port);
        return -1;
    }
    return 0; /* the admin module announces its address */
}

/* ------------------------------------------------------------ lifecycle */

static bool zone_exists(const char *tz)
{
    if (strcmp(tz, "UTC") == 0)
        return true;
    if (strstr(tz, ".."))
        return false;
    char path[512];
    snprintf(path, sizeof path, "/usr/share/zoneinfo/%s", tz);
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int service_run(const ingest_config *cfg, atomic_int *stop, retry_cancel *cancel)
{
    if (!cfg->polygon.api_key) {
        fprintf(stderr, "ingestor: invalid configuration\n"
                        "  POLYGON_API_KEY  required for ingestor run\n");
        return EX_CONFIG;
    }
    if (!zone_exists(cfg->service.schedule_tz)) {
        fprintf(stderr,
                "ingestor: invalid configuration\n"
                "  BACKFILL_SCHEDULE_TZ  \"%s\" is not a time zone of this system\n",
                cfg->service.schedule_tz);
        return EX_CONFIG;
    }
    /* The schedule's wall clock; logs are in UTC either way. */
    setenv("TZ", cfg->service.schedule_tz, 1);
    tzset();

    static service s; /* big (the stats), and its threads outlive no caller */
    memset(&s, 0, sizeof s);
    pthread_mutex_init(&s.held_lock, NULL);
    s.cfg = cfg;
    s.stop = stop;
    /* Every worker holds one connection at a time; one more for the
     * housekeeper, the rate limit and the admin server. */
    int pool_size = cfg->db.pool_max > cfg->service.api_workers + 1 ? cfg->db.pool_max
                                                                    : cfg->service.api_workers + 1;
    int ready = db_open_ready(cfg, &s.pool, pool_size);
    if (ready != 0)
        return ready;
    if (polygon_client_init(&s.sh, cfg->polygon.base_url, cfg->polygon.api_key,
                            cfg->polygon.page_limit, (long)cfg->polygon.timeout_ms,
                            cfg->polygon.max_attempts, cfg->polygon.max_retry_delay_ms,
                            cfg->polygon.rate_limit_per_min, cfg->polygon.rate_window_ms,
                            (size_t)cfg->polygon.max_body_bytes, &s.stats) != 0) {
        pgpool_free(s.pool);
        return EX_SOFTWARE;
    }
    s.sh.stop = stop;
    s.sh.cancel = cancel;
    if (cfg->polygon.rate_limit_per_min > 0) {
        if (db_rate_limit_new(&s.limit, s.pool, "polygon", cfg->polygon.rate_limit_per_min,
                              cfg->polygon.rate_window_ms) != 0) {
            polygon_client_destroy(&s.sh);
            pgpool_free(s.pool);
            return EX_SOFTWARE;
        }
        s.sh.reserve = reserve_slot;
        s.sh.reserve_ud = &s;
    }

    s.breaker_seen = RETRY_BREAKER_CLOSED;
    latency_hist_init(&s.fetch_hist);
    latency_hist_init(&s.write_hist);
    if (start_alerts(&s) != 0 || start_admin(&s) != 0) {
        alerter_free(s.alerts);
        db_rate_limit_free(s.limit);
        polygon_client_destroy(&s.sh);
        pgpool_free(s.pool);
        return EX_SOFTWARE;
    }

    pthread_t threads[CONFIG_MAX_WORKERS];
    int started = 0;
    for (; started < cfg->service.api_workers; started++) {
        atomic_fetch_add(&s.workers_running, 1);
        if (pthread_create(&threads[started], NULL, worker_thread, &s) != 0) {
            atomic_fetch_sub(&s.workers_running, 1);
            break;
        }
    }
    log_msg(LOG_LEVEL_INFO, "ingestor run: %d worker%s, schedule %02d:%02d %s, lease %d s", started,
            started == 1 ? "" : "s", cfg->service.schedule_hour, cfg->service.schedule_minute,
            cfg->service.schedule_tz, cfg->service.job_lease_s);

    int64_t next_heartbeat = 0, next_schedule = 0;
    while (!*stop && started > 0) {
        housekeeping(&s, &next_heartbeat, &next_schedule);
        sleep_ms_interruptible(POLL_MS, stop);
    }

    /* Shutdown: workers stop claiming; each running page commits or rolls
     * back; jobs are released. Those still busy at the deadline are left
     * to their lease. */
    log_msg(LOG_LEVEL_INFO, "stopping: waiting up to %lld ms for running pages",
            (long long)cfg->service.shutdown_timeout_ms);
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    int64_t end_ms = (int64_t)deadline.tv_sec * 1000 + deadline.tv_nsec / 1000000 +
                     cfg->service.shutdown_timeout_ms;
    for (;;) {
        if (atomic_load(&s.workers_running) == 0)
            break;
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if ((int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000 >= end_ms)
            break;
        struct timespec ts = { 0, 50 * 1000000L };
        nanosleep(&ts, NULL);
    }
    int rc = 0;
    if (atomic_load(&s.workers_running) > 0) {
        log_msg(LOG_LEVEL_WARNING,
                "%d worker%s still busy at the deadline; their leases will expire",
                atomic_load(&s.workers_running), atomic_load(&s.workers_running) == 1 ? "" : "s");
        return EX_SOFTWARE; /* exit with the threads running: the process ends */
    }
    for (int t = 0; t < started; t++)
        pthread_join(threads[t], NULL);
    admin_stop(s.admin);
    alerter_free(s.alerts); /* delivers what is queued, within its drain timeout */
    db_rate_limit_free(s.limit);
    polygon_client_destroy(&s.sh);
    pgpool_free(s.pool);
    memset(s.db_password, 0, sizeof s.db_password);
    log_msg(LOG_LEVEL_INFO, "stopped");
    return rc;
}

int service_enqueue(const ingest_config *cfg, const char *const *symbols, int nsymbols,
                    const char *from, const char *to, const char *timespan, int multiplier,
                    bool adjusted)
{
    pgpool *pool;
    int ready = db_open_ready(cfg, &pool, 1);
    if (ready != 0)
        return ready;
    pgpool_conn *pc = db_acquire_or_log(pool);
    if (!pc) {
        pgpool_free(pool);
        return EX_UNAVAILABLE;
    }
    char err[512];
    int rc = 0;
    for (int i = 0; i < nsymbols && rc == 0; i++) {
        if (jobs_enqueue(pgpool_conn_pg(pc), symbols[i], timespan, multiplier, adjusted, from, to,
                         NULL, err, sizeof err) != 0) {
            log_msg(LOG_LEVEL_ERROR, "%s: %s", symbols[i], err);
            rc = 1;
        }
    }
    if (rc == 0)
        printf("%d job%s enqueued for %s..%s\n", nsymbols, nsymbols == 1 ? "" : "s", from, to);
    pgpool_release(pc);
    pgpool_free(pool);
    return rc;
}
