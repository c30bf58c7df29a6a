/* Who we run on: gVisor or Linux, kernel release, root filesystem, capabilities, device nodes. */
#include "probe.h"

#include "fileutil.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/capability.h>
#include <stdio.h>
#include <string.h>
#include <sys/klog.h>
#include <sys/statfs.h>
#include <sys/utsname.h>

/* gVisor reports this fixed build stamp as uname's version on every release (it is part of its syscall
 * table: "a clean build with default kernel config, at 5 minutes after v4.4 was tagged"), whatever release
 * number it claims. No Linux kernel built since 2016 carries it. */
#define GVISOR_UNAME_VERSION "#1 SMP Sun Jan 10 15:06:54 PST 2016"

static bool kernel_log_says_gvisor(void)
{
    /* gVisor's kernel log is its own boot chatter, starting with "Starting gVisor...". Reading it needs
     * CAP_SYSLOG on Linux; a refusal is simply no signal. */
    char buf[16384];
    int n = klogctl(3 /* SYSLOG_ACTION_READ_ALL */, buf, sizeof(buf) - 1);
    if (n <= 0)
        return false;
    buf[n] = '\0';
    return strstr(buf, "Starting gVisor") != NULL;
}

bool detect_gvisor(char *evidence, size_t size)
{
    struct utsname u;
    bool stamp = false, release = false;
    if (uname(&u) == 0) {
        stamp = strcmp(u.version, GVISOR_UNAME_VERSION) == 0;
        release = strstr(u.release, "gvisor") != NULL;
    }
    bool klog = kernel_log_says_gvisor();
    if (stamp || release || klog)
        snprintf(evidence, size, "gVisor:%s%s%s", stamp ? " uname version '" GVISOR_UNAME_VERSION "'" : "",
                 release ? " release names gvisor" : "", klog ? " kernel log 'Starting gVisor'" : "");
    else
        snprintf(evidence, size, "Linux: uname version '%.60s'", u.version);
    return stamp || release || klog;
}

static void probe_gvisor(const struct probe *p, const struct probe_context *ctx, struct probe_result *res)
{
    bool in = detect_gvisor(res->evidence, sizeof(res->evidence));
    res->status = in ? DOCTOR_PRESENT : DOCTOR_MISSING;
    probe_set_strategy(res, "%s", in ? "kig supplies what the other probes find missing" : "not in gVisor");
}

static void probe_uname(const struct probe *p, const struct probe_context *ctx, struct probe_result *res)
{
    struct utsname u;
    if (uname(&u) < 0) {
        probe_set_errno(res, DOCTOR_ERROR, errno, "uname");
        return;
    }
    unsigned major = 0, minor = 0;
    sscanf(u.release, "%u.%u", &major, &minor);
    /* containerd 2.x turns on unprivileged ports and ICMP for pods, which needs Linux 4.11 sysctls, and
     * refuses CRI on older kernels unless both are off. */
    bool old = major < 4 || (major == 4 && minor < 11);
    probe_set(res, old ? DOCTOR_PARTIAL : DOCTOR_PRESENT, "%s", u.release);
}

const char *fs_magic_name(unsigned long magic)
{
    static const struct {
        unsigned long magic;
        const char *name;
    } names[] = {
        {0x01021997, "9p"},   {0x794c7630, "overlay"}, {0xef53, "ext4"},      {0x01021994, "tmpfs"},
        {0x58465342, "xfs"},  {0x9123683e, "btrfs"},   {0x9fa0, "proc"},      {0x62656572, "sysfs"},
        {0x27e0eb, "cgroup"}, {0x63677270, "cgroup2"}, {0x65735546, "fuse"},  {0x73717368, "squashfs"},
        {0x2fc12fc1, "zfs"},  {0x6969, "nfs"},         {0xe0f5e1e2, "erofs"}, {0x858458f6, "ramfs"},
        {0x1cd1, "devpts"},   {0xf2f52010, "f2fs"},    {0x4244, "hfs"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(names); i++)
        if (names[i].magic == magic)
            return names[i].name;
    return "unknown";
}

static void probe_rootfs(const struct probe *p, const struct probe_context *ctx, struct probe_result *res)
{
    struct statfs s;
    if (statfs("/", &s) < 0) {
        probe_set_errno(res, DOCTOR_ERROR, errno, "statfs /");
        return;
    }
    unsigned long magic = (unsigned long)s.f_type;
    const char *name = fs_magic_name(magic);
    /* cAdvisor cannot size a 9p filesystem: kubelet's image and pod storage must live elsewhere. */
    probe_set(res, magic == 0x01021997 ? DOCTOR_PARTIAL : DOCTOR_PRESENT, "%s (magic 0x%lx)", name, magic);
    if (res->status == DOCTOR_PRESENT)
        probe_set_strategy(res, "native (cAdvisor can size %s)", name);
}

#define PROC_SUPER_MAGIC 0x9fa0UL

static void probe_statfs_proc_file(const struct probe *p, const struct probe_context *ctx,
                                   struct probe_result *res)
{
    struct statfs s;
    int dir_r = statfs("/proc/self", &s) < 0 ? negative_errno() : 0;
    unsigned long dir_magic = dir_r == 0 ? (unsigned long)s.f_type : 0;
    int file_r = statfs("/proc/self/status", &s) < 0 ? negative_errno() : 0;
    unsigned long file_magic = file_r == 0 ? (unsigned long)s.f_type : 0;
    if (file_r == 0 && file_magic == PROC_SUPER_MAGIC) {
        probe_set(res, DOCTOR_PRESENT, "statfs(/proc/self/status) 0x%lx", file_magic);
        return;
    }
    char dir_desc[32];
    if (dir_r < 0)
        snprintf(dir_desc, sizeof(dir_desc), "%s", errno_name(dir_r));
    else
        snprintf(dir_desc, sizeof(dir_desc), "0x%lx", dir_magic);
    if (file_r < 0)
        probe_set(res, DOCTOR_MISSING, "statfs(/proc/self) %s, statfs(/proc/self/status) %s", dir_desc,
                  errno_name(file_r));
    else
        probe_set(res, DOCTOR_MISSING, "statfs(/proc/self) %s, statfs(/proc/self/status) 0x%lx", dir_desc,
                  file_magic);
}

static int read_cap_eff(uint64_t *ret)
{
    _cleanup_fclose_ FILE *f = fopen("/proc/self/status", "re");
    if (!f)
        return negative_errno();
    char line[256];
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "CapEff: %" SCNx64, ret) == 1)
            return 0;
    return -ENODATA;
}

