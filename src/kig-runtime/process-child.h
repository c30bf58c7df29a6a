/* Starting a process inside a container without the runtime (process-child.c). */
#pragma once

#include "exec-process.h"
#include "macro.h"

#include <seccomp.h>

struct process_child {
    const struct exec_process *p;
    const char *rootfs;
    char **cgroup_files;     /* cgroup.procs files to join, NULL-terminated */
    int pty_slave;           /* -1 without a terminal */
    int preserve_fds;        /* fds 3 .. 3+N-1 stay open across the exec */
    scmp_filter_ctx seccomp; /* the container's profile, or NULL */
    const char *hostname;    /* the container has a UTS namespace of its own with this name: make one */
    int error_fd;            /* close-on-exec: a failure is a message written there before _exit(127) */
    /* -1: execute the process as soon as it is set up (exec; EOF on error_fd then means it runs). Otherwise a
     * container's init: the read end of its exec fifo, opened non-blocking before any writer; once set up
     * and its command found, the child closes error_fd (the creator's sign that it is ready) and waits for
     * the start's byte there before it executes the process. */
    int start_fd;
};

/* Runs in the forked child; never returns. */
_noreturn_ void process_child_run(const struct process_child *s);

/* Forks a child running s (s->error_fd is set here) and waits for its verdict: returns its pid once the
 * process runs (start_fd -1) or the init is set up and waiting; -EIO with the child's message in error (the
 * child reaped) when it failed; another negative errno when it could not be forked. Logs nothing. */
pid_t process_child_start(struct process_child *s, char *error, size_t error_size);

/* Writes a runtime's --pid-file (atomically, as runc). Returns 0 or a negative errno after logging. */
int write_pid_file(const char *path, pid_t pid);
