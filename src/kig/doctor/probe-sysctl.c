/* /proc/sys: the files kubelet, the runtimes, CNI and kube-proxy read or write, and whether kig can supply
 * missing ones (gVisor cannot create files in /proc/sys, but a tmpfs over /proc/sys/kernel works). */
#include "probe.h"

#include "fileutil.h"
#include "mountinfo.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/statfs.h>
#include <unistd.h>

#define SYSCTL_WRITE 1u /* the consumer writes it: test that the current value can be written back */

#define KERNEL_OVERLAY "tmpfs overlay over /proc/sys/kernel with copies"
#define VM_OVERLAY     "tmpfs overlay over /proc/sys/vm with copies"
#define SERVICE_PROXY  "not needed: kig service proxy replaces kube-proxy"

static void value_for_evidence(char *v)
{
    v[strcspn(v, "\n")] = '\0';
    for (char *c = v; *c; c++)
        if (*c == '\t')
            *c = ' ';
}

/* Writing back the value just read shows writability without changing anything. (access(2) is no use:
 * gVisor reports mode 0644 on files whose writes fail with EIO.) */
static int write_back(const char *path, const char *value, size_t len)
{
    _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return negative_errno();
    ssize_t n = write(fd, value, len);
    if (n < 0)
        return negative_errno();
    return (size_t)n == len ? 0 : -EIO;
}

static void probe_sysctl(const struct probe *p, const struct probe_context *ctx, struct probe_result *res)
{
    char path[256];
    snprintf(path, sizeof(path), "/proc/sys/%s", p->arg);
    _cleanup_free_ char *raw = NULL;
    size_t len = 0;
    int r = read_file(path, &raw, &len, 64 * 1024);
    if (r < 0) {
        probe_set_errno(res, r == -ENOENT ? DOCTOR_MISSING : probe_status_for_errno(r), r, "read");
        return;
    }
    _cleanup_free_ char *value = strdup(raw);
    if (!value) {
        probe_set_errno(res, DOCTOR_ERROR, ENOMEM, "read");
        return;
    }
    value_for_evidence(value);
    if (!(p->flags & SYSCTL_WRITE)) {
        probe_set(res, DOCTOR_PRESENT, "value %.100s", value);
        return;
    }
    r = write_back(path, raw, len);
    if (r < 0) {
        enum doctor_status st = probe_status_for_errno(r) == DOCTOR_ERROR ? DOCTOR_ERROR : DOCTOR_PARTIAL;
        probe_set(res, st, "value %.100s, write: %s", value, errno_name(r));
        return;
    }
    probe_set(res, DOCTOR_PRESENT, "value %.100s, writable", value);
}

static void probe_create_file(const struct probe *p, const struct probe_context *ctx,
                              struct probe_result *res)
{
    char path[128];
    snprintf(path, sizeof(path), "/proc/sys/kernel/kig-doctor-%d", (int)getpid());
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        int e = errno;
        probe_set_errno(res, probe_status_for_errno(e), e, "create /proc/sys/kernel/<new file>");
        return;
    }
    close(fd);
    unlink(path);
    probe_set(res, DOCTOR_PRESENT, "created and removed %s", path);
}

