#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "symbol.h"
#include "textsafe.h"

/* The schema, in libenvcheck's JSON format (docs/envcheck.md), in parts
 * that C compilers accept as string literals (at most 4095 bytes each). */
static const char schema_core[] =
    "{\"variables\":["
    "{\"name\":\"DATABASE_URL\",\"type\":\"url\",\"required\":true,\"sensitive\":true,"
    " \"schemes\":[\"postgresql\",\"postgres\"],\"file\":true,"
    " \"description\":\"PostgreSQL connection URL\","
    " \"example\":\"postgresql://ingest@db.internal:5432/market\"},"
    "{\"name\":\"POLYGON_API_KEY\",\"type\":\"api_key\",\"file\":true,"
    " \"description\":\"Polygon API key (required for --source polygon)\"},"
    "{\"name\":\"POLYGON_BASE_URL\",\"type\":\"url\",\"schemes\":[\"https\",\"http\"],"
    " \"default\":\"https://api.polygon.io\",\"description\":\"Polygon API base URL\"},"
    "{\"name\":\"POLYGON_RATE_LIMIT_PER_MIN\",\"type\":\"int\",\"min\":0,\"max\":100000,"
    " \"default\":\"5\",\"description\":\"requests per minute (5: the free tier; 0: unlimited)\"},"
    "{\"name\":\"POLYGON_PAGE_LIMIT\",\"type\":\"int\",\"min\":1,\"max\":50000,"
    " \"default\":\"50000\",\"description\":\"bars per page\"},"
    "{\"name\":\"POLYGON_TIMEOUT\",\"type\":\"duration\",\"default\":\"30s\","
    " \"description\":\"time limit of one HTTP request\"},"
    "{\"name\":\"POLYGON_MAX_ATTEMPTS\",\"type\":\"int\",\"min\":1,\"max\":100,"
    " \"default\":\"8\",\"description\":\"attempts per page before the job fails\"},"
    "{\"name\":\"POLYGON_MAX_RETRY_DELAY\",\"type\":\"duration\",\"default\":\"2min\","
    " \"description\":\"longest wait between attempts, Retry-After included\"},"
    "{\"name\":\"LOG_LEVEL\",\"type\":\"enum\",\"values\":[\"DEBUG\",\"INFO\",\"WARNING\","
    "\"ERROR\"],\"case_insensitive\":true,\"default\":\"INFO\",\"description\":\"least severe "
    "level logged\"},"
    "{\"name\":\"LOG_FORMAT\",\"type\":\"enum\",\"values\":[\"text\",\"json\"],"
    " \"case_insensitive\":true,\"default\":\"text\",\"description\":\"log line format\"},"
    "{\"name\":\"DB_POOL_MIN\",\"type\":\"int\",\"min\":0,\"max\":1000,\"default\":\"1\","
    " \"description\":\"database connections kept open\"},"
    "{\"name\":\"DB_POOL_MAX\",\"type\":\"int\",\"min\":1,\"max\":1000,\"default\":\"4\","
    " \"description\":\"most database connections\"},"
    "{\"name\":\"API_WORKERS\",\"type\":\"int\",\"min\":1,\"max\":64,\"default\":\"2\","
    " \"description\":\"symbols backfilled at once (each holds one connection at a time)\"},"
    "{\"name\":\"DQ_CALENDAR\",\"type\":\"enum\",\"values\":[\"nyse\",\"weekdays\",\"24x7\"],"
    " \"case_insensitive\":true,\"default\":\"nyse\",\"description\":\"session calendar of "
    "the data-quality checks\"},"
    "{\"name\":\"DQ_OPEN_GAP\",\"type\":\"float\",\"min\":0,\"max\":100,\"default\":\"0.2\","
    " \"description\":\"warn when |open / previous close - 1| exceeds this\"},"
    "{\"name\":\"DQ_RANGE\",\"type\":\"float\",\"min\":0,\"max\":1000,\"default\":\"0.3\","
    " \"description\":\"warn when (high - low) / low exceeds this\"},";
