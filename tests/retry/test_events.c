/* Cancel tokens, on_retry events and until_admit_ns in the result. Fake
 * clock, except one test of the default sleep being woken by the token. */
#include <pthread.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "fake.h"

static fake clk;

static int setup(void **state)
{
    (void)state;
    fake_reset(&clk);
    return 0;
}

static retry_policy policy(void)
{
    return fake_policy(&clk);
}

typedef struct counter {
    int calls;
    int rc;
    int64_t hint;
} counter;

static int counted(retry_call *call, void *ud)
{
    counter *c = ud;
    c->calls++;
    call->hint_ns = c->hint;
    if (c->rc)
        snprintf(call->errmsg, sizeof call->errmsg, "failure %d", c->calls);
    return c->rc;
}

static void cancel_token_basics(void **state)
{
    (void)state;
    retry_cancel *c = NULL;
    assert_int_equal(retry_cancel_new(&c), RETRY_OK);
    assert_non_null(c);
    assert_int_equal(retry_cancel_is_set(c), 0);
    struct pollfd p = { retry_cancel_fd(c), POLLIN, 0 };
    assert_int_equal(poll(&p, 1, 0), 0);
    retry_cancel_set(c);
    retry_cancel_set(c);
    assert_int_equal(retry_cancel_is_set(c), 1);
    assert_int_equal(poll(&p, 1, 0), 1);
    assert_int_equal(poll(&p, 1, 0), 1); /* stays readable */
    retry_cancel_free(c);
    retry_cancel_free(NULL);
    assert_string_equal(retry_strerror(RETRY_ECANCELED), "cancelled");
    assert_string_equal(retry_stop_name(RETRY_STOP_CANCELLED), "cancelled");
}

/* Set before the run: no call at all. */
static void cancelled_before_first_attempt(void **state)
{
    (void)state;
    retry_cancel *c = NULL;
    assert_int_equal(retry_cancel_new(&c), RETRY_OK);
    retry_cancel_set(c);
    retry_policy p = policy();
    p.cancel = c;
    counter n = { 0, 0, 0 };
    retry_result r;
    assert_int_equal(retry_run(&r, &p, NULL, NULL, NULL, counted, &n), RETRY_ECANCELED);
    assert_int_equal(r.stop, RETRY_STOP_CANCELLED);
    assert_int_equal(r.attempts, 0);
    assert_int_equal(n.calls, 0);

    retry_state *st = NULL;
    assert_int_equal(retry_state_new(&st, &p, NULL, NULL, NULL), RETRY_OK);
    int64_t wait;
    assert_int_equal(retry_state_admit(st, &wait), RETRY_STEP_DONE);
    retry_state_result(st, &r);
    assert_int_equal(r.stop, RETRY_STOP_CANCELLED);
    retry_state_free(st);
    retry_cancel_free(c);
}

/* A "signal" arrives during a sleep: the sleep that the fake environment
 * performs sets the token, as a SIGTERM handler would. */
typedef struct cancel_in_sleep {
    retry_cancel *c;
    int at_sleep; /* set the token during this sleep (1-based) */
    int sleeps;
} cancel_in_sleep;

static cancel_in_sleep cis;

static void sleep_and_cancel(int64_t ns, void *ctx)
{
    if (++cis.sleeps == cis.at_sleep)
        retry_cancel_set(cis.c);
    fake_sleep(ns, ctx);
}

static void cancelled_during_backoff(void **state)
{
    (void)state;
    memset(&cis, 0, sizeof cis);
    assert_int_equal(retry_cancel_new(&cis.c), RETRY_OK);
    cis.at_sleep = 2;
    retry_policy p = policy();
    p.cancel = cis.c;
    p.env.sleep_ns = sleep_and_cancel;
    counter n = { 0, 503, 0 };
    retry_result r;
    assert_int_equal(retry_run(&r, &p, NULL, NULL, NULL, counted, &n), RETRY_ECANCELED);
    assert_int_equal(r.stop, RETRY_STOP_CANCELLED);
    assert_int_equal(n.calls, 2); /* not a third: the token was set in the second sleep */
    assert_int_equal(r.attempts, 2);
    assert_int_equal(r.last_rc, 503);
    retry_cancel_free(cis.c);
}

