/*
 * polygon-replay against a real HTTP client: pagination, auth, rate limit,
 * faults and the request log, as the ingestor's tests rely on them.
 *   test-polygon-replay REPLAY_EXE DATA_DIR
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>
#include <curl/curl.h>

#include "deadline.h"
#include "harness.h"

static const char *replay_exe, *data_dir;
#define KEY "test-key-5f1d"

static void start(replay_proc *rp, const char *const *extra)
{
    const char *args[32] = { "--api-key", KEY };
    int n = 2;
    for (int i = 0; extra && extra[i]; i++)
        args[n++] = extra[i];
    args[n] = NULL;
    assert_int_equal(replay_start(rp, replay_exe, data_dir, args), 0);
}

/* Follow next_url from url to the end; return all bar times in order. */
static size_t fetch_all(const char *url, int64_t *times, size_t max, int *pages)
{
    char next[1024];
    snprintf(next, sizeof next, "%s", url);
    size_t n = 0;
    *pages = 0;
    for (;;) {
        fetch_result r;
        assert_int_equal(fetch(&r, next, KEY), 0);
        assert_int_equal(r.curl_code, 0);
        assert_int_equal(r.status, 200);
        (*pages)++;
        cJSON *root = cJSON_Parse(r.body);
        assert_non_null(root);
        assert_string_equal(cJSON_GetObjectItem(root, "status")->valuestring, "OK");
        const cJSON *results = cJSON_GetObjectItem(root, "results");
        const cJSON *bar;
        cJSON_ArrayForEach(bar, results)
        {
            assert_true(n < max);
            times[n++] = (int64_t)cJSON_GetObjectItem(bar, "t")->valuedouble;
            assert_non_null(cJSON_GetObjectItem(bar, "o"));
            assert_non_null(cJSON_GetObjectItem(bar, "v"));
        }
        assert_int_equal(cJSON_GetObjectItem(root, "resultsCount")->valueint,
                         cJSON_GetArraySize(results));
        const cJSON *nu = cJSON_GetObjectItem(root, "next_url");
        if (!nu) {
            cJSON_Delete(root);
            fetch_free(&r);
            return n;
        }
        assert_null(strstr(nu->valuestring, "apiKey"));
        assert_null(strstr(nu->valuestring, KEY));
        snprintf(next, sizeof next, "%s", nu->valuestring);
        cJSON_Delete(root);
        fetch_free(&r);
    }
}

static void pages_cover_the_range_in_order(void **state)
{
    (void)state;
    replay_proc rp;
    start(&rp, NULL);
    static int64_t t[2000];
    char url[256];
    int pages;

    snprintf(url, sizeof url, "%s/v2/aggs/ticker/AAPL/range/1/day/2012-01-01/2014-12-31?limit=100",
             rp.base);
    size_t n = fetch_all(url, t, 2000, &pages);
    assert_int_equal(n, 754);
    assert_int_equal(pages, 8);
    assert_int_equal(t[0], INT64_C(1325566800000)); /* 2012-01-03 00:00 New York (EST) */
    for (size_t i = 1; i < n; i++)
        assert_true(t[i] > t[i - 1]);

    snprintf(url, sizeof url,
             "%s/v2/aggs/ticker/AAPL/range/1/day/2012-01-01/2014-12-31?limit=300&sort=desc",
             rp.base);
    n = fetch_all(url, t, 2000, &pages);
    assert_int_equal(n, 754);
    assert_int_equal(pages, 3);
    for (size_t i = 1; i < n; i++)
        assert_true(t[i] < t[i - 1]);

    /* A summer date is stamped at 04:00Z: 2012-07-02 00:00 EDT. */
    snprintf(url, sizeof url, "%s/v2/aggs/ticker/AAPL/range/1/day/2012-07-02/2012-07-02", rp.base);
    n = fetch_all(url, t, 2000, &pages);
    assert_int_equal(n, 1);
    assert_int_equal(t[0], INT64_C(1341201600000));
    replay_stop(&rp);
}

