/* Measuring what the sandbox lets a runtime do, and the JSON forms of the answer. */
#include "sandbox-features.h"

#include "fileutil.h"
#include "kig-config.h"
#include "log.h"
#include "macro.h"
#include "mount-untrapped.h"
#include "mountinfo.h"

#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#define CAP_SYS_RESOURCE_BIT 24

static const char *const controller_names[_CGROUP_MAX] = {
    [CGROUP_CPU] = "cpu",         [CGROUP_CPUACCT] = "cpuacct",   [CGROUP_CPUSET] = "cpuset",
    [CGROUP_MEMORY] = "memory",   [CGROUP_PIDS] = "pids",         [CGROUP_DEVICES] = "devices",
    [CGROUP_FREEZER] = "freezer", [CGROUP_BLKIO] = "blkio",       [CGROUP_HUGETLB] = "hugetlb",
    [CGROUP_NET_CLS] = "net_cls", [CGROUP_NET_PRIO] = "net_prio", [CGROUP_PERF_EVENT] = "perf_event",
    [CGROUP_RDMA] = "rdma",       [CGROUP_UNIFIED] = "unified",
};

static const char *const capability_names[N_CAPABILITIES] = {
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
};

static const char *const rlimit_names[N_RLIMITS] = {
    "RLIMIT_CPU",      "RLIMIT_FSIZE", "RLIMIT_DATA",   "RLIMIT_STACK",
    "RLIMIT_CORE",     "RLIMIT_RSS",   "RLIMIT_NPROC",  "RLIMIT_NOFILE",
    "RLIMIT_MEMLOCK",  "RLIMIT_AS",    "RLIMIT_LOCKS",  "RLIMIT_SIGPENDING",
    "RLIMIT_MSGQUEUE", "RLIMIT_NICE",  "RLIMIT_RTPRIO", "RLIMIT_RTTIME",
};

static const struct {
    unsigned bit;
    const char *name;
} mount_flag_names[] = {
    {MOUNT_FLAG_REC, "MS_REC"},
    {MOUNT_FLAG_SLAVE, "MS_SLAVE"},
    {MOUNT_FLAG_SHARED, "MS_SHARED"},
    {MOUNT_FLAG_PRIVATE, "MS_PRIVATE"},
    {MOUNT_FLAG_UNBINDABLE, "MS_UNBINDABLE"},
    {MOUNT_FLAG_STRICTATIME, "MS_STRICTATIME"},
};

static int name_lookup(const char *const *names, size_t n, const char *name)
{
    if (!name)
        return -EINVAL;
    for (size_t i = 0; i < n; i++)
        if (names[i] && strcmp(names[i], name) == 0)
            return (int)i;
    return -EINVAL;
}

const char *cgroup_controller_name(enum cgroup_controller c)
{
    return (unsigned)c < _CGROUP_MAX ? controller_names[c] : NULL;
}

int cgroup_controller_from_name(const char *name)
{
    return name_lookup(controller_names, _CGROUP_MAX, name);
}

const char *capability_name(int cap)
{
    return cap >= 0 && cap < N_CAPABILITIES ? capability_names[cap] : NULL;
}

int capability_from_name(const char *name)
{
    return name_lookup(capability_names, N_CAPABILITIES, name);
}

const char *rlimit_type_name(int resource)
{
    return resource >= 0 && resource < N_RLIMITS ? rlimit_names[resource] : NULL;
}

int rlimit_type_from_name(const char *name)
{
    return name_lookup(rlimit_names, N_RLIMITS, name);
}

void runtime_features_init_host(struct runtime_features *f)
{
    *f = (struct runtime_features){
        .setns = true,
        .mount_namespace = true,
        .uts_namespace = true,
        .mount_via_proc_fd = true,
        .bind_remount = true,
        .devpts = true,
        .mount_flags_rejected = 0,
        .cgroup_controllers = (1u << _CGROUP_MAX) - 1,
        .capabilities = (UINT64_C(1) << N_CAPABILITIES) - 1,
        .ambient_capabilities = true,
        .session_keyring = true,
        .oom_score_adj_nul = true,
        .oom_score_adj_min = -1000,
        .rlimits = (UINT32_C(1) << N_RLIMITS) - 1,
        .proc_self_setgroups = true,
        .apparmor = true,
        .selinux = true,
    };
}