static void probe_capability(const struct probe *p, const struct probe_context *ctx, struct probe_result *res)
{
    uint64_t eff;
    int r = read_cap_eff(&eff);
    if (r < 0) {
        probe_set_errno(res, DOCTOR_ERROR, r, "CapEff in /proc/self/status");
        return;
    }
    bool has = eff & (UINT64_C(1) << p->flags);
    probe_set(res, has ? DOCTOR_PRESENT : DOCTOR_MISSING, "%s in CapEff %016" PRIx64, has ? "set" : "not set",
              eff);
}

static void probe_open_device(const struct probe *p, const struct probe_context *ctx,
                              struct probe_result *res)
{
    _cleanup_close_ int fd = open(p->arg, (int)p->flags | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        int e = errno;
        probe_set_errno(res, e == ENOENT ? DOCTOR_MISSING : probe_status_for_errno(e), e, "open %s", p->arg);
        return;
    }
    probe_set(res, DOCTOR_PRESENT, "opened %s", p->arg);
}

static const struct probe probes[] = {
    {.id = "system.gvisor",
     .category = "system",
     .summary = "whether kig runs inside gVisor: uname's version is gVisor's fixed build stamp, the release "
                "names gvisor, or "
                "the kernel log says 'Starting gVisor'",
     .fallback = "not in gVisor",
     .isolation = PROBE_INLINE,
     .run = probe_gvisor},
    {.id = "system.uname",
     .category = "system",
     .summary = "kernel release; containerd 2.x refuses CRI below 4.11 unless unprivileged "
                "ports/ICMP are off",
     .fallback = "containerd: enable_unprivileged_ports = false, enable_unprivileged_icmp = false",
     .isolation = PROBE_INLINE,
     .run = probe_uname},
    {.id = "fs.root",
     .category = "fs",
     .summary = "root filesystem type (statfs magic); cAdvisor (kubelet) cannot size 9p",
     .fallback = "kubelet and containerd state on tmpfs",
     .isolation = PROBE_INLINE,
     .run = probe_rootfs},
    {.id = "fs.statfs_proc_file",
     .category = "fs",
     .summary = "statfs on a procfs file gives PROC_SUPER_MAGIC (runc checks /proc files)",
     .fallback = "trap statfs/fstatfs in kig-trace (answer PROC_SUPER_MAGIC)",
     .isolation = PROBE_INLINE,
     .run = probe_statfs_proc_file},
    {.id = "caps.sys_admin",
     .category = "caps",
     .summary = "CAP_SYS_ADMIN in CapEff: kig mounts, traces and creates namespaces",
     .fallback = "none: run kig as root",
     .isolation = PROBE_INLINE,
     .run = probe_capability,
     .arg = NULL,
     .flags = CAP_SYS_ADMIN},
    {.id = "caps.net_raw",
     .category = "caps",
     .summary = "CAP_NET_RAW in CapEff (runsc --net-raw): iptables and container specs",
     .fallback = "drop CAP_NET_RAW from container specs; no iptables (runsc --net-raw gives it)",
     .isolation = PROBE_INLINE,
     .run = probe_capability,
     .arg = NULL,
     .flags = CAP_NET_RAW},
    {.id = "caps.sys_resource",
     .category = "caps",
     .summary = "CAP_SYS_RESOURCE in CapEff: containerd and kubelet raise rlimits",
     .fallback = "drop rlimits and oomScoreAdj from container specs",
     .isolation = PROBE_INLINE,
     .run = probe_capability,
     .arg = NULL,
     .flags = CAP_SYS_RESOURCE},
    {.id = "dev.kmsg",
     .category = "dev",
     .summary = "/dev/kmsg opens: kubelet's OOM watcher fails to start without it",
     .fallback = "/dev/null bound at /dev/kmsg (no OOM events)",
     .isolation = PROBE_INLINE,
     .run = probe_open_device,
     .arg = "/dev/kmsg",
     .flags = O_RDONLY},
    {.id = "dev.fuse",
     .category = "dev",
     .summary = "/dev/fuse opens: optional FUSE-based emulation (runsc --fuse)",
     .fallback = "no FUSE-based emulation",
     .isolation = PROBE_INLINE,
     .run = probe_open_device,
     .arg = "/dev/fuse",
     .flags = O_RDWR},
};

PROBE_TABLE(probe_table_system, probes);
