/* cmocka.h needs these headers before it. */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include "path.h"
#include "rule.h"

#include <errno.h>
#include <limits.h>
#include <string.h>

static void expect_normal(const char *in, const char *want)
{
    char out[PATH_MAX];
    int n = path_normalize(in, out, sizeof(out));
    assert_int_equal(n, (int)strlen(want));
    assert_string_equal(out, want);
}

static void test_normalize(void **state)
{
    (void)state;
    expect_normal("/", "/");
    expect_normal("//", "/");
    expect_normal("/a//b/", "/a/b");
    expect_normal("/a/./b/.", "/a/b");
    expect_normal("/a/b/../c", "/a/c");
    expect_normal("/../..", "/");
    expect_normal("/a/../../b", "/b");
    expect_normal("/proc/sys/kernel/cap_last_cap", "/proc/sys/kernel/cap_last_cap");
    expect_normal("/a/..b/.c", "/a/..b/.c");
    char out[8];
    assert_int_equal(path_normalize("relative", out, sizeof(out)), -EINVAL);
    assert_int_equal(path_normalize("/abcdefghij", out, sizeof(out)), -ENAMETOOLONG);
    assert_int_equal(path_normalize("/abcdefg/..", out, sizeof(out)), -ENAMETOOLONG);
    assert_int_equal(path_normalize("/abcdef", out, sizeof(out)), 7);
}

static void test_resolve(void **state)
{
    (void)state;
    char out[PATH_MAX];
    assert_true(path_resolve("/proc/sys", "kernel/x", out, sizeof(out)) > 0);
    assert_string_equal(out, "/proc/sys/kernel/x");
    assert_true(path_resolve("/a/b", "../../../c", out, sizeof(out)) > 0);
    assert_string_equal(out, "/c");
    assert_true(path_resolve("/ignored", "/abs/./x", out, sizeof(out)) > 0);
    assert_string_equal(out, "/abs/x");
    assert_int_equal(path_resolve("not-absolute", "x", out, sizeof(out)), -EINVAL);
}

static void test_under(void **state)
{
    (void)state;
    assert_string_equal(path_under("/proc/sys/kernel", "/proc/sys"), "/kernel");
    assert_string_equal(path_under("/proc/sys", "/proc/sys"), "");
    assert_null(path_under("/proc/system", "/proc/sys"));
    assert_null(path_under("/pro", "/proc"));
    assert_string_equal(path_under("/x", "/"), "/x");
}

static void test_replace(void **state)
{
    (void)state;
    char out[PATH_MAX];
    assert_int_equal(path_replace_prefix("/run/kig", "/kernel/x", out, sizeof(out)), 17);
    assert_string_equal(out, "/run/kig/kernel/x");
    path_replace_prefix("/", "/x", out, sizeof(out));
    assert_string_equal(out, "/x");
    path_replace_prefix("/", "", out, sizeof(out));
    assert_string_equal(out, "/");
    char small[4];
    assert_int_equal(path_replace_prefix("/abc", "/d", small, sizeof(small)), -ENAMETOOLONG);
}

static void test_proc_self_fd(void **state)
{
    (void)state;
    assert_int_equal(path_proc_self_fd("/proc/self/fd/7"), 7);
    assert_int_equal(path_proc_self_fd("/proc/thread-self/fd/12"), 12);
    assert_int_equal(path_proc_self_fd("/proc/self/fd"), -1);
    assert_int_equal(path_proc_self_fd("/proc/self/fd/x"), -1);
    assert_int_equal(path_proc_self_fd("/proc/self/fd/3/x"), -1);
    assert_int_equal(path_proc_self_fd("/proc/self/fd/99999999999"), -1);
    assert_int_equal(path_proc_self_fd("/proc/1/fd/3"), -1);
}

static void test_netns_link(void **state)
{
    assert_true(netns_pin_is_ns_link("/proc/12/task/13/ns/net"));
    assert_true(netns_pin_is_ns_link("/proc/self/ns/net"));
    assert_true(netns_pin_is_ns_link("/proc/thread-self/ns/net"));
    assert_false(netns_pin_is_ns_link("/proc/12/ns/mnt"));
    assert_false(netns_pin_is_ns_link("/proc//ns/net"));
    assert_false(netns_pin_is_ns_link("/proc/ns/net"));
    assert_false(netns_pin_is_ns_link("/proc/1/2/ns/net"));
    assert_false(netns_pin_is_ns_link("/proc/1/x/2/ns/net"));
    assert_false(netns_pin_is_ns_link("/run/netns/x"));
    assert_false(netns_pin_is_ns_link("/proc/1/task/2/ns/network"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_normalize),    cmocka_unit_test(test_resolve),
        cmocka_unit_test(test_under),        cmocka_unit_test(test_replace),
        cmocka_unit_test(test_proc_self_fd), cmocka_unit_test(test_netns_link),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