/* Cancelled while waiting for a limiter token: the token goes back. */
static void cancelled_during_limiter_wait(void **state)
{
    (void)state;
    retry_limiter *l = fake_limiter_1s(&clk);
    assert_non_null(l);
    assert_int_equal(retry_limiter_try_acquire(l, 1), RETRY_OK);
    memset(&cis, 0, sizeof cis);
    assert_int_equal(retry_cancel_new(&cis.c), RETRY_OK);
    cis.at_sleep = 1;
    retry_policy p = policy();
    p.cancel = cis.c;
    p.env.sleep_ns = sleep_and_cancel;
    counter n = { 0, 0, 0 };
    retry_result r;
    assert_int_equal(retry_run(&r, &p, l, NULL, NULL, counted, &n), RETRY_ECANCELED);
    assert_int_equal(n.calls, 0);
    assert_int_equal(r.attempts, 0);
    assert_int_equal(r.stop, RETRY_STOP_CANCELLED);
    assert_int_equal(clk.slept, SEC(1));
    /* the reservation of the call not made went back (it was due just now) */
    assert_int_equal(retry_limiter_try_acquire(l, 1), RETRY_OK);
    retry_cancel_free(cis.c);

    /* the step API: cancelled between WAIT and the call, before the token
     * is due, gives the token back */
    retry_cancel *c = NULL;
    assert_int_equal(retry_cancel_new(&c), RETRY_OK);
    p = policy();
    p.cancel = c;
    retry_state *st = NULL;
    assert_int_equal(retry_state_new(&st, &p, l, NULL, NULL), RETRY_OK);
    int64_t wait;
    assert_int_equal(retry_state_admit(st, &wait), RETRY_STEP_WAIT);
    assert_int_equal(wait, SEC(1));
    int64_t before = retry_limiter_time_until(l, 1);
    assert_int_equal(before, SEC(2)); /* ours is reserved: the next is 2 s away */
    retry_cancel_set(c);
    assert_int_equal(retry_state_admit(st, &wait), RETRY_STEP_DONE);
    assert_int_equal(retry_limiter_time_until(l, 1), SEC(1));
    retry_state_free(st);
    retry_cancel_free(c);
    retry_limiter_free(l);
}

/* The default sleep: a token set by another thread wakes a 10 s backoff. */
typedef struct setter {
    retry_cancel *c;
    int64_t after_ns;
} setter;

static void *set_later(void *arg)
{
    setter *s = arg;
    struct timespec ts = { 0, (long)s->after_ns };
    nanosleep(&ts, NULL);
    retry_cancel_set(s->c);
    return NULL;
}

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * RETRY_NS_PER_S + ts.tv_nsec;
}

static void default_sleep_is_woken(void **state)
{
    (void)state;
    setter s = { NULL, MS(50) };
    assert_int_equal(retry_cancel_new(&s.c), RETRY_OK);
    retry_policy p = RETRY_POLICY_INIT; /* real clock and sleep */
    p.backoff.jitter = RETRY_JITTER_NONE;
    p.backoff.base_ns = SEC(10);
    p.cancel = s.c;
    counter n = { 0, 503, 0 };
    pthread_t th;
    int64_t t0 = mono_ns();
    assert_int_equal(pthread_create(&th, NULL, set_later, &s), 0);
    retry_result r;
    assert_int_equal(retry_run(&r, &p, NULL, NULL, NULL, counted, &n), RETRY_ECANCELED);
    int64_t took = mono_ns() - t0;
    pthread_join(th, NULL);
    assert_int_equal(n.calls, 1);
    /* woken soon after the 50 ms, not after the 10 s backoff */
    assert_true(took >= MS(50));
    assert_true(took < SEC(2));
    retry_cancel_free(s.c);
}

/* on_retry: attempt, error, delay and its source, before each retry. */
typedef struct events {
    int n;
    retry_event ev[8];
    char msg[8][RETRY_ERRMSG_SIZE];
    int64_t at[8];
} events;

static void on_retry(const retry_event *ev, void *ud)
{
    events *e = ud;
    if (e->n < 8) {
        e->ev[e->n] = *ev;
        snprintf(e->msg[e->n], sizeof e->msg[0], "%s", ev->errmsg);
        e->at[e->n] = clk.now;
    }
    e->n++;
}

typedef struct script {
    int i;
    int rcs[4];
    int64_t hints[4];
} script;

static int scripted(retry_call *call, void *ud)
{
    script *s = ud;
    call->hint_ns = s->hints[s->i];
    snprintf(call->errmsg, sizeof call->errmsg, "call %d", s->i + 1);
    return s->rcs[s->i++];
}

