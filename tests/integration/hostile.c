#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <zlib.h>

#include "hostile.h"

struct hostile {
    int fd;
    pthread_t thread;
    atomic_int stop;
    atomic_long requests;
    char base[64];
    unsigned char *bomb; /* the gzip body, made at the first BOMB request */
    size_t bomb_len;
};

#define BOMB_DECODED (1024L * 1024 * 1024)
#define ENDLESS_MAX  (768L * 1024 * 1024)
#define HUGE_BARS    2000000L

/* 2020-01-02 and the next two weekdays, 05:00 UTC (New York midnight). */
static const int64_t bars_2020[3] = { 1577941200000, 1578027600000, 1578286800000 };

static bool send_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n <= 0)
            return false;
        p += n;
        len -= (size_t)n;
    }
    return true;
}

__attribute__((format(printf, 2, 3))) static bool send_fmt(int fd, const char *fmt, ...)
{
    char buf[8192];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return n > 0 && (size_t)n < sizeof buf && send_all(fd, buf, (size_t)n);
}

static void answer(int fd, int status, const char *body)
{
    send_fmt(fd,
             "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
             "Connection: close\r\n\r\n",
             status,
             status == 200   ? "OK"
             : status == 403 ? "Forbidden"
                             : "Not Found",
             strlen(body));
    send_all(fd, body, strlen(body));
}

/* s as the inside of a JSON string. */
static void json_escape(char *out, size_t size, const char *s)
{
    size_t o = 0;
    for (; *s && o + 7 < size; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            out[o++] = '\\';
            out[o++] = (char)c;
        } else if (c < 0x20) {
            o += (size_t)snprintf(out + o, size - o, "\\u%04x", c);
        } else {
            out[o++] = (char)c;
        }
    }
    out[o] = '\0';
}

static void make_bomb(hostile *h)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    assert_int_equal(deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 9, Z_RLE), Z_OK);
    size_t cap = 4u << 20;
    h->bomb = malloc(cap);
    assert_non_null(h->bomb);
    static char spaces[1 << 20];
    memset(spaces, ' ', sizeof spaces);
    for (long done = 0; done < BOMB_DECODED; done += (long)sizeof spaces) {
        z.next_in = (unsigned char *)spaces;
        z.avail_in = sizeof spaces;
        int flush = done + (long)sizeof spaces >= BOMB_DECODED ? Z_FINISH : Z_NO_FLUSH;
        do {
            z.next_out = h->bomb + z.total_out;
            z.avail_out = (uInt)(cap - z.total_out);
            assert_true(z.avail_out > 0);
            deflate(&z, flush);
        } while (z.avail_in > 0);
    }
    h->bomb_len = z.total_out;
    deflateEnd(&z);
}

static void bars_page(int fd, const char *ticker, const int64_t *t, size_t n, const char *next)
{
    char body[4096];
    size_t o = (size_t)snprintf(body, sizeof body,
                                "{\"ticker\":\"%s\",\"status\":\"OK\",\"results\":[", ticker);
    for (size_t i = 0; i < n; i++)
        o += (size_t)snprintf(body + o, sizeof body - o,
                              "%s{\"t\":%lld,\"o\":10,\"h\":11,\"l\":9,\"c\":10.5,\"v\":1000}",
                              i ? "," : "", (long long)t[i]);
    o += (size_t)snprintf(body + o, sizeof body - o, "],\"resultsCount\":%zu", n);
    if (next)
        o += (size_t)snprintf(body + o, sizeof body - o, ",\"next_url\":\"%s\"", next);
    snprintf(body + o, sizeof body - o, "}");
    answer(fd, 200, body);
}

