/* Named feature sets: what kig's planner sees on machines it cannot probe right now. "gvisor-20221219"
 * is what was measured with Debian's runsc 0.0~20221219 (docs/vkernel.md); the others describe a full
 * Linux host and an imagined later gVisor, so tests can show that the plan adapts. */
#include "sandbox-features.h"

#include "macro.h"

#include <stdio.h>
#include <string.h>

const char *const vkernel_feature_presets[] = {"gvisor-20221219", "gvisor-newer", "linux-host",
                                               "linux-host-v1", NULL};

struct preset_sysctl {
    const char *path;
    const char *value; /* NULL: a directory */
    bool writable;
};

/* /proc/sys under gVisor 20221219 (kernel/, vm/, and the net/ entries kig's table names). */
static const struct preset_sysctl gvisor_sysctl[] = {
    {"kernel", NULL, false},
    {"kernel/hostname", "vm", false},
    {"kernel/msgmax", "8192", false},
    {"kernel/msgmnb", "16384", false},
    {"kernel/msgmni", "32000", false},
    {"kernel/sem", "32000\t1024000000\t500\t32000", false},
    {"kernel/shmall", "18446744073692774399", false},
    {"kernel/shmmax", "18446744073692774399", false},
    {"kernel/shmmni", "4096", false},
    {"kernel/yama", NULL, false},
    {"kernel/yama/ptrace_scope", "1", true},
    {"vm", NULL, false},
    {"vm/max_map_count", "2147483647", false},
    {"vm/mmap_min_addr", "4096", false},
    {"vm/overcommit_memory", "0", false},
    {"net", NULL, false},
    {"net/core", NULL, false},
    {"net/ipv4", NULL, false},
    {"net/ipv4/ip_forward", "0", true},
    {"net/ipv4/ip_local_port_range", "16000 65535", true},
};

/* What an imagined later gVisor adds under /proc/sys (cap_last_cap arrived 2023-09). */
static const struct preset_sysctl gvisor_newer_sysctl[] = {
    {"kernel/cap_last_cap", "40", false},
};

/* A full Linux host as root: every entry exists and the tunables are writable. net/bridge and
 * net/netfilter are absent, as on a host whose br_netfilter and nf_conntrack modules are not loaded. */
static const struct preset_sysctl linux_sysctl[] = {
    {"kernel", NULL, false},
    {"kernel/hostname", "host", true},
    {"kernel/panic", "0", true},
    {"kernel/panic_on_oops", "0", true},
    {"kernel/keys", NULL, false},
    {"kernel/keys/root_maxkeys", "1000000", true},
    {"kernel/keys/root_maxbytes", "25000000", true},
    {"kernel/keys/maxkeys", "200", true},
    {"kernel/keys/maxbytes", "20000", true},
    {"kernel/cap_last_cap", "40", false},
    {"kernel/pid_max", "4194304", true},
    {"kernel/osrelease", "6.1.0-28-amd64", false},
    {"kernel/ostype", "Linux", false},
    {"kernel/random", NULL, false},
    {"kernel/random/boot_id", "6f1c4d0e-3c3a-4d2b-9a55-0f6ad0e1c2b3", false},
    {"kernel/overflowuid", "65534", true},
    {"kernel/overflowgid", "65534", true},
    {"vm", NULL, false},
    {"vm/overcommit_memory", "0", true},
    {"vm/panic_on_oom", "0", true},
    {"net", NULL, false},
    {"net/ipv4", NULL, false},
    {"net/ipv4/ip_forward", "0", true},
    {"net/ipv4/ip_local_port_range", "32768\t60999", true},
    {"net/ipv4/conf", NULL, false},
    {"net/ipv4/conf/all", NULL, false},
    {"net/ipv4/conf/all/forwarding", "0", true},
    {"net/ipv6", NULL, false},
};

static int add_sysctls(struct sandbox_features *f, const struct preset_sysctl *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int r = sandbox_features_add_sysctl(f, v[i].path, !v[i].value, v[i].writable, v[i].value);
        if (r < 0)
            return r;
    }
    return 0;
}

