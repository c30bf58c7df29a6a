/* What kig-trace (the ptrace + seccomp fix-up layer) and the runtimes' own seccomp use: ptrace with
 * PTRACE_O_TRACESECCOMP, SECCOMP_RET_TRACE, user notification (SECCOMP_FILTER_FLAG_NEW_LISTENER),
 * PTRACE_GET_SYSCALL_INFO and openat2. Filters are built with libseccomp and only ever loaded into
 * throwaway children. */
#include "probe.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define TRACE_DATA 0x4b1 /* SECCOMP_RET_DATA the tracer must see in PTRACE_GETEVENTMSG */

enum trace_check { CHECK_PTRACE, CHECK_RET_TRACE, CHECK_SYSCALL_INFO };

/* Loads a filter that answers getppid with `action` (everything else allowed). Returns 0 or -errno. */
static int load_getppid_filter(uint32_t action, int *ret_notify_fd)
{
    scmp_filter_ctx f = seccomp_init(SCMP_ACT_ALLOW);
    if (!f)
        return -ENOMEM;
    int r = seccomp_rule_add(f, action, SCMP_SYS(getppid), 0);
    if (r == 0)
        r = seccomp_load(f); /* sets no_new_privs itself (SCMP_FLTATR_CTL_NNP defaults on) */
    if (r == 0 && ret_notify_fd) {
        r = seccomp_notify_fd(f);
        if (r >= 0) {
            *ret_notify_fd = r;
            r = 0;
        }
    }
    seccomp_release(f);
    return r;
}

static _noreturn_ void tracee(int report_fd, bool with_filter)
{
    unsigned char err = 0;
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (ptrace(PTRACE_TRACEME, 0, NULL, NULL) < 0) {
        err = (unsigned char)errno;
        (void)!write(report_fd, &err, 1);
        _exit(1);
    }
    raise(SIGSTOP);
    if (with_filter) {
        int r = load_getppid_filter(SCMP_ACT_TRACE(TRACE_DATA), NULL);
        err = (unsigned char)(r < 0 ? -r : 0);
    }
    (void)!write(report_fd, &err, 1);
    if (err)
        _exit(1);
    syscall(SYS_getppid);
    _exit(0);
}

static bool wait_stop(pid_t pid, int *status)
{
    pid_t w;
    do
        w = waitpid(pid, status, __WALL);
    while (w < 0 && errno == EINTR);
    return w == pid && WIFSTOPPED(*status);
}

/* The seccomp stop, then the optional PTRACE_GET_SYSCALL_INFO check on it. */
static void check_seccomp_stop(pid_t pid, int status, enum trace_check check, struct probe_result *res)
{
    if (status >> 8 != (SIGTRAP | (PTRACE_EVENT_SECCOMP << 8))) {
        probe_set(res, DOCTOR_MISSING, "no PTRACE_EVENT_SECCOMP stop (tracee stopped by signal %d)",
                  WSTOPSIG(status));
        return;
    }
    unsigned long msg = 0;
    ptrace(PTRACE_GETEVENTMSG, pid, NULL, &msg);
    if (check == CHECK_RET_TRACE) {
        probe_set(res, msg == TRACE_DATA ? DOCTOR_PRESENT : DOCTOR_PARTIAL,
                  "PTRACE_EVENT_SECCOMP stop, event message 0x%lx (expected 0x%x)", msg, TRACE_DATA);
        return;
    }
    struct __ptrace_syscall_info info = {0};
    long n = ptrace(PTRACE_GET_SYSCALL_INFO, pid, (void *)sizeof(info), &info);
    if (n < 0)
        probe_set_errno(res, probe_status_for_errno(errno), errno, "PTRACE_GET_SYSCALL_INFO");
    else if (info.op != PTRACE_SYSCALL_INFO_SECCOMP || info.seccomp.nr != SYS_getppid)
        probe_set(res, DOCTOR_PARTIAL, "PTRACE_GET_SYSCALL_INFO: op %u, nr %llu", info.op,
                  (unsigned long long)info.seccomp.nr);
    else
        probe_set(res, DOCTOR_PRESENT, "PTRACE_GET_SYSCALL_INFO at a seccomp stop: nr %llu",
                  (unsigned long long)info.seccomp.nr);
}

