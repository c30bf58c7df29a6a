/* cmocka.h needs these headers before it. */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include "bind-remount.h"
#include "macro.h"
#include "mount-args.h"

#include <errno.h>
#include <string.h>

static int parse(struct mount_args *a, char **argv)
{
    int argc = 0;
    while (argv[argc])
        argc++;
    return mount_args_parse(argc, argv, a);
}

/* What kubelet (k8s.io/mount-utils) runs. */
static void test_kubelet_command_lines(void **state)
{
    (void)state;
    struct mount_args a;
    char *secret[] = {"mount", "-t", "tmpfs", "-o", "size=1g", "tmpfs", "/var/lib/kubelet/pods/u/v", NULL};
    assert_int_equal(parse(&a, secret), 0);
    assert_string_equal(a.type, "tmpfs");
    assert_string_equal(a.options, "size=1g");
    assert_string_equal(a.source, "tmpfs");
    assert_string_equal(a.target, "/var/lib/kubelet/pods/u/v");

    char *subpath[] = {
        "mount", "-o", "bind", "/proc/42/fd/7", "/var/lib/kubelet/pods/u/volume-subpaths/v/c/0", NULL};
    assert_int_equal(parse(&a, subpath), 0);
    assert_null(a.type);
    assert_string_equal(a.options, "bind");
    assert_false(bind_remount_requested(a.options));

    char *remount[] = {"mount", "-o", "bind,remount", "/proc/42/fd/7", "/t", NULL};
    assert_int_equal(parse(&a, remount), 0);
    assert_true(bind_remount_requested(a.options));

    char *several[] = {"mount", "-o", "bind", "-o", "remount,ro", "/s", "/t", NULL};
    assert_int_equal(parse(&a, several), 0);
    assert_string_equal(a.options, "bind,remount,ro");
    assert_true(bind_remount_requested(a.options));

    char *no_options[] = {"mount", "/dev/sda1", "/mnt", NULL};
    assert_int_equal(parse(&a, no_options), 0);
    assert_string_equal(a.options, "");
}

/* Anything else is the real mount(8)'s. */
static void test_other_command_lines(void **state)
{
    (void)state;
    struct mount_args a;
    char *list[] = {"mount", NULL};
    char *one[] = {"mount", "/mnt", NULL};
    char *three[] = {"mount", "a", "b", "c", NULL};
    char *flag[] = {"mount", "--bind", "/a", "/b", NULL};
    char *all[] = {"mount", "-a", NULL};
    char *dangling[] = {"mount", "/a", "/b", "-o", NULL};
    char *two_types[] = {"mount", "-t", "tmpfs", "-t", "proc", "a", "b", NULL};
    char *empty[] = {"mount", "", "/b", NULL};
    char **lines[] = {list, one, three, flag, all, dangling, two_types, empty};
    for (size_t i = 0; i < ARRAY_SIZE(lines); i++)
        assert_int_equal(parse(&a, lines[i]), -EOPNOTSUPP);

    static char long_options[MOUNT_ARGS_MAX_OPTIONS + 8];
    memset(long_options, 'x', sizeof(long_options) - 1);
    char *too_long[] = {"mount", "-o", long_options, "/a", "/b", NULL};
    assert_int_equal(parse(&a, too_long), -E2BIG);
}

static void test_bind_remount_option_names(void **state)
{
    (void)state;
    assert_true(bind_remount_requested("rbind,remount"));
    assert_false(bind_remount_requested("remount"));
    assert_false(bind_remount_requested("bind"));
    assert_false(bind_remount_requested("binder,remount"));
    assert_false(bind_remount_requested("bind,remounted"));
    assert_false(bind_remount_requested(""));
}

static void test_remount_that_changes_nothing(void **state)
{
    (void)state;
    /* kubelet's subPath: a fresh bind is rw with the source's options, the remount asks for nothing. */
    assert_true(bind_remount_changes_nothing("bind,remount", "rw"));
    assert_true(bind_remount_changes_nothing("bind,remount", "rw,relatime"));
    assert_true(bind_remount_changes_nothing("bind,remount,rw,defaults", "rw,noatime"));
    assert_true(bind_remount_changes_nothing("bind,remount,nosuid,nodev", "rw,nosuid,nodev,relatime"));
    assert_true(bind_remount_changes_nothing("rbind,remount,ro", "ro"));
    assert_true(bind_remount_changes_nothing("bind,remount,noatime", "rw,noatime"));
}

static void test_remount_that_changes_something(void **state)
{
    (void)state;
    assert_false(bind_remount_changes_nothing("bind,remount,ro", "rw"));
    assert_false(bind_remount_changes_nothing("bind,remount", "ro"));
    assert_false(bind_remount_changes_nothing("bind,remount,noexec", "rw"));
    assert_false(bind_remount_changes_nothing("bind,remount", "rw,nosuid"));
    assert_false(bind_remount_changes_nothing("bind,remount,noatime", "rw,relatime"));
    /* Options that are not per-mount flags: not something a no-op can promise. */
    assert_false(bind_remount_changes_nothing("bind,remount,size=1g", "rw"));
    assert_false(bind_remount_changes_nothing("bind,remount,_netdev", "rw"));
    assert_false(bind_remount_changes_nothing(NULL, "rw"));
    assert_false(bind_remount_changes_nothing("bind,remount", NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kubelet_command_lines),
        cmocka_unit_test(test_other_command_lines),
        cmocka_unit_test(test_bind_remount_option_names),
        cmocka_unit_test(test_remount_that_changes_nothing),
        cmocka_unit_test(test_remount_that_changes_something),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
