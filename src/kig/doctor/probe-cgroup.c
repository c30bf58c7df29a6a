/* cgroups: which v1 controllers mount, cgroup2, statfs on cgroup files (runc checks every file it opens with
 * fstatfs), and the root-level files cAdvisor reads (it drops the whole root cgroup if one is missing). */
#include "probe.h"

#include "fileutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#define CGROUP_SUPER_MAGIC  0x27e0ebUL
#define CGROUP2_SUPER_MAGIC 0x63677270UL

/* Controllers that the kernel keeps in one hierarchy must be mounted together ("cpu,cpuacct" on most
 * systemd hosts): asking for one alone gives EBUSY. /proc/cgroups says which share a hierarchy. */
static void comounted_options(const char *controller, char *buf, size_t size)
{
    snprintf(buf, size, "%s", controller);
    _cleanup_fclose_ FILE *f = fopen("/proc/cgroups", "re");
    if (!f)
        return;
    char line[256], name[64];
    int hier, num, enabled, wanted = 0;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "%63s %d %d %d", name, &hier, &num, &enabled) == 4 && strcmp(name, controller) == 0)
            wanted = hier;
    if (wanted <= 0)
        return;
    rewind(f);
    size_t len = 0;
    buf[0] = '\0';
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "%63s %d %d %d", name, &hier, &num, &enabled) == 4 && hier == wanted) {
            int n = snprintf(buf + len, size - len, "%s%s", len ? "," : "", name);
            if (n < 0 || (size_t)n >= size - len)
                break;
            len += (size_t)n;
        }
}

/* Mounts a hierarchy at dir. Returns 0 or -errno. */
static int mount_hierarchy(const char *fstype, const char *options, const char *dir)
{
    if (mount("cgroup", dir, fstype, MS_NOSUID | MS_NODEV | MS_NOEXEC, options) < 0)
        return negative_errno();
    return 0;
}

static void unmount_hierarchy(const char *dir)
{
    if (umount2(dir, 0) < 0)
        umount2(dir, MNT_DETACH);
}

static unsigned long magic_of(const char *path)
{
    struct statfs s;
    return statfs(path, &s) == 0 ? (unsigned long)s.f_type : 0;
}

static void probe_v1_controller(const struct probe *p, const struct probe_context *ctx,
                                struct probe_result *res)
{
    char dir[512], opts[256];
    int r = probe_scratch_dir(ctx, p->id, dir, sizeof(dir));
    if (r < 0) {
        probe_set_errno(res, DOCTOR_ERROR, r, "scratch directory");
        return;
    }
    comounted_options(p->arg, opts, sizeof(opts));
    r = mount_hierarchy("cgroup", opts, dir);
    if (r < 0) {
        const char *hint = r == -EBUSY ? " (in use by another hierarchy, or by cgroup2)" : "";
        probe_set_errno(res, probe_status_for_errno(r), r, "mount -t cgroup -o %s%s", opts, hint);
        return;
    }
    unsigned long magic = magic_of(dir);
    unmount_hierarchy(dir);
    bool alone = strcmp(opts, p->arg) == 0;
    probe_set(res, magic == CGROUP_SUPER_MAGIC ? DOCTOR_PRESENT : DOCTOR_PARTIAL, "mounted%s%s, magic 0x%lx",
              alone ? "" : " with ", alone ? "" : opts, magic);
}

static void probe_v2(const struct probe *p, const struct probe_context *ctx, struct probe_result *res)
{
    char dir[512];
    int r = probe_scratch_dir(ctx, p->id, dir, sizeof(dir));
    if (r < 0) {
        probe_set_errno(res, DOCTOR_ERROR, r, "scratch directory");
        return;
    }
    r = mount_hierarchy("cgroup2", NULL, dir);
    if (r < 0) {
        probe_set_errno(res, probe_status_for_errno(r), r, "mount -t cgroup2");
        return;
    }
    unsigned long magic = magic_of(dir);
    unmount_hierarchy(dir);
    probe_set(res, magic == CGROUP2_SUPER_MAGIC ? DOCTOR_PRESENT : DOCTOR_PARTIAL, "mounted, magic 0x%lx",
              magic);
}

