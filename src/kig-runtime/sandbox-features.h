/* What the sandbox lets an OCI runtime do. kig-runtime rewrites container specs from these facts only, so
 * on a full Linux host (or a newer gVisor that has an interface) the spec passes unchanged.
 *
 * The facts come from three places, later ones winning:
 *   1. runtime_features_init_host(): everything present, as on a full Linux host;
 *   2. runtime_features_probe(): measured here and now (see features.c for each probe);
 *   3. the JSON file named by $KIG_FEATURES_FILE: either `kig-runtime probe` output (flat keys, see
 *      runtime_features_from_json) or a `kig doctor --json` report (probe ids mapped to fields). */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

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
    CGROUP_RDMA,
    CGROUP_UNIFIED, /* a cgroup2 hierarchy: controllers are enforced there (devices through eBPF) */
    _CGROUP_MAX,
};

/* Mount flags a sandbox may reject; a set of them is a bitmask of these values. */
enum mount_flag_bit {
    MOUNT_FLAG_REC = 1u << 0,         /* MS_REC: rbind, rprivate, rslave, ... */
    MOUNT_FLAG_SLAVE = 1u << 1,       /* MS_SLAVE */
    MOUNT_FLAG_SHARED = 1u << 2,      /* MS_SHARED */
    MOUNT_FLAG_PRIVATE = 1u << 3,     /* MS_PRIVATE */
    MOUNT_FLAG_UNBINDABLE = 1u << 4,  /* MS_UNBINDABLE */
    MOUNT_FLAG_STRICTATIME = 1u << 5, /* MS_STRICTATIME */
};

#define N_CAPABILITIES 41 /* CAP_CHOWN .. CAP_CHECKPOINT_RESTORE */
#define N_RLIMITS      16 /* RLIMIT_CPU .. RLIMIT_RTTIME */

struct runtime_features {
    /* Namespaces. */
    bool setns; /* setns(2) joins namespaces: runtimes' exec and pods that share namespaces need it */
    bool mount_namespace; /* a mount made after unshare(CLONE_NEWNS) stays private (gVisor 20221219: no) */
    bool uts_namespace;   /* unshare(CLONE_NEWUTS) and sethostname in it work (gVisor 20221219: yes) */

    /* Mounts. */
    bool mount_via_proc_fd;        /* mount(2) onto /proc/self/fd/N reaches the fd's file: runc and crun mount
                                    * that way, so without it kig-runtime performs the container's mounts */
    bool bind_remount;             /* MS_REMOUNT|MS_BIND|MS_RDONLY works: read-only binds, readonlyPaths */
    bool devpts;                   /* a new devpts instance can be mounted */
    unsigned mount_flags_rejected; /* enum mount_flag_bit: flags mount(2) refuses */

    /* Cgroups. */
    unsigned cgroup_controllers; /* bit (1u << enum cgroup_controller) per usable controller */

    /* Process setup. */
    uint64_t capabilities;     /* bit per CAP_* the runtime can grant (its permitted set) */
    bool ambient_capabilities; /* prctl(PR_CAP_AMBIENT) works (gVisor 20221219: EINVAL) */
    bool session_keyring;      /* keyctl works: runtimes create a session keyring unless --no-new-keyring */
    bool oom_score_adj_nul;    /* /proc/self/oom_score_adj accepts "N\0", as runc writes it */
    int oom_score_adj_min;     /* lowest oom_score_adj we may set (-1000 with CAP_SYS_RESOURCE) */
    uint32_t rlimits;          /* bit per RLIMIT_* that setrlimit(2) accepts */
    bool proc_self_setgroups;  /* /proc/self/setgroups exists (crun reads it before setgroups) */
    bool apparmor;             /* AppArmor is enabled: profiles can be applied */
    bool selinux;              /* SELinux is enabled: labels can be applied */
};

/* Everything a full Linux host offers to a root runtime. */
void runtime_features_init_host(struct runtime_features *f);

/* Measures the sandbox. scratch_dir is a directory this function may create entries in (removed again);
 * mount probes run in a child process in a new mount namespace and undo what they mount. Never fails:
 * a probe that cannot tell reports the interface as missing. */
void runtime_features_probe(struct runtime_features *f, const char *scratch_dir);

/* runtime_features_probe() with the kernel's facts (setns, mount namespaces, mount flags, devpts: the child
 * process's probes, the costly part) taken from cache_path when a probe of this kig-runtime version wrote
 * it, and written there otherwise. Cgroups and the process's own facts are measured every time. A kernel's
 * facts do not change while it runs; keep the cache on a tmpfs (kig-runtime's root) so a new boot probes
 * again. cache_path NULL: no cache. */
void runtime_features_probe_cached(struct runtime_features *f, const char *scratch_dir,
                                   const char *cache_path);

/* Only the cheap checks in this process (no child, no mount): capabilities, keyring, oom_score_adj, rlimits,
 * setgroups file, LSMs. What `exec` needs. */
void runtime_features_probe_process(struct runtime_features *f);

/* Applies the keys present in j over f. j is either a flat object as written by runtime_features_to_json
 * ({"setns": false, "cgroup_controllers": ["cpu", "memory"], ...}) or a `kig doctor --json` report
 * ({"schema": 1, "probes": [{"id": "setns.net", "status": "missing"}, ...]}); keys or probes it does not
 * know are ignored. Returns 0 or -EINVAL for a value of the wrong type (f is then partly updated). */
int runtime_features_from_json(const json_t *j, struct runtime_features *f);

/* Loads $KIG_FEATURES_FILE (when set) over f. Returns 0, or a negative errno after logging the cause. */
int runtime_features_load_env(struct runtime_features *f);

/* The flat JSON form (complete: every field). Returns NULL on ENOMEM. */
json_t *runtime_features_to_json(const struct runtime_features *f);

/* Names used in specs and in the JSON form. All return NULL / -EINVAL for unknown values. */
const char *cgroup_controller_name(enum cgroup_controller c);
int cgroup_controller_from_name(const char *name);
const char *capability_name(int cap);       /* "CAP_CHOWN" */
int capability_from_name(const char *name); /* accepts "CAP_CHOWN" */
const char *rlimit_type_name(int resource); /* "RLIMIT_NOFILE" */
int rlimit_type_from_name(const char *name);

static inline bool runtime_features_has_controller(const struct runtime_features *f, enum cgroup_controller c)
{
    return f->cgroup_controllers & (1u << c);
}
