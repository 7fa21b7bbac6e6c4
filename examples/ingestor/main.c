/*
 * ingestor: backfills OHLCV bars from the Polygon aggregates API (or local
 * files) into PostgreSQL, validated, rate-limited, retried, idempotent and
 * resumable. It shows the four libraries of this project working together:
 * libenvcheck (configuration), libretry (rate limit, breaker, retries),
 * libdqcheck (validation) and libpgpool (database connections).
 */
#include <ctype.h>
#include <getopt.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <dqcheck/dqcheck.h>
#include <envcheck/envcheck.h>
#include <pgpool/pgpool.h>
#include <retry/retry.h>

#include "cli.h"
#include "config.h"
#include "db.h"
#include "jobs.h"
#include "log.h"
#include "migrate.h"
#include "nytime.h"
#include "pipeline.h"
#include "report.h"
#include "service.h"
#include "source.h"
#include "symbol.h"
#include "summary.h"
#include "textsafe.h"
#include "urlcheck.h"

#define EX_USAGE       64
#define EX_UNAVAILABLE 69
#define EX_SOFTWARE    70
#define EX_CONFIG      78

static atomic_int stop_requested; /* set by the signal handler: lock-free, so safe there */
/* Set with it (retry_cancel_set is async-signal-safe): wakes retry_run's sleeps. */
static retry_cancel *stop_token;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
    if (stop_token)
        retry_cancel_set(stop_token);
}

static void usage(FILE *out)
{
    fputs("usage: ingestor COMMAND [options]\n"
          "\n"
          "Commands:\n"
          "  migrate         create or upgrade the database schema (idempotent)\n"
          "  backfill        fetch, validate and store bars:\n"
          "                    --symbols AAPL,MSFT --from YYYY-MM-DD --to YYYY-MM-DD\n"
          "                    [--timespan day] [--multiplier 1] [--adjusted true|false]\n"
          "                    [--source polygon|files:DIR]\n"
          "  status          jobs and the latest quality records\n"
          "  report          the data-quality report of the bars stored for a symbol:\n"
          "                    --symbol GME [--from YYYY-MM-DD] [--to YYYY-MM-DD]\n"
          "                    [--timespan day] [--multiplier 1] [--format text|json|html]\n"
          "                  (html: one self-contained page on stdout: chart, score,\n"
          "                  findings, quarantined bars)\n"
          "  run             the service: daily schedule, workers, admin HTTP, alerts\n"
          "                  (any number of processes share one database)\n"
          "  enqueue         add jobs for the service: the options of backfill\n"
          "  check-config    validate the environment and print the effective\n"
          "                  configuration, secrets masked (--usage: the variables)\n"
          "\n"
          "  -h, --help      this text\n"
          "  --version       versions of the program and its libraries\n"
          "\n"
          "Configuration comes from the environment: run 'ingestor check-config --usage'.\n"
          "Exit status: 0 every job finished, 1 a job failed (report: nothing stored for\n"
          "the symbol), 64 usage, 69 database unavailable, 78 invalid configuration.\n",
          out);
}

static void version(void)
{
    printf("ingestor %s\n", INGESTKIT_VERSION);
    printf("libretry 0x%06x, libdqcheck 0x%06x, libpgpool 0x%06x, libenvcheck 0x%06x\n",
           (unsigned)retry_version(), (unsigned)dq_version(), (unsigned)pgpool_version(),
           (unsigned)envcheck_version());
}

/* The password of a postgresql:// URL, to mask it in logs. */
static void register_url_password(const char *url)
{
    char pw[256];
    if (db_url_password(url, pw, sizeof pw))
        log_add_secret(pw);
    memset(pw, 0, sizeof pw);
}