/* ---- probes ---- */

/* Joining our own network namespace changes nothing but tells whether setns works at all. The runtimes'
 * exec also needs the mount, pid, ipc and uts namespace files. */
static bool probe_setns(void)
{
    static const char *const needed[] = {"/proc/self/ns/mnt", "/proc/self/ns/pid", "/proc/self/ns/ipc",
                                         "/proc/self/ns/uts"};
    for (size_t i = 0; i < ARRAY_SIZE(needed); i++)
        if (access(needed[i], F_OK) < 0)
            return false;
    _cleanup_close_ int fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    return fd >= 0 && setns(fd, CLONE_NEWNET) == 0;
}

/* A new UTS namespace with a name of its own, in a child so that ours stays as it is. */
static bool probe_uts_namespace(void)
{
    pid_t pid = fork();
    if (pid < 0)
        return false;
    if (pid == 0)
        _exit(unshare(CLONE_NEWUTS) == 0 && sethostname("kig-probe", strlen("kig-probe")) == 0 ? 0 : 1);
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return false;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

struct mount_probe_result {
    bool marker_mounted; /* the isolation marker could be mounted at all */
    bool bind_remount;
    bool devpts;
    bool proc_fd;
    unsigned rejected;
};

static dev_t device_of(const char *path)
{
    struct stat st;
    return stat(path, &st) < 0 ? (dev_t)-1 : st.st_dev;
}

static void probe_flag(const char *dir, unsigned long flag, unsigned bit, struct mount_probe_result *res)
{
    if (mount_untrapped(NULL, dir, NULL, flag, NULL) < 0 && errno == EINVAL)
        res->rejected |= bit;
}

/* In the child: every mount is undone before returning, because where mount namespaces do not isolate
 * they are sandbox-wide. Only the isolation marker on dir_a stays: the parent decides from it.
 * The probes mount as kig-runtime's own mounts do (mount_untrapped): past kig-trace when their flags allow,
 * so that under containerd's tracer they measure the kernel, not the tracer's fixes (which would report a
 * mount on /proc/self/fd/N as working, and leave the container's mounts to the runtime, each a stop). */
static void mount_probes(const char *dir_a, const char *dir_b, const char *dir_c,
                         struct mount_probe_result *res)
{
    if (unshare(CLONE_NEWNS) == 0)
        (void)mount_untrapped(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
    res->marker_mounted = mount_untrapped("kig-probe", dir_a, "tmpfs", 0, "size=16k") == 0;

    if (mount_untrapped("kig-probe", dir_b, "tmpfs", 0, "size=16k") == 0) {
        if (mount_untrapped(dir_b, dir_c, NULL, MS_BIND | MS_REC, NULL) == 0)
            (void)umount2(dir_c, MNT_DETACH);
        else if (errno == EINVAL)
            res->rejected |= MOUNT_FLAG_REC;
        res->bind_remount = mount_untrapped(NULL, dir_b, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) == 0;
        probe_flag(dir_b, MS_PRIVATE, MOUNT_FLAG_PRIVATE, res);
        probe_flag(dir_b, MS_SHARED, MOUNT_FLAG_SHARED, res);
        probe_flag(dir_b, MS_SLAVE, MOUNT_FLAG_SLAVE, res);
        probe_flag(dir_b, MS_UNBINDABLE, MOUNT_FLAG_UNBINDABLE, res);
        (void)umount2(dir_b, MNT_DETACH);
    }
    if (mount_untrapped("kig-probe", dir_b, "tmpfs", MS_STRICTATIME, "size=16k") == 0)
        (void)umount2(dir_b, MNT_DETACH);
    else if (errno == EINVAL)
        res->rejected |= MOUNT_FLAG_STRICTATIME;

    if (mount_untrapped("devpts", dir_b, "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666") == 0) {
        res->devpts = true;
        (void)umount2(dir_b, MNT_DETACH);
    }

    _cleanup_close_ int fd = open(dir_b, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        char via[64];
        snprintf(via, sizeof(via), "/proc/self/fd/%d", fd);
        dev_t before = device_of(dir_b);
        if (mount_untrapped("kig-probe", via, "tmpfs", 0, "size=16k") == 0) {
            res->proc_fd = device_of(dir_b) != before;
            /* Where the magic link is not followed the mount sits on the link itself: undo it there. */
            (void)umount2(res->proc_fd ? dir_b : via, MNT_DETACH);
        }
    }
}

static void probe_mounts(struct runtime_features *f, const char *scratch_dir)
{
    f->mount_namespace = f->mount_via_proc_fd = f->bind_remount = f->devpts = false;
    f->mount_flags_rejected = 0;

    _cleanup_free_ char *tmpl = path_join(scratch_dir, "probe.XXXXXX");
    if (!tmpl || mkdir_p(scratch_dir, 0700) < 0 || !mkdtemp(tmpl))
        return;
    _cleanup_free_ char *a = path_join(tmpl, "a"), *b = path_join(tmpl, "b"), *c = path_join(tmpl, "c");
    int p[2] = {-1, -1};
    if (!a || !b || !c || mkdir(a, 0700) < 0 || mkdir(b, 0700) < 0 || mkdir(c, 0700) < 0 ||
        pipe2(p, O_CLOEXEC) < 0)
        goto out;

    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        struct mount_probe_result res = {0};
        mount_probes(a, b, c, &res);
        _exit(write(p[1], &res, sizeof(res)) == (ssize_t)sizeof(res) ? 0 : 1);
    }
    close(p[1]);
    struct mount_probe_result res = {0};
    bool got = pid > 0 && read(p[0], &res, sizeof(res)) == (ssize_t)sizeof(res);
    close(p[0]);
    if (pid > 0)
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
            ;
    if (got) {
        bool leaked = device_of(a) != device_of(tmpl);
        if (leaked)
            (void)umount2(a, MNT_DETACH);
        f->mount_namespace = res.marker_mounted && !leaked;
        f->bind_remount = res.bind_remount;
        f->devpts = res.devpts;
        f->mount_via_proc_fd = res.proc_fd;
        f->mount_flags_rejected = res.rejected;
    }
out:
    if (a)
        rmdir(a);
    if (b)
        rmdir(b);
    if (c)
        rmdir(c);
    rmdir(tmpl);
}

static void add_controllers_from_list(struct runtime_features *f, const char *list)
{
    for (int c = 0; c < _CGROUP_MAX; c++)
        if (c != CGROUP_UNIFIED && option_list_has(list, controller_names[c]))
            f->cgroup_controllers |= 1u << c;
}

/* A controller counts when a hierarchy carrying it is mounted: the runtimes use the mounted ones only.
 * A stand-in hierarchy (a plain tmpfs) is not a cgroup and does not count. */
static void probe_cgroups(struct runtime_features *f)
{
    f->cgroup_controllers = 0;
    struct mount_table t;
    if (mount_table_read(&t) < 0)
        return;
    for (size_t i = 0; i < t.n; i++) {
        const struct mount_entry *e = &t.entries[i];
        if (strcmp(e->fstype, "cgroup") == 0)
            add_controllers_from_list(f, e->super_options);
        else if (strcmp(e->fstype, "cgroup2") == 0) {
            _cleanup_free_ char *file = path_join(e->mount_point, "cgroup.controllers");
            _cleanup_free_ char *list = NULL;
            if (file && read_line(file, &list) == 0) {
                for (char *s = list; *s; s++)
                    if (*s == ' ')
                        *s = ',';
                add_controllers_from_list(f, list);
            }
            if (strcmp(e->mount_point, "/sys/fs/cgroup") == 0)
                f->cgroup_controllers |= 1u << CGROUP_UNIFIED | 1u << CGROUP_DEVICES;
        }
    }
    mount_table_free(&t);
}

static uint64_t status_hex(const char *status, const char *key)
{
    const char *p = strstr(status, key);
    return p ? strtoull(p + strlen(key), NULL, 16) : 0;
}

static void probe_capabilities(struct runtime_features *f)
{
    _cleanup_free_ char *status = NULL;
    f->capabilities = 0;
    if (read_file("/proc/self/status", &status, NULL, 0) == 0)
        f->capabilities = status_hex(status, "\nCapPrm:") & ((UINT64_C(1) << N_CAPABILITIES) - 1);
}

static bool probe_keyring(void)
{
    /* KEYCTL_GET_KEYRING_ID of the session keyring without creating one: no side effect. */
    long r = syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -3 /* KEY_SPEC_SESSION_KEYRING */, 0);
    return r >= 0 || (errno != EACCES && errno != EPERM && errno != ENOSYS && errno != EOPNOTSUPP);
}

