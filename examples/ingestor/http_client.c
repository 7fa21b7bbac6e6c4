#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "http_client.h"
#include "http_header.h"

struct http_client {
    CURL *curl;
    long connect_timeout_ms, total_timeout_ms;
    size_t max_body;
};

int http_client_new(http_client **out, long connect_timeout_ms, long total_timeout_ms,
                    size_t max_body)
{
    *out = NULL;
    http_client *c = calloc(1, sizeof *c);
    if (!c)
        return -1;
    c->curl = curl_easy_init();
    if (!c->curl) {
        free(c);
        return -1;
    }
    c->connect_timeout_ms = connect_timeout_ms;
    c->total_timeout_ms = total_timeout_ms;
    c->max_body = max_body;
    *out = c;
    return 0;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *userdata)
{
    http_response *r = userdata;
    size_t n = size * nmemb;
    /* libcurl hands over decoded bytes: this bounds what a compressed
     * body expands to, not only what crosses the wire. */
    if (n > r->max_body - r->len) {
        r->too_large = true;
        return 0; /* libcurl turns this into CURLE_WRITE_ERROR */
    }
    if (r->len + n + 1 > r->cap) {
        size_t cap = r->cap ? r->cap : 65536;
        while (cap < r->len + n + 1)
            cap *= 2;
        if (cap > r->max_body + 1)
            cap = r->max_body + 1;
        char *p = realloc(r->body, cap);
        if (!p)
            return 0; /* libcurl turns this into CURLE_WRITE_ERROR */
        r->body = p;
        r->cap = cap;
    }
    memcpy(r->body + r->len, data, n);
    r->len += n;
    r->body[r->len] = '\0';
    return n;
}

static size_t on_header(char *data, size_t size, size_t nitems, void *userdata)
{
    http_response *r = userdata;
    size_t n = size * nitems;
    http_header_value(data, n, "Retry-After", r->retry_after, sizeof r->retry_after);
    return n;
}

/* Called by libcurl right before each request goes out: on a connection
 * found dead, libcurl connects again and sends the request once more. */
static int on_prereq(void *userdata, char *primary_ip, char *local_ip, int primary_port,
                     int local_port)
{
    (void)primary_ip, (void)local_ip, (void)primary_port, (void)local_port;
    http_response *r = userdata;
    r->sends++;
    return CURL_PREREQFUNC_OK;
}

int http_get(http_client *c, const char *url, const char *token, http_response *resp)
{
    resp->status = 0;
    resp->len = 0;
    if (resp->body)
        resp->body[0] = '\0';
    resp->retry_after[0] = '\0';
    resp->transport_error = 0;
    resp->error[0] = '\0';
    resp->too_large = false;
    resp->max_body = c->max_body;
    resp->sends = 0;

    char errbuf[CURL_ERROR_SIZE] = "";
    struct curl_slist *headers = NULL;
    char auth[512];
    if (token) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
        headers = curl_slist_append(headers, auth);
        /* The token was copied into the list; clear the stack copy. */
        memset(auth, 0, sizeof auth);
        if (!headers) {
            snprintf(resp->error, sizeof resp->error, "out of memory");
            resp->transport_error = CURLE_OUT_OF_MEMORY;
            return -1;
        }
    }
    CURL *h = c->curl;
    curl_easy_reset(h);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, c->connect_timeout_ms);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, c->total_timeout_ms);
    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)c->max_body);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "ingestkit-ingestor/" INGESTKIT_VERSION);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, resp);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, resp);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_PREREQFUNCTION, on_prereq);
    curl_easy_setopt(h, CURLOPT_PREREQDATA, resp);

    CURLcode rc = curl_easy_perform(h);
    curl_slist_free_all(headers);
    /* Do not keep the header list (and the token in it) reachable. */
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
    if (rc == CURLE_FILESIZE_EXCEEDED)
        resp->too_large = true;
    if (rc != CURLE_OK) {
        resp->transport_error = (int)rc;
        if (resp->too_large)
            snprintf(resp->error, sizeof resp->error, "the response body exceeds %zu bytes",
                     c->max_body);
        else
            snprintf(resp->error, sizeof resp->error, "%s",
                     errbuf[0] ? errbuf : curl_easy_strerror(rc));
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
        return -1;
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
    if (!resp->body) { /* an empty body: give callers a string anyway */
        resp->body = calloc(1, 1);
        resp->cap = resp->body ? 1 : 0;
    }
    return 0;
}

void http_response_free(http_response *resp)
{
    free(resp->body);
    memset(resp, 0, sizeof *resp);
}

void http_client_free(http_client *c)
{
    if (!c)
        return;
    curl_easy_cleanup(c->curl);
    free(c);
}
