/* mount(2) as the runtimes and kubelet use it: filesystems, bind and overlay, propagation and remount flags,
 * MS_MOVE/pivot_root, devpts, and mounts through /proc/self/fd/N. Every probe runs in a private mount
 * namespace on Linux and unmounts what it mounted (gVisor 20221219 ignores mount namespaces). */
#include "probe.h"

#include "fileutil.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "mountinfo.h"

#define TMPFS_MAGIC 0x01021994UL

static unsigned long magic_of(const char *path)
{
    struct statfs s;
    return statfs(path, &s) == 0 ? (unsigned long)s.f_type : 0;
}

static void undo(const char *dir)
{
    if (umount2(dir, 0) < 0)
        umount2(dir, MNT_DETACH);
}

static int mount_tmpfs(const char *dir, unsigned long flags)
{
    if (mount("kig-doctor", dir, "tmpfs", MS_NOSUID | MS_NODEV | flags, "size=1m,mode=0700") < 0)
        return negative_errno();
    probe_fault_after_mount();
    return 0;
}

/* <scratch>/<id>[/sub]: made on demand. */
static bool scratch(const struct probe *p, const struct probe_context *ctx, const char *sub, char *buf,
                    size_t size, struct probe_result *res)
{
    int r = probe_scratch_dir(ctx, p->id, buf, size);
    if (r == 0 && sub) {
        size_t n = strlen(buf);
        if (snprintf(buf + n, size - n, "/%s", sub) >= (int)(size - n))
            r = -ENAMETOOLONG;
        else if (mkdir(buf, 0700) < 0 && errno != EEXIST)
            r = negative_errno();
    }
    if (r < 0)
        probe_set_errno(res, DOCTOR_ERROR, r, "scratch directory");
    return r == 0;
}

static void probe_tmpfs(const struct probe *p, const struct probe_context *ctx, struct probe_result *res)
{
    char dir[512];
    if (!scratch(p, ctx, NULL, dir, sizeof(dir), res))
        return;
    int r = mount_tmpfs(dir, 0);
    if (r < 0) {
        probe_set_errno(res, probe_status_for_errno(r), r, "mount -t tmpfs");
        return;
    }
    unsigned long magic = magic_of(dir);
    undo(dir);
    probe_set(res, magic == TMPFS_MAGIC ? DOCTOR_PRESENT : DOCTOR_PARTIAL, "mounted, magic 0x%lx", magic);
}

static void probe_bind(const struct probe *p, const struct probe_context *ctx, struct probe_result *res)
{
    char src[512], dst[512], marker[600], seen[600];
    if (!scratch(p, ctx, "src", src, sizeof(src), res) || !scratch(p, ctx, "dst", dst, sizeof(dst), res))
        return;
    snprintf(marker, sizeof(marker), "%s/marker", src);
    snprintf(seen, sizeof(seen), "%s/marker", dst);
    int r = write_file_atomic(marker, "x", 1, 0600);
    if (r < 0) {
        probe_set_errno(res, DOCTOR_ERROR, r, "scratch file");
        return;
    }
    if (mount(src, dst, NULL, MS_BIND, NULL) < 0) {
        int e = errno;
        probe_set_errno(res, probe_status_for_errno(e), e, "mount --bind");
        return;
    }
    bool visible = access(seen, F_OK) == 0;
    undo(dst);
    probe_set(res, visible ? DOCTOR_PRESENT : DOCTOR_PARTIAL, "%s",
              visible ? "bound a directory; its file is visible at the target"
                      : "mount succeeded but the source's file is not visible at the target");
}

