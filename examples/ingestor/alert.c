/*
 * The path of an alert: alert_raise() scrubs it, checks the suppression
 * window and queues it; delivery_main() takes it off the queue and deliver()
 * builds one payload per channel (webhook_payload, am_deliver, email_message)
 * and hands it to send_with_retry(), whose attempt() is one libcurl transfer.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <retry/retry.h>

#include "alert.h"
#include "alert_internal.h"
#include "hostname.h"
#include "http_header.h"
#include "strbuf.h"
#include "textsafe.h"
#include "timing.h"

#ifndef INGESTKIT_VERSION
#define INGESTKIT_VERSION "unknown"
#endif

#define MASK          "********"
#define TITLE_MAX     512
#define BODY_MAX      16384
#define DEDUP_SLOTS   256
#define AM_MAX_FIRING 256
#define LOG_MAX       1024
#define NS_PER_MS     1000000LL

typedef struct alert_item {
    struct alert_item *next;
    alert_severity sev;
    struct timespec when;        /* CLOCK_REALTIME at alert_raise() */
    struct timespec starts;      /* Alertmanager's startsAt: when it began firing */
    char key[ALERT_KEY_MAX + 1]; /* key, symbol, title and body: scrubbed of secrets */
    char symbol[32];             /* "" when none */
    char *title;
    char *body; /* "" when none */
} alert_item;

struct alerter {
    /* configuration (immutable after alerter_new) */
    char *webhook_url;        /* for Alertmanager with /api/v2/alerts */
    char webhook_origin[256]; /* scheme://host[:port], safe to log */
    int webhook_slack, webhook_am;
    int email_enabled, smtp_tls_off;
    struct curl_slist *rcpt;                           /* "<addr>" each */
    char mail_from[324], from_header[480], *to_header; /* "<addr>", "Name <addr>", "a, b" */
    char smtp_origin[300];                             /* the URL: smtp[s]://host:port */
    char *smtp_user, *smtp_password;
    int64_t window_ms, base_ms, cap_ms, drain_ms, am_resend_ms;
    long timeout_ms;
    uint32_t max_attempts;
    size_t capacity;
    char **secrets; /* while alerter_new() collects them for masker */
    size_t nsecrets;
    text_masker *masker;         /* NULL: no secret */
    int64_t (*clock_ms)(void *); /* NULL: mono_ms() */
    void *clock_ud;
    void (*log)(int, const char *, void *);
    void *log_ud;
    char host[256], msgid_host[256], from_domain[256];
    char *am_instance, *am_job, *am_generator;

    /* delivery thread only */
    alert_item *firing[AM_MAX_FIRING]; /* re-sent to Alertmanager until resolved */
    size_t nfiring;
    int64_t am_next_ns; /* CLOCK_MONOTONIC of the next re-send */
    uint64_t msgid_seq;

    /* shared, under lock */
    pthread_mutex_t lock;
    pthread_cond_t cv; /* an alert, stop, abort, done (CLOCK_MONOTONIC) */
    alert_item *head, *tail;
    size_t queued;
    int busy, stopping, done;
    atomic_int abort_flag;
    struct dedup_slot {
        char key[ALERT_KEY_MAX + 1];
        int64_t at_ms;
        int used;
    } slots[DEDUP_SLOTS];
    uint64_t suppressed, dropped;
    uint64_t ch_sent[2], ch_failed[2]; /* by alert_channel */
    pthread_t thread;
};

/* ------------------------------------------------------------ Small helpers */

const char *alert_strerror(int rc)
{
    static const char *const text[] = { "could not start the delivery thread",
                                        "alert queue full",
                                        "out of memory",
                                        "invalid argument",
                                        "queued",
                                        "suppressed as a duplicate" };
    return rc >= ALERT_ETHREAD && rc <= ALERT_SUPPRESSED ? text[rc - ALERT_ETHREAD]
                                                         : "unknown error";
}

static const char *const severity_names[] = { "critical", "warning", "resolved" };
static const char *const severity_caps[] = { "CRITICAL", "WARNING", "RESOLVED" };

const char *alert_severity_name(alert_severity sev)
{
    return (unsigned)sev < 3 ? severity_names[sev] : "unknown";
}

/* s with every secret masked (text_mask), cut to size - 1 bytes with "..." */
static void scrub_to(const alerter *a, char *out, size_t size, const char *s)
{
    if (text_mask(a->masker, out, size, s) > size - 1) {
        text_mask(a->masker, out, size - 3, s);
        strcat(out, "...");
    }
}

/* scrub_to() into a copy of at most max bytes; NULL when out of memory. */
static char *scrub_dup(const alerter *a, const char *s, size_t max)
{
    char *out = malloc(max + 1);
    if (out)
        scrub_to(a, out, max + 1, s);
    return out;
}

__attribute__((format(printf, 3, 4))) static void alog(const alerter *a, int level, const char *fmt,
                                                       ...)
{
    if (!a->log)
        return;
    char msg[LOG_MAX + 1], clean[LOG_MAX + 1];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    scrub_to(a, clean, sizeof clean, msg);
    a->log(level, clean, a->log_ud);
    memset(msg, 0, sizeof msg);
}

/* RFC 3339 in UTC with milliseconds, or (rfc5322) an e-mail Date. */
static void format_time(const struct timespec *ts, int rfc5322, char *out, size_t n)
{
    struct tm tm;
    gmtime_r(&ts->tv_sec, &tm);
    size_t len =
        strftime(out, n, rfc5322 ? "%a, %d %b %Y %H:%M:%S +0000" : "%Y-%m-%dT%H:%M:%S", &tm);
    if (!rfc5322)
        snprintf(out + len, n - len, ".%03ldZ", ts->tv_nsec / 1000000);
}

static struct timespec ns_to_ts(int64_t ns)
{
    return (struct timespec){ (time_t)(ns / 1000000000), (long)(ns % 1000000000) };
}

static int has_ctl(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 1;
    return 0;
}

/* A plausible single address: no controls, spaces, angle brackets or commas. */
static int address_ok(const char *s)
{
    return *s && !has_ctl(s) && strchr(s, '@') && !strpbrk(s, " <>,;\"");
}

static void item_free(alert_item *it)
{
    if (it)
        free(it->title), free(it->body);
    free(it);
}

/* ------------------------------------------------------------------ Options */

