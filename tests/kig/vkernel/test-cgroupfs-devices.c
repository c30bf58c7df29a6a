/* The devices whitelist of kig-cgroupfs against Linux 4.4's rules (security/device_cgroup.c). */
/* cmocka.h needs these headers before it. */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include "devices.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void assert_list(const struct dev_cgroup *d, const char *expected)
{
    char *list = dev_cgroup_list(d);
    assert_non_null(list);
    assert_string_equal(list, expected);
    free(list);
}

static void test_root_allows_all(void **state)
{
    struct dev_cgroup root;
    dev_cgroup_init_root(&root);
    assert_list(&root, "a *:* rwm\n");
    /* An exception in allow mode is a denied device: the list still says "a" (as Linux prints it). */
    assert_int_equal(dev_cgroup_write(&root, NULL, false, false, "b 8:0 w"), 0);
    assert_list(&root, "a *:* rwm\n");
    assert_int_equal(root.n_ex, 1);
    dev_cgroup_done(&root);
}

/* What runc writes for a default container: deny all, then its allow list. */
static void test_runc_sequence(void **state)
{
    struct dev_cgroup root, c;
    dev_cgroup_init_root(&root);
    assert_int_equal(dev_cgroup_copy(&c, &root), 0);
    assert_int_equal(dev_cgroup_write(&c, &root, false, false, "a"), 0);
    assert_list(&c, "");
    static const char *const rules[] = {"c *:* m",   "b *:* m",     "c 1:3 rwm", "c 1:8 rwm",
                                        "c 1:7 rwm", "c 5:0 rwm",   "c 1:5 rwm", "c 1:9 rwm",
                                        "c 5:1 rwm", "c 136:* rwm", "c 5:2 rwm", "c 10:200 rwm"};
    for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
        assert_int_equal(dev_cgroup_write(&c, &root, false, true, rules[i]), 0);
    assert_list(&c, "c *:* m\nb *:* m\nc 1:3 rwm\nc 1:8 rwm\nc 1:7 rwm\nc 5:0 rwm\nc 1:5 rwm\nc 1:9 rwm\n"
                    "c 5:1 rwm\nc 136:* rwm\nc 5:2 rwm\nc 10:200 rwm\n");
    /* Allowing again merges access; denying removes only the bits named. */
    assert_int_equal(dev_cgroup_write(&c, &root, false, false, "c 1:3 w"), 0);
    assert_int_equal(dev_cgroup_write(&c, &root, false, false, "c 10:200 rwm"), 0);
    assert_int_equal(dev_cgroup_write(&c, &root, false, true, "c 1:3 w"), 0);
    assert_list(&c, "c *:* m\nb *:* m\nc 1:3 rwm\nc 1:8 rwm\nc 1:7 rwm\nc 5:0 rwm\nc 1:5 rwm\nc 1:9 rwm\n"
                    "c 5:1 rwm\nc 136:* rwm\nc 5:2 rwm\n");
    /* Back to allow-all. */
    assert_int_equal(dev_cgroup_write(&c, &root, false, true, "a *:* rwm"), 0);
    assert_list(&c, "a *:* rwm\n");
    dev_cgroup_done(&c);
    dev_cgroup_done(&root);
}

static void test_child_cannot_exceed_parent(void **state)
{
    struct dev_cgroup root, parent, child;
    dev_cgroup_init_root(&root);
    assert_int_equal(dev_cgroup_copy(&parent, &root), 0);
    assert_int_equal(dev_cgroup_write(&parent, &root, false, false, "a"), 0);
    assert_int_equal(dev_cgroup_write(&parent, &root, false, true, "c 1:3 rw"), 0);
    assert_int_equal(dev_cgroup_write(&parent, &root, false, true, "c 136:* rwm"), 0);
    /* A new child starts as a copy. */
    assert_int_equal(dev_cgroup_copy(&child, &parent), 0);
    assert_list(&child, "c 1:3 rw\nc 136:* rwm\n");
    assert_int_equal(dev_cgroup_write(&child, &parent, false, false, "a"), 0);
    assert_int_equal(dev_cgroup_write(&child, &parent, false, true, "c 1:3 r"), 0);
    assert_int_equal(dev_cgroup_write(&child, &parent, false, true, "c 136:4 rw"), 0);
    assert_int_equal(dev_cgroup_write(&child, &parent, false, true, "c 1:3 m"), -EPERM);
    assert_int_equal(dev_cgroup_write(&child, &parent, false, true, "c 1:5 r"), -EPERM);
    assert_int_equal(dev_cgroup_write(&child, &parent, false, true, "a"), -EPERM);
    assert_list(&child, "c 1:3 r\nc 136:4 rw\n");
    dev_cgroup_done(&child);

    /* Under an allow-all parent that denies one device, an allow-all child cannot lift that. */
    struct dev_cgroup p2, c2;
    dev_cgroup_init_root(&p2);
    assert_int_equal(dev_cgroup_write(&p2, NULL, false, false, "b 8:0 w"), 0);
    assert_int_equal(dev_cgroup_copy(&c2, &p2), 0);
    assert_int_equal(dev_cgroup_write(&c2, &p2, false, true, "b 8:0 w"), -EPERM);
    assert_int_equal(dev_cgroup_write(&c2, &p2, false, true, "b 8:1 w"), 0);
    dev_cgroup_done(&c2);
    dev_cgroup_done(&p2);
    dev_cgroup_done(&parent);
    dev_cgroup_done(&root);
}

static void test_reset_refused_with_children(void **state)
{
    struct dev_cgroup root;
    dev_cgroup_init_root(&root);
    assert_int_equal(dev_cgroup_write(&root, NULL, true, false, "a"), -EINVAL);
    assert_int_equal(dev_cgroup_write(&root, NULL, true, false, "c 1:3 r"), 0);
    dev_cgroup_done(&root);
}

static void test_malformed_rules(void **state)
{
    static const char *const bad[] = {"",        "x 1:3 rwm", "c 1:3",  "c 1:3 rwx",
                                      "c a:3 r", "c 1-3 r",   "c1:3 r", "c 1:3 r\nb 1:1 r",
                                      "c 1: r",  "c :3 r"};
    struct dev_cgroup root;
    dev_cgroup_init_root(&root);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(dev_cgroup_write(&root, NULL, false, true, bad[i]), -EINVAL);
    /* A trailing newline is what echo writes. */
    assert_int_equal(dev_cgroup_write(&root, NULL, false, false, "c 1:3 rwm\n"), 0);
    dev_cgroup_done(&root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_root_allows_all),
        cmocka_unit_test(test_runc_sequence),
        cmocka_unit_test(test_child_cannot_exceed_parent),
        cmocka_unit_test(test_reset_refused_with_children),
        cmocka_unit_test(test_malformed_rules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