static const char schema_service[] =
    /* ingestor run: the service */
    "{\"name\":\"BACKFILL_SCHEDULE_HOUR\",\"type\":\"int\",\"min\":0,\"max\":23,"
    " \"default\":\"22\",\"description\":\"hour of the daily run\"},"
    "{\"name\":\"BACKFILL_SCHEDULE_MINUTE\",\"type\":\"int\",\"min\":0,\"max\":59,"
    " \"default\":\"30\",\"description\":\"minute of the daily run\"},"
    "{\"name\":\"BACKFILL_SCHEDULE_TZ\",\"type\":\"string\",\"default\":\"UTC\","
    " \"charset\":\"A-Za-z0-9_/+-\",\"description\":\"time zone of the schedule (IANA name)\"},"
    "{\"name\":\"BACKFILL_SYMBOLS\",\"type\":\"list\",\"element\":\"string\","
    " \"charset\":\"A-Za-z0-9.:-\",\"description\":\"the universe of the daily run "
    "(default: the active rows of the symbols table)\",\"example\":\"AAPL,MSFT\"},"
    "{\"name\":\"BACKFILL_LOOKBACK_DAYS\",\"type\":\"int\",\"min\":1,\"max\":3660,"
    " \"default\":\"5\",\"description\":\"days each daily run covers at least\"},"
    "{\"name\":\"JOB_MAX_ATTEMPTS\",\"type\":\"int\",\"min\":1,\"max\":100,"
    " \"default\":\"5\",\"description\":\"attempts before a job is declared dead\"},"
    "{\"name\":\"JOB_RETRY_DELAY\",\"type\":\"duration\",\"min\":\"1s\",\"default\":\"1min\","
    " \"description\":\"wait before a failed job's second attempt (doubling, at most 1 h)\"},"
    "{\"name\":\"JOB_LEASE\",\"type\":\"duration\",\"min\":\"2s\",\"max\":\"1h\","
    " \"default\":\"2min\",\"description\":\"how long a job stays with a worker that "
    "stopped renewing it\"},"
    "{\"name\":\"POLYGON_RATE_WINDOW\",\"type\":\"duration\",\"min\":\"1s\","
    " \"default\":\"1min\",\"description\":\"the window of POLYGON_RATE_LIMIT_PER_MIN "
    "(the service shares it between all its processes)\"},"
    "{\"name\":\"SHUTDOWN_TIMEOUT\",\"type\":\"duration\",\"default\":\"30s\","
    " \"description\":\"longest wait for running pages after SIGTERM\"},"
    "{\"name\":\"INGESTOR_CLOCK_OFFSET\",\"type\":\"int\",\"default\":\"0\","
    " \"description\":\"seconds added to the wall clock of the schedule (tests)\"},"
    "{\"name\":\"POLYGON_MAX_BODY_BYTES\",\"type\":\"int\",\"min\":0,\"max\":2000000000,"
    " \"default\":\"0\",\"description\":\"largest response body, decoded (0: 512 per "
    "bar of POLYGON_PAGE_LIMIT + 1 MiB)\"},"
    "{\"name\":\"DQ_ALERT_SCORE\",\"type\":\"float\",\"min\":0,\"max\":1,"
    " \"default\":\"0.9\",\"description\":\"alert when a job's quality score is below\"},";
static const char schema_admin[] =
    "{\"name\":\"ADMIN_ADDR\",\"type\":\"string\",\"default\":\"127.0.0.1\","
    " \"charset\":\"0-9.\",\"description\":\"IPv4 address of one interface for the admin "
    "HTTP server (not 0.0.0.0)\"},"
    "{\"name\":\"ADMIN_PORT\",\"type\":\"int\",\"min\":0,\"max\":65535,"
    " \"default\":\"8080\",\"description\":\"its port (0: any free port)\"},"
    "{\"name\":\"ADMIN_TOKEN\",\"type\":\"api_key\",\"file\":true,"
    " \"charset\":\"A-Za-z0-9._~+/=-\",\"min_length\":16,"
    " \"description\":\"bearer token that /api/v1/* requires (default: none)\"},"
    "{\"name\":\"ADMIN_CLIENT_CONNECTIONS\",\"type\":\"int\",\"min\":1,\"max\":128,"
    " \"default\":\"16\",\"description\":\"connections one client address may hold\"},"
    "{\"name\":\"ADMIN_HEADER_TIMEOUT\",\"type\":\"duration\",\"min\":\"100ms\","
    " \"max\":\"5min\",\"default\":\"10s\",\"description\":\"a request must arrive "
    "within this, however slowly its bytes come\"},";
