/* The three processes of one kig-trace run:
 *
 *   caller ── front (F, the pid the caller knows) ── tracer (T) ── PROGRAM (root tracee R) ── ...
 *
 * F forwards the signals it gets to R and exits with R's status as soon as R ends. T traces R and every
 * descendant and lives on until the last of them is gone: daemons that R leaves behind (containerd-shim
 * does that) keep their fixes, while the caller of F sees R's exit at once. T tells F R's pid and status
 * over a pipe. Killing T kills every tracee (PTRACE_O_EXITKILL): a tracee without its tracer would get
 * ENOSYS from every trapped syscall, which is worse than dying. */
#pragma once

#include "options.h"

#include <seccomp.h>
#include <signal.h>
#include <stdint.h>

enum launch_msg_kind {
    LAUNCH_ROOT_PID = 1,
    LAUNCH_ROOT_STATUS,
    LAUNCH_SETUP_FAILED,
};

struct launch_msg {
    int32_t kind;
    int32_t value;
};

/* What the caller gave F, restored in R before exec. */
struct launch_inherit {
    sigset_t mask;
    struct sigaction sigchld;
};

/* Exit codes of kig-trace's own failures (as env(1) and timeout(1) do). */
#define EXIT_TRACE_FAILED 125
#define EXIT_CANNOT_EXEC  126
#define EXIT_NOT_FOUND    127

/* Runs as F; returns F's exit code (or does not return when R died of a signal). */
int front_run(const struct trace_options *opts, scmp_filter_ctx filter);
/* Runs as T; never returns. */
_Noreturn void tracer_run(const struct trace_options *opts, scmp_filter_ctx filter, int status_fd,
                          const struct launch_inherit *inherit);
