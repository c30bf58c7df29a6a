/* cmocka.h needs these headers before it. */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include "fileutil.h"
#include "macro.h"

#include <string.h>
#include <sys/stat.h>

static char tmpdir[64];

static int setup(void **state)
{
    strcpy(tmpdir, "/tmp/kig-test-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    return rm_rf(tmpdir);
}

static void test_path_join(void **state)
{
    _cleanup_free_ char *a = path_join("/a/", "/b");
    _cleanup_free_ char *b = path_join("/", "x");
    _cleanup_free_ char *c = path_join("rel", "y/z");
    assert_string_equal(a, "/a/b");
    assert_string_equal(b, "/x");
    assert_string_equal(c, "rel/y/z");
}

static void test_write_read_roundtrip(void **state)
{
    _cleanup_free_ char *p = path_join(tmpdir, "f");
    assert_int_equal(write_file_atomic(p, "hello\nworld\n", 12, 0600), 0);
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    _cleanup_free_ char *buf = NULL;
    size_t len = 0;
    assert_int_equal(read_file(p, &buf, &len, 0), 0);
    assert_int_equal(len, 12);
    assert_string_equal(buf, "hello\nworld\n");
    _cleanup_free_ char *line = NULL;
    assert_int_equal(read_line(p, &line), 0);
    assert_string_equal(line, "hello");
}

static void test_read_file_limit_and_missing(void **state)
{
    _cleanup_free_ char *p = path_join(tmpdir, "big");
    char data[10000];
    memset(data, 'x', sizeof(data));
    assert_int_equal(write_file_atomic(p, data, sizeof(data), 0644), 0);
    char *buf = NULL;
    assert_int_equal(read_file(p, &buf, NULL, 5000), -EFBIG);
    assert_null(buf);
    _cleanup_free_ char *missing = path_join(tmpdir, "nope");
    assert_int_equal(read_file(missing, &buf, NULL, 0), -ENOENT);
}

static void test_mkdir_p_and_rm_rf(void **state)
{
    _cleanup_free_ char *deep = path_join(tmpdir, "a/b/c/d");
    assert_int_equal(mkdir_p(deep, 0755), 0);
    assert_true(is_dir(deep));
    assert_int_equal(mkdir_p(deep, 0755), 0); /* idempotent */
    _cleanup_free_ char *f = path_join(tmpdir, "a/b/file");
    assert_int_equal(write_file_atomic(f, "x", 1, 0644), 0);
    assert_int_equal(mkdir_p(f, 0755), -ENOTDIR);
    _cleanup_free_ char *a = path_join(tmpdir, "a");
    assert_int_equal(rm_rf(a), 0);
    assert_false(path_exists(a));
    assert_int_equal(rm_rf(a), 0); /* missing is fine */
}

static void test_find_executable(void **state)
{
    _cleanup_free_ char *sh = find_executable("sh");
    assert_non_null(sh);
    assert_true(sh[0] == '/');
    assert_null(find_executable("kig-definitely-not-a-program"));
    _cleanup_free_ char *abs = find_executable("/bin/sh");
    assert_string_equal(abs, "/bin/sh");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_path_join),
        cmocka_unit_test(test_write_read_roundtrip),
        cmocka_unit_test(test_read_file_limit_and_missing),
        cmocka_unit_test(test_mkdir_p_and_rm_rf),
        cmocka_unit_test(test_find_executable),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