static const char schema_alerts[] =
    "{\"name\":\"ALERT_WEBHOOK_URL\",\"type\":\"url\",\"schemes\":[\"https\",\"http\"],"
    " \"sensitive\":true,\"description\":\"alerts are POSTed here\"},"
    "{\"name\":\"ALERT_WEBHOOK_FORMAT\",\"type\":\"enum\",\"values\":[\"generic\","
    "\"slack\",\"alertmanager\"],\"default\":\"generic\","
    "\"description\":\"JSON shape of the webhook\"},"
    "{\"name\":\"ALERT_EMAIL_ENABLED\",\"type\":\"bool\",\"default\":\"false\","
    " \"description\":\"send alerts by email\"},"
    "{\"name\":\"ALERT_EMAIL_TO\",\"type\":\"list\",\"element\":\"email\","
    " \"description\":\"recipients\"},"
    "{\"name\":\"ALERT_EMAIL_FROM\",\"type\":\"string\","
    " \"description\":\"sender: an address or 'Name <address>' (default: ingestor@ and the "
    "host's fully qualified name)\"},"
    "{\"name\":\"ALERT_SMTP_HOST\",\"type\":\"host\",\"description\":\"SMTP server\"},"
    "{\"name\":\"ALERT_SMTP_PORT\",\"type\":\"port\",\"default\":\"587\","
    " \"description\":\"SMTP port\"},"
    "{\"name\":\"ALERT_SMTP_USER\",\"type\":\"string\",\"description\":\"SMTP user\"},"
    "{\"name\":\"ALERT_SMTP_PASSWORD\",\"type\":\"string\",\"sensitive\":true,"
    " \"file\":true,\"description\":\"SMTP password\"},"
    "{\"name\":\"ALERT_SMTP_TLS\",\"type\":\"enum\",\"values\":[\"required\",\"off\"],"
    " \"default\":\"required\",\"description\":\"STARTTLS (off only when set so)\"},"
    "{\"name\":\"ALERT_DEDUP_WINDOW\",\"type\":\"duration\",\"default\":\"1h\","
    " \"description\":\"an alert with the same key is sent once per window\"},"
    "{\"name\":\"DQ_MAX_ISSUES\",\"type\":\"int\",\"min\":1,\"max\":1000000,"
    " \"default\":\"1000\",\"description\":\"issue records kept per quality report\"}"
    "],\"rules\":["
    "{\"less_equal\":[\"DB_POOL_MIN\",\"DB_POOL_MAX\"]},"
    "{\"less_equal\":[\"API_WORKERS\",\"DB_POOL_MAX\"]},"
    "{\"if\":{\"name\":\"ALERT_EMAIL_ENABLED\",\"is\":\"true\"},"
    " \"require\":[\"ALERT_EMAIL_TO\",\"ALERT_SMTP_HOST\"]},"
    "{\"all_or_none\":[\"ALERT_SMTP_USER\",\"ALERT_SMTP_PASSWORD\"]}"
    "]}";

static int write_file(const char *data, size_t len, void *userdata)
{
    return fwrite(data, 1, len, userdata) == len ? 0 : -1;
}

static int build_schema(envcheck_schema **out)
{
    static const char *const parts[] = { schema_core, schema_service, schema_admin, schema_alerts };
    char json[sizeof schema_core + sizeof schema_service + sizeof schema_admin +
              sizeof schema_alerts];
    size_t len = 0;
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        size_t n = strlen(parts[i]);
        memcpy(json + len, parts[i], n);
        len += n;
    }
    if (envcheck_schema_new(out) != ENVCHECK_OK)
        return -1;
    if (envcheck_schema_load_json(*out, json, len) != ENVCHECK_OK) {
        fprintf(stderr, "ingestor: %s\n", envcheck_schema_errmsg(*out));
        envcheck_schema_free(*out);
        *out = NULL;
        return -1;
    }
    return 0;
}

static int64_t get_int(const envcheck_result *r, const char *name)
{
    int64_t v = 0;
    if (envcheck_get_int(r, name, &v) != ENVCHECK_OK)
        return 0;
    return v;
}

static int64_t get_duration_ms(const envcheck_result *r, const char *name)
{
    int64_t ns = 0;
    if (envcheck_get_duration(r, name, &ns) != ENVCHECK_OK)
        return 0;
    return ns / 1000000;
}

static const char *get_str(const envcheck_result *r, const char *name)
{
    const char *v = NULL;
    if (envcheck_get_string(r, name, &v) != ENVCHECK_OK)
        return NULL;
    return v;
}

/* ADMIN_ADDR: a dotted-quad IPv4 address of one interface. 0, 0.0.0.0 and
 * their other spellings would bind every interface: refused. */
static bool admin_addr_ok(const char *addr, FILE *err)
{
    struct in_addr a;
    if (addr && inet_aton(addr, &a) == 1 && a.s_addr == htonl(INADDR_ANY)) {
        fprintf(err,
                "ingestor: invalid configuration\n"
                "  ADMIN_ADDR  \"%s\" is the wildcard address: it binds every interface; give "
                "the address of one interface (127.0.0.1: this host only)\n",
                addr);
        return false;
    }
    if (!addr || inet_pton(AF_INET, addr, &a) != 1) {
        fprintf(err,
                "ingestor: invalid configuration\n"
                "  ADMIN_ADDR  \"%s\" is not an IPv4 address (four decimal numbers: "
                "127.0.0.1)\n",
                addr ? addr : "");
        return false;
    }
    return true;
}

