/* Helpers every probe uses: results, errno names, forked steps, scratch directories. */
#include "probe.h"

#include <errno.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

const char *errno_name(int err)
{
    static char unknown[32];
    if (err < 0)
        err = -err;
    const char *name = strerrorname_np(err);
    if (name)
        return name;
    snprintf(unknown, sizeof(unknown), "errno %d", err);
    return unknown;
}

void probe_set(struct probe_result *res, enum doctor_status status, const char *fmt, ...)
{
    res->status = status;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(res->evidence, sizeof(res->evidence), fmt, ap);
    va_end(ap);
}

void probe_set_errno(struct probe_result *res, enum doctor_status status, int err, const char *fmt, ...)
{
    res->status = status;
    if (!fmt) {
        snprintf(res->evidence, sizeof(res->evidence), "%s", errno_name(err));
        return;
    }
    char context[PROBE_EVIDENCE_MAX - 32]; /* room for ": ENAMETOOLONG" */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(context, sizeof(context), fmt, ap);
    va_end(ap);
    snprintf(res->evidence, sizeof(res->evidence), "%.*s: %.24s", (int)sizeof(context) - 1, context,
             errno_name(err));
}

void probe_set_strategy(struct probe_result *res, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(res->strategy, sizeof(res->strategy), fmt, ap);
    va_end(ap);
}

const char *probe_strategy(const struct probe *p, const struct probe_result *res)
{
    if (res->strategy[0])
        return res->strategy;
    if (res->status == DOCTOR_PRESENT)
        return "native";
    return p->fallback;
}

static bool have_cap_sys_admin(void)
{
    static int cached = -1;
    if (cached < 0) {
        struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
        struct __user_cap_data_struct data[2] = {{0}};
        cached = syscall(SYS_capget, &hdr, data) == 0 && (data[0].effective & (1u << CAP_SYS_ADMIN));
    }
    return cached;
}

enum doctor_status probe_status_for_errno(int err)
{
    if (err < 0)
        err = -err;
    /* Without privileges a refusal says nothing about the kernel; with them, it is the kernel's answer. */
    if ((err == EPERM || err == EACCES) && !have_cap_sys_admin())
        return DOCTOR_ERROR;
    return DOCTOR_MISSING;
}

/* Waits up to timeout_ms for pid to exit, without reaping it: while the leader is a zombie its process
 * group id cannot be reused, so killing the group afterwards cannot hit an unrelated process. */
static int wait_exit_unreaped(pid_t pid, int timeout_ms)
{
    for (int waited = 0;; waited += 2) {
        siginfo_t info = {0};
        if (waitid(P_PID, (id_t)pid, &info, WEXITED | WNOHANG | WNOWAIT) < 0) {
            if (errno == EINTR)
                continue;
            return negative_errno();
        }
        if (info.si_pid == pid)
            return 0;
        if (waited >= timeout_ms)
            return -ETIMEDOUT;
        struct timespec ts = {0, 2 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

void probe_kill_and_reap(pid_t pid, int *status)
{
    /* the whole group: whatever the child started and did not reap */
    kill(-pid, SIGKILL);
    kill(pid, SIGKILL);
    int st = 0;
    while (waitpid(pid, &st, __WALL) < 0 && errno == EINTR)
        ;
    if (status)
        *status = st;
}

int probe_fork_call(int (*fn)(void *arg), void *arg, int timeout_ms)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return negative_errno();
    if (pid == 0) {
        setpgid(0, 0);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int r = fn(arg);
        _exit(r < 0 ? (-r & 0xff) : 0);
    }
    setpgid(pid, pid); /* also here: the group must exist before we may kill it */
    int r = wait_exit_unreaped(pid, timeout_ms);
    int status;
    probe_kill_and_reap(pid, &status);
    if (r < 0)
        return r;
    if (WIFEXITED(status))
        return -WEXITSTATUS(status);
    return -ECHILD;
}

void probe_fault_after_mount(void)
{
    const char *fault = getenv("KIG_DOCTOR_FAULT");
    if (fault && strcmp(fault, "hang-after-mount") == 0)
        for (;;)
            pause();
}

int probe_scratch_dir(const struct probe_context *ctx, const char *name, char *buf, size_t size)
{
    if (!ctx->workdir)
        return -ENOENT;
    int n = snprintf(buf, size, "%s/%s", ctx->workdir, name);
    if (n < 0 || (size_t)n >= size)
        return -ENAMETOOLONG;
    if (mkdir(buf, 0700) < 0 && errno != EEXIST)
        return negative_errno();
    return 0;
}