/* Mounts the first hierarchy that works, for probes that need any cgroup filesystem. */
static int mount_any_hierarchy(const char *dir, const char **ret_name)
{
    static const char *const controllers[] = {"memory", "cpu", "pids", "cpuset"};
    char opts[256];
    int r = -ENODEV;
    for (size_t i = 0; i < ARRAY_SIZE(controllers); i++) {
        comounted_options(controllers[i], opts, sizeof(opts));
        r = mount_hierarchy("cgroup", opts, dir);
        if (r == 0) {
            *ret_name = controllers[i];
            return 0;
        }
    }
    if (mount_hierarchy("cgroup2", NULL, dir) == 0) {
        *ret_name = "cgroup2";
        return 0;
    }
    return r;
}

static void describe_statfs(char *buf, size_t size, int r, unsigned long magic)
{
    if (r < 0)
        snprintf(buf, size, "%s", errno_name(r));
    else
        snprintf(buf, size, "0x%lx", magic);
}

static void probe_statfs_file(const struct probe *p, const struct probe_context *ctx,
                              struct probe_result *res)
{
    char dir[512], file[600];
    int r = probe_scratch_dir(ctx, p->id, dir, sizeof(dir));
    if (r < 0) {
        probe_set_errno(res, DOCTOR_ERROR, r, "scratch directory");
        return;
    }
    const char *name;
    r = mount_any_hierarchy(dir, &name);
    if (r < 0) {
        probe_set_errno(res, DOCTOR_ERROR, r, "no cgroup hierarchy mounts");
        return;
    }
    snprintf(file, sizeof(file), "%s/cgroup.procs", dir);
    struct statfs s;
    int dir_r = statfs(dir, &s) < 0 ? negative_errno() : 0;
    unsigned long dir_magic = dir_r == 0 ? (unsigned long)s.f_type : 0;
    int file_r = statfs(file, &s) < 0 ? negative_errno() : 0;
    unsigned long file_magic = file_r == 0 ? (unsigned long)s.f_type : 0;
    /* runc opens the file and checks with fstatfs */
    int fd = open(file, O_RDONLY | O_CLOEXEC);
    int fd_r = fd < 0 ? negative_errno() : (fstatfs(fd, &s) < 0 ? negative_errno() : 0);
    unsigned long fd_magic = fd_r == 0 ? (unsigned long)s.f_type : 0;
    if (fd >= 0)
        close(fd);
    unmount_hierarchy(dir);

    char a[32], b[32], c[32];
    describe_statfs(a, sizeof(a), dir_r, dir_magic);
    describe_statfs(b, sizeof(b), file_r, file_magic);
    describe_statfs(c, sizeof(c), fd_r, fd_magic);
    bool ok = dir_r == 0 && file_r == 0 && fd_r == 0 && file_magic == dir_magic && fd_magic == dir_magic;
    probe_set(res, ok ? DOCTOR_PRESENT : DOCTOR_MISSING,
              "%s: statfs(dir) %s, statfs(file) %s, fstatfs(file) %s", name, a, b, c);
}

/* For pids.max: cAdvisor leaves the pids controller out of a cgroup that has no pids.current (the Linux
 * root), but once pids.current is there it also reads pids.max (gVisor's root has only the former). */
#define ROOT_FILE_IF_PIDS_CURRENT 1u

static bool file_exists_in(const char *dir, const char *name)
{
    char path[700];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    return access(path, F_OK) == 0;
}

/* p->arg is "controller/file": whether the file exists at the root of a fresh mount of that controller. */
static void probe_root_file(const struct probe *p, const struct probe_context *ctx, struct probe_result *res)
{
    char dir[512], controller[64], opts[256], path[700];
    const char *slash = strchr(p->arg, '/');
    const char *file = slash + 1;
    snprintf(controller, sizeof(controller), "%.*s", (int)(slash - p->arg), p->arg);
    int r = probe_scratch_dir(ctx, p->id, dir, sizeof(dir));
    if (r < 0) {
        probe_set_errno(res, DOCTOR_ERROR, r, "scratch directory");
        return;
    }
    comounted_options(controller, opts, sizeof(opts));
    r = mount_hierarchy("cgroup", opts, dir);
    if (r < 0) {
        probe_set_errno(res, probe_status_for_errno(r), r, "%s hierarchy does not mount", controller);
        return;
    }
    snprintf(path, sizeof(path), "%s/%s", dir, file);
    _cleanup_free_ char *data = NULL;
    r = read_file(path, &data, NULL, 1u << 20);
    bool has_current = file_exists_in(dir, "pids.current");
    unmount_hierarchy(dir);
    if (r == -ENOENT && (p->flags & ROOT_FILE_IF_PIDS_CURRENT) && !has_current) {
        probe_set(res, DOCTOR_PRESENT, "neither pids.current nor %s at the root: cAdvisor skips pids there",
                  file);
        return;
    }
    if (r < 0) {
        probe_set_errno(res, r == -ENOENT ? DOCTOR_MISSING : DOCTOR_PARTIAL, r, "%s at the root", file);
        return;
    }
    data[strcspn(data, "\n")] = '\0';
    probe_set(res, DOCTOR_PRESENT, "%s at the root: %.60s", file, data);
}

