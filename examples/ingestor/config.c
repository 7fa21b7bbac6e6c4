#include <arpa/inet.h>
#include <assert.h>
#include <netinet/in.h>
#include <stddef.h>
#include <string.h>
#include <sysexits.h>

#include <envcheck/envcheck.h>

#include "config.h"
#include "symbol.h"
#include "textsafe.h"

/* How a setting is checked (its envcheck type) and stored (the C type of
 * its field). Durations are stored in milliseconds or in seconds. */
typedef enum kind {
    K_STRING,  /* const char * */
    K_URL,     /* const char * */
    K_KEY,     /* const char *, api_key: always sensitive */
    K_HOST,    /* const char * */
    K_PORT,    /* int */
    K_INT,     /* int */
    K_INT64,   /* int64_t */
    K_FLOAT,   /* double */
    K_BOOL,    /* bool */
    K_ENUM,    /* an enum of the config types: the index of the value */
    K_CHOICE,  /* enum, const char *: the value's canonical spelling */
    K_MS,      /* duration, int64_t milliseconds */
    K_SECONDS, /* duration, int seconds */
    K_LIST,    /* config_list */
    K_CSV,     /* list, char[CONFIG_TEXT_MAX] joined with ',' */
} kind;

static const envcheck_type type_of[] = {
    [K_STRING] = ENVCHECK_TYPE_STRING,    [K_URL] = ENVCHECK_TYPE_URL,
    [K_KEY] = ENVCHECK_TYPE_API_KEY,      [K_HOST] = ENVCHECK_TYPE_HOST,
    [K_PORT] = ENVCHECK_TYPE_PORT,        [K_INT] = ENVCHECK_TYPE_INT,
    [K_INT64] = ENVCHECK_TYPE_INT,        [K_FLOAT] = ENVCHECK_TYPE_FLOAT,
    [K_BOOL] = ENVCHECK_TYPE_BOOL,        [K_ENUM] = ENVCHECK_TYPE_ENUM,
    [K_CHOICE] = ENVCHECK_TYPE_ENUM,      [K_MS] = ENVCHECK_TYPE_DURATION,
    [K_SECONDS] = ENVCHECK_TYPE_DURATION, [K_LIST] = ENVCHECK_TYPE_LIST,
    [K_CSV] = ENVCHECK_TYPE_LIST,
};

/* One setting. Bounds are in the unit of the field (milliseconds for K_MS,
 * seconds for K_SECONDS). NULL-terminated arrays for values and schemes. */
typedef struct setting {
    const char *name;
    kind kind;
    const char *def; /* NULL: none */
    double min, max;
    bool has_min, has_max;
    size_t field; /* offsetof(ingest_config, ...) */
    const char *help;
    const char *example;
    bool required, sensitive, file, nocase;
    const char *charset;
    size_t min_length;
    const char *const *values;  /* enum */
    const char *const *schemes; /* url */
    envcheck_type element;      /* list */
} setting;

#define AT_LEAST(lo)  .min = (lo), .has_min = true
#define AT_MOST(hi)   .max = (hi), .has_max = true
#define RANGE(lo, hi) AT_LEAST(lo), AT_MOST(hi)
#define FIELD(f)      .field = offsetof(ingest_config, f)
#define LIST(...)                                                                                  \
    (const char *const[])                                                                          \
    {                                                                                              \
        __VA_ARGS__, NULL                                                                          \
    }
#define HTTP_SCHEMES .schemes = LIST("https", "http")
#define SECOND       1000.0
#define MINUTE       (60 * SECOND)

