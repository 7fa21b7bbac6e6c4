/*
 * The alerting module (examples/ingestor/alert.c) against real receivers on
 * loopback: a webhook receiver (libmicrohttpd, in-process) and a plain-text
 * SMTP sink (receivers.c, shared with the integration tests). Content of
 * both webhook formats and of the email, secrets scrubbed everywhere (alerts
 * and logs), deduplication with a fake clock, retries (503, 503, 200), no
 * retry on 400, STARTTLS required, and alert_raise() never blocking while
 * the receiver is stalled.
 */
#define _XOPEN_SOURCE 700 /* strptime */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <microhttpd.h>

#include "alert.h"
#include "deadline.h"
#include "receivers.h"

#define SECRET_API  "sk_live_FAKE4PIKEY0123456789"
#define SECRET_PASS "smtp-P4ssw0rd-do-not-leak"
#define HOOK_TOKEN  "T0KEN-B1234-XYZsecretpath"

static const char *const secrets[] = { SECRET_API, NULL };

/* ------------------------------------------------------------------------ */
/* Helpers                                                                  */
/* ------------------------------------------------------------------------ */

#define WAIT_FOR(cond, ms) WAIT_FOR_EVERY(cond, ms, 2)

/* Every log line of the module, to check that none carries a secret. */
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static char log_text[65536];

static void capture_log(int level, const char *msg, void *ud)
{
    (void)ud;
    assert_true(level >= ALERT_LOG_DEBUG && level <= ALERT_LOG_ERROR);
    pthread_mutex_lock(&log_lock);
    size_t len = strlen(log_text);
    snprintf(log_text + len, sizeof log_text - len, "%d %s\n", level, msg);
    pthread_mutex_unlock(&log_lock);
}

static int log_contains(const char *s)
{
    pthread_mutex_lock(&log_lock);
    int r = strstr(log_text, s) != NULL;
    pthread_mutex_unlock(&log_lock);
    return r;
}

static void assert_no_secret(const char *s)
{
    assert_null(strstr(s, SECRET_API));
    assert_null(strstr(s, SECRET_PASS));
    assert_null(strstr(s, HOOK_TOKEN));
}

static void assert_log_clean(void)
{
    pthread_mutex_lock(&log_lock);
    assert_no_secret(log_text);
    pthread_mutex_unlock(&log_lock);
}

static _Atomic int64_t fake_now;

static int64_t fake_clock(void *ud)
{
    (void)ud;
    return atomic_load(&fake_now);
}

static uint64_t count_sent(alerter *a)
{
    uint64_t n;
    alerter_counts(a, &n, NULL, NULL, NULL);
    return n;
}

static uint64_t count_failed(alerter *a)
{
    uint64_t n;
    alerter_counts(a, NULL, &n, NULL, NULL);
    return n;
}

static void base_options(alert_options *o)
{
    memset(o, 0, sizeof *o);
    o->secrets = secrets;
    o->timeout_ms = 5000;
    o->max_attempts = 4;
    o->retry_base_ms = 1;
    o->retry_cap_ms = 5;
    o->log = capture_log;
    o->clock_ms = fake_clock;
}

static void webhook_options(alert_options *o, const hook *h)
{
    base_options(o);
    o->webhook_url = h->url;
}

/* Email to `to` through the sink, from ingestor@example.com, as user (NULL: no AUTH). */
static void email_options(alert_options *o, const smtp_sink *s, const char *to, const char *user,
                          const char *password)
{
    base_options(o);
    o->email_enabled = 1;
    o->email_to = to;
    o->email_from = "ingestor@example.com";
    o->smtp_host = "127.0.0.1";
    o->smtp_port = s->port;
    o->smtp_user = user;
    o->smtp_password = password;
}

static alerter *new_alerter(const alert_options *o)
{
    alerter *a;
    assert_int_equal(alerter_new(&a, o), ALERT_OK);
    return a;
}

