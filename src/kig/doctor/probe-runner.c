/* Runs probes with the isolation each asks for, and keeps the registry of all probes. */
#include "probe.h"

#include "log.h"
#include "mountinfo.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>

#define PROBE_DEFAULT_TIMEOUT_MS 10000

static const struct probe_table *const tables[] = {
    &probe_table_system,  &probe_table_sysctl, &probe_table_cgroup, &probe_table_mount,    &probe_table_ns,
    &probe_table_process, &probe_table_trace,  &probe_table_net,    &probe_table_iptables,
};

size_t probe_count(void)
{
    size_t n = 0;
    for (size_t t = 0; t < ARRAY_SIZE(tables); t++)
        n += tables[t]->n;
    return n;
}

const struct probe *probe_get(size_t i)
{
    for (size_t t = 0; t < ARRAY_SIZE(tables); t++) {
        if (i < tables[t]->n)
            return &tables[t]->probes[i];
        i -= tables[t]->n;
    }
    return NULL;
}

const struct probe *probe_find(const char *id)
{
    for (size_t i = 0; i < probe_count(); i++)
        if (strcmp(probe_get(i)->id, id) == 0)
            return probe_get(i);
    return NULL;
}

bool probe_matches(const struct probe *p, const char *pattern)
{
    size_t n = strlen(pattern);
    if (n == 0)
        return false;
    /* an exact id selects that probe alone, even when it is also a prefix ("iptables.nat") */
    if (probe_find(pattern))
        return strcmp(p->id, pattern) == 0;
    if (strcmp(p->category, pattern) == 0)
        return true;
    if (pattern[n - 1] == '.')
        n--;
    return strncmp(p->id, pattern, n) == 0 && (p->id[n] == '\0' || p->id[n] == '.');
}

/* In the child: enter the namespaces the probe asked for. Returns false (with res filled) when it cannot. */
static bool enter_isolation(const struct probe *p, const struct probe_context *ctx, struct probe_result *res)
{
    switch (p->isolation) {
    case PROBE_CHILD_MOUNTNS:
        if (unshare(CLONE_NEWNS) < 0) {
            probe_set_errno(res, probe_status_for_errno(errno), errno, "not run: unshare(CLONE_NEWNS)");
            return false;
        }
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 && !ctx->in_gvisor) {
            /* On Linux a mount that could propagate back would land on the host: refuse to probe. In gVisor
             * 20221219 MS_REC is EINVAL and namespaces do not isolate; the probes unmount explicitly. */
            probe_set_errno(res, DOCTOR_ERROR, errno,
                            "not run: cannot make / private in a new mount namespace");
            return false;
        }
        return true;
    case PROBE_CHILD_NETNS:
        if (unshare(CLONE_NEWNET) < 0) {
            probe_set_errno(res, probe_status_for_errno(errno), errno, "not run: unshare(CLONE_NEWNET)");
            return false;
        }
        return true;
    default:
        return true;
    }
}

