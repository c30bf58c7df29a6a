/* Helpers every probe uses: results, errno names, forked steps, scratch directories. */
#include "probe.h"

#include <errno.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "spawn.h"

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
    char context[PROBE_EVIDENCE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(context, sizeof(context), fmt, ap);
    va_end(ap);
    snprintf(res->evidence, sizeof(res->evidence), "%s: %s", context, errno_name(err));
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
    int status;
    int r = wait_pid_timeout(pid, timeout_ms, &status);
    if (r == -ETIMEDOUT) {
        kill(-pid, SIGKILL);
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        return -ETIMEDOUT;
    }
    if (r < 0)
        return r;
    kill(-pid, SIGKILL); /* whatever the step left running in its group */
    if (WIFEXITED(status))
        return -WEXITSTATUS(status);
    return -ECHILD;
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