static void serve(hostile *h, int fd, const char *path, const char *key)
{
    const char *t = strstr(path, "/ticker/");
    char sym[64] = "";
    if (t)
        sscanf(t + 8, "%63[^/]", sym);
    char url[1200];
    snprintf(url, sizeof url, "%s%s", h->base, path);

    if (strcmp(sym, "BOMB") == 0) {
        if (!h->bomb)
            make_bomb(h);
        if (send_fmt(fd,
                     "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                     "Content-Encoding: gzip\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
                     h->bomb_len))
            send_all(fd, h->bomb, h->bomb_len);
    } else if (strcmp(sym, "ENDLESS") == 0) {
        static char chunk[1 << 16];
        memset(chunk, ' ', sizeof chunk);
        if (!send_fmt(fd, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                          "Connection: close\r\n\r\n{\"status\":\"OK\",\"results\":["))
            return;
        for (long sent = 0; sent < ENDLESS_MAX && !h->stop; sent += (long)sizeof chunk)
            if (!send_all(fd, chunk, sizeof chunk))
                break;
    } else if (strcmp(sym, "HUGE") == 0) {
        static const char bar[] = "{\"t\":1577941200000,\"o\":10,\"h\":11,\"l\":9,\"c\":10.5,"
                                  "\"v\":1000},";
        static const char head[] = "{\"ticker\":\"HUGE\",\"status\":\"OK\",\"results\":[";
        static const char tail[] = "{\"t\":1577941200000,\"o\":10,\"h\":11,\"l\":9,\"c\":10.5,"
                                   "\"v\":1000}]}";
        size_t len = strlen(head) + (size_t)(HUGE_BARS - 1) * strlen(bar) + strlen(tail);
        if (!send_fmt(fd,
                      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                      "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                      len, head))
            return;
        char block[64 * sizeof bar];
        for (size_t k = 0; k < 64; k++)
            memcpy(block + k * (sizeof bar - 1), bar, sizeof bar - 1);
        long left = HUGE_BARS - 1;
        while (left > 0 && !h->stop) {
            long n = left < 64 ? left : 64;
            if (!send_all(fd, block, (size_t)n * (sizeof bar - 1)))
                return;
            left -= n;
        }
        send_all(fd, tail, strlen(tail));
    } else if (strcmp(sym, "MORE") == 0) {
        int64_t ts[10];
        for (int i = 0; i < 10; i++)
            ts[i] = bars_2020[0] + (int64_t)i * 86400000;
        bars_page(fd, sym, ts, 10, NULL);
    } else if (strncmp(sym, "ECHO", 4) == 0) {
        int pad = atoi(sym + 4);
        char msg[2048], esc[4096], body[4400];
        snprintf(
            msg, sizeof msg, "%.*sUnknown API Key: %s (request denied)", pad < 1000 ? pad : 1000,
            "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
            "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
            "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
            "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
            "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
            "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
            "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
            key);
        json_escape(esc, sizeof esc, msg);
        snprintf(body, sizeof body, "{\"status\":\"ERROR\",\"request_id\":\"r1\",\"error\":\"%s\"}",
                 esc);
        answer(fd, 403, body);
    } else if (strcmp(sym, "BADUTF8") == 0) {
        answer(
            fd, 403,
            "{\"status\":\"ERROR\",\"error\":\"bad \xff\xfe bytes \xc3( and \xe2\x82 end\xc3\"}");
    } else if (strcmp(sym, "INJECT") == 0) {
        answer(fd, 403,
               "{\"status\":\"ERROR\",\"error\":\"denied\\n2020-01-01T00:00:00.000Z ERROR "
               "forged line \\u001b[2J\\u001b[31mred\"}");
    } else if (strncmp(sym, "UTF8CUT", 7) == 0) {
        int pad = atoi(sym + 7);
        char body[2048];
        size_t o = (size_t)snprintf(body, sizeof body, "{\"status\":\"ERROR\",\"error\":\"%.*s",
                                    pad < 100 ? pad : 100, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
        for (int i = 0; i < 400 && o + 8 < sizeof body; i++)
            o += (size_t)snprintf(body + o, sizeof body - o, "\xe2\x82\xac");
        snprintf(body + o, sizeof body - o, "\"}");
        answer(fd, 403, body);
    } else if (strcmp(sym, "LOOP") == 0) {
        bars_page(fd, sym, bars_2020, 3, url);
    } else if (strcmp(sym, "CREEP") == 0 || strcmp(sym, "EMPTY") == 0) {
        const char *c = strstr(path, "cursor=");
        long cursor = c ? atol(c + 7) : 0;
        char next[1300];
        snprintf(next, sizeof next, "%s/v2/aggs/ticker/%s/range/1/day/x/y?cursor=%ld", h->base, sym,
                 cursor + 1);
        bars_page(fd, sym, bars_2020, strcmp(sym, "CREEP") == 0 ? 3 : 0, next);
    } else if (strcmp(sym, "RANGE") == 0) {
        const int64_t ts[5] = { 0, 928209600000, bars_2020[0], bars_2020[1], 8999999942400000 };
        bars_page(fd, sym, ts, 5, NULL);
    } else if (strcmp(sym, "OTHER") == 0) {
        bars_page(fd, "MSFT", bars_2020, 3, NULL);
    } else if (strcmp(sym, "SLOW") == 0) {
        for (int i = 0; i < 60 && !h->stop; i++)
            usleep(100000);
        answer(fd, 404, "{\"status\":\"NOT_FOUND\",\"error\":\"no such ticker\"}");
    } else {
        answer(fd, 404, "{\"status\":\"NOT_FOUND\",\"error\":\"no such ticker\"}");
    }
}

/* Read one request head; its path and bearer token. */
static bool read_request(int fd, char *path, size_t psize, char *key, size_t ksize)
{
    char buf[16384] = "";
    size_t len = 0;
    while (!strstr(buf, "\r\n\r\n")) {
        if (len + 1 >= sizeof buf)
            return false;
        ssize_t n = recv(fd, buf + len, sizeof buf - 1 - len, 0);
        if (n <= 0)
            return false;
        len += (size_t)n;
        buf[len] = '\0';
    }
    if (strncmp(buf, "GET ", 4) != 0)
        return false;
    size_t n = strcspn(buf + 4, " \r\n");
    if (n == 0 || n >= psize)
        return false;
    memcpy(path, buf + 4, n);
    path[n] = '\0';
    key[0] = '\0';
    for (char *line = strstr(buf, "\r\n"); line; line = strstr(line + 2, "\r\n")) {
        if (strncasecmp(line + 2, "Authorization: Bearer ", 22) == 0) {
            size_t kl = strcspn(line + 24, "\r\n");
            snprintf(key, ksize, "%.*s", (int)kl, line + 24);
        }
    }
    return true;
}

static void *run(void *arg)
{
    hostile *h = arg;
    while (!h->stop) {
        struct pollfd p = { h->fd, POLLIN, 0 };
        if (poll(&p, 1, 100) <= 0)
            continue;
        int c = accept(h->fd, NULL, NULL);
        if (c < 0)
            continue;
        char path[1024], key[512];
        if (read_request(c, path, sizeof path, key, sizeof key)) {
            atomic_fetch_add(&h->requests, 1);
            serve(h, c, path, key);
        }
        shutdown(c, SHUT_WR);
        close(c);
    }
    return NULL;
}

hostile *hostile_start(void)
{
    hostile *h = calloc(1, sizeof *h);
    assert_non_null(h);
    h->fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(h->fd >= 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    assert_int_equal(bind(h->fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(h->fd, 16), 0);
    socklen_t al = sizeof a;
    assert_int_equal(getsockname(h->fd, (struct sockaddr *)&a, &al), 0);
    snprintf(h->base, sizeof h->base, "http://127.0.0.1:%u", (unsigned)ntohs(a.sin_port));
    assert_int_equal(pthread_create(&h->thread, NULL, run, h), 0);
    return h;
}

const char *hostile_base(const hostile *h)
{
    return h->base;
}

long hostile_requests(hostile *h)
{
    return atomic_load(&h->requests);
}

void hostile_stop(hostile *h)
{
    if (!h)
        return;
    h->stop = 1;
    pthread_join(h->thread, NULL);
    close(h->fd);
    free(h->bomb);
    free(h);
}
