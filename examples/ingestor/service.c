#include <stdarg.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <retry/retry.h>

#include "admin.h"
#include "alert.h"
#include "db.h"
#include "db_rate_limit.h"
#include "hostname.h"
#include "jobs.h"
#include "log.h"
#include "metrics.h"
#include "migrate.h"
#include "pipeline.h"
#include "service.h"
#include "source.h"
#include "summary.h"
#include "textsafe.h"
#include "timing.h"

#define POLL_MS     500 /* how often an idle worker of the service looks for a job */
#define MAX_WORKERS 64  /* API_WORKERS is at most this */

typedef struct service {
    const ingest_config *cfg;
    atomic_int *stop;
    pgpool *pool;
    const char *files_dir; /* the jobs' source: files:DIR, or NULL for the API */
    polygon_client sh;
    db_rate_limit *limit;
    ingest_stats stats;
    atomic_llong lease_losses;
    atomic_llong last_success_s; /* Unix time of the last job done */
    atomic_int workers_running;
    atomic_int unavailable; /* a backfill's worker could not reach the database */
    atomic_int broken;      /* a worker could not be set up */
    alerter *alerts;        /* NULL: no channel configured (and in a backfill) */
    admin_server *admin;
    latency_hist fetch_hist, write_hist;
    retry_breaker_state breaker_seen;
    char db_password[256]; /* to mask it in alerts */
    /* The lease tokens of the jobs the workers hold now: the heartbeat renews
     * these and nothing else. The lock also guards the outcomes. */
    pthread_mutex_t held_lock;
    atomic_int next_slot; /* the slot of the next worker thread */
    char held[MAX_WORKERS][sizeof(((job_row *)0)->lease_token)]; /* "" when free */
    /* A backfill: its jobs (NULL: the service's, every job of the API), and
     * what each did in this process. */
    const int64_t *jobs;
    int njobs;
    job_outcome *outcomes;
    bool *ran;
    progress *prog;
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
    const char *tokens[MAX_WORKERS];
    char copy[MAX_WORKERS][sizeof s->held[0]];
    size_t n = 0;
    pthread_mutex_lock(&s->held_lock);
    for (int i = 0; i < MAX_WORKERS; i++)
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

static int reserve_slot(void *ud, int64_t *waited_ms, char *err, size_t errlen)
{
    service *s = ud;
    return db_rate_limit_reserve(s->limit, s->stop, waited_ms, err, errlen);
}

static void on_rate_wait(void *ud, int64_t wait_ns)
{
    service *s = ud;
    if (s->prog)
        progress_waiting(s->prog, wait_ns);
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
            sleep_unless_stopped(RETRY_NS_PER_S, NULL, -1);
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

/* A backfill's account of what its job did: the attempts of this process added up. */
static void record(service *s, const job_row *row, const job_outcome *o)
{
    pthread_mutex_lock(&s->held_lock);
    for (int i = 0; i < s->njobs; i++) {
        if (s->jobs[i] != row->id)
            continue;
        job_outcome *t = &s->outcomes[i];
        t->fetched += o->fetched;
        t->inserted += o->inserted;
        t->updated += o->updated;
        t->unchanged += o->unchanged;
        t->quarantined += o->quarantined;
        t->refused += o->refused;
        t->warnings += o->warnings;
        t->errors += o->errors;
        t->score_loss += o->score_loss;
        t->ok = o->ok;
        snprintf(t->error, sizeof t->error, "%s", o->error);
        s->ran[i] = true;
    }
    pthread_mutex_unlock(&s->held_lock);
}

static void run_claimed(service *s, worker *w, job_row *row)
{
    job_outcome out;
    log_msg(LOG_LEVEL_INFO, "%s: job %lld (%s..%s), attempt %d", row->symbol, (long long)row->id,
            row->from_date, row->to_date, row->attempts);
    if (s->prog)
        progress_symbol(s->prog, row->symbol);
    worker_run_job(w, row, &out);
    if (s->jobs)
        record(s, row, &out);
    char state[12];
    if (out.lease_lost) {
        atomic_fetch_add(&s->lease_losses, 1);
        return; /* the job is another worker's now: touch nothing */
    }
    if (out.interrupted) {
        settle(s, row, JOB_END_RELEASED, NULL, state);
        log_msg(LOG_LEVEL_INFO, "%s: job %lld released at shutdown (%s)", row->symbol,
                (long long)row->id, state);
        return;
    }
    if (s->prog)
        progress_symbol_done(s->prog);
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
    settle(s, row, JOB_END_FAILED, out.error, state);
    atomic_fetch_add(&s->stats.jobs_failed, 1);
    bool dead = strcmp(state, "dead") == 0;
    if (dead) {
        char key[64];
        snprintf(key, sizeof key, "job-dead:%lld", (long long)row->id);
        alert(s, key, row->symbol, ALERT_CRITICAL,
              "%s: job %lld (%s..%s) is dead after %d attempt%s: %s", row->symbol,
              (long long)row->id, row->from_date, row->to_date, row->attempts,
              row->attempts == 1 ? "" : "s", out.error);
    }
    log_msg(dead ? LOG_LEVEL_ERROR : LOG_LEVEL_WARNING, "%s: job %lld %s: %s", row->symbol,
            (long long)row->id, dead ? "is dead after its last attempt" : "failed; will retry",
            out.error);
}

/* Claim the next job of the service, or of the backfill. */
static int claim(service *s, job_row *row)
{
    pgpool_conn *pc;
    char err[256];
    int rc = pgpool_acquire(&pc, s->pool, 5000);
    if (rc != PGPOOL_OK) {
        log_msg(LOG_LEVEL_WARNING, "claiming a job: database: %s", pgpool_strerror(rc));
        return JOB_CLAIM_ERROR;
    }
    rc = jobs_claim_next(pgpool_conn_pg(pc), s->cfg->service.job_lease_s, s->jobs, (size_t)s->njobs,
                         row, err, sizeof err);
    db_give_back(pc);
    if (rc == JOB_CLAIM_ERROR)
        log_msg(LOG_LEVEL_WARNING, "claiming a job: %s", err);
    return rc;
}

/* A worker: claim, run, settle, until stopped (or a backfill's jobs are all taken). */
static void *worker_thread(void *arg)
{
    service *s = arg;
    source *src = NULL;
    worker *w = NULL;
    int rc = s->files_dir ? source_files_new(&src, s->files_dir, s->cfg->polygon.page_limit)
                          : source_polygon_new(&src, &s->sh);
    if (rc != 0 || worker_new(&w, s->cfg, s->pool, src, &s->stats, s->stop) != 0) {
        log_msg(LOG_LEVEL_ERROR, "out of memory for a worker");
        atomic_store(&s->broken, 1);
    } else {
        worker_set_hooks(w, s->prog, observe, s);
    }
    int slot = atomic_fetch_add(&s->next_slot, 1) % MAX_WORKERS, errors = 0;
    while (w && !*s->stop && !atomic_load(&s->unavailable)) {
        job_row row;
        rc = claim(s, &row);
        if (rc == JOB_CLAIMED) {
            errors = 0;
            hold(s, slot, row.lease_token);
            run_claimed(s, w, &row);
            hold(s, slot, NULL);
            continue;
        }
        /* A backfill ends when none of its jobs is left to claim now, and
         * gives up on a database that does not answer three times. */
        if (s->jobs && rc == JOB_BUSY)
            break;
        if (s->jobs && rc == JOB_CLAIM_ERROR && ++errors == 3)
            atomic_store(&s->unavailable, 1);
        sleep_unless_stopped(POLL_MS * RETRY_NS_PER_MS, s->stop, -1);
    }
    worker_free(w);
    source_free(src);
    atomic_fetch_sub(&s->workers_running, 1);
    return NULL;
}

/* ------------------------------------------------------------- schedule */

/*
 * The run date due now: the local date (in BACKFILL_SCHEDULE_TZ, the
 * process's TZ) of the latest scheduled instant that is not in the future.
 */
static void due_run_date(const service *s, char out[11])
{
    time_t now = time(NULL) + (time_t)s->cfg->service.clock_offset_s;
    struct tm at;
    localtime_r(&now, &at);
    at.tm_hour = s->cfg->service.schedule_hour;
    at.tm_min = s->cfg->service.schedule_minute;
    at.tm_sec = 0;
    at.tm_isdst = -1;
    if (mktime(&at) > now) { /* today's is still to come: yesterday's */
        at.tm_mday -= 1;
        at.tm_hour = s->cfg->service.schedule_hour;
        at.tm_min = s->cfg->service.schedule_minute;
        at.tm_isdst = -1;
        mktime(&at);
    }
    strftime(out, 11, "%Y-%m-%d", &at);
}

static void closed_run(const char *run_date, long dead, void *ud)
{
    service *s = ud;
    if (dead == 0) {
        log_msg(LOG_LEVEL_INFO, "scheduled run %s completed", run_date);
        return;
    }
    log_msg(LOG_LEVEL_ERROR, "scheduled run %s did not complete: %ld dead job%s", run_date, dead,
            dead == 1 ? "" : "s");
    char key[64];
    snprintf(key, sizeof key, "run:%s", run_date);
    alert(s, key, NULL, ALERT_CRITICAL, "scheduled run %s did not complete: %ld dead job%s",
          run_date, dead, dead == 1 ? "" : "s");
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

/* The leases' heartbeat; the service's schedule and breaker alerts too. */
static void housekeeping(service *s, int64_t *next_heartbeat, int64_t *next_schedule)
{
    if (!s->jobs)
        watch_breaker(s);
    int64_t now = mono_ms();
    if (now < *next_heartbeat && (s->jobs || now < *next_schedule))
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
    if (!s->jobs && now >= *next_schedule) {
        char run_date[11];
        due_run_date(s, run_date);
        if (jobs_enqueue_run(c, run_date, s->cfg->service.lookback_days,
                             (const char *const *)s->cfg->service.symbols.item,
                             s->cfg->service.symbols.n, err, sizeof err) < 0)
            log_msg(LOG_LEVEL_WARNING, "scheduled run %s: %s", run_date, err);
        jobs_close_runs(c, closed_run, s);
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
    int64_t counts[5];
    pgpool_conn *pc;
    if (pgpool_acquire(&pc, s->pool, 1000) != PGPOOL_OK)
        return -1;
    int rc = jobs_count_by_state(pgpool_conn_pg(pc), counts);
    db_give_back(pc);
    for (int k = 0; rc == 0 && k < 5; k++)
        metrics_snapshot_add_jobs(out, jobs_states[k], counts[k]);
    return rc;
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
    char err[256];
    bool ok = migrate_current_version(pgpool_conn_pg(pc), err, sizeof err) >= 0;
    db_give_back(pc);
    if (!ok)
        snprintf(reason, len, "database: %s", err);
    return ok;
}

static int admin_jobs(char **out, void *ud)
{
    service *s = ud;
    pgpool_conn *pc;
    if (pgpool_acquire(&pc, s->pool, 1000) != PGPOOL_OK)
        return -1;
    char *json = jobs_json(pgpool_conn_pg(pc));
    db_give_back(pc);
    /* Error texts come from servers: mask the secrets, as in logs. */
    size_t cap = json ? strlen(json) * 3 + 64 : 0;
    *out = json ? malloc(cap) : NULL;
    if (*out)
        log_scrub(json, *out, cap);
    free(json);
    return *out ? 0 : -1;
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

/* ------------------------------------------------------------ lifecycle */

/* The pool, and the API's client unless the jobs read files_dir. 0, or the exit status. */
static int open_service(service *s, const ingest_config *cfg, atomic_int *stop,
                        retry_cancel *cancel, const char *files_dir, const char *needs_key)
{
    if (!files_dir && !cfg->polygon.api_key) {
        fprintf(stderr, "ingestor: invalid configuration\n  POLYGON_API_KEY  required for %s\n",
                needs_key);
        return EX_CONFIG;
    }
    memset(s, 0, sizeof *s);
    pthread_mutex_init(&s->held_lock, NULL);
    s->cfg = cfg;
    s->stop = stop;
    s->files_dir = files_dir;
    s->breaker_seen = RETRY_BREAKER_CLOSED;
    latency_hist_init(&s->fetch_hist);
    latency_hist_init(&s->write_hist);
    /* Every worker holds one connection at a time; one more for the
     * housekeeper, the rate limit and the admin server: DB_POOL_MAX holds
     * them (a configuration rule). */
    int rc = db_open_ready(cfg, &s->pool, cfg->db.pool_max);
    if (rc != 0 || files_dir)
        return rc;
    if (polygon_client_init(&s->sh, cfg->polygon.base_url, cfg->polygon.api_key,
                            cfg->polygon.page_limit, (long)cfg->polygon.timeout_ms,
                            cfg->polygon.max_attempts, cfg->polygon.max_retry_delay_ms,
                            cfg->polygon.rate_limit_per_min, cfg->polygon.rate_window_ms,
                            (size_t)cfg->polygon.max_body_bytes, &s->stats) != 0 ||
        (cfg->polygon.rate_limit_per_min > 0 &&
         db_rate_limit_new(&s->limit, s->pool, "polygon", cfg->polygon.rate_limit_per_min,
                           cfg->polygon.rate_window_ms) != 0)) {
        polygon_client_destroy(&s->sh);
        pgpool_free(s->pool);
        return EX_SOFTWARE;
    }
    s->sh.stop = stop;
    s->sh.cancel = cancel;
    s->sh.on_rate_wait = on_rate_wait;
    s->sh.on_rate_wait_ud = s;
    if (s->limit) {
        s->sh.reserve = reserve_slot;
        s->sh.reserve_ud = s;
    }
    return 0;
}

static void close_service(service *s)
{
    admin_stop(s->admin);
    alerter_free(s->alerts); /* delivers what is queued, within its drain timeout */
    db_rate_limit_free(s->limit);
    if (!s->files_dir)
        polygon_client_destroy(&s->sh);
    pgpool_free(s->pool);
    memset(s->db_password, 0, sizeof s->db_password);
}

/*
 * Run n workers and the housekeeping until *stop (or, for a backfill, until
 * its workers are done); then give the running pages SHUTDOWN_TIMEOUT to
 * commit or roll back, their jobs released. 0; -1 when workers are still
 * busy at the deadline (their leases will expire: leave the process).
 */
static int run_workers(service *s, int n)
{
    pthread_t threads[MAX_WORKERS];
    int started = 0;
    for (; started < n; started++) {
        atomic_fetch_add(&s->workers_running, 1);
        if (pthread_create(&threads[started], NULL, worker_thread, s) != 0) {
            atomic_fetch_sub(&s->workers_running, 1);
            break;
        }
    }
    if (!s->jobs)
        log_msg(LOG_LEVEL_INFO, "ingestor run: %d worker%s, schedule %02d:%02d %s, lease %d s",
                started, started == 1 ? "" : "s", s->cfg->service.schedule_hour,
                s->cfg->service.schedule_minute, s->cfg->service.schedule_tz,
                s->cfg->service.job_lease_s);
    int64_t next_heartbeat = 0, next_schedule = 0;
    while (!*s->stop && atomic_load(&s->workers_running) > 0) {
        housekeeping(s, &next_heartbeat, &next_schedule);
        sleep_unless_stopped(100 * RETRY_NS_PER_MS, s->stop, -1);
    }
    if (*s->stop)
        log_msg(LOG_LEVEL_INFO, "stopping: waiting up to %lld ms for running pages",
                (long long)s->cfg->service.shutdown_timeout_ms);
    int64_t end = mono_ms() + s->cfg->service.shutdown_timeout_ms;
    while (atomic_load(&s->workers_running) > 0 && mono_ms() < end)
        sleep_unless_stopped(50 * RETRY_NS_PER_MS, NULL, -1);
    int busy = atomic_load(&s->workers_running);
    if (busy > 0) {
        log_msg(LOG_LEVEL_WARNING,
                "%d worker%s still busy at the deadline; their leases will expire", busy,
                busy == 1 ? "" : "s");
        return -1;
    }
    for (int t = 0; t < started; t++)
        pthread_join(threads[t], NULL);
    if (started == 0)
        log_msg(LOG_LEVEL_ERROR, "cannot start a worker thread");
    return started > 0 || n == 0 ? 0 : -1;
}

int service_run(const ingest_config *cfg, atomic_int *stop, retry_cancel *cancel)
{
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
    int rc = open_service(&s, cfg, stop, cancel, NULL, "ingestor run");
    if (rc != 0)
        return rc;
    if (start_alerts(&s) != 0 || start_admin(&s) != 0) {
        close_service(&s);
        return EX_SOFTWARE;
    }
    if (run_workers(&s, cfg->service.api_workers) != 0)
        return EX_SOFTWARE; /* exit with the threads running: the process ends */
    close_service(&s);
    log_msg(LOG_LEVEL_INFO, "stopped");
    return 0;
}

static void print_summary(const service *s, double secs, int workers)
{
    printf("\n%-8s %8s %8s %8s %9s %11s %8s %7s  %s\n", "symbol", "fetched", "inserted", "updated",
           "unchanged", "quarantined", "warnings", "score", "result");
    for (int i = 0; i < s->njobs; i++) {
        const job_outcome *o = &s->outcomes[i];
        double score = o->fetched ? 1.0 - o->score_loss / (double)o->fetched : 1.0;
        char masked[sizeof o->error], result[4 * sizeof o->error];
        log_scrub(o->error, masked, sizeof masked);
        text_escape(result, sizeof result, masked, strlen(masked));
        if (!s->ran[i] && !*s->stop && s->jobs[i] >= 0)
            snprintf(result, sizeof result, "skipped (running elsewhere)");
        else if (o->ok && o->refused)
            snprintf(result, sizeof result,
                     "ok; %lld bars refused (outside the range or another ticker)",
                     (long long)o->refused);
        else if (o->ok)
            snprintf(result, sizeof result, "ok");
        printf("%-8s %8lld %8lld %8lld %9lld %11lld %8lld %7.4f  %s\n", o->symbol,
               (long long)o->fetched, (long long)o->inserted, (long long)o->updated,
               (long long)o->unchanged, (long long)o->quarantined, (long long)o->warnings, score,
               result);
    }
    const ingest_stats *st = &s->stats;
    summary_totals t = { .requests = st->requests,
                         .retries = st->retries,
                         .rate_limited = st->responses_429,
                         .transport_errors = st->transport_errors,
                         .reconnects = st->reconnects,
                         .bars_refused = st->bars_refused,
                         .waited_s = (double)st->waited_ms / 1000.0,
                         .elapsed_s = secs,
                         .workers = workers };
    char text[512];
    summary_format(text, sizeof text, &t);
    printf("\n%s", text);
}

/* Add (or re-arm) the jobs of a; their ids into ids (-1 for one that failed). 0, or the exit
 * status. */
static int enqueue(pgpool *pool, const backfill_args *a, const char *from, int64_t *ids,
                   job_outcome *outcomes)
{
    pgpool_conn *pc = db_acquire_or_log(pool);
    if (!pc)
        return EX_UNAVAILABLE;
    int rc = 0;
    for (int i = 0; i < a->nsymbols; i++) {
        job_key k = {
            a->symbols[i], a->timespan, a->multiplier, a->adjusted, a->from, a->to, from
        };
        char err[512] = "not run";
        ids[i] = -1;
        if (jobs_enqueue(pgpool_conn_pg(pc), &k, NULL, &ids[i], err, sizeof err) != 0) {
            log_msg(LOG_LEVEL_ERROR, "%s: %s", a->symbols[i], err);
            rc = 1;
        }
        if (outcomes) {
            snprintf(outcomes[i].symbol, sizeof outcomes[i].symbol, "%s", a->symbols[i]);
            snprintf(outcomes[i].error, sizeof outcomes[i].error, "%s", err);
        }
    }
    db_give_back(pc);
    return rc;
}

int service_backfill(const ingest_config *cfg, const backfill_args *a, atomic_int *stop,
                     retry_cancel *cancel)
{
    static service s; /* big (the stats) */
    bool files = strncmp(a->source, "files:", 6) == 0;
    int rc = open_service(&s, cfg, stop, cancel, files ? a->source + 6 : NULL, "--source polygon");
    if (rc != 0)
        return rc;
    int64_t t0 = mono_ms(), ids[MAX_SYMBOLS];
    job_outcome outcomes[MAX_SYMBOLS];
    bool ran[MAX_SYMBOLS] = { false };
    memset(outcomes, 0, sizeof outcomes);
    int enqueued = enqueue(s.pool, a, files ? "files" : "polygon", ids, outcomes);
    if (enqueued == EX_UNAVAILABLE) {
        close_service(&s);
        return EX_UNAVAILABLE;
    }
    progress prog;
    progress_start(&prog, a->nsymbols,
                   a->nsymbols * progress_estimate_bars(a->from, a->to, a->timespan, a->multiplier),
                   isatty(STDERR_FILENO) && !(cfg->log.format == CONFIG_LOG_JSON) &&
                       cfg->log.level <= LOG_LEVEL_INFO);
    s.jobs = ids;
    s.njobs = a->nsymbols;
    s.outcomes = outcomes;
    s.ran = ran;
    s.prog = &prog;
    /* Workers beyond the number of jobs would have nothing to do. */
    int workers = cfg->service.api_workers < a->nsymbols ? cfg->service.api_workers : a->nsymbols;
    if (run_workers(&s, workers) != 0)
        return EX_SOFTWARE; /* threads still running: the process ends */
    progress_end(&prog);
    print_summary(&s, (double)(mono_ms() - t0) / 1000.0, workers);
    rc = atomic_load(&s.broken)        ? EX_SOFTWARE
         : atomic_load(&s.unavailable) ? EX_UNAVAILABLE
         : *stop                       ? 130 /* interrupted */
                                       : enqueued;
    for (int i = 0; i < a->nsymbols && rc == 0; i++)
        if (ran[i] && !outcomes[i].ok)
            rc = 1;
    close_service(&s);
    return rc;
}

int service_enqueue(const ingest_config *cfg, const backfill_args *a)
{
    pgpool *pool;
    int rc = db_open_ready(cfg, &pool, 1);
    if (rc != 0)
        return rc;
    int64_t ids[MAX_SYMBOLS];
    rc = enqueue(pool, a, "polygon", ids, NULL);
    if (rc == 0)
        printf("%d job%s enqueued for %s..%s\n", a->nsymbols, a->nsymbols == 1 ? "" : "s", a->from,
               a->to);
    pgpool_free(pool);
    return rc;
}
