/* kig-cgroupfs's augmenting files, over a directory standing in for a real hierarchy and a /proc standing
 * in for the kernel's: each file appears only where the real directory lacks it, with computed values. */
/* cmocka.h needs these headers before it. */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include "augment.h"
#include "procinfo.h"

#include "fileutil.h"
#include "macro.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>

static char tmpdir[64];
static char lower[128], proc[128];

static void put(const char *dir, const char *rel, const char *content)
{
    _cleanup_free_ char *path = path_join(dir, rel);
    _cleanup_free_ char *parent = strdup(path);
    *strrchr(parent, '/') = '\0';
    assert_int_equal(mkdir_p(parent, 0755), 0);
    assert_int_equal(write_file_atomic(path, content, strlen(content), 0644), 0);
}

static int setup(void **state)
{
    strcpy(tmpdir, "/tmp/kig-cgroupfs-test-XXXXXX");
    if (!mkdtemp(tmpdir))
        return -1;
    snprintf(lower, sizeof(lower), "%s/memory", tmpdir);
    snprintf(proc, sizeof(proc), "%s/proc", tmpdir);
    /* The hierarchy: root (pid 100), a (pid 200), a/b (pid 300). */
    put(lower, "cgroup.procs", "100\n");
    put(lower, "memory.usage_in_bytes", "1000\n");
    put(lower, "memory.limit_in_bytes", "9223372036854771712\n");
    put(lower, "a/cgroup.procs", "200\n");
    put(lower, "a/memory.usage_in_bytes", "700\n");
    put(lower, "a/memory.limit_in_bytes", "3000\n");
    put(lower, "a/b/cgroup.procs", "300\n");
    put(lower, "a/b/memory.usage_in_bytes", "300\n");
    put(lower, "a/b/memory.limit_in_bytes", "5000\n");
    put(lower, "a/b/memory.stat", "cache 1\n"); /* the kernel has this one: left alone */
    put(proc, "meminfo",
        "MemTotal:       1000 kB\nCached:           12 kB\nAnonPages:        34 kB\n"
        "Inactive(file):    5 kB\nShmem:             0 kB\n");
    put(proc, "200/status", "Name:\tx\nVmRSS:\t    8 kB\n");
    put(proc, "300/status", "Name:\ty\nVmRSS:\t    2 kB\n");
    procinfo_set_root(proc);
    return 0;
}

static int teardown(void **state)
{
    procinfo_set_root(NULL);
    return rm_rf(tmpdir);
}

static struct augment open_augment(enum cgroup_controller c, const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_true(fd >= 0);
    struct augment a;
    augment_init(&a, c, fd);
    return a;
}

static char *read_gap(struct augment *a, const char *dir, const char *name)
{
    int gap = augment_virtual(a, dir, name);
    if (gap < 0)
        fail_msg("%s/%s is not served", dir, name);
    char *out = NULL;
    assert_int_equal(augment_read(a, dir, gap, &out), 0);
    return out;
}

static void test_served_only_where_missing(void **state)
{
    struct augment a = open_augment(CGROUP_MEMORY, lower);
    assert_true(augment_virtual(&a, ".", "memory.stat") >= 0);
    assert_true(augment_virtual(&a, "a", "memory.failcnt") >= 0);
    assert_int_equal(augment_virtual(&a, "a/b", "memory.stat"), -1); /* the kernel's own */
    assert_int_equal(augment_virtual(&a, ".", "memory.usage_in_bytes"), -1);
    assert_int_equal(augment_virtual(&a, ".", "cpuacct.usage_percpu"), -1); /* another controller's */
    assert_int_equal(augment_virtual(&a, "nope", "memory.stat"), -1);
    assert_int_equal(augment_virtual(&a, "a/cgroup.procs", "memory.stat"), -1);
    close(a.lowerfd);
    augment_done(&a);
}