/* Note s[0..n) as a secret; the masker is made of them at the end of alerter_new(). */
static int add_secret(alerter *a, const char *s, size_t n)
{
    if (n == 0)
        return 0;
    char **v = realloc(a->secrets, (a->nsecrets + 1) * sizeof *v);
    if (!v)
        return -1;
    a->secrets = v;
    if (!(v[a->nsecrets] = strndup(s, n)))
        return -1;
    a->nsecrets++;
    return 0;
}

static int make_masker(alerter *a)
{
    if (a->nsecrets > 0)
        a->masker = text_masker_new((const char *const *)a->secrets, a->nsecrets, MASK);
    for (size_t i = 0; i < a->nsecrets; i++)
        text_wipe_free(a->secrets[i]);
    free(a->secrets);
    a->secrets = NULL;
    return a->nsecrets > 0 && !a->masker ? -1 : 0;
}

/* Check a webhook URL (http or https, by libcurl's parser), note its
 * scheme://host[:port] for logs and the URL to post to (for Alertmanager a
 * base URL gets /api/v2/alerts), and register as secrets the URL, its user
 * information, its path and query, and their long segments (tokens: Slack's
 * /services/T../B../<24>). */
static int parse_webhook(alerter *a, const char *url, int am)
{
    enum { SCHEME, HOST, PORT, USER, PASSWORD, PATH, QUERY, NPARTS };
    static const CURLUPart which[NPARTS] = { CURLUPART_SCHEME, CURLUPART_HOST,     CURLUPART_PORT,
                                             CURLUPART_USER,   CURLUPART_PASSWORD, CURLUPART_PATH,
                                             CURLUPART_QUERY };
    char *p[NPARTS] = { 0 }, *full = NULL, userinfo[512];
    CURLU *u = curl_url();
    if (!u)
        return ALERT_ENOMEM;
    int rc = !has_ctl(url) && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK ? ALERT_OK
                                                                                  : ALERT_EINVAL;
    for (int i = 0; i < NPARTS; i++)
        curl_url_get(u, which[i], &p[i], 0);
    if (rc == ALERT_OK &&
        (!p[SCHEME] || (strcmp(p[SCHEME], "http") && strcmp(p[SCHEME], "https")) || !p[HOST] ||
         !*p[HOST] || !p[PATH] ||
         snprintf(a->webhook_origin, sizeof a->webhook_origin, "%s://%s%s%s", p[SCHEME], p[HOST],
                  p[PORT] ? ":" : "", p[PORT] ? p[PORT] : "") >= (int)sizeof a->webhook_origin))
        rc = ALERT_EINVAL;
    if (rc == ALERT_OK && am && strcmp(p[PATH], "/") == 0)
        rc = curl_url_set(u, CURLUPART_PATH, "/api/v2/alerts", 0) ? ALERT_ENOMEM : ALERT_OK;
    if (rc == ALERT_OK &&
        (curl_url_get(u, CURLUPART_URL, &full, 0) != CURLUE_OK || !(a->webhook_url = strdup(full))))
        rc = ALERT_ENOMEM;
    snprintf(userinfo, sizeof userinfo, "%s%s%s", p[USER] ? p[USER] : "", p[PASSWORD] ? ":" : "",
             p[PASSWORD] ? p[PASSWORD] : "");
    const char *secret[] = { url, full ? full : "", userinfo,
                             p[PATH] && strlen(p[PATH]) > 1 ? p[PATH] : "",
                             p[QUERY] ? p[QUERY] : "" };
    for (size_t i = 0; rc == ALERT_OK && i < sizeof secret / sizeof *secret; i++)
        if (add_secret(a, secret[i], strlen(secret[i])) != 0)
            rc = ALERT_ENOMEM;
    for (size_t i = 3, n; rc == ALERT_OK && i < 5; i++) /* long segments of path and query */
        for (const char *s = secret[i]; *s && rc == ALERT_OK; s += n ? n : 1)
            if ((n = strcspn(s, "/?#&=")) >= 16 && add_secret(a, s, n) != 0)
                rc = ALERT_ENOMEM;
    for (int i = 0; i < NPARTS; i++)
        curl_free(p[i]);
    curl_free(full);
    curl_url_cleanup(u);
    return rc;
}

/* "addr" or "Display Name <addr>" (the name optionally in double quotes,
 * printable ASCII without quotes or backslashes inside) into name[128] (""
 * when none) and addr[320]. Returns 0, or -1 when malformed or too long. */
static int split_mailbox(const char *s, char *name, char *addr)
{
    s += strspn(s, " ");
    size_t len = strlen(s);
    while (len > 0 && s[len - 1] == ' ')
        len--;
    const char *lt = memchr(s, '<', len), *ns = s, *ne = lt;
    name[0] = '\0';
    if (!lt || s[len - 1] != '>') /* a bare address */
        return lt || memchr(s, '>', len) || len >= 320
                   ? -1
                   : (snprintf(addr, 320, "%.*s", (int)len, s), 0);
    if ((size_t)(s + len - 2 - lt) >= 320)
        return -1;
    snprintf(addr, 320, "%.*s", (int)(s + len - 2 - lt), lt + 1);
    while (ne > ns && ne[-1] == ' ')
        ne--;
    if (ne - ns >= 2 && *ns == '"' && ne[-1] == '"')
        ns++, ne--;
    for (const char *p = ns; p < ne; p++)
        if (*p < 0x20 || *p > 0x7e || *p == '"' || *p == '\\')
            return -1;
    return ne - ns >= 128 ? -1 : (snprintf(name, 128, "%.*s", (int)(ne - ns), ns), 0);
}