static void run_trace_check(enum trace_check check, struct probe_result *res)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) < 0) {
        probe_set_errno(res, DOCTOR_ERROR, errno, "pipe");
        return;
    }
    pid_t pid = fork();
    if (pid < 0) {
        probe_set_errno(res, DOCTOR_ERROR, errno, "fork");
        return;
    }
    if (pid == 0) {
        close(fds[0]);
        tracee(fds[1], check != CHECK_PTRACE);
    }
    close(fds[1]);
    int status;
    unsigned char err = 0;
    if (!wait_stop(pid, &status)) {
        if (read(fds[0], &err, 1) == 1 && err)
            probe_set_errno(res, probe_status_for_errno(err), err, "PTRACE_TRACEME");
        else
            probe_set(res, DOCTOR_MISSING, "the tracee never stopped");
        goto out;
    }
    if (ptrace(PTRACE_SETOPTIONS, pid, NULL, (void *)(PTRACE_O_TRACESECCOMP | PTRACE_O_EXITKILL)) < 0) {
        probe_set_errno(res, probe_status_for_errno(errno), errno,
                        "PTRACE_SETOPTIONS(TRACESECCOMP|EXITKILL)");
        goto out;
    }
    if (check == CHECK_PTRACE) {
        probe_set(res, DOCTOR_PRESENT, "PTRACE_TRACEME stop, PTRACE_SETOPTIONS(TRACESECCOMP|EXITKILL) ok");
        goto out;
    }
    ptrace(PTRACE_CONT, pid, NULL, NULL);
    if (read(fds[0], &err, 1) == 1 && err) {
        probe_set_errno(res, probe_status_for_errno(err), err, "loading a SECCOMP_RET_TRACE filter");
        goto out;
    }
    if (!wait_stop(pid, &status)) {
        probe_set(res, DOCTOR_MISSING, "the traced syscall ran without a stop (tracee %s)",
                  WIFEXITED(status) ? "exited" : "killed");
        goto out;
    }
    check_seccomp_stop(pid, status, check, res);
out:
    close(fds[0]);
    kill(pid, SIGKILL);
    while (waitpid(pid, &status, __WALL) < 0 && errno == EINTR)
        ;
}

static void probe_ptrace(const struct probe *p, const struct probe_context *ctx, struct probe_result *res)
{
    run_trace_check((enum trace_check)p->flags, res);
}

static void probe_seccomp_filter(const struct probe *p, const struct probe_context *ctx,
                                 struct probe_result *res)
{
    /* this child is a throwaway: the filter dies with it */
    int r = load_getppid_filter(SCMP_ACT_ERRNO(EXDEV), NULL);
    if (r < 0) {
        probe_set_errno(res, probe_status_for_errno(r), r, "seccomp_load");
        return;
    }
    long n = syscall(SYS_getppid);
    if (n < 0 && errno == EXDEV)
        probe_set(res, DOCTOR_PRESENT, "filter loaded; getppid answered EXDEV as the filter says");
    else
        probe_set(res, DOCTOR_PARTIAL, "filter loaded but getppid returned %ld", n);
}

#define NOTIFY_VALUE 4242