#define V1(name_, who_, fallback_)                                                                           \
    {                                                                                                        \
        .id = "cgroup.v1." name_, .category = "cgroup", .summary = who_, .fallback = fallback_,              \
        .isolation = PROBE_CHILD_MOUNTNS, .run = probe_v1_controller, .arg = name_                           \
    }

#define EMULATED "emulated hierarchy: stand-in directories, no enforcement"
#define SKIPPED  "left unmounted: kubelet and the runtimes skip it"

static const struct probe probes[] = {
    V1("cpu", "kubelet (required), runtimes (CPU limits)", EMULATED),
    V1("cpuacct", "kubelet (required), cAdvisor (CPU usage)", EMULATED),
    V1("cpuset", "kubelet (required), runtimes", EMULATED),
    V1("memory", "kubelet (required), runtimes (memory limits), cAdvisor", EMULATED),
    V1("pids", "kubelet (pod pid limits), runtimes", SKIPPED),
    V1("devices", "runc insists on a devices hierarchy",
       "stand-in devices hierarchy (tmpfs): runc is satisfied"),
    V1("freezer", "runtimes (pause, kill of all processes)", SKIPPED),
    V1("blkio", "runtimes (I/O limits), cAdvisor", SKIPPED),
    V1("hugetlb", "kubelet (hugepage limits)", SKIPPED),
    V1("net_cls", "runtimes (network classes)", SKIPPED),
    V1("perf_event", "runtimes", SKIPPED),
    {.id = "cgroup.v2",
     .category = "cgroup",
     .summary = "cgroup2 mounts (kubelet 1.20 can use either version)",
     .fallback = "cgroup v1, cgroupfs driver",
     .isolation = PROBE_CHILD_MOUNTNS,
     .run = probe_v2},
    {.id = "cgroup.statfs_file",
     .category = "cgroup",
     .summary = "statfs/fstatfs on a cgroup file gives the cgroup magic (runc verifies every file it opens)",
     .fallback = "trap statfs/fstatfs in kig-trace (answer CGROUP_SUPER_MAGIC)",
     .isolation = PROBE_CHILD_MOUNTNS,
     .run = probe_statfs_file},
    {.id = "cgroup.file.cpuacct.usage_percpu",
     .category = "cgroup",
     .summary = "cAdvisor reads it at the root (missing: no root stats)",
     .fallback = "overlay on the cpuacct hierarchy adding a static cpuacct.usage_percpu",
     .isolation = PROBE_CHILD_MOUNTNS,
     .run = probe_root_file,
     .arg = "cpuacct/cpuacct.usage_percpu"},
    {.id = "cgroup.file.memory.stat",
     .category = "cgroup",
     .summary = "cAdvisor reads it at the root (missing: no root stats)",
     .fallback = "overlay on the memory hierarchy adding a static memory.stat",
     .isolation = PROBE_CHILD_MOUNTNS,
     .run = probe_root_file,
     .arg = "memory/memory.stat"},
    {.id = "cgroup.file.pids.max",
     .category = "cgroup",
     .summary = "cAdvisor reads it at the root once pids.current is there (missing: no root stats)",
     .fallback = "overlay on the pids hierarchy adding a static pids.max",
     .isolation = PROBE_CHILD_MOUNTNS,
     .run = probe_root_file,
     .arg = "pids/pids.max",
     .flags = ROOT_FILE_IF_PIDS_CURRENT},
};

PROBE_TABLE(probe_table_cgroup, probes);
