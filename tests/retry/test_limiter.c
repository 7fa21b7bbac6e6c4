/* Rate limiters: token bucket, GCRA and fixed window, on a fake clock. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "fake.h"

static fake clk;

static int setup(void **state)
{
    (void)state;
    memset(&clk, 0, sizeof clk);
    clk.now = SEC(50);
    return 0;
}

static retry_limiter *make(retry_limiter_kind kind, double rate, uint32_t burst, int64_t window)
{
    retry_limiter_options o = RETRY_LIMITER_OPTIONS_INIT;
    o.kind = kind;
    o.rate = rate;
    o.burst = burst;
    o.window_ns = window;
    o.env = fake_env(&clk);
    retry_limiter *l = NULL;
    assert_int_equal(retry_limiter_new(&l, &o), RETRY_OK);
    return l;
}

static void bucket_contract(retry_limiter_kind kind)
{
    retry_limiter *l = make(kind, 10.0, 3, 0);
    assert_int_equal(retry_limiter_try_acquire(l, 2), RETRY_OK);
    assert_int_equal(retry_limiter_try_acquire(l, 2), RETRY_ELIMIT);
    assert_int_equal(retry_limiter_try_acquire(l, 1), RETRY_OK);
    assert_int_equal(retry_limiter_try_acquire(l, 1), RETRY_ELIMIT);
    assert_int_equal(retry_limiter_time_until(l, 1), MS(100));
    assert_int_equal(retry_limiter_time_until(l, 3), MS(300));
    clk.now += MS(100);
    assert_int_equal(retry_limiter_try_acquire(l, 1), RETRY_OK);
    assert_int_equal(retry_limiter_try_acquire(l, 1), RETRY_ELIMIT);
    clk.now += SEC(10); /* refills only up to the burst */
    assert_int_equal(retry_limiter_try_acquire(l, 3), RETRY_OK);
    assert_int_equal(retry_limiter_try_acquire(l, 1), RETRY_ELIMIT);
    assert_int_equal(retry_limiter_try_acquire(l, 4), RETRY_EINVAL);
    assert_int_equal(retry_limiter_try_acquire(l, 0), RETRY_EINVAL);
    assert_int_equal(retry_limiter_time_until(l, 4), -1);
    retry_limiter_free(l);
}

static void token_bucket_10_per_s_burst_3(void **state)
{
    (void)state;
    bucket_contract(RETRY_LIMITER_TOKEN_BUCKET);
}

static void gcra_10_per_s_burst_3(void **state)
{
    (void)state;
    bucket_contract(RETRY_LIMITER_GCRA);
}

static void acquire_waits_only_when_it_fits(retry_limiter_kind kind)
{
    retry_limiter *l = make(kind, 10.0, 1, 0);
    assert_int_equal(retry_limiter_acquire(l, 1, 0), RETRY_OK);
    assert_int_equal(clk.slept, 0);
    assert_int_equal(retry_limiter_acquire(l, 1, MS(50)), RETRY_ETIMEOUT);
    assert_int_equal(clk.slept, 0);                            /* failed at once, without waiting */
    assert_int_equal(retry_limiter_time_until(l, 1), MS(100)); /* nothing taken */
    assert_int_equal(retry_limiter_acquire(l, 1, MS(100)), RETRY_OK);
    assert_int_equal(clk.slept, MS(100));
    assert_int_equal(clk.sleeps, 1);
    assert_int_equal(retry_limiter_acquire(l, 1, -1), RETRY_EINVAL);
    retry_limiter_free(l);
}

static void acquire_timeout_bucket(void **state)
{
    (void)state;
    acquire_waits_only_when_it_fits(RETRY_LIMITER_TOKEN_BUCKET);
}

static void acquire_timeout_gcra(void **state)
{
    (void)state;
    acquire_waits_only_when_it_fits(RETRY_LIMITER_GCRA);
}

