/* cmocka.h needs these headers before it. */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include "runtime-exec.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The copy is what crun's and runc's is_self_cloned() accept: exactly these seals, same bytes, and no
 * write can change it. */
static void test_sealed_copy(void **state)
{
    (void)state;
    char path[] = "/tmp/kig-test-sealed-XXXXXX";
    int src = mkstemp(path);
    assert_true(src >= 0);
    /* More than one read's worth, not a multiple of it. */
    size_t len = 64 * 1024 * 3 + 17;
    char *data = malloc(len);
    assert_non_null(data);
    for (size_t i = 0; i < len; i++)
        data[i] = (char)(i * 7);
    assert_int_equal(write(src, data, len), (ssize_t)len);
    close(src);

    int fd = oci_runtime_sealed_copy(path);
    unlink(path);
    assert_true(fd >= 0);
    assert_int_equal(fcntl(fd, F_GET_SEALS), F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE);
    assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
    char *back = malloc(len + 1);
    assert_non_null(back);
    assert_int_equal(pread(fd, back, len + 1, 0), (ssize_t)len);
    assert_memory_equal(back, data, len);
    assert_int_equal(pwrite(fd, "x", 1, 0), -1);
    assert_int_equal(errno, EPERM);
    close(fd);
    free(back);
    free(data);
}

static void test_sealed_copy_of_missing_file(void **state)
{
    (void)state;
    assert_int_equal(oci_runtime_sealed_copy("/nonexistent/kig-runtime-test"), -ENOENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sealed_copy),
        cmocka_unit_test(test_sealed_copy_of_missing_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