static int setup(void **state)
{
    (void)state;
    pthread_mutex_lock(&log_lock);
    log_text[0] = '\0';
    pthread_mutex_unlock(&log_lock);
    atomic_store(&fake_now, 1000000);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    assert_log_clean();
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Webhook receiver and SMTP sink: receivers.c                              */
/* ------------------------------------------------------------------------ */

/* The 2xx bodies, parsed, in order. */
static cJSON *hook_delivered(hook *h, int n)
{
    int seen = 0;
    pthread_mutex_lock(&h->lock);
    for (int i = 0; i < h->requests && i < HOOK_MAX_REQ; i++) {
        if (h->status[i] / 100 != 2)
            continue;
        if (seen++ == n) {
            assert_no_secret(h->body[i]);
            assert_string_equal(h->ctype[i], "application/json");
            cJSON *j = cJSON_Parse(h->body[i]);
            pthread_mutex_unlock(&h->lock);
            assert_non_null(j);
            return j;
        }
    }
    pthread_mutex_unlock(&h->lock);
    fail_msg("no delivery number %d", n);
    return NULL;
}

static const char *jstr(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    assert_true(cJSON_IsString(v));
    return v->valuestring;
}

/* ------------------------------------------------------------------------ */
/* Tests                                                                    */
/* ------------------------------------------------------------------------ */

static void webhook_generic_json_without_secrets(void **state)
{
    (void)state;
    hook *h = hook_start(HOOK_TOKEN);
    alert_options o;
    webhook_options(&o, h);
    o.email_enabled = 0;
    o.smtp_password = SECRET_PASS; /* a secret even without email */
    alerter *a = new_alerter(&o);

    char body[512];
    snprintf(body, sizeof body,
             "worker lost its lease\nsmtp password %s, hook %s, path /services/%s, token %s "
             "\"quoted\"",
             SECRET_PASS, h->url, HOOK_TOKEN, HOOK_TOKEN);
    assert_int_equal(alert_raise(a, "job-dead:42", ALERT_CRITICAL,
                                 "job 42 declared dead (key " SECRET_API ")", body),
                     ALERT_OK);
    WAIT_FOR(count_sent(a) == 1, 10000);
    assert_int_equal(count_failed(a), 0);
    assert_int_equal(hook_requests(h), 1);

    cJSON *j = hook_delivered(h, 0);
    assert_string_equal(jstr(j, "key"), "job-dead:42");
    assert_string_equal(jstr(j, "severity"), "critical");
    assert_string_equal(jstr(j, "title"), "job 42 declared dead (key ********)");
    assert_string_equal(jstr(j, "body"),
                        "worker lost its lease\nsmtp password ********, hook ********, path "
                        "********, token ******** \"quoted\"");
    assert_string_equal(jstr(j, "source"), "ingestor");
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    assert_string_equal(jstr(j, "host"), host);
    /* RFC 3339 UTC: 2024-01-02T03:04:05.678Z */
    const char *t = jstr(j, "time");
    int y, mo, d, hh, mi, ss, ms;
    char z = 0;
    assert_int_equal(
        sscanf(t, "%4d-%2d-%2dT%2d:%2d:%2d.%3d%c", &y, &mo, &d, &hh, &mi, &ss, &ms, &z), 8);
    assert_int_equal(z, 'Z');
    assert_true(y >= 2024 && mo >= 1 && mo <= 12);
    assert_int_equal(cJSON_GetArraySize(j), 7);
    cJSON_Delete(j);
    alerter_free(a);

    /* the log names the receiver by scheme://host only */
    char origin[64];
    snprintf(origin, sizeof origin, "http://127.0.0.1:%d", h->port);
    assert_true(log_contains(origin));
    assert_log_clean();
    hook_stop(h);
}

static void webhook_slack_format(void **state)
{
    (void)state;
    hook *h = hook_start(HOOK_TOKEN);
    alert_options o;
    webhook_options(&o, h);
    o.webhook_slack = 1;
    alerter *a = new_alerter(&o);
    assert_int_equal(alert_raise(a, "dq:AAPL", ALERT_WARNING, "quality score 0.42 < 0.80 for AAPL",
                                 "12 of 250 candles rejected & key=" SECRET_API),
                     ALERT_OK);
    assert_int_equal(alert_raise(a, "breaker:polygon", ALERT_RESOLVED, "API breaker closed", NULL),
                     ALERT_OK);
    WAIT_FOR(count_sent(a) == 2, 10000);

    cJSON *j = hook_delivered(h, 0);
    assert_int_equal(cJSON_GetArraySize(j), 1); /* Slack incoming webhook: {"text": ...} */
    const char *text = jstr(j, "text");
    assert_non_null(strstr(text, "[WARNING]"));
    assert_non_null(strstr(text, "quality score 0.42 &lt; 0.80 for AAPL"));
    assert_non_null(strstr(text, "12 of 250 candles rejected &amp; key=********"));
    assert_non_null(strstr(text, "dq:AAPL"));
    assert_null(strstr(text, SECRET_API));
    cJSON_Delete(j);

    j = hook_delivered(h, 1);
    text = jstr(j, "text");
    assert_non_null(strstr(text, "[RESOLVED]"));
    assert_non_null(strstr(text, "API breaker closed"));
    cJSON_Delete(j);
    alerter_free(a);
    hook_stop(h);
}

static void email_headers_body_and_no_secrets(void **state)
{
    (void)state;
    smtp_sink *s = sink_start(1);
    alert_options o;
    email_options(&o, s, " ops@example.com, oncall@example.org ", "alerts", SECRET_PASS);
    o.smtp_tls_off = 1;
    alerter *a = new_alerter(&o);
    assert_int_equal(alert_raise(a, "run-missed:2024-06-03", ALERT_CRITICAL,
                                 "scheduled run did not complete",
                                 "the 06:00 run stopped at AAPL\n.dot line stays\r\n"
                                 "password " SECRET_PASS " api " SECRET_API),
                     ALERT_OK);
    WAIT_FOR(count_sent(a) == 1, 10000);
    assert_int_equal(count_failed(a), 0);
    uint64_t ch_sent = 9, ch_failed = 9;
    alerter_channel_counts(a, ALERT_CHANNEL_EMAIL, &ch_sent, &ch_failed);
    assert_true(ch_sent == 1 && ch_failed == 0);
    alerter_channel_counts(a, ALERT_CHANNEL_WEBHOOK, &ch_sent, &ch_failed);
    assert_true(ch_sent == 0 && ch_failed == 0);

    assert_int_equal(sink_messages(s), 1);
    /* AUTH PLAIN: authzid \0 user \0 password — the one place the password goes */
    static const char *const rcpt[] = { "<ops@example.com>", "<oncall@example.org>", NULL };
    sink_expect_envelope(s, "alerts", SECRET_PASS, "<ingestor@example.com>", rcpt);
    char *msg = sink_last_message(s);

    assert_no_secret(msg);
    char v[512];
    mail_header(msg, "From", v, sizeof v);
    assert_string_equal(v, "ingestor@example.com");
    mail_header(msg, "To", v, sizeof v);
    assert_string_equal(v, "ops@example.com, oncall@example.org");
    mail_header(msg, "Subject", v, sizeof v);
    assert_string_equal(v, "[ingestor CRITICAL] scheduled run did not complete");
    mail_header(msg, "MIME-Version", v, sizeof v);
    assert_string_equal(v, "1.0");
    /* libcurl's MIME API: one quoted-printable text part */
    mail_header(msg, "Content-Type", v, sizeof v);
    assert_memory_equal(v, "multipart/mixed; boundary=", 26);
    assert_non_null(strstr(msg, "\r\nContent-Type: text/plain; charset=utf-8\r\n"));
    assert_non_null(strstr(msg, "\r\nContent-Transfer-Encoding: quoted-printable\r\n"));
    mail_header(msg, "Message-ID", v, sizeof v);
    assert_true(v[0] == '<' && v[strlen(v) - 1] == '>' && strchr(v, '@'));
    mail_header(msg, "Date", v, sizeof v);
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *end = strptime(v, "%a, %d %b %Y %H:%M:%S", &tm);
    assert_non_null(end);
    assert_string_equal(end, " +0000");
    const char *body = strstr(msg, "\r\n\r\n");
    assert_non_null(body);
    assert_null(strstr(body, "scheduled run did not complete")); /* the Subject only */
    assert_non_null(strstr(body, "\r\nthe 06:00 run stopped at AAPL\r\n.dot line stays\r\n"));
    assert_non_null(strstr(body, "password ******** api ********"));
    assert_non_null(strstr(body, "Key: run-missed:2024-06-03\r\n"));
    assert_non_null(strstr(body, "Severity: critical\r\n"));
    /* no bare LF anywhere */
    for (const char *p = msg; *p; p++)
        if (*p == '\n')
            assert_true(p > msg && p[-1] == '\r');
    free(msg);
    alerter_free(a);
    assert_log_clean();
    sink_stop(s);
}

static void email_non_ascii_subject_is_encoded(void **state)
{
    (void)state;
    smtp_sink *s = sink_start(0);
    alert_options o;
    email_options(&o, s, "ops@example.com", NULL, NULL);
    o.smtp_tls_off = 1;
    alerter *a = new_alerter(&o);
    assert_int_equal(
        alert_raise(a, "dq:MSFT", ALERT_WARNING, "Qualität niedrig\r\nBcc: x@y.z", "Größe"),
        ALERT_OK);
    WAIT_FOR(count_sent(a) == 1, 10000);
    char *msg = sink_last_message(s);
    char v[512];
    mail_header(msg, "Subject", v, sizeof v);
    assert_memory_equal(v, "=?UTF-8?B?", 10);
    /* the title's CR LF did not start a header of its own */
    mail_header(msg, "Bcc", v, sizeof v);
    assert_string_equal(v, "");
    assert_non_null(strstr(msg, "\r\nGr=C3=B6=C3=9Fe\r\n")); /* "Größe", quoted-printable */
    /* the encoded words decode to the subject, CR LF turned into spaces */
    const char *p = strstr(msg, "\r\nSubject: ");
    assert_non_null(p);
    p += 11;
    char dec[512];
    size_t n = 0;
    while ((p = strstr(p, "=?UTF-8?B?")) && p < strstr(msg, "\r\n\r\n")) {
        p += 10;
        const char *e = strstr(p, "?=");
        assert_non_null(e);
        char word[128];
        snprintf(word, sizeof word, "%.*s", (int)(e - p), p);
        n += b64_decode(word, dec + n, sizeof dec - 1 - n);
        p = e + 2;
    }
    dec[n] = '\0';
    assert_string_equal(dec, "[ingestor WARNING] Qualität niedrig  Bcc: x@y.z");
    free(msg);
    alerter_free(a);
    sink_stop(s);
}

/* A strict parser's view (Python's email package, policy.default) of a
 * message with a long title, a non-ASCII body and a display-name sender:
 * no defects, every header line under 78 bytes (but libcurl's own
 * multipart Content-Type, 80 with its boundary), a 7-bit message (the body
 * encoded, as 8BITMIME is not negotiated), a fully qualified domain in
 * Message-ID, and a body that does not start with the title again. */
static const char strict_check_py[] =
    "import sys, email, email.policy\n"
    "raw = open(sys.argv[1], 'rb').read()\n"
    "title = sys.argv[2]\n"
    "m = email.message_from_bytes(raw, policy=email.policy.default)\n"
    "errs = []\n"
    "for p in m.walk():\n"
    "    errs += [repr(d) for d in p.defects]\n"
    "head = raw.split(b'\\r\\n\\r\\n', 1)[0]\n"
    "errs += ['long header line: %r' % l for l in head.split(b'\\r\\n')\n"
    "         if len(l) > 78 and not l.startswith(b'Content-Type: multipart/mixed; boundary=')]\n"
    "if any(b > 127 for b in raw): errs.append('8-bit bytes without 8BITMIME')\n"
    "f = m['From'].addresses[0]\n"
    "if (f.display_name, f.addr_spec) != ('Ingestor Alerts', 'alerts@example.com'):\n"
    "    errs.append('From: %r' % str(m['From']))\n"
    "mid = m['Message-ID'].strip('<>').rsplit('@', 1)[1]\n"
    "if '.' not in mid: errs.append('Message-ID domain not qualified: ' + mid)\n"
    "if str(m['Subject']) != '[ingestor WARNING] ' + title:\n"
    "    errs.append('Subject: %r' % str(m['Subject']))\n"
    "body = m.get_body(('plain',)).get_content()\n"
    "if body.startswith(title): errs.append('body repeats the title')\n"
    "if 'Größe 5 %' not in body: errs.append('body: %r' % body)\n"
    "print('; '.join(errs) if errs else 'clean')\n";

static void email_strict_parse(void **state)
{
    (void)state;
    smtp_sink *s = sink_start(0);
    alert_options o;
    email_options(&o, s, "ops@example.com", NULL, NULL);
    o.email_from = "Ingestor Alerts <alerts@example.com>";
    o.smtp_tls_off = 1;
    alerter *a = new_alerter(&o);
    const char *title = "AAPL: data-quality score 0.4200 below 0.9000 (job 1234567, "
                        "2024-01-02..2024-06-28: 48000 bars, 120 quarantined, 35 warnings)";
    assert_int_equal(alert_raise(a, "dq-score:AAPL", ALERT_WARNING, title, "Größe 5 %\nhost h"),
                     ALERT_OK);
    WAIT_FOR(count_sent(a) + count_failed(a) == 1, 10000);
    assert_int_equal(count_sent(a), 1);
    char *msg = sink_last_message(s);
    char path[] = "/tmp/alert-mail-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, msg, strlen(msg)), (ssize_t)strlen(msg));
    close(fd);
    char script[] = "/tmp/alert-check-XXXXXX";
    fd = mkstemp(script);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, strict_check_py, strlen(strict_check_py)),
                     (ssize_t)strlen(strict_check_py));
    close(fd);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "python3 %s %s '%s'", script, path, title);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char verdict[2048] = "";
    if (!fgets(verdict, sizeof verdict, p))
        verdict[0] = '\0';
    pclose(p);
    unlink(path);
    unlink(script);
    verdict[strcspn(verdict, "\n")] = '\0';
    if (strcmp(verdict, "clean") != 0)
        print_message("%s\n", msg);
    assert_string_equal(verdict, "clean");
    free(msg);
    alerter_free(a);
    sink_stop(s);
}

