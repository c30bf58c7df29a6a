/* What the sandbox's kernel offers, as far as kig's virtual-kernel layer (vkernel) cares.
 *
 * The planner (plan.h) reads only this structure, never the system, so a plan can be computed for any
 * machine: the live one (vkernel_probe_features), a preset (vkernel_features_preset: "gvisor-20221219",
 * "linux-host", "gvisor-newer") or, later, one derived from `kig doctor`'s report by the lead. Every field
 * says what the interface looks like BEFORE kig changes anything; a field that could not be measured holds
 * the cautious answer (false: "missing"), so kig provides the interface rather than trusting it. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* The cgroup v1 controllers kig knows. The first five are the ones gVisor 20221219 implements. */
enum cgroup_controller {
    CGROUP_CPU,
    CGROUP_CPUACCT,
    CGROUP_CPUSET,
    CGROUP_MEMORY,
    CGROUP_PIDS,
    CGROUP_DEVICES,
    CGROUP_FREEZER,
    CGROUP_BLKIO,
    CGROUP_HUGETLB,
    CGROUP_NET_CLS,
    CGROUP_NET_PRIO,
    CGROUP_PERF_EVENT,
    _CGROUP_CONTROLLER_MAX,
};

/* "cpu", "devices", ...; NULL out of range. */
const char *cgroup_controller_name(enum cgroup_controller c);
/* The controller or -EINVAL. */
int cgroup_controller_from_name(const char *name);

/* Files that cAdvisor (inside kubelet) and runc read in the root of a real hierarchy and that a kernel may
 * lack (gVisor 20221219 lacks all of them). cAdvisor drops a cgroup's whole stats read when one of them
 * is missing, and for the root cgroup that is fatal for kubelet. */
enum cgroup_gap {
    CGROUP_GAP_CPUACCT_USAGE_PERCPU, /* cpuacct.usage_percpu */
    CGROUP_GAP_PIDS_MAX,             /* pids.max (the root of a hierarchy has none on Linux either, but
                                      * runc's GetStats reads it in every cgroup it is asked about) */
    CGROUP_GAP_MEMORY_STAT,          /* memory.stat */
    CGROUP_GAP_MEMORY_MAX_USAGE,     /* memory.max_usage_in_bytes (read once memory.stat exists) */
    CGROUP_GAP_MEMORY_FAILCNT,       /* memory.failcnt (idem) */
    CGROUP_GAP_MEMORY_USE_HIERARCHY, /* memory.use_hierarchy (idem) */
    _CGROUP_GAP_MAX,
};

/* The file name of a gap ("cpuacct.usage_percpu") and the controller it belongs to. */
const char *cgroup_gap_file(enum cgroup_gap g);
enum cgroup_controller cgroup_gap_controller(enum cgroup_gap g);

/* What is mounted at /sys/fs/cgroup before kig does anything. */
enum cgroup_layout {
    CGROUP_LAYOUT_EMPTY,  /* nothing mounted there (gVisor): kig builds the v1 layout */
    CGROUP_LAYOUT_V1,     /* a tmpfs holding v1 hierarchies (a v1 Linux host, or a layout kig made) */
    CGROUP_LAYOUT_V2,     /* cgroup2 mounted there (a unified Linux host) */
    CGROUP_LAYOUT_HYBRID, /* v1 hierarchies plus cgroup2 at /sys/fs/cgroup/unified */
    CGROUP_LAYOUT_OTHER,  /* something else is mounted there: kig leaves it alone */
};

const char *cgroup_layout_name(enum cgroup_layout l);

struct cgroup_controller_features {
    bool mountable; /* `mount -t cgroup -o NAME` works (or it is already mounted as v1 somewhere) */
    bool mounted;   /* already mounted as a v1 hierarchy (anywhere): a native controller kig leaves alone */
};

/* One entry seen under /proc/sys, path relative to /proc/sys ("kernel/panic", "kernel/yama"). */
struct sysctl_entry_features {
    char *path;
    bool is_dir;
    bool writable; /* files only: writing the file's own value back succeeded */
    char *value;   /* files only: the first line, or NULL when unreadable */
};

