/* The admin HTTP server, in process on a free loopback port, fetched with
 * libcurl: status codes, content types and bodies of every endpoint. */
#include <arpa/inet.h>
#include <errno.h>
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
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "admin.h"
#include "metrics.h"
#include "promcheck.h"

/* ---------------------------------------------------------------- callbacks */

typedef struct fixture {
    admin_server *srv;
    atomic_int ready;         /* what the ready callback says */
    atomic_int fail_snapshot; /* the snapshot callback fails */
    atomic_int fail_jobs;     /* the jobs callback fails */
    atomic_int snapshots;     /* calls of the snapshot callback */
    pthread_mutex_t log_lock;
    int warnings;   /* log lines at LOG_LEVEL_WARNING or above */
    char log[8192]; /* every log line, '\n'-separated (cut when full) */
} fixture;

static int snapshot_cb(metrics_snapshot *out, void *ud)
{
    fixture *f = ud;
    atomic_fetch_add(&f->snapshots, 1);
    if (atomic_load(&f->fail_snapshot))
        return -1;
    out->counters.bars_inserted = 1234;
    out->counters.requests = 10;
    out->counters.responses_2xx = 10;
    out->lease_losses = 2;
    if (metrics_snapshot_add_jobs(out, "queued", 7) || metrics_snapshot_add_jobs(out, "dead", 1))
        return -1;
    latency_hist h;
    latency_hist_init(&h);
    latency_hist_observe(&h, 0.3);
    latency_hist_read(&out->page_fetch, &h);
    out->have_breaker = 1;
    out->breaker.state = RETRY_BREAKER_HALF_OPEN;
    return 0;
}

static int ready_cb(char *reason, size_t len, void *ud)
{
    fixture *f = ud;
    if (atomic_load(&f->ready))
        return 1;
    snprintf(reason, len, "database \"down\": %s", "connection refused");
    return 0;
}

static int jobs_cb(char **out, void *ud)
{
    fixture *f = ud;
    if (atomic_load(&f->fail_jobs))
        return -1;
    const char *j = "[{\"id\":1,\"symbol\":\"AAPL\",\"state\":\"queued\"}]";
    *out = malloc(strlen(j) + 1);
    if (!*out)
        return -1;
    memcpy(*out, j, strlen(j) + 1);
    return 0;
}

static void log_cb(log_level level, const char *msg, void *ud)
{
    fixture *f = ud;
    pthread_mutex_lock(&f->log_lock);
    if (level >= LOG_LEVEL_WARNING)
        f->warnings++;
    size_t n = strlen(f->log);
    snprintf(f->log + n, sizeof f->log - n, "%s\n", msg);
    pthread_mutex_unlock(&f->log_lock);
}

static admin_options options(fixture *f)
{
    admin_options o = ADMIN_OPTIONS_INIT;
    o.port = 0;
    o.snapshot = snapshot_cb;
    o.ready = ready_cb;
    o.jobs_json = jobs_cb;
    o.log = log_cb;
    o.userdata = f;
    return o;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    pthread_mutex_init(&f->log_lock, NULL);
    atomic_store(&f->ready, 1);
    admin_options o = options(f);
    if (admin_start(&f->srv, &o) != 0) {
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    admin_stop(f->srv);
    pthread_mutex_destroy(&f->log_lock);
    free(f);
    return 0;
}

/* ---------------------------------------------------------------- HTTP client */

typedef struct reply {
    long status;
    char type[128];
    char allow[64];
    char www[64]; /* WWW-Authenticate */
    char *body;
    size_t len;
} reply;

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    reply *r = ud;
    char *b = realloc(r->body, r->len + size * n + 1);
    if (!b)
        return 0;
    memcpy(b + r->len, p, size * n);
    r->len += size * n;
    b[r->len] = '\0';
    r->body = b;
    return size * n;
}