/* Every setting of the ingestor: the schema, the defaults and the fields. */
static const setting settings[] = {
    /* the database */
    { "DATABASE_URL", K_URL, NULL, FIELD(db.url), .required = true, .sensitive = true, .file = true,
      .schemes = LIST("postgresql", "postgres"), .help = "PostgreSQL connection URL",
      .example = "postgresql://ingest@db.internal:5432/market" },
    { "DB_POOL_MIN", K_INT, "1", RANGE(0, 1000), FIELD(db.pool_min),
      .help = "database connections kept open" },
    { "DB_POOL_MAX", K_INT, "4", RANGE(1, 1000), FIELD(db.pool_max),
      .help = "most database connections (at least API_WORKERS + 1)" },
    /* the Polygon API */
    { "POLYGON_API_KEY", K_KEY, NULL, FIELD(polygon.api_key), .file = true,
      .help = "Polygon API key (required for --source polygon)" },
    { "POLYGON_BASE_URL", K_URL, "https://api.polygon.io", FIELD(polygon.base_url), HTTP_SCHEMES,
      .help = "Polygon API base URL" },
    { "POLYGON_RATE_LIMIT_PER_MIN", K_INT, "5", RANGE(0, 100000), FIELD(polygon.rate_limit_per_min),
      .help = "requests per minute (5: the free tier; 0: unlimited)" },
    { "POLYGON_PAGE_LIMIT", K_INT, "50000", RANGE(1, 50000), FIELD(polygon.page_limit),
      .help = "bars per page" },
    { "POLYGON_TIMEOUT", K_MS, "30s", FIELD(polygon.timeout_ms),
      .help = "time limit of one HTTP request" },
    { "POLYGON_MAX_ATTEMPTS", K_INT, "8", RANGE(1, 100), FIELD(polygon.max_attempts),
      .help = "attempts per page before the job fails" },
    { "POLYGON_MAX_RETRY_DELAY", K_MS, "2min", FIELD(polygon.max_retry_delay_ms),
      .help = "longest wait between attempts, Retry-After included" },
    { "POLYGON_RATE_WINDOW", K_MS, "1min", AT_LEAST(SECOND), FIELD(polygon.rate_window_ms),
      .help = "the window of POLYGON_RATE_LIMIT_PER_MIN (the service shares it between all its "
              "processes)" },
    { "POLYGON_MAX_BODY_BYTES", K_INT64, "0", RANGE(0, 2000000000), FIELD(polygon.max_body_bytes),
      .help = "largest response body, decoded (0: 512 per bar of POLYGON_PAGE_LIMIT + 1 MiB)" },
    /* the log */
    { "LOG_LEVEL", K_ENUM, "INFO", FIELD(log.level), .nocase = true,
      .values = LIST("DEBUG", "INFO", "WARNING", "ERROR"), .help = "least severe level logged" },
    { "LOG_FORMAT", K_ENUM, "text", FIELD(log.format), .nocase = true,
      .values = LIST("text", "json"), .help = "log line format" },
    /* data quality */
    { "DQ_CALENDAR", K_CHOICE, "nyse", FIELD(quality.calendar), .nocase = true,
      .values = LIST("nyse", "weekdays", "24x7"),
      .help = "session calendar of the data-quality checks" },
    { "DQ_OPEN_GAP", K_FLOAT, "0.2", RANGE(0, 100), FIELD(quality.open_gap),
      .help = "warn when |open / previous close - 1| exceeds this" },
    { "DQ_RANGE", K_FLOAT, "0.3", RANGE(0, 1000), FIELD(quality.range),
      .help = "warn when (high - low) / low exceeds this" },
    { "DQ_ALERT_SCORE", K_FLOAT, "0.9", RANGE(0, 1), FIELD(quality.alert_score),
      .help = "alert when a job's quality score is below" },
    { "DQ_MAX_ISSUES", K_INT, "1000", RANGE(1, 1000000), FIELD(quality.max_issues),
      .help = "issue records kept per quality report" },
    /* the service (ingestor run) */
    { "API_WORKERS", K_INT, "2", RANGE(1, CONFIG_MAX_WORKERS), FIELD(service.api_workers),
      .help = "symbols backfilled at once (each holds one connection at a time)" },
    { "BACKFILL_SCHEDULE_HOUR", K_INT, "22", RANGE(0, 23), FIELD(service.schedule_hour),
      .help = "hour of the daily run" },
    { "BACKFILL_SCHEDULE_MINUTE", K_INT, "30", RANGE(0, 59), FIELD(service.schedule_minute),
      .help = "minute of the daily run" },
    { "BACKFILL_SCHEDULE_TZ", K_STRING, "UTC", FIELD(service.schedule_tz),
      .charset = "A-Za-z0-9_/+-", .help = "time zone of the schedule (IANA name)" },
    { "BACKFILL_SYMBOLS", K_LIST, NULL, FIELD(service.symbols), .element = ENVCHECK_TYPE_STRING,
      .charset = "A-Za-z0-9.:-",
      .help = "the universe of the daily run (default: the active rows of the symbols table)",
      .example = "AAPL,MSFT" },
    { "BACKFILL_LOOKBACK_DAYS", K_INT, "5", RANGE(1, 3660), FIELD(service.lookback_days),
      .help = "days each daily run covers at least" },
    { "JOB_MAX_ATTEMPTS", K_INT, "5", RANGE(1, 100), FIELD(service.job_max_attempts),
      .help = "attempts before a job is declared dead" },
    { "JOB_RETRY_DELAY", K_SECONDS, "1min", AT_LEAST(1), FIELD(service.job_retry_delay_s),
      .help = "wait before a failed job's second attempt (doubling, at most 1 h)" },
    { "JOB_LEASE", K_SECONDS, "2min", RANGE(2, 3600), FIELD(service.job_lease_s),
      .help = "how long a job stays with a worker that stopped renewing it" },
    { "SHUTDOWN_TIMEOUT", K_MS, "30s", FIELD(service.shutdown_timeout_ms),
      .help = "longest wait for running pages after SIGTERM" },
    { "INGESTOR_CLOCK_OFFSET", K_INT64, "0", FIELD(service.clock_offset_s),
      .help = "seconds added to the wall clock of the schedule (tests)" },
    /* the admin HTTP server */
    { "ADMIN_ADDR", K_STRING, "127.0.0.1", FIELD(admin.addr), .charset = "0-9.",
      .help = "IPv4 address of one interface for the admin HTTP server (not 0.0.0.0)" },
    { "ADMIN_PORT", K_INT, "8080", RANGE(0, 65535), FIELD(admin.port),
      .help = "its port (0: any free port)" },
    { "ADMIN_TOKEN", K_KEY, NULL, FIELD(admin.token), .file = true, .charset = "A-Za-z0-9._~+/=-",
      .min_length = 16, .help = "bearer token that /api/v1/* requires (default: none)" },
    { "ADMIN_CLIENT_CONNECTIONS", K_INT, "16", RANGE(1, 128), FIELD(admin.client_connections),
      .help = "connections one client address may hold" },
    { "ADMIN_HEADER_TIMEOUT", K_MS, "10s", RANGE(100, 5 * MINUTE), FIELD(admin.header_timeout_ms),
      .help = "a request must arrive within this, however slowly its bytes come" },
    /* alerts */
    { "ALERT_WEBHOOK_URL", K_URL, NULL, FIELD(alerts.webhook_url), HTTP_SCHEMES, .sensitive = true,
      .help = "alerts are POSTed here" },
    { "ALERT_WEBHOOK_FORMAT", K_ENUM, "generic", FIELD(alerts.webhook_format),
      .values = LIST("generic", "slack", "alertmanager"), .help = "JSON shape of the webhook" },
    { "ALERT_EMAIL_ENABLED", K_BOOL, "false", FIELD(alerts.email_enabled),
      .help = "send alerts by email" },
    { "ALERT_EMAIL_TO", K_CSV, NULL, FIELD(alerts.email_to), .element = ENVCHECK_TYPE_EMAIL,
      .help = "recipients" },
    { "ALERT_EMAIL_FROM", K_STRING, NULL, FIELD(alerts.email_from),
      .help = "sender: an address or 'Name <address>' (default: ingestor@ and the host's fully "
              "qualified name)" },
    { "ALERT_SMTP_HOST", K_HOST, NULL, FIELD(alerts.smtp_host), .help = "SMTP server" },
    { "ALERT_SMTP_PORT", K_PORT, "587", FIELD(alerts.smtp_port), .help = "SMTP port" },
    { "ALERT_SMTP_USER", K_STRING, NULL, FIELD(alerts.smtp_user), .help = "SMTP user" },
    { "ALERT_SMTP_PASSWORD", K_STRING, NULL, FIELD(alerts.smtp_password), .sensitive = true,
      .file = true, .help = "SMTP password" },
    { "ALERT_SMTP_TLS", K_ENUM, "required", FIELD(alerts.smtp_tls),
      .values = LIST("required", "off"), .help = "STARTTLS (off only when set so)" },
    { "ALERT_DEDUP_WINDOW", K_MS, "1h", FIELD(alerts.dedup_window_ms),
      .help = "an alert with the same key is sent once per window" },
};