static void probe_user_notif(const struct probe *p, const struct probe_context *ctx, struct probe_result *res)
{
    int notify_fd = -1;
    int r = load_getppid_filter(SCMP_ACT_NOTIFY, &notify_fd);
    if (r < 0) {
        probe_set_errno(res, probe_status_for_errno(r), r, "loading a SCMP_ACT_NOTIFY filter (NEW_LISTENER)");
        return;
    }
    /* The filter applies to us too: from here on, this process must not call getppid. */
    pid_t pid = fork();
    if (pid < 0) {
        probe_set_errno(res, DOCTOR_ERROR, errno, "fork");
        return;
    }
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        _exit(syscall(SYS_getppid) == NOTIFY_VALUE ? 0 : 1);
    }
    struct seccomp_notif *req = NULL;
    struct seccomp_notif_resp *resp = NULL;
    r = seccomp_notify_alloc(&req, &resp);
    if (r == 0)
        r = seccomp_notify_receive(notify_fd, req);
    if (r == 0) {
        resp->id = req->id;
        resp->val = NOTIFY_VALUE;
        resp->error = 0;
        resp->flags = 0;
        r = seccomp_notify_respond(notify_fd, resp);
    }
    seccomp_notify_free(req, resp);
    int status = 0;
    if (r < 0)
        kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    close(notify_fd);
    if (r < 0)
        probe_set_errno(res, probe_status_for_errno(r), r,
                        "filter loaded; receiving or answering the notification");
    else if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        probe_set(res, DOCTOR_PRESENT, "a child's getppid was answered %d through the listener fd",
                  NOTIFY_VALUE);
    else
        probe_set(res, DOCTOR_PARTIAL, "notification answered but the child did not see the answer");
}

static void probe_openat2(const struct probe *p, const struct probe_context *ctx, struct probe_result *res)
{
    struct open_how how = {.flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC, .resolve = RESOLVE_NO_SYMLINKS};
    long fd = syscall(SYS_openat2, AT_FDCWD, "/", &how, sizeof(how));
    if (fd < 0) {
        probe_set_errno(res, DOCTOR_MISSING, errno, "openat2");
        return;
    }
    close((int)fd);
    probe_set(res, DOCTOR_PRESENT, "openat2(\"/\", RESOLVE_NO_SYMLINKS) ok");
}

static const struct probe probes[] = {
    {.id = "trace.ptrace",
     .category = "trace",
     .summary = "PTRACE_TRACEME and PTRACE_SETOPTIONS(TRACESECCOMP|EXITKILL) (kig-trace)",
     .fallback = "none: kig-trace cannot run; the fix-ups it provides are unavailable",
     .isolation = PROBE_CHILD,
     .run = probe_ptrace,
     .arg = NULL,
     .flags = CHECK_PTRACE},
    {.id = "trace.seccomp_filter",
     .category = "trace",
     .summary = "a seccomp filter loads and answers (runtimes apply the container's profile)",
     .fallback = "containers run unconfined (seccomp profile removed from specs)",
     .isolation = PROBE_CHILD,
     .run = probe_seccomp_filter},
    {.id = "trace.seccomp_ret_trace",
     .category = "trace",
     .summary = "SECCOMP_RET_TRACE stops the tracee for its tracer (kig-trace)",
     .fallback = "kig-trace uses PTRACE_SYSCALL on every syscall (slow)",
     .isolation = PROBE_CHILD,
     .run = probe_ptrace,
     .arg = NULL,
     .flags = CHECK_RET_TRACE},
    {.id = "trace.seccomp_user_notif",
     .category = "trace",
     .summary = "seccomp user notification: SECCOMP_FILTER_FLAG_NEW_LISTENER and a round trip through the "
                "listener fd",
     .fallback = "ptrace + SECCOMP_RET_TRACE (kig-trace)",
     .isolation = PROBE_CHILD,
     .run = probe_user_notif},
    {.id = "trace.get_syscall_info",
     .category = "trace",
     .summary = "PTRACE_GET_SYSCALL_INFO at a seccomp stop (kig-trace)",
     .fallback = "kig-trace reads registers with PTRACE_GETREGS",
     .isolation = PROBE_CHILD,
     .run = probe_ptrace,
     .arg = NULL,
     .flags = CHECK_SYSCALL_INFO},
    {.id = "trace.openat2",
     .category = "trace",
     .summary = "openat2 with RESOLVE_* flags (kig-trace resolving tracee paths)",
     .fallback = "kig-trace resolves paths component by component with O_NOFOLLOW",
     .isolation = PROBE_INLINE,
     .run = probe_openat2},
};

PROBE_TABLE(probe_table_trace, probes);
