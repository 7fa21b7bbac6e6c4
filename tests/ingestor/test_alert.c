/*
 * The alerting module (examples/ingestor/alert.c) against real receivers on
 * loopback: a webhook receiver (libmicrohttpd, in-process) and a plain-text
 * SMTP sink written here. Content of both webhook formats and of the email,
 * secrets scrubbed everywhere (alerts and logs), deduplication with a fake
 * clock, retries (503, 503, 200), no retry on 400, STARTTLS required, and
 * alert_raise() never blocking while the receiver is stalled.
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

#define SECRET_API  "sk_live_FAKE4PIKEY0123456789"
#define SECRET_PASS "smtp-P4ssw0rd-do-not-leak"
#define HOOK_TOKEN  "T0KEN-B1234-XYZsecretpath"

static const char *const secrets[] = { SECRET_API, NULL };

/* ------------------------------------------------------------------------ */
/* Helpers                                                                  */
/* ------------------------------------------------------------------------ */

static void tiny_sleep(void)
{
    struct timespec ts = { 0, 2 * 1000 * 1000 };
    nanosleep(&ts, NULL);
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Poll cond every 2 ms for at most ms; fail the test when it never holds. */
#define WAIT_FOR(cond, ms)                                                                         \
    do {                                                                                           \
        int64_t until_ = mono_ms() + (ms);                                                         \
        while (!(cond) && mono_ms() < until_)                                                      \
            tiny_sleep();                                                                          \
        assert_true(cond);                                                                         \
    } while (0)

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
/* Webhook receiver                                                         */
/* ------------------------------------------------------------------------ */

#define MAX_REQ 64

typedef struct hook {
    struct MHD_Daemon *d;
    int port;
    char url[256];
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int script[8]; /* statuses for the first requests; then 200 */
    int nscript;
    int retry_after_zero; /* send Retry-After: 0 with 429 / 503 */
    int stall;            /* block the handler while set */
    int stalled;          /* requests that reached the stall */
    int requests;
    char *body[MAX_REQ];
    int status[MAX_REQ];
    char ctype[MAX_REQ][64];
} hook;

typedef struct upload {
    char *p;
    size_t len;
} upload;

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls, (void)c, (void)toe;
    upload *u = *con_cls;
    if (u) {
        free(u->p);
        free(u);
    }
    *con_cls = NULL;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *data,
                                  size_t *data_size, void **con_cls)
{
    (void)url, (void)version;
    hook *h = cls;
    if (!*con_cls) {
        upload *u = calloc(1, sizeof *u);
        if (!u)
            return MHD_NO;
        *con_cls = u;
        return MHD_YES;
    }
    upload *u = *con_cls;
    if (*data_size) {
        char *p = realloc(u->p, u->len + *data_size + 1);
        if (!p)
            return MHD_NO;
        memcpy(p + u->len, data, *data_size);
        u->len += *data_size;
        p[u->len] = '\0';
        u->p = p;
        *data_size = 0;
        return MHD_YES;
    }
    int status;
    pthread_mutex_lock(&h->lock);
    int i = h->requests++;
    status = i < h->nscript ? h->script[i] : 200;
    if (strcmp(method, "POST") != 0)
        status = 405;
    if (i < MAX_REQ) {
        h->body[i] = u->p ? strdup(u->p) : strdup("");
        h->status[i] = status;
        const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
        snprintf(h->ctype[i], sizeof h->ctype[i], "%s", ct ? ct : "");
    }
    if (h->stall) {
        h->stalled++;
        pthread_cond_broadcast(&h->cond);
        while (h->stall)
            pthread_cond_wait(&h->cond, &h->lock);
    }
    int ra = h->retry_after_zero;
    pthread_mutex_unlock(&h->lock);

    static char ok[] = "ok";
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(ok), ok, MHD_RESPMEM_PERSISTENT);
    if (!r)
        return MHD_NO;
    if (ra && (status == 429 || status == 503))
        MHD_add_response_header(r, "Retry-After", "0");
    enum MHD_Result ret = MHD_queue_response(c, (unsigned)status, r);
    MHD_destroy_response(r);
    return ret;
}