static int parse_email(alerter *a, const alert_options *o)
{
    char addr[320], name[128];
    const char *h = o->smtp_host, *problem = NULL;
    if (!o->email_to || !o->email_from || !h || !*h)
        problem = "email needs ALERT_EMAIL_TO, ALERT_EMAIL_FROM and ALERT_SMTP_HOST";
    else if (split_mailbox(o->email_from, name, addr) != 0 || !address_ok(addr))
        problem = "ALERT_EMAIL_FROM is neither an address nor 'Name <address>' (printable ASCII)";
    else if (has_ctl(h) || strpbrk(h, " /?#@\\"))
        problem = "ALERT_SMTP_HOST is not a valid host name";
    else if (o->smtp_port < 0 || o->smtp_port > 65535)
        problem = "ALERT_SMTP_PORT is out of range";
    if (problem) {
        alog(a, ALERT_LOG_ERROR, "%s", problem);
        return ALERT_EINVAL;
    }
    int port = o->smtp_port ? o->smtp_port : (o->smtp_tls_off ? 25 : 587);
    int v6 = strchr(h, ':') && h[0] != '[';
    snprintf(a->smtp_origin, sizeof a->smtp_origin, "%s://%s%s%s:%d",
             !o->smtp_tls_off && port == 465 ? "smtps" : "smtp", v6 ? "[" : "", h, v6 ? "]" : "",
             port);

    strbuf to = STRBUF_INIT;
    char *list = strdup(o->email_to), *save = NULL;
    int rc = list ? ALERT_OK : ALERT_ENOMEM;
    for (char *t = list ? strtok_r(list, ",", &save) : NULL; rc == ALERT_OK && t;
         t = strtok_r(NULL, ",", &save)) {
        t += strspn(t, " \t");
        size_t n = strlen(t);
        while (n > 0 && (t[n - 1] == ' ' || t[n - 1] == '\t'))
            t[--n] = '\0';
        if (n == 0)
            continue;
        if (n >= 318 || !address_ok(t)) {
            alog(a, ALERT_LOG_ERROR, "ALERT_EMAIL_TO holds an invalid or too long address");
            rc = ALERT_EINVAL;
            break;
        }
        char r[320];
        snprintf(r, sizeof r, "<%s>", t);
        struct curl_slist *l = curl_slist_append(a->rcpt, r);
        rc = l ? ALERT_OK : ALERT_ENOMEM;
        a->rcpt = l ? l : a->rcpt;
        strbuf_printf(&to, "%s%s", to.len ? ", " : "", t);
    }
    free(list);
    if (rc == ALERT_OK && !a->rcpt) {
        alog(a, ALERT_LOG_ERROR, "ALERT_EMAIL_TO names no recipient");
        rc = ALERT_EINVAL;
    }
    a->to_header = strbuf_take(&to);
    if (rc != ALERT_OK)
        return rc;
    /* the display name is a quoted string unless it is atoms and spaces only */
    const char *q = strpbrk(name, "()<>[]:;@\\,.\"") ? "\"" : "";
    snprintf(a->mail_from, sizeof a->mail_from, "<%s>", addr);
    snprintf(a->from_header, sizeof a->from_header, "%s%s%s%s%s%s", q, name, q, name[0] ? " <" : "",
             addr, name[0] ? ">" : "");
    snprintf(a->from_domain, sizeof a->from_domain, "%s", strrchr(addr, '@') + 1);
    if (o->smtp_user && *o->smtp_user) {
        a->smtp_user = strdup(o->smtp_user);
        a->smtp_password = strdup(o->smtp_password ? o->smtp_password : "");
        if (!a->smtp_user || !a->smtp_password)
            return ALERT_ENOMEM;
    }
    if (!a->to_header)
        return ALERT_ENOMEM;
    a->smtp_tls_off = o->smtp_tls_off;
    a->email_enabled = 1;
    return ALERT_OK;
}

/* ----------------------------------------------------------------- Delivery */

typedef struct attempt_ctx {
    alerter *a;
    alert_channel ch;
    const char *payload;             /* webhook: JSON; email: the text */
    struct curl_slist *mail_headers; /* email: the header fields */
    char retry_after[64];
} attempt_ctx;

/* Sleep for the retry policy, cut short when alerter_free() gives up. */
static void interruptible_sleep(int64_t ns, void *ctx)
{
    alerter *a = ctx;
    sleep_unless_stopped(ns, &a->abort_flag, -1);
}

static int on_progress(void *ud, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    (void)dt, (void)dn, (void)ut, (void)un;
    return atomic_load(&((alerter *)ud)->abort_flag) ? 1 : 0;
}

static size_t discard_body(char *data, size_t size, size_t nmemb, void *ud)
{
    (void)data, (void)ud;
    return size * nmemb;
}

static size_t on_header(char *data, size_t size, size_t nitems, void *ud)
{
    attempt_ctx *c = ud;
    http_header_value(data, size * nitems, "Retry-After", c->retry_after, sizeof c->retry_after);
    return size * nitems;
}

/* One delivery, judged for the retry policy (a retry_class); errmsg
 * (scrubbed) and the Retry-After hint of a 429 or 5xx. */
static int attempt(retry_call *call, void *ud)
{
    attempt_ctx *c = ud;
    alerter *a = c->a;
    int email = c->ch == ALERT_CHANNEL_EMAIL;
    CURL *h = atomic_load(&a->abort_flag) ? NULL : curl_easy_init();
    if (!h) {
        snprintf(call->errmsg, sizeof call->errmsg, "%s",
                 atomic_load(&a->abort_flag) ? "aborted at shutdown"
                                             : "libcurl could not be initialised");
        return atomic_load(&a->abort_flag) ? RETRY_CLASS_FATAL : RETRY_CLASS_RETRYABLE;
    }
    char errbuf[CURL_ERROR_SIZE] = "", ctype[] = "Content-Type: application/json",
         expect[] = "Expect:";
    struct curl_slist no_expect = { expect, NULL }, json_headers = { ctype, &no_expect };
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, a->timeout_ms);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, a->timeout_ms);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, a);
    curl_mime *mime = NULL;
    CURLcode rc = CURLE_OK;
    if (email) {
        curl_easy_setopt(h, CURLOPT_URL, a->smtp_origin);
        curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
        curl_easy_setopt(h, CURLOPT_USE_SSL,
                         (long)(a->smtp_tls_off ? CURLUSESSL_NONE : CURLUSESSL_ALL));
        curl_easy_setopt(h, CURLOPT_MAIL_FROM, a->mail_from);
        curl_easy_setopt(h, CURLOPT_MAIL_RCPT, a->rcpt);
        curl_easy_setopt(h, CURLOPT_USERNAME, a->smtp_user);
        curl_easy_setopt(h, CURLOPT_PASSWORD, a->smtp_password);
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, c->mail_headers);
        /* the text as one quoted-printable part: 8BITMIME is never assumed */
        curl_mimepart *part = curl_mime_addpart(mime = curl_mime_init(h));
        if (curl_mime_data(part, c->payload, CURL_ZERO_TERMINATED) ||
            curl_mime_type(part, "text/plain; charset=utf-8") ||
            curl_mime_encoder(part, "quoted-printable"))
            rc = CURLE_OUT_OF_MEMORY;
        curl_easy_setopt(h, CURLOPT_MIMEPOST, mime);
    } else {
        c->retry_after[0] = '\0';
        curl_easy_setopt(h, CURLOPT_URL, a->webhook_url);
        curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, &json_headers);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, c->payload);
        curl_easy_setopt(h, CURLOPT_USERAGENT, "ingestkit-ingestor/" INGESTKIT_VERSION);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard_body);
        curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(h, CURLOPT_HEADERDATA, c);
    }
    if (rc == CURLE_OK)
        rc = curl_easy_perform(h);
    long code = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(h);
    curl_mime_free(mime);
    if (rc != CURLE_OK) {
        char msg[CURL_ERROR_SIZE + 64];
        snprintf(msg, sizeof msg, email ? "%s (SMTP %ld)" : "%s",
                 errbuf[0] ? errbuf : curl_easy_strerror(rc), code);
        scrub_to(a, call->errmsg, sizeof call->errmsg, msg);
        /* a bad URL, no TLS offered, credentials refused or a permanent
         * (5xx) SMTP refusal: retrying cannot help */
        return rc == CURLE_ABORTED_BY_CALLBACK || rc == CURLE_UNSUPPORTED_PROTOCOL ||
                       rc == CURLE_URL_MALFORMAT || rc == CURLE_OUT_OF_MEMORY ||
                       (email && (rc == CURLE_USE_SSL_FAILED || rc == CURLE_LOGIN_DENIED ||
                                  (code >= 500 && code < 600)))
                   ? RETRY_CLASS_FATAL
                   : RETRY_CLASS_RETRYABLE;
    }
    if (email || (code >= 200 && code < 300))
        return RETRY_CLASS_SUCCESS;
    snprintf(call->errmsg, sizeof call->errmsg, "HTTP status %ld", code);
    int64_t hint = 0;
    if (code != 429 && (code < 500 || code >= 600))
        return RETRY_CLASS_FATAL;
    if (c->retry_after[0] && retry_parse_retry_after(&hint, c->retry_after, strlen(c->retry_after),
                                                     (int64_t)time(NULL)) == RETRY_OK)
        call->hint_ns = hint;
    return RETRY_CLASS_RETRYABLE;
}

