/* mount: make runc/crun/kubelet/containerd mounts acceptable to gVisor.
 *  - gVisor does not follow the /proc/self/fd/N magic link of a mount source or target: it mounts on the
 *    symlink itself. runc and crun mount through such links (to be safe against symlink races), so the
 *    link is resolved here to the path the fd refers to, as Linux would.
 *  - MS_REC and MS_STRICTATIME give EINVAL: dropped. MS_SLAVE and MS_UNBINDABLE give EINVAL: mapped to
 *    MS_PRIVATE (gVisor has one mount namespace, so nothing ever propagates anyway).
 *  - A propagation-only change that still gets EINVAL is tried once more with the propagation flag alone
 *    (callers add MS_SILENT and the like, which gVisor refuses there). */
#include "log.h"
#include "memory.h"
#include "mount-untrapped.h"
#include "path.h"
#include "rule.h"
#include "scratch.h"

#include <limits.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>

#define PROPAGATION_FLAGS (MS_SHARED | MS_PRIVATE | MS_SLAVE | MS_UNBINDABLE)
/* rule_data words */
#define DATA_RETRY 0

static bool is_propagation_change(uint64_t flags)
{
    return (flags & (MS_REMOUNT | MS_BIND)) == 0 && (flags & PROPAGATION_FLAGS) != 0;
}

static uint64_t fixed_flags(uint64_t flags, bool retry)
{
    uint64_t f = flags & ~(uint64_t)(MS_REC | MS_STRICTATIME);
    if (f & (MS_SLAVE | MS_UNBINDABLE))
        f = (f & ~(uint64_t)(MS_SLAVE | MS_UNBINDABLE)) | MS_PRIVATE;
    if (retry && is_propagation_change(f))
        f &= PROPAGATION_FLAGS;
    return f;
}

/* Rewrites a "/proc/self/fd/N" argument to the path the fd stands for. Returns 0, -EAGAIN (scratch area
 * needed) or another negative errno (the argument stays). */
static int resolve_fd_link(struct trap *t, unsigned arg)
{
    uint64_t ptr = trap_arg(t, arg);
    if (ptr == 0)
        return 0;
    char raw[PATH_MAX], norm[PATH_MAX], real[PATH_MAX];
    ssize_t n = mem_read_string(t->tid, ptr, raw, sizeof(raw));
    if (n < 0)
        return (int)n;
    if (strncmp(raw, "/proc/", 6) != 0 || path_normalize(raw, norm, sizeof(norm)) < 0)
        return 0;
    int fd = path_proc_self_fd(norm);
    if (fd < 0)
        return 0;
    int r = trap_fd_path(t, fd, real, sizeof(real));
    if (r < 0)
        return r;
    if (real[0] != '/')
        return 0; /* pipe:, socket:, anon_inode: have no path to mount on */
    uint64_t addr;
    r = scratch_put_string(t, real, &addr);
    if (r < 0)
        return r;
    log_debug("tid %d: mount arg %u: %s -> %s", (int)t->tid, arg, raw, real);
    trap_set_arg(t, arg, addr);
    return 0;
}

static enum trap_action mount_enter(struct trap *t)
{
    bool retry = t->rule_data[RULE_MOUNT][DATA_RETRY] != 0;
    for (unsigned arg = 0; arg <= 1; arg++) {
        int r = resolve_fd_link(t, arg);
        if (r == -EAGAIN)
            return TRAP_NEED_SCRATCH;
        if (r < 0)
            log_debug_errno(r, "tid %d: mount: cannot resolve argument %u: %m", (int)t->tid, arg);
    }
    uint64_t flags = trap_arg(t, 3);
    /* A marked call (mount-untrapped.h; trapped under --trap-marked-mounts): the kernel strips the magic
     * before it reads the flags, and so must this, or its bits would read as MS_SLAVE and more. */
    uint64_t unmarked = (flags & MS_MGC_MSK) == MS_MGC_VAL ? flags & ~(uint64_t)MS_MGC_MSK : flags;
    uint64_t fixed = fixed_flags(unmarked, retry);
    if (fixed == unmarked)
        fixed = flags; /* nothing to fix: the call stays as made */
    if (fixed != flags) {
        log_debug("tid %d: mount flags 0x%llx -> 0x%llx", (int)t->tid, (unsigned long long)flags,
                  (unsigned long long)fixed);
        trap_set_arg(t, 3, fixed);
    }
    return is_propagation_change(fixed) ? TRAP_FOLLOW : TRAP_PASS;
}

static enum exit_action mount_exit(struct trap *t)
{
    if (trap_result(t) != -EINVAL || t->rule_data[RULE_MOUNT][DATA_RETRY] != 0)
        return EXIT_DONE;
    uint64_t fixed = fixed_flags(trap_arg(t, 3), false);
    if (!is_propagation_change(fixed) || (fixed & ~(uint64_t)PROPAGATION_FLAGS) == 0)
        return EXIT_DONE;
    log_debug("tid %d: propagation change 0x%llx gave EINVAL: trying the propagation flag alone", (int)t->tid,
              (unsigned long long)fixed);
    t->rule_data[RULE_MOUNT][DATA_RETRY] = 1;
    return EXIT_RESTART;
}

static const struct rule_syscall mount_syscalls[] = {{.nr = SYS_mount}};

const struct rule rule_mount = {
    .id = RULE_MOUNT,
    .name = "mount",
    .summary =
        "mount(2): /proc/self/fd/N resolved, MS_REC/MS_STRICTATIME dropped, slave/unbindable -> private",
    .syscalls = mount_syscalls,
    .n_syscalls = 1,
    .enter = mount_enter,
    .exit = mount_exit,
};