static_assert(sizeof(config_webhook_format) == sizeof(int) && sizeof(log_level) == sizeof(int),
              "K_ENUM fields are stored as int");

static size_t count(const char *const *list)
{
    size_t n = 0;
    while (list && list[n])
        n++;
    return n;
}

static int64_t to_ns(kind k, double v)
{
    return (int64_t)(v * (k == K_MS ? 1e6 : 1e9));
}

/* DB_POOL_MAX is a maximum: every worker holds one connection at a time and
 * the service one more (housekeeper, rate limit, admin server). */
static int pool_rule(const envcheck_result *r, char *msg, size_t size, void *ud)
{
    (void)ud;
    int64_t workers, max;
    if (envcheck_get_int(r, "API_WORKERS", &workers) != ENVCHECK_OK ||
        envcheck_get_int(r, "DB_POOL_MAX", &max) != ENVCHECK_OK || max >= workers + 1)
        return 0;
    snprintf(msg, size,
             "is %lld: it must be at least API_WORKERS + 1 = %lld (each worker holds one "
             "connection at a time, the service one more)",
             (long long)max, (long long)workers + 1);
    return 1;
}

static int add_setting(envcheck_schema *s, const setting *t)
{
    envcheck_var_options o = ENVCHECK_VAR_OPTIONS_INIT;
    o.type = type_of[t->kind];
    o.element_type = t->element;
    o.required = t->required;
    o.default_value = t->def;
    o.sensitive = t->sensitive;
    o.allow_file = t->file;
    o.case_insensitive = t->nocase;
    o.description = t->help;
    o.example = t->example;
    o.charset = t->charset;
    o.min_length = t->min_length;
    o.values = t->values;
    o.n_values = count(t->values);
    o.schemes = t->schemes;
    o.n_schemes = count(t->schemes);
    o.has_min = t->has_min;
    o.has_max = t->has_max;
    if (t->kind == K_MS || t->kind == K_SECONDS) {
        o.min = to_ns(t->kind, t->min);
        o.max = to_ns(t->kind, t->max);
    } else {
        o.min = (int64_t)t->min;
        o.max = (int64_t)t->max;
        o.min_float = t->min;
        o.max_float = t->max;
    }
    return envcheck_schema_add(s, t->name, &o);
}

