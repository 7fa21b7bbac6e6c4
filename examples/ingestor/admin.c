/* The admin HTTP server: health, readiness, metrics and jobs over
 * libmicrohttpd, answered on an internal thread pool. A watchdog thread
 * cuts connections whose request has not arrived within the header
 * deadline (libmicrohttpd's own timeout is reset by every byte). */
#include "admin.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <microhttpd.h>
#include <retry/retry.h>

#include "timing.h"

#define PROMETHEUS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define JSON_CONTENT_TYPE       "application/json"

#define DEFAULT_PER_CLIENT_LIMIT  16
#define DEFAULT_CONNECTION_LIMIT  128
#define DEFAULT_HEADER_TIMEOUT_MS 10000
#define DEFAULT_WARNINGS_PER_MIN  10

/* One connection, from its start to its close (libmicrohttpd's socket
 * context). The watchdog cuts it when waiting for a request for longer than
 * the header deadline. Fields under admin_server.lock. */
typedef struct conn_track {
    struct conn_track *prev, *next;
    int fd;
    int64_t since_ms; /* start of the connection, or end of its previous request */
    int waiting;      /* its request has not arrived in full */
    int cut;          /* shut down by the watchdog */
    char client[48];  /* the peer's address, for warnings */
} conn_track;

struct admin_server {
    struct MHD_Daemon *daemon;
    unsigned port;
    int (*snapshot)(metrics_snapshot *out, void *userdata);
    int (*ready)(char *reason, size_t len, void *userdata);
    int (*jobs_json)(char **out, void *userdata);
    void (*log)(log_level level, const char *msg, void *userdata);
    void *userdata;
    char *token; /* NULL: /api/v1/... is open */
    size_t token_len;
    unsigned header_timeout_ms;

    retry_limiter *warn_limit;  /* warnings about clients */
    atomic_ulong warnings_held; /* dropped since the last one logged */
    pthread_mutex_t lock;       /* conns, stopping */
    pthread_cond_t wake;        /* the watchdog's sleep (CLOCK_MONOTONIC) */
    conn_track *conns;          /* open connections */
    int stopping;               /* the watchdog ends */
    int have_sync, have_watchdog;
    pthread_t watchdog;
};

__attribute__((format(printf, 3, 4))) static void say(const admin_server *s, log_level level,
                                                      const char *fmt, ...)
{
    if (!s->log)
        return;
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    s->log(level, line, s->userdata);
}

/* A warning about a client, through the rate limit: a burst of them, then
 * a few a minute; the next one logged counts those left out. */
static void vwarn_client(admin_server *s, const char *fmt, va_list ap)
{
    if (!s->log)
        return;
    if (s->warn_limit && retry_limiter_try_acquire(s->warn_limit, 1) != RETRY_OK) {
        atomic_fetch_add(&s->warnings_held, 1);
        return;
    }
    char line[512];
    vsnprintf(line, sizeof line, fmt, ap);
    size_t n = strlen(line);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)line[i] < ' ' || line[i] == 127)
            line[i] = '?';
    unsigned long held = atomic_exchange(&s->warnings_held, 0);
    if (held)
        say(s, LOG_LEVEL_WARNING, "admin http: %s (%lu similar warnings suppressed)", line, held);
    else
        say(s, LOG_LEVEL_WARNING, "admin http: %s", line);
}

__attribute__((format(printf, 2, 3))) static void warn_client(admin_server *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vwarn_client(s, fmt, ap);
    va_end(ap);
}

/* libmicrohttpd's error log (malformed requests, refused connections, ...),
 * one line each, to the log callback through the rate limit. */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    vwarn_client(cls, fmt, ap);
}

/* ------------------------------------------------------------ connections */

static conn_track *track_of(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *i =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return i ? i->socket_context : NULL;
}

