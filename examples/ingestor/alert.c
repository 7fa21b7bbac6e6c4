#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
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

#define MASK        "********"
#define TITLE_MAX   512
#define BODY_MAX    16384
#define DEDUP_SLOTS 256
#define LOG_MAX     1024

/* Internal return codes of one attempt (positive values are HTTP statuses). */
#define RC_TRANSPORT (-1) /* a transient failure: retry */
#define RC_FATAL     (-2) /* a permanent failure: do not retry */
#define RC_ABORTED   (-3) /* alerter_free() gave up waiting */

typedef struct alert_item {
    struct alert_item *next;
    alert_severity sev;
    struct timespec when; /* CLOCK_REALTIME at alert_raise() */
    char key[ALERT_KEY_MAX + 1];
    char symbol[32]; /* scrubbed, "" when none */
    char *title;     /* scrubbed */
    char *body;      /* scrubbed, "" when none */
} alert_item;

/* An alert firing in Alertmanager: re-sent until resolved. */
typedef struct am_alert {
    char key[ALERT_KEY_MAX + 1];
    char symbol[32];
    alert_severity sev;
    struct timespec starts;
    char *summary, *description;
} am_alert;

#define AM_MAX_FIRING 256

typedef struct dedup_slot {
    char key[ALERT_KEY_MAX + 1];
    int64_t at_ms;
    int used;
} dedup_slot;

struct alerter {
    /* configuration (immutable after alerter_new) */
    char *webhook_url;
    char webhook_origin[256]; /* scheme://host[:port], safe to log */
    int webhook_slack;
    int email_enabled;
    char **rcpt; /* "<addr>" each */
    size_t nrcpt;
    char *mail_from;   /* "<addr>" */
    char *from_header; /* addr */
    char *to_header;   /* "a, b" */
    char *smtp_url;    /* smtp[s]://host:port */
    char smtp_origin[300];
    char *smtp_user;
    char *smtp_password;
    int smtp_tls_off;
    int64_t window_ms;
    long timeout_ms;
    uint32_t max_attempts;
    int64_t base_ms, cap_ms;
    size_t capacity;
    int64_t drain_ms;
    char **secrets; /* longest first */
    size_t nsecrets;
    text_masker *masker; /* of secrets; NULL: none */
    int64_t (*clock_ms)(void *);
    void *clock_ud;
    void (*log)(int, const char *, void *);
    void *log_ud;
    char host[256];
    char msgid_host[256];
    char from_domain[256];
    int webhook_am;
    char *am_instance, *am_job, *am_generator;
    int64_t am_resend_ms;
    am_alert *firing; /* delivery thread only */
    size_t nfiring;
    int64_t am_next_ns; /* CLOCK_MONOTONIC of the next re-send; delivery thread only */