static void empty_range_has_no_results_key(void **state)
{
    (void)state;
    replay_proc rp;
    start(&rp, NULL);
    char url[256];
    snprintf(url, sizeof url, "%s/v2/aggs/ticker/AAPL/range/1/day/1999-01-01/1999-12-31", rp.base);
    fetch_result r;
    assert_int_equal(fetch(&r, url, KEY), 0);
    assert_int_equal(r.status, 200);
    cJSON *root = cJSON_Parse(r.body);
    assert_non_null(root);
    assert_null(cJSON_GetObjectItem(root, "results"));
    assert_int_equal(cJSON_GetObjectItem(root, "resultsCount")->valueint, 0);
    assert_null(cJSON_GetObjectItem(root, "next_url"));
    cJSON_Delete(root);
    fetch_free(&r);
    replay_stop(&rp);
}

static void keys_are_checked_and_never_logged(void **state)
{
    (void)state;
    replay_proc rp;
    start(&rp, NULL);
    char url[256];
    fetch_result r;

    snprintf(url, sizeof url, "%s/v2/aggs/ticker/KO/range/1/day/2012-01-01/2012-01-31", rp.base);
    assert_int_equal(fetch(&r, url, NULL), 0);
    assert_int_equal(r.status, 401);
    assert_non_null(strstr(r.body, "\"API Key was not provided\""));
    fetch_free(&r);

    assert_int_equal(fetch(&r, url, "wrong-key"), 0);
    assert_int_equal(r.status, 401);
    assert_non_null(strstr(r.body, "\"Unknown API Key\""));
    fetch_free(&r);

    snprintf(url, sizeof url, "%s/v2/aggs/ticker/KO/range/1/day/2012-01-01/2012-01-31?apiKey=%s",
             rp.base, KEY);
    assert_int_equal(fetch(&r, url, NULL), 0);
    assert_int_equal(r.status, 200);
    fetch_free(&r);

    char *log = read_file(rp.log_path, NULL);
    assert_non_null(log);
    assert_int_equal(count_lines_with(log, "\"status\":401"), 2);
    assert_int_equal(count_lines_with(log, "\"status\":200"), 1);
    assert_null(strstr(log, KEY));
    assert_null(strstr(log, "wrong-key"));
    free(log);
    replay_stop(&rp);
}

static void rate_limit_answers_429_with_and_without_retry_after(void **state)
{
    (void)state;
    for (int with = 0; with < 2; with++) {
        replay_proc rp;
        const char *extra[] = { "--rate-limit-per-min",
                                "3",
                                "--rate-window-ms",
                                "60000",
                                with ? "--retry-after" : NULL,
                                "auto",
                                NULL };
        start(&rp, extra);
        char url[256];
        snprintf(url, sizeof url, "%s/v2/aggs/ticker/IBM/range/1/day/2013-01-01/2013-01-31",
                 rp.base);
        int64_t first_ms = mono_ms();
        for (int i = 0; i < 5; i++) {
            fetch_result r;
            assert_int_equal(fetch(&r, url, KEY), 0);
            if (i < 3) {
                assert_int_equal(r.status, 200);
            } else {
                assert_int_equal(r.status, 429);
                assert_non_null(strstr(r.body, "exceeded the maximum requests per minute"));
                if (with) {
                    /* the window opened at the first request: what is left
                     * of its 60 s, rounded up */
                    int secs = atoi(r.retry_after);
                    int64_t gone_s = (mono_ms() - first_ms) / 1000;
                    assert_true(secs >= 59 - gone_s && secs <= 60);
                } else {
                    assert_string_equal(r.retry_after, "");
                }
            }
            fetch_free(&r);
        }
        char *log = read_file(rp.log_path, NULL);
        assert_int_equal(count_lines_with(log, "\"status\":429"), 2);
        free(log);
        replay_stop(&rp);
    }
}

static void faults_come_in_the_configured_order(void **state)
{
    (void)state;
    replay_proc rp;
    const char *extra[] = { "--faults", "500,502,503,504,truncate,malformed,drop", "--fault-every",
                            "1", NULL };
    start(&rp, extra);
    char url[256];
    snprintf(url, sizeof url, "%s/v2/aggs/ticker/MSFT/range/1/day/2012-01-01/2012-12-31", rp.base);
    const long statuses[] = { 500, 502, 503, 504 };
    for (int i = 0; i < 4; i++) {
        fetch_result r;
        assert_int_equal(fetch(&r, url, KEY), 0);
        assert_int_equal(r.status, statuses[i]);
        fetch_free(&r);
    }
    fetch_result r;
    assert_int_equal(fetch(&r, url, KEY), 0); /* truncate: less than Content-Length */
    assert_int_equal(r.curl_code, CURLE_PARTIAL_FILE);
    fetch_free(&r);
    assert_int_equal(fetch(&r, url, KEY), 0); /* malformed: a complete answer, broken JSON */
    assert_int_equal(r.curl_code, 0);
    assert_int_equal(r.status, 200);
    cJSON *root = cJSON_Parse(r.body);
    assert_null(root);
    fetch_free(&r);
    assert_int_equal(fetch(&r, url, KEY), 0); /* drop: no answer at all */
    assert_int_equal(r.curl_code, CURLE_GOT_NOTHING);
    fetch_free(&r);
    assert_int_equal(fetch(&r, url, KEY), 0); /* and round again */
    assert_int_equal(r.status, 500);
    fetch_free(&r);
    replay_stop(&rp);
}

