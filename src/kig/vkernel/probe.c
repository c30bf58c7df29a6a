/* vkernel's own small runtime probe: fills struct sandbox_features from the live system.
 *
 * Read-only checks run in this process. Everything that mounts runs in a forked child that first moves
 * to a private mount namespace (on gVisor 20221219 that is a silent no-op, so the child unmounts each
 * thing right after mounting it), under a scratch directory that is removed afterwards. */
#include "cgroup-files.h"
#include "plan.h"
#include "sysctl-table.h"

#include "fileutil.h"
#include "log.h"
#include "macro.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

/* gVisor's uname version on every release (see src/kig/doctor/probe-system.c). */
#define GVISOR_UNAME_VERSION "#1 SMP Sun Jan 10 15:06:54 PST 2016"
#define PROBE_TIMEOUT_MS     15000

static bool sysctl_writable(const char *path, const char *value)
{
    /* Writing the value back changes nothing, and is the one test that also catches gVisor's EIO on
     * read-only knobs (open(O_WRONLY) succeeds there). */
    if (!value)
        return false;
    _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    size_t len = strlen(value);
    return write(fd, value, len) == (ssize_t)len;
}

static int add_sysctl_entry(struct sandbox_features *f, const char *rel)
{
    _cleanup_free_ char *path = path_join("/proc/sys", rel);
    if (!path)
        return -ENOMEM;
    struct stat st;
    if (lstat(path, &st) < 0)
        return 0;
    if (S_ISDIR(st.st_mode))
        return sandbox_features_add_sysctl(f, rel, true, false, NULL);
    _cleanup_free_ char *value = NULL;
    if (read_line(path, &value) < 0)
        value = NULL;
    bool writable = sysctl_spec_find(rel) && sysctl_writable(path, value);
    return sandbox_features_add_sysctl(f, rel, false, writable, value);
}

static int walk_sysctl(struct sandbox_features *f, const char *rel, int depth)
{
    int r = add_sysctl_entry(f, rel);
    if (r < 0 || depth > 4)
        return r;
    _cleanup_free_ char *path = path_join("/proc/sys", rel);
    if (!path)
        return -ENOMEM;
    DIR *d = opendir(path);
    if (!d)
        return 0;
    struct dirent *de;
    while (r >= 0 && (de = readdir(d))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        _cleanup_free_ char *child = path_join(rel, de->d_name);
        if (!child) {
            r = -ENOMEM;
            break;
        }
        struct stat st;
        _cleanup_free_ char *abs = path_join("/proc/sys", child);
        if (abs && lstat(abs, &st) == 0 && S_ISDIR(st.st_mode))
            r = walk_sysctl(f, child, depth + 1);
        else
            r = add_sysctl_entry(f, child);
    }
    closedir(d);
    return r;
}

static int probe_sysctl(struct sandbox_features *f)
{
    int r = walk_sysctl(f, "kernel", 0);
    if (r >= 0)
        r = walk_sysctl(f, "vm", 0);
    if (r >= 0)
        r = add_sysctl_entry(f, "net");
    /* net/: only the entries the table names, with every directory on their way. */
    for (size_t i = 0; i < sysctl_table_size && r >= 0; i++) {
        const char *p = sysctl_table[i].path;
        for (const char *s = p; r >= 0 && (s = strchr(s, '/')); s++) {
            char dir[256];
            snprintf(dir, sizeof(dir), "%.*s", (int)(s - p), p);
            r = add_sysctl_entry(f, dir);
        }
        if (r >= 0)
            r = add_sysctl_entry(f, p);
    }
    return r;
}

static int probe_cap_last_cap(void)
{
    _cleanup_free_ char *status = NULL;
    if (read_file("/proc/self/status", &status, NULL, 0) < 0)
        return -1;
    const char *line = strstr(status, "\nCapBnd:");
    if (!line)
        return -1;
    unsigned long long mask = strtoull(line + strlen("\nCapBnd:"), NULL, 16);
    int last = -1;
    for (int bit = 0; bit < 64; bit++)
        if (mask & (1ULL << bit))
            last = bit;
    return last;
}

