/* The trap table: open addressing with backward-shift deletion must keep every live entry reachable
 * through any sequence of inserts and deletes, and refuse (not corrupt) when full. */
/* cmocka.h needs these headers before it. */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include "tracee.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define N 3000

static void test_insert_delete(void **state)
{
    (void)state;
    static pid_t tids[N];
    static bool live[N];
    srand(42);
    for (int i = 0; i < N; i++) {
        /* Clustered tids, as a pid allocator hands them out, plus random far ones. */
        tids[i] = i % 3 ? 1000 + i : 1 + rand() % 4000000;
        for (int j = 0; j < i; j++)
            if (tids[j] == tids[i])
                tids[i] = 5000000 + i;
        struct trap *t = trap_new(tids[i]);
        assert_non_null(t);
        t->nr = tids[i];
        live[i] = true;
    }
    assert_int_equal(trap_count(), N);
    for (int round = 0; round < 4; round++) {
        for (int i = 0; i < N; i++) {
            if (rand() % 2 == 0) {
                struct trap *t = trap_find(tids[i]);
                if (live[i]) {
                    assert_non_null(t);
                    trap_free(t);
                    live[i] = false;
                } else {
                    assert_null(t);
                    t = trap_new(tids[i]);
                    assert_non_null(t);
                    t->nr = tids[i];
                    live[i] = true;
                }
            }
        }
        for (int i = 0; i < N; i++) {
            struct trap *t = trap_find(tids[i]);
            if (live[i]) {
                assert_non_null(t);
                assert_int_equal(t->tid, tids[i]);
                assert_int_equal(t->nr, tids[i]); /* the entry moved with its data */
            } else {
                assert_null(t);
            }
        }
    }
    for (int i = 0; i < N; i++)
        if (live[i])
            trap_free(trap_find(tids[i]));
    assert_int_equal(trap_count(), 0);
}

static void test_full(void **state)
{
    (void)state;
    size_t n = 0;
    while (trap_new((pid_t)(100000 + n)))
        n++;
    assert_int_equal(n, TRAP_TABLE_SIZE - 1);
    assert_non_null(trap_find(100000));
    assert_non_null(trap_find((pid_t)(100000 + n - 1)));
    for (size_t i = 0; i < n; i++)
        trap_free(trap_find((pid_t)(100000 + i)));
    assert_int_equal(trap_count(), 0);
    assert_null(trap_find(100000));
}

static void test_reset_keeps_restart_state(void **state)
{
    (void)state;
    struct trap *t = trap_new(77);
    t->rule_data[2][0] = 5;
    t->scratch_unavailable = true;
    trap_reset(t, true);
    assert_int_equal(t->attempt, 2);
    assert_int_equal(t->rule_data[2][0], 5);
    assert_true(t->scratch_unavailable);
    trap_reset(t, false);
    assert_int_equal(t->attempt, 1);
    assert_int_equal(t->rule_data[2][0], 0);
    assert_false(t->scratch_unavailable);
    trap_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_insert_delete),
        cmocka_unit_test(test_full),
        cmocka_unit_test(test_reset_keeps_restart_state),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