static void email_requires_starttls_unless_switched_off(void **state)
{
    (void)state;
    smtp_sink *s = sink_start(1);
    alert_options o;
    email_options(&o, s, "ops@example.com", "alerts", SECRET_PASS);
    o.smtp_tls_off = 0; /* the default: STARTTLS required */
    alerter *a = new_alerter(&o);
    assert_int_equal(alert_raise(a, "job-dead:7", ALERT_CRITICAL, "job 7 declared dead", "body"),
                     ALERT_OK);
    WAIT_FOR(count_failed(a) == 1, 10000);
    assert_int_equal(count_sent(a), 0);
    pthread_mutex_lock(&s->lock);
    /* not retried (it cannot help), and nothing went out in clear */
    assert_int_equal(s->connections, 1);
    assert_int_equal(s->mails, 0);
    assert_int_equal(s->messages, 0);
    assert_int_equal(s->auth_len, 0);
    pthread_mutex_unlock(&s->lock);
    alerter_free(a);
    assert_true(log_contains("email delivery"));
    sink_stop(s);
}

static void dedup_window_with_fake_clock(void **state)
{
    (void)state;
    hook *h = hook_start(HOOK_TOKEN);
    alert_options o;
    webhook_options(&o, h);
    o.dedup_window_ms = 60000;
    alerter *a = new_alerter(&o);

    assert_int_equal(alert_raise(a, "breaker:polygon", ALERT_CRITICAL, "breaker open", NULL),
                     ALERT_OK);
    assert_int_equal(alert_raise(a, "breaker:polygon", ALERT_CRITICAL, "breaker open", NULL),
                     ALERT_SUPPRESSED);
    atomic_fetch_add(&fake_now, 59999);
    assert_int_equal(alert_raise(a, "breaker:polygon", ALERT_WARNING, "still open", NULL),
                     ALERT_SUPPRESSED);
    /* another key is independent */
    assert_int_equal(alert_raise(a, "job-dead:1", ALERT_CRITICAL, "job 1 dead", NULL), ALERT_OK);
    WAIT_FOR(count_sent(a) == 2, 10000);

    /* past the window: delivered again */
    atomic_fetch_add(&fake_now, 2);
    assert_int_equal(alert_raise(a, "breaker:polygon", ALERT_CRITICAL, "breaker open", NULL),
                     ALERT_OK);
    assert_int_equal(alert_raise(a, "breaker:polygon", ALERT_CRITICAL, "breaker open", NULL),
                     ALERT_SUPPRESSED);
    WAIT_FOR(count_sent(a) == 3, 10000);

    /* resolved always goes through and resets the window */
    assert_int_equal(alert_raise(a, "breaker:polygon", ALERT_RESOLVED, "breaker closed", NULL),
                     ALERT_OK);
    assert_int_equal(alert_raise(a, "breaker:polygon", ALERT_CRITICAL, "breaker open again", NULL),
                     ALERT_OK);
    assert_int_equal(alert_raise(a, "breaker:polygon", ALERT_RESOLVED, "breaker closed", NULL),
                     ALERT_OK);
    WAIT_FOR(count_sent(a) == 6, 10000);

    uint64_t sent, failed, suppressed, dropped;
    alerter_counts(a, &sent, &failed, &suppressed, &dropped);
    assert_int_equal(sent, 6);
    assert_int_equal(failed, 0);
    assert_int_equal(suppressed, 3);
    assert_int_equal(dropped, 0);
    assert_int_equal(hook_requests(h), 6);

    static const char *const want[][2] = {
        { "breaker:polygon", "critical" }, { "job-dead:1", "critical" },
        { "breaker:polygon", "critical" }, { "breaker:polygon", "resolved" },
        { "breaker:polygon", "critical" }, { "breaker:polygon", "resolved" },
    };
    for (int i = 0; i < 6; i++) {
        cJSON *j = hook_delivered(h, i);
        assert_string_equal(jstr(j, "key"), want[i][0]);
        assert_string_equal(jstr(j, "severity"), want[i][1]);
        cJSON_Delete(j);
    }
    alerter_free(a);
    hook_stop(h);
}

