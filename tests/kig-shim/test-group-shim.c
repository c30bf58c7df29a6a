/* cmocka.h needs these headers before it. */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include "fileutil.h"
#include "group-shim.h"
#include "macro.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* The expected value is what containerd 1.6's shim.SocketAddress() printed for the same input (Go's
 * sha256 of filepath.Join(address, namespace, group)). */
static void test_address_matches_containerd(void **state)
{
    (void)state;
    char buf[256];
    assert_int_equal(
        shim_socket_address("/run/containerd/containerd.sock", "k8s.io", "abc123", buf, sizeof(buf)), 0);
    assert_string_equal(buf, "unix:///run/containerd/s/"
                             "5740821878b2b98946e4d6c5f9bdd3b46375d3a89f9c93bb912fb0614aabc409");
}

/* Paths Go's filepath.Join would clean into another string: kig-shim leaves those to the real shim. */
static void test_unclean_input_is_refused(void **state)
{
    (void)state;
    char buf[256];
    static const char *const addresses[] = {
        "relative.sock", "/run//c.sock", "/run/./c.sock", "/run/../c.sock", "/run/c.sock/", "/", ""};
    for (size_t i = 0; i < ARRAY_SIZE(addresses); i++)
        assert_int_equal(shim_socket_address(addresses[i], "k8s.io", "abc", buf, sizeof(buf)), -EINVAL);
    assert_int_equal(shim_socket_address("/c.sock", "k8s/io", "abc", buf, sizeof(buf)), -EINVAL);
    assert_int_equal(shim_socket_address("/c.sock", "k8s.io", "..", buf, sizeof(buf)), -EINVAL);
    assert_int_equal(shim_socket_address("/c.sock", "", "abc", buf, sizeof(buf)), -EINVAL);
    assert_int_equal(shim_socket_address("/c.sock", "k8s.io", "abc", buf, 20), -ENAMETOOLONG);
}

static void test_listening(void **state)
{
    (void)state;
    char dir[] = "/tmp/kig-test-group-shim.XXXXXX";
    assert_non_null(mkdtemp(dir));
    char address[256];
    snprintf(address, sizeof(address), "unix://%s/shim.sock", dir);
    assert_false(group_shim_listening(address)); /* nothing there */
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/shim.sock", dir);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_false(group_shim_listening(address)); /* bound, not listening: a dead shim's socket */
    assert_int_equal(listen(fd, 4), 0);
    assert_true(group_shim_listening(address));
    assert_false(group_shim_listening(address + strlen("unix://"))); /* no scheme */
    close(fd);
    assert_false(group_shim_listening(address)); /* the shim is gone, its socket file is not */
    unlink(sa.sun_path);
    rmdir(dir);
}

static void test_write_address(void **state)
{
    (void)state;
    char dir[] = "/tmp/kig-test-group-shim.XXXXXX";
    assert_non_null(mkdtemp(dir));
    int cwd = open(".", O_RDONLY | O_DIRECTORY);
    assert_true(cwd >= 0);
    assert_int_equal(chdir(dir), 0);
    assert_int_equal(write_file_atomic("address", "old-and-longer", 14, 0644), 0);
    assert_int_equal(group_shim_write_address("address", "unix:///run/containerd/s/x"), 0);
    _cleanup_free_ char *text = NULL;
    size_t len;
    assert_int_equal(read_file("address", &text, &len, 4096), 0);
    assert_string_equal(text, "unix:///run/containerd/s/x");
    assert_int_equal(access(".address", F_OK), -1); /* renamed into place */
    /* A leftover temporary file fails the write as it fails the real shim's (O_EXCL), the old address kept.
     */
    assert_int_equal(write_file_atomic(".address", "", 0, 0644), 0);
    assert_int_equal(group_shim_write_address("address", "unix:///y"), -EEXIST);
    assert_int_equal(group_shim_write_address("sub/address", "unix:///y"), -EINVAL);
    unlink(".address");
    unlink("address");
    assert_int_equal(fchdir(cwd), 0);
    close(cwd);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_address_matches_containerd),
        cmocka_unit_test(test_unclean_input_is_refused),
        cmocka_unit_test(test_listening),
        cmocka_unit_test(test_write_address),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
