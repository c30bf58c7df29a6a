/* kig-cgroupfs's emulated hierarchies, without FUSE: directories, membership with real processes, rmdir,
 * freezing with real signals, and the validated value files. */
/* cmocka.h needs these headers before it. */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include "hierarchy.h"
#include "procinfo.h"

#include "macro.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int file_index(struct hierarchy *h, const char *path, struct cg_node **n)
{
    int file;
    assert_int_equal(hier_lookup(h, path, n, &file), 0);
    assert_true(file >= 0);
    return file;
}

static char *read_path(struct hierarchy *h, const char *path)
{
    struct cg_node *n;
    int f = file_index(h, path, &n);
    char *out = NULL;
    assert_int_equal(hier_read(h, n, f, &out), 0);
    return out;
}

static int write_path(struct hierarchy *h, const char *path, const char *data)
{
    struct cg_node *n;
    int f = file_index(h, path, &n);
    return hier_write(h, n, f, data, strlen(data), getpid());
}

static bool lists_pid(const char *list, pid_t pid)
{
    char needle[32];
    snprintf(needle, sizeof(needle), "%d\n", (int)pid);
    for (const char *p = list; (p = strstr(p, needle)); p++)
        if (p == list || p[-1] == '\n')
            return true;
    return false;
}

/* A child that waits: it reads one byte from `go`, then forks a grandchild (which sleeps) and writes its
 * pid to `report`, then sleeps. */
struct kid {
    pid_t pid;
    int go, report;
};

static struct kid spawn_kid(void)
{
    int go[2], report[2];
    assert_int_equal(pipe(go), 0);
    assert_int_equal(pipe(report), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char c;
        close(go[1]);
        close(report[0]);
        if (read(go[0], &c, 1) != 1)
            _exit(1);
        pid_t g = fork();
        if (g == 0) {
            pause();
            _exit(0);
        }
        if (write(report[1], &g, sizeof(g)) != (ssize_t)sizeof(g))
            _exit(1);
        pause();
        _exit(0);
    }
    close(go[0]);
    close(report[1]);
    return (struct kid){.pid = pid, .go = go[1], .report = report[0]};
}

static pid_t kid_fork_grandchild(struct kid *k)
{
    pid_t g = 0;
    assert_int_equal(write(k->go, "x", 1), 1);
    assert_int_equal(read(k->report, &g, sizeof(g)), (ssize_t)sizeof(g));
    return g;
}

static void kill_kid(struct kid *k, pid_t grandchild)
{
    if (grandchild > 0)
        kill(grandchild, SIGKILL);
    kill(k->pid, SIGKILL);
    waitpid(k->pid, NULL, 0);
    close(k->go);
    close(k->report);
}

static void test_files_per_directory(void **state)
{
    struct hierarchy *h = hier_new(CGROUP_FREEZER, NULL);
    assert_non_null(h);
    struct cg_node *n;
    int file;
    assert_int_equal(hier_lookup(h, "/release_agent", &n, &file), 0);
    assert_int_equal(hier_lookup(h, "/freezer.state", &n, &file), -ENOENT); /* not on the root */
    assert_int_equal(hier_mkdir(h, "/a"), 0);
    /* Complete when mkdir returns. */
    assert_int_equal(hier_lookup(h, "/a/freezer.state", &n, &file), 0);
    assert_int_equal(hier_lookup(h, "/a/cgroup.procs", &n, &file), 0);
    assert_int_equal(hier_lookup(h, "/a/release_agent", &n, &file), -ENOENT);
    assert_int_equal(hier_mkdir(h, "/a"), -EEXIST);
    assert_int_equal(hier_mkdir(h, "/a/tasks"), -EEXIST);
    assert_int_equal(hier_mkdir(h, "/nope/b"), -ENOENT);
    assert_int_equal(hier_mkdir(h, "/a/tasks/b"), -ENOENT);
    assert_int_equal(hier_mkdir(h, "/a/b"), 0);
    assert_int_equal(hier_rmdir(h, "/a"), -EBUSY); /* has a subdirectory */
    assert_int_equal(hier_rename(h, "/a/b", "/a/c"), 0);
    assert_int_equal(hier_lookup(h, "/a/c/tasks", &n, &file), 0);
    assert_int_equal(hier_rename(h, "/a/c", "/c"), -EIO);
    assert_int_equal(hier_rmdir(h, "/a/c"), 0);
    assert_int_equal(hier_rmdir(h, "/a"), 0);
    assert_int_equal(hier_rmdir(h, "/"), -EBUSY);
    _cleanup_free_ char *sane = read_path(h, "/cgroup.sane_behavior");
    assert_string_equal(sane, "0\n");
    hier_free(h);
}