static void retried_after_503_twice(void **state)
{
    (void)state;
    hook *h = hook_start(HOOK_TOKEN);
    h->script[0] = 503;
    h->script[1] = 503;
    h->nscript = 2;
    h->retry_after_zero = 1;
    alert_options o;
    webhook_options(&o, h);
    alerter *a = new_alerter(&o);
    assert_int_equal(alert_raise(a, "job-dead:9", ALERT_CRITICAL, "job 9 dead", NULL), ALERT_OK);
    WAIT_FOR(count_sent(a) == 1, 10000);
    assert_int_equal(count_failed(a), 0);
    assert_int_equal(hook_requests(h), 3);
    cJSON *j = hook_delivered(h, 0);
    assert_string_equal(jstr(j, "key"), "job-dead:9");
    cJSON_Delete(j);
    alerter_free(a);
    hook_stop(h);
}

static void too_many_requests_then_exhausted(void **state)
{
    (void)state;
    hook *h = hook_start(HOOK_TOKEN);
    for (int i = 0; i < 8; i++)
        h->script[i] = i % 2 ? 500 : 429;
    h->nscript = 8;
    alert_options o;
    webhook_options(&o, h);
    o.max_attempts = 3;
    alerter *a = new_alerter(&o);
    assert_int_equal(alert_raise(a, "dq:X", ALERT_WARNING, "low score", NULL), ALERT_OK);
    WAIT_FOR(count_failed(a) == 1, 10000);
    assert_int_equal(count_sent(a), 0);
    assert_int_equal(hook_requests(h), 3);
    alerter_free(a);
    assert_true(log_contains("HTTP status 429"));
    hook_stop(h);
}

