#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "backoff.h"

static const struct backoff_policy policy = {.initial_ms = 500, .max_ms = 30000, .reset_after_ms = 60000};

static void test_no_failure_no_delay(void **state)
{
    assert_int_equal(backoff_delay_ms(&policy, 0), 0);
}

static void test_doubles_up_to_ceiling(void **state)
{
    const int64_t want[] = {500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000};
    for (unsigned i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        assert_int_equal(backoff_delay_ms(&policy, i + 1), want[i]);
    assert_int_equal(backoff_delay_ms(&policy, 4000000000u), 30000);
}

static void test_quick_failures_accumulate(void **state)
{
    unsigned f = 0;
    for (int i = 1; i <= 5; i++) {
        f = backoff_record_exit(&policy, f, 1000);
        assert_int_equal(f, i);
    }
    assert_int_equal(backoff_delay_ms(&policy, f), 8000);
}

static void test_long_run_resets(void **state)
{
    /* A component that ran for a minute and then died is retried after the initial delay only. */
    unsigned f = backoff_record_exit(&policy, 6, 60000);
    assert_int_equal(f, 1);
    assert_int_equal(backoff_delay_ms(&policy, f), 500);
    assert_int_equal(backoff_record_exit(&policy, 6, 59999), 7);
}

static void test_default_policy_is_sane(void **state)
{
    assert_true(backoff_default.initial_ms > 0);
    assert_true(backoff_default.initial_ms <= 1000); /* recovery after a crash must stay quick */
    assert_true(backoff_default.max_ms >= backoff_default.initial_ms);
    assert_true(backoff_default.reset_after_ms > backoff_default.max_ms);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_failure_no_delay),       cmocka_unit_test(test_doubles_up_to_ceiling),
        cmocka_unit_test(test_quick_failures_accumulate), cmocka_unit_test(test_long_run_resets),
        cmocka_unit_test(test_default_policy_is_sane),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
