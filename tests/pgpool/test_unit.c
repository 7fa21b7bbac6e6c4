/* Pure logic of libpgpool with a fake clock / fake random source: backoff,
 * lifetime jitter, histogram buckets, masking, error classification,
 * Prometheus text and advice. No server needed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "internal.h"

#define MS PGPOOL__NS_PER_MS

static void backoff_doubles_caps_and_jitters_within_half(void **state)
{
    (void)state;
    /* rnd 0 gives the lower edge d/2, rnd = UINT64_MAX some point in [d/2, d] */
    assert_int_equal(pgpool__backoff_ns(50 * MS, 5000 * MS, 1, 0), 25 * MS);
    assert_int_equal(pgpool__backoff_ns(50 * MS, 5000 * MS, 2, 0), 50 * MS);
    assert_int_equal(pgpool__backoff_ns(50 * MS, 5000 * MS, 3, 0), 100 * MS);
    assert_int_equal(pgpool__backoff_ns(50 * MS, 5000 * MS, 30, 0), 2500 * MS);
    assert_int_equal(pgpool__backoff_ns(50 * MS, 5000 * MS, 1000, 0), 2500 * MS);
    /* the upper edge: rnd % (half + 1) == half */
    int64_t half = 25 * MS;
    assert_int_equal(pgpool__backoff_ns(50 * MS, 5000 * MS, 1, (uint64_t)half), 50 * MS);
    for (uint64_t r = 1; r < 100000; r += 7919) {
        int64_t d = pgpool__backoff_ns(50 * MS, 5000 * MS, 4, r * 1000003);
        assert_true(d >= 200 * MS && d <= 400 * MS);
    }
    assert_int_equal(pgpool__backoff_ns(0, 0, 3, 12345), 0);
}

static void lifetime_jitter_stays_in_range_and_spreads(void **state)
{
    (void)state;
    assert_int_equal(pgpool__lifetime_ns(0, 0, 1), INT64_MAX);
    assert_int_equal(pgpool__lifetime_ns(1000 * MS, 0, 99), 1000 * MS);
    assert_int_equal(pgpool__lifetime_ns(1000 * MS, 100 * MS, 0), 1000 * MS);
    assert_int_equal(pgpool__lifetime_ns(1000 * MS, 100 * MS, (uint64_t)(100 * MS)), 900 * MS);
    int64_t lo = INT64_MAX, hi = 0;
    uint64_t x = 88172645463325252ULL;
    for (int i = 0; i < 1000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        int64_t l = pgpool__lifetime_ns(1000 * MS, 100 * MS, x);
        assert_true(l >= 900 * MS && l <= 1000 * MS);
        lo = l < lo ? l : lo;
        hi = l > hi ? l : hi;
    }
    /* retirements spread over the jitter window: no storm */
    assert_true(hi - lo > 90 * MS);
}

static void histogram_buckets(void **state)
{
    (void)state;
    assert_int_equal(pgpool__hist_index(0), 0);
    assert_int_equal(pgpool__hist_index(100000), 0);
    assert_int_equal(pgpool__hist_index(100001), 1);
    assert_int_equal(pgpool__hist_index(PGPOOL__NS_PER_S), 8);
    assert_int_equal(pgpool__hist_index(11 * PGPOOL__NS_PER_S), PGPOOL_HIST_BUCKETS - 1);
    assert_true(pgpool_hist_bound(0) == 0.0001);
    assert_true(pgpool_hist_bound(PGPOOL_HIST_BUCKETS - 1) > 1e300);
}

static void check_mask(const char *in, const char *want)
{
    char buf[512];
    size_t n = pgpool_mask_conninfo(buf, sizeof buf, in);
    assert_string_equal(buf, want);
    assert_int_equal(n, strlen(want));
}