static hook *hook_start(void)
{
    hook *h = calloc(1, sizeof *h);
    assert_non_null(h);
    pthread_mutex_init(&h->lock, NULL);
    pthread_cond_init(&h->cond, NULL);
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    h->d =
        MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0, NULL,
                         NULL, on_request, h, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
                         MHD_OPTION_NOTIFY_COMPLETED, on_completed, h, MHD_OPTION_END);
    assert_non_null(h->d);
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
    assert_non_null(info);
    h->port = info->port;
    snprintf(h->url, sizeof h->url, "http://127.0.0.1:%d/services/%s", h->port, HOOK_TOKEN);
    return h;
}

static int hook_requests(hook *h)
{
    pthread_mutex_lock(&h->lock);
    int n = h->requests;
    pthread_mutex_unlock(&h->lock);
    return n;
}

static int hook_stalled(hook *h)
{
    pthread_mutex_lock(&h->lock);
    int n = h->stalled;
    pthread_mutex_unlock(&h->lock);
    return n;
}

static void hook_release(hook *h)
{
    pthread_mutex_lock(&h->lock);
    h->stall = 0;
    pthread_cond_broadcast(&h->cond);
    pthread_mutex_unlock(&h->lock);
}

static void hook_stop(hook *h)
{
    hook_release(h);
    MHD_stop_daemon(h->d);
    for (int i = 0; i < MAX_REQ; i++)
        free(h->body[i]);
    pthread_mutex_destroy(&h->lock);
    pthread_cond_destroy(&h->cond);
    free(h);
}

/* The 2xx bodies, parsed, in order. */
static cJSON *hook_delivered(hook *h, int n)
{
    int seen = 0;
    pthread_mutex_lock(&h->lock);
    for (int i = 0; i < h->requests && i < MAX_REQ; i++) {
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
/* SMTP sink                                                                */
/* ------------------------------------------------------------------------ */

typedef struct smtp_sink {
    int fd, port;
    pthread_t thread;
    atomic_int stop;
    int offer_auth;
    pthread_mutex_t lock;
    int connections;
    int mails; /* MAIL FROM commands seen */
    int messages;
    char mail_from[256];
    char rcpt[8][256];
    int nrcpt;
    char auth[256]; /* decoded AUTH PLAIN */
    size_t auth_len;
    char *data; /* the last message, dot-unstuffed */
} smtp_sink;

typedef struct conn {
    int fd;
    char buf[8192];
    size_t len;
} conn;

/* One line without CRLF into out; 0 on success, -1 on EOF or error. */
static int read_line(conn *c, char *out, size_t n)
{
    for (;;) {
        char *nl = memchr(c->buf, '\n', c->len);
        if (nl) {
            size_t l = (size_t)(nl - c->buf);
            size_t keep = l;
            if (keep && c->buf[keep - 1] == '\r')
                keep--;
            if (keep >= n)
                keep = n - 1;
            memcpy(out, c->buf, keep);
            out[keep] = '\0';
            memmove(c->buf, nl + 1, c->len - l - 1);
            c->len -= l + 1;
            return 0;
        }
        if (c->len == sizeof c->buf)
            return -1;
        ssize_t r = recv(c->fd, c->buf + c->len, sizeof c->buf - c->len, 0);
        if (r <= 0)
            return -1;
        c->len += (size_t)r;
    }
}

static void say(conn *c, const char *s)
{
    size_t n = strlen(s);
    while (n) {
        ssize_t w = send(c->fd, s, n, MSG_NOSIGNAL);
        if (w <= 0)
            return;
        s += w;
        n -= (size_t)w;
    }
}

static size_t b64_decode(const char *in, char *out, size_t cap)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    unsigned v = 0;
    int bits = 0;
    size_t n = 0;
    for (; *in && *in != '='; in++) {
        const char *p = strchr(tbl, *in);
        if (!p || !*in)
            continue;
        v = (v << 6) | (unsigned)(p - tbl);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (n < cap)
                out[n++] = (char)((v >> bits) & 0xFF);
        }
    }
    return n;
}