    /* state */
    pthread_mutex_t lock;
    pthread_cond_t wake; /* items, stop, abort (CLOCK_MONOTONIC) */
    pthread_cond_t done_cv;
    alert_item *head, *tail;
    size_t queued;
    int busy;
    int stopping;
    int done;
    atomic_int abort_flag;
    dedup_slot *slots;
    uint64_t sent, failed, suppressed, dropped;
    uint64_t ch_sent[2], ch_failed[2]; /* by alert_channel */
    uint64_t msgid_seq;                /* delivery thread only */
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

const char *alert_severity_name(alert_severity sev)
{
    static const char *const names[] = { "critical", "warning", "resolved" };
    return (unsigned)sev < 3 ? names[sev] : "unknown";
}

static int64_t default_clock_ms(void *ud)
{
    (void)ud;
    return mono_ms();
}

/* Largest length <= max that does not cut a UTF-8 sequence. */
static size_t utf8_cut(const char *s, size_t len, size_t max)
{
    if (len <= max)
        return len;
    size_t n = max;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    return n;
}

/*
 * A copy of s with every secret replaced by MASK (in any form, and a cut
 * secret's start at the end), made valid UTF-8, then cut to max bytes (at a
 * UTF-8 boundary, marked with "..."). Masking comes first so that a cut
 * never leaves part of a secret behind. NULL when out of memory.
 */
static char *scrub_dup(const alerter *a, const char *s, size_t max)
{
    char *out = malloc(max + 1);
    if (out && text_mask(a->masker, out, max + 1, s) > max) {
        text_mask(a->masker, out, max - 3 + 1, s);
        memcpy(out + strlen(out), "...", 4);
    }
    return out;
}

__attribute__((format(printf, 3, 4))) static void alog(const alerter *a, int level, const char *fmt,
                                                       ...)
{
    if (!a->log)
        return;
    char msg[LOG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    char *clean = scrub_dup(a, msg, LOG_MAX);
    if (clean)
        a->log(level, clean, a->log_ud);
    free(clean);
    memset(msg, 0, sizeof msg);
}

static void format_rfc3339(const struct timespec *ts, char *out, size_t n)
{
    struct tm tm;
    time_t t = ts->tv_sec;
    gmtime_r(&t, &tm);
    char base[32];
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, n, "%s.%03ldZ", base, ts->tv_nsec / 1000000);
}

static void format_rfc5322_date(const struct timespec *ts, char *out, size_t n)
{
    static const char *const days[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
    static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
    struct tm tm;
    time_t t = ts->tv_sec;
    gmtime_r(&t, &tm);
    snprintf(out, n, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday % 7], tm.tm_mday,
             months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* ------------------------------------------------------------------ Options */

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
    if (!*s || has_ctl(s) || !strchr(s, '@'))
        return 0;
    return strpbrk(s, " <>,;\"") == NULL;
}

/*
 * "addr" or "Display Name <addr>" (the name optionally in double quotes,
 * printable ASCII without quotes or backslashes inside). Returns 0 with the
 * parts (name "" when none), -1 when malformed or too long.
 */
static int split_mailbox(const char *s, char *name, size_t nn, char *addr, size_t na)
{
    while (*s == ' ')
        s++;
    size_t len = strlen(s);
    while (len > 0 && s[len - 1] == ' ')
        len--;
    name[0] = '\0';
    const char *lt = memchr(s, '<', len);
    if (!lt || len == 0 || s[len - 1] != '>') {
        if (len >= na || memchr(s, '<', len) || memchr(s, '>', len))
            return -1;
        snprintf(addr, na, "%.*s", (int)len, s);
        return 0;
    }
    size_t alen = (size_t)(s + len - 1 - (lt + 1));
    if (alen >= na)
        return -1;
    snprintf(addr, na, "%.*s", (int)alen, lt + 1);
    const char *ns = s, *ne = lt;
    while (ne > ns && ne[-1] == ' ')
        ne--;
    if (ne - ns >= 2 && *ns == '"' && ne[-1] == '"')
        ns++, ne--;
    if ((size_t)(ne - ns) >= nn)
        return -1;
    for (const char *p = ns; p < ne; p++)
        if (*p < 0x20 || *p > 0x7e || *p == '"' || *p == '\\')
            return -1;
    snprintf(name, nn, "%.*s", (int)(ne - ns), ns);
    return 0;
}

static int add_secret(alerter *a, const char *s, size_t n)
{
    if (n == 0)
        return 0;
    for (size_t k = 0; k < a->nsecrets; k++)
        if (strlen(a->secrets[k]) == n && memcmp(a->secrets[k], s, n) == 0)
            return 0;
    char **v = realloc(a->secrets, (a->nsecrets + 1) * sizeof *v);
    if (!v)
        return -1;
    a->secrets = v;
    char *c = malloc(n + 1);
    if (!c)
        return -1;
    memcpy(c, s, n);
    c[n] = '\0';
    /* keep longest first, so a secret containing another is masked whole */
    size_t at = a->nsecrets;
    while (at > 0 && strlen(v[at - 1]) < n) {
        v[at] = v[at - 1];
        at--;
    }
    v[at] = c;
    a->nsecrets++;
    text_masker *m = text_masker_new((const char *const *)a->secrets, a->nsecrets, MASK);
    if (!m)
        return -1;
    text_masker_free(a->masker);
    a->masker = m;
    return 0;
}

/*
 * Check a webhook URL, note its scheme://host[:port] for logs and register
 * its user information and path as secrets (Slack and others carry the
 * token in the path).
 */
static int parse_webhook(alerter *a, const char *url)
{
    const char *sep = strstr(url, "://");
    if (!sep || has_ctl(url))
        return ALERT_EINVAL;
    size_t slen = (size_t)(sep - url);
    if (!((slen == 4 && strncasecmp(url, "http", 4) == 0) ||
          (slen == 5 && strncasecmp(url, "https", 5) == 0)))
        return ALERT_EINVAL;
    const char *auth = sep + 3;
    size_t alen = strcspn(auth, "/?#");
    const char *hostp = auth;
    for (size_t i = 0; i < alen; i++)
        if (auth[i] == '@')
            hostp = auth + i + 1;
    size_t hlen = alen - (size_t)(hostp - auth);
    if (hlen == 0 || slen + 3 + hlen >= sizeof a->webhook_origin)
        return ALERT_EINVAL;
    snprintf(a->webhook_origin, sizeof a->webhook_origin, "%.*s://%.*s", (int)slen, url, (int)hlen,
             hostp);
    if (add_secret(a, url, strlen(url)) != 0)
        return ALERT_ENOMEM;
    if (hostp > auth && add_secret(a, auth, (size_t)(hostp - auth) - 1) != 0)
        return ALERT_ENOMEM;
    const char *rest = auth + alen;
    if (strlen(rest) > 1 && add_secret(a, rest, strlen(rest)) != 0)
        return ALERT_ENOMEM;
    /* long path segments look like tokens (Slack: /services/T../B../<24>) */
    for (const char *p = rest; *p;) {
        size_t n = strcspn(p, "/?#&=");
        if (n >= 16 && add_secret(a, p, n) != 0)
            return ALERT_ENOMEM;
        p += n ? n : 1;
    }
    return ALERT_OK;
}

static int parse_email(alerter *a, const alert_options *o)
{
    if (!o->email_to || !o->email_from || !o->smtp_host || !*o->smtp_host) {
        alog(a, ALERT_LOG_ERROR,
             "email needs ALERT_EMAIL_TO, ALERT_EMAIL_FROM and "
             "ALERT_SMTP_HOST");
        return ALERT_EINVAL;
    }
    char from_addr[320], from_name[128];
    if (split_mailbox(o->email_from, from_name, sizeof from_name, from_addr, sizeof from_addr) !=
            0 ||
        !address_ok(from_addr)) {
        alog(a, ALERT_LOG_ERROR,
             "ALERT_EMAIL_FROM is neither an address nor 'Name <address>' "
             "(printable ASCII)");
        return ALERT_EINVAL;
    }
    const char *h = o->smtp_host;
    if (has_ctl(h) || strpbrk(h, " /?#@\\")) {
        alog(a, ALERT_LOG_ERROR, "ALERT_SMTP_HOST is not a valid host name");
        return ALERT_EINVAL;
    }
    if (o->smtp_port < 0 || o->smtp_port > 65535) {
        alog(a, ALERT_LOG_ERROR, "ALERT_SMTP_PORT is out of range");
        return ALERT_EINVAL;
    }
    int port = o->smtp_port ? o->smtp_port : (o->smtp_tls_off ? 25 : 587);
    const char *scheme = (!o->smtp_tls_off && port == 465) ? "smtps" : "smtp";
    int v6 = strchr(h, ':') != NULL && h[0] != '[';
    char url[300];
    snprintf(url, sizeof url, "%s://%s%s%s:%d", scheme, v6 ? "[" : "", h, v6 ? "]" : "", port);
    snprintf(a->smtp_origin, sizeof a->smtp_origin, "%s", url);
    a->smtp_url = strdup(url);

    strbuf to = STRBUF_INIT;
    char *list = strdup(o->email_to), *save = NULL;
    int rc = list ? ALERT_OK : ALERT_ENOMEM;
    for (char *t = list ? strtok_r(list, ",", &save) : NULL; rc == ALERT_OK && t;
         t = strtok_r(NULL, ",", &save)) {
        t += strspn(t, " \t");
        size_t n = strlen(t);
        while (n > 0 && (t[n - 1] == ' ' || t[n - 1] == '\t'))
            t[--n] = '\0';
        char **v = NULL;
        if (n == 0)
            continue;
        if (n >= 318 || !address_ok(t)) {
            alog(a, ALERT_LOG_ERROR,
                 n >= 318 ? "an ALERT_EMAIL_TO address is too long"
                          : "ALERT_EMAIL_TO holds an invalid address");
            rc = ALERT_EINVAL;
        } else if (!(v = realloc(a->rcpt, (a->nrcpt + 1) * sizeof *v))) {
            rc = ALERT_ENOMEM;
        } else {
            a->rcpt = v;
            strbuf br = STRBUF_INIT;
            strbuf_printf(&br, "<%s>", t);
            if (!(a->rcpt[a->nrcpt] = strbuf_take(&br)))
                rc = ALERT_ENOMEM;
            a->nrcpt += rc == ALERT_OK;
            strbuf_printf(&to, "%s%s", to.len ? ", " : "", t);
        }
    }
    free(list);
    if (rc == ALERT_OK && a->nrcpt == 0) {
        alog(a, ALERT_LOG_ERROR, "ALERT_EMAIL_TO names no recipient");
        rc = ALERT_EINVAL;
    }
    if (rc != ALERT_OK) {
        strbuf_free(&to);
        return rc;
    }
    a->to_header = strbuf_take(&to);
    char from[324];
    snprintf(from, sizeof from, "<%s>", from_addr);
    a->mail_from = strdup(from);
    if (from_name[0]) {
        /* a quoted string unless the name is atoms and spaces only */
        int quote = strpbrk(from_name, "()<>[]:;@\\,.\"") != NULL;
        strbuf fh = STRBUF_INIT;
        strbuf_printf(&fh, "%s%s%s <%s>", quote ? "\"" : "", from_name, quote ? "\"" : "",
                      from_addr);
        a->from_header = strbuf_take(&fh);
    } else {
        a->from_header = strdup(from_addr);
    }
    const char *dom = strrchr(from_addr, '@') + 1;
    snprintf(a->from_domain, sizeof a->from_domain, "%s", dom);
    if (o->smtp_user && *o->smtp_user) {
        a->smtp_user = strdup(o->smtp_user);
        a->smtp_password = strdup(o->smtp_password ? o->smtp_password : "");
        if (!a->smtp_user || !a->smtp_password)
            return ALERT_ENOMEM;
    }
    if (!a->smtp_url || !a->to_header || !a->mail_from || !a->from_header)
        return ALERT_ENOMEM;
    a->smtp_tls_off = o->smtp_tls_off;
    a->email_enabled = 1;
    return ALERT_OK;
}

/* ----------------------------------------------------------------- Delivery */

/* Sleep for the retry policy, cut short when alerter_free() gives up. */
static void interruptible_sleep(int64_t ns, void *ctx)
{
    alerter *a = ctx;
    sleep_unless_stopped(ns, &a->abort_flag, -1);
}

static int on_progress(void *ud, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    (void)dt, (void)dn, (void)ut, (void)un;
    alerter *a = ud;
    return atomic_load(&a->abort_flag) ? 1 : 0;
}

static size_t discard_body(char *data, size_t size, size_t nmemb, void *ud)
{
    (void)data, (void)ud;
    return size * nmemb;
}

typedef struct attempt_ctx {
    alerter *a;
    const char *payload; /* webhook: JSON; email: the text */
    size_t len;
    struct curl_slist *mail_headers; /* email: the header fields */
    char retry_after[64];
    const char *origin; /* for messages */
} attempt_ctx;

static size_t on_header(char *data, size_t size, size_t nitems, void *ud)
{
    attempt_ctx *c = ud;
    size_t n = size * nitems;
    http_header_value(data, n, "Retry-After", c->retry_after, sizeof c->retry_after);
    return n;
}

static void common_opts(CURL *h, alerter *a, char *errbuf)
{
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, a->timeout_ms);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, a->timeout_ms);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, a);
}

