/*
 * The alerting module's Alertmanager format against the real Alertmanager
 * (Debian's prometheus-alertmanager, started here on loopback with a minimal
 * configuration and a throwaway storage directory): a firing alert appears
 * in GET /api/v2/alerts with its labels and annotations, stays there past
 * its first endsAt because it is re-sent, and disappears once resolved.
 * Exits 77 when the alertmanager binary is not installed.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "alert.h"
#include "deadline.h"

#ifndef ALERTMANAGER_BIN
#define ALERTMANAGER_BIN "/usr/bin/prometheus-alertmanager"
#endif

#define RESEND_MS 300

typedef struct am_server {
    pid_t pid;
    int port;
    char dir[64];
    char base[64];
} am_server;

static am_server srv;

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof sa;
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    return ntohs(sa.sin_port);
}

typedef struct buf {
    char *p;
    size_t n;
} buf;

static size_t on_body(char *d, size_t size, size_t nmemb, void *ud)
{
    buf *b = ud;
    size_t n = size * nmemb;
    char *p = realloc(b->p, b->n + n + 1);
    if (!p)
        return 0;
    memcpy(p + b->n, d, n);
    b->p = p;
    b->n += n;
    p[b->n] = '\0';
    return n;
}

/* GET path from the server: the status, and the body in *out (caller frees). */
static long get(const char *path, char **out)
{
    char url[256];
    snprintf(url, sizeof url, "%s%s", srv.base, path);
    buf b = { 0 };
    CURL *h = curl_easy_init();
    assert_non_null(h);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 2000L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
    long status = 0;
    if (curl_easy_perform(h) == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(h);
    if (out)
        *out = b.p;
    else
        free(b.p);
    return status;
}

static int ready(void)
{
    return get("/-/ready", NULL) == 200;
}

static int setup(void **state)
{
    (void)state;
    snprintf(srv.dir, sizeof srv.dir, "/tmp/am-test-XXXXXX");
    assert_non_null(mkdtemp(srv.dir));
    char cfg[128], data[128], logf[128];
    snprintf(cfg, sizeof cfg, "%s/alertmanager.yml", srv.dir);
    snprintf(data, sizeof data, "%s/data", srv.dir);
    snprintf(logf, sizeof logf, "%s/alertmanager.log", srv.dir);
    FILE *f = fopen(cfg, "w");
    assert_non_null(f);
    /* A receiver with no integration: alerts are kept and listed only. */
    fputs("route:\n  receiver: none\nreceivers:\n  - name: none\n", f);
    fclose(f);
    for (int tries = 0; tries < 5; tries++) {
        srv.port = free_port();
        assert_true(srv.port > 0);
        snprintf(srv.base, sizeof srv.base, "http://127.0.0.1:%d", srv.port);
        char listen[64], cfgarg[160], dataarg[160];
        snprintf(listen, sizeof listen, "--web.listen-address=127.0.0.1:%d", srv.port);
        snprintf(cfgarg, sizeof cfgarg, "--config.file=%s", cfg);
        snprintf(dataarg, sizeof dataarg, "--storage.path=%s", data);
        srv.pid = fork();
        assert_true(srv.pid >= 0);
        if (srv.pid == 0) {
            int fd = open(logf, O_WRONLY | O_CREAT | O_APPEND, 0644);
            if (fd >= 0) {
                dup2(fd, 1);
                dup2(fd, 2);
            }
            execl(ALERTMANAGER_BIN, ALERTMANAGER_BIN, cfgarg, dataarg, listen,
                  "--cluster.listen-address=", "--log.level=warn", (char *)NULL);
            _exit(127);
        }
        int64_t until = mono_ms() + 20000;
        int status = 0;
        while (!ready() && mono_ms() < until && waitpid(srv.pid, &status, WNOHANG) == 0)
            sleep_ms(50);
        if (ready())
            return 0;
        kill(srv.pid, SIGKILL);
        waitpid(srv.pid, NULL, 0); /* the port was taken meanwhile: try another */
    }
    fail_msg("alertmanager did not start; see %s", logf);
    return -1;
}

static int teardown(void **state)
{
    (void)state;
    kill(srv.pid, SIGTERM);
    waitpid(srv.pid, NULL, 0);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", srv.dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* The alert listed by the server with label key = key (a copy, or NULL). */
static cJSON *listed(const char *key)
{
    char *body = NULL;
    if (get("/api/v2/alerts", &body) != 200) {
        free(body);
        return NULL;
    }
    cJSON *arr = cJSON_Parse(body);
    free(body);
    cJSON *found = NULL, *it;
    cJSON_ArrayForEach(it, arr)
    {
        cJSON *k = cJSON_GetObjectItem(cJSON_GetObjectItem(it, "labels"), "key");
        if (cJSON_IsString(k) && strcmp(k->valuestring, key) == 0)
            found = cJSON_Duplicate(it, 1);
    }
    cJSON_Delete(arr);
    return found;
}

static const char *str(const cJSON *o, const char *path1, const char *path2)
{
    const cJSON *v = cJSON_GetObjectItem(o, path1);
    if (path2)
        v = cJSON_GetObjectItem(v, path2);
    return cJSON_IsString(v) ? v->valuestring : "";
}

static int64_t parse_time_ms(const char *s)
{
    struct tm tm = { 0 };
    const char *rest = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    assert_non_null(rest);
    int64_t ms = (int64_t)timegm(&tm) * 1000;
    if (*rest == '.')
        ms += (int64_t)(atof(rest) * 1000);
    return ms;
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static cJSON *wait_listed(const char *key, int64_t ms)
{
    int64_t until = mono_ms() + ms;
    cJSON *a;
    while (!(a = listed(key)) && mono_ms() < until)
        sleep_ms(50);
    return a;
}

static void round_trip(void **state)
{
    (void)state;
    alert_options o = ALERT_OPTIONS_INIT;
    o.webhook_url = srv.base; /* the base URL: the module adds /api/v2/alerts */
    o.webhook_alertmanager = 1;
    o.am_instance = "ingestor-test:9187";
    o.am_generator_url = "http://127.0.0.1:9187/api/v1/jobs";
    o.am_resend_ms = RESEND_MS;
    o.timeout_ms = 2000;
    o.retry_base_ms = 10;
    o.retry_cap_ms = 50;
    alerter *a = NULL;
    assert_int_equal(alerter_new(&a, &o), ALERT_OK);

    assert_int_equal(alert_raise_symbol(a, "dq-score:GME", ALERT_WARNING, "GME",
                                        "GME: data-quality score 0.7100 below 0.8000",
                                        "job 12, 2021-01-04..2021-02-26: 40 bars"),
                     ALERT_OK);
    cJSON *al = wait_listed("dq-score:GME", 5000);
    assert_non_null(al);
    char *text = cJSON_PrintUnformatted(al);
    printf("listed by Alertmanager: %s\n", text);
    free(text);
    assert_string_equal(str(al, "labels", "alertname"), "IngestorDqScore");
    assert_string_equal(str(al, "labels", "severity"), "warning");
    assert_string_equal(str(al, "labels", "symbol"), "GME");
    assert_string_equal(str(al, "labels", "instance"), "ingestor-test:9187");
    assert_string_equal(str(al, "labels", "job"), "ingestor");
    assert_string_equal(str(al, "annotations", "summary"),
                        "GME: data-quality score 0.7100 below 0.8000");
    assert_string_equal(str(al, "annotations", "description"),
                        "job 12, 2021-01-04..2021-02-26: 40 bars");
    assert_string_equal(str(al, "generatorURL", NULL), "http://127.0.0.1:9187/api/v1/jobs");
    assert_string_equal(str(al, "status", "state"), "active");
    int64_t first_end = parse_time_ms(str(al, "endsAt", NULL));
    int64_t starts = parse_time_ms(str(al, "startsAt", NULL));
    /* endsAt four re-send intervals ahead, as Prometheus does */
    assert_true(first_end - starts >= 4 * RESEND_MS - 50);
    assert_true(first_end - starts <= 4 * RESEND_MS + 2000);
    cJSON_Delete(al);

    /* Still active after its first endsAt has passed: re-sent meanwhile,
     * with a later endsAt and the same startsAt. */
    while (wall_ms() < first_end + RESEND_MS)
        sleep_ms(50);
    al = listed("dq-score:GME");
    assert_non_null(al);
    assert_string_equal(str(al, "status", "state"), "active");
    assert_true(parse_time_ms(str(al, "endsAt", NULL)) > first_end);
    assert_int_equal(parse_time_ms(str(al, "startsAt", NULL)), starts);
    cJSON_Delete(al);

    /* Resolved: endsAt now, and the server no longer lists it. */
    assert_int_equal(alert_raise_symbol(a, "dq-score:GME", ALERT_RESOLVED, "GME",
                                        "GME: data-quality score back above 0.8000", NULL),
                     ALERT_OK);
    WAIT_FOR_EVERY(!(al = listed("dq-score:GME")) || (cJSON_Delete(al), 0), 5000, 50);
    /* the server may answer the test before the delivery thread counts its 200 */
    WAIT_FOR_EVERY(alerter_pending(a) == 0, 5000, 10);
    uint64_t sent = 0, failed = 0;
    alerter_counts(a, &sent, &failed, NULL, NULL);
    assert_int_equal(sent, 2);
    assert_int_equal(failed, 0);
    printf("resolved: no longer listed by Alertmanager\n");
    alerter_free(a);
}

int main(void)
{
    if (access(ALERTMANAGER_BIN, X_OK) != 0) {
        printf("SKIP: %s is not installed (Debian package prometheus-alertmanager; "
               "scripts/bootstrap installs it)\n",
               ALERTMANAGER_BIN);
        return 77;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(round_trip, setup, teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