static void probe_overlay(const struct probe *p, const struct probe_context *ctx, struct probe_result *res)
{
    char base[512], path[600], opts[2200], merged[600];
    if (!scratch(p, ctx, NULL, base, sizeof(base), res))
        return;
    /* on a tmpfs, where containerd's snapshots live under kig */
    int r = mount_tmpfs(base, 0);
    if (r < 0) {
        probe_set_errno(res, DOCTOR_ERROR, r, "not run: tmpfs for the layers");
        return;
    }
    static const char *const dirs[] = {"lower", "upper", "work", "merged"};
    for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
        snprintf(path, sizeof(path), "%s/%s", base, dirs[i]);
        mkdir(path, 0700);
    }
    snprintf(path, sizeof(path), "%s/lower/marker", base);
    write_file_atomic(path, "x", 1, 0600);
    snprintf(opts, sizeof(opts), "lowerdir=%s/lower,upperdir=%s/upper,workdir=%s/work", base, base, base);
    snprintf(merged, sizeof(merged), "%s/merged", base);
    if (mount("overlay", merged, "overlay", 0, opts) < 0) {
        int e = errno;
        undo(base);
        probe_set_errno(res, probe_status_for_errno(e), e, "mount -t overlay");
        return;
    }
    snprintf(path, sizeof(path), "%s/merged/marker", base);
    bool visible = access(path, F_OK) == 0;
    unsigned long magic = magic_of(merged);
    undo(merged);
    undo(base);
    probe_set(res, visible ? DOCTOR_PRESENT : DOCTOR_PARTIAL, "mounted on tmpfs, magic 0x%lx%s", magic,
              visible ? "" : ", lower file not visible");
}

/* Propagation and remount flags applied to a fresh tmpfs. */
static void probe_flag(const struct probe *p, const struct probe_context *ctx, struct probe_result *res)
{
    char dir[512];
    if (!scratch(p, ctx, NULL, dir, sizeof(dir), res))
        return;
    int r = mount_tmpfs(dir, 0);
    if (r < 0) {
        probe_set_errno(res, DOCTOR_ERROR, r, "not run: tmpfs");
        return;
    }
    if (mount(NULL, dir, NULL, p->flags, NULL) < 0) {
        int e = errno;
        undo(dir);
        probe_set_errno(res, probe_status_for_errno(e), e, "mount(%s)", p->arg);
        return;
    }
    bool ro_ok = true;
    if (p->flags & MS_RDONLY) {
        struct statvfs v;
        ro_ok = statvfs(dir, &v) == 0 && (v.f_flag & ST_RDONLY);
    }
    undo(dir);
    if (!ro_ok)
        probe_set(res, DOCTOR_PARTIAL, "mount(%s) succeeded but the mount is not read-only", p->arg);
    else
        probe_set(res, DOCTOR_PRESENT, "mount(%s) on a tmpfs: ok", p->arg);
}

static void probe_strictatime(const struct probe *p, const struct probe_context *ctx,
                              struct probe_result *res)
{
    char dir[512];
    if (!scratch(p, ctx, NULL, dir, sizeof(dir), res))
        return;
    int r = mount_tmpfs(dir, MS_STRICTATIME);
    if (r < 0) {
        probe_set_errno(res, probe_status_for_errno(r), r, "mount -t tmpfs -o strictatime");
        return;
    }
    undo(dir);
    probe_set(res, DOCTOR_PRESENT, "mounted a tmpfs with MS_STRICTATIME");
}

static void probe_move(const struct probe *p, const struct probe_context *ctx, struct probe_result *res)
{
    char a[512], b[512];
    if (!scratch(p, ctx, "a", a, sizeof(a), res) || !scratch(p, ctx, "b", b, sizeof(b), res))
        return;
    int r = mount_tmpfs(a, 0);
    if (r < 0) {
        probe_set_errno(res, DOCTOR_ERROR, r, "not run: tmpfs");
        return;
    }
    if (mount(a, b, NULL, MS_MOVE, NULL) < 0) {
        int e = errno;
        undo(a);
        probe_set_errno(res, probe_status_for_errno(e), e, "mount(MS_MOVE)");
        return;
    }
    unsigned long moved = magic_of(b);
    undo(b);
    probe_set(res, moved == TMPFS_MAGIC ? DOCTOR_PRESENT : DOCTOR_PARTIAL,
              "moved a tmpfs, target magic 0x%lx", moved);
}

static int ns_inode(const char *path, ino_t *ret)
{
    struct stat st;
    if (stat(path, &st) < 0)
        return negative_errno();
    *ret = st.st_ino;
    return 0;
}

struct pivot_args {
    char dir[512];
};

/* In a grandchild that has its own mount namespace: pivot into a tmpfs, then just exit (the namespace dies
 * with it). */