static void set_errmsg(retry_call *call, const alerter *a, const char *what)
{
    char *clean = scrub_dup(a, what, sizeof call->errmsg - 1);
    snprintf(call->errmsg, sizeof call->errmsg, "%s", clean ? clean : "error");
    free(clean);
}

/* The start of every delivery attempt: a fresh handle, unless the alerter
 * is shutting down. NULL with *rc when the attempt cannot go on. */
static CURL *attempt_begin(retry_call *call, alerter *a, int *rc)
{
    if (atomic_load(&a->abort_flag)) {
        snprintf(call->errmsg, sizeof call->errmsg, "aborted at shutdown");
        *rc = RC_ABORTED;
        return NULL;
    }
    CURL *h = curl_easy_init();
    if (!h) {
        snprintf(call->errmsg, sizeof call->errmsg, "libcurl could not be initialised");
        *rc = RC_TRANSPORT;
    }
    return h;
}

static int webhook_attempt(retry_call *call, void *ud)
{
    attempt_ctx *c = ud;
    alerter *a = c->a;
    int begin_rc;
    CURL *h = attempt_begin(call, a, &begin_rc);
    if (!h)
        return begin_rc;
    struct curl_slist *hdr = NULL, *tmp;
    if ((tmp = curl_slist_append(hdr, "Content-Type: application/json")))
        hdr = tmp;
    if ((tmp = curl_slist_append(hdr, "Expect:")))
        hdr = tmp;
    char errbuf[CURL_ERROR_SIZE] = "";
    c->retry_after[0] = '\0';
    common_opts(h, a, errbuf);
    curl_easy_setopt(h, CURLOPT_URL, a->webhook_url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, c->payload);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)c->len);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "ingestkit-ingestor/" INGESTKIT_VERSION);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard_body);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, c);
    CURLcode rc = curl_easy_perform(h);
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(h);
    curl_slist_free_all(hdr);
    if (rc != CURLE_OK) {
        set_errmsg(call, a, errbuf[0] ? errbuf : curl_easy_strerror(rc));
        if (rc == CURLE_ABORTED_BY_CALLBACK)
            return RC_ABORTED;
        if (rc == CURLE_UNSUPPORTED_PROTOCOL || rc == CURLE_URL_MALFORMAT ||
            rc == CURLE_OUT_OF_MEMORY)
            return RC_FATAL;
        return RC_TRANSPORT;
    }
    if (status >= 200 && status < 300)
        return 0;
    snprintf(call->errmsg, sizeof call->errmsg, "HTTP status %ld", status);
    if (status == 429 || status >= 500) {
        int64_t hint = 0;
        if (c->retry_after[0] &&
            retry_parse_retry_after(&hint, c->retry_after, strlen(c->retry_after),
                                    (int64_t)time(NULL)) == RETRY_OK)
            call->hint_ns = hint;
    }
    return status > 0 && status < 1000 ? (int)status : RC_TRANSPORT;
}