struct sandbox_features {
    /* The kernel is gVisor (uname version stamp or kernel log). Used for one decision only: a net/ sysctl
     * missing on Linux means a module is not loaded (kig leaves it alone), on gVisor it means the netstack
     * has no such knob (kig provides a file). */
    bool is_gvisor;
    char *kernel_release; /* uname -r: the content of kernel/osrelease when kig has to provide it */

    /* /proc/sys: every entry (recursively) under kernel/ and vm/, plus the net/ entries kig's table names.
     * An entry not listed does not exist. */
    struct sysctl_entry_features *sysctl;
    size_t n_sysctl;
    size_t n_sysctl_allocated;
    bool proc_sys_tmpfs_mountable; /* a tmpfs can be mounted over a /proc/sys directory (gVisor: yes) */
    bool bind_mount_file;          /* a file can be bind-mounted onto a file (keeps real sysctls live) */
    int cap_last_cap;              /* highest capability bit in CapBnd of this process; -1 if unknown */
    char boot_id[37];              /* kernel/random/boot_id if kig must provide it: a fresh random UUID */

    /* cgroups */
    enum cgroup_layout cgroup_layout;
    bool cgroup2_mountable;
    struct cgroup_controller_features controller[_CGROUP_CONTROLLER_MAX];
    /* gap[g]: the file is missing in the root of the controller's real hierarchy (only meaningful when
     * that controller is mountable). */
    bool cgroup_gap[_CGROUP_GAP_MAX];
    bool cgroup_file_statfs; /* fstatfs on a cgroup FILE works (gVisor 20221219: ENOSYS) */
    bool cgroup_mount_twice; /* one controller can be mounted at two places (overlay fallback needs it) */

    /* devices and filesystems */
    bool dev_kmsg; /* /dev/kmsg exists */
    bool dev_null; /* /dev/null exists (the stand-in bound onto /dev/kmsg) */
    bool tmpfs;    /* tmpfs mounts work */
    bool overlay;  /* overlayfs mounts work */
    bool fuse;     /* /dev/fuse opens and a FUSE mount is accepted (runsc --fuse on gVisor 20221219) */
};

void sandbox_features_done(struct sandbox_features *f);

/* Records one /proc/sys entry (strings copied). Returns 0 or -ENOMEM. */
int sandbox_features_add_sysctl(struct sandbox_features *f, const char *path, bool is_dir, bool writable,
                                const char *value);
/* The entry, or NULL when /proc/sys has no such path. */
const struct sysctl_entry_features *sandbox_features_sysctl(const struct sandbox_features *f,
                                                            const char *path);

/* Measures the live system. Mount probes run in a forked child in a private mount namespace (on gVisor,
 * where CLONE_NEWNS is a no-op, each probe unmounts what it mounted) under a scratch directory inside
 * scratch_parent (e.g. the run dir; NULL: /tmp). Needs root for the mount probes; without it they read
 * as "cannot". Returns 0 or a negative errno (only for allocation or scratch-directory failures). */
int vkernel_probe_features(const char *scratch_parent, struct sandbox_features *ret);

/* Fills ret with a named preset: "gvisor-20221219" (measured, docs/vkernel.md), "linux-host" (a full
 * cgroup v2 Linux host), "linux-host-v1" (a full cgroup v1 host), "gvisor-newer" (an imagined later gVisor
 * with cap_last_cap, keys/root_*, the devices cgroup, cgroup.procs statfs and the cAdvisor files).
 * Returns 0, -ENOENT for an unknown name, or -ENOMEM. */
int vkernel_features_preset(const char *name, struct sandbox_features *ret);
/* NULL-terminated list of preset names. */
extern const char *const vkernel_feature_presets[];

/* The features as JSON (for `kig vkernel plan --json` and for the lead's doctor integration). */
int sandbox_features_to_json(const struct sandbox_features *f, json_t **ret);