/* The value of header name (with its colon) into out, when p is that header. */
static void header_value(const char *p, size_t len, const char *name, char *out, size_t size)
{
    size_t nl = strlen(name);
    if (len <= nl || strncasecmp(p, name, nl))
        return;
    size_t v = nl;
    while (v < len && p[v] == ' ')
        v++;
    size_t e = len;
    while (e > v && (p[e - 1] == '\r' || p[e - 1] == '\n'))
        e--;
    snprintf(out, size, "%.*s", (int)(e - v), p + v);
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    reply *r = ud;
    size_t len = size * n;
    header_value(p, len, "Allow:", r->allow, sizeof r->allow);
    header_value(p, len, "WWW-Authenticate:", r->www, sizeof r->www);
    return len;
}

/* method NULL: GET; "HEAD": no body; others with a small body. auth: an
 * Authorization header value or NULL. Returns the reply; a transport error
 * fails the test when must_connect, else gives status 0. */
static reply fetch_with(unsigned port, const char *method, const char *path, const char *auth,
                        int must_connect)
{
    reply r = { 0 };
    char url[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%u%s", port, path);
    CURL *c = curl_easy_init();
    assert_non_null(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &r);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    if (method && !strcmp(method, "HEAD")) {
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    } else if (method && !strcmp(method, "POST")) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, "{\"x\":1}");
    } else if (method) {
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    }
    struct curl_slist *hdrs = NULL;
    char line[512];
    if (auth) {
        snprintf(line, sizeof line, "Authorization: %s", auth);
        hdrs = curl_slist_append(NULL, line);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    }
    CURLcode rc = curl_easy_perform(c);
    curl_slist_free_all(hdrs);
    if (rc != CURLE_OK && must_connect)
        fail_msg("%s %s: %s", method ? method : "GET", path, curl_easy_strerror(rc));
    if (rc != CURLE_OK) {
        curl_easy_cleanup(c);
        free(r.body);
        memset(&r, 0, sizeof r);
        return r;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
    char *type = NULL;
    curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &type);
    snprintf(r.type, sizeof r.type, "%s", type ? type : "");
    curl_easy_cleanup(c);
    return r;
}

static reply fetch(unsigned port, const char *method, const char *path)
{
    return fetch_with(port, method, path, NULL, 1);
}

static cJSON *json_body(const reply *r)
{
    assert_string_equal(r->type, "application/json");
    assert_non_null(r->body);
    cJSON *o = cJSON_Parse(r->body);
    if (!o)
        fail_msg("not JSON: %s", r->body);
    return o;
}

static const char *jstr(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    if (!cJSON_IsString(v))
        fail_msg("no string member %s", name);
    return v->valuestring;
}

/* ---------------------------------------------------------------- tests */

static void healthz(void **state)
{
    fixture *f = *state;
    unsigned port = admin_port(f->srv);
    assert_true(port > 0 && port < 65536);
    reply r = fetch(port, NULL, "/healthz");
    assert_int_equal(r.status, 200);
    cJSON *o = json_body(&r);
    assert_string_equal(jstr(o, "status"), "ok");
    assert_int_equal(cJSON_GetArraySize(o), 1);
    cJSON_Delete(o);
    free(r.body);

    r = fetch(port, "HEAD", "/healthz");
    assert_int_equal(r.status, 200);
    assert_string_equal(r.type, "application/json");
    assert_int_equal(r.len, 0);
    free(r.body);
}

static void readyz_both_ways(void **state)
{
    fixture *f = *state;
    unsigned port = admin_port(f->srv);
    reply r = fetch(port, NULL, "/readyz");
    assert_int_equal(r.status, 200);
    cJSON *o = json_body(&r);
    assert_string_equal(jstr(o, "status"), "ready");
    cJSON_Delete(o);
    free(r.body);

    atomic_store(&f->ready, 0);
    r = fetch(port, NULL, "/readyz");
    assert_int_equal(r.status, 503);
    o = json_body(&r);
    assert_string_equal(jstr(o, "status"), "not ready");
    assert_string_equal(jstr(o, "reason"), "database \"down\": connection refused");
    cJSON_Delete(o);
    free(r.body);

    atomic_store(&f->ready, 1);
    r = fetch(port, NULL, "/readyz");
    assert_int_equal(r.status, 200);
    free(r.body);
}

