/* Issue messages are written when first read: threads that read the same
 * report at once (dq_report_issue, dq_report_to_json) all see the messages
 * that one reader alone sees (run under ThreadSanitizer in suite stress). */
#include <pthread.h>
#include <stdio.h>

#include "helpers.h"

#define N       2000
#define THREADS 4

static dq_candle cs[N];

/* A series with a defect every few candles, of every kind the checker
 * reports with a message that reads the candle. */
static void series(void)
{
    for (size_t i = 0; i < N; i++) {
        double p = 10 + (double)(i % 7) * 0.01;
        cs[i] = candle(session_ts((int)i), p, p * 1.01, p * 0.99, p * 1.001, 1000 + (double)i);
        switch (i % 9) {
        case 1:
            cs[i].high = cs[i].low * 0.9;
            break;
        case 3:
            cs[i].close = NAN;
            break;
        case 5:
            cs[i].volume = 0;
            break;
        case 7:
            cs[i].open *= 1.5;
            cs[i].high = cs[i].open;
            break;
        }
    }
}

static dq_report *checked(void)
{
    dq_report_options ro = DQ_REPORT_OPTIONS_INIT;
    ro.max_issues = N;
    dq_checker *c;
    dq_report *r;
    assert_int_equal(dq_checker_new(&c, NULL), DQ_OK);
    assert_int_equal(dq_report_new(&r, &ro), DQ_OK);
    dq_batch b = DQ_BATCH_INIT;
    b.symbol = "X";
    b.candles = cs;
    b.count = N;
    assert_int_equal(dq_check(r, c, &b), DQ_OK);
    dq_checker_free(c); /* the report outlives the checker */
    return r;
}

typedef struct reader {
    const dq_report *r;
    size_t first;
    char *json;
    int mismatch;
    char (*expected)[160];
} reader;

static void *read_all(void *arg)
{
    reader *rd = arg;
    size_t n = dq_report_issue_count(rd->r);
    for (size_t k = 0; k < n; k++) {
        size_t i = (rd->first + k) % n;
        if (strcmp(dq_report_issue(rd->r, i)->message, rd->expected[i]) != 0)
            rd->mismatch++;
    }
    if (dq_report_to_json(&rd->json, rd->r) != DQ_OK)
        rd->mismatch++;
    return NULL;
}

static void concurrent_readers_see_the_same_messages(void **state)
{
    (void)state;
    series();
    /* one reader alone */
    dq_report *alone = checked();
    size_t n = dq_report_issue_count(alone);
    assert_true(n > N / 3);
    static char expected[N][160];
    for (size_t i = 0; i < n; i++) {
        const char *m = dq_report_issue(alone, i)->message;
        assert_true(m[0] != '\0');
        snprintf(expected[i], sizeof expected[i], "%s", m);
    }
    char *json_alone;
    assert_int_equal(dq_report_to_json(&json_alone, alone), DQ_OK);
    /* several at once on a report nobody has read yet */
    dq_report *r = checked();
    pthread_t t[THREADS];
    reader rd[THREADS];
    for (int k = 0; k < THREADS; k++) {
        rd[k] = (reader){ r, (size_t)k * n / THREADS, NULL, 0, expected };
        assert_int_equal(pthread_create(&t[k], NULL, read_all, &rd[k]), 0);
    }
    for (int k = 0; k < THREADS; k++) {
        assert_int_equal(pthread_join(t[k], NULL), 0);
        assert_int_equal(rd[k].mismatch, 0);
        assert_string_equal(rd[k].json, json_alone);
        dq_string_free(rd[k].json);
    }
    dq_string_free(json_alone);
    dq_report_free(r);
    dq_report_free(alone);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(concurrent_readers_see_the_same_messages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