static int cmd_migrate(const ingest_config *cfg)
{
    pgpool *pool;
    if (db_open_pool(cfg, &pool, 1) != 0)
        return EX_SOFTWARE;
    pgpool_conn *pc = db_acquire_or_log(pool);
    if (!pc) {
        pgpool_free(pool);
        return EX_UNAVAILABLE;
    }
    int applied;
    char err[512];
    int rc = migrate_run(pgpool_conn_pg(pc), &applied, err, sizeof err);
    pgpool_release(pc);
    pgpool_free(pool);
    if (rc != 0) {
        log_msg(LOG_LEVEL_ERROR, "migration failed: %s", err);
        return EX_SOFTWARE;
    }
    printf("schema at version %d (%d migration%s applied)\n", migrate_latest_version(), applied,
           applied == 1 ? "" : "s");
    return 0;
}

static void print_summary(const job_outcome *o, int n, const ingest_stats *st, double secs,
                          int workers)
{
    printf("\n%-8s %8s %8s %8s %9s %11s %8s %7s  %s\n", "symbol", "fetched", "inserted", "updated",
           "unchanged", "quarantined", "warnings", "score", "result");
    for (int i = 0; i < n; i++) {
        double score = o[i].fetched ? 1.0 - o[i].score_loss / (double)o[i].fetched : 1.0;
        char masked[sizeof o[i].error], error[4 * sizeof o[i].error];
        log_scrub(o[i].error, masked, sizeof masked);
        text_escape(error, sizeof error, masked, strlen(masked));
        char ok[96] = "ok";
        if (o[i].refused)
            snprintf(ok, sizeof ok, "ok; %lld bars refused (outside the range or another ticker)",
                     (long long)o[i].refused);
        printf("%-8s %8lld %8lld %8lld %9lld %11lld %8lld %7.4f  %s\n", o[i].symbol,
               (long long)o[i].fetched, (long long)o[i].inserted, (long long)o[i].updated,
               (long long)o[i].unchanged, (long long)o[i].quarantined, (long long)o[i].warnings,
               score,
               o[i].skipped ? "skipped (running elsewhere)"
               : o[i].ok    ? ok
                            : error);
    }
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

/* What the workers of one backfill share. */
typedef struct backfill_run {
    const ingest_config *cfg;
    const backfill_args *a;
    pgpool *pool;
    polygon_client *sh; /* NULL for --source files:DIR */
    ingest_stats *stats;
    progress *prog;
    job_outcome *outcomes; /* one per symbol, in the order given */
    atomic_int next;       /* the next symbol to take */
    atomic_int failed;
    atomic_int unavailable; /* a worker could not reach the database */
    atomic_int broken;      /* a worker could not be set up */
} backfill_run;

/* Ensure, claim and run the job of symbol i on one worker's connection. */
static void backfill_symbol(backfill_run *b, worker *w, int i)
{
    const backfill_args *a = b->a;
    job_outcome *o = &b->outcomes[i];
    pgpool_conn *pc = db_acquire_or_log(b->pool);
    if (!pc) {
        snprintf(o->error, sizeof o->error, "database unavailable");
        atomic_store(&b->unavailable, 1);
        atomic_fetch_add(&b->failed, 1);
        return;
    }
    job_row row;
    char err[512];
    if (jobs_ensure(pgpool_conn_pg(pc), a->symbols[i], a->timespan, a->multiplier, a->adjusted,
                    a->from, a->to, b->sh ? "polygon" : "files", &row, err, sizeof err) != 0) {
        pgpool_release(pc);
        snprintf(o->error, sizeof o->error, "%s", err);
        atomic_fetch_add(&b->failed, 1);
        return;
    }
    int claim = jobs_claim(pgpool_conn_pg(pc), &row, err, sizeof err);
    pgpool_release(pc);
    if (claim == JOB_BUSY) {
        o->skipped = true;
        o->ok = true;
        log_msg(LOG_LEVEL_WARNING, "%s: job %lld is being run by another live worker; skipped",
                row.symbol, (long long)row.id);
        return;
    }
    if (claim != JOB_CLAIMED) {
        snprintf(o->error, sizeof o->error, "%s", err);
        atomic_fetch_add(&b->failed, 1);
        return;
    }
    progress_symbol(b->prog, row.symbol);
    worker_run_job(w, &row, o);
    progress_symbol_done(b->prog);
    if (!o->ok)
        atomic_fetch_add(&b->failed, 1);
}

/* One worker thread: its own source and checker; symbols taken in order. */
static void *backfill_worker(void *arg)
{
    backfill_run *b = arg;
    source *src = NULL;
    worker *w = NULL;
    int rc = b->sh ? source_polygon_new(&src, b->sh)
                   : source_files_new(&src, b->a->source + 6, b->cfg->polygon.page_limit);
    if (rc != 0 || worker_new(&w, b->cfg, b->pool, src, b->stats) != 0) {
        log_msg(LOG_LEVEL_ERROR, "out of memory for a worker");
        atomic_store(&b->broken, 1);
    } else {
        worker_set_progress(w, b->prog);
    }
    while (w && !stop_requested && !atomic_load(&b->unavailable)) {
        int i = atomic_fetch_add(&b->next, 1);
        if (i >= b->a->nsymbols)
            break;
        backfill_symbol(b, w, i);
    }
    worker_free(w);
    source_free(src);
    return NULL;
}

static int cmd_backfill(const ingest_config *cfg, const backfill_args *a)
{
    if (strcmp(a->source, "polygon") == 0 && !cfg->polygon.api_key) {
        fprintf(stderr, "ingestor: invalid configuration\n"
                        "  POLYGON_API_KEY  required for --source polygon\n");
        return EX_CONFIG;
    }
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    static ingest_stats stats;
    pgpool *pool;
    int ready = db_open_ready(cfg, &pool, cfg->db.pool_max);
    if (ready != 0)
        return ready;

    polygon_client sh;
    bool polygon = strcmp(a->source, "polygon") == 0;
    if (polygon) {
        if (polygon_client_init(&sh, cfg->polygon.base_url, cfg->polygon.api_key,
                                cfg->polygon.page_limit, (long)cfg->polygon.timeout_ms,
                                cfg->polygon.max_attempts, cfg->polygon.max_retry_delay_ms,
                                cfg->polygon.rate_limit_per_min, cfg->polygon.rate_window_ms,
                                (size_t)cfg->polygon.max_body_bytes, &stats) != 0) {
            pgpool_free(pool);
            return EX_SOFTWARE;
        }
        sh.stop = &stop_requested;
        sh.cancel = stop_token;
    }

    job_outcome outcomes[MAX_SYMBOLS];
    for (int i = 0; i < a->nsymbols; i++) {
        memset(&outcomes[i], 0, sizeof outcomes[i]);
        snprintf(outcomes[i].symbol, sizeof outcomes[i].symbol, "%s", a->symbols[i]);
        snprintf(outcomes[i].error, sizeof outcomes[i].error, "not run");
    }
    progress prog;
    progress_start(&prog, a->nsymbols,
                   a->nsymbols * progress_estimate_bars(a->from, a->to, a->timespan, a->multiplier),
                   isatty(STDERR_FILENO) && !(cfg->log.format == CONFIG_LOG_JSON) &&
                       cfg->log.level <= LOG_LEVEL_INFO);
    backfill_run run = { .cfg = cfg,
                         .a = a,
                         .pool = pool,
                         .sh = polygon ? &sh : NULL,
                         .stats = &stats,
                         .prog = &prog,
                         .outcomes = outcomes };
    /* Workers beyond the number of symbols would have nothing to do. */
    int nthreads = cfg->service.api_workers < a->nsymbols ? cfg->service.api_workers : a->nsymbols;
    pthread_t threads[CONFIG_MAX_WORKERS]; /* API_WORKERS is at most 64 */
    int started = 0;
    for (; started < nthreads; started++)
        if (pthread_create(&threads[started], NULL, backfill_worker, &run) != 0)
            break;
    if (started == 0)
        backfill_worker(&run); /* no thread could start: work in this one */
    for (int t = 0; t < started; t++)
        pthread_join(threads[t], NULL);
    progress_end(&prog);

    int rc = atomic_load(&run.broken)        ? EX_SOFTWARE
             : atomic_load(&run.unavailable) ? EX_UNAVAILABLE
                                             : 0;
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    print_summary(outcomes, a->nsymbols, &stats,
                  (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9,
                  nthreads);
    if (polygon)
        polygon_client_destroy(&sh);
    pgpool_free(pool);
    if (rc != 0)
        return rc;
    if (stop_requested)
        return 130;
    return atomic_load(&run.failed) ? 1 : 0;
}

static int cmd_enqueue(const ingest_config *cfg, const backfill_args *a)
{
    const char *symbols[MAX_SYMBOLS];
    for (int i = 0; i < a->nsymbols; i++)
        symbols[i] = a->symbols[i];
    if (strcmp(a->source, "polygon") != 0) {
        fprintf(stderr, "ingestor: the service fetches from polygon only\n");
        return EX_USAGE;
    }
    return service_enqueue(cfg, symbols, a->nsymbols, a->from, a->to, a->timespan, a->multiplier,
                           a->adjusted);
}

/* The value of a cell for the terminal: control characters escaped (a
 * stored text must not forge lines or send escape sequences), cut to fit. */
static const char *cell(PGresult *r, int t, int f, char *buf, size_t size)
{
    text_escape(buf, size, PQgetvalue(r, t, f), (size_t)PQgetlength(r, t, f));
    return buf;
}

static int print_query(PGconn *conn, const char *title, const char *sql)
{
    PGresult *r = PQexec(conn, sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        log_msg(LOG_LEVEL_ERROR, "%s", PQresultErrorMessage(r));
        PQclear(r);
        return -1;
    }
    printf("%s\n", title);
    int nf = PQnfields(r), nt = PQntuples(r);
    int width[32] = { 0 };
    char buf[320];
    for (int f = 0; f < nf && f < 32; f++) {
        width[f] = (int)strlen(PQfname(r, f));
        for (int t = 0; t < nt; t++)
            if ((int)strlen(cell(r, t, f, buf, sizeof buf)) > width[f])
                width[f] = (int)strlen(buf);
    }
    for (int f = 0; f < nf && f < 32; f++)
        printf("%-*s%s", width[f], PQfname(r, f), f + 1 < nf ? "  " : "\n");
    for (int t = 0; t < nt; t++)
        for (int f = 0; f < nf && f < 32; f++)
            printf("%-*s%s", width[f], cell(r, t, f, buf, sizeof buf), f + 1 < nf ? "  " : "\n");
    if (nt == 0)
        printf("(none)\n");
    printf("\n");
    PQclear(r);
    return 0;
}

static int cmd_status(const ingest_config *cfg)
{
    pgpool *pool;
    if (db_open_pool(cfg, &pool, 1) != 0)
        return EX_SOFTWARE;
    pgpool_conn *pc = db_acquire_or_log(pool);
    if (!pc) {
        pgpool_free(pool);
        return EX_UNAVAILABLE;
    }
    PGconn *conn = pgpool_conn_pg(pc);
    int rc = 0;
    rc |= print_query(conn, "Jobs:",
                      "SELECT id, symbol, timespan || '/' || multiplier AS interval,"
                      " from_date, to_date, source, state, attempts, bars_fetched AS fetched,"
                      " bars_inserted AS inserted, bars_updated AS updated,"
                      " bars_quarantined AS quarantined,"
                      " to_char(updated_at, 'YYYY-MM-DD HH24:MI:SS') AS updated_at,"
                      " coalesce(left(last_error, 60), '') AS last_error"
                      " FROM backfill_jobs ORDER BY id DESC LIMIT 50");
    rc |= print_query(conn, "Latest quality records (per symbol):",
                      "SELECT DISTINCT ON (symbol) symbol, timespan || '/' || multiplier AS"
                      " interval, candles, accepted, rejected, round(score::numeric, 4) AS score,"
                      " errors, warnings, to_char(checked_at, 'YYYY-MM-DD HH24:MI:SS') AS"
                      " checked_at FROM dq_runs ORDER BY symbol, checked_at DESC, id DESC");
    pgpool_release(pc);
    pgpool_free(pool);
    return rc ? EX_SOFTWARE : 0;
}

/*
 * Every page is a burst of small allocations (its parsed JSON) freed at
 * once. glibc would hand that memory back to the kernel after each page and
 * fault it in again for the next; keep it instead (a page of 50 000 bars
 * needs some 40 MB), and keep response buffers off mmap.
 */
static void tune_malloc(void)
{
#ifdef __GLIBC__
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
    mallopt(M_TOP_PAD, 64 << 20);
    mallopt(M_MMAP_THRESHOLD, 64 << 20);
#endif
}

int main(int argc, char **argv)
{
    tune_malloc();
    if (argc < 2) {
        usage(stderr);
        return EX_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(cmd, "--version") == 0) {
        version();
        return 0;
    }
    if (strcmp(cmd, "check-config") == 0 && argc == 3 && strcmp(argv[2], "--usage") == 0)
        return config_usage(stdout) == 0 ? 0 : EX_SOFTWARE;

    backfill_args bargs;
    report_args rargs;
    if (strcmp(cmd, "report") == 0) {
        int rc = cli_parse_report(argc - 1, argv + 1, &rargs);
        if (rc == CLI_HELP) {
            usage(stdout);
            return 0;
        }
        if (rc != 0)
            return rc;
    } else if (strcmp(cmd, "backfill") == 0 || strcmp(cmd, "enqueue") == 0) {
        int rc = cli_parse_backfill(argc - 1, argv + 1, &bargs);
        if (rc == CLI_HELP) {
            usage(stdout);
            return 0;
        }
        if (rc != 0)
            return rc;
    } else if (strcmp(cmd, "migrate") != 0 && strcmp(cmd, "status") != 0 &&
               strcmp(cmd, "check-config") != 0 && strcmp(cmd, "run") != 0) {
        fprintf(stderr, "ingestor: unknown command '%s'\n", cmd);
        usage(stderr);
        return EX_USAGE;
    } else if (argc != 2) {
        fprintf(stderr, "ingestor: '%s' takes no arguments\n", cmd);
        return EX_USAGE;
    }

    ingest_config cfg;
    int rc = config_load(&cfg, stderr);
    if (rc != 0) {
        config_free(&cfg);
        return rc;
    }
    log_setup(cfg.log.level, (cfg.log.format == CONFIG_LOG_JSON), stderr);
    log_add_secret(cfg.polygon.api_key);
    register_url_password(cfg.db.url);

    if (retry_cancel_new(&stop_token) != RETRY_OK)
        stop_token = NULL; /* then the sleeps poll stop_requested */
    struct sigaction sa = { 0 };
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    curl_global_init(CURL_GLOBAL_DEFAULT);

    if ((strcmp(cmd, "backfill") == 0 || strcmp(cmd, "run") == 0) &&
        url_plain_http_remote(cfg.polygon.base_url))
        log_msg(LOG_LEVEL_WARNING,
                "POLYGON_BASE_URL is plain http to another host: the API key and the bars "
                "cross the network unencrypted and unauthenticated");
    if (strcmp(cmd, "check-config") == 0)
        rc = config_dump(&cfg, stdout) == 0 ? 0 : EX_SOFTWARE;
    else if (strcmp(cmd, "migrate") == 0)
        rc = cmd_migrate(&cfg);
    else if (strcmp(cmd, "status") == 0)
        rc = cmd_status(&cfg);
    else if (strcmp(cmd, "report") == 0)
        rc = report_run(&cfg, &rargs, stdout);
    else if (strcmp(cmd, "run") == 0)
        rc = service_run(&cfg, &stop_requested, stop_token);
    else if (strcmp(cmd, "enqueue") == 0)
        rc = cmd_enqueue(&cfg, &bargs);
    else
        rc = cmd_backfill(&cfg, &bargs);

    curl_global_cleanup();
    log_clear_secrets();
    config_free(&cfg);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    retry_cancel_free(stop_token);
    stop_token = NULL;
    return rc;
}