/* The request of conn has arrived (arrived 1) or the next one is awaited. */
static void set_waiting(admin_server *s, struct MHD_Connection *conn, int waiting)
{
    conn_track *t = track_of(conn);
    if (!t)
        return;
    pthread_mutex_lock(&s->lock);
    t->waiting = waiting;
    t->since_ms = mono_ms();
    pthread_mutex_unlock(&s->lock);
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    admin_server *s = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        conn_track *t = calloc(1, sizeof *t);
        if (!t)
            return; /* untracked: libmicrohttpd's idle timeout only */
        const union MHD_ConnectionInfo *i =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        t->fd = i ? i->connect_fd : -1;
        t->waiting = 1;
        t->since_ms = mono_ms();
        i = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        const struct sockaddr *a = i ? i->client_addr : NULL;
        if (a && a->sa_family == AF_INET)
            inet_ntop(AF_INET, &((const struct sockaddr_in *)a)->sin_addr, t->client,
                      sizeof t->client);
        else if (a && a->sa_family == AF_INET6)
            inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)a)->sin6_addr, t->client,
                      sizeof t->client);
        else
            snprintf(t->client, sizeof t->client, "?");
        pthread_mutex_lock(&s->lock);
        t->next = s->conns;
        if (s->conns)
            s->conns->prev = t;
        s->conns = t;
        pthread_mutex_unlock(&s->lock);
        *socket_context = t;
    } else if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
        /* Called before libmicrohttpd closes the socket: once the entry is
         * gone, the watchdog can no longer touch the descriptor. */
        conn_track *t = *socket_context;
        if (!t)
            return;
        pthread_mutex_lock(&s->lock);
        if (t->prev)
            t->prev->next = t->next;
        else
            s->conns = t->next;
        if (t->next)
            t->next->prev = t->prev;
        pthread_mutex_unlock(&s->lock);
        free(t);
        *socket_context = NULL;
    }
}

/* A request ended (answered or not): the next one has its own deadline. */
static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)con_cls;
    (void)toe;
    set_waiting(cls, conn, 1);
}

/* Cut every connection that has waited for its request past the deadline.
 * shutdown() (not close()) under the lock: libmicrohttpd sees the end of
 * the stream and closes the connection itself. */
