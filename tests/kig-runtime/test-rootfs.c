/* Resolving paths inside a container's rootfs, and mount options. */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include "fileutil.h"
#include "macro.h"
#include "rootfs-mounts.h"

#include <errno.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

static char root[64];

static int setup(void **state)
{
    strcpy(root, "/tmp/kig-rootfs-XXXXXX");
    if (!mkdtemp(root))
        return -1;
    char p[256];
    snprintf(p, sizeof(p), "%s/etc", root);
    mkdir(p, 0755);
    snprintf(p, sizeof(p), "%s/usr/lib", root);
    mkdir_p(p, 0755);
    snprintf(p, sizeof(p), "%s/escape-abs", root);
    symlink("/etc", p); /* absolute: the rootfs's /etc, not the host's */
    snprintf(p, sizeof(p), "%s/escape-rel", root);
    symlink("../../../../../tmp", p);
    snprintf(p, sizeof(p), "%s/lib", root);
    symlink("usr/lib", p);
    snprintf(p, sizeof(p), "%s/loop", root);
    symlink("loop", p);
    snprintf(p, sizeof(p), "%s/etc/file", root);
    return write_file_atomic(p, "x", 1, 0644);
}

static int teardown(void **state)
{
    return rm_rf(root);
}

static void expect(const char *path, enum resolve_create create, const char *want_below_root)
{
    _cleanup_free_ char *got = NULL, *want = NULL;
    assert_int_equal(rootfs_resolve(root, path, create, &got), 0);
    assert_true(asprintf(&want, "%s%s", root, want_below_root) > 0);
    assert_string_equal(got, want);
}

static void test_resolve_stays_inside(void **state)
{
    expect("/etc/file", RESOLVE_NO_CREATE, "/etc/file");
    expect("etc//./file", RESOLVE_NO_CREATE, "/etc/file");
    expect("/../../etc", RESOLVE_NO_CREATE, "/etc");
    expect("/escape-abs/file", RESOLVE_NO_CREATE, "/etc/file");
    expect("/lib", RESOLVE_NO_CREATE, "/usr/lib");
    expect("/", RESOLVE_NO_CREATE, "");
    /* ../../../tmp from the rootfs is the rootfs's /tmp, created on demand. */
    expect("/escape-rel/x", RESOLVE_CREATE_DIR, "/tmp/x");
    struct stat st;
    char p[256];
    snprintf(p, sizeof(p), "%s/tmp/x", root);
    assert_int_equal(stat(p, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
}

static void test_resolve_errors_and_creation(void **state)
{
    char *got = NULL;
    assert_int_equal(rootfs_resolve(root, "/missing/x", RESOLVE_NO_CREATE, &got), -ENOENT);
    assert_int_equal(rootfs_resolve(root, "/loop/x", RESOLVE_NO_CREATE, &got), -ELOOP);
    assert_int_equal(rootfs_resolve(root, "/etc/file/x", RESOLVE_CREATE_DIR, &got), -ENOTDIR);
    expect("/dev/null", RESOLVE_CREATE_FILE, "/dev/null");
    struct stat st;
    char p[256];
    snprintf(p, sizeof(p), "%s/dev/null", root);
    assert_int_equal(stat(p, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    snprintf(p, sizeof(p), "%s/dev", root);
    assert_int_equal(stat(p, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
}

static void test_mount_options(void **state)
{
    json_t *o = json_pack("[sssssssss]", "nosuid", "noexec", "ro", "rw", "mode=755", "size=65536k",
                          "rprivate", "rbind", "strictatime");
    unsigned long flags;
    _cleanup_free_ char *data = NULL;
    assert_int_equal(mount_options_parse(o, &flags, &data), 0);
    assert_int_equal(flags, MS_NOSUID | MS_NOEXEC | MS_BIND | MS_REC | MS_STRICTATIME);
    assert_string_equal(data, "mode=755,size=65536k");
    json_decref(o);
    char *none = (char *)"unset";
    assert_int_equal(mount_options_parse(NULL, &flags, &none), 0);
    assert_int_equal(flags, 0);
    assert_null(none);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_resolve_stays_inside, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resolve_errors_and_creation, setup, teardown),
        cmocka_unit_test(test_mount_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