static void metrics_prometheus(void **state)
{
    fixture *f = *state;
    reply r = fetch(admin_port(f->srv), NULL, "/metrics");
    assert_int_equal(r.status, 200);
    assert_string_equal(r.type, "text/plain; version=0.0.4; charset=utf-8");
    assert_non_null(r.body);
    prom_doc d;
    if (prom_parse(&d, r.body, r.len) != 0)
        fail_msg("invalid exposition: %s", d.err);
    double v = 0;
    assert_true(prom_get(&d, "ingestor_bars_total", "outcome=inserted", &v));
    assert_float_equal(v, 1234, 0);
    assert_true(prom_get(&d, "ingestor_jobs", "state=queued", &v));
    assert_float_equal(v, 7, 0);
    assert_true(prom_get(&d, "ingestor_jobs", "state=dead", &v));
    assert_float_equal(v, 1, 0);
    assert_true(prom_get(&d, "ingestor_lease_losses_total", "", &v));
    assert_float_equal(v, 2, 0);
    assert_true(prom_get(&d, "ingestor_page_fetch_seconds_bucket", "le=0.5", &v));
    assert_float_equal(v, 1, 0);
    assert_true(prom_get(&d, "ingestor_api_breaker_state", "state=half_open", &v));
    assert_float_equal(v, 1, 0);
    assert_int_equal(prom_count(&d, "pgpool_connections"), 0); /* have_pool 0 */
    prom_free(&d);
    free(r.body);
    assert_true(atomic_load(&f->snapshots) >= 1);
}

static void metrics_json(void **state)
{
    fixture *f = *state;
    reply r = fetch(admin_port(f->srv), NULL, "/api/v1/metrics");
    assert_int_equal(r.status, 200);
    cJSON *o = json_body(&r);
    const cJSON *bars = cJSON_GetObjectItemCaseSensitive(o, "bars");
    assert_true(cJSON_IsObject(bars));
    assert_float_equal(cJSON_GetObjectItemCaseSensitive(bars, "inserted")->valuedouble, 1234, 0);
    const cJSON *jobs = cJSON_GetObjectItemCaseSensitive(o, "jobs");
    assert_float_equal(cJSON_GetObjectItemCaseSensitive(jobs, "queued")->valuedouble, 7, 0);
    const cJSON *br = cJSON_GetObjectItemCaseSensitive(o, "api_breaker");
    assert_string_equal(jstr(br, "state"), "half_open");
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o, "pgpool")));
    cJSON_Delete(o);
    free(r.body);
}

static void jobs_endpoint(void **state)
{
    fixture *f = *state;
    reply r = fetch(admin_port(f->srv), NULL, "/api/v1/jobs");
    assert_int_equal(r.status, 200);
    cJSON *o = json_body(&r);
    assert_true(cJSON_IsArray(o));
    assert_int_equal(cJSON_GetArraySize(o), 1);
    assert_string_equal(jstr(cJSON_GetArrayItem(o, 0), "symbol"), "AAPL");
    cJSON_Delete(o);
    free(r.body);
}

static void callback_failures_are_500(void **state)
{
    fixture *f = *state;
    unsigned port = admin_port(f->srv);
    atomic_store(&f->fail_snapshot, 1);
    atomic_store(&f->fail_jobs, 1);
    const char *paths[] = { "/metrics", "/api/v1/metrics", "/api/v1/jobs" };
    for (int i = 0; i < 3; i++) {
        reply r = fetch(port, NULL, paths[i]);
        assert_int_equal(r.status, 500);
        cJSON *o = json_body(&r);
        assert_true(strlen(jstr(o, "error")) > 0);
        cJSON_Delete(o);
        free(r.body);
    }
    atomic_store(&f->fail_snapshot, 0);
    atomic_store(&f->fail_jobs, 0);
}

