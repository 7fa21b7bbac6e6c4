/*
 * ingestor: backfills OHLCV bars from the Polygon aggregates API (or local
 * files) into PostgreSQL, validated, rate-limited, retried, idempotent and
 * resumable. It shows the four libraries of this project working together:
 * libenvcheck (configuration), libretry (rate limit, breaker, retries),
 * libdqcheck (validation) and libpgpool (database connections).
 */
#include <getopt.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
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
#include "report.h"
#include "service.h"
#include "sink.h"
#include "textsafe.h"
#include "urlcheck.h"

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

/* The one connection of a command: 0, or the exit status. */
static int connect_once(const ingest_config *cfg, pgpool **pool, pgpool_conn **pc)
{
    if (db_open_pool(cfg, pool, 1) != 0)
        return EX_SOFTWARE;
    if ((*pc = db_acquire_or_log(*pool)) != NULL)
        return 0;
    pgpool_free(*pool);
    return EX_UNAVAILABLE;
}

static int cmd_migrate(const ingest_config *cfg)
{
    pgpool *pool;
    pgpool_conn *pc;
    int applied, rc = connect_once(cfg, &pool, &pc);
    if (rc != 0)
        return rc;
    char err[512];
    rc = migrate_run(pgpool_conn_pg(pc), &applied, err, sizeof err);
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

static int cmd_enqueue(const ingest_config *cfg, const backfill_args *a)
{
    if (strcmp(a->source, "polygon") != 0) {
        fprintf(stderr, "ingestor: the service fetches from polygon only\n");
        return EX_USAGE;
    }
    return service_enqueue(cfg, a);
}

/* The value of a cell for the terminal: control characters escaped (a
 * stored text must not forge lines or send escape sequences), cut to fit. */
static const char *cell(PGresult *r, int t, int f, char *buf, size_t size)
{
    text_escape(buf, size, PQgetvalue(r, t, f), (size_t)PQgetlength(r, t, f));
    return buf;
}

/* A table of the rows of r (which it clears; NULL: the query failed), under title. */
static int print_table(const char *title, PGresult *r)
{
    if (!r) {
        log_msg(LOG_LEVEL_ERROR, "%s the database could not be read", title);
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
    pgpool_conn *pc;
    int rc = connect_once(cfg, &pool, &pc);
    if (rc != 0)
        return rc;
    PGconn *conn = pgpool_conn_pg(pc);
    rc = print_table("Jobs:", jobs_recent(conn));
    rc |= print_table("Latest quality records (per symbol):", sink_latest_quality(conn));
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
    int rc = 0;
    if (strcmp(cmd, "report") == 0) {
        rc = cli_parse_report(argc - 1, argv + 1, &rargs);
    } else if (strcmp(cmd, "backfill") == 0 || strcmp(cmd, "enqueue") == 0) {
        rc = cli_parse_backfill(argc - 1, argv + 1, &bargs);
    } else if (strcmp(cmd, "migrate") != 0 && strcmp(cmd, "status") != 0 &&
               strcmp(cmd, "check-config") != 0 && strcmp(cmd, "run") != 0) {
        fprintf(stderr, "ingestor: unknown command '%s'\n", cmd);
        usage(stderr);
        return EX_USAGE;
    } else if (argc != 2) {
        fprintf(stderr, "ingestor: '%s' takes no arguments\n", cmd);
        return EX_USAGE;
    }
    if (rc == CLI_HELP)
        usage(stdout);
    if (rc != 0)
        return rc == CLI_HELP ? 0 : rc;

    ingest_config cfg;
    rc = config_load(&cfg, stderr);
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
        rc = service_backfill(&cfg, &bargs, &stop_requested, stop_token);

    curl_global_cleanup();
    log_clear_secrets();
    config_free(&cfg);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    retry_cancel_free(stop_token);
    stop_token = NULL;
    return rc;
}