static void probe_oom_score_adj(struct runtime_features *f)
{
    _cleanup_free_ char *value = NULL;
    f->oom_score_adj_nul = false;
    if (read_line("/proc/self/oom_score_adj", &value) < 0)
        return;
    f->oom_score_adj_min =
        f->capabilities & (UINT64_C(1) << CAP_SYS_RESOURCE_BIT) ? -1000 : (int)strtol(value, NULL, 10);
    /* runc writes the value with its terminating NUL; write ours back the same way. */
    _cleanup_close_ int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
    f->oom_score_adj_nul = fd >= 0 && write(fd, value, strlen(value) + 1) >= 0;
}

static void probe_rlimits(struct runtime_features *f)
{
    f->rlimits = 0;
    for (int r = 0; r < N_RLIMITS; r++) {
        struct rlimit rl;
        if (getrlimit(r, &rl) == 0 && setrlimit(r, &rl) == 0)
            f->rlimits |= UINT32_C(1) << r;
    }
}

static bool file_starts_with(const char *path, char c)
{
    _cleanup_free_ char *s = NULL;
    return read_line(path, &s) == 0 && s[0] == c;
}

void runtime_features_probe_process(struct runtime_features *f)
{
    probe_capabilities(f);
    f->ambient_capabilities = prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, 0, 0, 0) >= 0;
    f->session_keyring = probe_keyring();
    probe_oom_score_adj(f);
    probe_rlimits(f);
    f->proc_self_setgroups = access("/proc/self/setgroups", F_OK) == 0;
    f->apparmor = file_starts_with("/sys/module/apparmor/parameters/enabled", 'Y');
    f->selinux = access("/sys/fs/selinux/enforce", F_OK) == 0;
}