static int email_attempt(retry_call *call, void *ud)
{
    attempt_ctx *c = ud;
    alerter *a = c->a;
    int begin_rc;
    CURL *h = attempt_begin(call, a, &begin_rc);
    if (!h)
        return begin_rc;
    struct curl_slist *rcpt = NULL;
    for (size_t i = 0; i < a->nrcpt; i++) {
        struct curl_slist *tmp = curl_slist_append(rcpt, a->rcpt[i]);
        if (!tmp) {
            curl_slist_free_all(rcpt);
            curl_easy_cleanup(h);
            snprintf(call->errmsg, sizeof call->errmsg, "out of memory");
            return RC_TRANSPORT;
        }
        rcpt = tmp;
    }
    char errbuf[CURL_ERROR_SIZE] = "";
    common_opts(h, a, errbuf);
    curl_easy_setopt(h, CURLOPT_URL, a->smtp_url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    curl_easy_setopt(h, CURLOPT_USE_SSL,
                     a->smtp_tls_off ? (long)CURLUSESSL_NONE : (long)CURLUSESSL_ALL);
    curl_easy_setopt(h, CURLOPT_MAIL_FROM, a->mail_from);
    curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpt);
    if (a->smtp_user) {
        curl_easy_setopt(h, CURLOPT_USERNAME, a->smtp_user);
        curl_easy_setopt(h, CURLOPT_PASSWORD, a->smtp_password);
    }
    curl_mime *mime = curl_mime_init(h);
    curl_mimepart *part = mime ? curl_mime_addpart(mime) : NULL;
    if (!part || curl_mime_data(part, c->payload, c->len) != CURLE_OK ||
        curl_mime_type(part, "text/plain; charset=utf-8") != CURLE_OK ||
        curl_mime_encoder(part, "quoted-printable") != CURLE_OK) {
        curl_mime_free(mime);
        curl_slist_free_all(rcpt);
        curl_easy_cleanup(h);
        snprintf(call->errmsg, sizeof call->errmsg, "out of memory");
        return RC_TRANSPORT;
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, c->mail_headers);
    curl_easy_setopt(h, CURLOPT_MIMEPOST, mime);
    CURLcode rc = curl_easy_perform(h);
    long code = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(h);
    curl_mime_free(mime);
    curl_slist_free_all(rcpt);
    if (rc == CURLE_OK)
        return 0;
    char msg[CURL_ERROR_SIZE + 64];
    snprintf(msg, sizeof msg, "%s (SMTP %ld)", errbuf[0] ? errbuf : curl_easy_strerror(rc), code);
    set_errmsg(call, a, msg);
    if (rc == CURLE_ABORTED_BY_CALLBACK)
        return RC_ABORTED;
    /* No TLS offered, credentials refused, a bad URL or a permanent (5xx)
     * refusal: retrying cannot help. */
    if (rc == CURLE_USE_SSL_FAILED || rc == CURLE_LOGIN_DENIED || rc == CURLE_URL_MALFORMAT ||
        rc == CURLE_UNSUPPORTED_PROTOCOL || rc == CURLE_OUT_OF_MEMORY ||
        (code >= 500 && code < 600))
        return RC_FATAL;
    return RC_TRANSPORT;
}

static retry_class classify(int rc, const retry_call *call, void *ud)
{
    (void)call, (void)ud;
    if (rc == 0)
        return RETRY_CLASS_SUCCESS;
    if (rc == RC_TRANSPORT || rc == 429 || (rc >= 500 && rc < 600))
        return RETRY_CLASS_RETRYABLE;
    return RETRY_CLASS_FATAL;
}

static int run_with_retry(alerter *a, retry_fn fn, attempt_ctx *c, const char *channel,
                          const alert_item *it)
{
    retry_policy p = RETRY_POLICY_INIT;
    p.max_attempts = a->max_attempts;
    p.max_delay_ns = a->cap_ms * RETRY_NS_PER_MS;
    p.backoff.base_ns = a->base_ms * RETRY_NS_PER_MS;
    p.backoff.cap_ns = a->cap_ms * RETRY_NS_PER_MS;
    p.classify = classify;
    p.env.sleep_ns = interruptible_sleep;
    p.env.ctx = a;
    retry_result r;
    int rc = retry_run(&r, &p, NULL, NULL, NULL, fn, c);
    if (rc == RETRY_OK) {
        alog(a, ALERT_LOG_DEBUG, "alert %s (%s) delivered by %s to %s after %u attempt(s)", it->key,
             alert_severity_name(it->sev), channel, c->origin, r.attempts);
        return 0;
    }
    alog(a, ALERT_LOG_WARNING,
         "alert %s (%s): %s delivery to %s failed after %u attempt(s): %s (%s)", it->key,
         alert_severity_name(it->sev), channel, c->origin, r.attempts, r.last_errmsg,
         retry_stop_name(r.stop));
    return -1;
}

/* "CRITICAL", "WARNING", "RESOLVED" into out (16 bytes). */
static void severity_caps(char *out, alert_severity sev)
{
    size_t i = 0;
    for (const char *p = alert_severity_name(sev); *p && i < 15; p++)
        out[i++] = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
    out[i] = '\0';
}

static char *slack_escape(const char *s)
{
    strbuf b = STRBUF_INIT;
    for (; *s; s++) {
        if (*s == '&')
            strbuf_puts(&b, "&amp;");
        else if (*s == '<')
            strbuf_puts(&b, "&lt;");
        else if (*s == '>')
            strbuf_puts(&b, "&gt;");
        else
            strbuf_add(&b, s, 1);
    }
    return strbuf_take(&b);
}

static char *webhook_payload(const alerter *a, const alert_item *it)
{
    char when[64];
    format_rfc3339(&it->when, when, sizeof when);
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    int ok = 1;
    if (a->webhook_slack) {
        char *t = slack_escape(it->title), *b = slack_escape(it->body), *k = slack_escape(it->key),
             *h = slack_escape(a->host);
        strbuf s = STRBUF_INIT;
        if (t && b && k && h) {
            static const char *const icon[] = { ":red_circle:", ":warning:", ":white_check_mark:" };
            char sev[16];
            severity_caps(sev, it->sev);
            strbuf_printf(&s, "%s *[%s] %s*\n%s%skey `%s` · host %s · %s · ingestor",
                          icon[(unsigned)it->sev % 3], sev, t, b, *b ? "\n" : "", k, h, when);
        } else {
            s.failed = true;
        }
        free(t), free(b), free(k), free(h);
        char *text = strbuf_take(&s);
        ok = text && cJSON_AddStringToObject(o, "text", text);
        free(text);
    } else {
        ok = cJSON_AddStringToObject(o, "key", it->key) &&
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

static void b64(strbuf *b, const unsigned char *s, size_t n)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)s[i] << 16;
        if (i + 1 < n)
            v |= (unsigned)s[i + 1] << 8;
        if (i + 2 < n)
            v |= s[i + 2];
        char q[4] = { tbl[(v >> 18) & 63], tbl[(v >> 12) & 63],
                      i + 1 < n ? tbl[(v >> 6) & 63] : '=', i + 2 < n ? tbl[v & 63] : '=' };
        strbuf_add(b, q, 4);
    }
}

/* The Subject field value, folded so that no line passes 78 bytes
 * ("Subject: " included): plain when printable ASCII, else RFC 2047
 * encoded words (UTF-8, base64) of at most 39 bytes each. */
static void subject_value(strbuf *b, const char *subj)
{
    int plain = strlen(subj) <= 900;
    for (const char *p = subj; *p && plain; p++)
        if ((unsigned char)*p >= 0x7f)
            plain = 0;
    if (plain) {
        /* fold before a space that would carry the line past 78 */
        size_t col = strlen("Subject: ");
        const char *p = subj;
        while (*p) {
            size_t word = strcspn(p + 1, " ") + 1;
            if (col + word > 78 && *p == ' ' && col > 1) {
                strbuf_puts(b, "\r\n");
                col = 0;
            }
            strbuf_add(b, p, word);
            col += word;
            p += word;
        }
        return;
    }
    size_t len = strlen(subj), i = 0;
    while (i < len) {
        size_t n = utf8_cut(subj + i, len - i, 39);
        if (n == 0)
            n = 1;
        if (i)
            strbuf_puts(b, "\r\n ");
        strbuf_puts(b, "=?UTF-8?B?");
        b64(b, (const unsigned char *)subj + i, n);
        strbuf_puts(b, "?=");
        i += n;
    }
}