static retry_class classify(int rc, const retry_call *call, void *ud)
{
    (void)call, (void)ud;
    return (retry_class)rc; /* attempt() judged it */
}

/* Deliver payload by channel ch (headers: the e-mail's), in at most
 * attempts attempts, and log the outcome for "what" (the alert). A NULL
 * payload is a message that could not be built. Returns 0 when delivered. */
static int send_with_retry(alerter *a, alert_channel ch, const char *payload,
                           struct curl_slist *headers, uint32_t attempts, const char *what,
                           const char *chname)
{
    const char *origin = ch == ALERT_CHANNEL_EMAIL ? a->smtp_origin : a->webhook_origin;
    if (!payload) {
        alog(a, ALERT_LOG_ERROR, "%s: out of memory building the %s message", what, chname);
        return -1;
    }
    attempt_ctx c = { .a = a, .ch = ch, .payload = payload, .mail_headers = headers };
    retry_policy p = RETRY_POLICY_INIT;
    p.max_attempts = attempts;
    p.max_delay_ns = a->cap_ms * RETRY_NS_PER_MS;
    p.backoff.base_ns = a->base_ms * RETRY_NS_PER_MS;
    p.backoff.cap_ns = a->cap_ms * RETRY_NS_PER_MS;
    p.classify = classify;
    p.env.sleep_ns = interruptible_sleep;
    p.env.ctx = a;
    retry_result r;
    if (retry_run(&r, &p, NULL, NULL, NULL, attempt, &c) == RETRY_OK) {
        alog(a, ALERT_LOG_DEBUG, "%s delivered by %s to %s after %u attempt(s)", what, chname,
             origin, r.attempts);
        return 0;
    }
    alog(a, ALERT_LOG_WARNING, "%s: %s delivery to %s failed after %u attempt(s): %s (%s)", what,
         chname, origin, r.attempts, r.last_errmsg, retry_stop_name(r.stop));
    return -1;
}

/* -------------------------------------------------------- Webhook payloads */

/* Generic JSON {key, severity, title, body, time, source, host} or Slack's {"text": ...}. */
static char *webhook_payload(const alerter *a, const alert_item *it)
{
    char when[64];
    format_time(&it->when, 0, when, sizeof when);
    cJSON *o = cJSON_CreateObject();
    int ok;
    if (a->webhook_slack) {
        static const char *const icon[] = { ":red_circle:", ":warning:", ":white_check_mark:" };
        strbuf s = STRBUF_INIT;
        strbuf_printf(&s, "%s *[%s] %s*\n%s%skey `%s` · host %s · %s · ingestor", icon[it->sev],
                      severity_caps[it->sev], it->title, it->body, *it->body ? "\n" : "", it->key,
                      a->host, when);
        char *raw = strbuf_take(&s); /* then & < > escaped, as Slack's text needs */
        for (const char *p = raw; p && *p; p++)
            strbuf_puts(&s, *p == '&'   ? "&amp;"
                            : *p == '<' ? "&lt;"
                            : *p == '>' ? "&gt;"
                                        : (char[2]){ *p, 0 });
        char *text = raw ? strbuf_take(&s) : NULL;
        free(raw);
        ok = o && text && cJSON_AddStringToObject(o, "text", text);
        free(text);
    } else {
        ok = o && cJSON_AddStringToObject(o, "key", it->key) &&
             cJSON_AddStringToObject(o, "severity", alert_severity_name(it->sev)) &&
             cJSON_AddStringToObject(o, "title", it->title) &&
             cJSON_AddStringToObject(o, "body", it->body) &&
             cJSON_AddStringToObject(o, "time", when) &&
             cJSON_AddStringToObject(o, "source", "ingestor") &&
             cJSON_AddStringToObject(o, "host", a->host);
    }
    char *out = ok ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    return out;
}

/* ---------------------------------------------------- Alertmanager (API v2) */

/* The POST /api/v2/alerts array of f[0..n), every one ending at ends_ns
 * (CLOCK_REALTIME). alertname: "job-dead:42" -> "IngestorJobDead", the
 * key's part before ':' in CamelCase, letters and digits only. */