void runtime_features_probe(struct runtime_features *f, const char *scratch_dir)
{
    runtime_features_probe_cached(f, scratch_dir, NULL);
}

/* The kernel's facts (namespaces and mounts) from a cache written by this version of kig-runtime. */
static int load_kernel_facts(const char *cache_path, struct runtime_features *f)
{
    json_t *j = json_load_file(cache_path, 0, NULL);
    if (!j)
        return -ENOENT;
    const char *version = json_string_value(json_object_get(j, "kigVersion"));
    struct runtime_features cached;
    runtime_features_init_host(&cached);
    int r = !version || strcmp(version, KIG_VERSION) != 0 ? -ESTALE : runtime_features_from_json(j, &cached);
    json_decref(j);
    if (r < 0)
        return r;
    f->setns = cached.setns;
    f->mount_namespace = cached.mount_namespace;
    f->uts_namespace = cached.uts_namespace;
    f->mount_via_proc_fd = cached.mount_via_proc_fd;
    f->bind_remount = cached.bind_remount;
    f->devpts = cached.devpts;
    f->mount_flags_rejected = cached.mount_flags_rejected;
    return 0;
}

static void save_kernel_facts(const char *cache_path, const struct runtime_features *f)
{
    json_t *j = runtime_features_to_json(f);
    char *text = j && json_object_set_new(j, "kigVersion", json_string(KIG_VERSION)) == 0
                     ? json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER)
                     : NULL;
    json_decref(j);
    int r = text ? write_file_atomic(cache_path, text, strlen(text), 0644) : -ENOMEM;
    free(text);
    if (r < 0)
        log_debug_errno(r, "cannot cache the sandbox's features in %s: %m", cache_path);
}

