/*
 * A small HTTP GET client over libcurl for the Polygon source: one
 * connection kept alive per client (one client per worker thread), a bearer
 * token sent as a header and never in a URL, no redirects followed (so the
 * token never travels to another host), and timeouts on everything.
 */
#ifndef INGESTOR_HTTP_CLIENT_H
#define INGESTOR_HTTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct http_client http_client;

typedef struct http_response {
    long status; /* HTTP status, 0 when no answer arrived */
    char *body;  /* owned, NUL-terminated; reused between calls */
    size_t len, cap;
    char retry_after[64]; /* the Retry-After header, "" when absent */
    int transport_error;  /* 0, or the libcurl code of a transport failure */
    char error[256];      /* transport failure text (never holds the token) */
    bool too_large;       /* the body passed the client's max_body: the transfer stopped */
    size_t max_body;      /* the limit of the last call */
    int sends; /* requests libcurl sent in the last call: 2 or more when it reconnected after a
                  dropped connection and sent the request again */
} http_response;

/*
 * Create a client. max_body bounds every response body, counted after
 * decoding (a compressed body cannot expand past it); a longer one stops
 * the transfer. Returns 0 or -1 (libcurl could not be initialised).
 */
int http_client_new(http_client **out, long connect_timeout_ms, long total_timeout_ms,
                    size_t max_body);

/*
 * GET url with "Authorization: Bearer token" (token may be NULL). Returns 0
 * when an HTTP answer arrived complete (any status), -1 on a transport
 * failure (connection refused or dropped, timeout, truncated body, a body
 * over max_body: resp->too_large), with resp->transport_error and
 * resp->error set.
 */
int http_get(http_client *c, const char *url, const char *token, http_response *resp);

void http_response_free(http_response *resp);
void http_client_free(http_client *c);

#endif