static void client_error_fails_without_retry(void **state)
{
    (void)state;
    hook *h = hook_start(HOOK_TOKEN);
    h->script[0] = 400;
    h->nscript = 1;
    alert_options o;
    webhook_options(&o, h);
    alerter *a = new_alerter(&o);
    assert_int_equal(alert_raise(a, "job-dead:3", ALERT_CRITICAL, "job 3 dead", NULL), ALERT_OK);
    WAIT_FOR(count_failed(a) == 1, 10000);
    assert_int_equal(count_sent(a), 0);
    assert_int_equal(alerter_pending(a), 0);
    /* the run is over: one request, never another */
    assert_int_equal(hook_requests(h), 1);
    alerter_free(a);
    assert_true(log_contains("HTTP status 400"));
    assert_log_clean();
    hook_stop(h);
}

static void transport_errors_are_retried_then_fail(void **state)
{
    (void)state;
    /* a port with nobody listening */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof addr), 0);
    socklen_t al = sizeof addr;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&addr, &al), 0);
    close(fd);
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/hook/%s", ntohs(addr.sin_port), HOOK_TOKEN);
    alert_options o;
    base_options(&o);
    o.webhook_url = url;
    o.max_attempts = 3;
    alerter *a = new_alerter(&o);
    assert_int_equal(alert_raise(a, "k", ALERT_CRITICAL, "t", NULL), ALERT_OK);
    WAIT_FOR(count_failed(a) == 1, 10000);
    alerter_free(a);
    assert_true(log_contains("after 3 attempt(s)"));
    assert_log_clean();
}

