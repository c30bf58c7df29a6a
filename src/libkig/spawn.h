/* Starting and waiting for child processes. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define SPAWN_INHERIT (-1)
#define SPAWN_DEVNULL (-2)

struct spawn_options {
    const char *const *argv; /* argv[0] is looked up in PATH when it has no slash */
    const char *const *envp; /* NULL: inherit the environment */
    const char *cwd;         /* NULL: inherit */
    int stdin_fd;            /* an fd, SPAWN_INHERIT or SPAWN_DEVNULL */
    int stdout_fd;
    int stderr_fd;
    bool new_session;     /* setsid(): own process group, no controlling terminal */
    bool die_with_parent; /* PR_SET_PDEATHSIG SIGKILL */
    bool exec_from_fd;    /* run the program open at exec_fd (fexecve) instead of looking up argv[0] */
    int exec_fd;
    const int *extra_fds; /* become fds 3, 4, ... in the child (close-on-exec cleared) */
    size_t n_extra_fds;
};

/* Forks and execs. Fails with the exec's errno (e.g. -ENOENT) if the program could not be started. */
int spawn_process(const struct spawn_options *opts, pid_t *ret_pid);

/* Waits up to timeout_ms (negative: forever) for pid. Returns 0 with the wait status in *status, or
 * -ETIMEDOUT (the child is left running). */
int wait_pid_timeout(pid_t pid, int timeout_ms, int *status);

/* Runs argv to completion with stdout and stderr captured (either may be NULL to discard). The child is
 * killed (whole process group) after timeout_ms. Returns 0 and the wait status, or a negative errno. */
int run_capture(const char *const *argv, char **ret_out, char **ret_err, int timeout_ms, int *ret_status);

/* Whether pid is alive and its command name (/proc/PID/comm, at most 15 characters) is comm: tells a
 * recorded pid from a recycled one. */
bool process_has_comm(pid_t pid, const char *comm);

/* Exit code of a wait status: the exit status, or 128+signal like a shell. */
int wait_status_to_exit_code(int status);
