/*
 * The ingestor's configuration: the environment, validated at start-up by
 * libenvcheck. One table in config.c says every setting once (name, type,
 * default, bounds, the field it fills); it builds the schema and fills the
 * struct below. Every problem is reported at once, secrets masked; an
 * invalid configuration exits with EX_CONFIG (78).
 *
 * The struct is one part per concern, so that each module takes only its
 * part. Strings are borrowed from the validation result: valid until
 * config_free().
 */
#ifndef INGESTOR_CONFIG_H
#define INGESTOR_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "log.h"

struct envcheck_schema;
struct envcheck_result;

#define CONFIG_MAX_SYMBOLS 1000
#define CONFIG_MAX_WORKERS 64 /* API_WORKERS: most worker threads of one process */
#define CONFIG_TEXT_MAX    1024

/* A list setting: its elements, borrowed. */
typedef struct config_list {
    const char *item[CONFIG_MAX_SYMBOLS];
    int n;
} config_list;

typedef struct config_polygon {
    const char *api_key; /* POLYGON_API_KEY, sensitive; NULL when unset */
    const char *base_url;
    int rate_limit_per_min; /* 0: unlimited */
    int64_t rate_window_ms;
    int page_limit;
    int64_t timeout_ms;
    int max_attempts;
    int64_t max_retry_delay_ms;
    int64_t max_body_bytes; /* largest response body, decoded (derived when 0) */
} config_polygon;

typedef struct config_db {
    const char *url; /* DATABASE_URL, sensitive */
    int pool_min, pool_max;
} config_db;

typedef struct config_service {
    int api_workers; /* jobs run at once, each by its own thread; <= CONFIG_MAX_WORKERS */
    int schedule_hour, schedule_minute;
    const char *schedule_tz;
    config_list symbols; /* BACKFILL_SYMBOLS */
    int lookback_days;
    int job_max_attempts, job_retry_delay_s, job_lease_s;
    int64_t shutdown_timeout_ms;
    int64_t clock_offset_s;
} config_service;

typedef struct config_admin {
    const char *addr;
    int port;
    const char *token; /* sensitive; NULL when unset */
    int client_connections;
    int64_t header_timeout_ms;
} config_admin;

typedef enum config_webhook_format {
    CONFIG_WEBHOOK_GENERIC = 0,
    CONFIG_WEBHOOK_SLACK = 1,
    CONFIG_WEBHOOK_ALERTMANAGER = 2
} config_webhook_format;

typedef enum config_smtp_tls {
    CONFIG_SMTP_TLS_REQUIRED = 0,
    CONFIG_SMTP_TLS_OFF = 1
} config_smtp_tls;

typedef struct config_alerts {
    const char *webhook_url; /* sensitive; NULL when unset */
    config_webhook_format webhook_format;
    bool email_enabled;
    char email_to[CONFIG_TEXT_MAX]; /* comma-separated; empty: none */
    const char *email_from;
    const char *smtp_host;
    int smtp_port;
    const char *smtp_user;
    const char *smtp_password; /* sensitive */
    config_smtp_tls smtp_tls;
    int64_t dedup_window_ms;
} config_alerts;

typedef struct config_quality {
    const char *calendar; /* nyse, weekdays, 24x7 */
    double open_gap, range;
    int max_issues;
    double alert_score; /* alert when a job's score is below */
} config_quality;

typedef enum config_log_format { CONFIG_LOG_TEXT = 0, CONFIG_LOG_JSON = 1 } config_log_format;

typedef struct config_log {
    log_level level;
    config_log_format format;
} config_log;

typedef struct ingest_config {
    struct envcheck_schema *schema;
    struct envcheck_result *result; /* owns every string of the parts */

    config_polygon polygon;
    config_db db;
    config_service service;
    config_admin admin;
    config_alerts alerts;
    config_quality quality;
    config_log log;
} ingest_config;

/*
 * Validate the process environment and fill cfg. Returns 0 when valid;
 * otherwise writes the report (every finding, secrets masked) to err and
 * returns EX_CONFIG (EX_SOFTWARE, EX_OSERR on internal failures). Free cfg
 * with config_free() in every case.
 */
int config_load(ingest_config *cfg, FILE *err);

/* Print the effective configuration, secrets masked (check-config). */
int config_dump(const ingest_config *cfg, FILE *out);

/* Print the variables the ingestor reads (NAME TYPE DEFAULT ...). */
int config_usage(FILE *out);

void config_free(ingest_config *cfg);

#endif