/* Text with CRLF line ends and no line longer than 998 bytes. */
static void crlf_text(strbuf *b, const char *s)
{
    size_t col = 0;
    for (const char *p = s; *p; p++) {
        if (*p == '\r' || *p == '\n') {
            if (*p == '\r' && p[1] == '\n')
                p++;
            strbuf_puts(b, "\r\n");
            col = 0;
            continue;
        }
        if (col >= 900 && ((unsigned char)*p & 0xC0) != 0x80) {
            strbuf_puts(b, "\r\n");
            col = 0;
        }
        strbuf_add(b, p, 1);
        col++;
    }
}

/* An email: its header fields (one per entry, the Subject folded) and its
 * text, which libcurl's MIME API sends as a quoted-printable text/plain
 * part (8BITMIME is never assumed). */
typedef struct mail {
    struct curl_slist *headers;
    char *text;
} mail;

static void mail_free(mail *m)
{
    curl_slist_free_all(m->headers);
    free(m->text);
    m->headers = NULL;
    m->text = NULL;
}

/* Append one header field; the buffer is emptied. Returns -1 when out of memory. */
static int add_field(mail *m, strbuf *f)
{
    char *s = strbuf_take(f);
    struct curl_slist *tmp = s ? curl_slist_append(m->headers, s) : NULL;
    free(s);
    if (!tmp)
        return -1;
    m->headers = tmp;
    return 0;
}

static int email_message(alerter *a, const alert_item *it, mail *m)
{
    char date[64], when[64];
    format_rfc5322_date(&it->when, date, sizeof date);
    format_rfc3339(&it->when, when, sizeof when);
    char sev[16];
    severity_caps(sev, it->sev);

    char subj[TITLE_MAX + 64];
    snprintf(subj, sizeof subj, "[ingestor %s] %s", sev, it->title);
    for (char *p = subj; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = ' ';
    char key[ALERT_KEY_MAX + 1];
    snprintf(key, sizeof key, "%s", it->key);
    for (char *p = key; *p; p++)
        if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
            *p = '_';

    memset(m, 0, sizeof *m);
    strbuf f = STRBUF_INIT;
    int rc = 0;
    strbuf_printf(&f, "Date: %s", date);
    rc |= add_field(m, &f);
    strbuf_printf(&f, "From: %s", a->from_header);
    rc |= add_field(m, &f);
    strbuf_printf(&f, "To: %s", a->to_header);
    rc |= add_field(m, &f);
    strbuf_puts(&f, "Subject: ");
    subject_value(&f, subj);
    rc |= add_field(m, &f);
    strbuf_printf(&f, "Message-ID: <%lld.%09ld.%llu.%ld@%s>", (long long)it->when.tv_sec,
                  it->when.tv_nsec, (unsigned long long)++a->msgid_seq, (long)getpid(),
                  a->msgid_host);
    rc |= add_field(m, &f);
    strbuf_puts(&f, "Auto-Submitted: auto-generated");
    rc |= add_field(m, &f);
    strbuf_printf(&f, "X-Ingestor-Alert-Key: %s", key);
    rc |= add_field(m, &f);

    /* The title is the Subject: the text starts with the body (the title
     * only when there is no body), then the alert's particulars. */
    strbuf b = STRBUF_INIT;
    crlf_text(&b, *it->body ? it->body : it->title);
    strbuf_puts(&b, "\r\n\r\n");
    strbuf_printf(&b, "Severity: %s\r\nKey: ", alert_severity_name(it->sev));
    crlf_text(&b, it->key);
    strbuf_printf(&b, "\r\nHost: %s\r\nTime: %s\r\nSource: ingestor\r\n", a->host, when);
    m->text = strbuf_take(&b);
    if (rc != 0 || !m->text) {
        mail_free(m);
        return -1;
    }
    return 0;
}

/* ---------------------------------------------------- Alertmanager (API v2) */

/* "job-dead:42" -> "IngestorJobDead": the key's part before ':', in
 * CamelCase, letters and digits only (a valid Prometheus label value is any
 * text, but alert names are conventionally identifiers). */
static void am_alertname(const char *key, char *out, size_t n)
{
    size_t j = (size_t)snprintf(out, n, "Ingestor");
    int up = 1;
    for (const char *p = key; *p && *p != ':' && j + 1 < n; p++) {
        char c = *p;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
            out[j++] = (char)(up && c >= 'a' && c <= 'z' ? c - 32 : c);
            up = 0;
        } else {
            up = 1;
        }
    }
    out[j] = '\0';
}

static void rfc3339_ns(int64_t ns, char *out, size_t n)
{
    struct timespec ts = { (time_t)(ns / 1000000000), (long)(ns % 1000000000) };
    format_rfc3339(&ts, out, n);
}

/* One element of the POST /api/v2/alerts array; ends_ns is CLOCK_REALTIME. */
static int am_add(const alerter *a, cJSON *arr, const am_alert *f, int64_t ends_ns)
{
    cJSON *o = cJSON_CreateObject();
    if (!o || !cJSON_AddItemToArray(arr, o))
        return cJSON_Delete(o), 0;
    char name[96], starts[64], ends[64];
    am_alertname(f->key, name, sizeof name);
    format_rfc3339(&f->starts, starts, sizeof starts);
    rfc3339_ns(ends_ns, ends, sizeof ends);
    cJSON *l = cJSON_AddObjectToObject(o, "labels");
    cJSON *an = cJSON_AddObjectToObject(o, "annotations");
    int ok = l && an && cJSON_AddStringToObject(l, "alertname", name) &&
             cJSON_AddStringToObject(l, "key", f->key) &&
             cJSON_AddStringToObject(l, "severity", alert_severity_name(f->sev)) &&
             cJSON_AddStringToObject(l, "instance", a->am_instance) &&
             cJSON_AddStringToObject(l, "job", a->am_job) &&
             (!f->symbol[0] || cJSON_AddStringToObject(l, "symbol", f->symbol)) &&
             cJSON_AddStringToObject(an, "summary", f->summary) &&
             (!f->description[0] || cJSON_AddStringToObject(an, "description", f->description)) &&
             cJSON_AddStringToObject(o, "startsAt", starts) &&
             cJSON_AddStringToObject(o, "endsAt", ends) &&
             (!a->am_generator || cJSON_AddStringToObject(o, "generatorURL", a->am_generator));
    return ok;
}

/* The JSON array for f[0..n), every one ending at ends_ns. */
static char *am_payload(const alerter *a, const am_alert *f, size_t n, int64_t ends_ns)
{
    cJSON *arr = cJSON_CreateArray();
    int ok = arr != NULL;
    for (size_t i = 0; ok && i < n; i++)
        ok = am_add(a, arr, &f[i], ends_ns);
    char *out = ok ? cJSON_PrintUnformatted(arr) : NULL;
    cJSON_Delete(arr);
    return out;
}