static void seeded_faults_repeat_exactly(void **state)
{
    (void)state;
    long seen[2][30];
    for (int run = 0; run < 2; run++) {
        replay_proc rp;
        const char *extra[] = {
            "--faults", "500,503", "--fault-rate", "0.3", "--seed", "42", NULL
        };
        start(&rp, extra);
        char url[256];
        snprintf(url, sizeof url, "%s/v2/aggs/ticker/KO/range/1/day/2014-01-01/2014-01-10",
                 rp.base);
        int faults = 0;
        for (int i = 0; i < 30; i++) {
            fetch_result r;
            assert_int_equal(fetch(&r, url, KEY), 0);
            seen[run][i] = r.status;
            faults += r.status != 200;
            fetch_free(&r);
        }
        assert_true(faults > 0 && faults < 30);
        replay_stop(&rp);
    }
    assert_memory_equal(seen[0], seen[1], sizeof seen[0]);
}

static void bad_requests_get_polygon_errors(void **state)
{
    (void)state;
    replay_proc rp;
    start(&rp, NULL);
    const struct {
        const char *path;
        long status;
    } cases[] = {
        { "/v2/aggs/ticker/AAPL/range/0/day/2012-01-01/2012-01-31", 400 },
        { "/v2/aggs/ticker/AAPL/range/1/fortnight/2012-01-01/2012-01-31", 400 },
        { "/v2/aggs/ticker/AAPL/range/1/day/2012-13-01/2012-01-31", 400 },
        { "/v2/aggs/ticker/AAPL/range/1/day/2012-01-01/2012-01-31?sort=up", 400 },
        { "/v2/aggs/ticker/AAPL/range/1/day/2012-01-01/2012-01-31?limit=-5", 400 },
        { "/v2/aggs/ticker/AAPL/prev", 404 },
        { "/v1/whatever", 404 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char url[256];
        snprintf(url, sizeof url, "%s%s", rp.base, cases[i].path);
        fetch_result r;
        assert_int_equal(fetch(&r, url, KEY), 0);
        if (r.status != cases[i].status)
            fail_msg("%s: %ld, expected %ld", cases[i].path, r.status, cases[i].status);
        cJSON *root = cJSON_Parse(r.body);
        assert_non_null(root);
        assert_non_null(cJSON_GetObjectItem(root, "request_id"));
        cJSON_Delete(root);
        fetch_free(&r);
    }
    replay_stop(&rp);
}

/* A ticker with a quote, a backslash and a newline: the page is still one
 * valid JSON object with one "status", and the ticker comes back as sent. */
static void ticker_is_escaped_in_the_json(void **state)
{
    (void)state;
    replay_proc rp;
    start(&rp, NULL);
    char url[256];
    snprintf(url, sizeof url,
             "%s/v2/aggs/ticker/A%%22%%2C%%22status%%22%%3A%%22X%%5C%%0A/range/1/day/2012-01-01/"
             "2012-01-31",
             rp.base);
    fetch_result r;
    assert_int_equal(fetch(&r, url, KEY), 0);
    assert_int_equal(r.status, 200);
    cJSON *root = cJSON_Parse(r.body);
    if (!root)
        fail_msg("not JSON: %s", r.body);
    int statuses = 0;
    const cJSON *m;
    cJSON_ArrayForEach(m, root) statuses += strcmp(m->string, "status") == 0;
    assert_int_equal(statuses, 1);
    assert_string_equal(cJSON_GetObjectItem(root, "status")->valuestring, "OK");
    assert_string_equal(cJSON_GetObjectItem(root, "ticker")->valuestring, "A\",\"status\":\"X\\\n");
    cJSON_Delete(root);
    fetch_free(&r);
    /* The request log keeps the path as received, as one JSON line. */
    char *log = read_file(rp.log_path, NULL);
    assert_non_null(log);
    cJSON *line = cJSON_Parse(log);
    if (!line)
        fail_msg("the request log is not one JSON line: %s", log);
    assert_string_equal(cJSON_GetObjectItem(line, "path")->valuestring,
                        "/v2/aggs/ticker/A\",\"status\":\"X\\\n/range/1/day/2012-01-01/2012-01-31");
    cJSON_Delete(line);
    free(log);
    replay_stop(&rp);
}

/* A cursor whose limit is 0 (or negative) would give a next_url to the
 * same empty page: refused with 400, as a bad limit is. */
static void cursor_with_limit_0_is_refused(void **state)
{
    (void)state;
    replay_proc rp;
    start(&rp, NULL);
    const char *cursors[] = { "bGltaXQ9MCZzb3J0PWFzYyZhZGp1c3RlZD10cnVl", /* limit=0 */
                              "bGltaXQ9LTUmc29ydD1hc2MmYWRqdXN0ZWQ9dHJ1ZQ%3D%3D" /* limit=-5 */ };
    for (int i = 0; i < 2; i++) {
        char url[256];
        snprintf(url, sizeof url,
                 "%s/v2/aggs/ticker/AAPL/range/1/day/2012-01-01/2012-12-31?cursor=%s", rp.base,
                 cursors[i]);
        fetch_result r;
        assert_int_equal(fetch(&r, url, KEY), 0);
        if (r.status != 400)
            fail_msg("cursor %d: %ld %s", i, r.status, r.body);
        assert_null(strstr(r.body, "next_url"));
        fetch_free(&r);
    }
    replay_stop(&rp);
}

/* --api-key-file: the key from a file (one trailing newline removed), so
 * that it is not in the process list. */
static void api_key_from_a_file(void **state)
{
    (void)state;
    char dir[] = "/tmp/replay-key-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[64];
    snprintf(path, sizeof path, "%s/key", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("file-key-7c1e\n", f);
    fclose(f);
    const char *args[] = { "--api-key-file", path, NULL };
    replay_proc rp;
    assert_int_equal(replay_start(&rp, replay_exe, data_dir, args), 0);
    char url[256];
    snprintf(url, sizeof url, "%s/v2/aggs/ticker/AAPL/range/1/day/2012-01-01/2012-01-31", rp.base);
    fetch_result r;
    assert_int_equal(fetch(&r, url, "file-key-7c1e"), 0);
    assert_int_equal(r.status, 200);
    fetch_free(&r);
    assert_int_equal(fetch(&r, url, KEY), 0);
    assert_int_equal(r.status, 401);
    fetch_free(&r);
    replay_stop(&rp);

    /* both, or a file that is missing: a usage error */
    const char *both[] = { replay_exe, "--data",         data_dir, "--api-key",
                           KEY,        "--api-key-file", path,     NULL };
    char *out = NULL;
    assert_int_equal(run_capture(both, NULL, &out), 64);
    free(out);
    unlink(path);
    const char *missing[] = { replay_exe, "--data", data_dir, "--api-key-file", path, NULL };
    assert_int_equal(run_capture(missing, NULL, &out), 64);
    assert_non_null(strstr(out, path));
    free(out);
    rmdir(dir);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s REPLAY_EXE DATA_DIR\n", argv[0]);
        return 2;
    }
    replay_exe = argv[1];
    data_dir = argv[2];
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pages_cover_the_range_in_order),
        cmocka_unit_test(empty_range_has_no_results_key),
        cmocka_unit_test(keys_are_checked_and_never_logged),
        cmocka_unit_test(rate_limit_answers_429_with_and_without_retry_after),
        cmocka_unit_test(faults_come_in_the_configured_order),
        cmocka_unit_test(seeded_faults_repeat_exactly),
        cmocka_unit_test(bad_requests_get_polygon_errors),
        cmocka_unit_test(ticker_is_escaped_in_the_json),
        cmocka_unit_test(cursor_with_limit_0_is_refused),
        cmocka_unit_test(api_key_from_a_file),
    };
    int rc = cmocka_run_group_tests_name("polygon_replay", tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