static void reserve_and_cancel(retry_limiter_kind kind)
{
    retry_limiter *l = make(kind, 1.0, 2, 0);
    retry_reservation r1, r2;
    int64_t wait = -1;
    assert_int_equal(retry_limiter_reserve(l, &wait, &r1, 2, SEC(10)), RETRY_OK);
    assert_int_equal(wait, 0);
    assert_int_equal(retry_limiter_reserve(l, &wait, &r2, 1, SEC(10)), RETRY_OK);
    assert_int_equal(wait, SEC(1));
    assert_int_equal(retry_limiter_reserve(l, &wait, NULL, 2, SEC(2)), RETRY_ETIMEOUT);
    assert_int_equal(wait, SEC(3)); /* how long it would have been */
    retry_limiter_cancel(l, &r2);
    assert_int_equal(retry_limiter_time_until(l, 1), SEC(1));
    retry_limiter_cancel(l, &r2); /* twice: no-op */
    assert_int_equal(retry_limiter_time_until(l, 1), SEC(1));
    retry_limiter_cancel(l, &r1);
    assert_int_equal(retry_limiter_try_acquire(l, 2), RETRY_OK);
    /* a reservation whose time has come counts as used: cancel gives nothing */
    assert_int_equal(retry_limiter_reserve(l, &wait, &r2, 1, SEC(10)), RETRY_OK);
    assert_int_equal(wait, SEC(1));
    clk.now += SEC(1) + MS(1);
    retry_limiter_cancel(l, &r2);
    int64_t t = retry_limiter_time_until(l, 2); /* not SEC(1) - MS(1) */
    assert_true(t >= SEC(2) - MS(1) - 10 && t <= SEC(2) - MS(1) + 10);
    retry_limiter_free(l);
}

static void reserve_cancel_bucket(void **state)
{
    (void)state;
    reserve_and_cancel(RETRY_LIMITER_TOKEN_BUCKET);
}

static void reserve_cancel_gcra(void **state)
{
    (void)state;
    reserve_and_cancel(RETRY_LIMITER_GCRA);
}

static void fixed_window(void **state)
{
    (void)state;
    retry_limiter *l = make(RETRY_LIMITER_FIXED_WINDOW, 1.0, 3, SEC(1));
    clk.now += MS(250);
    for (int i = 0; i < 3; i++)
        assert_int_equal(retry_limiter_try_acquire(l, 1), RETRY_OK);
    assert_int_equal(retry_limiter_try_acquire(l, 1), RETRY_ELIMIT);
    assert_int_equal(retry_limiter_time_until(l, 1), MS(750));
    retry_reservation r;
    int64_t wait;
    assert_int_equal(retry_limiter_reserve(l, &wait, &r, 2, SEC(1)), RETRY_OK);
    assert_int_equal(wait, MS(750)); /* taken from the next window */
    assert_int_equal(retry_limiter_time_until(l, 2), SEC(1) + MS(750));
    assert_int_equal(retry_limiter_time_until(l, 1), MS(750));
    retry_limiter_cancel(l, &r);
    assert_int_equal(retry_limiter_time_until(l, 3), MS(750));
    clk.now += MS(750);
    for (int i = 0; i < 3; i++)
        assert_int_equal(retry_limiter_try_acquire(l, 1), RETRY_OK);
    assert_int_equal(retry_limiter_try_acquire(l, 1), RETRY_ELIMIT);
    assert_int_equal(retry_limiter_time_until(l, 1), SEC(1));
    retry_limiter_free(l);
}

static void backwards_clock_mints_nothing(void **state)
{
    (void)state;
    retry_limiter_kind kinds[] = { RETRY_LIMITER_TOKEN_BUCKET, RETRY_LIMITER_GCRA };
    for (int k = 0; k < 2; k++) {
        clk.now = SEC(50);
        retry_limiter *l = make(kinds[k], 1.0, 1, 0);
        assert_int_equal(retry_limiter_try_acquire(l, 1), RETRY_OK);
        clk.now -= SEC(30); /* steps back */
        assert_int_equal(retry_limiter_try_acquire(l, 1), RETRY_ELIMIT);
        assert_int_equal(retry_limiter_time_until(l, 1), SEC(1));
        clk.now += SEC(30) + MS(500); /* 0.5 s after the first take */
        assert_int_equal(retry_limiter_time_until(l, 1), MS(500));
        clk.now += MS(500);
        assert_int_equal(retry_limiter_try_acquire(l, 1), RETRY_OK);
        retry_limiter_free(l);
    }
}

typedef struct race {
    retry_limiter *l;
    pthread_barrier_t *go;
    int ok;
} race;

static void *racer(void *arg)
{
    race *r = arg;
    pthread_barrier_wait(r->go);
    r->ok = retry_limiter_try_acquire(r->l, 1) == RETRY_OK;
    return NULL;
}