static void am_alert_clear(am_alert *f)
{
    free(f->summary);
    free(f->description);
    memset(f, 0, sizeof *f);
}

static am_alert *am_find(alerter *a, const char *key)
{
    for (size_t i = 0; i < a->nfiring; i++)
        if (strcmp(a->firing[i].key, key) == 0)
            return &a->firing[i];
    return NULL;
}

/*
 * Post one alert to Alertmanager: a firing one joins (or refreshes) the set
 * that is re-sent; a resolved one posts the firing alert's labels with
 * endsAt = now and leaves the set. Returns 0 when delivered, 1 when there
 * was nothing to post (a resolution of an alert not firing here), -1 when
 * the delivery failed.
 */
static int am_deliver(alerter *a, const alert_item *it)
{
    int64_t ahead_ns = 4 * a->am_resend_ms * 1000000;
    am_alert *f = am_find(a, it->key);
    am_alert one = { 0 };
    int64_t ends_ns;
    if (it->sev == ALERT_RESOLVED) {
        if (!f) {
            alog(a, ALERT_LOG_DEBUG, "alert %s resolved: not firing in Alertmanager", it->key);
            return 1;
        }
        one = *f;
        *f = a->firing[--a->nfiring];
        ends_ns = (int64_t)it->when.tv_sec * 1000000000 + it->when.tv_nsec;
    } else {
        char *s = strdup(it->title), *d = strdup(it->body);
        if (!s || !d) {
            free(s), free(d);
            alog(a, ALERT_LOG_ERROR, "alert %s: out of memory", it->key);
            return -1;
        }
        if (!f && a->nfiring == AM_MAX_FIRING) {
            alog(a, ALERT_LOG_WARNING,
                 "%d alerts firing; the oldest is no longer re-sent to Alertmanager",
                 AM_MAX_FIRING);
            am_alert_clear(&a->firing[0]);
            memmove(&a->firing[0], &a->firing[1], (a->nfiring - 1) * sizeof *a->firing);
            a->nfiring--;
        }
        if (!f) {
            f = &a->firing[a->nfiring++];
            memset(f, 0, sizeof *f);
            memcpy(f->key, it->key, sizeof f->key);
            f->starts = it->when;
            if (a->nfiring == 1)
                a->am_next_ns = mono_ns() + a->am_resend_ms * 1000000;
        }
        free(f->summary);
        free(f->description);
        f->summary = s;
        f->description = d;
        f->sev = it->sev;
        memcpy(f->symbol, it->symbol, sizeof f->symbol);
        ends_ns = wall_ms() * 1000000 + ahead_ns;
    }
    const am_alert *post = it->sev == ALERT_RESOLVED ? &one : f;
    char *json = am_payload(a, post, 1, ends_ns);
    int rc = -1;
    if (!json) {
        alog(a, ALERT_LOG_ERROR, "alert %s: out of memory building the Alertmanager payload",
             it->key);
    } else {
        attempt_ctx c = {
            .a = a, .payload = json, .len = strlen(json), .origin = a->webhook_origin
        };
        rc = run_with_retry(a, webhook_attempt, &c, "Alertmanager", it);
        free(json);
    }
    if (it->sev == ALERT_RESOLVED)
        am_alert_clear(&one);
    return rc;
}

/* Re-send every firing alert (one attempt: the next interval retries). */
static void am_resend(alerter *a)
{
    a->am_next_ns = mono_ns() + a->am_resend_ms * 1000000;
    char *json =
        am_payload(a, a->firing, a->nfiring, wall_ms() * 1000000 + 4 * a->am_resend_ms * 1000000);
    if (!json) {
        alog(a, ALERT_LOG_ERROR, "out of memory re-sending to Alertmanager");
        return;
    }
    attempt_ctx c = { .a = a, .payload = json, .len = strlen(json), .origin = a->webhook_origin };
    retry_call call = { .attempt = 1 };
    int rc = webhook_attempt(&call, &c);
    free(json);
    if (rc == 0)
        alog(a, ALERT_LOG_DEBUG, "%zu firing alert(s) re-sent to Alertmanager", a->nfiring);
    else if (rc != RC_ABORTED)
        alog(a, ALERT_LOG_WARNING, "re-sending %zu firing alert(s) to %s failed: %s", a->nfiring,
             a->webhook_origin, call.errmsg);
}

/* The number of channels that delivered and failed, as ok[ch] and bad[ch]. */
static void deliver(alerter *a, const alert_item *it, unsigned ok[2], unsigned bad[2])
{
    ok[0] = ok[1] = bad[0] = bad[1] = 0;
    if (a->webhook_url && a->webhook_am) {
        int rc = am_deliver(a, it);
        if (rc == 0)
            ok[ALERT_CHANNEL_WEBHOOK]++;
        else if (rc < 0)
            bad[ALERT_CHANNEL_WEBHOOK]++;
    } else if (a->webhook_url) {
        char *json = webhook_payload(a, it);
        if (!json) {
            alog(a, ALERT_LOG_ERROR, "alert %s: out of memory building the webhook payload",
                 it->key);
            bad[ALERT_CHANNEL_WEBHOOK]++;
        } else {
            attempt_ctx c = {
                .a = a, .payload = json, .len = strlen(json), .origin = a->webhook_origin
            };
            if (run_with_retry(a, webhook_attempt, &c, "webhook", it) == 0)
                ok[ALERT_CHANNEL_WEBHOOK]++;
            else
                bad[ALERT_CHANNEL_WEBHOOK]++;
            free(json);
        }
    }
    if (a->email_enabled) {
        mail msg;
        if (email_message(a, it, &msg) != 0) {
            alog(a, ALERT_LOG_ERROR, "alert %s: out of memory building the email", it->key);
            bad[ALERT_CHANNEL_EMAIL]++;
        } else {
            attempt_ctx c = { .a = a,
                              .payload = msg.text,
                              .len = strlen(msg.text),
                              .mail_headers = msg.headers,
                              .origin = a->smtp_origin };
            if (run_with_retry(a, email_attempt, &c, "email", it) == 0)
                ok[ALERT_CHANNEL_EMAIL]++;
            else
                bad[ALERT_CHANNEL_EMAIL]++;
            mail_free(&msg);
        }
    }
}

static void item_free(alert_item *it)
{
    if (!it)
        return;
    free(it->title);
    free(it->body);
    free(it);
}