static _noreturn_ void child_main(const struct probe *p, const struct probe_context *ctx, int result_fd)
{
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    struct probe_result res = {.status = DOCTOR_ERROR};
    if (enter_isolation(p, ctx, &res))
        p->run(p, ctx, &res);
    /* One write below PIPE_BUF: the parent sees all of the result or none of it. */
    _Static_assert(sizeof(res) < 4096, "probe result must fit in one pipe write");
    (void)!write(result_fd, &res, sizeof(res));
    _exit(0);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for the child's result; false on timeout or when the child exited without one. */
static bool read_result(int fd, int timeout_ms, struct probe_result *res)
{
    int64_t deadline = now_ms() + timeout_ms;
    for (;;) {
        int64_t left = deadline - now_ms();
        if (left <= 0)
            return false;
        struct pollfd pfd = {fd, POLLIN, 0};
        int n = poll(&pfd, 1, (int)left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        ssize_t r = read(fd, res, sizeof(*res));
        if (r < 0 && errno == EINTR)
            continue;
        return r == (ssize_t)sizeof(*res);
    }
}

static bool is_probe_mountpoint(const char *path, const struct probe *p, const struct probe_context *ctx)
{
    size_t n = ctx->workdir ? strlen(ctx->workdir) : 0;
    if (n && strncmp(path, ctx->workdir, n) == 0 && (path[n] == '/' || path[n] == '\0'))
        return true;
    return p->mounts_at && fnmatch(p->mounts_at, path, FNM_PATHNAME) == 0;
}

/* Where mount namespaces do not isolate (gVisor), a probe killed between mount and umount leaves its mount
 * in the sandbox. Remove every mount that appeared at a probe's paths while it ran, newest first. */
static void sweep_mounts(const struct probe *p, const struct probe_context *ctx,
                         const struct mount_table *before)
{
    struct mount_table after;
    if (mount_table_read(&after) < 0)
        return;
    for (size_t i = after.n; i > 0; i--) {
        const struct mount_entry *e = &after.entries[i - 1];
        if (mount_table_find_id(before, e->id) || !is_probe_mountpoint(e->mountpoint, p, ctx))
            continue;
        log_warn("probe %s left a %s mount at %s; unmounting it", p->id, e->fstype, e->mountpoint);
        if (umount2(e->mountpoint, MNT_DETACH | UMOUNT_NOFOLLOW) < 0)
            log_warn_errno(errno, "cannot unmount %s: %m", e->mountpoint);
    }
    mount_table_done(&after);
}

/* Reaps whatever a killed probe orphaned onto us (kig doctor may be pid 1 of a sandbox). */
static void reap_orphans(void)
{
    while (waitpid(-1, NULL, WNOHANG) > 0)
        ;
}

static void run_in_child(const struct probe *p, const struct probe_context *ctx, struct probe_result *res)
{
    int timeout_ms = p->timeout_ms > 0 ? p->timeout_ms : PROBE_DEFAULT_TIMEOUT_MS;
    struct mount_table before = {0};
    /* On Linux the child's private namespace keeps its mounts from us: nothing to sweep, and nothing that
     * someone else mounts meanwhile may be touched. */
    bool sweep = p->isolation == PROBE_CHILD_MOUNTNS && ctx->in_gvisor && mount_table_read(&before) == 0;

    int fds[2];
    if (pipe2(fds, O_CLOEXEC) < 0) {
        probe_set_errno(res, DOCTOR_ERROR, errno, "not run: pipe");
        goto out;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        probe_set_errno(res, DOCTOR_ERROR, errno, "not run: fork");
        close(fds[0]);
        close(fds[1]);
        goto out;
    }
    if (pid == 0) {
        close(fds[0]);
        child_main(p, ctx, fds[1]);
    }
    setpgid(pid, pid); /* also here, so the group exists before any kill */
    close(fds[1]);
    bool got = read_result(fds[0], timeout_ms, res);
    close(fds[0]);
    if (sweep) {
        /* Sweep while a hung child is stopped but alive: a mount it made on its own /proc/PID/fd/N (gVisor
         * puts it on the link) can only be named while that fd exists. */
        if (!got)
            kill(-pid, SIGSTOP);
        sweep_mounts(p, ctx, &before);
    }
    int status = 0;
    probe_kill_and_reap(pid, &status);
    if (!got) {
        if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
            probe_set(res, DOCTOR_ERROR, "probe timed out after %d ms", timeout_ms);
        else if (WIFSIGNALED(status))
            probe_set(res, DOCTOR_ERROR, "probe crashed: %s", strsignal(WTERMSIG(status)));
        else
            probe_set(res, DOCTOR_ERROR, "probe exited without a result (exit %d)", WEXITSTATUS(status));
        res->strategy[0] = '\0';
    }
out:
    mount_table_done(&before);
    reap_orphans();
}

void probe_run(const struct probe *p, const struct probe_context *ctx, struct probe_result *res)
{
    *res = (struct probe_result){.status = DOCTOR_ERROR};
    if (p->isolation == PROBE_INLINE)
        p->run(p, ctx, res);
    else
        run_in_child(p, ctx, res);
    /* never hand the report a string cut in the middle of nowhere */
    res->evidence[sizeof(res->evidence) - 1] = '\0';
    res->strategy[sizeof(res->strategy) - 1] = '\0';
}