static void test_membership(void **state)
{
    struct hierarchy *h = hier_new(CGROUP_DEVICES, NULL);
    assert_non_null(h);
    assert_int_equal(hier_mkdir(h, "/a"), 0);
    struct kid k = spawn_kid();
    char pid[32];
    snprintf(pid, sizeof(pid), "%d\n", (int)k.pid);

    _cleanup_free_ char *root_before = read_path(h, "/cgroup.procs");
    assert_true(lists_pid(root_before, k.pid));
    assert_true(lists_pid(root_before, getpid()));
    assert_int_equal(write_path(h, "/a/cgroup.procs", pid), 0);
    _cleanup_free_ char *in_a = read_path(h, "/a/cgroup.procs");
    _cleanup_free_ char *in_root = read_path(h, "/cgroup.procs");
    assert_true(lists_pid(in_a, k.pid));
    assert_false(lists_pid(in_root, k.pid));
    assert_false(lists_pid(in_a, getpid()));

    /* A process forked after the move is born in /a. */
    pid_t g = kid_fork_grandchild(&k);
    _cleanup_free_ char *after_fork = read_path(h, "/a/cgroup.procs");
    assert_true(lists_pid(after_fork, g));
    _cleanup_free_ char *tasks = read_path(h, "/a/tasks");
    assert_true(lists_pid(tasks, k.pid));

    /* A busy directory stays. Moving the parent out leaves the grandchild where it is. */
    assert_int_equal(hier_rmdir(h, "/a"), -EBUSY);
    assert_int_equal(write_path(h, "/cgroup.procs", pid), 0);
    _cleanup_free_ char *left = read_path(h, "/a/cgroup.procs");
    assert_false(lists_pid(left, k.pid));
    assert_true(lists_pid(left, g));
    /* Once it has exited (a zombie its parent does not reap), it is no member any more. */
    kill(g, SIGKILL);
    struct proc_stat st;
    for (int i = 0; i < 300 && proc_read_stat(g, &st) == 0 && st.state != 'Z'; i++)
        usleep(10000);
    assert_int_equal(hier_rmdir(h, "/a"), 0);

    /* "0" is the writer; nonsense and missing processes are refused. */
    assert_int_equal(hier_mkdir(h, "/b"), 0);
    assert_int_equal(write_path(h, "/b/cgroup.procs", "0"), 0);
    _cleanup_free_ char *self = read_path(h, "/b/cgroup.procs");
    assert_true(lists_pid(self, getpid()));
    assert_int_equal(write_path(h, "/b/cgroup.procs", "abc"), -EINVAL);
    assert_int_equal(write_path(h, "/b/cgroup.procs", "2147483000"), -ESRCH);
    assert_int_equal(write_path(h, "/cgroup.procs", "0\n"), 0);
    assert_int_equal(hier_rmdir(h, "/b"), 0);
    kill_kid(&k, 0);
    hier_free(h);
}

static char proc_state(pid_t pid)
{
    struct proc_stat st;
    return proc_read_stat(pid, &st) == 0 ? st.state : '?';
}

static void test_freezer(void **state)
{
    struct hierarchy *h = hier_new(CGROUP_FREEZER, NULL);
    assert_non_null(h);
    assert_int_equal(hier_mkdir(h, "/f"), 0);
    assert_int_equal(hier_mkdir(h, "/f/sub"), 0);
    struct kid k = spawn_kid();
    char pid[32];
    snprintf(pid, sizeof(pid), "%d", (int)k.pid);
    assert_int_equal(write_path(h, "/f/sub/cgroup.procs", pid), 0);

    _cleanup_free_ char *thawed = read_path(h, "/f/freezer.state");
    assert_string_equal(thawed, "THAWED\n");
    assert_int_equal(write_path(h, "/f/freezer.state", "FROZEN\n"), 0);
    char *s = NULL;
    for (int i = 0; i < 300; i++) {
        free(s);
        s = read_path(h, "/f/freezer.state");
        if (strcmp(s, "FROZEN\n") == 0)
            break;
        assert_string_equal(s, "FREEZING\n");
        usleep(10000);
    }
    assert_string_equal(s, "FROZEN\n");
    free(s);
    assert_int_equal(proc_state(k.pid), 'T');
    _cleanup_free_ char *self = read_path(h, "/f/freezer.self_freezing");
    _cleanup_free_ char *parent = read_path(h, "/f/sub/freezer.parent_freezing");
    _cleanup_free_ char *sub = read_path(h, "/f/sub/freezer.state");
    assert_string_equal(self, "1\n");
    assert_string_equal(parent, "1\n");
    assert_string_equal(sub, "FROZEN\n");

    assert_int_equal(write_path(h, "/f/freezer.state", "FREEZING"), -EINVAL);
    assert_int_equal(write_path(h, "/f/freezer.state", "THAWED"), 0);
    for (int i = 0; i < 300 && proc_state(k.pid) == 'T'; i++)
        usleep(10000);
    assert_int_not_equal(proc_state(k.pid), 'T');
    _cleanup_free_ char *again = read_path(h, "/f/freezer.state");
    assert_string_equal(again, "THAWED\n");
    kill_kid(&k, 0);
    hier_free(h);
}

