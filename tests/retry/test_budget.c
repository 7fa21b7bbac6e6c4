/* Retry budgets: gRPC tokens and Finagle's percentage, on a fake clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "fake.h"

static fake clk;

static int setup(void **state)
{
    (void)state;
    memset(&clk, 0, sizeof clk);
    clk.now = SEC(7);
    return 0;
}

static void grpc_tokens(void **state)
{
    (void)state;
    retry_budget_options o = RETRY_BUDGET_OPTIONS_INIT;
    o.kind = RETRY_BUDGET_TOKENS;
    o.max_tokens = 10;
    o.token_ratio = 0.1;
    o.env = fake_env(&clk);
    retry_budget *b = NULL;
    assert_int_equal(retry_budget_new(&b, &o), RETRY_OK);
    assert_true(retry_budget_balance(b) == 10.0);
    assert_int_equal(retry_budget_try_withdraw(b), RETRY_OK);
    assert_true(retry_budget_balance(b) == 10.0); /* checking costs nothing */
    for (int i = 0; i < 4; i++)
        retry_budget_record(b, 0);
    assert_true(retry_budget_balance(b) == 6.0);
    assert_int_equal(retry_budget_try_withdraw(b), RETRY_OK);
    retry_budget_record(b, 0); /* 5: not above half */
    assert_int_equal(retry_budget_try_withdraw(b), RETRY_EBUDGET);
    retry_budget_deposit(b); /* no effect on TOKENS */
    assert_int_equal(retry_budget_try_withdraw(b), RETRY_EBUDGET);
    retry_budget_record(b, 1); /* 5.1 */
    assert_true(retry_budget_balance(b) > 5.09 && retry_budget_balance(b) < 5.11);
    assert_int_equal(retry_budget_try_withdraw(b), RETRY_OK);
    for (int i = 0; i < 20; i++)
        retry_budget_record(b, 0);
    assert_true(retry_budget_balance(b) == 0.0);
    for (int i = 0; i < 200; i++)
        retry_budget_record(b, 1);
    assert_true(retry_budget_balance(b) == 10.0);
    retry_budget_free(b);
}

static retry_budget *finagle(double percent, uint32_t min_per_s)
{
    retry_budget_options o = RETRY_BUDGET_OPTIONS_INIT;
    o.percent = percent;
    o.ttl_ns = SEC(10);
    o.min_per_second = min_per_s;
    o.env = fake_env(&clk);
    retry_budget *b = NULL;
    assert_int_equal(retry_budget_new(&b, &o), RETRY_OK);
    return b;
}

static void finagle_percent(void **state)
{
    (void)state;
    retry_budget *b = finagle(20, 0);
    assert_int_equal(retry_budget_try_withdraw(b), RETRY_EBUDGET);
    for (int i = 0; i < 10; i++)
        retry_budget_deposit(b);
    assert_true(retry_budget_balance(b) == 2.0);
    assert_int_equal(retry_budget_try_withdraw(b), RETRY_OK);
    assert_int_equal(retry_budget_try_withdraw(b), RETRY_OK);
    assert_int_equal(retry_budget_try_withdraw(b), RETRY_EBUDGET);
    retry_budget_record(b, 1); /* no effect on PERCENT */
    assert_int_equal(retry_budget_try_withdraw(b), RETRY_EBUDGET);
    for (int i = 0; i < 5; i++)
        retry_budget_deposit(b);
    assert_int_equal(retry_budget_try_withdraw(b), RETRY_OK);
    assert_int_equal(retry_budget_try_withdraw(b), RETRY_EBUDGET);
    clk.now += SEC(11); /* deposits and withdrawals expire together */
    assert_true(retry_budget_balance(b) == 0.0);
    for (int i = 0; i < 5; i++)
        retry_budget_deposit(b);
    assert_int_equal(retry_budget_try_withdraw(b), RETRY_OK);
    assert_int_equal(retry_budget_try_withdraw(b), RETRY_EBUDGET);
    retry_budget_free(b);
}

static void finagle_min_per_second(void **state)
{
    (void)state;
    retry_budget *b = finagle(20, 1); /* 1/s over 10 s: 10 retries in reserve */
    assert_true(retry_budget_balance(b) == 10.0);
    for (int i = 0; i < 10; i++)
        assert_int_equal(retry_budget_try_withdraw(b), RETRY_OK);
    assert_int_equal(retry_budget_try_withdraw(b), RETRY_EBUDGET);
    clk.now += SEC(5); /* the withdrawals are still in the window */
    assert_int_equal(retry_budget_try_withdraw(b), RETRY_EBUDGET);
    clk.now += SEC(6);
    assert_true(retry_budget_balance(b) == 10.0);
    retry_budget_free(b);

    b = finagle(0, 2); /* no percentage: only the reserve */
    for (int i = 0; i < 100; i++)
        retry_budget_deposit(b);
    assert_true(retry_budget_balance(b) == 20.0);
    retry_budget_free(b);
}

static void invalid_options(void **state)
{
    (void)state;
    retry_budget *b = (retry_budget *)&clk;
    retry_budget_options o = RETRY_BUDGET_OPTIONS_INIT;
    o.ttl_ns = MS(10);
    assert_int_equal(retry_budget_new(&b, &o), RETRY_EINVAL);
    assert_null(b);
    o = (retry_budget_options)RETRY_BUDGET_OPTIONS_INIT;
    o.percent = -1;
    assert_int_equal(retry_budget_new(&b, &o), RETRY_EINVAL);
    o = (retry_budget_options)RETRY_BUDGET_OPTIONS_INIT;
    o.kind = RETRY_BUDGET_TOKENS;
    o.max_tokens = 0;
    assert_int_equal(retry_budget_new(&b, &o), RETRY_EINVAL);
    o.max_tokens = 10;
    o.token_ratio = 0;
    assert_int_equal(retry_budget_new(&b, &o), RETRY_EINVAL);
    o.kind = (retry_budget_kind)5;
    assert_int_equal(retry_budget_new(&b, &o), RETRY_EINVAL);
    assert_int_equal(retry_budget_new(&b, NULL), RETRY_OK);
    assert_true(retry_budget_balance(b) == 100.0); /* 10/s * 10 s */
    retry_budget_free(b);
    retry_budget_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(grpc_tokens, setup),
        cmocka_unit_test_setup(finagle_percent, setup),
        cmocka_unit_test_setup(finagle_min_per_second, setup),
        cmocka_unit_test_setup(invalid_options, setup),
    };
    return cmocka_run_group_tests_name("retry_budget", tests, NULL, NULL);
}
