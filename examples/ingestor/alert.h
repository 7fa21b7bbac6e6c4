/*
 * Alerts: a webhook (generic JSON, Slack-compatible or Alertmanager's API)
 * and email over SMTP (libcurl, STARTTLS required unless switched off
 * explicitly), delivered by one background thread with retries (libretry),
 * so that raising an alert never waits on the network. Repeated alerts with
 * the same key are suppressed for a window; a "resolved" always goes through
 * and resets the key's window. Every registered secret is replaced by
 * ******** in every alert and log message before it leaves the module; the
 * webhook URL (which may carry a token) is never logged beyond scheme://host.
 *
 * Thread safety: alert_raise(), alerter_counts() and alerter_pending() may be
 * called from any number of threads at once (one mutex, never held across
 * network I/O); alerter_new() and alerter_free() must not race with other
 * calls on the handle. The log callback runs in the caller's thread
 * (alert_raise) and in the delivery thread, never under the module's lock;
 * the clock runs under the lock and must neither block nor call back.
 * curl_global_init() must precede alerter_new(). The module never writes to
 * standard output or standard error.
 */
#ifndef INGESTOR_ALERT_H
#define INGESTOR_ALERT_H

#include <stddef.h>
#include <stdint.h>

typedef struct alerter alerter;

typedef enum alert_severity {
    ALERT_CRITICAL = 0,
    ALERT_WARNING = 1,
    ALERT_RESOLVED = 2
} alert_severity;

/* Return codes: 0 and positive values are not failures. */
enum {
    ALERT_OK = 0,         /* queued for delivery */
    ALERT_SUPPRESSED = 1, /* a duplicate within the window: counted, not sent */
    ALERT_EINVAL = -1,    /* a bad argument or option */
    ALERT_ENOMEM = -2,    /* allocation failed */
    ALERT_EFULL = -3,     /* the queue was full: dropped and counted */
    ALERT_ETHREAD = -4    /* the delivery thread could not be started */
};

/* Log levels passed to the log callback; the same values as log_level in
 * log.h (LOG_LEVEL_DEBUG .. LOG_LEVEL_ERROR). */
enum { ALERT_LOG_DEBUG = 0, ALERT_LOG_INFO = 1, ALERT_LOG_WARNING = 2, ALERT_LOG_ERROR = 3 };

/* Longest key accepted by alert_raise(), in bytes. */
#define ALERT_KEY_MAX 127

/* Options. Zero (ALERT_OPTIONS_INIT) means the default for every numeric
 * field. Strings are borrowed for the call to alerter_new() only: it copies
 * what it keeps. */
typedef struct alert_options {
    /* Webhook: NULL or "" for none. http:// or https:// only. */
    const char *webhook_url;
    int webhook_slack; /* 1: {"text": ...} for a Slack incoming webhook; 0: generic JSON */

    /* Email: only when email_enabled is non-zero; then email_to, email_from
     * and smtp_host are required. */
    int email_enabled;
    const char *email_to;   /* comma-separated addresses */
    const char *email_from; /* "address" or "Display Name <address>" */
    const char *smtp_host;
    int smtp_port;             /* default 587, or 25 when smtp_tls_off; 465 means SMTPS */
    const char *smtp_user;     /* NULL or "": no authentication */
    const char *smtp_password; /* a secret: scrubbed like the ones in secrets */
    int smtp_tls_off;          /* 1: plain SMTP. Otherwise STARTTLS (or SMTPS on 465) is
                                  required and delivery fails rather than go out in clear */

    int64_t dedup_window_ms;  /* same key within this is suppressed; default 15 min; < 0: off */
    long timeout_ms;          /* per attempt (connect and transfer); default 10 s */
    int max_attempts;         /* per channel and alert, first call included; default 4 */
    int64_t retry_base_ms;    /* first backoff delay (exponential, full jitter); default 500 ms */
    int64_t retry_cap_ms;     /* cap on each delay, Retry-After included; default 30 s */
    int queue_capacity;       /* alerts waiting for delivery; default 64 */
    int64_t drain_timeout_ms; /* alerter_free() delivers what is queued for at most this long,
                                 then aborts and drops the rest; default 5 s */

    /* NULL-terminated list of strings that must never appear in an alert or
     * a log message (copied; empty strings are ignored). smtp_password and
     * webhook_url are added to it automatically. May be NULL. */
    const char *const *secrets;

    /* Clock for deduplication, in milliseconds; default CLOCK_MONOTONIC. */
    int64_t (*clock_ms)(void *ud);
    void *clock_ud;

    /* Diagnostics (never containing secrets); optional. level is ALERT_LOG_*. */
    void (*log)(int level, const char *msg, void *ud);
    void *log_ud;

    /* Alertmanager (API v2): when non-zero, webhook_url is an Alertmanager's
     * base URL (http://host:9093) or full POST /api/v2/alerts URL and
     * webhook_slack is ignored. Labels: alertname (the key's part before ':',
     * "job-dead:42" -> IngestorJobDead), key, severity, symbol (when given to
     * alert_raise_symbol), instance, job; annotations summary (the title) and
     * description (the body); startsAt, generatorURL. A firing alert is re-sent
     * every am_resend_ms with endsAt four intervals ahead (as Prometheus does)
     * until a resolved alert for its key posts endsAt = now, so that
     * Alertmanager resolves it within four intervals of the process stopping.
     * Re-sends are not counted in the delivery counters. */
    int webhook_alertmanager;
    const char *am_instance;      /* label instance; default: the host name */
    const char *am_job;           /* label job; default "ingestor" */
    const char *am_generator_url; /* NULL: none */
    int64_t am_resend_ms;         /* default 60 s */
} alert_options;