static void masking_hides_every_password_form(void **state)
{
    (void)state;
    check_mask("host=db password=s3cret user=u", "host=db password=********** user=u");
    check_mask("host=db password = 'se cr\\'et' user=u", "host=db password = ********** user=u");
    check_mask("PASSWORD=x", "PASSWORD=**********");
    check_mask("postgresql://alice:s3cret@db:5432/app",
               "postgresql://alice:**********@db:5432/app");
    check_mask("postgres://alice:p%40ss@db/app?sslmode=require",
               "postgres://alice:**********@db/app?sslmode=require");
    check_mask("postgresql://db/app?user=a&password=s3cret&sslmode=disable",
               "postgresql://db/app?user=a&password=**********&sslmode=disable");
    check_mask("postgresql://alice@db/app", "postgresql://alice@db/app");
    check_mask("host=db user=u", "host=db user=u");
    check_mask("mypassword=notakeyword", "mypassword=notakeyword");
    check_mask(NULL, "");
    /* a password with '@' and '/' in it, unencoded: still hidden */
    check_mask("postgresql://u:a/b@c@host/db", "postgresql://u:**********@host/db");
    /* truncation: returns the full length, writes a NUL */
    char small[8];
    size_t n = pgpool_mask_conninfo(small, sizeof small, "password=abc");
    assert_int_equal(n, strlen("password=**********"));
    assert_string_equal(small, "passwor");
    assert_int_equal(pgpool_mask_conninfo(NULL, 0, "password=abc"), n);
}

static void redact_replaces_the_secret_anywhere(void **state)
{
    (void)state;
    char buf[256];
    pgpool__redact(buf, sizeof buf, "missing \"=\" after \"hunter2x\" in string", "hunter2x");
    assert_string_equal(buf, "missing \"=\" after \"**********\" in string");
    pgpool__redact(buf, sizeof buf, "no secret here", "hunter2x");
    assert_string_equal(buf, "no secret here");
}

static void transient_errors_are_recognised(void **state)
{
    (void)state;
    assert_int_equal(
        pgpool__classify_connect_error("FATAL:  57P03: the database system is starting up"), 1);
    assert_int_equal(pgpool__classify_connect_error("FATAL:  sorry, too many clients already"), 1);
    assert_int_equal(pgpool__classify_connect_error("FATAL:  53300: remaining connection slots "
                                                    "are reserved"),
                     1);
    assert_int_equal(pgpool__classify_connect_error("Connection refused"), 0);
    assert_int_equal(pgpool__classify_connect_error(NULL), 0);
}

static void prometheus_text_has_every_family(void **state)
{
    (void)state;
    pgpool_stats st;
    memset(&st, 0, sizeof st);
    st.idle = 3;
    st.in_use = 2;
    st.total = 5;
    st.max_size = 10;
    st.acquires = 42;
    st.closed[PGPOOL_CLOSE_LIFETIME] = 7;
    st.wait_hist[0] = 40;
    st.wait_hist[3] = 2;
    st.wait_sum_ns = 5 * MS;
    char buf[16384];
    size_t n = pgpool_stats_prometheus(buf, sizeof buf, &st, "main\"db");
    assert_true(n > 0 && n < sizeof buf);
    assert_int_equal(strlen(buf), n);
    assert_non_null(strstr(buf, "pgpool_connections{pool=\"main\\\"db\",state=\"idle\"} 3\n"));
    assert_non_null(strstr(buf, "pgpool_acquires_total{pool=\"main\\\"db\"} 42\n"));
    assert_non_null(strstr(
        buf, "pgpool_connections_closed_total{pool=\"main\\\"db\",reason=\"lifetime\"} 7\n"));
    assert_non_null(
        strstr(buf, "pgpool_acquire_wait_seconds_bucket{pool=\"main\\\"db\",le=\"0.005\"} 42\n"));
    assert_non_null(
        strstr(buf, "pgpool_acquire_wait_seconds_bucket{pool=\"main\\\"db\",le=\"+Inf\"} 42\n"));
    assert_non_null(strstr(buf, "pgpool_acquire_wait_seconds_count{pool=\"main\\\"db\"} 42\n"));
    assert_non_null(strstr(buf, "pgpool_health{pool=\"main\\\"db\",state=\"up\"} 1\n"));
    /* a short buffer: same length returned, NUL-terminated */
    char small[32];
    assert_int_equal(pgpool_stats_prometheus(small, sizeof small, &st, "main\"db"), n);
    assert_int_equal(strlen(small), sizeof small - 1);
}