static void unknown_path_is_404(void **state)
{
    fixture *f = *state;
    const char *paths[] = { "/", "/nope", "/metrics/", "/healthz/x", "/api/v1", "/API/v1/jobs" };
    for (int i = 0; i < 6; i++) {
        reply r = fetch(admin_port(f->srv), NULL, paths[i]);
        assert_int_equal(r.status, 404);
        cJSON *o = json_body(&r);
        assert_string_equal(jstr(o, "error"), "not found");
        cJSON_Delete(o);
        free(r.body);
    }
    /* a query string is not part of the path */
    reply r = fetch(admin_port(f->srv), NULL, "/healthz?verbose=1");
    assert_int_equal(r.status, 200);
    free(r.body);
}

static void other_methods_are_405(void **state)
{
    fixture *f = *state;
    const char *methods[] = { "POST", "PUT", "DELETE", "PATCH" };
    const char *paths[] = { "/metrics", "/healthz", "/nope" };
    for (int m = 0; m < 4; m++)
        for (int p = 0; p < 3; p++) {
            reply r = fetch(admin_port(f->srv), methods[m], paths[p]);
            assert_int_equal(r.status, 405);
            assert_string_equal(r.allow, "GET, HEAD");
            cJSON *o = json_body(&r);
            assert_string_equal(jstr(o, "error"), "method not allowed");
            cJSON_Delete(o);
            free(r.body);
        }
}

static void *hammer(void *arg)
{
    fixture *f = arg;
    for (int i = 0; i < 10; i++) {
        reply r =
            fetch_with(admin_port(f->srv), NULL, i % 2 ? "/metrics" : "/api/v1/metrics", NULL, 0);
        if (r.status != 200 || !r.body || r.len < 100) {
            free(r.body);
            return (void *)1;
        }
        free(r.body);
    }
    return NULL;
}

static void concurrent_requests(void **state)
{
    fixture *f = *state;
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&t[i], NULL, hammer, f), 0);
    for (int i = 0; i < 4; i++) {
        void *res = (void *)1;
        assert_int_equal(pthread_join(t[i], &res), 0);
        if (res)
            fail_msg("a request failed; log:\n%s", f->log);
    }
}

static void requests_are_logged(void **state)
{
    fixture *f = *state;
    reply r = fetch(admin_port(f->srv), NULL, "/healthz");
    free(r.body);
    pthread_mutex_lock(&f->log_lock);
    int seen = strstr(f->log, "admin HTTP on http://127.0.0.1:") != NULL &&
               strstr(f->log, "GET /healthz 200") != NULL;
    pthread_mutex_unlock(&f->log_lock);
    assert_true(seen);
}

/* No fixture: servers of their own. */
static void null_callbacks_are_503_and_ready(void **state)
{
    (void)state;
    admin_options o = ADMIN_OPTIONS_INIT;
    admin_server *s = NULL;
    assert_int_equal(admin_start(&s, &o), 0);
    assert_non_null(s);
    unsigned port = admin_port(s);
    reply r = fetch(port, NULL, "/readyz");
    assert_int_equal(r.status, 200);
    free(r.body);
    const char *paths[] = { "/metrics", "/api/v1/metrics", "/api/v1/jobs" };
    for (int i = 0; i < 3; i++) {
        r = fetch(port, NULL, paths[i]);
        assert_int_equal(r.status, 503);
        assert_string_equal(r.type, "application/json");
        free(r.body);
    }
    admin_stop(s);
    admin_stop(NULL);
}

static void busy_port_fails_with_a_log_line(void **state)
{
    (void)state;
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    pthread_mutex_init(&f->log_lock, NULL);
    admin_options o = options(f);
    admin_server *a = NULL, *b = NULL;
    assert_int_equal(admin_start(&a, &o), 0);
    o.port = admin_port(a);
    assert_int_equal(admin_start(&b, &o), -1);
    assert_null(b);
    assert_non_null(strstr(f->log, "cannot listen on 127.0.0.1"));

    o.port = 0;
    o.bind_address = "not an address.invalid";
    assert_int_equal(admin_start(&b, &o), -1);
    assert_null(b);
    assert_non_null(strstr(f->log, "cannot resolve bind address"));
    admin_stop(a);
    pthread_mutex_destroy(&f->log_lock);
    free(f);
}