static char *am_payload(const alerter *a, alert_item *const *f, size_t n, int64_t ends_ns)
{
    cJSON *arr = cJSON_CreateArray();
    int ok = arr != NULL;
    struct timespec ends_ts = ns_to_ts(ends_ns);
    char name[96], starts[64], ends[64];
    format_time(&ends_ts, 0, ends, sizeof ends);
    for (size_t i = 0; ok && i < n; i++) {
        size_t j = (size_t)snprintf(name, sizeof name, "Ingestor");
        int up = 1;
        for (const char *p = f[i]->key; *p && *p != ':' && j + 1 < sizeof name; p++) {
            int alnum =
                (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9');
            if (alnum)
                name[j++] = (char)(up && *p >= 'a' && *p <= 'z' ? *p - 32 : *p);
            up = !alnum;
        }
        name[j] = '\0';
        format_time(&f[i]->starts, 0, starts, sizeof starts);
        cJSON *o = cJSON_CreateObject();
        if (!cJSON_AddItemToArray(arr, o)) {
            cJSON_Delete(o);
            ok = 0;
            break;
        }
        cJSON *l = cJSON_AddObjectToObject(o, "labels"),
              *an = cJSON_AddObjectToObject(o, "annotations");
        ok = l && an && cJSON_AddStringToObject(l, "alertname", name) &&
             cJSON_AddStringToObject(l, "key", f[i]->key) &&
             cJSON_AddStringToObject(l, "severity", alert_severity_name(f[i]->sev)) &&
             cJSON_AddStringToObject(l, "instance", a->am_instance) &&
             cJSON_AddStringToObject(l, "job", a->am_job) &&
             (!f[i]->symbol[0] || cJSON_AddStringToObject(l, "symbol", f[i]->symbol)) &&
             cJSON_AddStringToObject(an, "summary", f[i]->title) &&
             (!f[i]->body[0] || cJSON_AddStringToObject(an, "description", f[i]->body)) &&
             cJSON_AddStringToObject(o, "startsAt", starts) &&
             cJSON_AddStringToObject(o, "endsAt", ends) &&
             (!a->am_generator || cJSON_AddStringToObject(o, "generatorURL", a->am_generator));
    }
    char *out = ok ? cJSON_PrintUnformatted(arr) : NULL;
    cJSON_Delete(arr);
    return out;
}

/* A firing alert joins (or refreshes, keeping its startsAt) the set that is
 * re-sent, and is posted with endsAt four intervals ahead; *kept tells that
 * the set owns it now. A resolved one posts the firing alert with endsAt =
 * now and removes it from the set. Returns 0 when delivered, 1 when there
 * was nothing to post (a resolution of an alert not firing here), -1. */
static int am_deliver(alerter *a, alert_item *it, const char *what, int *kept)
{
    size_t i = 0;
    while (i < a->nfiring && strcmp(a->firing[i]->key, it->key) != 0)
        i++;
    alert_item *post = it;
    int64_t ends_ns = wall_ms() * NS_PER_MS + 4 * a->am_resend_ms * NS_PER_MS;
    if (it->sev == ALERT_RESOLVED) {
        if (i == a->nfiring) {
            alog(a, ALERT_LOG_DEBUG, "alert %s resolved: not firing in Alertmanager", it->key);
            return 1;
        }
        post = a->firing[i];
        a->firing[i] = a->firing[--a->nfiring];
        ends_ns = (int64_t)it->when.tv_sec * 1000000000 + it->when.tv_nsec;
    } else {
        if (i == AM_MAX_FIRING) {
            alog(a, ALERT_LOG_WARNING,
                 "%d alerts firing; the oldest is no longer re-sent to Alertmanager",
                 AM_MAX_FIRING);
            item_free(a->firing[0]);
            memmove(&a->firing[0], &a->firing[1], --a->nfiring * sizeof *a->firing);
            i = a->nfiring;
        }
        if (i < a->nfiring) {
            it->starts = a->firing[i]->starts;
            item_free(a->firing[i]);
        } else if (a->nfiring++ == 0) {
            a->am_next_ns = mono_ns() + a->am_resend_ms * NS_PER_MS;
        }
        a->firing[i] = it;
        *kept = 1;
    }
    char *json = am_payload(a, &post, 1, ends_ns);
    int rc = send_with_retry(a, ALERT_CHANNEL_WEBHOOK, json, NULL, a->max_attempts, what,
                             "Alertmanager");
    free(json);
    if (post != it)
        item_free(post);
    return rc;
}

/* Re-send every firing alert (one attempt: the next interval retries). */
static void am_resend(alerter *a)
{
    a->am_next_ns = mono_ns() + a->am_resend_ms * NS_PER_MS;
    char *json = am_payload(a, a->firing, a->nfiring,
                            wall_ms() * NS_PER_MS + 4 * a->am_resend_ms * NS_PER_MS);
    char what[64];
    snprintf(what, sizeof what, "%zu firing alert(s)", a->nfiring);
    send_with_retry(a, ALERT_CHANNEL_WEBHOOK, json, NULL, 1, what, "Alertmanager re-send");
    free(json);
}

/* ----------------------------------------------------------- E-mail message */

/* The Subject field value, folded so that no line passes 78 bytes
 * ("Subject: " included): plain when printable ASCII, else RFC 2047
 * encoded words (UTF-8, base64) of at most 39 bytes each. */
static void subject_value(strbuf *b, const char *subj)
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t len = strlen(subj), col = strlen("Subject: ");
    int plain = len <= 900;
    for (const char *p = subj; *p && plain; p++)
        plain = (unsigned char)*p < 0x7f;
    for (size_t i = 0, n; plain && i < len; i += n, col += n) {
        n = strcspn(subj + i + 1, " ") + 1;
        if (col + n > 78 && subj[i] == ' ' && col > 1) { /* fold before that space */
            strbuf_puts(b, "\r\n");
            col = 0;
        }
        strbuf_add(b, subj + i, n);
    }
    for (size_t i = 0, n; !plain && i < len; i += n) {
        const unsigned char *s = (const unsigned char *)subj + i;
        n = len - i <= 39 ? len - i : 39;
        while (n > 1 && n < len - i && (s[n] & 0xC0) == 0x80) /* do not cut a character */
            n--;
        strbuf_puts(b, i ? "\r\n =?UTF-8?B?" : "=?UTF-8?B?");
        for (size_t k = 0; k < n; k += 3) {
            unsigned v =
                (unsigned)s[k] << 16 | (k + 1 < n ? s[k + 1] << 8 : 0) | (k + 2 < n ? s[k + 2] : 0);
            char q[4] = { b64[v >> 18 & 63], b64[v >> 12 & 63], k + 1 < n ? b64[v >> 6 & 63] : '=',
                          k + 2 < n ? b64[v & 63] : '=' };
            strbuf_add(b, q, 4);
        }
        strbuf_puts(b, "?=");
    }
}