static void serve(smtp_sink *s, int fd)
{
    conn c = { .fd = fd };
    struct timeval tv = { 5, 0 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char line[4096];
    say(&c, "220 sink.test ESMTP ready\r\n");
    while (read_line(&c, line, sizeof line) == 0) {
        if (strncasecmp(line, "EHLO", 4) == 0) {
            /* never STARTTLS: this sink only speaks plain text */
            say(&c, "250-sink.test\r\n250-8BITMIME\r\n");
            if (s->offer_auth)
                say(&c, "250-AUTH PLAIN\r\n");
            say(&c, "250 SIZE 10000000\r\n");
        } else if (strncasecmp(line, "HELO", 4) == 0) {
            say(&c, "250 sink.test\r\n");
        } else if (strncasecmp(line, "AUTH PLAIN", 10) == 0) {
            char b64[1024];
            if (line[10] == ' ' && line[11])
                snprintf(b64, sizeof b64, "%s", line + 11);
            else {
                say(&c, "334 \r\n");
                if (read_line(&c, b64, sizeof b64) != 0)
                    break;
            }
            pthread_mutex_lock(&s->lock);
            s->auth_len = b64_decode(b64, s->auth, sizeof s->auth);
            pthread_mutex_unlock(&s->lock);
            say(&c, "235 2.7.0 Authentication successful\r\n");
        } else if (strncasecmp(line, "MAIL FROM:", 10) == 0) {
            pthread_mutex_lock(&s->lock);
            s->mails++;
            snprintf(s->mail_from, sizeof s->mail_from, "%.*s", (int)strcspn(line + 10, " "),
                     line + 10); /* without parameters such as SIZE= */
            s->nrcpt = 0;
            pthread_mutex_unlock(&s->lock);
            say(&c, "250 OK\r\n");
        } else if (strncasecmp(line, "RCPT TO:", 8) == 0) {
            pthread_mutex_lock(&s->lock);
            if (s->nrcpt < 8)
                snprintf(s->rcpt[s->nrcpt++], sizeof s->rcpt[0], "%s", line + 8);
            pthread_mutex_unlock(&s->lock);
            say(&c, "250 OK\r\n");
        } else if (strcasecmp(line, "DATA") == 0) {
            say(&c, "354 go ahead\r\n");
            size_t cap = 65536, len = 0;
            char *d = malloc(cap);
            assert_non_null(d);
            d[0] = '\0';
            int ok = 0;
            while (read_line(&c, line, sizeof line) == 0) {
                if (strcmp(line, ".") == 0) {
                    ok = 1;
                    break;
                }
                const char *l = line[0] == '.' ? line + 1 : line; /* un-stuff */
                size_t ll = strlen(l);
                if (len + ll + 3 > cap)
                    break;
                memcpy(d + len, l, ll);
                memcpy(d + len + ll, "\r\n", 3);
                len += ll + 2;
            }
            if (!ok) {
                free(d);
                break;
            }
            pthread_mutex_lock(&s->lock);
            free(s->data);
            s->data = d;
            s->messages++;
            pthread_mutex_unlock(&s->lock);
            say(&c, "250 OK queued\r\n");
        } else if (strcasecmp(line, "QUIT") == 0) {
            say(&c, "221 bye\r\n");
            break;
        } else if (strcasecmp(line, "RSET") == 0 || strcasecmp(line, "NOOP") == 0) {
            say(&c, "250 OK\r\n");
        } else {
            say(&c, "502 command not implemented\r\n");
        }
    }
    close(fd);
}

static void *sink_main(void *arg)
{
    smtp_sink *s = arg;
    while (!atomic_load(&s->stop)) {
        struct pollfd p = { .fd = s->fd, .events = POLLIN };
        if (poll(&p, 1, 20) <= 0)
            continue;
        int fd = accept(s->fd, NULL, NULL);
        if (fd < 0)
            continue;
        pthread_mutex_lock(&s->lock);
        s->connections++;
        pthread_mutex_unlock(&s->lock);
        serve(s, fd);
    }
    return NULL;
}

static smtp_sink *sink_start(int offer_auth)
{
    smtp_sink *s = calloc(1, sizeof *s);
    assert_non_null(s);
    s->offer_auth = offer_auth;
    pthread_mutex_init(&s->lock, NULL);
    s->fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(s->fd >= 0);
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(s->fd, (struct sockaddr *)&addr, sizeof addr), 0);
    assert_int_equal(listen(s->fd, 8), 0);
    socklen_t al = sizeof addr;
    assert_int_equal(getsockname(s->fd, (struct sockaddr *)&addr, &al), 0);
    s->port = ntohs(addr.sin_port);
    assert_int_equal(pthread_create(&s->thread, NULL, sink_main, s), 0);
    return s;
}

