/* The admin HTTP server: health, readiness, metrics and jobs over
 * libmicrohttpd, answered on an internal thread pool. */
#include "admin.h"

#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <cjson/cJSON.h>
#include <microhttpd.h>

#define PROMETHEUS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define JSON_CONTENT_TYPE       "application/json"

struct admin_server {
    struct MHD_Daemon *daemon;
    unsigned port;
    int (*snapshot)(metrics_snapshot *out, void *userdata);
    int (*ready)(char *reason, size_t len, void *userdata);
    int (*jobs_json)(char **out, void *userdata);
    void (*log)(log_level level, const char *msg, void *userdata);
    void *userdata;
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

/* libmicrohttpd's error log, one line each, to the log callback. */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    admin_server *s = cls;
    if (!s->log)
        return;
    char line[512];
    vsnprintf(line, sizeof line, fmt, ap);
    size_t n = strlen(line);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    say(s, LOG_WARNING, "admin http: %s", line);
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
        if (get || head)
            return MHD_YES; /* answer once the request (and any body) is in */
        /* Refuse other methods at once, without reading their body. */
        status = MHD_HTTP_METHOD_NOT_ALLOWED;
        ret = answer_error(conn, status, "method not allowed");
    } else if (*upload_data_size > 0) {
        *upload_data_size = 0; /* a GET with a body: ignore the body */
        return MHD_YES;
    } else if (strcmp(url, "/healthz") == 0) {
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
    if (s->log) {
        char m[16], path[256];
        printable(m, sizeof m, method);
        printable(path, sizeof path, url);
        say(s, LOG_DEBUG, "admin http: %s %s %u", m, path, status);
    }
    return ret;
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

    const char *host = o->bind_address ? o->bind_address : "127.0.0.1";
    if (o->port > 65535) {
        say(s, LOG_ERROR, "admin http: port %u is out of range", o->port);
        free(s);
        return -1;
    }
    struct addrinfo hints = { .ai_family = AF_UNSPEC,
                              .ai_socktype = SOCK_STREAM,
                              .ai_flags = AI_PASSIVE };
    struct addrinfo *res = NULL;
    int gai = getaddrinfo(host, NULL, &hints, &res);
    if (gai != 0 || !res) {
        say(s, LOG_ERROR, "admin http: cannot resolve bind address %s: %s", host,
            gai_strerror(gai));
        free(s);
        return -1;
    }
    struct sockaddr_storage addr;
    memset(&addr, 0, sizeof addr);
    memcpy(&addr, res->ai_addr, res->ai_addrlen);
    int v6 = res->ai_family == AF_INET6;
    freeaddrinfo(res);
    if (v6)
        ((struct sockaddr_in6 *)&addr)->sin6_port = htons((uint16_t)o->port);
    else
        ((struct sockaddr_in *)&addr)->sin_port = htons((uint16_t)o->port);

    unsigned threads = o->threads ? o->threads : 2;
    unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG | (v6 ? MHD_USE_IPv6 : 0);
    s->daemon = MHD_start_daemon(flags, (uint16_t)o->port, NULL, NULL, handle, s,
                                 MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s, MHD_OPTION_SOCK_ADDR,
                                 (struct sockaddr *)&addr, MHD_OPTION_THREAD_POOL_SIZE, threads,
                                 MHD_OPTION_CONNECTION_LIMIT, (unsigned)64,
                                 MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30, MHD_OPTION_END);
    if (!s->daemon) {
        say(s, LOG_ERROR, "admin http: cannot listen on %s port %u", host, o->port);
        free(s);
        return -1;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info && info->port ? info->port : o->port;
    int bracket = strchr(host, ':') != NULL;
    say(s, LOG_INFO,
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
    MHD_stop_daemon(s->daemon);
    free(s);
}