static void raise_never_blocks_while_receiver_stalls(void **state)
{
    (void)state;
    hook *h = hook_start(HOOK_TOKEN);
    h->stall = 1;
    alert_options o;
    webhook_options(&o, h);
    o.queue_capacity = 2;
    o.timeout_ms = 60000;
    alerter *a = new_alerter(&o);
    assert_int_equal(alert_raise(a, "k1", ALERT_CRITICAL, "one", NULL), ALERT_OK);
    /* the delivery thread is now stuck in the receiver */
    WAIT_FOR(hook_stalled(h) == 1, 10000);
    assert_int_equal(alerter_pending(a), 1);
    /* raising returns at once and only queues */
    assert_int_equal(alert_raise(a, "k2", ALERT_CRITICAL, "two", NULL), ALERT_OK);
    assert_int_equal(alerter_pending(a), 2);
    assert_int_equal(alert_raise(a, "k3", ALERT_WARNING, "three", NULL), ALERT_OK);
    assert_int_equal(alerter_pending(a), 3);
    /* full: dropped and counted, still without waiting */
    assert_int_equal(alert_raise(a, "k4", ALERT_WARNING, "four", NULL), ALERT_EFULL);
    uint64_t sent, failed, suppressed, dropped;
    alerter_counts(a, &sent, &failed, &suppressed, &dropped);
    assert_int_equal(sent, 0);
    assert_int_equal(dropped, 1);
    assert_int_equal(hook_stalled(h), 1);
    /* a dropped alert did not start a dedup window */
    hook_release(h);
    WAIT_FOR(count_sent(a) == 3, 10000);
    assert_int_equal(alert_raise(a, "k4", ALERT_WARNING, "four", NULL), ALERT_OK);
    WAIT_FOR(count_sent(a) == 4, 10000);
    assert_int_equal(alerter_pending(a), 0);
    alerter_free(a);
    assert_true(log_contains("queue is full"));
    hook_stop(h);
}