static void test_value_files(void **state)
{
    struct hierarchy *h = hier_new(CGROUP_BLKIO, NULL);
    assert_non_null(h);
    assert_int_equal(hier_mkdir(h, "/x"), 0);
    assert_int_equal(write_path(h, "/x/blkio.weight", "5"), -ERANGE);
    assert_int_equal(write_path(h, "/x/blkio.weight", "300\n"), 0);
    _cleanup_free_ char *w = read_path(h, "/x/blkio.weight");
    assert_string_equal(w, "300\n");
    assert_int_equal(write_path(h, "/x/blkio.throttle.read_bps_device", "8:16 1048576"), 0);
    assert_int_equal(write_path(h, "/x/blkio.throttle.read_bps_device", "8:0 2048"), 0);
    assert_int_equal(write_path(h, "/x/blkio.throttle.read_bps_device", "8:16 4096\n"), 0);
    _cleanup_free_ char *bps = read_path(h, "/x/blkio.throttle.read_bps_device");
    assert_string_equal(bps, "8:0 2048\n8:16 4096\n");
    assert_int_equal(write_path(h, "/x/blkio.throttle.read_bps_device", "8:0 0"), 0);
    _cleanup_free_ char *bps2 = read_path(h, "/x/blkio.throttle.read_bps_device");
    assert_string_equal(bps2, "8:16 4096\n");
    assert_int_equal(write_path(h, "/x/blkio.throttle.read_bps_device", "sda 5"), -EINVAL);
    assert_int_equal(write_path(h, "/x/blkio.reset_stats", "1"), 0);
    struct cg_node *n;
    int f = file_index(h, "/x/blkio.reset_stats", &n);
    char *out = NULL;
    assert_int_equal(hier_read(h, n, f, &out), -EACCES);
    assert_int_equal(write_path(h, "/x/notify_on_release", "2"), -EINVAL);
    assert_int_equal(write_path(h, "/notify_on_release", "1"), 0);
    assert_int_equal(hier_mkdir(h, "/y"), 0);
    _cleanup_free_ char *inherited = read_path(h, "/y/notify_on_release");
    assert_string_equal(inherited, "1\n");
    assert_int_equal(write_path(h, "/cgroup.sane_behavior", "1"), -EACCES);
    hier_free(h);

    struct hierarchy *cls = hier_new(CGROUP_NET_CLS, NULL);
    assert_int_equal(write_path(cls, "/net_cls.classid", "0x100001"), 0);
    _cleanup_free_ char *classid = read_path(cls, "/net_cls.classid");
    assert_string_equal(classid, "1048577\n");
    assert_int_equal(write_path(cls, "/net_cls.classid", "4294967296"), -EINVAL);
    hier_free(cls);

    static const char *const sizes[] = {"2MB", NULL};
    struct hierarchy *huge = hier_new(CGROUP_HUGETLB, sizes);
    _cleanup_free_ char *limit = read_path(huge, "/hugetlb.2MB.limit_in_bytes");
    assert_string_equal(limit, "9223372036854771712\n");
    assert_int_equal(write_path(huge, "/hugetlb.2MB.limit_in_bytes", "1048576"), 0);
    _cleanup_free_ char *limit2 = read_path(huge, "/hugetlb.2MB.limit_in_bytes");
    assert_string_equal(limit2, "1048576\n");
    assert_int_equal(write_path(huge, "/hugetlb.2MB.failcnt", "0"), 0);
    assert_int_equal(write_path(huge, "/hugetlb.2MB.failcnt", "3"), -EINVAL);
    hier_free(huge);
}

static void test_devices_files(void **state)
{
    struct hierarchy *h = hier_new(CGROUP_DEVICES, NULL);
    assert_int_equal(hier_mkdir(h, "/c"), 0);
    assert_int_equal(write_path(h, "/c/devices.deny", "a"), 0);
    assert_int_equal(write_path(h, "/c/devices.allow", "c 1:3 rwm"), 0);
    _cleanup_free_ char *list = read_path(h, "/c/devices.list");
    assert_string_equal(list, "c 1:3 rwm\n");
    assert_int_equal(hier_mkdir(h, "/c/d"), 0);
    _cleanup_free_ char *inherited = read_path(h, "/c/d/devices.list");
    assert_string_equal(inherited, "c 1:3 rwm\n");
    assert_int_equal(write_path(h, "/c/devices.allow", "a"), -EINVAL); /* has a child */
    assert_int_equal(write_path(h, "/c/devices.list", "a"), -EACCES);
    hier_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_files_per_directory),
        cmocka_unit_test(test_membership),
        cmocka_unit_test(test_freezer),
        cmocka_unit_test(test_value_files),
        cmocka_unit_test(test_devices_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
