/* statfs: gVisor answers statfs/fstatfs on a cgroupfs or procfs *file* with ENOSYS (directories work).
 * runc checks every cgroup file it opens with fstatfs == CGROUP_SUPER_MAGIC, so such calls are answered
 * here: when the real call says ENOSYS (or EINTR, see statfs_exit) and the file lies under /sys/fs/cgroup or
 * /proc (decided at entry, from the path or the fd's /proc/PID/fd link), the tracee gets what Linux answers
 * for those filesystems. */
#include "log.h"
#include "memory.h"
#include "path.h"
#include "rule.h"

#include <limits.h>
#include <linux/magic.h>
#include <stdio.h>
#include <string.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>

static long magic_for(const char *path)
{
    if (path_under(path, "/sys/fs/cgroup"))
        return CGROUP_SUPER_MAGIC;
    if (path_under(path, "/proc"))
        return PROC_SUPER_MAGIC;
    return 0;
}

#define ST_VALID_ 0x0020 /* f_flags is meaningful (the kernel's ST_VALID, not in libc headers) */

/* What Linux answers for procfs and cgroupfs (simple_statfs, and the flags of their usual mounts). */
void rule_fill_statfs(long magic, struct statfs *st)
{
    memset(st, 0, sizeof(*st));
    st->f_type = magic;
    st->f_bsize = 4096;
    st->f_frsize = 4096;
    st->f_namelen = 255;
    st->f_flags = ST_VALID_ | ST_NOSUID | ST_NODEV | ST_NOEXEC | ST_RELATIME;
}

/* The path the call is about: the statfs argument, or what the fstatfs fd points to. */
static int target_path(struct trap *t, char *path, size_t size)
{
    return t->nr == SYS_statfs ? trap_read_path(t, 0, -1, path, size)
                               : trap_fd_path(t, (int)trap_arg(t, 0), path, size);
}

/* Only calls about /proc or /sys/fs/cgroup can need an answer: the others skip the syscall-exit stop,
 * which costs more than reading the path now. */
static enum trap_action statfs_enter(struct trap *t)
{
    char path[PATH_MAX];
    if (target_path(t, path, sizeof(path)) < 0)
        return TRAP_PASS;
    t->rule_data[RULE_STATFS][0] = (uint64_t)magic_for(path);
    return t->rule_data[RULE_STATFS][0] ? TRAP_FOLLOW : TRAP_PASS;
}

static enum exit_action statfs_exit(struct trap *t)
{
    long magic = (long)t->rule_data[RULE_STATFS][0];
    long result = trap_result(t);
    /* EINTR too: on kig-cgroupfs (FUSE) the call becomes a FUSE request that a signal interrupts (Go's
     * SIGURG preemption does, often), and Go's statfs wrappers do not retry; the answer is the same. */
    if ((result != -ENOSYS && result != -EINTR) || magic == 0)
        return EXIT_DONE;
    struct statfs st;
    rule_fill_statfs(magic, &st);
    int r = mem_write(t->tid, trap_arg(t, 1), &st, sizeof(st));
    if (r < 0) {
        trap_set_result(t, r == -ESRCH ? -ENOSYS : -EFAULT);
        return EXIT_DONE;
    }
    log_debug("tid %d: %s gave %s: answered f_type 0x%lx", (int)t->tid,
              t->nr == SYS_statfs ? "statfs" : "fstatfs", result == -EINTR ? "EINTR" : "ENOSYS", magic);
    trap_set_result(t, 0);
    return EXIT_DONE;
}

static const struct rule_syscall statfs_syscalls[] = {{.nr = SYS_statfs}, {.nr = SYS_fstatfs}};

const struct rule rule_statfs = {
    .id = RULE_STATFS,
    .name = "statfs",
    .summary = "statfs/fstatfs on cgroupfs and procfs files answer CGROUP_SUPER/PROC_SUPER_MAGIC "
               "(gVisor: ENOSYS)",
    .syscalls = statfs_syscalls,
    .n_syscalls = 2,
    .enter = statfs_enter,
    .exit = statfs_exit,
};