/* Text with CRLF line ends and no line longer than 998 bytes. */
static void crlf_text(strbuf *b, const char *s)
{
    for (size_t col = 0; *s; s++) {
        if (*s == '\r' || *s == '\n' || (col >= 900 && ((unsigned char)*s & 0xC0) != 0x80)) {
            strbuf_puts(b, "\r\n");
            col = 0;
            if (*s == '\r' || *s == '\n') {
                s += *s == '\r' && s[1] == '\n';
                continue;
            }
        }
        strbuf_add(b, s, 1);
        col++;
    }
}

/* The header fields of an e-mail (one per entry, the Subject folded) and
 * its text, which attempt() sends as a quoted-printable text/plain part. */
typedef struct mail {
    struct curl_slist *headers;
    char *text;
    int failed;
} mail;

__attribute__((format(printf, 2, 3))) static void add_field(mail *m, const char *fmt, ...)
{
    char field[2048]; /* a folded Subject: at most 14 encoded words of 67 bytes */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(field, sizeof field, fmt, ap);
    va_end(ap);
    struct curl_slist *l = curl_slist_append(m->headers, field);
    m->headers = l ? l : m->headers;
    m->failed |= !l;
}

/* The message of it; m->text NULL when out of memory. */
static void email_message(alerter *a, const alert_item *it, mail *m)
{
    char date[64], when[64], key[ALERT_KEY_MAX + 1], subj[TITLE_MAX + 64];
    format_time(&it->when, 1, date, sizeof date);
    format_time(&it->when, 0, when, sizeof when);
    snprintf(subj, sizeof subj, "[ingestor %s] %s", severity_caps[it->sev], it->title);
    for (char *p = subj; *p; p++)
        *p = (unsigned char)*p < 0x20 || *p == 0x7f ? ' ' : *p;
    snprintf(key, sizeof key, "%s", it->key);
    for (char *p = key; *p; p++)
        *p = (unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f ? '_' : *p;
    strbuf s = STRBUF_INIT, b = STRBUF_INIT;
    subject_value(&s, subj);
    char *subject = strbuf_take(&s);

    *m = (mail){ 0 };
    add_field(m, "Date: %s", date);
    add_field(m, "From: %s", a->from_header);
    add_field(m, "To: %s", a->to_header);
    if (subject)
        add_field(m, "Subject: %s", subject);
    m->failed |= !subject;
    free(subject);
    add_field(m, "Message-ID: <%lld.%09ld.%llu.%ld@%s>", (long long)it->when.tv_sec,
              it->when.tv_nsec, (unsigned long long)++a->msgid_seq, (long)getpid(), a->msgid_host);
    add_field(m, "Auto-Submitted: auto-generated");
    add_field(m, "X-Ingestor-Alert-Key: %s", key);

    /* The title is the Subject: the text starts with the body (the title
     * only when there is no body), then the alert's particulars. */
    crlf_text(&b, *it->body ? it->body : it->title);
    strbuf_printf(&b, "\r\n\r\nSeverity: %s\r\nKey: ", alert_severity_name(it->sev));
    crlf_text(&b, it->key);
    strbuf_printf(&b, "\r\nHost: %s\r\nTime: %s\r\nSource: ingestor\r\n", a->host, when);
    m->text = strbuf_take(&b);
    if (m->failed || !m->text) {
        curl_slist_free_all(m->headers);
        free(m->text);
        *m = (mail){ 0 };
    }
}

/* ------------------------------------------------ Queue and delivery thread */

/* Count a delivery by ch: 0 sent, < 0 failed, > 0 nothing to send. */
static void tally(alerter *a, alert_channel ch, int rc)
{
    pthread_mutex_lock(&a->lock);
    a->ch_sent[ch] += rc == 0;
    a->ch_failed[ch] += rc < 0;
    pthread_mutex_unlock(&a->lock);
}

/* Deliver it by every channel; then free it unless it is firing in Alertmanager. */
static void deliver(alerter *a, alert_item *it)
{
    char what[ALERT_KEY_MAX + 32];
    snprintf(what, sizeof what, "alert %s (%s)", it->key, alert_severity_name(it->sev));
    int kept = 0;
    if (a->webhook_url) {
        char *json = a->webhook_am ? NULL : webhook_payload(a, it);
        tally(a, ALERT_CHANNEL_WEBHOOK,
              a->webhook_am ? am_deliver(a, it, what, &kept)
                            : send_with_retry(a, ALERT_CHANNEL_WEBHOOK, json, NULL, a->max_attempts,
                                              what, "webhook"));
        free(json);
    }
    if (a->email_enabled) {
        mail m;
        email_message(a, it, &m);
        tally(a, ALERT_CHANNEL_EMAIL,
              send_with_retry(a, ALERT_CHANNEL_EMAIL, m.text, m.headers, a->max_attempts, what,
                              "email"));
        curl_slist_free_all(m.headers);
        free(m.text);
    }
    if (!kept)
        item_free(it);
}

/* Deliver the queue in order; when idle, re-send what is firing in
 * Alertmanager on time. Once alerter_free() gives up, drop the rest. */
static void *delivery_main(void *arg)
{
    alerter *a = arg;
    pthread_mutex_lock(&a->lock);
    while (a->head || !a->stopping) {
        if (!a->head && (a->nfiring == 0 || mono_ns() < a->am_next_ns)) {
            struct timespec ts = ns_to_ts(a->nfiring ? a->am_next_ns : INT64_MAX);
            pthread_cond_timedwait(&a->cv, &a->lock, &ts); /* idle */
            continue;
        }
        if (a->head && atomic_load(&a->abort_flag)) {
            uint64_t n = 0;
            for (alert_item *it; (it = a->head); n++) {
                a->head = it->next;
                item_free(it);
            }
            a->tail = NULL;
            a->queued = 0;
            a->dropped += n;
            pthread_mutex_unlock(&a->lock);
            alog(a, ALERT_LOG_WARNING, "%llu alert(s) dropped at shutdown", (unsigned long long)n);
            pthread_mutex_lock(&a->lock);
            continue;
        }
        alert_item *it = a->head;
        if (it && !(a->head = it->next))
            a->tail = NULL;
        a->queued -= it != NULL;
        a->busy = 1;
        pthread_mutex_unlock(&a->lock);
        if (it)
            deliver(a, it);
        else
            am_resend(a);
        pthread_mutex_lock(&a->lock);
        a->busy = 0;
    }
    a->done = 1;
    pthread_cond_broadcast(&a->cv);
    pthread_mutex_unlock(&a->lock);
    return NULL;
}

/* --------------------------------------------------------------- Public API */

static void release(alerter *a)
{
    text_wipe_free(a->webhook_url);
    curl_slist_free_all(a->rcpt);
    free(a->to_header);
    text_wipe_free(a->smtp_user);
    text_wipe_free(a->smtp_password);
    for (size_t i = 0; a->secrets && i < a->nsecrets; i++)
        text_wipe_free(a->secrets[i]);
    free(a->secrets);
    text_masker_free(a->masker);
    for (size_t i = 0; i < a->nfiring; i++)
        item_free(a->firing[i]);
    free(a->am_instance);
    free(a->am_job);
    free(a->am_generator);
    free(a);
}

/* The host name for payloads, and Message-ID's domain: the host's fully
 * qualified name, else the sender's domain, else the host under .localdomain. */
static void host_names(alerter *a)
{
    if (gethostname(a->host, sizeof a->host - 1) != 0 || !a->host[0])
        snprintf(a->host, sizeof a->host, "localhost");
    char fqdn[256];
    if (!host_fqdn(fqdn, sizeof fqdn))
        snprintf(fqdn, sizeof fqdn, strchr(a->from_domain, '.') ? "%s" : "%.200s.localdomain",
                 strchr(a->from_domain, '.') ? a->from_domain : a->host);
    size_t j = 0;
    for (const char *p = fqdn; *p && j < sizeof a->msgid_host - 1; p++)
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            *p == '.' || *p == '-')
            a->msgid_host[j++] = *p;
    snprintf(a->msgid_host + j, sizeof a->msgid_host - j, "%s", j ? "" : "localhost");
}

