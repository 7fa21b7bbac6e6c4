#include <stdlib.h>
#include <string.h>

#include "config.h"

/* The schema, in libenvcheck's JSON format (docs/envcheck.md). */
static const char schema_json[] =
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
    " \"description\":\"warn when (high - low) / low exceeds this\"},"
    "{\"name\":\"DQ_MAX_ISSUES\",\"type\":\"int\",\"min\":1,\"max\":1000000,"
    " \"default\":\"1000\",\"description\":\"issue records kept per quality report\"}"
    "],\"rules\":["
    "{\"less_equal\":[\"DB_POOL_MIN\",\"DB_POOL_MAX\"]},"
    "{\"less_equal\":[\"API_WORKERS\",\"DB_POOL_MAX\"]}"
    "]}";

static int write_file(const char *data, size_t len, void *userdata)
{
    return fwrite(data, 1, len, userdata) == len ? 0 : -1;
}

static int build_schema(envcheck_schema **out)
{
    if (envcheck_schema_new(out) != ENVCHECK_OK)
        return -1;
    if (envcheck_schema_load_json(*out, schema_json, sizeof schema_json - 1) != ENVCHECK_OK) {
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

static const char *get_str(const envcheck_result *r, const char *name)
{
    const char *v = NULL;
    if (envcheck_get_string(r, name, &v) != ENVCHECK_OK)
        return NULL;
    return v;
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
    size_t idx = 1;
    if (envcheck_get_enum(r, "LOG_LEVEL", &idx) == ENVCHECK_OK)
        cfg->log_level = (log_level)idx;
    if (envcheck_get_enum(r, "LOG_FORMAT", &idx) == ENVCHECK_OK)
        cfg->log_json = idx == 1;
    cfg->pool_min = (int)get_int(r, "DB_POOL_MIN");
    cfg->pool_max = (int)get_int(r, "DB_POOL_MAX");
    cfg->workers = (int)get_int(r, "API_WORKERS");
    cfg->dq_calendar = get_str(r, "DQ_CALENDAR");
    if (envcheck_get_float(r, "DQ_OPEN_GAP", &cfg->dq_open_gap) != ENVCHECK_OK)
        cfg->dq_open_gap = 0.2;
    if (envcheck_get_float(r, "DQ_RANGE", &cfg->dq_range) != ENVCHECK_OK)
        cfg->dq_range = 0.3;
    cfg->dq_max_issues = (int)get_int(r, "DQ_MAX_ISSUES");
    if (cfg->http_timeout_ms <= 0)
        cfg->http_timeout_ms = 30000;
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
