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
#include <sched.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
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

static bool tmpfs_at(const char *dir, const char *sub)
{
    char p[256];
    snprintf(p, sizeof(p), "%s/%s", dir, sub);
    return mkdir_p(p, 0755) == 0 && mount("kig-test", p, "tmpfs", 0, NULL) == 0;
}

static int mounts_below(const char *dir)
{
    _cleanup_free_ char *text = NULL;
    if (read_file("/proc/self/mountinfo", &text, NULL, 0) < 0)
        return -1;
    int n = 0;
    for (char *p = text; (p = strstr(p, dir)); p++)
        if (p[strlen(dir)] == '/')
            n++;
    return n;
}

/* In a child with its own mount namespace (needs root where mount namespaces work; skipped elsewhere):
 * nested mounts, two stacked on one path, and one hidden by a later mount on its parent all go. */
static void test_unmount_below(void **state)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char dir[] = "/tmp/kig-unmount-XXXXXX";
        if (geteuid() != 0 || unshare(CLONE_NEWNS) < 0 ||
            mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 || !mkdtemp(dir))
            _exit(77);
        if (!tmpfs_at(dir, "a") || !tmpfs_at(dir, "a/b") || !tmpfs_at(dir, "c") || !tmpfs_at(dir, "c") ||
            !tmpfs_at(dir, "h/x") || !tmpfs_at(dir, "h"))
            _exit(77); /* a sandbox without private mount namespaces: not this test's subject */
        int before = mounts_below(dir), removed = unmount_below(dir), after = mounts_below(dir);
        rmdir(dir);
        _exit(before == 6 && removed == 6 && after == 0 ? 0 : 1);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    if (WEXITSTATUS(status) == 77)
        skip();
    assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_resolve_stays_inside, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resolve_errors_and_creation, setup, teardown),
        cmocka_unit_test(test_mount_options),
        cmocka_unit_test(test_unmount_below),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