int alerter_new(alerter **out, const alert_options *o)
{
    *out = NULL;
    alerter *a = calloc(1, sizeof *a);
    if (!a)
        return ALERT_ENOMEM;
    a->log = o->log;
    a->log_ud = o->log_ud;
    a->clock_ms = o->clock_ms;
    a->clock_ud = o->clock_ud;
    a->window_ms = o->dedup_window_ms ? o->dedup_window_ms : 15 * 60 * 1000;
    a->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 10000;
    a->max_attempts = o->max_attempts > 0 ? (uint32_t)o->max_attempts : 4;
    a->base_ms = o->retry_base_ms > 0 ? o->retry_base_ms : 500;
    a->cap_ms = o->retry_cap_ms > 0 ? o->retry_cap_ms : 30000;
    a->cap_ms = a->cap_ms < a->base_ms ? a->base_ms : a->cap_ms;
    a->capacity = o->queue_capacity > 0 ? (size_t)o->queue_capacity : 64;
    a->drain_ms = o->drain_timeout_ms > 0 ? o->drain_timeout_ms : 5000;
    a->am_resend_ms = o->am_resend_ms > 0 ? o->am_resend_ms : 60000;
    atomic_init(&a->abort_flag, 0);

    int rc = ALERT_OK;
    if (o->timeout_ms < 0 || o->max_attempts < 0 || o->queue_capacity < 0 || o->retry_base_ms < 0 ||
        o->retry_cap_ms < 0 || o->drain_timeout_ms < 0 || o->am_resend_ms < 0) {
        alog(a, ALERT_LOG_ERROR, "negative option value");
        rc = ALERT_EINVAL;
    }
    for (const char *const *s = o->secrets; rc == ALERT_OK && s && *s; s++)
        rc = add_secret(a, *s, strlen(*s)) ? ALERT_ENOMEM : ALERT_OK;
    if (rc == ALERT_OK && o->smtp_password)
        rc = add_secret(a, o->smtp_password, strlen(o->smtp_password)) ? ALERT_ENOMEM : ALERT_OK;
    if (rc == ALERT_OK && o->webhook_url && *o->webhook_url) {
        a->webhook_slack = o->webhook_slack;
        a->webhook_am = o->webhook_alertmanager != 0;
        rc = parse_webhook(a, o->webhook_url, a->webhook_am);
        if (rc == ALERT_EINVAL)
            alog(a, ALERT_LOG_ERROR, "ALERT_WEBHOOK_URL is not an http(s) URL");
    }
    if (rc == ALERT_OK && o->email_enabled)
        rc = parse_email(a, o);
    if (rc == ALERT_OK && make_masker(a) != 0)
        rc = ALERT_ENOMEM;
    if (rc == ALERT_OK)
        host_names(a);
    if (rc == ALERT_OK && a->webhook_am) {
        const char *gen = o->am_generator_url && *o->am_generator_url ? o->am_generator_url : NULL;
        a->am_instance = strdup(o->am_instance && *o->am_instance ? o->am_instance : a->host);
        a->am_job = strdup(o->am_job && *o->am_job ? o->am_job : "ingestor");
        a->am_generator = gen ? strdup(gen) : NULL;
        if (!a->am_instance || !a->am_job || (gen && !a->am_generator))
            rc = ALERT_ENOMEM;
    }
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&a->lock, NULL);
    pthread_cond_init(&a->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (rc == ALERT_OK && pthread_create(&a->thread, NULL, delivery_main, a) != 0)
        rc = ALERT_ETHREAD;
    if (rc != ALERT_OK) {
        pthread_mutex_destroy(&a->lock);
        pthread_cond_destroy(&a->cv);
        release(a);
        return rc;
    }
    if (!a->webhook_url && !a->email_enabled)
        alog(a, ALERT_LOG_INFO, "no channel configured; alerts are discarded");
    else
        alog(a, ALERT_LOG_INFO, "webhook %s%s, email %s%s", a->webhook_url ? "to " : "off",
             a->webhook_url ? a->webhook_origin : "", a->email_enabled ? "via " : "off",
             a->email_enabled ? a->smtp_origin : "");
    *out = a;
    return ALERT_OK;
}

void alerter_free(alerter *a)
{
    if (!a)
        return;
    pthread_mutex_lock(&a->lock);
    a->stopping = 1;
    pthread_cond_broadcast(&a->cv);
    struct timespec until = ns_to_ts(mono_ns() + a->drain_ms * NS_PER_MS);
    while (!a->done && pthread_cond_timedwait(&a->cv, &a->lock, &until) != ETIMEDOUT)
        ;
    atomic_store(&a->abort_flag, 1); /* past the drain time: abort and drop the rest */
    pthread_cond_broadcast(&a->cv);
    while (!a->done)
        pthread_cond_wait(&a->cv, &a->lock);
    pthread_mutex_unlock(&a->lock);
    pthread_join(a->thread, NULL);
    pthread_mutex_destroy(&a->lock);
    pthread_cond_destroy(&a->cv);
    release(a);
}