void runtime_features_probe_cached(struct runtime_features *f, const char *scratch_dir,
                                   const char *cache_path)
{
    runtime_features_init_host(f);
    if (!cache_path || load_kernel_facts(cache_path, f) < 0) {
        f->setns = probe_setns();
        f->uts_namespace = probe_uts_namespace();
        probe_mounts(f, scratch_dir);
        if (cache_path)
            save_kernel_facts(cache_path, f);
    }
    probe_cgroups(f);
    runtime_features_probe_process(f);
}

/* ---- JSON ---- */

static json_t *names_array(const char *const *names, size_t n, uint64_t bits)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
        if (names[i] && (bits & (UINT64_C(1) << i)) && json_array_append_new(a, json_string(names[i])) < 0) {
            json_decref(a);
            return NULL;
        }
    return a;
}

json_t *runtime_features_to_json(const struct runtime_features *f)
{
    json_t *flags = json_array();
    for (size_t i = 0; flags && i < ARRAY_SIZE(mount_flag_names); i++)
        if (f->mount_flags_rejected & mount_flag_names[i].bit)
            json_array_append_new(flags, json_string(mount_flag_names[i].name));
    return json_pack(
        "{s:b, s:b, s:b, s:b, s:b, s:b, s:o*, s:o*, s:o*, s:b, s:b, s:b, s:i, s:o*, s:b, s:b, s:b}", "setns",
        f->setns, "mount_namespace", f->mount_namespace, "uts_namespace", f->uts_namespace,
        "mount_via_proc_fd", f->mount_via_proc_fd, "bind_remount", f->bind_remount, "devpts", f->devpts,
        "mount_flags_rejected", flags, "cgroup_controllers",
        names_array(controller_names, _CGROUP_MAX, f->cgroup_controllers), "capabilities",
        names_array(capability_names, N_CAPABILITIES, f->capabilities), "ambient_capabilities",
        f->ambient_capabilities, "session_keyring", f->session_keyring, "oom_score_adj_nul",
        f->oom_score_adj_nul, "oom_score_adj_min", f->oom_score_adj_min, "rlimits",
        names_array(rlimit_names, N_RLIMITS, f->rlimits), "proc_self_setgroups", f->proc_self_setgroups,
        "apparmor", f->apparmor, "selinux", f->selinux);
}

static int get_bool(const json_t *j, const char *key, bool *b)
{
    const json_t *v = json_object_get(j, key);
    if (!v)
        return 0;
    if (!json_is_boolean(v))
        return -EINVAL;
    *b = json_is_true(v);
    return 0;
}

/* A list of names becomes a bitmask; unknown names are ignored (a newer kernel's capability, say). */
static int get_names(const json_t *j, const char *key, const char *const *names, size_t n, uint64_t *bits)
{
    const json_t *v = json_object_get(j, key);
    if (!v)
        return 0;
    if (!json_is_array(v))
        return -EINVAL;
    uint64_t out = 0;
    size_t i;
    const json_t *e;
    json_array_foreach(v, i, e)
    {
        if (!json_is_string(e))
            return -EINVAL;
        int k = name_lookup(names, n, json_string_value(e));
        if (k >= 0)
            out |= UINT64_C(1) << k;
    }
    *bits = out;
    return 0;
}

