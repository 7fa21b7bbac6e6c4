/* libFuzzer target: the admin HTTP server's request handling
 * (examples/ingestor/admin.c with libmicrohttpd), in process on a loopback
 * port: each input is sent as the raw bytes of a request. The answer is an
 * HTTP response or nothing; the bearer token is never in it, and
 * /api/v1/jobs answers 200 only to a request that carries the token. */
#include <netinet/in.h>
#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "admin.h"

#define TOKEN "fuzz-admin-token-5b1f0c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static admin_server *server;

static int contains(const uint8_t *data, size_t size, const char *needle)
{
    size_t n = strlen(needle);
    for (size_t i = 0; i + n <= size; i++)
        if (memcmp(data + i, needle, n) == 0)
            return 1;
    return 0;
}

static int jobs_cb(char **out, void *ud)
{
    (void)ud;
    *out = malloc(3);
    if (!*out)
        return -1;
    memcpy(*out, "[]", 3);
    return 0;
}

static int ready_cb(char *reason, size_t len, void *ud)
{
    (void)reason;
    (void)len;
    (void)ud;
    return 1;
}

static void stop_server(void)
{
    admin_stop(server);
    server = NULL;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Read the answer: until the server closes, or a whole response (headers
 * and Content-Length bytes) is in, or 2 s pass, or 100 ms of silence. */
static size_t read_answer(int fd, char *buf, size_t cap)
{
    size_t n = 0;
    int64_t end = now_ms() + 2000;
    while (n + 1 < cap) {
        buf[n] = '\0';
        const char *eoh = strstr(buf, "\r\n\r\n");
        if (eoh) {
            const char *cl = strstr(buf, "Content-Length: ");
            size_t want = cl && cl < eoh ? (size_t)atol(cl + 16) : 0;
            if (n >= (size_t)(eoh + 4 - buf) + want)
                break;
        }
        /* an incomplete request gets no answer: wait 100 ms of silence at
         * most (the input is then only checked for not crashing) */
        int64_t left = end - now_ms();
        struct pollfd p = { .fd = fd, .events = POLLIN };
        if (left <= 0 || poll(&p, 1, left < 100 ? (int)left : 100) <= 0)
            break;
        ssize_t r = recv(fd, buf + n, cap - 1 - n, 0);
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    buf[n] = '\0';
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!server) {
        admin_options o = ADMIN_OPTIONS_INIT;
        o.jobs_json = jobs_cb;
        o.ready = ready_cb;
        o.token = TOKEN;
        o.header_timeout_ms = 1000;
        o.per_client_limit = 64;
        if (admin_start(&server, &o) != 0)
            abort();
        atexit(stop_server);
    }
    if (size > 16384)
        return 0;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        abort();
    struct linger lg = { 1, 0 }; /* reset on close: no TIME_WAIT pile-up */
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    struct sockaddr_in a = { .sin_family = AF_INET,
                             .sin_port = htons((uint16_t)admin_port(server)),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0)
        abort();
    size_t off = 0;
    while (off < size) {
        ssize_t w = send(fd, data + off, size - off, MSG_NOSIGNAL);
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    static char buf[1 << 16];
    size_t n = read_answer(fd, buf, sizeof buf);
    close(fd);
    if (n == 0)
        return 0;
    if (n < 12 || memcmp(buf, "HTTP/1.", 7) != 0)
        __builtin_trap();
    if (strstr(buf, TOKEN))
        __builtin_trap();
    int has_token = contains(data, size, TOKEN);
    if (!has_token && contains(data, size, "/api/v1/") && strstr(buf, "[]") &&
        memcmp(buf + 9, "200", 3) == 0)
        __builtin_trap();
    return 0;
}