static void advice_rules_fire_on_their_thresholds(void **state)
{
    (void)state;
    pgpool_stats st;
    memset(&st, 0, sizeof st);
    st.min_idle = 1;
    st.max_size = 10;
    st.acquires = 1000;
    st.waits = 50; /* 5%: below the 10% rule */
    char buf[4096];
    pgpool_advice(buf, sizeof buf, &st);
    assert_non_null(strstr(buf, "no change"));
    st.waits = 230;
    pgpool_advice(buf, sizeof buf, &st);
    assert_non_null(strstr(buf, "raise max_size: 23.0% of 1000 acquires waited"));
    st.waits = 0;
    st.idle = 9;
    pgpool_advice(buf, sizeof buf, &st);
    assert_non_null(strstr(buf, "lower max_size or idle_timeout: 9 connections idle"));
    st.idle = 1;
    st.leaks = 2;
    st.overflow_acquires = 100;
    pgpool_advice(buf, sizeof buf, &st);
    assert_non_null(strstr(buf, "find the holder: 2 checkout(s)"));
    assert_non_null(strstr(buf, "raise max_size to cover the overflow: 10.0%"));
    assert_null(strstr(buf, "no change"));
    st.leaks = 0;
    st.overflow_acquires = 0;
    st.health = PGPOOL_DOWN;
    pgpool_advice(buf, sizeof buf, &st);
    assert_non_null(strstr(buf, "check the database: health is down"));
}

static void advice_leaves_out_warm_up_waits(void **state)
{
    (void)state;
    pgpool_stats st;
    memset(&st, 0, sizeof st);
    st.version = PGPOOL_STATS_VERSION;
    st.min_idle = 4;
    st.max_size = 4;
    st.acquires = 1000;
    st.waits = 314;
    st.warmup_waits = 300; /* 1.4% waited once the pool was warm */
    char buf[4096];
    pgpool_advice(buf, sizeof buf, &st);
    assert_null(strstr(buf, "raise max_size"));
    assert_non_null(strstr(buf, "no change: 1000 acquires, 1.4% waited"));
    st.warmup_waits = 0;
    pgpool_advice(buf, sizeof buf, &st);
    assert_non_null(strstr(buf, "raise max_size: 31.4% of 1000 acquires waited"));
    /* a version 1 snapshot has no warm-up count: all waits count */
    st.version = 1;
    st.warmup_waits = 300;
    pgpool_advice(buf, sizeof buf, &st);
    assert_non_null(strstr(buf, "raise max_size: 31.4%"));
}