int alert_raise(alerter *a, const char *key, alert_severity sev, const char *title,
                const char *body)
{
    return alert_raise_symbol(a, key, sev, NULL, title, body);
}

int alert_raise_symbol(alerter *a, const char *key, alert_severity sev, const char *symbol,
                       const char *title, const char *body)
{
    if (!*key || strlen(key) > ALERT_KEY_MAX || (unsigned)sev > ALERT_RESOLVED)
        return ALERT_EINVAL;
    alert_item *it = calloc(1, sizeof *it);
    if (!it)
        return ALERT_ENOMEM;
    scrub_to(a, it->key, sizeof it->key, key);
    scrub_to(a, it->symbol, sizeof it->symbol, symbol ? symbol : "");
    it->title = scrub_dup(a, title, TITLE_MAX);
    it->body = scrub_dup(a, body ? body : "", BODY_MAX);
    if (!it->title || !it->body) {
        item_free(it);
        return ALERT_ENOMEM;
    }
    it->sev = sev;
    clock_gettime(CLOCK_REALTIME, &it->when);
    it->starts = it->when;

    pthread_mutex_lock(&a->lock);
    int64_t now = a->clock_ms ? a->clock_ms(a->clock_ud) : mono_ms();
    struct dedup_slot *slot = NULL, *spare = NULL; /* the key's; a free one, else the oldest */
    for (struct dedup_slot *s = a->slots; s < a->slots + DEDUP_SLOTS; s++) {
        if (s->used && strcmp(s->key, it->key) == 0)
            slot = s;
        if (!spare || (spare->used && (!s->used || s->at_ms < spare->at_ms)))
            spare = s;
    }
    if (sev == ALERT_RESOLVED && slot)
        slot->used = 0; /* a resolution always goes through and clears the window */
    int rc = sev != ALERT_RESOLVED && a->window_ms > 0 && slot && now - slot->at_ms < a->window_ms
                 ? ALERT_SUPPRESSED
             : a->queued >= a->capacity ? ALERT_EFULL
                                        : ALERT_OK;
    a->suppressed += rc == ALERT_SUPPRESSED;
    a->dropped += rc == ALERT_EFULL;
    if (rc == ALERT_OK && sev != ALERT_RESOLVED && a->window_ms > 0) {
        slot = slot ? slot : spare;
        memcpy(slot->key, it->key, sizeof slot->key);
        slot->at_ms = now;
        slot->used = 1;
    }
    if (rc == ALERT_OK) {
        *(a->tail ? &a->tail->next : &a->head) = it;
        a->tail = it;
        a->queued++;
        pthread_cond_broadcast(&a->cv);
    }
    pthread_mutex_unlock(&a->lock);

    if (rc == ALERT_SUPPRESSED)
        alog(a, ALERT_LOG_DEBUG, "alert %s (%s) suppressed: raised again within the window",
             it->key, alert_severity_name(sev));
    else if (rc == ALERT_EFULL)
        alog(a, ALERT_LOG_WARNING, "alert %s (%s) dropped: the alert queue is full", it->key,
             alert_severity_name(sev));
    if (rc != ALERT_OK)
        item_free(it);
    return rc;
}

void alerter_counts(alerter *a, uint64_t *sent, uint64_t *failed, uint64_t *suppressed,
                    uint64_t *dropped)
{
    pthread_mutex_lock(&a->lock);
    uint64_t v[] = { a->ch_sent[0] + a->ch_sent[1], a->ch_failed[0] + a->ch_failed[1],
                     a->suppressed, a->dropped };
    pthread_mutex_unlock(&a->lock);
    uint64_t *p[] = { sent, failed, suppressed, dropped };
    for (int i = 0; i < 4; i++)
        if (p[i])
            *p[i] = v[i];
}

void alerter_channel_counts(alerter *a, alert_channel ch, uint64_t *sent, uint64_t *failed)
{
    unsigned i = ch == ALERT_CHANNEL_EMAIL;
    pthread_mutex_lock(&a->lock);
    if (sent)
        *sent = a->ch_sent[i];
    if (failed)
        *failed = a->ch_failed[i];
    pthread_mutex_unlock(&a->lock);
}

size_t alerter_pending(alerter *a)
{
    pthread_mutex_lock(&a->lock);
    size_t n = a->queued + (size_t)a->busy;
    pthread_mutex_unlock(&a->lock);
    return n;
}

/* ------------------------- Internals for the fuzz target (alert_internal.h) */

int alert_internal_webhook(const char *url, const char *text, char *origin, size_t size,
                           char **scrubbed)
{
    *scrubbed = NULL;
    alerter *a = calloc(1, sizeof *a);
    if (!a)
        return ALERT_ENOMEM;
    int rc = parse_webhook(a, url, 0);
    if (rc == ALERT_OK && make_masker(a) != 0)
        rc = ALERT_ENOMEM;
    if (rc == ALERT_OK && !(*scrubbed = scrub_dup(a, text, BODY_MAX)))
        rc = ALERT_ENOMEM;
    snprintf(origin, size, "%s", a->webhook_origin);
    release(a);
    return rc;
}

int alert_internal_address_ok(const char *s)
{
    return address_ok(s);
}

char *alert_internal_email(const char *from, const char *to, const char *key, const char *title,
                           const char *body)
{
    alerter *a = *key && strlen(key) <= ALERT_KEY_MAX ? calloc(1, sizeof *a) : NULL;
    if (!a)
        return NULL;
    snprintf(a->from_header, sizeof a->from_header, "%s", from);
    a->to_header = strdup(to);
    snprintf(a->host, sizeof a->host, "fuzz.invalid");
    snprintf(a->msgid_host, sizeof a->msgid_host, "fuzz.invalid");
    char t[TITLE_MAX + 1], b[BODY_MAX + 1];
    scrub_to(a, t, sizeof t, title);
    scrub_to(a, b, sizeof b, body);
    alert_item it = { .sev = ALERT_WARNING, .title = t, .body = b };
    snprintf(it.key, sizeof it.key, "%s", key);
    mail m = { 0 };
    if (a->to_header)
        email_message(a, &it, &m);
    /* the header fields one per line, a blank line, then the text */
    strbuf out = STRBUF_INIT;
    for (const struct curl_slist *h = m.headers; h; h = h->next)
        strbuf_printf(&out, "%s\r\n", h->data);
    strbuf_printf(&out, "\r\n%s", m.text ? m.text : "");
    char *msg = m.text ? strbuf_take(&out) : NULL;
    strbuf_free(&out);
    curl_slist_free_all(m.headers);
    free(m.text);
    release(a);
    return msg;
}