static void *delivery_main(void *arg)
{
    alerter *a = arg;
    pthread_mutex_lock(&a->lock);
    for (;;) {
        int resend = 0;
        while (!a->head && !a->stopping) {
            if (a->nfiring == 0) {
                pthread_cond_wait(&a->wake, &a->lock);
                continue;
            }
            if (mono_ns() >= a->am_next_ns) {
                resend = 1;
                break;
            }
            struct timespec ts = { (time_t)(a->am_next_ns / 1000000000),
                                   (long)(a->am_next_ns % 1000000000) };
            pthread_cond_timedwait(&a->wake, &a->lock, &ts);
        }
        if (resend) {
            a->busy = 1;
            pthread_mutex_unlock(&a->lock);
            am_resend(a);
            pthread_mutex_lock(&a->lock);
            a->busy = 0;
            continue;
        }
        if (!a->head)
            break;
        if (atomic_load(&a->abort_flag)) {
            uint64_t n = 0;
            while (a->head) {
                alert_item *it = a->head;
                a->head = it->next;
                item_free(it);
                n++;
            }
            a->tail = NULL;
            a->queued = 0;
            a->dropped += n;
            pthread_mutex_unlock(&a->lock);
            alog(a, ALERT_LOG_WARNING, "%llu alert(s) dropped at shutdown", (unsigned long long)n);
            pthread_mutex_lock(&a->lock);
            break;
        }
        alert_item *it = a->head;
        a->head = it->next;
        if (!a->head)
            a->tail = NULL;
        a->queued--;
        a->busy = 1;
        pthread_mutex_unlock(&a->lock);

        unsigned ok[2], bad[2];
        deliver(a, it, ok, bad);
        item_free(it);

        pthread_mutex_lock(&a->lock);
        for (int ch = 0; ch < 2; ch++) {
            a->sent += ok[ch];
            a->failed += bad[ch];
            a->ch_sent[ch] += ok[ch];
            a->ch_failed[ch] += bad[ch];
        }
        a->busy = 0;
    }
    a->done = 1;
    pthread_cond_broadcast(&a->done_cv);
    pthread_mutex_unlock(&a->lock);
    return NULL;
}

/* --------------------------------------------------------------- Public API */

static void release(alerter *a)
{
    text_wipe_free(a->webhook_url);
    for (size_t i = 0; i < a->nrcpt; i++)
        free(a->rcpt[i]);
    free(a->rcpt);
    free(a->mail_from);
    free(a->from_header);
    free(a->to_header);
    free(a->smtp_url);
    text_wipe_free(a->smtp_user);
    text_wipe_free(a->smtp_password);
    for (size_t i = 0; i < a->nsecrets; i++)
        text_wipe_free(a->secrets[i]);
    free(a->secrets);
    text_masker_free(a->masker);
    for (size_t i = 0; i < a->nfiring; i++)
        am_alert_clear(&a->firing[i]);
    free(a->firing);
    free(a->am_instance);
    free(a->am_job);
    free(a->am_generator);
    free(a->slots);
    free(a);
}

/* The URL to POST to: for Alertmanager, a base URL gets /api/v2/alerts. */
static char *am_url(const alert_options *o)
{
    const char *u = o->webhook_url;
    const char *path = strstr(u, "://") + 3;
    path += strcspn(path, "/?#");
    strbuf b = STRBUF_INIT;
    strbuf_add(&b, u, (size_t)(path - u));
    strbuf_puts(&b, o->webhook_alertmanager && (!*path || strcmp(path, "/") == 0) ? "/api/v2/alerts"
                                                                                  : path);
    return strbuf_take(&b);
}

