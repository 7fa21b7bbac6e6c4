/*
 * The ingestor's configuration: the environment, validated at start-up by
 * libenvcheck against the schema in config.c. Every problem is reported at
 * once, secrets masked; an invalid configuration exits with 78 (EX_CONFIG).
 */
#ifndef INGESTOR_CONFIG_H
#define INGESTOR_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <envcheck/envcheck.h>

#include "log.h"

#define CONFIG_MAX_SYMBOLS 1000

typedef struct ingest_config {
    envcheck_schema *schema;
    envcheck_result *result; /* owns every string below */

    const char *database_url; /* sensitive */
    const char *api_key;      /* sensitive; NULL when unset */
    const char *base_url;
    int rate_limit_per_min; /* 0: unlimited */
    int page_limit;
    int64_t http_timeout_ms;
    int max_attempts;
    int64_t max_retry_delay_ms;
    int64_t max_body_bytes; /* largest response body, decoded (derived when unset) */

    log_level log_level;
    bool log_json;

    int pool_min, pool_max;
    int workers; /* API_WORKERS: jobs run at once, each by its own thread */

    /* ingestor run */
    int schedule_hour, schedule_minute;
    const char *schedule_tz;
    const char *symbols[CONFIG_MAX_SYMBOLS]; /* BACKFILL_SYMBOLS */
    int nsymbols;
    int lookback_days;
    int job_max_attempts, job_retry_delay_s, job_lease_s;
    int64_t rate_window_ms;
    const char *admin_addr;
    int admin_port;
    const char *admin_token; /* sensitive; NULL when unset */
    int admin_client_connections;
    int64_t admin_header_timeout_ms;
    int64_t shutdown_timeout_ms;
    int64_t clock_offset_s;
    double dq_alert_score;
    const char *alert_webhook_url; /* sensitive */
    bool alert_webhook_slack;
    bool alert_webhook_alertmanager;
    bool alert_email_enabled;
    char alert_email_to[1024]; /* comma-separated; empty: none */
    const char *alert_email_from;
    const char *alert_smtp_host;
    int alert_smtp_port;
    const char *alert_smtp_user;
    const char *alert_smtp_password; /* sensitive */
    bool alert_smtp_tls_off;
    int64_t alert_dedup_window_ms;

    const char *dq_calendar; /* nyse, weekdays, 24x7 */
    double dq_open_gap, dq_range;
    int dq_max_issues;
} ingest_config;

/*
 * Validate the process environment. Returns 0 when valid; otherwise writes
 * the report (every finding, secrets masked) to err and returns 78.
 */
int config_load(ingest_config *cfg, FILE *err);

/* Print the effective configuration, secrets masked (check-config). */
int config_dump(const ingest_config *cfg, FILE *out);

/* Print the variables the ingestor reads (NAME TYPE DEFAULT ...). */
int config_usage(FILE *out);

void config_free(ingest_config *cfg);

#endif