#define ALERT_OPTIONS_INIT                                                                         \
    {                                                                                              \
        0                                                                                          \
    }

/* Static text for a return code; never NULL. */
const char *alert_strerror(int rc);

/* Static name of a severity: "critical", "warning", "resolved". */
const char *alert_severity_name(alert_severity sev);

/* Create an alerter and start its delivery thread. *out is owned by the
 * caller; free with alerter_free(). With neither channel configured the
 * alerter accepts alerts and discards them. Returns ALERT_OK, ALERT_EINVAL
 * (*out NULL; the reason is logged), ALERT_ENOMEM or ALERT_ETHREAD. */
__attribute__((warn_unused_result, nonnull(1, 2))) int alerter_new(alerter **out,
                                                                   const alert_options *o);

/* Stop: deliver what is queued for at most drain_timeout_ms, then abort the
 * delivery in progress (within about a second), drop the rest, join the
 * thread and wipe the copies of the secrets. NULL is a harmless no-op. */
void alerter_free(alerter *a);

/* Raise an alert. Never blocks on the network: the key, title and body are
 * scrubbed of secrets and copied into the queue. key identifies the
 * condition ("job-dead:42", "breaker:polygon", ...; at most ALERT_KEY_MAX
 * bytes); title is one line; body may be NULL. Returns ALERT_OK (queued),
 * ALERT_SUPPRESSED (the same key was raised within the window),
 * ALERT_EFULL (queue full: dropped), ALERT_EINVAL or ALERT_ENOMEM.
 * A resolved alert is never suppressed and clears the key's window. */
__attribute__((nonnull(1, 2, 4))) int alert_raise(alerter *a, const char *key, alert_severity sev,
                                                  const char *title, const char *body);

/* alert_raise() for an alert about one symbol: symbol (NULL or "" for none)
 * becomes the Alertmanager label symbol. */
__attribute__((nonnull(1, 2, 5))) int alert_raise_symbol(alerter *a, const char *key,
                                                         alert_severity sev, const char *symbol,
                                                         const char *title, const char *body);

/* Counters since creation; any pointer may be NULL. sent and failed count
 * channel deliveries (an alert sent to the webhook and by email counts two),
 * suppressed and dropped count alerts. */
void alerter_counts(alerter *a, uint64_t *sent, uint64_t *failed, uint64_t *suppressed,
                    uint64_t *dropped);

/* Delivery channels, for alerter_channel_counts(). Alertmanager is the webhook. */
typedef enum alert_channel { ALERT_CHANNEL_WEBHOOK = 0, ALERT_CHANNEL_EMAIL = 1 } alert_channel;

/* Deliveries of one channel since creation (their sums are alerter_counts()'s
 * sent and failed); any pointer may be NULL. */
void alerter_channel_counts(alerter *a, alert_channel ch, uint64_t *sent, uint64_t *failed);

/* Alerts queued or being delivered now. */
size_t alerter_pending(alerter *a);

#endif