static int features_from_flat(const json_t *j, struct runtime_features *f)
{
    static const struct {
        const char *key;
        size_t offset;
    } bools[] = {
        {"setns", offsetof(struct runtime_features, setns)},
        {"mount_namespace", offsetof(struct runtime_features, mount_namespace)},
        {"uts_namespace", offsetof(struct runtime_features, uts_namespace)},
        {"mount_via_proc_fd", offsetof(struct runtime_features, mount_via_proc_fd)},
        {"bind_remount", offsetof(struct runtime_features, bind_remount)},
        {"devpts", offsetof(struct runtime_features, devpts)},
        {"ambient_capabilities", offsetof(struct runtime_features, ambient_capabilities)},
        {"session_keyring", offsetof(struct runtime_features, session_keyring)},
        {"oom_score_adj_nul", offsetof(struct runtime_features, oom_score_adj_nul)},
        {"proc_self_setgroups", offsetof(struct runtime_features, proc_self_setgroups)},
        {"apparmor", offsetof(struct runtime_features, apparmor)},
        {"selinux", offsetof(struct runtime_features, selinux)},
    };
    for (size_t i = 0; i < ARRAY_SIZE(bools); i++)
        if (get_bool(j, bools[i].key, (bool *)((char *)f + bools[i].offset)) < 0)
            return -EINVAL;

    uint64_t bits;
    const json_t *flags = json_object_get(j, "mount_flags_rejected");
    if (flags) {
        if (!json_is_array(flags))
            return -EINVAL;
        unsigned out = 0;
        size_t i;
        const json_t *e;
        json_array_foreach(flags, i, e)
        {
            if (!json_is_string(e))
                return -EINVAL;
            for (size_t k = 0; k < ARRAY_SIZE(mount_flag_names); k++)
                if (strcmp(json_string_value(e), mount_flag_names[k].name) == 0)
                    out |= mount_flag_names[k].bit;
        }
        f->mount_flags_rejected = out;
    }
    bits = f->cgroup_controllers;
    if (get_names(j, "cgroup_controllers", controller_names, _CGROUP_MAX, &bits) < 0)
        return -EINVAL;
    f->cgroup_controllers = (unsigned)bits;
    if (get_names(j, "capabilities", capability_names, N_CAPABILITIES, &f->capabilities) < 0)
        return -EINVAL;
    bits = f->rlimits;
    if (get_names(j, "rlimits", rlimit_names, N_RLIMITS, &bits) < 0)
        return -EINVAL;
    f->rlimits = (uint32_t)bits;

    const json_t *v = json_object_get(j, "oom_score_adj_min");
    if (v) {
        if (!json_is_integer(v) || json_integer_value(v) < -1000 || json_integer_value(v) > 1000)
            return -EINVAL;
        f->oom_score_adj_min = (int)json_integer_value(v);
    }
    return 0;
}

