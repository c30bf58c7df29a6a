/* Filesystem probes for kig-trace tests: statfs types, opening redirected paths in every way a path can
 * be given, mounts through /proc/self/fd/N and marked to pass untrapped, fchown on a pipe. They print what
 * the kernel answered. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "mount-untrapped.h"

#define TMPFS_MAGIC_ 0x01021994
#define NSFS_MAGIC_  0x6e736673

static int do_statfs(const char *path)
{
    struct statfs st;
    int rc = 0;
    if (statfs(path, &st) == 0)
        printf("statfs 0x%lx\n", (unsigned long)st.f_type);
    else
        printf("statfs error %s\n", strerror(errno)), rc = 1;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0 && fstatfs(fd, &st) == 0)
        printf("fstatfs 0x%lx\n", (unsigned long)st.f_type);
    else
        printf("fstatfs error %s\n", strerror(errno)), rc = 1;
    if (fd >= 0)
        close(fd);
    return rc;
}

static int print_fd(int fd, const char *how)
{
    if (fd < 0)
        return printf("%s: error %s\n", how, strerror(errno)), 1;
    char buf[256];
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n < 0)
        return printf("%s: read error %s\n", how, strerror(errno)), 1;
    buf[n] = '\0';
    buf[strcspn(buf, "\n")] = '\0';
    printf("%s: %s\n", how, buf);
    return 0;
}

/* Opens path (absolute) as given, through a dirfd on its parent, relative to the cwd, and stats it. */
static int read_all_ways(const char *path)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    const char *base = slash + 1;
    *slash = '\0';
    int rc = print_fd(open(path, O_RDONLY | O_CLOEXEC), "open");
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    rc |= print_fd(openat(dfd, base, O_RDONLY | O_CLOEXEC), "openat");
    close(dfd);
    if (chdir(dir) < 0)
        return printf("chdir: %s\n", strerror(errno)), 1;
    rc |= print_fd(open(base, O_RDONLY | O_CLOEXEC), "relative");
    struct stat st;
    if (stat(path, &st) == 0)
        printf("stat size %lld\n", (long long)st.st_size);
    else
        printf("stat error %s\n", strerror(errno)), rc = 1;
    printf("access %s\n", access(path, R_OK) == 0 ? "ok" : strerror(errno));
    return rc;
}

/* mount(2) with /proc/self/fd/N as the target, the way runc and crun mount. */
static int mount_via_fd(const char *dir)
{
    int fd = open(dir, O_PATH | O_CLOEXEC);
    if (fd < 0)
        return printf("open: %s\n", strerror(errno)), 1;
    char target[64];
    snprintf(target, sizeof(target), "/proc/self/fd/%d", fd);
    if (mount("kig-trace-test", target, "tmpfs", 0, "size=1m") < 0)
        return printf("mount: %s\n", strerror(errno)), 1;
    struct statfs st;
    int on_dir = statfs(dir, &st) == 0 && st.f_type == TMPFS_MAGIC_;
    printf("mount-fd: %s\n", on_dir ? "mounted on the directory" : "NOT on the directory");
    umount2(on_dir ? dir : target, MNT_DETACH);
    close(fd);
    return on_dir ? 0 : 1;
}

/* What containerd's CRI does with a pod's network namespace: bind-mount the thread's ns/net link onto a file
 * (the pin), open it and check it with fstatfs == NSFS_MAGIC, then unmount it (EINVAL: not a mount point, is
 * fine) and remove it; then statfs of the removed pin must give ENOENT. */