static int pivot_step(void *arg)
{
    struct pivot_args *a = arg;
    ino_t before, after;
    if (ns_inode("/proc/self/ns/mnt", &before) < 0)
        return -ENOTSUP;
    if (unshare(CLONE_NEWNS) < 0)
        return negative_errno();
    /* A pivot that is not confined to a namespace would move the whole sandbox: only go on when the
     * namespace really changed. */
    if (ns_inode("/proc/self/ns/mnt", &after) < 0 || after == before)
        return -ENOTSUP;
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        return -ENOTSUP;
    int r = mount_tmpfs(a->dir, 0);
    if (r < 0)
        return r;
    char old[600];
    snprintf(old, sizeof(old), "%s/old", a->dir);
    if (mkdir(old, 0700) < 0)
        return negative_errno();
    if (syscall(SYS_pivot_root, a->dir, old) < 0)
        return negative_errno();
    return 0;
}

static void probe_pivot_root(const struct probe *p, const struct probe_context *ctx, struct probe_result *res)
{
    struct pivot_args a;
    if (!scratch(p, ctx, NULL, a.dir, sizeof(a.dir), res))
        return;
    int r = probe_fork_call(pivot_step, &a, 8000);
    if (r == -ENOTSUP)
        probe_set(res, DOCTOR_MISSING,
                  "not tried: no separate mount namespace to pivot in (would move the whole "
                  "sandbox)");
    else if (r < 0)
        probe_set_errno(res, probe_status_for_errno(r), r, "pivot_root");
    else
        probe_set(res, DOCTOR_PRESENT, "pivoted into a tmpfs in a new mount namespace");
    rmdir(a.dir);
}

static void probe_devpts(const struct probe *p, const struct probe_context *ctx, struct probe_result *res)
{
    char dir[512];
    if (!scratch(p, ctx, NULL, dir, sizeof(dir), res))
        return;
    if (mount("devpts", dir, "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620") < 0) {
        int e = errno;
        probe_set_errno(res, probe_status_for_errno(e), e, "mount -t devpts -o newinstance");
        return;
    }
    undo(dir);
    probe_set(res, DOCTOR_PRESENT, "mounted a new devpts instance");
}

/* runc and crun mount onto /proc/self/fd/N (an O_PATH fd of the target) to defeat symlink races: the kernel
 * follows the magic link. gVisor 20221219 mounts on the link itself. */
static void probe_proc_fd(const struct probe *p, const struct probe_context *ctx, struct probe_result *res)
{
    char dir[512], link[64];
    if (!scratch(p, ctx, NULL, dir, sizeof(dir), res))
        return;
    _cleanup_close_ int fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        probe_set_errno(res, DOCTOR_ERROR, errno, "open O_PATH");
        return;
    }
    snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
    if (mount("kig-doctor", link, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m") < 0) {
        int e = errno;
        probe_set_errno(res, probe_status_for_errno(e), e, "mount on %s", link);
        return;
    }
    probe_fault_after_mount();
    if (magic_of(dir) == TMPFS_MAGIC) {
        undo(dir);
        probe_set(res, DOCTOR_PRESENT, "the mount landed on the target directory");
        return;
    }
    /* where did it go? */
    char where[256] = "somewhere else";
    struct mount_table t;
    if (mount_table_read(&t) == 0) {
        for (size_t i = t.n; i > 0; i--) {
            const char *mp = t.entries[i - 1].mountpoint;
            if (strncmp(mp, "/proc/", 6) == 0 && strstr(mp, "/fd/")) {
                snprintf(where, sizeof(where), "on the link %.200s", mp);
                break;
            }
        }
        mount_table_done(&t);
    }
    if (umount2(link, UMOUNT_NOFOLLOW) < 0)
        umount2(link, UMOUNT_NOFOLLOW | MNT_DETACH);
    probe_set(res, DOCTOR_MISSING, "the mount landed %s, not on the target", where);
}

#define TRACE_FIXUP "kig-trace rewrites the mount call"