static void fifteen_threads_burst_five(void **state)
{
    (void)state;
    retry_limiter_kind kinds[] = { RETRY_LIMITER_TOKEN_BUCKET, RETRY_LIMITER_GCRA,
                                   RETRY_LIMITER_FIXED_WINDOW };
    for (int k = 0; k < 3; k++) {
        retry_limiter *l = make(kinds[k], 0.001, 5, SEC(3600));
        pthread_barrier_t go;
        pthread_barrier_init(&go, NULL, 15);
        pthread_t t[15];
        race r[15];
        for (int i = 0; i < 15; i++) {
            r[i].l = l;
            r[i].go = &go;
            r[i].ok = 0;
            assert_int_equal(pthread_create(&t[i], NULL, racer, &r[i]), 0);
        }
        int ok = 0;
        for (int i = 0; i < 15; i++) {
            pthread_join(t[i], NULL);
            ok += r[i].ok;
        }
        pthread_barrier_destroy(&go);
        assert_int_equal(ok, 5);
        retry_limiter_free(l);
    }
}

static int64_t precise_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* A limiter on the default clock reads the precise one, never the coarse
 * clock (ticks of several ms): its wait shrinks by every 100 us that pass.
 * Five times, so that a coarse tick falling in between cannot pass it. */
static void default_clock_of_limiters_is_precise(void **state)
{
    (void)state;
    retry_limiter_options o = RETRY_LIMITER_OPTIONS_INIT;
    o.rate = 0.1; /* one token in 10 s: waits far longer than the test */
    o.burst = 1;
    retry_limiter *l = NULL;
    assert_int_equal(retry_limiter_new(&l, &o), RETRY_OK);
    assert_int_equal(retry_limiter_try_acquire(l, 1), RETRY_OK);
    for (int k = 0; k < 5; k++) {
        int64_t w1 = retry_limiter_time_until(l, 1);
        int64_t t0 = precise_ns();
        while (precise_ns() - t0 < 100000)
            ;
        int64_t w2 = retry_limiter_time_until(l, 1);
        print_message("wait %lld ns, then %lld ns\n", (long long)w1, (long long)w2);
        assert_true(w1 > 0 && w2 > 0);
        assert_true(w1 - w2 >= 100000);
    }
    retry_limiter_free(l);
}

static void invalid_options(void **state)
{
    (void)state;
    retry_limiter *l = (retry_limiter *)&clk;
    retry_limiter_options o = RETRY_LIMITER_OPTIONS_INIT;
    o.rate = 0;
    assert_int_equal(retry_limiter_new(&l, &o), RETRY_EINVAL);
    assert_null(l);
    o = (retry_limiter_options)RETRY_LIMITER_OPTIONS_INIT;
    o.burst = 0;
    assert_int_equal(retry_limiter_new(&l, &o), RETRY_EINVAL);
    o = (retry_limiter_options)RETRY_LIMITER_OPTIONS_INIT;
    o.kind = RETRY_LIMITER_FIXED_WINDOW;
    o.window_ns = 0;
    assert_int_equal(retry_limiter_new(&l, &o), RETRY_EINVAL);
    o.kind = (retry_limiter_kind)7;
    assert_int_equal(retry_limiter_new(&l, &o), RETRY_EINVAL);
    assert_int_equal(retry_limiter_new(&l, NULL), RETRY_OK);
    for (int i = 0; i < 5; i++)
        assert_int_equal(retry_limiter_try_acquire(l, 1), RETRY_OK);
    retry_limiter_free(l);
    retry_limiter_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(token_bucket_10_per_s_burst_3, setup),
        cmocka_unit_test_setup(gcra_10_per_s_burst_3, setup),
        cmocka_unit_test_setup(acquire_timeout_bucket, setup),
        cmocka_unit_test_setup(acquire_timeout_gcra, setup),
        cmocka_unit_test_setup(reserve_cancel_bucket, setup),
        cmocka_unit_test_setup(reserve_cancel_gcra, setup),
        cmocka_unit_test_setup(fixed_window, setup),
        cmocka_unit_test_setup(backwards_clock_mints_nothing, setup),
        cmocka_unit_test_setup(fifteen_threads_burst_five, setup),
        cmocka_unit_test_setup(default_clock_of_limiters_is_precise, setup),
        cmocka_unit_test_setup(invalid_options, setup),
    };
    return cmocka_run_group_tests_name("retry_limiter", tests, NULL, NULL);
}
