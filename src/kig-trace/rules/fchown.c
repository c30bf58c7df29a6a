/* fchown-pipe: gVisor refuses fchown on a pipe with EPERM, even for root. runc and go-runc chown the
 * container's stdio pipes to the container user; the pipe's owner means nothing for access to an already
 * open pipe, so success is the honest answer. */
#include "log.h"
#include "rule.h"

#include <string.h>
#include <sys/syscall.h>

static enum trap_action fchown_enter(struct trap *t)
{
    return TRAP_FOLLOW;
}

static enum exit_action fchown_exit(struct trap *t)
{
    int64_t r = trap_result(t);
    if (r != -EPERM && r != -EINVAL)
        return EXIT_DONE;
    char target[64];
    if (trap_fd_path(t, (int)trap_arg(t, 0), target, sizeof(target)) < 0 || strncmp(target, "pipe:", 5) != 0)
        return EXIT_DONE;
    log_debug("tid %d: fchown(%d -> %s) gave %lld: success", (int)t->tid, (int)trap_arg(t, 0), target,
              (long long)r);
    trap_set_result(t, 0);
    return EXIT_DONE;
}

static const struct rule_syscall fchown_syscalls[] = {{.nr = SYS_fchown}};

const struct rule rule_fchown_pipe = {
    .id = RULE_FCHOWN_PIPE,
    .name = "fchown-pipe",
    .summary = "fchown(2) on a pipe succeeds (gVisor: EPERM)",
    .syscalls = fchown_syscalls,
    .n_syscalls = 1,
    .enter = fchown_enter,
    .exit = fchown_exit,
};