static void free_is_bounded_while_receiver_stalls(void **state)
{
    (void)state;
    hook *h = hook_start(HOOK_TOKEN);
    h->stall = 1;
    alert_options o;
    webhook_options(&o, h);
    o.timeout_ms = 60000;
    o.drain_timeout_ms = 50;
    alerter *a = new_alerter(&o);
    assert_int_equal(alert_raise(a, "k1", ALERT_CRITICAL, "one", NULL), ALERT_OK);
    WAIT_FOR(hook_stalled(h) == 1, 10000);
    assert_int_equal(alert_raise(a, "k2", ALERT_CRITICAL, "two", NULL), ALERT_OK);
    /* returns once the drain time is up: the transfer is aborted, k2 dropped;
     * bounded far below the 60 s transfer timeout it would otherwise wait */
    int64_t t0 = mono_ms();
    alerter_free(a);
    int64_t took = mono_ms() - t0;
    print_message("alerter_free with a stalled receiver: %lld ms\n", (long long)took);
    assert_true(took >= 50 && took < 10000);
    assert_true(log_contains("dropped at shutdown"));
    assert_true(log_contains("aborted"));
    hook_stop(h);
}

static void invalid_options_and_arguments(void **state)
{
    (void)state;
    alert_options o;
    alerter *a = (alerter *)&o;
    base_options(&o);
    o.webhook_url = "ftp://example.com/" HOOK_TOKEN;
    assert_int_equal(alerter_new(&a, &o), ALERT_EINVAL);
    assert_null(a);

    base_options(&o);
    o.email_enabled = 1;
    o.email_from = "ingestor@example.com";
    o.smtp_host = "127.0.0.1";
    assert_int_equal(alerter_new(&a, &o), ALERT_EINVAL); /* no recipient */
    o.email_to = " , ";
    assert_int_equal(alerter_new(&a, &o), ALERT_EINVAL);
    o.email_to = "ops@example.com";
    o.email_from = "ingestor@example.com\r\nBcc: evil@example.com";
    assert_int_equal(alerter_new(&a, &o), ALERT_EINVAL);
    o.email_from = "ingestor@example.com";
    o.smtp_port = 70000;
    assert_int_equal(alerter_new(&a, &o), ALERT_EINVAL);

    /* no channel: accepted and discarded */
    base_options(&o);
    assert_int_equal(alerter_new(&a, &o), ALERT_OK);
    assert_int_equal(alert_raise(a, "", ALERT_CRITICAL, "t", NULL), ALERT_EINVAL);
    char longkey[ALERT_KEY_MAX + 2];
    memset(longkey, 'k', sizeof longkey - 1);
    longkey[sizeof longkey - 1] = '\0';
    assert_int_equal(alert_raise(a, longkey, ALERT_CRITICAL, "t", NULL), ALERT_EINVAL);
    assert_int_equal(alert_raise(a, "k", (alert_severity)7, "t", NULL), ALERT_EINVAL);
    assert_int_equal(alert_raise(a, "k", ALERT_CRITICAL, "t", NULL), ALERT_OK);
    WAIT_FOR(alerter_pending(a) == 0, 10000);
    assert_int_equal(count_sent(a), 0);
    assert_int_equal(count_failed(a), 0);
    alerter_free(a);
    alerter_free(NULL);
    assert_string_equal(alert_strerror(ALERT_EFULL), "alert queue full");
    assert_string_equal(alert_severity_name(ALERT_RESOLVED), "resolved");
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(webhook_generic_json_without_secrets, setup, teardown),
        cmocka_unit_test_setup_teardown(webhook_slack_format, setup, teardown),
        cmocka_unit_test_setup_teardown(email_headers_body_and_no_secrets, setup, teardown),
        cmocka_unit_test_setup_teardown(email_non_ascii_subject_is_encoded, setup, teardown),
        cmocka_unit_test_setup_teardown(email_strict_parse, setup, teardown),
        cmocka_unit_test_setup_teardown(email_requires_starttls_unless_switched_off, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(dedup_window_with_fake_clock, setup, teardown),
        cmocka_unit_test_setup_teardown(retried_after_503_twice, setup, teardown),
        cmocka_unit_test_setup_teardown(too_many_requests_then_exhausted, setup, teardown),
        cmocka_unit_test_setup_teardown(client_error_fails_without_retry, setup, teardown),
        cmocka_unit_test_setup_teardown(transport_errors_are_retried_then_fail, setup, teardown),
        cmocka_unit_test_setup_teardown(raise_never_blocks_while_receiver_stalls, setup, teardown),
        cmocka_unit_test_setup_teardown(free_is_bounded_while_receiver_stalls, setup, teardown),
        cmocka_unit_test_setup_teardown(invalid_options_and_arguments, setup, teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