/* ---------------------------------------------------------------- hostile clients */

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A TCP connection to 127.0.0.1:port from the loopback address src; -1 when
 * refused. */
static int connect_from(const char *src, unsigned port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a = { .sin_family = AF_INET };
    inet_pton(AF_INET, src, &a.sin_addr);
    struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        connect(fd, (struct sockaddr *)&to, sizeof to) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Whether the server has closed fd (without waiting). */
static int closed_by_server(int fd)
{
    struct pollfd p = { .fd = fd, .events = POLLIN };
    if (poll(&p, 1, 0) <= 0)
        return 0;
    char b[256];
    ssize_t n = recv(fd, b, sizeof b, MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

static int send_text(int fd, const char *text)
{
    size_t len = strlen(text);
    return send(fd, text, len, MSG_NOSIGNAL) == (ssize_t)len ? 0 : -1;
}

typedef struct slowloris {
    fixture *f;
    unsigned port;
    atomic_int stop;
    atomic_int connections; /* opened in all */
} slowloris;

/* 70 connections from 127.0.0.2, each sending one header line every
 * 100 ms and never finishing its headers; a connection that the server
 * closes is opened again at once. */
static void *slowloris_run(void *arg)
{
    slowloris *sl = arg;
    enum { N = 70 };
    int fds[N];
    for (int i = 0; i < N; i++)
        fds[i] = -1;
    while (!atomic_load(&sl->stop)) {
        for (int i = 0; i < N; i++) {
            if (fds[i] >= 0 && closed_by_server(fds[i])) {
                close(fds[i]);
                fds[i] = -1;
            }
            if (fds[i] < 0) {
                fds[i] = connect_from("127.0.0.2", sl->port);
                if (fds[i] < 0)
                    continue;
                atomic_fetch_add(&sl->connections, 1);
                if (send_text(fds[i], "GET /healthz HTTP/1.1\r\nHost: x\r\n") != 0) {
                    close(fds[i]);
                    fds[i] = -1;
                }
                continue;
            }
            if (send_text(fds[i], "X-Slow: y\r\n") != 0) {
                close(fds[i]);
                fds[i] = -1;
            }
        }
        struct timespec ts = { 0, 100 * 1000000L };
        nanosleep(&ts, NULL);
    }
    for (int i = 0; i < N; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    return NULL;
}

static admin_server *start_with(fixture *f, unsigned header_timeout_ms, const char *token)
{
    admin_options o = options(f);
    o.header_timeout_ms = header_timeout_ms;
    o.token = token;
    admin_server *s = NULL;
    if (admin_start(&s, &o) != 0)
        fail_msg("admin_start failed: %s", f->log);
    return s;
}

static fixture *new_fixture(void)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    pthread_mutex_init(&f->log_lock, NULL);
    atomic_store(&f->ready, 1);
    return f;
}

static void free_fixture(fixture *f)
{
    pthread_mutex_destroy(&f->log_lock);
    free(f);
}

/* 70 slow clients on one address: /healthz from another keeps answering,
 * at once, for the whole attack (3 s: three header deadlines). */
static void healthz_answers_while_70_slow_clients_hold_connections(void **state)
{
    (void)state;
    fixture *f = new_fixture();
    admin_server *s = start_with(f, 1000, NULL);
    slowloris sl = { .f = f, .port = admin_port(s) };
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, slowloris_run, &sl), 0);
    struct timespec ts = { 0, 300 * 1000000L };
    nanosleep(&ts, NULL); /* let the connections pile up */
    int asked = 0, answered = 0;
    int64_t end = now_ms() + 3000;
    while (now_ms() < end) {
        reply r = fetch_with(admin_port(s), NULL, "/healthz", NULL, 0);
        asked++;
        answered += r.status == 200;
        free(r.body);
        nanosleep(&(struct timespec){ 0, 100 * 1000000L }, NULL);
    }
    atomic_store(&sl.stop, 1);
    pthread_join(t, NULL);
    admin_stop(s);
    print_message("healthz: %d of %d answered; %d slow connections opened\n", answered, asked,
                  atomic_load(&sl.connections));
    assert_true(atomic_load(&sl.connections) >= 70);
    assert_int_equal(answered, asked);
    /* Refusals and cuts were many; the warnings about them are few. */
    assert_true(f->warnings >= 1);
    assert_true(f->warnings <= 10 + 3);
    free_fixture(f);
}

/* Header lines trickling in every 100 ms do not extend the 800 ms
 * deadline: the connection is cut close to it. */
static void trickled_headers_are_cut_at_the_deadline(void **state)
{
    (void)state;
    fixture *f = new_fixture();
    admin_server *s = start_with(f, 800, NULL);
    int fd = connect_from("127.0.0.1", admin_port(s));
    assert_true(fd >= 0);
    int64_t start = now_ms();
    assert_int_equal(send_text(fd, "GET /healthz HTTP/1.1\r\nHost: x\r\n"), 0);
    int64_t cut = -1;
    while (now_ms() - start < 5000) {
        if (closed_by_server(fd)) {
            cut = now_ms() - start;
            break;
        }
        if (send_text(fd, "X-Slow: y\r\n") != 0) {
            cut = now_ms() - start;
            break;
        }
        nanosleep(&(struct timespec){ 0, 100 * 1000000L }, NULL);
    }
    close(fd);
    print_message("cut after %lld ms (deadline 800 ms)\n", (long long)cut);
    assert_true(cut >= 700);
    assert_true(cut <= 800 + 1000);

    /* A prompt request on the same server is answered as before, twice on
     * one connection more than a deadline apart. */
    fd = connect_from("127.0.0.1", admin_port(s));
    assert_true(fd >= 0);
    char buf[4096];
    for (int i = 0; i < 2; i++) {
        assert_int_equal(send_text(fd, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"), 0);
        struct pollfd p = { .fd = fd, .events = POLLIN };
        assert_int_equal(poll(&p, 1, 2000), 1);
        ssize_t n = recv(fd, buf, sizeof buf - 1, 0);
        assert_true(n > 12);
        buf[n] = '\0';
        assert_memory_equal(buf, "HTTP/1.1 200", 12);
        if (i == 0)
            nanosleep(&(struct timespec){ 0, 300 * 1000000L }, NULL);
    }
    close(fd);
    admin_stop(s);
    free_fixture(f);
}

/* 200 malformed requests: each is refused, and the log gets a handful of
 * warnings, the last of them counting the ones it left out. */
static void malformed_request_flood_gives_rate_limited_warnings(void **state)
{
    (void)state;
    fixture *f = new_fixture();
    admin_server *s = start_with(f, 1000, NULL);
    for (int i = 0; i < 200; i++) {
        int fd = connect_from("127.0.0.1", admin_port(s));
        assert_true(fd >= 0);
        (void)send_text(fd, "GET /healthz HTTP/1.1\r\nno colon in this line\r\n\r\n");
        struct pollfd p = { .fd = fd, .events = POLLIN };
        (void)poll(&p, 1, 2000);
        char buf[512];
        ssize_t n = recv(fd, buf, sizeof buf - 1, 0);
        if (n > 0) {
            buf[n] = '\0';
            assert_null(strstr(buf, " 200 "));
        }
        close(fd);
    }
    /* and once more after the flood, one request that is fine */
    reply r = fetch(admin_port(s), NULL, "/healthz");
    assert_int_equal(r.status, 200);
    free(r.body);
    admin_stop(s);
    print_message("warnings: %d\n", f->warnings);
    assert_true(f->warnings >= 1);
    assert_true(f->warnings <= 10 + 2);
    free_fixture(f);
}

static void api_needs_the_bearer_token_when_one_is_set(void **state)
{
    (void)state;
    fixture *f = new_fixture();
    const char *token = "tok-3f9a1c\"x";
    admin_server *s = start_with(f, 0, token);
    unsigned port = admin_port(s);
    const char *api[] = { "/api/v1/jobs", "/api/v1/metrics" };
    const char *wrong[] = { NULL,
                            "Bearer",
                            "Bearer ",
                            "Bearer tok-3f9a1c",
                            "Bearer tok-3f9a1c\"xy",
                            "Basic tok-3f9a1c\"x",
                            "tok-3f9a1c\"x" };
    for (int a = 0; a < 2; a++) {
        for (size_t w = 0; w < sizeof wrong / sizeof wrong[0]; w++) {
            reply r = fetch_with(port, NULL, api[a], wrong[w], 1);
            if (r.status != 401)
                fail_msg("%s with %s: %ld", api[a], wrong[w] ? wrong[w] : "(none)", r.status);
            assert_string_equal(r.www, "Bearer");
            cJSON *o = json_body(&r);
            assert_string_equal(jstr(o, "error"), "unauthorized");
            cJSON_Delete(o);
            free(r.body);
        }
        reply r = fetch_with(port, NULL, api[a], "Bearer tok-3f9a1c\"x", 1);
        assert_int_equal(r.status, 200);
        free(r.body);
        r = fetch_with(port, NULL, api[a], "bearer   tok-3f9a1c\"x", 1);
        assert_int_equal(r.status, 200);
        free(r.body);
    }
    /* health, readiness and the Prometheus endpoint stay open */
    const char *open_paths[] = { "/healthz", "/readyz", "/metrics" };
    for (int i = 0; i < 3; i++) {
        reply r = fetch(port, NULL, open_paths[i]);
        assert_int_equal(r.status, 200);
        free(r.body);
    }
    admin_stop(s);
    assert_null(strstr(f->log, "tok-3f9a1c"));
    free_fixture(f);
}

static void wildcard_bind_addresses_are_refused(void **state)
{
    (void)state;
    const char *wild[] = { "0", "0.0.0.0", "::", "0::0", "000.0.0.0" };
    for (size_t i = 0; i < sizeof wild / sizeof wild[0]; i++) {
        fixture *f = new_fixture();
        admin_options o = options(f);
        o.bind_address = wild[i];
        admin_server *s = NULL;
        int rc = admin_start(&s, &o);
        if (rc != -1) {
            admin_stop(s);
            fail_msg("%s: admin_start gave %d", wild[i], rc);
        }
        assert_null(s);
        assert_non_null(strstr(f->log, "every interface"));
        free_fixture(f);
    }
    /* an explicit address is fine (here a loopback one other than 127.0.0.1) */
    fixture *f = new_fixture();
    admin_options o = options(f);
    o.bind_address = "127.0.0.2";
    admin_server *s = NULL;
    assert_int_equal(admin_start(&s, &o), 0);
    admin_stop(s);
    free_fixture(f);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(healthz, setup, teardown),
        cmocka_unit_test_setup_teardown(readyz_both_ways, setup, teardown),
        cmocka_unit_test_setup_teardown(metrics_prometheus, setup, teardown),
        cmocka_unit_test_setup_teardown(metrics_json, setup, teardown),
        cmocka_unit_test_setup_teardown(jobs_endpoint, setup, teardown),
        cmocka_unit_test_setup_teardown(callback_failures_are_500, setup, teardown),
        cmocka_unit_test_setup_teardown(unknown_path_is_404, setup, teardown),
        cmocka_unit_test_setup_teardown(other_methods_are_405, setup, teardown),
        cmocka_unit_test_setup_teardown(concurrent_requests, setup, teardown),
        cmocka_unit_test_setup_teardown(requests_are_logged, setup, teardown),
        cmocka_unit_test(null_callbacks_are_503_and_ready),
        cmocka_unit_test(busy_port_fails_with_a_log_line),
        cmocka_unit_test(healthz_answers_while_70_slow_clients_hold_connections),
        cmocka_unit_test(trickled_headers_are_cut_at_the_deadline),
        cmocka_unit_test(malformed_request_flood_gives_rate_limited_warnings),
        cmocka_unit_test(api_needs_the_bearer_token_when_one_is_set),
        cmocka_unit_test(wildcard_bind_addresses_are_refused),
    };
    int rc = cmocka_run_group_tests_name("ingestor_admin", tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