static void prometheus_text_has_connect_and_validation_families(void **state)
{
    (void)state;
    pgpool_stats st;
    memset(&st, 0, sizeof st);
    st.version = PGPOOL_STATS_VERSION;
    st.connect_hist[3] = 2; /* 1-5 ms */
    st.connect_hist[5] = 1; /* 10-50 ms */
    st.connect_sum_ns = 25 * MS;
    st.validations_ok = 7;
    st.validations_failed = 2;
    st.validation_timeouts = 1;
    st.warmup_waits = 3;
    char buf[16384];
    size_t n = pgpool_stats_prometheus(buf, sizeof buf, &st, "p");
    assert_true(n > 0 && n < sizeof buf);
    assert_non_null(strstr(buf, "# TYPE pgpool_connect_seconds histogram\n"));
    assert_non_null(strstr(buf, "pgpool_connect_seconds_bucket{pool=\"p\",le=\"0.005\"} 2\n"));
    assert_non_null(strstr(buf, "pgpool_connect_seconds_bucket{pool=\"p\",le=\"0.05\"} 3\n"));
    assert_non_null(strstr(buf, "pgpool_connect_seconds_count{pool=\"p\"} 3\n"));
    assert_non_null(strstr(buf, "pgpool_connect_seconds_sum{pool=\"p\"} 0.025000000\n"));
    assert_non_null(strstr(buf, "pgpool_validation_results_total{pool=\"p\",result=\"ok\"} 7\n"));
    assert_non_null(
        strstr(buf, "pgpool_validation_results_total{pool=\"p\",result=\"failed\"} 2\n"));
    assert_non_null(
        strstr(buf, "pgpool_validation_results_total{pool=\"p\",result=\"timeout\"} 1\n"));
    assert_non_null(strstr(buf, "pgpool_acquire_warmup_waits_total{pool=\"p\"} 3\n"));
    st.version = 1; /* fields a version 1 caller does not have are not read */
    pgpool_stats_prometheus(buf, sizeof buf, &st, "p");
    assert_null(strstr(buf, "pgpool_connect_seconds"));
}

static void libpq_text_made_terse(void **state)
{
    (void)state;
    char out[256], st[6];
    pgpool__terse(out, sizeof out, st,
                  "connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  57P03:  the "
                  "database system is starting up\nLOCATION:  ProcessStartupPacket, "
                  "postmaster.c:2290\n");
    assert_string_equal(st, "57P03");
    assert_string_equal(out, "connection to server at \"127.0.0.1\", port 5432 failed: FATAL: "
                             "the database system is starting up");
    pgpool__terse(out, sizeof out, st,
                  "connection to server at \"h\" (::1), port 1 failed: Connection refused\n"
                  "\tIs the server running on that host and accepting TCP/IP connections?\n");
    assert_string_equal(st, "");
    assert_string_equal(out, "connection to server at \"h\" (::1), port 1 failed: Connection "
                             "refused; Is the server running on that host and accepting TCP/IP "
                             "connections?");
    /* a message that only looks like one: no SQLSTATE taken */
    pgpool__terse(out, sizeof out, st, "XFATAL:  57P01: x\nERROR: abc");
    assert_string_equal(st, "");
    /* cut, NUL-terminated, full length returned */
    char small[8];
    size_t n = pgpool__terse(small, sizeof small, NULL, "ERROR:  42P01:  relation does not exist");
    assert_int_equal(n, strlen("ERROR: relation does not exist"));
    assert_string_equal(small, "ERROR: ");
    assert_int_equal(pgpool__server_gone("could not connect: Connection refused", ""), 1);
    assert_int_equal(pgpool__server_gone("FATAL: x", "57P02"), 1);
    assert_int_equal(pgpool__server_gone("FATAL: too many clients already", "53300"), 0);
    assert_int_equal(pgpool__server_gone("connect timed out after 5000 ms", ""), 0);
    pgpool__parse_message(out, sizeof out, "invalid connection option \"hostt\"\n", "hostt=foo");
    assert_string_equal(out, "invalid connection option \"hostt\"");
    pgpool__parse_message(out, sizeof out, "missing \"=\" after \"pw\" in connection info string\n",
                          "host=x pw");
    assert_string_equal(out, "missing \"=\" after \"**********\" in connection info string");
    pgpool__parse_message(out, sizeof out, "bad \"unterminated", "x");
    assert_string_equal(out, "bad \"**********");
}