/* `kig doctor --json` probe ids (src/kig/doctor/) and the field each one decides. */
static void apply_doctor_probe(struct runtime_features *f, const char *id, bool present, bool *setns_seen)
{
    static const struct {
        const char *id;
        size_t offset;
    } bools[] = {
        {"ns.mnt.isolation", offsetof(struct runtime_features, mount_namespace)},
        {"ns.unshare.uts", offsetof(struct runtime_features, uts_namespace)},
        {"mount.proc_fd", offsetof(struct runtime_features, mount_via_proc_fd)},
        {"mount.ms_remount", offsetof(struct runtime_features, bind_remount)},
        {"mount.devpts", offsetof(struct runtime_features, devpts)},
        {"process.keyring", offsetof(struct runtime_features, session_keyring)},
        {"process.oom_score_adj", offsetof(struct runtime_features, oom_score_adj_nul)},
        {"process.setgroups_file", offsetof(struct runtime_features, proc_self_setgroups)},
    };
    static const struct {
        const char *id;
        unsigned bit;
    } flags[] = {
        {"mount.ms_rec", MOUNT_FLAG_REC},
        {"mount.ms_slave", MOUNT_FLAG_SLAVE},
        {"mount.ms_shared", MOUNT_FLAG_SHARED},
        {"mount.ms_private", MOUNT_FLAG_PRIVATE},
        {"mount.ms_unbindable", MOUNT_FLAG_UNBINDABLE},
        {"mount.ms_strictatime", MOUNT_FLAG_STRICTATIME},
    };
    static const struct {
        const char *id;
        int cap;
    } caps[] = {{"caps.net_raw", 13}, {"caps.sys_admin", 21}, {"caps.sys_resource", CAP_SYS_RESOURCE_BIT}};

    for (size_t i = 0; i < ARRAY_SIZE(bools); i++)
        if (strcmp(id, bools[i].id) == 0)
            *(bool *)((char *)f + bools[i].offset) = present;
    for (size_t i = 0; i < ARRAY_SIZE(flags); i++)
        if (strcmp(id, flags[i].id) == 0) {
            if (present)
                f->mount_flags_rejected &= ~flags[i].bit;
            else
                f->mount_flags_rejected |= flags[i].bit;
        }
    for (size_t i = 0; i < ARRAY_SIZE(caps); i++)
        if (strcmp(id, caps[i].id) == 0) {
            if (present)
                f->capabilities |= UINT64_C(1) << caps[i].cap;
            else
                f->capabilities &= ~(UINT64_C(1) << caps[i].cap);
            if (caps[i].cap == CAP_SYS_RESOURCE_BIT && present)
                f->oom_score_adj_min = -1000;
        }
    /* Every namespace the runtimes join must be joinable. */
    if (strncmp(id, "setns.", 6) == 0) {
        f->setns = (*setns_seen ? f->setns : true) && present;
        *setns_seen = true;
    }
    int c = -1;
    if (strncmp(id, "cgroup.v1.", 10) == 0) {
        c = cgroup_controller_from_name(id + 10);
        if (c == CGROUP_UNIFIED)
            c = -1;
    } else if (strcmp(id, "cgroup.v2") == 0)
        c = CGROUP_UNIFIED;
    if (c >= 0) {
        if (present)
            f->cgroup_controllers |= 1u << c;
        else
            f->cgroup_controllers &= ~(1u << c);
    }
}

static int features_from_doctor(const json_t *probes, struct runtime_features *f)
{
    if (!json_is_array(probes))
        return -EINVAL;
    bool setns_seen = false;
    size_t i;
    const json_t *p;
    json_array_foreach(probes, i, p)
    {
        const char *id = json_string_value(json_object_get(p, "id"));
        const char *status = json_string_value(json_object_get(p, "status"));
        if (!id || !status)
            return -EINVAL;
        /* "error" means the probe could not tell: treat it as missing, as the report's readers must. */
        apply_doctor_probe(f, id, strcmp(status, "present") == 0, &setns_seen);
    }
    return 0;
}

int runtime_features_from_json(const json_t *j, struct runtime_features *f)
{
    if (!json_is_object(j))
        return -EINVAL;
    const json_t *probes = json_object_get(j, "probes");
    if (probes && json_object_get(j, "schema"))
        return features_from_doctor(probes, f);
    return features_from_flat(j, f);
}

int runtime_features_load_env(struct runtime_features *f)
{
    const char *path = getenv("KIG_FEATURES_FILE");
    if (!path || !*path)
        return 0;
    json_error_t err;
    json_t *j = json_load_file(path, 0, &err);
    if (!j)
        return log_error_errno(EINVAL, "cannot load KIG_FEATURES_FILE=%s: %s (line %d); fix or unset it",
                               path, err.text, err.line);
    int r = runtime_features_from_json(j, f);
    json_decref(j);
    if (r < 0)
        return log_error_errno(r,
                               "KIG_FEATURES_FILE=%s has a value of the wrong type; regenerate it with "
                               "'kig-runtime probe'",
                               path);
    return 0;
}
