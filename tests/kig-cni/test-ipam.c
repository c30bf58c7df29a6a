/* The address store of the veth and tap strategies. */
/* cmocka.h needs these headers before it. */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include "fileutil.h"
#include "ipam.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (uint32_t)(d))

static char dir[64];

static int setup(void **state)
{
    snprintf(dir, sizeof(dir), "/tmp/kig-ipam-test.XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    return rm_rf(dir);
}

static struct ipam_range range(const char *cidr)
{
    struct ipam_range r;
    assert_int_equal(ipam_range_parse(cidr, &r), 0);
    return r;
}

static void test_range_parse(void **state)
{
    struct ipam_range r = range("10.244.0.77/24");
    assert_int_equal(r.network, IP(10, 244, 0, 0));
    assert_int_equal(r.prefix_len, 24);
    assert_int_equal(r.gateway, IP(10, 244, 0, 1));
    assert_int_equal(r.first, IP(10, 244, 0, 2));
    assert_int_equal(r.last, IP(10, 244, 0, 254));
    r = range("10.0.0.0/30");
    assert_int_equal(r.first, r.last);
    const char *bad[] = {"10.0.0.0/31", "10.0.0.0/7", "10.0.0.0", "10.0.0/24", "10.0.0.0/24x", NULL};
    for (size_t i = 0; bad[i]; i++)
        assert_int_equal(ipam_range_parse(bad[i], &r), -EINVAL);
    assert_int_equal(ipam_range_parse(NULL, &r), -EINVAL);
}

static void test_allocate_is_idempotent(void **state)
{
    struct ipam_range r = range("10.244.0.0/24");
    uint32_t a, b, c;
    assert_int_equal(ipam_allocate(dir, &r, "ctr1", "eth0", &a), 0);
    assert_int_equal(a, IP(10, 244, 0, 2));
    assert_int_equal(ipam_allocate(dir, &r, "ctr2", "eth0", &b), 0);
    assert_int_equal(b, IP(10, 244, 0, 3));
    assert_int_equal(ipam_allocate(dir, &r, "ctr1", "eth0", &c), 0);
    assert_int_equal(c, a);
    /* another interface of the same container is another owner */
    assert_int_equal(ipam_allocate(dir, &r, "ctr1", "eth1", &c), 0);
    assert_int_equal(c, IP(10, 244, 0, 4));
    assert_int_equal(ipam_lookup(dir, "ctr2", "eth0", &c), 0);
    assert_int_equal(c, b);
    assert_int_equal(ipam_lookup(dir, "ctr", "eth0", &c), -ENOENT); /* prefix of an id is not the id */
    char path[128], *content = NULL;
    snprintf(path, sizeof(path), "%s/10.244.0.2", dir);
    assert_int_equal(read_file(path, &content, NULL, 0), 0);
    assert_string_equal(content, "ctr1\neth0\n");
    free(content);
}

static void test_release_and_round_robin(void **state)
{
    struct ipam_range r = range("10.9.0.0/29"); /* pods get .2 - .6 */
    uint32_t a;
    assert_int_equal(ipam_allocate(dir, &r, "a", "eth0", &a), 0);
    assert_int_equal(a, IP(10, 9, 0, 2));
    assert_int_equal(ipam_release(dir, "a", "eth0"), 0);
    assert_int_equal(ipam_release(dir, "a", "eth0"), 0); /* again: nothing to do, still fine */
    assert_int_equal(ipam_lookup(dir, "a", "eth0", &a), -ENOENT);
    /* a freed address is not handed out again at once */
    assert_int_equal(ipam_allocate(dir, &r, "b", "eth0", &a), 0);
    assert_int_equal(a, IP(10, 9, 0, 3));
    for (const char *id = "cde"; *id; id++) {
        char name[2] = {*id, 0};
        assert_int_equal(ipam_allocate(dir, &r, name, "eth0", &a), 0);
    }
    /* .3-.6 taken, so the cursor wraps to the freed .2 */
    assert_int_equal(a, IP(10, 9, 0, 6));
    assert_int_equal(ipam_allocate(dir, &r, "f", "eth0", &a), 0);
    assert_int_equal(a, IP(10, 9, 0, 2));
    assert_int_equal(ipam_allocate(dir, &r, "g", "eth0", &a), -ENOSPC);
}

static void test_release_in_missing_dir(void **state)
{
    assert_int_equal(ipam_release("/tmp/kig-ipam-test-does-not-exist", "x", "eth0"), 0);
}

static void test_rejects_newlines(void **state)
{
    struct ipam_range r = range("10.8.0.0/24");
    uint32_t a;
    assert_int_equal(ipam_allocate(dir, &r, "a\nb", "eth0", &a), -EINVAL);
}

/* Eight processes allocate at once: the lock keeps every address unique. */
static void test_concurrent_allocations(void **state)
{
    struct ipam_range r = range("10.7.0.0/24");
    enum { N = 8, EACH = 4 };
    for (int i = 0; i < N; i++) {
        if (fork() == 0) {
            for (int k = 0; k < EACH; k++) {
                char id[16];
                snprintf(id, sizeof(id), "p%d-%d", i, k);
                uint32_t a;
                if (ipam_allocate(dir, &r, id, "eth0", &a) < 0)
                    _exit(1);
            }
            _exit(0);
        }
    }
    for (int i = 0; i < N; i++) {
        int status;
        wait(&status);
        assert_int_equal(WEXITSTATUS(status), 0);
    }
    uint32_t seen[N * EACH];
    for (int i = 0; i < N; i++)
        for (int k = 0; k < EACH; k++) {
            char id[16];
            snprintf(id, sizeof(id), "p%d-%d", i, k);
            assert_int_equal(ipam_lookup(dir, id, "eth0", &seen[i * EACH + k]), 0);
            for (int j = 0; j < i * EACH + k; j++)
                assert_int_not_equal(seen[j], seen[i * EACH + k]);
        }
}

static void test_format(void **state)
{
    char buf[16];
    assert_string_equal(ipam_format(IP(192, 168, 1, 20), buf), "192.168.1.20");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_range_parse),
        cmocka_unit_test_setup_teardown(test_allocate_is_idempotent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_release_and_round_robin, setup, teardown),
        cmocka_unit_test(test_release_in_missing_dir),
        cmocka_unit_test_setup_teardown(test_rejects_newlines, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_allocations, setup, teardown),
        cmocka_unit_test(test_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