static void random_uuid(char buf[37])
{
    unsigned char b[16] = {0};
    if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b)) {
        /* No entropy source: a UUID derived from time and pid still differs between boots. */
        unsigned long long t = (unsigned long long)time(NULL) ^ ((unsigned long long)getpid() << 32);
        memcpy(b, &t, sizeof(t));
    }
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    snprintf(buf, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
             b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

static bool is_mount_point(const char *path)
{
    struct stat st, parent;
    _cleanup_free_ char *up = path_join(path, "..");
    return up && stat(path, &st) == 0 && stat(up, &parent) == 0 && st.st_dev != parent.st_dev;
}

/* Which v1 controllers are mounted somewhere, from mountinfo's super options. */
static void probe_mounted_controllers(struct sandbox_features *f)
{
    _cleanup_fclose_ FILE *mi = fopen("/proc/self/mountinfo", "re");
    if (!mi)
        return;
    char line[4096];
    while (fgets(line, sizeof(line), mi)) {
        char *sep = strstr(line, " - ");
        if (!sep)
            continue;
        char fstype[64], source[256], options[2048];
        if (sscanf(sep + 3, "%63s %255s %2047s", fstype, source, options) != 3 ||
            strcmp(fstype, "cgroup") != 0)
            continue;
        char *save = NULL;
        for (char *opt = strtok_r(options, ",", &save); opt; opt = strtok_r(NULL, ",", &save)) {
            int c = cgroup_controller_from_name(opt);
            if (c >= 0)
                f->controller[c].mounted = f->controller[c].mountable = true;
        }
    }
}

static enum cgroup_layout probe_cgroup_layout(void)
{
    struct statfs sfs;
    if (statfs(VKERNEL_CGROUP_ROOT, &sfs) < 0)
        return CGROUP_LAYOUT_OTHER;
    if (sfs.f_type == CGROUP2_SUPER_MAGIC)
        return CGROUP_LAYOUT_V2;
    if (!is_mount_point(VKERNEL_CGROUP_ROOT))
        return CGROUP_LAYOUT_EMPTY;
    if (sfs.f_type != TMPFS_MAGIC)
        return CGROUP_LAYOUT_OTHER;
    struct statfs unified;
    if (statfs(VKERNEL_CGROUP_ROOT "/unified", &unified) == 0 && unified.f_type == CGROUP2_SUPER_MAGIC)
        return CGROUP_LAYOUT_HYBRID;
    return CGROUP_LAYOUT_V1;
}

/* What the mounting child reports back through a pipe. */
struct mount_results {
    bool tmpfs, bind_mount_file, proc_sys_tmpfs, overlay, fuse, cgroup2;
    bool controller[_CGROUP_CONTROLLER_MAX];
    bool gap[_CGROUP_GAP_MAX];
    bool file_statfs, mount_twice;
};

static bool try_mount(const char *source, const char *target, const char *fstype, unsigned long flags,
                      const char *data)
{
    if (mount(source, target, fstype, flags, data) < 0)
        return false;
    if (umount2(target, 0) < 0)
        (void)umount2(target, MNT_DETACH);
    return true;
}

static bool probe_bind_file(const char *dir)
{
    _cleanup_free_ char *a = path_join(dir, "bind-a"), *b = path_join(dir, "bind-b");
    if (!a || !b || write_file_atomic(a, "a", 1, 0600) < 0 || write_file_atomic(b, "b", 1, 0600) < 0)
        return false;
    bool ok = try_mount(a, b, NULL, MS_BIND, NULL);
    unlink(a);
    unlink(b);
    return ok;
}

static bool probe_overlay(const char *dir)
{
    const char *names[] = {"lower", "upper", "work", "merged"};
    char paths[4][512];
    for (size_t i = 0; i < 4; i++) {
        snprintf(paths[i], sizeof(paths[i]), "%s/ovl-%s", dir, names[i]);
        if (mkdir(paths[i], 0700) < 0)
            return false;
    }
    char data[2048];
    snprintf(data, sizeof(data), "lowerdir=%s,upperdir=%s,workdir=%s", paths[0], paths[1], paths[2]);
    bool ok = try_mount("overlay", paths[3], "overlay", 0, data);
    /* overlayfs leaves a "work" directory (mode 000) inside workdir: rm_rf handles it. */
    for (size_t i = 0; i < 4; i++)
        rm_rf(paths[i]);
    return ok;
}

static bool probe_fuse(const char *dir)
{
    _cleanup_close_ int fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return false;
    _cleanup_free_ char *mnt = path_join(dir, "fuse");
    if (!mnt || mkdir(mnt, 0700) < 0)
        return false;
    char data[128];
    snprintf(data, sizeof(data), "fd=%d,rootmode=40000,user_id=0,group_id=0", fd);
    /* Nothing ever touches the mount (that would wait for a FUSE server): mount and unmount only. */
    bool ok = mount("kig-probe", mnt, "fuse", MS_NOSUID | MS_NODEV, data) == 0;
    if (ok && umount2(mnt, 0) < 0)
        (void)umount2(mnt, MNT_DETACH);
    rmdir(mnt);
    return ok;
}

static bool file_exists_at(const char *dir, const char *name)
{
    _cleanup_free_ char *p = path_join(dir, name);
    return p && access(p, F_OK) == 0;
}

static bool fstatfs_is_cgroup(const char *dir)
{
    _cleanup_free_ char *p = path_join(dir, "cgroup.procs");
    _cleanup_close_ int fd = p ? open(p, O_RDONLY | O_CLOEXEC) : -1;
    struct statfs sfs;
    return fd >= 0 && fstatfs(fd, &sfs) == 0 && sfs.f_type == CGROUP_SUPER_MAGIC;
}

static void probe_controller(const struct sandbox_features *f, enum cgroup_controller c, const char *dir,
                             struct mount_results *res)
{
    const char *name = cgroup_controller_name(c);
    _cleanup_free_ char *mnt = path_join(dir, name);
    _cleanup_free_ char *second = path_join(dir, "second");
    if (!mnt || !second || mkdir(mnt, 0700) < 0)
        return;
    if (mount(name, mnt, "cgroup", 0, name) == 0) {
        res->controller[c] = true;
        for (int g = 0; g < _CGROUP_GAP_MAX; g++)
            if (cgroup_gap_controller(g) == c)
                res->gap[g] = !file_exists_at(mnt, cgroup_gap_file(g));
        res->file_statfs = res->file_statfs || fstatfs_is_cgroup(mnt);
        if (!res->mount_twice && mkdir(second, 0700) == 0) {
            res->mount_twice = try_mount(name, second, "cgroup", 0, name);
            rmdir(second);
        }
        if (umount2(mnt, 0) < 0)
            (void)umount2(mnt, MNT_DETACH);
    } else if (f->controller[c].mounted) {
        /* Mounted already (a v1 host keeps it busy for a new mount with other options): it is there. */
        res->controller[c] = true;
    }
    rmdir(mnt);
}

static void mount_child(const struct sandbox_features *f, const char *dir, struct mount_results *res)
{
    if (unshare(CLONE_NEWNS) == 0)
        (void)mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL); /* EINVAL on gVisor: no namespace anyway */

    _cleanup_free_ char *scratch = path_join(dir, "tmpfs");
    if (!scratch || mkdir(scratch, 0700) < 0)
        return;
    res->tmpfs = mount("kig-probe", scratch, "tmpfs", 0, "mode=0700") == 0;
    if (res->tmpfs) {
        /* Everything else happens inside this tmpfs, so one umount cleans up whatever is left. */
        res->bind_mount_file = probe_bind_file(scratch);
        res->overlay = probe_overlay(scratch);
        res->fuse = probe_fuse(scratch);
        for (int c = 0; c < _CGROUP_CONTROLLER_MAX; c++)
            probe_controller(f, c, scratch, res);
        _cleanup_free_ char *cg2 = path_join(scratch, "cgroup2");
        if (cg2 && mkdir(cg2, 0700) == 0)
            res->cgroup2 = try_mount("cgroup2", cg2, "cgroup2", 0, NULL);
        if (umount2(scratch, 0) < 0)
            (void)umount2(scratch, MNT_DETACH);
    }
    rmdir(scratch);

    /* A tmpfs over a /proc/sys directory: the least used one there is (kernel/yama on gVisor). */
    const char *target = is_dir("/proc/sys/kernel/yama") ? "/proc/sys/kernel/yama" : "/proc/sys/kernel";
    res->proc_sys_tmpfs = try_mount("kig-probe", target, "tmpfs", 0, "mode=0555");
}

