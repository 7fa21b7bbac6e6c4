/*
 * The admin HTTP server of `ingestor run` (libmicrohttpd):
 *
 *   GET /healthz         200 {"status":"ok"} while the process serves at all
 *   GET /readyz          200 {"status":"ready"}, or 503 {"status":"not ready","reason":"..."}
 *   GET /metrics         200 Prometheus text (text/plain; version=0.0.4; charset=utf-8)
 *   GET /api/v1/metrics  200 the same figures as JSON
 *   GET /api/v1/jobs     200 the JSON that the jobs_json callback returns
 *   other paths 404, other methods than GET and HEAD 405; bodies are JSON
 *   ({"error":"..."}), callback failures are 500, a callback left NULL 503.
 *   With a token, /api/v1/... answers 401 unless the request carries
 *   "Authorization: Bearer TOKEN" (compared in constant time).
 *
 * Slow and hostile clients: one client address holds at most
 * per_client_limit connections (connection_limit in all); a request's line
 * and headers must arrive within header_timeout_ms of the connection's start
 * (or of the end of its previous request), however the bytes trickle in,
 * or the connection is cut. Warnings about clients (malformed requests,
 * refused connections, cut connections, wrong tokens) are rate-limited:
 * a burst of warnings_per_min, then one every 60 s / warnings_per_min, and the
 * next warning that passes says how many were suppressed.
 *
 * Thread safety: the server answers on its own threads (a small pool), so
 * the callbacks are called from those threads, possibly several at once,
 * and must be safe for that. admin_start() and admin_stop() are called by
 * one thread; admin_stop() returns once no callback runs any more. The
 * module never prints: libmicrohttpd's errors and one line per request (at
 * LOG_LEVEL_DEBUG) go to the log callback.
 */
#ifndef INGESTOR_ADMIN_H
#define INGESTOR_ADMIN_H

#include <stddef.h>

#include "log.h"
#include "metrics.h"

typedef struct admin_server admin_server;

typedef struct admin_options {
    const char *bind_address; /* numeric IPv4 or IPv6 address or host name; NULL: "127.0.0.1";
                                 borrowed for admin_start() only */
    unsigned port;            /* 0: any free port (see admin_port()) */
    unsigned threads;         /* threads answering requests; 0: 2 */
    /* Fill *out (zeroed before the call) with the current figures; return 0,
     * or nonzero to answer 500. NULL: /metrics and /api/v1/metrics answer 503. */
    int (*snapshot)(metrics_snapshot *out, void *userdata);
    /* Return 1 when ready; 0 when not, with a reason written into reason
     * (len bytes, NUL-terminated; it is shown to the caller of /readyz, so no
     * secrets). NULL: always ready. */
    int (*ready)(char *reason, size_t len, void *userdata);
    /* Set *out to malloc'ed, NUL-terminated JSON (the server frees it) and
     * return 0; nonzero answers 500. NULL: /api/v1/jobs answers 503. */
    int (*jobs_json)(char **out, void *userdata);
    /* Diagnostics, one line each without a trailing newline. NULL: none. */
    void (*log)(log_level level, const char *msg, void *userdata);
    void *userdata;             /* borrowed; passed to every callback */
    unsigned per_client_limit;  /* connections from one client address; 0: 16 */
    unsigned connection_limit;  /* connections in all; 0: 128 */
    unsigned header_timeout_ms; /* deadline of a request's line and headers; 0: 10000 */
    /* Bearer token that /api/v1/... requires; NULL or "": none. Copied by
     * admin_start(); never logged. */
    const char *token;
    unsigned warnings_per_min; /* warnings about clients; 0: 10 */
} admin_options;

#define ADMIN_OPTIONS_INIT                                                                         \
    {                                                                                              \
        NULL, 0, 0, NULL, NULL, NULL, NULL, NULL, 0, 0, 0, NULL, 0                                 \
    }

/*
 * Start listening and answering. On success *out is a new server that the
 * caller owns (stop with admin_stop()) and 0 is returned. Returns -1 when
 * the address does not resolve, is a wildcard address (0.0.0.0, ::: every
 * interface), or the port cannot be bound (the reason goes to the log
 * callback); *out is then NULL.
 */
int admin_start(admin_server **out, const admin_options *o);

/* The port the server listens on (the one chosen when port was 0). */
unsigned admin_port(const admin_server *s);

/* Stop listening, wait for the requests in progress, free s. NULL is a no-op. */
void admin_stop(admin_server *s);

#endif