/* Runs in a private mount namespace on Linux; in gVisor the mount is sandbox-wide for a few milliseconds. */
static void probe_kernel_tmpfs(const struct probe *p, const struct probe_context *ctx,
                               struct probe_result *res)
{
    const char *target = "/proc/sys/kernel";
    struct mount_table t;
    if (mount_table_read(&t) == 0) {
        const struct mount_entry *e = mount_table_find(&t, target);
        bool tmpfs = e && strcmp(e->fstype, "tmpfs") == 0;
        mount_table_done(&t);
        if (tmpfs) {
            /* kig's overlay is in place: covering it, even briefly, would hide it from kubelet */
            probe_set(res, DOCTOR_PRESENT, "already a tmpfs mount (kig's overlay)");
            return;
        }
    }
    if (mount("kig-doctor", target, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=64k,mode=0555") < 0) {
        int e = errno;
        probe_set_errno(res, probe_status_for_errno(e), e, "mount tmpfs on %s", target);
        return;
    }
    probe_fault_after_mount();
    struct statfs s;
    int sr = statfs(target, &s);
    unsigned long magic = sr == 0 ? (unsigned long)s.f_type : 0;
    if (umount2(target, 0) < 0 && umount2(target, MNT_DETACH) < 0) {
        probe_set_errno(res, DOCTOR_ERROR, errno, "mounted, but umount %s", target);
        return;
    }
    if (magic != 0x01021994)
        probe_set(res, DOCTOR_PARTIAL, "mount succeeded but the directory shows %s (0x%lx)",
                  fs_magic_name(magic), magic);
    else
        probe_set(res, DOCTOR_PRESENT, "mounted (magic 0x%lx) and unmounted a tmpfs", magic);
}

/* Ids replace '/' with '.': sysctl.net.ipv4.conf.all.route_localnet is /proc/sys/net/ipv4/conf/all/... */
static const struct probe probes[] = {
    {.id = "sysctl.vm.overcommit_memory",
     .category = "sysctl",
     .summary = "kubelet tunable (written; missing or unwritable is fatal)",
     .fallback = VM_OVERLAY,
     .isolation = PROBE_INLINE,
     .run = probe_sysctl,
     .arg = "vm/overcommit_memory",
     .flags = SYSCTL_WRITE},
    {.id = "sysctl.vm.panic_on_oom",
     .category = "sysctl",
     .summary = "kubelet tunable (written; missing is fatal)",
     .fallback = VM_OVERLAY,
     .isolation = PROBE_INLINE,
     .run = probe_sysctl,
     .arg = "vm/panic_on_oom",
     .flags = SYSCTL_WRITE},
    {.id = "sysctl.kernel.panic",
     .category = "sysctl",
     .summary = "kubelet tunable (written; missing is fatal)",
     .fallback = KERNEL_OVERLAY,
     .isolation = PROBE_INLINE,
     .run = probe_sysctl,
     .arg = "kernel/panic",
     .flags = SYSCTL_WRITE},
    {.id = "sysctl.kernel.panic_on_oops",
     .category = "sysctl",
     .summary = "kubelet tunable (written; missing is fatal)",
     .fallback = KERNEL_OVERLAY,
     .isolation = PROBE_INLINE,
     .run = probe_sysctl,
     .arg = "kernel/panic_on_oops",
     .flags = SYSCTL_WRITE},
    {.id = "sysctl.kernel.keys.root_maxkeys",
     .category = "sysctl",
     .summary = "kubelet tunable (written; missing is fatal)",
     .fallback = KERNEL_OVERLAY,
     .isolation = PROBE_INLINE,
     .run = probe_sysctl,
     .arg = "kernel/keys/root_maxkeys",
     .flags = SYSCTL_WRITE},
    {.id = "sysctl.kernel.keys.root_maxbytes",
     .category = "sysctl",
     .summary = "kubelet tunable (written; missing is fatal)",
     .fallback = KERNEL_OVERLAY,
     .isolation = PROBE_INLINE,
     .run = probe_sysctl,
     .arg = "kernel/keys/root_maxbytes",
     .flags = SYSCTL_WRITE},
    {.id = "sysctl.kernel.cap_last_cap",
     .category = "sysctl",
     .summary = "read by crun and runc to size capability sets",
     .fallback = KERNEL_OVERLAY,
     .isolation = PROBE_INLINE,
     .run = probe_sysctl,
     .arg = "kernel/cap_last_cap",
     .flags = 0},
    {.id = "sysctl.kernel.pid_max",
     .category = "sysctl",
     .summary = "read by kubelet (pid limits, node allocatable)",
     .fallback = KERNEL_OVERLAY,
     .isolation = PROBE_INLINE,
     .run = probe_sysctl,
     .arg = "kernel/pid_max",
     .flags = 0},
    {.id = "sysctl.net.ipv4.ip_forward",
     .category = "sysctl",
     .summary = "written by CNI plugins and checked by kube-proxy",
     .fallback = "not needed: kig's userspace switch forwards between pods",
     .isolation = PROBE_INLINE,
     .run = probe_sysctl,
     .arg = "net/ipv4/ip_forward",
     .flags = SYSCTL_WRITE},
    {.id = "sysctl.net.ipv4.conf.all.route_localnet",
     .category = "sysctl",
     .summary = "written by kube-proxy (iptables mode)",
     .fallback = SERVICE_PROXY,
     .isolation = PROBE_INLINE,
     .run = probe_sysctl,
     .arg = "net/ipv4/conf/all/route_localnet",
     .flags = SYSCTL_WRITE},
    {.id = "sysctl.net.bridge.bridge-nf-call-iptables",
     .category = "sysctl",
     .summary = "kube-proxy and bridge CNI need bridged traffic in "
                "iptables",
     .fallback = SERVICE_PROXY,
     .isolation = PROBE_INLINE,
     .run = probe_sysctl,
     .arg = "net/bridge/bridge-nf-call-iptables",
     .flags = SYSCTL_WRITE},
    {.id = "sysctl.net.ipv4.ip_local_port_range",
     .category = "sysctl",
     .summary = "read by kube-proxy; a safe pod sysctl",
     .fallback = SERVICE_PROXY,
     .isolation = PROBE_INLINE,
     .run = probe_sysctl,
     .arg = "net/ipv4/ip_local_port_range",
     .flags = 0},
    {.id = "sysctl.net.netfilter.nf_conntrack_max",
     .category = "sysctl",
     .summary = "written by kube-proxy (conntrack sizing)",
     .fallback = SERVICE_PROXY,
     .isolation = PROBE_INLINE,
     .run = probe_sysctl,
     .arg = "net/netfilter/nf_conntrack_max",
     .flags = SYSCTL_WRITE},
    {.id = "sysctl.net.netfilter.nf_conntrack_tcp_timeout_established",
     .category = "sysctl",
     .summary = "written by kube-proxy",
     .fallback = SERVICE_PROXY,
     .isolation = PROBE_INLINE,
     .run = probe_sysctl,
     .arg = "net/netfilter/nf_conntrack_tcp_timeout_established",
     .flags = SYSCTL_WRITE},
    {.id = "sysctl.net.ipv6.conf.all.forwarding",
     .category = "sysctl",
     .summary = "written by CNI plugins for IPv6 pods",
     .fallback = "IPv4-only cluster",
     .isolation = PROBE_INLINE,
     .run = probe_sysctl,
     .arg = "net/ipv6/conf/all/forwarding",
     .flags = SYSCTL_WRITE},
    {.id = "sysctl.net.ipv4.ip_unprivileged_port_start",
     .category = "sysctl",
     .summary = "containerd 2.x enable_unprivileged_ports",
     .fallback = "containerd: enable_unprivileged_ports = false",
     .isolation = PROBE_INLINE,
     .run = probe_sysctl,
     .arg = "net/ipv4/ip_unprivileged_port_start",
     .flags = 0},
    {.id = "sysctl.net.ipv4.ping_group_range",
     .category = "sysctl",
     .summary = "containerd 2.x enable_unprivileged_icmp",
     .fallback = "containerd: enable_unprivileged_icmp = false",
     .isolation = PROBE_INLINE,
     .run = probe_sysctl,
     .arg = "net/ipv4/ping_group_range",
     .flags = 0},
    {.id = "sysctl.net.core.somaxconn",
     .category = "sysctl",
     .summary = "a safe pod sysctl (pods may set it)",
     .fallback = "pods must not set net.core.somaxconn",
     .isolation = PROBE_INLINE,
     .run = probe_sysctl,
     .arg = "net/core/somaxconn",
     .flags = 0},
    {.id = "sysctl.create_file",
     .category = "sysctl",
     .summary = "whether a missing /proc/sys file can simply be created (it cannot on Linux)",
     .fallback = KERNEL_OVERLAY,
     .isolation = PROBE_INLINE,
     .run = probe_create_file},
    {.id = "sysctl.kernel_tmpfs",
     .category = "sysctl",
     .summary = "whether a tmpfs can be mounted over /proc/sys/kernel (then undone): "
                "how kig supplies missing sysctls",
     .fallback = "none: missing sysctls cannot be supplied",
     .isolation = PROBE_CHILD_MOUNTNS,
     .run = probe_kernel_tmpfs,
     .mounts_at = "/proc/sys/kernel"},
};

PROBE_TABLE(probe_table_sysctl, probes);