static void set_gaps(struct sandbox_features *f, bool missing)
{
    for (int g = 0; g < _CGROUP_GAP_MAX; g++)
        f->cgroup_gap[g] = missing;
}

static int preset_gvisor_20221219(struct sandbox_features *f)
{
    f->is_gvisor = true;
    f->kernel_release = strdup("4.4.0");
    if (!f->kernel_release)
        return -ENOMEM;
    snprintf(f->boot_id, sizeof(f->boot_id), "00000000-0000-4000-8000-000000000000");
    f->proc_sys_tmpfs_mountable = true;
    f->bind_mount_file = true;
    f->cap_last_cap = 37; /* CapBnd 0x3fffffdfff: CAP_AUDIT_READ is the highest */
    f->cgroup_layout = CGROUP_LAYOUT_EMPTY;
    for (int c = CGROUP_CPU; c <= CGROUP_PIDS; c++)
        f->controller[c].mountable = true;
    set_gaps(f, true);
    f->cgroup_file_statfs = false;
    f->cgroup_mount_twice = true;
    f->dev_kmsg = false;
    f->dev_null = true;
    f->tmpfs = f->overlay = true;
    f->fuse = true; /* with runsc --fuse */
    return add_sysctls(f, gvisor_sysctl, ARRAY_SIZE(gvisor_sysctl));
}

static int preset_gvisor_newer(struct sandbox_features *f)
{
    int r = preset_gvisor_20221219(f);
    if (r < 0)
        return r;
    f->cap_last_cap = 40;
    f->controller[CGROUP_DEVICES].mountable = true;
    f->cgroup_file_statfs = true;
    /* Supposing the cAdvisor files arrived too, except the root's pids.max (absent on Linux as well). */
    set_gaps(f, false);
    f->cgroup_gap[CGROUP_GAP_PIDS_MAX] = true;
    return add_sysctls(f, gvisor_newer_sysctl, ARRAY_SIZE(gvisor_newer_sysctl));
}

static int preset_linux(struct sandbox_features *f, bool v1)
{
    f->is_gvisor = false;
    f->kernel_release = strdup("6.1.0-28-amd64");
    if (!f->kernel_release)
        return -ENOMEM;
    f->proc_sys_tmpfs_mountable = true;
    f->bind_mount_file = true;
    f->cap_last_cap = 40;
    f->cgroup_layout = v1 ? CGROUP_LAYOUT_V1 : CGROUP_LAYOUT_V2;
    f->cgroup2_mountable = true;
    for (int c = 0; c < _CGROUP_CONTROLLER_MAX && v1; c++)
        f->controller[c].mountable = f->controller[c].mounted = true;
    set_gaps(f, false);
    f->cgroup_gap[CGROUP_GAP_PIDS_MAX] = true; /* the root of a pids hierarchy has no pids.max on Linux */
    f->cgroup_file_statfs = true;
    f->cgroup_mount_twice = true;
    f->dev_kmsg = f->dev_null = true;
    f->tmpfs = f->overlay = f->fuse = true;
    return add_sysctls(f, linux_sysctl, ARRAY_SIZE(linux_sysctl));
}

int vkernel_features_preset(const char *name, struct sandbox_features *ret)
{
    struct sandbox_features f = {.cap_last_cap = -1};
    int r;
    if (strcmp(name, "gvisor-20221219") == 0)
        r = preset_gvisor_20221219(&f);
    else if (strcmp(name, "gvisor-newer") == 0)
        r = preset_gvisor_newer(&f);
    else if (strcmp(name, "linux-host") == 0)
        r = preset_linux(&f, false);
    else if (strcmp(name, "linux-host-v1") == 0)
        r = preset_linux(&f, true);
    else
        return -ENOENT;
    if (r < 0) {
        sandbox_features_done(&f);
        return r;
    }
    *ret = f;
    return 0;
}