static void on_retry_events(void **state)
{
    (void)state;
    events e;
    memset(&e, 0, sizeof e);
    retry_policy p = policy();
    p.max_delay_ns = SEC(1);
    p.on_retry = on_retry;
    p.on_retry_userdata = &e;
    /* backoff 100 ms vs hint 50 ms; 200 ms vs 300 ms; 400 ms vs 5 s (capped) */
    script s = { 0, { 503, 429, 429, 0 }, { MS(50), MS(300), SEC(5), 0 } };
    retry_result r;
    assert_int_equal(retry_run(&r, &p, NULL, NULL, NULL, scripted, &s), RETRY_OK);
    assert_int_equal(e.n, 3);
    assert_int_equal(e.ev[0].attempt, 1);
    assert_int_equal(e.ev[0].rc, 503);
    assert_string_equal(e.msg[0], "call 1");
    assert_int_equal(e.ev[0].delay_ns, MS(100));
    assert_int_equal(e.ev[0].source, RETRY_DELAY_BACKOFF);
    assert_int_equal(e.ev[0].hint_ns, MS(50));
    assert_int_equal(e.ev[1].attempt, 2);
    assert_int_equal(e.ev[1].rc, 429);
    assert_int_equal(e.ev[1].delay_ns, MS(300));
    assert_int_equal(e.ev[1].source, RETRY_DELAY_HINT);
    assert_int_equal(e.ev[2].attempt, 3);
    assert_int_equal(e.ev[2].delay_ns, SEC(1));
    assert_int_equal(e.ev[2].source, RETRY_DELAY_HINT);
    assert_int_equal(e.ev[2].hint_ns, SEC(5));
    /* called before the delay is slept */
    assert_int_equal(e.at[1] - e.at[0], MS(100));
    assert_int_equal(r.waited_ns, MS(100) + MS(300) + SEC(1));

    /* no event when the run stops instead of retrying */
    memset(&e, 0, sizeof e);
    p.max_attempts = 1;
    s.i = 0;
    assert_int_equal(retry_run(&r, &p, NULL, NULL, NULL, scripted, &s), RETRY_EGAVEUP);
    assert_int_equal(e.n, 0);

    /* the step API reports the same events */
    memset(&e, 0, sizeof e);
    p.max_attempts = 4;
    retry_state *st = NULL;
    assert_int_equal(retry_state_new(&st, &p, NULL, NULL, NULL), RETRY_OK);
    int64_t wait;
    assert_int_equal(retry_state_admit(st, &wait), RETRY_STEP_CALL);
    assert_int_equal(retry_state_report(st, &wait, 503, MS(700), "busy"), RETRY_STEP_CALL);
    assert_int_equal(e.n, 1);
    assert_int_equal(e.ev[0].delay_ns, MS(700));
    assert_int_equal(e.ev[0].source, RETRY_DELAY_HINT);
    assert_string_equal(e.msg[0], "busy");
    retry_state_free(st);
}

/* After RETRY_EOPEN the result says when the breaker admits again. */
static void until_admit_in_result(void **state)
{
    (void)state;
    retry_breaker_options o = RETRY_BREAKER_OPTIONS_INIT;
    o.env = fake_env(&clk);
    o.consecutive_failures = 1;
    retry_breaker *b = NULL;
    assert_int_equal(retry_breaker_new(&b, &o), RETRY_OK);
    retry_policy p = policy();
    counter n = { 0, 503, 0 };
    retry_result r;
    assert_int_equal(retry_run(&r, &p, NULL, b, NULL, counted, &n), RETRY_EOPEN);
    assert_int_equal(r.stop, RETRY_STOP_BREAKER_OPEN);
    assert_int_equal(n.calls, 1);
    /* tripped by call 1, then the 100 ms backoff: 59.9 s left */
    assert_int_equal(r.until_admit_ns, SEC(60) - MS(100));
    retry_breaker_snapshot s;
    retry_breaker_snapshot_get(b, &s);
    assert_int_equal(s.until_admit_ns, r.until_admit_ns);

    clk.now += SEC(10);
    assert_int_equal(retry_run(&r, &p, NULL, b, NULL, counted, &n), RETRY_EOPEN);
    assert_int_equal(r.until_admit_ns, SEC(50) - MS(100));
    assert_int_equal(r.attempts, 0);

    retry_breaker_force_open(b);
    assert_int_equal(retry_run(&r, &p, NULL, b, NULL, counted, &n), RETRY_EOPEN);
    assert_true(r.until_admit_ns == INT64_MAX);

    /* with a limiter in front, the open breaker still stops at once and
     * spends no token */
    retry_limiter *l = fake_limiter_1s(&clk);
    assert_non_null(l);
    assert_int_equal(retry_run(&r, &p, l, b, NULL, counted, &n), RETRY_EOPEN);
    assert_true(r.until_admit_ns == INT64_MAX);
    assert_int_equal(retry_limiter_time_until(l, 1), 0);

    /* other stops leave it 0 */
    retry_breaker_reset(b);
    n.rc = 0;
    assert_int_equal(retry_run(&r, &p, l, b, NULL, counted, &n), RETRY_OK);
    assert_int_equal(r.until_admit_ns, 0);

    /* a version 1 caller's result ends before until_admit_ns: never written */
    retry_breaker_force_open(b);
    p.version = 1;
    r.until_admit_ns = -12345;
    assert_int_equal(retry_run(&r, &p, NULL, b, NULL, counted, &n), RETRY_EOPEN);
    assert_int_equal(r.until_admit_ns, -12345);
    retry_limiter_free(l);
    retry_breaker_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(cancel_token_basics, setup),
        cmocka_unit_test_setup(cancelled_before_first_attempt, setup),
        cmocka_unit_test_setup(cancelled_during_backoff, setup),
        cmocka_unit_test_setup(cancelled_during_limiter_wait, setup),
        cmocka_unit_test_setup(default_sleep_is_woken, setup),
        cmocka_unit_test_setup(on_retry_events, setup),
        cmocka_unit_test_setup(until_admit_in_result, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