static int build_schema(envcheck_schema **out)
{
    if (envcheck_schema_new(out) != ENVCHECK_OK)
        return -1;
    envcheck_schema *s = *out;
    int rc = ENVCHECK_OK;
    for (size_t i = 0; rc == ENVCHECK_OK && i < sizeof settings / sizeof settings[0]; i++)
        rc = add_setting(s, &settings[i]);
    const char *pool[] = { "DB_POOL_MIN", "DB_POOL_MAX" };
    const char *smtp_auth[] = { "ALERT_SMTP_USER", "ALERT_SMTP_PASSWORD" };
    const char *email_needs[] = { "ALERT_EMAIL_TO", "ALERT_SMTP_HOST" };
    if (rc == ENVCHECK_OK)
        rc = envcheck_schema_less_than(s, pool[0], pool[1], 1);
    if (rc == ENVCHECK_OK)
        rc = envcheck_schema_custom_rule(s, "DB_POOL_MAX", pool_rule, NULL);
    if (rc == ENVCHECK_OK)
        rc = envcheck_schema_require_if(s, "ALERT_EMAIL_ENABLED", ENVCHECK_IF_TRUE, NULL,
                                        email_needs, 2);
    if (rc == ENVCHECK_OK)
        rc = envcheck_schema_group_rule(s, ENVCHECK_ALL_OR_NONE, smtp_auth, 2);
    if (rc != ENVCHECK_OK) {
        fprintf(stderr, "ingestor: %s\n", envcheck_schema_errmsg(s));
        envcheck_schema_free(s);
        *out = NULL;
        return -1;
    }
    return 0;
}