int config_load(ingest_config *cfg, FILE *err)
{
    memset(cfg, 0, sizeof *cfg);
    if (build_schema(&cfg->schema) != 0) {
        fprintf(err, "ingestor: internal error: the configuration schema does not load\n");
        return 70; /* EX_SOFTWARE */
    }
    if (envcheck_validate(&cfg->result, cfg->schema, NULL) != ENVCHECK_OK) {
        fprintf(err, "ingestor: out of memory\n");
        return 71;
    }
    if (!envcheck_result_valid(cfg->result)) {
        fprintf(err, "ingestor: invalid configuration\n");
        if (envcheck_result_write_report(cfg->result, ENVCHECK_FORMAT_TEXT, write_file, err) !=
            ENVCHECK_OK)
            fprintf(err, "(the report could not be written)\n");
        fputc('\n', err);
        return 78;
    }
    const envcheck_result *r = cfg->result;
    cfg->database_url = get_str(r, "DATABASE_URL");
    cfg->api_key = get_str(r, "POLYGON_API_KEY");
    cfg->base_url = get_str(r, "POLYGON_BASE_URL");
    cfg->rate_limit_per_min = (int)get_int(r, "POLYGON_RATE_LIMIT_PER_MIN");
    cfg->page_limit = (int)get_int(r, "POLYGON_PAGE_LIMIT");
    int64_t ns = 0;
    if (envcheck_get_duration(r, "POLYGON_TIMEOUT", &ns) == ENVCHECK_OK)
        cfg->http_timeout_ms = ns / 1000000;
    if (envcheck_get_duration(r, "POLYGON_MAX_RETRY_DELAY", &ns) == ENVCHECK_OK)
        cfg->max_retry_delay_ms = ns / 1000000;
    cfg->max_attempts = (int)get_int(r, "POLYGON_MAX_ATTEMPTS");
    cfg->max_body_bytes = get_int(r, "POLYGON_MAX_BODY_BYTES");
    if (cfg->max_body_bytes == 0)
        cfg->max_body_bytes = (int64_t)cfg->page_limit * 512 + (1 << 20);
    size_t idx = 1;
    if (envcheck_get_enum(r, "LOG_LEVEL", &idx) == ENVCHECK_OK)
        cfg->log_level = (log_level)idx;
    if (envcheck_get_enum(r, "LOG_FORMAT", &idx) == ENVCHECK_OK)
        cfg->log_json = idx == 1;
    cfg->pool_min = (int)get_int(r, "DB_POOL_MIN");
    cfg->pool_max = (int)get_int(r, "DB_POOL_MAX");
    cfg->workers = (int)get_int(r, "API_WORKERS");
    cfg->schedule_hour = (int)get_int(r, "BACKFILL_SCHEDULE_HOUR");
    cfg->schedule_minute = (int)get_int(r, "BACKFILL_SCHEDULE_MINUTE");
    cfg->schedule_tz = get_str(r, "BACKFILL_SCHEDULE_TZ");
    size_t nsym = 0;
    if (envcheck_get_list_count(r, "BACKFILL_SYMBOLS", &nsym) == ENVCHECK_OK) {
        for (size_t i = 0; i < nsym && i < CONFIG_MAX_SYMBOLS; i++)
            if (envcheck_get_list_string(r, "BACKFILL_SYMBOLS", i, &cfg->symbols[i]) == ENVCHECK_OK)
                cfg->nsymbols++;
    }
    for (int i = 0; i < cfg->nsymbols; i++)
        if (!symbol_valid(cfg->symbols[i], strlen(cfg->symbols[i]))) {
            char shown[64];
            text_escape(shown, sizeof shown, cfg->symbols[i], strlen(cfg->symbols[i]));
            fprintf(err,
                    "ingestor: invalid configuration\n"
                    "  BACKFILL_SYMBOLS  \"%s\" is not %s\n",
                    shown, SYMBOL_RULE);
            return 78;
        }
    cfg->lookback_days = (int)get_int(r, "BACKFILL_LOOKBACK_DAYS");
    cfg->job_max_attempts = (int)get_int(r, "JOB_MAX_ATTEMPTS");
    cfg->job_retry_delay_s = (int)(get_duration_ms(r, "JOB_RETRY_DELAY") / 1000);
    cfg->job_lease_s = (int)(get_duration_ms(r, "JOB_LEASE") / 1000);
    cfg->rate_window_ms = get_duration_ms(r, "POLYGON_RATE_WINDOW");
    cfg->admin_addr = get_str(r, "ADMIN_ADDR");
    cfg->admin_port = (int)get_int(r, "ADMIN_PORT");
    cfg->admin_token = get_str(r, "ADMIN_TOKEN");
    cfg->admin_client_connections = (int)get_int(r, "ADMIN_CLIENT_CONNECTIONS");
    cfg->admin_header_timeout_ms = get_duration_ms(r, "ADMIN_HEADER_TIMEOUT");
    cfg->shutdown_timeout_ms = get_duration_ms(r, "SHUTDOWN_TIMEOUT");
    cfg->clock_offset_s = get_int(r, "INGESTOR_CLOCK_OFFSET");
    if (envcheck_get_float(r, "DQ_ALERT_SCORE", &cfg->dq_alert_score) != ENVCHECK_OK)
        cfg->dq_alert_score = 0.9;
    cfg->alert_webhook_url = get_str(r, "ALERT_WEBHOOK_URL");
    if (envcheck_get_enum(r, "ALERT_WEBHOOK_FORMAT", &idx) == ENVCHECK_OK) {
        cfg->alert_webhook_slack = idx == 1;
        cfg->alert_webhook_alertmanager = idx == 2;
    }
    int on = 0;
    cfg->alert_email_enabled =
        envcheck_get_bool(r, "ALERT_EMAIL_ENABLED", &on) == ENVCHECK_OK && on;
    size_t nto = 0;
    if (envcheck_get_list_count(r, "ALERT_EMAIL_TO", &nto) == ENVCHECK_OK) {
        size_t used = 0;
        for (size_t i = 0; i < nto; i++) {
            const char *to = NULL;
            if (envcheck_get_list_string(r, "ALERT_EMAIL_TO", i, &to) != ENVCHECK_OK)
                continue;
            int n = snprintf(cfg->alert_email_to + used, sizeof cfg->alert_email_to - used, "%s%s",
                             used ? "," : "", to);
            if (n < 0 || (size_t)n >= sizeof cfg->alert_email_to - used)
                break;
            used += (size_t)n;
        }
    }
    cfg->alert_email_from = get_str(r, "ALERT_EMAIL_FROM");
    cfg->alert_smtp_host = get_str(r, "ALERT_SMTP_HOST");
    cfg->alert_smtp_port = (int)get_int(r, "ALERT_SMTP_PORT");
    cfg->alert_smtp_user = get_str(r, "ALERT_SMTP_USER");
    cfg->alert_smtp_password = get_str(r, "ALERT_SMTP_PASSWORD");
    if (envcheck_get_enum(r, "ALERT_SMTP_TLS", &idx) == ENVCHECK_OK)
        cfg->alert_smtp_tls_off = idx == 1;
    cfg->alert_dedup_window_ms = get_duration_ms(r, "ALERT_DEDUP_WINDOW");
    cfg->dq_calendar = get_str(r, "DQ_CALENDAR");
    if (envcheck_get_float(r, "DQ_OPEN_GAP", &cfg->dq_open_gap) != ENVCHECK_OK)
        cfg->dq_open_gap = 0.2;
    if (envcheck_get_float(r, "DQ_RANGE", &cfg->dq_range) != ENVCHECK_OK)
        cfg->dq_range = 0.3;
    cfg->dq_max_issues = (int)get_int(r, "DQ_MAX_ISSUES");
    if (cfg->http_timeout_ms <= 0)
        cfg->http_timeout_ms = 30000;
    if (!admin_addr_ok(cfg->admin_addr, err))
        return 78;
    return 0;
}

int config_dump(const ingest_config *cfg, FILE *out)
{
    return envcheck_result_write_dump(cfg->result, ENVCHECK_FORMAT_TEXT, write_file, out) ==
                   ENVCHECK_OK
               ? 0
               : -1;
}

int config_usage(FILE *out)
{
    envcheck_schema *s;
    if (build_schema(&s) != 0)
        return -1;
    int rc = envcheck_schema_write_usage(s, ENVCHECK_FORMAT_TEXT, write_file, out);
    envcheck_schema_free(s);
    return rc == ENVCHECK_OK ? 0 : -1;
}

void config_free(ingest_config *cfg)
{
    envcheck_result_free(cfg->result);
    envcheck_schema_free(cfg->schema);
    memset(cfg, 0, sizeof *cfg);
}