static void names_and_errors(void **state)
{
    (void)state;
    assert_string_equal(pgpool_strerror(PGPOOL_ETIMEDOUT),
                        "timed out waiting for a connection (pool exhausted)");
    assert_string_equal(pgpool_strerror(PGPOOL_ECONNECT), "cannot connect to the database");
    assert_string_equal(pgpool_close_reason_name(PGPOOL_CLOSE_STALE), "stale");
    assert_string_equal(pgpool_close_reason_name(99), "unknown");
    assert_string_equal(pgpool_health_state_name(PGPOOL_DEGRADED), "degraded");
    assert_string_equal(pgpool_event_name(PGPOOL_EVENT_LEAK), "leak");
    assert_string_equal(pgpool_event_name(-1), "unknown");
    assert_string_equal(pgpool_cause_name(PGPOOL_CAUSE_CONNECTING), "connecting");
    assert_string_equal(pgpool_cause_name(PGPOOL_CAUSE_SERVER), "server");
    assert_string_equal(pgpool_cause_name(42), "unknown");
}

static void invalid_options_are_refused(void **state)
{
    (void)state;
    pgpool *p = (pgpool *)&p;
    pgpool_options o = PGPOOL_OPTIONS_INIT;
    o.max_size = 0;
    assert_int_equal(pgpool_new(&p, &o), PGPOOL_EINVAL);
    assert_null(p);
    o.max_size = 2;
    o.min_idle = 3;
    assert_int_equal(pgpool_new(&p, &o), PGPOOL_EINVAL);
    o.min_idle = 1;
    o.max_lifetime_ms = 1000;
    o.max_lifetime_jitter_ms = 2000;
    assert_int_equal(pgpool_new(&p, &o), PGPOOL_EINVAL);
    o.max_lifetime_jitter_ms = 0;
    o.conninfo = "host=x port"; /* unparsable */
    assert_int_equal(pgpool_new(&p, &o), PGPOOL_EINVAL);
    o.conninfo = NULL;
    o.alive_bypass_ms = -1;
    assert_int_equal(pgpool_new(&p, &o), PGPOOL_EINVAL);
    o.alive_bypass_ms = 1;
    o.version = 0;
    assert_int_equal(pgpool_new(&p, &o), PGPOOL_EINVAL);
    pgpool_free(NULL);
    pgpool_release(NULL);
    pgpool_discard(NULL);
}

/* A caller built against options version 1 passes a struct that ends
 * before alive_bypass_ms: the library reads no further (ASan sees a read
 * past the allocation) and the pool uses the default. */
static void options_version_1_is_still_accepted(void **state)
{
    (void)state;
    size_t v1 = offsetof(pgpool_options, alive_bypass_ms);
    pgpool_options init = PGPOOL_OPTIONS_INIT;
    init.version = 1;
    init.conninfo = "host=/nonexistent-dir dbname=none connect_timeout=1";
    init.min_idle = 0;
    void *o = malloc(v1);
    assert_non_null(o);
    memcpy(o, &init, v1);
    pgpool *p = NULL;
    assert_int_equal(pgpool_new(&p, (const pgpool_options *)o), PGPOOL_OK);
    assert_non_null(p);
    pgpool_free(p);
    free(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(backoff_doubles_caps_and_jitters_within_half),
        cmocka_unit_test(lifetime_jitter_stays_in_range_and_spreads),
        cmocka_unit_test(histogram_buckets),
        cmocka_unit_test(masking_hides_every_password_form),
        cmocka_unit_test(redact_replaces_the_secret_anywhere),
        cmocka_unit_test(transient_errors_are_recognised),
        cmocka_unit_test(prometheus_text_has_every_family),
        cmocka_unit_test(advice_rules_fire_on_their_thresholds),
        cmocka_unit_test(advice_leaves_out_warm_up_waits),
        cmocka_unit_test(prometheus_text_has_connect_and_validation_families),
        cmocka_unit_test(libpq_text_made_terse),
        cmocka_unit_test(names_and_errors),
        cmocka_unit_test(invalid_options_are_refused),
        cmocka_unit_test(options_version_1_is_still_accepted),
    };
    return cmocka_run_group_tests_name("pgpool_unit", tests, NULL, NULL);
}