/* Copy the value of t into its field (unset, no default: the field stays 0). */
static void fill(ingest_config *cfg, const envcheck_result *r, const setting *t)
{
    void *f = (char *)cfg + t->field;
    int64_t i = 0;
    size_t n = 0, idx = 0;
    int on = 0;
    switch (t->kind) {
    case K_STRING:
    case K_URL:
    case K_KEY:
    case K_HOST:
    case K_CHOICE:
        (void)!envcheck_get_string(r, t->name, (const char **)f);
        break;
    case K_PORT:
    case K_INT:
        if (envcheck_get_int(r, t->name, &i) == ENVCHECK_OK)
            *(int *)f = (int)i;
        break;
    case K_INT64:
        (void)!envcheck_get_int(r, t->name, (int64_t *)f);
        break;
    case K_FLOAT:
        (void)!envcheck_get_float(r, t->name, (double *)f);
        break;
    case K_BOOL:
        *(bool *)f = envcheck_get_bool(r, t->name, &on) == ENVCHECK_OK && on;
        break;
    case K_ENUM:
        if (envcheck_get_enum(r, t->name, &idx) == ENVCHECK_OK)
            *(int *)f = (int)idx;
        break;
    case K_MS:
    case K_SECONDS:
        if (envcheck_get_duration(r, t->name, &i) != ENVCHECK_OK)
            break;
        if (t->kind == K_MS)
            *(int64_t *)f = i / 1000000;
        else
            *(int *)f = (int)(i / 1000000000);
        break;
    case K_LIST:
    case K_CSV:
        if (envcheck_get_list_count(r, t->name, &n) != ENVCHECK_OK)
            break;
        for (size_t k = 0, used = 0; k < n && k < CONFIG_MAX_SYMBOLS; k++) {
            const char *v = NULL;
            if (envcheck_get_list_string(r, t->name, k, &v) != ENVCHECK_OK)
                continue;
            if (t->kind == K_LIST) {
                config_list *l = f;
                l->item[l->n++] = v;
                continue;
            }
            int w = snprintf((char *)f + used, CONFIG_TEXT_MAX - used, "%s%s", used ? "," : "", v);
            if (w < 0 || (size_t)w >= CONFIG_TEXT_MAX - used)
                break;
            used += (size_t)w;
        }
        break;
    }
}

static int write_file(const char *data, size_t len, void *userdata)
{
    return fwrite(data, 1, len, userdata) == len ? 0 : -1;
}

static int invalid(FILE *err, const char *name, const char *value, const char *why)
{
    char shown[64];
    text_escape(shown, sizeof shown, value, strlen(value));
    fprintf(err, "ingestor: invalid configuration\n  %s  \"%s\" %s\n", name, shown, why);
    return EX_CONFIG;
}

/* Checks that the schema cannot say: symbols by the ticker rule, and
 * ADMIN_ADDR a dotted-quad IPv4 address of one interface (0, 0.0.0.0 and
 * their other spellings would bind every interface: refused). */
static int check_values(const ingest_config *cfg, FILE *err)
{
    const config_list *syms = &cfg->service.symbols;
    for (int i = 0; i < syms->n; i++)
        if (!symbol_valid(syms->item[i], strlen(syms->item[i])))
            return invalid(err, "BACKFILL_SYMBOLS", syms->item[i], "is not " SYMBOL_RULE);
    const char *addr = cfg->admin.addr ? cfg->admin.addr : "";
    struct in_addr a;
    if (inet_aton(addr, &a) == 1 && a.s_addr == htonl(INADDR_ANY))
        return invalid(err, "ADMIN_ADDR", addr,
                       "is the wildcard address: it binds every interface; give the address of "
                       "one interface (127.0.0.1: this host only)");
    if (inet_pton(AF_INET, addr, &a) != 1)
        return invalid(err, "ADMIN_ADDR", addr,
                       "is not an IPv4 address (four decimal numbers: 127.0.0.1)");
    return 0;
}

int config_load(ingest_config *cfg, FILE *err)
{
    memset(cfg, 0, sizeof *cfg);
    if (build_schema(&cfg->schema) != 0) {
        fprintf(err, "ingestor: internal error: the configuration schema does not load\n");
        return EX_SOFTWARE;
    }
    if (envcheck_validate(&cfg->result, cfg->schema, NULL) != ENVCHECK_OK) {
        fprintf(err, "ingestor: out of memory\n");
        return EX_OSERR;
    }
    if (!envcheck_result_valid(cfg->result)) {
        fprintf(err, "ingestor: invalid configuration\n");
        if (envcheck_result_write_report(cfg->result, ENVCHECK_FORMAT_TEXT, write_file, err) !=
            ENVCHECK_OK)
            fprintf(err, "(the report could not be written)\n");
        fputc('\n', err);
        return EX_CONFIG;
    }
    for (size_t i = 0; i < sizeof settings / sizeof settings[0]; i++)
        fill(cfg, cfg->result, &settings[i]);
    config_polygon *p = &cfg->polygon;
    if (p->max_body_bytes == 0)
        p->max_body_bytes = (int64_t)p->page_limit * 512 + (1 << 20);
    if (p->timeout_ms <= 0)
        p->timeout_ms = 30000;
    return check_values(cfg, err);
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
