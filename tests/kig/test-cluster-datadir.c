#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "datadir.h"
#include "fileutil.h"
#include "macro.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char tmpdir[64];

static int setup(void **state)
{
    strcpy(tmpdir, "/tmp/kig-test-datadir-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    return rm_rf(tmpdir);
}

static void test_resolution(void **state)
{
    _cleanup_(data_dir_done) struct data_dir a = {0}, b = {0}, c = {0};
    unsetenv(KIG_DATA_DIR_ENV);
    assert_int_equal(data_dir_init(&a, NULL), 0);
    assert_string_equal(a.root, KIG_DEFAULT_DATA_DIR);
    setenv(KIG_DATA_DIR_ENV, "/srv/kig/", 1);
    assert_int_equal(data_dir_init(&b, NULL), 0);
    assert_string_equal(b.root, "/srv/kig");
    assert_string_equal(b.state_json, "/srv/kig/run/state.json");
    assert_int_equal(data_dir_init(&c, "/flag/wins"), 0);
    assert_string_equal(c.root, "/flag/wins");
    _cleanup_free_ char *log = data_dir_log(&c, "etcd");
    _cleanup_free_ char *kc = data_dir_kubeconfig(&c, "admin");
    assert_string_equal(log, "/flag/wins/logs/etcd.log");
    assert_string_equal(kc, "/flag/wins/kubeconfig/admin.kubeconfig");
    unsetenv(KIG_DATA_DIR_ENV);
}

static void test_relative_becomes_absolute(void **state)
{
    _cleanup_(data_dir_done) struct data_dir d = {0};
    char cwd[4096];
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    assert_int_equal(data_dir_init(&d, "rel/dir"), 0);
    assert_int_equal(d.root[0], '/');
    assert_non_null(strstr(d.root, "/rel/dir"));
}

static void test_create_and_cluster_data(void **state)
{
    _cleanup_free_ char *root = path_join(tmpdir, "c");
    _cleanup_(data_dir_done) struct data_dir d = {0};
    assert_int_equal(data_dir_init(&d, root), 0);
    assert_int_equal(data_dir_create(&d), 0);
    assert_true(is_dir(d.run) && is_dir(d.logs) && is_dir(d.kubeconfigs));
    assert_false(data_dir_has_cluster_data(&d));
    assert_int_equal(mkdir_p(d.etcd, 0700), 0);
    assert_false(data_dir_has_cluster_data(&d)); /* an empty etcd dir holds nothing */
    _cleanup_free_ char *member = path_join(d.etcd, "member");
    assert_int_equal(mkdir_p(member, 0700), 0);
    assert_true(data_dir_has_cluster_data(&d));
}

static void test_create_fails_on_file(void **state)
{
    _cleanup_free_ char *root = path_join(tmpdir, "file");
    assert_int_equal(write_file_atomic(root, "x", 1, 0644), 0);
    _cleanup_(data_dir_done) struct data_dir d = {0};
    assert_int_equal(data_dir_init(&d, root), 0);
    assert_int_equal(data_dir_create(&d), -ENOTDIR);
}

static void test_purge_only_kig_dirs(void **state)
{
    _cleanup_free_ char *root = path_join(tmpdir, "p");
    _cleanup_(data_dir_done) struct data_dir d = {0};
    assert_int_equal(data_dir_init(&d, root), 0);
    assert_int_equal(data_dir_create(&d), 0);
    _cleanup_free_ char *foreign = path_join(root, "precious.txt");
    assert_int_equal(write_file_atomic(foreign, "x", 1, 0644), 0);
    assert_int_equal(data_dir_purge(&d), -EPERM);
    assert_true(path_exists(foreign));
    assert_int_equal(unlink(foreign), 0);
    _cleanup_free_ char *tmp = path_join(root, "cluster.json.tmp.123");
    assert_int_equal(write_file_atomic(tmp, "x", 1, 0644), 0);
    assert_int_equal(data_dir_purge(&d), 0);
    assert_false(path_exists(root));
    assert_int_equal(data_dir_purge(&d), 0); /* gone already: fine */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resolution),
        cmocka_unit_test(test_relative_becomes_absolute),
        cmocka_unit_test(test_create_and_cluster_data),
        cmocka_unit_test(test_create_fails_on_file),
        cmocka_unit_test(test_purge_only_kig_dirs),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