static const struct probe probes[] = {
    {.id = "mount.tmpfs",
     .category = "mount",
     .summary = "tmpfs mounts (kig's state directories, /proc/sys overlays, containers)",
     .fallback = "none: kig cannot run",
     .isolation = PROBE_CHILD_MOUNTNS,
     .run = probe_tmpfs},
    {.id = "mount.bind",
     .category = "mount",
     .summary = "bind mounts (runtimes: volumes, /etc/hosts, ...)",
     .fallback = "none: containers cannot run",
     .isolation = PROBE_CHILD_MOUNTNS,
     .run = probe_bind},
    {.id = "mount.overlay",
     .category = "mount",
     .summary = "overlay on tmpfs (containerd's overlayfs snapshotter)",
     .fallback = "containerd native snapshotter",
     .isolation = PROBE_CHILD_MOUNTNS,
     .run = probe_overlay},
    {.id = "mount.ms_rec",
     .category = "mount",
     .summary = "MS_REC with a propagation change (runtimes, kubelet rshared)",
     .fallback = "kig-trace drops MS_REC from mount calls",
     .isolation = PROBE_CHILD_MOUNTNS,
     .run = probe_flag,
     .arg = "MS_REC|MS_PRIVATE",
     .flags = MS_REC | MS_PRIVATE},
    {.id = "mount.ms_private",
     .category = "mount",
     .summary = "MS_PRIVATE propagation (runtimes)",
     .fallback = TRACE_FIXUP,
     .isolation = PROBE_CHILD_MOUNTNS,
     .run = probe_flag,
     .arg = "MS_PRIVATE",
     .flags = MS_PRIVATE},
    {.id = "mount.ms_slave",
     .category = "mount",
     .summary = "MS_SLAVE propagation (runtimes: rootfsPropagation)",
     .fallback = "kig-trace maps MS_SLAVE to MS_PRIVATE",
     .isolation = PROBE_CHILD_MOUNTNS,
     .run = probe_flag,
     .arg = "MS_SLAVE",
     .flags = MS_SLAVE},
    {.id = "mount.ms_shared",
     .category = "mount",
     .summary = "MS_SHARED propagation (kubelet makes its root directory shared)",
     .fallback = "kubelet root directory left private: no mount propagation into pods",
     .isolation = PROBE_CHILD_MOUNTNS,
     .run = probe_flag,
     .arg = "MS_SHARED",
     .flags = MS_SHARED},
    {.id = "mount.ms_unbindable",
     .category = "mount",
     .summary = "MS_UNBINDABLE propagation (runtimes)",
     .fallback = "kig-trace maps MS_UNBINDABLE to MS_PRIVATE",
     .isolation = PROBE_CHILD_MOUNTNS,
     .run = probe_flag,
     .arg = "MS_UNBINDABLE",
     .flags = MS_UNBINDABLE},
    {.id = "mount.ms_remount",
     .category = "mount",
     .summary = "read-only bind remount (runtimes: readonlyPaths, read-only rootfs)",
     .fallback = "readonlyPaths and read-only remounts dropped from container specs",
     .isolation = PROBE_CHILD_MOUNTNS,
     .run = probe_flag,
     .arg = "MS_REMOUNT|MS_BIND|MS_RDONLY",
     .flags = MS_REMOUNT | MS_BIND | MS_RDONLY},
    {.id = "mount.ms_strictatime",
     .category = "mount",
     .summary = "MS_STRICTATIME (runtimes mount /dev with it)",
     .fallback = "kig-trace drops MS_STRICTATIME",
     .isolation = PROBE_CHILD_MOUNTNS,
     .run = probe_strictatime},
    {.id = "mount.ms_move",
     .category = "mount",
     .summary = "MS_MOVE (runtimes without pivot_root)",
     .fallback = "runtimes chroot (no pivot, no move)",
     .isolation = PROBE_CHILD_MOUNTNS,
     .run = probe_move},
    {.id = "mount.pivot_root",
     .category = "mount",
     .summary = "pivot_root in a new mount namespace (runc, crun)",
     .fallback = "runtimes chroot (no mount namespace in specs)",
     .isolation = PROBE_CHILD_MOUNTNS,
     .run = probe_pivot_root},
    {.id = "mount.devpts",
     .category = "mount",
     .summary = "a new devpts instance (runtimes mount one per container)",
     .fallback = "bind the sandbox's /dev/pts into containers",
     .isolation = PROBE_CHILD_MOUNTNS,
     .run = probe_devpts},
    {.id = "mount.proc_fd",
     .category = "mount",
     .summary = "a mount on /proc/self/fd/N reaches the fd's directory (runc, crun)",
     .fallback = "kig-trace resolves /proc/self/fd/N mount targets inside the tracee",
     .isolation = PROBE_CHILD_MOUNTNS,
     .run = probe_proc_fd,
     .mounts_at = "/proc/*/fd/*"},
};

PROBE_TABLE(probe_table_mount, probes);