static void test_memory_stat(void **state)
{
    struct augment a = open_augment(CGROUP_MEMORY, lower);
    /* The root is the whole sandbox: /proc/meminfo's figures, for itself and as totals. */
    _cleanup_free_ char *root = read_gap(&a, ".", "memory.stat");
    assert_non_null(strstr(root, "cache 12288\n"));
    assert_non_null(strstr(root, "rss 34816\n"));
    assert_non_null(strstr(root, "inactive_file 5120\n"));
    assert_non_null(strstr(root, "total_inactive_file 5120\n"));
    assert_non_null(strstr(root, "hierarchical_memory_limit 9223372036854771712\n"));
    assert_null(strstr(root, "swap")); /* meminfo does not say: not invented */
    /* Elsewhere: members' resident memory, the directory's own and its subtree's. */
    _cleanup_free_ char *sub = read_gap(&a, "a", "memory.stat");
    assert_string_equal(sub, "rss 8192\nhierarchical_memory_limit 3000\ntotal_rss 10240\n");
    close(a.lowerfd);
    augment_done(&a);
}

static void test_max_usage(void **state)
{
    struct augment a = open_augment(CGROUP_MEMORY, lower);
    int gap = augment_virtual(&a, "a", "memory.max_usage_in_bytes");
    assert_true(gap >= 0);
    _cleanup_free_ char *first = read_gap(&a, "a", "memory.max_usage_in_bytes");
    assert_string_equal(first, "700\n");
    put(lower, "a/memory.usage_in_bytes", "400\n");
    _cleanup_free_ char *kept = read_gap(&a, "a", "memory.max_usage_in_bytes");
    assert_string_equal(kept, "700\n");
    assert_int_equal(augment_write(&a, "a", gap, "5", 1), -EINVAL);
    assert_int_equal(augment_write(&a, "a", gap, "0\n", 2), 0);
    _cleanup_free_ char *reset = read_gap(&a, "a", "memory.max_usage_in_bytes");
    assert_string_equal(reset, "400\n");

    _cleanup_free_ char *failcnt = read_gap(&a, "a", "memory.failcnt");
    assert_string_equal(failcnt, "0\n");
    _cleanup_free_ char *hier = read_gap(&a, "a", "memory.use_hierarchy");
    assert_string_equal(hier, "1\n");
    int uh = augment_virtual(&a, "a", "memory.use_hierarchy");
    assert_int_equal(augment_write(&a, "a", uh, "1\n", 2), 0);
    assert_int_equal(augment_write(&a, "a", uh, "0\n", 2), -EINVAL);
    int st = augment_virtual(&a, "a", "memory.stat");
    assert_int_equal(augment_write(&a, "a", st, "1", 1), -EACCES);
    close(a.lowerfd);
    augment_done(&a);
}

static void test_cpuacct_and_pids(void **state)
{
    char cpuacct[160], pids[160];
    snprintf(cpuacct, sizeof(cpuacct), "%s/cpuacct", tmpdir);
    snprintf(pids, sizeof(pids), "%s/pids", tmpdir);
    put(cpuacct, "cpuacct.usage", "5770000000\n");
    put(pids, "pids.current", "12\n");
    put(pids, "k8s.io/pids.max", "max\n");
    struct augment c = open_augment(CGROUP_CPUACCT, cpuacct);
    _cleanup_free_ char *percpu = read_gap(&c, ".", "cpuacct.usage_percpu");
    assert_string_equal(percpu, "\n"); /* no per-CPU accounting: no numbers */
    struct augment p = open_augment(CGROUP_PIDS, pids);
    _cleanup_free_ char *max = read_gap(&p, ".", "pids.max");
    assert_string_equal(max, "max\n");
    assert_int_equal(augment_virtual(&p, "k8s.io", "pids.max"), -1);
    _cleanup_free_ char *real = NULL;
    assert_int_equal(augment_read_real(&p, "k8s.io", "pids.max", &real), 0);
    assert_string_equal(real, "max\n");
    close(c.lowerfd);
    close(p.lowerfd);
    augment_done(&c);
    augment_done(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_served_only_where_missing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_memory_stat, setup, teardown),
        cmocka_unit_test_setup_teardown(test_max_usage, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cpuacct_and_pids, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