static void *watchdog(void *arg)
{
    admin_server *s = arg;
    int64_t tick = s->header_timeout_ms / 8;
    tick = tick < 10 ? 10 : tick > 250 ? 250 : tick;
    pthread_mutex_lock(&s->lock);
    while (!s->stopping) {
        int64_t now = mono_ms();
        unsigned cuts = 0;
        char client[48] = "";
        for (conn_track *t = s->conns; t; t = t->next) {
            if (!t->waiting || t->cut || t->fd < 0 || now - t->since_ms < s->header_timeout_ms)
                continue;
            shutdown(t->fd, SHUT_RDWR);
            t->cut = 1;
            if (cuts++ == 0)
                memcpy(client, t->client, sizeof client);
        }
        if (cuts) {
            pthread_mutex_unlock(&s->lock);
            warn_client(s, "cut %u connection%s (%s%s) without a full request after %u ms", cuts,
                        cuts == 1 ? "" : "s", client, cuts == 1 ? "" : ", ...",
                        s->header_timeout_ms);
            pthread_mutex_lock(&s->lock);
        }
        int64_t next = mono_ns() + tick * 1000000;
        struct timespec until = { (time_t)(next / 1000000000), (long)(next % 1000000000) };
        pthread_cond_timedwait(&s->wake, &s->lock, &until);
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

/* Queue body (malloc'ed, taken over; NULL answers 500 without a body
 * allocation) with its content type. */
static enum MHD_Result answer(struct MHD_Connection *conn, unsigned status, char *body, size_t len,
                              const char *type)
{
    struct MHD_Response *r;
    if (body) {
        r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
        if (!r) {
            free(body);
            return MHD_NO;
        }
    } else {
        static char oom[] = "{\"error\":\"out of memory\"}";
        status = MHD_HTTP_INTERNAL_SERVER_ERROR;
        type = JSON_CONTENT_TYPE;
        r = MHD_create_response_from_buffer(strlen(oom), oom, MHD_RESPMEM_PERSISTENT);
        if (!r)
            return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    if (status == MHD_HTTP_UNAUTHORIZED)
        MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
    enum MHD_Result ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

/* A JSON object of string members, given as name, value pairs up to NULL. */
static char *json_object(const char *name, ...)
{
    cJSON *o = cJSON_CreateObject();
    int ok = o != NULL;
    va_list ap;
    va_start(ap, name);
    for (const char *n = name; ok && n; n = va_arg(ap, const char *))
        ok = cJSON_AddStringToObject(o, n, va_arg(ap, const char *)) != NULL;
    va_end(ap);
    char *text = ok ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    return text;
}

static enum MHD_Result answer_json(struct MHD_Connection *conn, unsigned status, char *body)
{
    return answer(conn, status, body, body ? strlen(body) : 0, JSON_CONTENT_TYPE);
}

static enum MHD_Result answer_error(struct MHD_Connection *conn, unsigned status,
                                    const char *message)
{
    return answer_json(conn, status, json_object("error", message, (const char *)NULL));
}

static enum MHD_Result readyz(admin_server *s, struct MHD_Connection *conn, unsigned *status)
{
    char reason[256] = "";
    int ready = s->ready ? s->ready(reason, sizeof reason, s->userdata) : 1;
    reason[sizeof reason - 1] = '\0';
    if (ready == 1) {
        *status = MHD_HTTP_OK;
        return answer_json(conn, *status, json_object("status", "ready", (const char *)NULL));
    }
    *status = MHD_HTTP_SERVICE_UNAVAILABLE;
    return answer_json(conn, *status,
                       json_object("status", "not ready", "reason",
                                   reason[0] ? reason : "not ready", (const char *)NULL));
}

static enum MHD_Result metrics(admin_server *s, struct MHD_Connection *conn, int json,
                               unsigned *status)
{
    if (!s->snapshot) {
        *status = MHD_HTTP_SERVICE_UNAVAILABLE;
        return answer_error(conn, *status, "metrics are not available");
    }
    metrics_snapshot snap;
    memset(&snap, 0, sizeof snap);
    if (s->snapshot(&snap, s->userdata) != 0) {
        *status = MHD_HTTP_INTERNAL_SERVER_ERROR;
        return answer_error(conn, *status, "taking the metrics snapshot failed");
    }
    char *text = NULL;
    size_t len = 0;
    int rc = json ? metrics_render_json(&text, &len, &snap)
                  : metrics_render_prometheus(&text, &len, &snap);
    *status = rc == 0 ? MHD_HTTP_OK : MHD_HTTP_INTERNAL_SERVER_ERROR;
    return answer(conn, *status, rc == 0 ? text : NULL, len,
                  json ? JSON_CONTENT_TYPE : PROMETHEUS_CONTENT_TYPE);
}

static enum MHD_Result jobs(admin_server *s, struct MHD_Connection *conn, unsigned *status)
{
    if (!s->jobs_json) {
        *status = MHD_HTTP_SERVICE_UNAVAILABLE;
        return answer_error(conn, *status, "jobs are not available");
    }
    char *body = NULL;
    if (s->jobs_json(&body, s->userdata) != 0 || !body) {
        free(body);
        *status = MHD_HTTP_INTERNAL_SERVER_ERROR;
        return answer_error(conn, *status, "listing the jobs failed");
    }
    *status = MHD_HTTP_OK;
    return answer_json(conn, *status, body);
}

/* The request path for the log: printable ASCII only, cut to fit. */
static void printable(char *out, size_t size, const char *in)
{
    size_t o = 0;
    for (; *in && o + 1 < size; in++)
        out[o++] = *in > ' ' && *in < 127 ? *in : '?';
    out[o] = '\0';
}

/* Whether given equals the token, in a time that depends on the token's
 * length only. */
static int token_equal(const admin_server *s, const char *given)
{
    size_t glen = strlen(given);
    volatile unsigned char diff = glen != s->token_len;
    for (size_t i = 0; i < s->token_len; i++)
        diff |= (unsigned char)(s->token[i] ^ given[i < glen ? i : 0]);
    return diff == 0;
}

/* Whether the request may see /api/v1/...: no token set, or
 * "Authorization: Bearer TOKEN" (the scheme in any case). */
static int authorized(const admin_server *s, struct MHD_Connection *conn)
{
    if (!s->token)
        return 1;
    const char *v =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (!v || strncasecmp(v, "Bearer ", 7) != 0)
        return 0;
    v += 7;
    while (*v == ' ')
        v++;
    return token_equal(s, v);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *upload_data,
                              size_t *upload_data_size, void **con_cls)
{
    (void)version;
    (void)upload_data;
    admin_server *s = cls;
    static int request_seen;
    int get = strcmp(method, MHD_HTTP_METHOD_GET) == 0;
    int head = strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
    unsigned status = 0;
    enum MHD_Result ret;

    if (*con_cls == NULL) {
        *con_cls = &request_seen;
        if ((get || head) && strncmp(url, "/api/v1/", 8) == 0 && !authorized(s, conn)) {
            /* Refuse at once, without reading any body. */
            set_waiting(s, conn, 0);
            char path[64];
            printable(path, sizeof path, url);
            warn_client(s, "unauthorized request for %s", path);
            status = MHD_HTTP_UNAUTHORIZED;
            ret = answer_error(conn, status, "unauthorized");
        } else if (get || head) {
            return MHD_YES; /* answer once the request (and any body) is in */
        } else {
            /* Refuse other methods at once, without reading their body. */
            set_waiting(s, conn, 0);
            status = MHD_HTTP_METHOD_NOT_ALLOWED;
            ret = answer_error(conn, status, "method not allowed");
        }
    } else if (*upload_data_size > 0) {
        *upload_data_size = 0; /* a GET with a body: ignore the body */
        return MHD_YES;
    } else {
        set_waiting(s, conn, 0); /* the request is in: no deadline while answering */
        if (strcmp(url, "/healthz") == 0) {
            status = MHD_HTTP_OK;
            ret = answer_json(conn, status, json_object("status", "ok", (const char *)NULL));
        } else if (strcmp(url, "/readyz") == 0) {
            ret = readyz(s, conn, &status);
        } else if (strcmp(url, "/metrics") == 0) {
            ret = metrics(s, conn, 0, &status);
        } else if (strcmp(url, "/api/v1/metrics") == 0) {
            ret = metrics(s, conn, 1, &status);
        } else if (strcmp(url, "/api/v1/jobs") == 0) {
            ret = jobs(s, conn, &status);
        } else {
            status = MHD_HTTP_NOT_FOUND;
            ret = answer_error(conn, status, "not found");
        }
    }
    if (s->log) {
        char m[16], path[256];
        printable(m, sizeof m, method);
        printable(path, sizeof path, url);
        say(s, LOG_LEVEL_DEBUG, "admin http: %s %s %u", m, path, status);
    }
    return ret;
}

/* Whether addr is a wildcard address (every interface). */
static int is_wildcard(const struct sockaddr *addr)
{
    if (addr->sa_family == AF_INET)
        return ((const struct sockaddr_in *)addr)->sin_addr.s_addr == htonl(INADDR_ANY);
    if (addr->sa_family != AF_INET6)
        return 0;
    const struct in6_addr *a6 = &((const struct sockaddr_in6 *)addr)->sin6_addr;
    static const unsigned char zero[4];
    return IN6_IS_ADDR_UNSPECIFIED(a6) ||
           (IN6_IS_ADDR_V4MAPPED(a6) && memcmp(a6->s6_addr + 12, zero, 4) == 0);
}

static void release(admin_server *s)
{
    if (s->have_watchdog) {
        pthread_mutex_lock(&s->lock);
        s->stopping = 1;
        pthread_cond_signal(&s->wake);
        pthread_mutex_unlock(&s->lock);
        pthread_join(s->watchdog, NULL);
    }
    if (s->daemon)
        MHD_stop_daemon(s->daemon);
    if (s->have_sync) {
        pthread_cond_destroy(&s->wake);
        pthread_mutex_destroy(&s->lock);
    }
    retry_limiter_free(s->warn_limit);
    free(s->token);
    free(s);
}

static int init_sync(admin_server *s)
{
    pthread_condattr_t ca;
    if (pthread_condattr_init(&ca) != 0)
        return -1;
    int rc = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) == 0 &&
                     pthread_cond_init(&s->wake, &ca) == 0
                 ? 0
                 : -1;
    pthread_condattr_destroy(&ca);
    if (rc != 0)
        return -1;
    if (pthread_mutex_init(&s->lock, NULL) != 0) {
        pthread_cond_destroy(&s->wake);
        return -1;
    }
    s->have_sync = 1;
    return 0;
}

int admin_start(admin_server **out, const admin_options *o)
{
    *out = NULL;
    admin_server *s = calloc(1, sizeof *s);
    if (!s)
        return -1;
    s->snapshot = o->snapshot;
    s->ready = o->ready;
    s->jobs_json = o->jobs_json;
    s->log = o->log;
    s->userdata = o->userdata;
    s->header_timeout_ms = o->header_timeout_ms ? o->header_timeout_ms : DEFAULT_HEADER_TIMEOUT_MS;
    unsigned per_client = o->per_client_limit ? o->per_client_limit : DEFAULT_PER_CLIENT_LIMIT;
    unsigned limit = o->connection_limit ? o->connection_limit : DEFAULT_CONNECTION_LIMIT;
    unsigned per_min = o->warnings_per_min ? o->warnings_per_min : DEFAULT_WARNINGS_PER_MIN;
    if (init_sync(s) != 0) {
        free(s);
        return -1;
    }
    retry_limiter_options lo = RETRY_LIMITER_OPTIONS_INIT;
    lo.rate = per_min / 60.0;
    lo.burst = per_min;
    if (retry_limiter_new(&s->warn_limit, &lo) != RETRY_OK) {
        release(s);
        return -1;
    }
    if (o->token && o->token[0]) {
        s->token_len = strlen(o->token);
        s->token = malloc(s->token_len + 1);
        if (!s->token) {
            release(s);
            return -1;
        }
        memcpy(s->token, o->token, s->token_len + 1);
    }

    const char *host = o->bind_address ? o->bind_address : "127.0.0.1";
    if (o->port > 65535) {
        say(s, LOG_LEVEL_ERROR, "admin http: port %u is out of range", o->port);
        release(s);
        return -1;
    }
    struct addrinfo hints = { .ai_family = AF_UNSPEC,
                              .ai_socktype = SOCK_STREAM,
                              .ai_flags = AI_PASSIVE };
    struct addrinfo *res = NULL;
    int gai = getaddrinfo(host, NULL, &hints, &res);
    if (gai != 0 || !res) {
        say(s, LOG_LEVEL_ERROR, "admin http: cannot resolve bind address %s: %s", host,
            gai_strerror(gai));
        release(s);
        return -1;
    }
    struct sockaddr_storage addr;
    memset(&addr, 0, sizeof addr);
    memcpy(&addr, res->ai_addr, res->ai_addrlen);
    int v6 = res->ai_family == AF_INET6;
    freeaddrinfo(res);
    if (is_wildcard((struct sockaddr *)&addr)) {
        say(s, LOG_LEVEL_ERROR,
            "admin http: bind address %s is a wildcard address (every interface); give the "
            "address of one interface (127.0.0.1: this host only)",
            host);
        release(s);
        return -1;
    }
    if (v6)
        ((struct sockaddr_in6 *)&addr)->sin6_port = htons((uint16_t)o->port);
    else
        ((struct sockaddr_in *)&addr)->sin_port = htons((uint16_t)o->port);

    unsigned threads = o->threads ? o->threads : 2;
    /* libmicrohttpd's own timeout (reset by every byte) only bounds a
     * stalled reader of an answer; the watchdog keeps the header deadline. */
    unsigned idle_s = (s->header_timeout_ms + 999) / 1000;
    unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG | (v6 ? MHD_USE_IPv6 : 0);
    s->daemon = MHD_start_daemon(
        flags, (uint16_t)o->port, NULL, NULL, handle, s, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr, MHD_OPTION_THREAD_POOL_SIZE, threads,
        MHD_OPTION_CONNECTION_LIMIT, limit, MHD_OPTION_PER_IP_CONNECTION_LIMIT, per_client,
        MHD_OPTION_CONNECTION_TIMEOUT, idle_s, MHD_OPTION_NOTIFY_CONNECTION, on_connection, s,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_END);
    if (!s->daemon) {
        say(s, LOG_LEVEL_ERROR, "admin http: cannot listen on %s port %u", host, o->port);
        release(s);
        return -1;
    }
    if (pthread_create(&s->watchdog, NULL, watchdog, s) != 0) {
        say(s, LOG_LEVEL_ERROR, "admin http: cannot start the watchdog thread");
        release(s);
        return -1;
    }
    s->have_watchdog = 1;
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info && info->port ? info->port : o->port;
    int bracket = strchr(host, ':') != NULL;
    say(s, LOG_LEVEL_INFO,
        "admin HTTP on http://%s%s%s:%u (/healthz /readyz /metrics /api/v1/metrics "
        "/api/v1/jobs)",
        bracket ? "[" : "", host, bracket ? "]" : "", s->port);
    *out = s;
    return 0;
}

unsigned admin_port(const admin_server *s)
{
    return s ? s->port : 0;
}

void admin_stop(admin_server *s)
{
    if (!s)
        return;
    release(s);
}