static int run_mount_probes(const struct sandbox_features *f, const char *scratch_parent,
                            struct mount_results *res)
{
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s/kig-vkernel-probe.XXXXXX", scratch_parent ? scratch_parent : "/tmp");
    if (!mkdtemp(dir))
        return log_error_errno(errno, "cannot make a scratch directory %s: %m", dir);

    int fds[2];
    if (pipe2(fds, O_CLOEXEC) < 0) {
        rm_rf(dir);
        return negative_errno();
    }
    pid_t pid = fork();
    if (pid < 0) {
        int r = negative_errno();
        close(fds[0]);
        close(fds[1]);
        rm_rf(dir);
        return r;
    }
    if (pid == 0) {
        close(fds[0]);
        struct mount_results out = {0};
        mount_child(f, dir, &out);
        ssize_t w = write(fds[1], &out, sizeof(out));
        _exit(w == (ssize_t)sizeof(out) ? 0 : 1);
    }
    close(fds[1]);
    struct pollfd pfd = {.fd = fds[0], .events = POLLIN};
    int n = poll(&pfd, 1, PROBE_TIMEOUT_MS);
    ssize_t got = n > 0 ? read(fds[0], res, sizeof(*res)) : -1;
    close(fds[0]);
    if (got != (ssize_t)sizeof(*res)) {
        kill(pid, SIGKILL);
        memset(res, 0, sizeof(*res));
        log_warn("the mount probes did not finish; every mount-based feature reads as missing");
    }
    (void)waitpid(pid, NULL, 0);
    rm_rf(dir);
    return 0;
}

