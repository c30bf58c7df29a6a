/* Process interfaces the runtimes and containerd-shim use: child subreaper, session keyrings, fchown on
 * pipes, oom_score_adj as runc writes it, /proc/self/setgroups. */
#include "probe.h"

#include "fileutil.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define KEYCTL_JOIN_SESSION_KEYRING 1
#define KEY_SPEC_SESSION_KEYRING    -3

/* Runs as a throwaway probe child: becomes a subreaper, then checks that an orphaned grandchild is
 * reparented to it (a prctl that succeeds without effect would fool containerd-shim). */
static void probe_subreaper(const struct probe *p, const struct probe_context *ctx, struct probe_result *res)
{
    if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0) {
        int e = errno;
        probe_set_errno(res, probe_status_for_errno(e), e, "prctl(PR_SET_CHILD_SUBREAPER)%s",
                        getpid() == 1 ? "" : " (not pid 1)");
        return;
    }
    pid_t me = getpid();
    pid_t middle = fork();
    if (middle < 0) {
        probe_set_errno(res, DOCTOR_ERROR, errno, "fork");
        return;
    }
    if (middle == 0) {
        pid_t orphan = fork();
        if (orphan == 0) {
            /* wait until the middle process is gone, then report who adopted us */
            for (int i = 0; i < 1000 && getppid() != me && getppid() != 1; i++) {
                struct timespec ts = {0, 5 * 1000 * 1000};
                nanosleep(&ts, NULL);
            }
            _exit(getppid() == me ? 0 : 1);
        }
        _exit(orphan < 0 ? 2 : 0);
    }
    waitpid(middle, NULL, 0);
    int status = 0;
    pid_t w;
    do
        w = waitpid(-1, &status, 0);
    while (w < 0 && errno == EINTR);
    if (w < 0)
        probe_set(res, DOCTOR_PARTIAL, "prctl ok, but the orphan was not reparented to us (%s)",
                  errno_name(errno));
    else if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        probe_set(res, DOCTOR_PRESENT, "prctl ok; an orphaned grandchild was reparented to us");
    else
        probe_set(res, DOCTOR_PARTIAL, "prctl ok, but the orphan was not reparented to us");
}

static void probe_keyring(const struct probe *p, const struct probe_context *ctx, struct probe_result *res)
{
    /* a new anonymous session keyring for this throwaway child; it dies with the child */
    long k = syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, NULL);
    if (k < 0) {
        int e = errno;
        probe_set_errno(res, probe_status_for_errno(e), e, "keyctl(JOIN_SESSION_KEYRING)");
        return;
    }
    long key = syscall(SYS_add_key, "user", "kig-doctor", "x", (size_t)1, KEY_SPEC_SESSION_KEYRING);
    if (key < 0) {
        int e = errno;
        probe_set_errno(res, DOCTOR_PARTIAL, e, "session keyring ok, add_key");
        return;
    }
    probe_set(res, DOCTOR_PRESENT, "joined a new session keyring and added a key");
}

static void probe_fchown_pipe(const struct probe *p, const struct probe_context *ctx,
                              struct probe_result *res)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) < 0) {
        probe_set_errno(res, DOCTOR_ERROR, errno, "pipe");
        return;
    }
    /* to our own ids: a no-op that must succeed */
    int r = fchown(fds[0], geteuid(), getegid()) < 0 ? negative_errno() : 0;
    close(fds[0]);
    close(fds[1]);
    if (r < 0)
        probe_set_errno(res, DOCTOR_MISSING, r, "fchown(pipe, own uid, own gid)");
    else
        probe_set(res, DOCTOR_PRESENT, "fchown on a pipe to our own ids: ok");
}

/* runc writes "-998\0" (with the NUL) to oom_score_adj. Written back here with our current value. */
static void probe_oom_score_adj(const struct probe *p, const struct probe_context *ctx,
                                struct probe_result *res)
{
    _cleanup_free_ char *value = NULL;
    int r = read_line("/proc/self/oom_score_adj", &value);
    if (r < 0) {
        probe_set_errno(res, r == -ENOENT ? DOCTOR_MISSING : DOCTOR_ERROR, r,
                        "read /proc/self/oom_score_adj");
        return;
    }
    _cleanup_close_ int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
        probe_set_errno(res, probe_status_for_errno(errno), errno, "open /proc/self/oom_score_adj");
        return;
    }
    if (write(fd, value, strlen(value) + 1) < 0) {
        int e = errno;
        probe_set_errno(res, DOCTOR_PARTIAL, e, "write \"%s\\0\"", value);
        return;
    }
    probe_set(res, DOCTOR_PRESENT, "wrote \"%s\\0\" (with the NUL, as runc does)", value);
}

static void probe_setgroups_file(const struct probe *p, const struct probe_context *ctx,
                                 struct probe_result *res)
{
    _cleanup_free_ char *value = NULL;
    int r = read_line("/proc/self/setgroups", &value);
    if (r < 0)
        probe_set_errno(res, r == -ENOENT ? DOCTOR_MISSING : probe_status_for_errno(r), r,
                        "/proc/self/setgroups");
    else
        probe_set(res, DOCTOR_PRESENT, "value %.40s", value);
}

static const struct probe probes[] = {
    {.id = "process.subreaper",
     .category = "process",
     .summary = "PR_SET_CHILD_SUBREAPER reparents orphans (containerd-shim, runc, crun)",
     .fallback = "emulated in kig-trace: orphans' exits delivered to the would-be subreaper",
     .isolation = PROBE_CHILD,
     .run = probe_subreaper},
    {.id = "process.keyring",
     .category = "process",
     .summary = "a new session keyring and add_key (runc and crun create one per container)",
     .fallback = "runtimes run without a new keyring (crun --no-new-keyring, runc noNewKeyring)",
     .isolation = PROBE_CHILD,
     .run = probe_keyring},
    {.id = "process.fchown_pipe",
     .category = "process",
     .summary = "fchown on a pipe (runc and go-runc hand stdio pipes to the container user)",
     .fallback = "kig-trace answers fchown on pipes with success",
     .isolation = PROBE_CHILD,
     .run = probe_fchown_pipe},
    {.id = "process.oom_score_adj",
     .category = "process",
     .summary = "oom_score_adj accepts a value ending in NUL, as runc writes it",
     .fallback = "process.oomScoreAdj dropped from container specs",
     .isolation = PROBE_CHILD,
     .run = probe_oom_score_adj},
    {.id = "process.setgroups_file",
     .category = "process",
     .summary = "/proc/self/setgroups exists (crun, user namespaces)",
     .fallback = "no user namespaces in container specs",
     .isolation = PROBE_INLINE,
     .run = probe_setgroups_file},
};

PROBE_TABLE(probe_table_process, probes);
