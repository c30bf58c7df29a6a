/* The mountinfo parser, on Linux's and gVisor's formats. */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include "mountinfo.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

static void test_parse_linux_and_gvisor(void **state)
{
    static const char text[] =
        "22 1 0:21 / /proc rw,nosuid shared:5 - proc proc rw\n"
        "35 25 0:30 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:14 master:1 - cgroup cgroup "
        "rw,cpu,cpuacct\n"
        "14 13 0:13 / /sys/fs/cgroup/cpu rw  - cgroup none rw,cpu\n" /* gVisor: no optional fields */
        "90 22 0:40 /sub /mnt/with\\040space rw - tmpfs tmp rw\n"
        "garbage line\n"
        "91 22 0:41 / /no-dash rw tmpfs tmp rw\n"
        "92 22 0:42 / /last rw - tmpfs tmp";
    struct mount_table t;
    assert_int_equal(mount_table_parse(text, &t), 0);
    assert_int_equal(t.n, 5);
    assert_string_equal(t.entries[0].mount_point, "/proc");
    assert_string_equal(t.entries[1].super_options, "rw,cpu,cpuacct");
    assert_string_equal(t.entries[2].fstype, "cgroup");
    assert_string_equal(t.entries[2].source, "none");
    assert_string_equal(t.entries[3].mount_point, "/mnt/with space");
    assert_string_equal(t.entries[3].root, "/sub");
    assert_string_equal(t.entries[4].super_options, "");
    mount_table_free(&t);
    assert_int_equal(t.n, 0);
}

static void test_read_self(void **state)
{
    struct mount_table t;
    assert_int_equal(mount_table_read(&t), 0);
    bool root = false;
    for (size_t i = 0; i < t.n; i++)
        root |= strcmp(t.entries[i].mount_point, "/") == 0;
    assert_true(root);
    mount_table_free(&t);
}

static void test_path_is_below(void **state)
{
    assert_true(path_is_below("/a/b", "/a"));
    assert_true(path_is_below("/a/b/c", "/a"));
    assert_false(path_is_below("/a", "/a"));
    assert_false(path_is_below("/ab", "/a"));
    assert_false(path_is_below("/a/", "/a"));
    assert_true(path_is_below("/x", "/"));
    assert_false(path_is_below("/", "/"));
}

static void test_option_list_has(void **state)
{
    assert_true(option_list_has("rw,cpu,cpuacct", "cpu"));
    assert_true(option_list_has("rw,cpu,cpuacct", "cpuacct"));
    assert_false(option_list_has("rw,cpuacct", "cpu"));
    assert_false(option_list_has("", "cpu"));
    assert_false(option_list_has(NULL, "cpu"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_linux_and_gvisor),
        cmocka_unit_test(test_read_self),
        cmocka_unit_test(test_path_is_below),
        cmocka_unit_test(test_option_list_has),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
