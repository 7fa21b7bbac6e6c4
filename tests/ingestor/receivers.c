/*
 * Alert receivers for tests (see receivers.h): a webhook receiver on
 * libmicrohttpd and a plain-text SMTP sink, both on loopback.
 */
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
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>
#include <microhttpd.h>

#include "receivers.h"

/* ------------------------------------------------------------------------ */
/* Webhook receiver                                                         */
/* ------------------------------------------------------------------------ */

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
    if (i < HOOK_MAX_REQ) {
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

hook *hook_start(const char *token)
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
    snprintf(h->url, sizeof h->url, "http://127.0.0.1:%d/services/%s", h->port, token);
    return h;
}

int hook_requests(hook *h)
{
    pthread_mutex_lock(&h->lock);
    int n = h->requests;
    pthread_mutex_unlock(&h->lock);
    return n;
}

int hook_stalled(hook *h)
{
    pthread_mutex_lock(&h->lock);
    int n = h->stalled;
    pthread_mutex_unlock(&h->lock);
    return n;
}

void hook_release(hook *h)
{
    pthread_mutex_lock(&h->lock);
    h->stall = 0;
    pthread_cond_broadcast(&h->cond);
    pthread_mutex_unlock(&h->lock);
}

void hook_stop(hook *h)
{
    hook_release(h);
    MHD_stop_daemon(h->d);
    for (int i = 0; i < HOOK_MAX_REQ; i++)
        free(h->body[i]);
    pthread_mutex_destroy(&h->lock);
    pthread_cond_destroy(&h->cond);
    free(h);
}

/* ------------------------------------------------------------------------ */
/* SMTP sink                                                                */
/* ------------------------------------------------------------------------ */

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

size_t b64_decode(const char *in, char *out, size_t cap)
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
                snprintf(b64, sizeof b64, "%.1000s", line + 11);
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
                snprintf(s->rcpt[s->nrcpt++], sizeof s->rcpt[0], "%.250s", line + 8);
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
            if (s->messages < SINK_MAX_MSG)
                s->all[s->messages] = strdup(d);
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

smtp_sink *sink_start(int offer_auth)
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

void sink_stop(smtp_sink *s)
{
    atomic_store(&s->stop, 1);
    pthread_join(s->thread, NULL);
    close(s->fd);
    free(s->data);
    for (int i = 0; i < SINK_MAX_MSG; i++)
        free(s->all[i]);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

int sink_messages(smtp_sink *s)
{
    pthread_mutex_lock(&s->lock);
    int n = s->messages;
    pthread_mutex_unlock(&s->lock);
    return n;
}

char *sink_last_message(smtp_sink *s)
{
    pthread_mutex_lock(&s->lock);
    char *msg = s->data ? strdup(s->data) : NULL;
    pthread_mutex_unlock(&s->lock);
    assert_non_null(msg);
    return msg;
}

void sink_expect_envelope(smtp_sink *s, const char *user, const char *password, const char *from,
                          const char *const *rcpt)
{
    char want[512];
    int len = snprintf(want, sizeof want, "%c%s%c%s", '\0', user, '\0', password);
    assert_true(len > 0 && (size_t)len < sizeof want);
    pthread_mutex_lock(&s->lock);
    assert_int_equal(s->auth_len, (size_t)len);
    assert_memory_equal(s->auth, want, (size_t)len);
    assert_string_equal(s->mail_from, from);
    int n = 0;
    while (rcpt[n])
        n++;
    assert_int_equal(s->nrcpt, n);
    for (int i = 0; i < n; i++)
        assert_string_equal(s->rcpt[i], rcpt[i]);
    pthread_mutex_unlock(&s->lock);
}

/* The value of header name in a message ("" when absent; first line only). */
void mail_header(const char *msg, const char *name, char *out, size_t n)
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
            /* unfolded: a CR LF before a space or a tab goes */
            size_t k = 0;
            for (;;) {
                for (; v < e && k + 1 < n; v++)
                    out[k++] = *v;
                if (e[2] != ' ' && e[2] != '\t')
                    break;
                v = e + 2;
                e = strstr(v, "\r\n");
                assert_non_null(e);
            }
            out[k] = '\0';
            return;
        }
        p = e + 2;
    }
}
