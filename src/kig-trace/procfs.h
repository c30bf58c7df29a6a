/* What /proc tells about tracees. In gVisor a non-leader thread has no /proc/TID (only /proc/TGID/task/TID),
 * so every lookup goes through the thread's group, found once and cached until the thread dies. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct proc_status {
    pid_t tgid;
    pid_t ppid;
    uid_t uid;
    uint64_t sig_ignored; /* SigIgn: bit N-1 set when signal N is ignored */
};

/* Thread group id of a tid, or a negative errno (-ESRCH when no such thread is visible). */
pid_t procfs_tgid(pid_t tid);
/* Drops what is cached about tid (it died, or changed identity at exec). */
void procfs_forget(pid_t tid);
/* readlink of the thread's fd/N and cwd. Return the length or a negative errno. */
int procfs_fd_path(pid_t tid, int fd, char *buf, size_t size);
int procfs_cwd(pid_t tid, char *buf, size_t size);
/* Tgid, PPid, real Uid and ignored signals of a task whose /proc/PID is visible. */
int procfs_status(pid_t pid, struct proc_status *ret);
/* Start time (clock ticks since boot) and state letter of a process; -ESRCH when it is gone. */
int procfs_stat(pid_t pid, uint64_t *ret_start_time, char *ret_state);