static int netns_pin(const char *pin)
{
    int fd = open(pin, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
    if (fd < 0)
        return printf("create: %s\n", strerror(errno)), 1;
    close(fd);
    char link[64];
    snprintf(link, sizeof(link), "/proc/%d/task/%d/ns/net", (int)getpid(), (int)gettid());
    int rc = 0;
    if (mount(link, pin, "none", MS_BIND, NULL) < 0)
        printf("pin: %s\n", strerror(errno)), rc = 1;
    else
        printf("pin: ok\n");
    struct statfs st;
    fd = open(pin, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        printf("open: %s\n", strerror(errno)), rc = 1;
    else if (fstatfs(fd, &st) < 0)
        printf("fstatfs: %s\n", strerror(errno)), rc = 1;
    else
        printf("fstatfs: %s\n", st.f_type == NSFS_MAGIC_ ? "nsfs" : "not nsfs"),
            rc |= st.f_type != NSFS_MAGIC_;
    if (fd >= 0)
        close(fd);
    if (umount2(pin, MNT_DETACH) < 0 && errno != EINVAL)
        printf("umount: %s\n", strerror(errno)), rc = 1;
    if (unlink(pin) < 0)
        printf("unlink: %s\n", strerror(errno)), rc = 1;
    /* containerd's Closed() asks statfs whether the pin is still there. */
    if (statfs(pin, &st) == 0)
        printf("statfs after removal: succeeded\n"), rc = 1;
    else if (errno != ENOENT)
        printf("statfs after removal: %s\n", strerror(errno)), rc = 1;
    return rc;
}

/* Flags gVisor refuses: a recursive bind, strictatime, a slave propagation change. */
static int mount_flags(const char *src, const char *dst)
{
    int rc = 0;
    if (mount(src, dst, NULL, MS_BIND | MS_REC, NULL) < 0)
        printf("bind-rec: %s\n", strerror(errno)), rc = 1;
    else
        printf("bind-rec: ok\n");
    if (mount(NULL, dst, NULL, MS_SLAVE | MS_REC, NULL) < 0)
        printf("slave-rec: %s\n", strerror(errno)), rc = 1;
    else
        printf("slave-rec: ok\n");
    if (mount(NULL, dst, NULL, MS_PRIVATE | MS_SILENT, NULL) < 0)
        printf("private-silent: %s\n", strerror(errno)), rc = 1;
    else
        printf("private-silent: ok\n");
    umount2(dst, MNT_DETACH);
    if (mount("kig-trace-test", dst, "tmpfs", MS_STRICTATIME, "size=1m") < 0)
        printf("strictatime: %s\n", strerror(errno)), rc = 1;
    else
        printf("strictatime: ok\n"), umount2(dst, MNT_DETACH);
    return rc;
}

/* Mounts as kig-runtime makes them (mount-untrapped.h): a tmpfs and a bind, marked with MS_MGC_VAL, which
 * the kernel must strip; then a tmpfs with MS_RELATIME, a flag in the magic's bits, which cannot be
 * marked. check.sh counts the seccomp stops. */
static int mount_marked(const char *src, const char *dst)
{
    struct statfs st;
    int rc = 0;
    if (mount_untrapped("kig-trace-test", dst, "tmpfs", MS_NOSUID, "size=1m") < 0)
        printf("marked-tmpfs: %s\n", strerror(errno)), rc = 1;
    else
        printf("marked-tmpfs: %s\n",
               statfs(dst, &st) == 0 && st.f_type == TMPFS_MAGIC_ ? "ok" : "not a tmpfs"),
            umount2(dst, MNT_DETACH);
    if (mount_untrapped(src, dst, NULL, MS_BIND, NULL) < 0)
        printf("marked-bind: %s\n", strerror(errno)), rc = 1;
    else
        printf("marked-bind: ok\n"), umount2(dst, MNT_DETACH);
    if (mount_untrapped("kig-trace-test", dst, "tmpfs", MS_RELATIME, "size=1m") < 0)
        printf("relatime-tmpfs: %s\n", strerror(errno)), rc = 1;
    else
        printf("relatime-tmpfs: ok\n"), umount2(dst, MNT_DETACH);
    return rc;
}

static int fchown_pipe(void)
{
    int p[2];
    if (pipe(p) < 0)
        return 1;
    int r = fchown(p[0], getuid(), getgid());
    printf("fchown-pipe: %s\n", r == 0 ? "ok" : strerror(errno));
    return r == 0 ? 0 : 1;
}

static int print_uname(void)
{
    struct utsname u;
    if (uname(&u) < 0)
        return 1;
    printf("%s\n", u.release);
    return 0;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    const char *mode = argc > 1 ? argv[1] : "";
    if (strcmp(mode, "statfs") == 0 && argc == 3)
        return do_statfs(argv[2]);
    if (strcmp(mode, "read") == 0 && argc == 3)
        return read_all_ways(argv[2]);
    if (strcmp(mode, "mount-fd") == 0 && argc == 3)
        return mount_via_fd(argv[2]);
    if (strcmp(mode, "netns-pin") == 0 && argc == 3)
        return netns_pin(argv[2]);
    if (strcmp(mode, "mount-flags") == 0 && argc == 4)
        return mount_flags(argv[2], argv[3]);
    if (strcmp(mode, "mount-marked") == 0 && argc == 4)
        return mount_marked(argv[2], argv[3]);
    if (strcmp(mode, "fchown-pipe") == 0)
        return fchown_pipe();
    if (strcmp(mode, "uname") == 0)
        return print_uname();
    fprintf(stderr, "usage: probe-fs statfs PATH | read PATH | mount-fd DIR | mount-flags SRC DST | "
                    "mount-marked SRC DST | "
                    "fchown-pipe | "
                    "uname\n");
    return 2;
}