static void sink_stop(smtp_sink *s)
{
    atomic_store(&s->stop, 1);
    pthread_join(s->thread, NULL);
    close(s->fd);
    free(s->data);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

/* The value of header name in a message ("" when absent; first line only). */
static void header(const char *msg, const char *name, char *out, size_t n)
{
    out[0] = '\0';
    size_t nl = strlen(name);
    const char *p = msg;
    while (*p && !(p[0] == '\r' && p[1] == '\n')) {
        const char *e = strstr(p, "\r\n");
        assert_non_null(e);
        if (strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            const char *v = p + nl + 1;
            while (*v == ' ')
                v++;
            snprintf(out, n, "%.*s", (int)(e - v), v);
            return;
        }
        p = e + 2;
    }
}

/* ------------------------------------------------------------------------ */
/* Tests                                                                    */
/* ------------------------------------------------------------------------ */

static void webhook_generic_json_without_secrets(void **state)
{
    (void)state;
    hook *h = hook_start();
    alert_options o;
    base_options(&o);
    o.webhook_url = h->url;
    o.email_enabled = 0;
    o.smtp_password = SECRET_PASS; /* a secret even without email */
    alerter *a;
    assert_int_equal(alerter_new(&a, &o), ALERT_OK);

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
    hook *h = hook_start();
    alert_options o;
    base_options(&o);
    o.webhook_url = h->url;
    o.webhook_slack = 1;
    alerter *a;
    assert_int_equal(alerter_new(&a, &o), ALERT_OK);
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
    base_options(&o);
    o.email_enabled = 1;
    o.email_to = " ops@example.com, oncall@example.org ";
    o.email_from = "ingestor@example.com";
    o.smtp_host = "127.0.0.1";
    o.smtp_port = s->port;
    o.smtp_user = "alerts";
    o.smtp_password = SECRET_PASS;
    o.smtp_tls_off = 1;
    alerter *a;
    assert_int_equal(alerter_new(&a, &o), ALERT_OK);
    assert_int_equal(alert_raise(a, "run-missed:2024-06-03", ALERT_CRITICAL,
                                 "scheduled run did not complete",
                                 "the 06:00 run stopped at AAPL\n.dot line stays\r\n"
                                 "password " SECRET_PASS " api " SECRET_API),
                     ALERT_OK);
    WAIT_FOR(count_sent(a) == 1, 10000);
    assert_int_equal(count_failed(a), 0);

    pthread_mutex_lock(&s->lock);
    assert_int_equal(s->messages, 1);
    assert_string_equal(s->mail_from, "<ingestor@example.com>");
    assert_int_equal(s->nrcpt, 2);
    assert_string_equal(s->rcpt[0], "<ops@example.com>");
    assert_string_equal(s->rcpt[1], "<oncall@example.org>");
    /* AUTH PLAIN: authzid \0 user \0 password — the one place the password goes */
    static const char want[] = "\0alerts\0" SECRET_PASS;
    assert_int_equal(s->auth_len, sizeof want - 1);
    assert_memory_equal(s->auth, want, sizeof want - 1);
    char *msg = strdup(s->data);
    pthread_mutex_unlock(&s->lock);
    assert_non_null(msg);

    assert_no_secret(msg);
    char v[512];
    header(msg, "From", v, sizeof v);
    assert_string_equal(v, "ingestor@example.com");
    header(msg, "To", v, sizeof v);
    assert_string_equal(v, "ops@example.com, oncall@example.org");
    header(msg, "Subject", v, sizeof v);
    assert_string_equal(v, "[ingestor CRITICAL] scheduled run did not complete");
    header(msg, "MIME-Version", v, sizeof v);
    assert_string_equal(v, "1.0");
    header(msg, "Content-Type", v, sizeof v);
    assert_string_equal(v, "text/plain; charset=utf-8");
    header(msg, "Message-ID", v, sizeof v);
    assert_true(v[0] == '<' && v[strlen(v) - 1] == '>' && strchr(v, '@'));
    header(msg, "Date", v, sizeof v);
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *end = strptime(v, "%a, %d %b %Y %H:%M:%S", &tm);
    assert_non_null(end);
    assert_string_equal(end, " +0000");
    const char *body = strstr(msg, "\r\n\r\n");
    assert_non_null(body);
    assert_non_null(strstr(body, "scheduled run did not complete"));
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
    base_options(&o);
    o.email_enabled = 1;
    o.email_to = "ops@example.com";
    o.email_from = "ingestor@example.com";
    o.smtp_host = "127.0.0.1";
    o.smtp_port = s->port;
    o.smtp_tls_off = 1;
    alerter *a;
    assert_int_equal(alerter_new(&a, &o), ALERT_OK);
    assert_int_equal(
        alert_raise(a, "dq:MSFT", ALERT_WARNING, "Qualität niedrig\r\nBcc: x@y.z", "Größe"),
        ALERT_OK);
    WAIT_FOR(count_sent(a) == 1, 10000);
    pthread_mutex_lock(&s->lock);
    char *msg = strdup(s->data);
    pthread_mutex_unlock(&s->lock);
    char v[512];
    header(msg, "Subject", v, sizeof v);
    assert_memory_equal(v, "=?UTF-8?B?", 10);
    /* the title's CR LF did not start a header of its own */
    header(msg, "Bcc", v, sizeof v);
    assert_string_equal(v, "");
    assert_non_null(strstr(msg, "\r\nGröße\r\n"));
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

static void email_requires_starttls_unless_switched_off(void **state)
{
    (void)state;
    smtp_sink *s = sink_start(1);
    alert_options o;
    base_options(&o);
    o.email_enabled = 1;
    o.email_to = "ops@example.com";
    o.email_from = "ingestor@example.com";
    o.smtp_host = "127.0.0.1";
    o.smtp_port = s->port;
    o.smtp_user = "alerts";
    o.smtp_password = SECRET_PASS;
    o.smtp_tls_off = 0; /* the default: STARTTLS required */
    alerter *a;
    assert_int_equal(alerter_new(&a, &o), ALERT_OK);
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
    hook *h = hook_start();
    alert_options o;
    base_options(&o);
    o.webhook_url = h->url;
    o.dedup_window_ms = 60000;
    alerter *a;
    assert_int_equal(alerter_new(&a, &o), ALERT_OK);

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
    hook *h = hook_start();
    h->script[0] = 503;
    h->script[1] = 503;
    h->nscript = 2;
    h->retry_after_zero = 1;
    alert_options o;
    base_options(&o);
    o.webhook_url = h->url;
    alerter *a;
    assert_int_equal(alerter_new(&a, &o), ALERT_OK);
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
    hook *h = hook_start();
    for (int i = 0; i < 8; i++)
        h->script[i] = i % 2 ? 500 : 429;
    h->nscript = 8;
    alert_options o;
    base_options(&o);
    o.webhook_url = h->url;
    o.max_attempts = 3;
    alerter *a;
    assert_int_equal(alerter_new(&a, &o), ALERT_OK);
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
    hook *h = hook_start();
    h->script[0] = 400;
    h->nscript = 1;
    alert_options o;
    base_options(&o);
    o.webhook_url = h->url;
    alerter *a;
    assert_int_equal(alerter_new(&a, &o), ALERT_OK);
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
    alerter *a;
    assert_int_equal(alerter_new(&a, &o), ALERT_OK);
    assert_int_equal(alert_raise(a, "k", ALERT_CRITICAL, "t", NULL), ALERT_OK);
    WAIT_FOR(count_failed(a) == 1, 10000);
    alerter_free(a);
    assert_true(log_contains("after 3 attempt(s)"));
    assert_log_clean();
}

static void raise_never_blocks_while_receiver_stalls(void **state)
{
    (void)state;
    hook *h = hook_start();
    h->stall = 1;
    alert_options o;
    base_options(&o);
    o.webhook_url = h->url;
    o.queue_capacity = 2;
    o.timeout_ms = 60000;
    alerter *a;
    assert_int_equal(alerter_new(&a, &o), ALERT_OK);
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
    hook *h = hook_start();
    h->stall = 1;
    alert_options o;
    base_options(&o);
    o.webhook_url = h->url;
    o.timeout_ms = 60000;
    o.drain_timeout_ms = 50;
    alerter *a;
    assert_int_equal(alerter_new(&a, &o), ALERT_OK);
    assert_int_equal(alert_raise(a, "k1", ALERT_CRITICAL, "one", NULL), ALERT_OK);
    WAIT_FOR(hook_stalled(h) == 1, 10000);
    assert_int_equal(alert_raise(a, "k2", ALERT_CRITICAL, "two", NULL), ALERT_OK);
    /* returns once the drain time is up: the transfer is aborted, k2 dropped */
    alerter_free(a);
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