int alerter_new(alerter **out, const alert_options *o)
{
    *out = NULL;
    alerter *a = calloc(1, sizeof *a);
    if (!a)
        return ALERT_ENOMEM;
    a->log = o->log;
    a->log_ud = o->log_ud;
    a->clock_ms = o->clock_ms ? o->clock_ms : default_clock_ms;
    a->clock_ud = o->clock_ud;
    a->window_ms = o->dedup_window_ms ? o->dedup_window_ms : 15 * 60 * 1000;
    a->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 10000;
    a->max_attempts = o->max_attempts > 0 ? (uint32_t)o->max_attempts : 4;
    a->base_ms = o->retry_base_ms > 0 ? o->retry_base_ms : 500;
    a->cap_ms = o->retry_cap_ms > 0 ? o->retry_cap_ms : 30000;
    if (a->cap_ms < a->base_ms)
        a->cap_ms = a->base_ms;
    a->capacity = o->queue_capacity > 0 ? (size_t)o->queue_capacity : 64;
    a->drain_ms = o->drain_timeout_ms > 0 ? o->drain_timeout_ms : 5000;
    atomic_init(&a->abort_flag, 0);

    int rc = ALERT_OK;
    if (o->timeout_ms < 0 || o->max_attempts < 0 || o->queue_capacity < 0 || o->retry_base_ms < 0 ||
        o->retry_cap_ms < 0 || o->drain_timeout_ms < 0) {
        alog(a, ALERT_LOG_ERROR, "negative option value");
        rc = ALERT_EINVAL;
    }
    for (const char *const *s = o->secrets; rc == ALERT_OK && s && *s; s++)
        if (add_secret(a, *s, strlen(*s)) != 0)
            rc = ALERT_ENOMEM;
    if (rc == ALERT_OK && o->smtp_password &&
        add_secret(a, o->smtp_password, strlen(o->smtp_password)) != 0)
        rc = ALERT_ENOMEM;
    if (rc == ALERT_OK && o->webhook_url && *o->webhook_url) {
        rc = parse_webhook(a, o->webhook_url);
        if (rc == ALERT_EINVAL)
            alog(a, ALERT_LOG_ERROR, "ALERT_WEBHOOK_URL is not an http(s) URL");
        else if (rc == ALERT_OK && !(a->webhook_url = am_url(o)))
            rc = ALERT_ENOMEM;
        a->webhook_slack = o->webhook_slack;
        a->webhook_am = o->webhook_alertmanager != 0;
    }
    if (rc == ALERT_OK && o->am_resend_ms < 0) {
        alog(a, ALERT_LOG_ERROR, "negative Alertmanager re-send interval");
        rc = ALERT_EINVAL;
    }
    a->am_resend_ms = o->am_resend_ms > 0 ? o->am_resend_ms : 60000;
    if (rc == ALERT_OK && o->email_enabled)
        rc = parse_email(a, o);
    if (rc == ALERT_OK && !(a->slots = calloc(DEDUP_SLOTS, sizeof *a->slots)))
        rc = ALERT_ENOMEM;
    if (rc != ALERT_OK) {
        release(a);
        return rc;
    }

    if (gethostname(a->host, sizeof a->host - 1) != 0 || !a->host[0])
        snprintf(a->host, sizeof a->host, "localhost");
    a->host[sizeof a->host - 1] = '\0';
    /* Message-ID's domain: the host's fully qualified name, else the
     * sender's domain, else the host name under .localdomain. */
    char fqdn[256];
    if (!host_fqdn(fqdn, sizeof fqdn)) {
        if (strchr(a->from_domain, '.'))
            snprintf(fqdn, sizeof fqdn, "%s", a->from_domain);
        else
            snprintf(fqdn, sizeof fqdn, "%.200s.localdomain", a->host);
    }
    size_t j = 0;
    for (const char *p = fqdn; *p && j < sizeof a->msgid_host - 1; p++)
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            *p == '.' || *p == '-')
            a->msgid_host[j++] = *p;
    if (j == 0)
        snprintf(a->msgid_host, sizeof a->msgid_host, "localhost");
    if (a->webhook_am) {
        a->am_instance = strdup(o->am_instance && *o->am_instance ? o->am_instance : a->host);
        a->am_job = strdup(o->am_job && *o->am_job ? o->am_job : "ingestor");
        a->am_generator =
            o->am_generator_url && *o->am_generator_url ? strdup(o->am_generator_url) : NULL;
        a->firing = calloc(AM_MAX_FIRING, sizeof *a->firing);
        if (!a->am_instance || !a->am_job || !a->firing ||
            (o->am_generator_url && *o->am_generator_url && !a->am_generator)) {
            release(a);
            return ALERT_ENOMEM;
        }
    }

    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&a->lock, NULL);
    pthread_cond_init(&a->wake, &ca);
    pthread_cond_init(&a->done_cv, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&a->thread, NULL, delivery_main, a) != 0) {
        pthread_mutex_destroy(&a->lock);
        pthread_cond_destroy(&a->wake);
        pthread_cond_destroy(&a->done_cv);
        release(a);
        return ALERT_ETHREAD;
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
    pthread_cond_broadcast(&a->wake);
    int64_t until = mono_ns() + a->drain_ms * 1000000;
    while (!a->done) {
        if (mono_ns() >= until) {
            atomic_store(&a->abort_flag, 1);
            pthread_cond_broadcast(&a->wake);
            pthread_cond_wait(&a->done_cv, &a->lock);
            continue;
        }
        struct timespec ts = { (time_t)(until / 1000000000), (long)(until % 1000000000) };
        pthread_cond_timedwait(&a->done_cv, &a->lock, &ts);
    }
    pthread_mutex_unlock(&a->lock);
    pthread_join(a->thread, NULL);
    pthread_mutex_destroy(&a->lock);
    pthread_cond_destroy(&a->wake);
    pthread_cond_destroy(&a->done_cv);
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
    if (!*key || strlen(key) > ALERT_KEY_MAX ||
        (sev != ALERT_CRITICAL && sev != ALERT_WARNING && sev != ALERT_RESOLVED))
        return ALERT_EINVAL;
    alert_item *it = calloc(1, sizeof *it);
    if (!it)
        return ALERT_ENOMEM;
    char *k = scrub_dup(a, key, ALERT_KEY_MAX);
    char *sym = scrub_dup(a, symbol ? symbol : "", sizeof it->symbol - 1);
    it->title = scrub_dup(a, title, TITLE_MAX);
    it->body = scrub_dup(a, body ? body : "", BODY_MAX);
    if (k && sym) {
        snprintf(it->key, sizeof it->key, "%s", k);
        snprintf(it->symbol, sizeof it->symbol, "%s", sym);
    }
    int bad = !k || !sym || !it->title || !it->body;
    free(k);
    free(sym);
    if (bad) {
        item_free(it);
        return ALERT_ENOMEM;
    }
    it->sev = sev;
    clock_gettime(CLOCK_REALTIME, &it->when);

    int rc = ALERT_OK;
    pthread_mutex_lock(&a->lock);
    int64_t now = a->clock_ms(a->clock_ud);
    dedup_slot *slot = NULL, *freeslot = NULL, *oldest = NULL;
    for (size_t i = 0; i < DEDUP_SLOTS; i++) {
        dedup_slot *s = &a->slots[i];
        if (!s->used) {
            if (!freeslot)
                freeslot = s;
            continue;
        }
        if (strcmp(s->key, it->key) == 0)
            slot = s;
        if (!oldest || s->at_ms < oldest->at_ms)
            oldest = s;
    }
    if (sev == ALERT_RESOLVED) {
        if (slot)
            slot->used = 0;
    } else if (a->window_ms > 0 && slot && now - slot->at_ms < a->window_ms) {
        a->suppressed++;
        rc = ALERT_SUPPRESSED;
    }
    if (rc == ALERT_OK && a->queued >= a->capacity) {
        a->dropped++;
        rc = ALERT_EFULL;
    }
    if (rc == ALERT_OK) {
        if (sev != ALERT_RESOLVED && a->window_ms > 0) {
            dedup_slot *s = slot ? slot : freeslot ? freeslot : oldest;
            memcpy(s->key, it->key, sizeof s->key);
            s->at_ms = now;
            s->used = 1;
        }
        if (a->tail)
            a->tail->next = it;
        else
            a->head = it;
        a->tail = it;
        a->queued++;
        pthread_cond_broadcast(&a->wake);
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
    if (sent)
        *sent = a->sent;
    if (failed)
        *failed = a->failed;
    if (suppressed)
        *suppressed = a->suppressed;
    if (dropped)
        *dropped = a->dropped;
    pthread_mutex_unlock(&a->lock);
}

void alerter_channel_counts(alerter *a, alert_channel ch, uint64_t *sent, uint64_t *failed)
{
    unsigned i = ch == ALERT_CHANNEL_EMAIL ? 1 : 0;
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
    int rc = parse_webhook(a, url);
    if (rc == ALERT_OK) {
        snprintf(origin, size, "%s", a->webhook_origin);
        *scrubbed = scrub_dup(a, text, BODY_MAX);
        if (!*scrubbed)
            rc = ALERT_ENOMEM;
    }
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
    if (!*key || strlen(key) > ALERT_KEY_MAX)
        return NULL;
    alerter *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->from_header = strdup(from);
    a->to_header = strdup(to);
    snprintf(a->host, sizeof a->host, "fuzz.invalid");
    snprintf(a->msgid_host, sizeof a->msgid_host, "fuzz.invalid");
    alert_item it = { .sev = ALERT_WARNING };
    snprintf(it.key, sizeof it.key, "%s", key);
    it.title = scrub_dup(a, title, TITLE_MAX);
    it.body = scrub_dup(a, body, BODY_MAX);
    /* the header fields one per line, a blank line, then the text (which
     * libcurl sends quoted-printable) */
    char *msg = NULL;
    mail m;
    if (it.title && it.body && a->from_header && a->to_header && email_message(a, &it, &m) == 0) {
        strbuf b = STRBUF_INIT;
        for (const struct curl_slist *h = m.headers; h; h = h->next)
            strbuf_printf(&b, "%s\r\n", h->data);
        strbuf_printf(&b, "\r\n%s", m.text);
        msg = strbuf_take(&b);
        mail_free(&m);
    }
    free(it.title);
    free(it.body);
    release(a);
    return msg;
}