int vkernel_probe_features(const char *scratch_parent, struct sandbox_features *ret)
{
    struct sandbox_features f = {.cap_last_cap = -1};
    struct utsname u;
    if (uname(&u) == 0) {
        f.is_gvisor = strcmp(u.version, GVISOR_UNAME_VERSION) == 0 || strstr(u.release, "gvisor");
        f.kernel_release = strdup(u.release);
        if (!f.kernel_release)
            return -ENOMEM;
    }
    random_uuid(f.boot_id);
    f.cap_last_cap = probe_cap_last_cap();
    int r = probe_sysctl(&f);
    if (r < 0) {
        sandbox_features_done(&f);
        return r;
    }
    f.cgroup_layout = probe_cgroup_layout();
    probe_mounted_controllers(&f);
    f.dev_kmsg = access("/dev/kmsg", F_OK) == 0;
    struct stat st;
    f.dev_null = stat("/dev/null", &st) == 0 && S_ISCHR(st.st_mode);

    struct mount_results res = {0};
    r = run_mount_probes(&f, scratch_parent, &res);
    if (r < 0) {
        sandbox_features_done(&f);
        return r;
    }
    f.tmpfs = res.tmpfs;
    f.bind_mount_file = res.bind_mount_file;
    f.proc_sys_tmpfs_mountable = res.proc_sys_tmpfs;
    f.overlay = res.overlay;
    f.fuse = res.fuse;
    f.cgroup2_mountable = res.cgroup2;
    for (int c = 0; c < _CGROUP_CONTROLLER_MAX; c++)
        f.controller[c].mountable = f.controller[c].mountable || res.controller[c];
    for (int g = 0; g < _CGROUP_GAP_MAX; g++)
        f.cgroup_gap[g] = res.gap[g];
    f.cgroup_file_statfs = res.file_statfs;
    f.cgroup_mount_twice = res.mount_twice;
    *ret = f;
    return 0;
}
