/* Namespaces: creating each type, joining one (setns: runc exec, pod namespace sharing, CNI plugins), and
 * whether a new mount namespace really isolates (gVisor 20221219 accepts CLONE_NEWNS and ignores it). */
#include "probe.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#define TMPFS_MAGIC 0x01021994UL

static int unshare_step(void *arg)
{
    unsigned long flag = *(unsigned long *)arg;
    if (unshare((int)flag) < 0)
        return negative_errno();
    if (flag != CLONE_NEWPID)
        return 0;
    /* a new pid namespace applies to children: the first one must be pid 1 */
    pid_t pid = fork();
    if (pid < 0)
        return negative_errno();
    if (pid == 0)
        _exit(getpid() == 1 ? 0 : 1);
    int status;
    if (waitpid(pid, &status, 0) < 0)
        return negative_errno();
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -ESRCH;
}

static void probe_unshare(const struct probe *p, const struct probe_context *ctx, struct probe_result *res)
{
    unsigned long flag = p->flags;
    int r = probe_fork_call(unshare_step, &flag, 8000);
    if (r == -ESRCH)
        probe_set(res, DOCTOR_PARTIAL, "unshare(CLONE_NEWPID) ok, but the first child is not pid 1");
    else if (r < 0)
        probe_set_errno(res, probe_status_for_errno(r), r, "unshare(%s)", p->arg);
    else
        probe_set(res, DOCTOR_PRESENT, "unshare(%s) ok%s", p->arg,
                  flag == CLONE_NEWPID ? ", child is pid 1" : "");
}

/* setns: a helper makes a new namespace of the type and waits; we join it through /proc/PID/ns/TYPE. */
struct holder {
    pid_t pid;
    int ready_fd; /* the helper writes one byte once its namespace exists, or an errno byte */
};

static int start_holder(unsigned long flag, struct holder *h)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) < 0)
        return negative_errno();
    pid_t pid = fork();
    if (pid < 0) {
        int r = negative_errno();
        close(fds[0]);
        close(fds[1]);
        return r;
    }
    if (pid == 0) {
        close(fds[0]);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        unsigned char status = 0;
        if (unshare((int)flag) < 0)
            status = (unsigned char)errno;
        (void)!write(fds[1], &status, 1);
        if (status == 0)
            pause(); /* until killed */
        _exit(0);
    }
    close(fds[1]);
    unsigned char status = 0xff;
    ssize_t n;
    do
        n = read(fds[0], &status, 1);
    while (n < 0 && errno == EINTR);
    close(fds[0]);
    h->pid = pid;
    if (n != 1) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        return -ECHILD;
    }
    if (status != 0) {
        waitpid(pid, NULL, 0);
        return -(int)status;
    }
    return 0;
}

static void stop_holder(struct holder *h)
{
    kill(h->pid, SIGKILL);
    waitpid(h->pid, NULL, 0);
}

static void probe_setns(const struct probe *p, const struct probe_context *ctx, struct probe_result *res)
{
    struct holder h;
    int r = start_holder(p->flags, &h);
    if (r < 0) {
        probe_set_errno(res, probe_status_for_errno(r), r, "not run: unshare for the target namespace");
        return;
    }
    /* A pid namespace made by unshare is the one for the holder's children. */
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)h.pid,
             p->flags == CLONE_NEWPID ? "pid_for_children" : p->arg);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && p->flags == CLONE_NEWPID) {
        snprintf(path, sizeof(path), "/proc/%d/ns/pid", (int)h.pid);
        fd = open(path, O_RDONLY | O_CLOEXEC);
    }
    if (fd < 0) {
        int e = errno;
        stop_holder(&h);
        probe_set_errno(res, e == ENOENT ? DOCTOR_MISSING : probe_status_for_errno(e), e,
                        "open /proc/PID/ns/%s", p->arg);
        return;
    }
    /* this process is a throwaway probe child: joining changes nothing else */
    r = setns(fd, (int)p->flags) < 0 ? negative_errno() : 0;
    close(fd);
    stop_holder(&h);
    if (r < 0)
        probe_set_errno(res, probe_status_for_errno(r), r, "setns(%s)", p->arg);
    else
        probe_set(res, DOCTOR_PRESENT, "joined a new %s namespace", p->arg);
}

/* Mount namespace isolation, tested by its effect: a child mounts after unshare(CLONE_NEWNS) and we look. */
static void probe_mnt_isolation(const struct probe *p, const struct probe_context *ctx,
                                struct probe_result *res)
{
    char dir[512];
    int r = probe_scratch_dir(ctx, p->id, dir, sizeof(dir));
    if (r < 0) {
        probe_set_errno(res, DOCTOR_ERROR, r, "scratch directory");
        return;
    }
    int up[2], down[2];
    if (pipe2(up, O_CLOEXEC) < 0 || pipe2(down, O_CLOEXEC) < 0) {
        probe_set_errno(res, DOCTOR_ERROR, errno, "pipe");
        return;
    }
    pid_t pid = fork();
    if (pid < 0) {
        probe_set_errno(res, DOCTOR_ERROR, errno, "fork");
        return;
    }
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        close(up[0]);
        close(down[1]); /* or the read below never sees EOF */
        unsigned char status = 0;
        if (unshare(CLONE_NEWNS) < 0)
            status = (unsigned char)errno;
        else {
            (void)mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
            if (mount("kig-doctor", dir, "tmpfs", MS_NOSUID | MS_NODEV, "size=64k") < 0)
                status = (unsigned char)errno;
        }
        (void)!write(up[1], &status, 1);
        char go;
        (void)!read(down[0], &go, 1); /* the parent has looked */
        if (status == 0 && umount2(dir, 0) < 0)
            umount2(dir, MNT_DETACH);
        _exit(0);
    }
    close(up[1]);
    close(down[0]);
    unsigned char status = 0xff;
    ssize_t n = read(up[0], &status, 1);
    struct statfs s;
    bool leaked = n == 1 && status == 0 && statfs(dir, &s) == 0 && (unsigned long)s.f_type == TMPFS_MAGIC;
    close(down[1]); /* lets the child unmount and exit */
    close(up[0]);
    waitpid(pid, NULL, 0);
    if (n != 1)
        probe_set(res, DOCTOR_ERROR, "the child died before reporting");
    else if (status != 0)
        probe_set_errno(res, probe_status_for_errno(status), status, "child: unshare(CLONE_NEWNS) or mount");
    else if (leaked)
        probe_set(
            res, DOCTOR_MISSING,
            "a tmpfs the child mounted after unshare(CLONE_NEWNS) is visible to its parent: silent no-op");
    else
        probe_set(res, DOCTOR_PRESENT,
                  "a mount made in the child's new namespace is invisible to its parent");
}

#define UNSHARE(type, flag, fallback_)                                                                       \
    {                                                                                                        \
        .id = "ns.unshare." type, .category = "ns",                                                          \
        .summary = "creating a " type " namespace (runtimes, CNI)", .fallback = fallback_,                   \
        .isolation = PROBE_CHILD, .run = probe_unshare, .arg = #flag, .flags = flag                          \
    }
#define SETNS(type, flag, who, fallback_)                                                                    \
    {                                                                                                        \
        .id = "setns." type, .category = "ns",                                                               \
        .summary = "joining a " type " namespace with setns (" who ")", .fallback = fallback_,               \
        .isolation = PROBE_CHILD, .run = probe_setns, .arg = type, .flags = flag                             \
    }

#define SHARED(type) "containers share the sandbox's " type " namespace (removed from specs)"

static const struct probe probes[] = {
    UNSHARE("net", CLONE_NEWNET, "pods share the sandbox network (hostNetwork only)"),
    UNSHARE("mnt", CLONE_NEWNS, "runtimes chroot (no mount namespace in specs)"),
    UNSHARE("pid", CLONE_NEWPID, SHARED("pid")),
    UNSHARE("ipc", CLONE_NEWIPC, SHARED("ipc")),
    UNSHARE("uts", CLONE_NEWUTS, SHARED("uts")),
    UNSHARE("user", CLONE_NEWUSER, "no user namespaces in container specs"),
    UNSHARE("cgroup", CLONE_NEWCGROUP, "no cgroup namespaces in container specs"),
    {.id = "ns.mnt.isolation",
     .category = "ns",
     .summary = "a mount made after unshare(CLONE_NEWNS) stays in the new namespace (runtimes rely on it)",
     .fallback = "no isolation: kig unmounts explicitly and runtimes chroot",
     .isolation = PROBE_CHILD_MOUNTNS,
     .run = probe_mnt_isolation},
    SETNS("net", CLONE_NEWNET, "CNI plugins, runc exec, pod netns sharing",
          "CNI: the pod's TAP is created by a process born in the pod netns (no setns)"),
    SETNS("mnt", CLONE_NEWNS, "runc exec", "exec by chroot into the container rootfs (kig runtime)"),
    SETNS("pid", CLONE_NEWPID, "runc exec, shared pod pid namespace", SHARED("pid")),
    SETNS("ipc", CLONE_NEWIPC, "runc exec, pod ipc sharing", SHARED("ipc")),
    SETNS("uts", CLONE_NEWUTS, "runc exec, pod uts sharing", SHARED("uts")),
    SETNS("user", CLONE_NEWUSER, "runc exec with user namespaces", "no user namespaces in container specs"),
    SETNS("cgroup", CLONE_NEWCGROUP, "runc exec with cgroup namespaces",
          "no cgroup namespaces in container specs"),
};

PROBE_TABLE(probe_table_ns, probes);
