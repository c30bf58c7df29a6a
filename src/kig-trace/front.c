/* The front process: what the caller started. It only relays: signals to the root tracee, the root's
 * status back as its own. */
#include "launch.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

static const int forwarded[] = {SIGHUP,  SIGINT,   SIGQUIT, SIGTERM, SIGUSR1,
                                SIGUSR2, SIGWINCH, SIGALRM, SIGPWR,  SIGCONT};

static _Noreturn void exit_like(int status)
{
    if (WIFEXITED(status))
        _exit(WEXITSTATUS(status));
    int sig = WIFSIGNALED(status) ? WTERMSIG(status) : SIGKILL;
    /* Die of the same signal, without a core file of our own. */
    struct rlimit no_core = {0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
    signal(sig, SIG_DFL);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, sig);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    raise(sig);
    /* Still here: the signal is not fatal to us (pid 1 in a namespace ignores it). */
    _exit(128 + sig);
}

static void forward(pid_t root, const struct signalfd_siginfo *si)
{
    /* A signal from the terminal went to the whole foreground process group: the root got it too. */
    if (si->ssi_code == SI_KERNEL && getpgid(root) == getpgrp())
        return;
    if (kill(root, (int)si->ssi_signo) < 0 && errno != ESRCH)
        log_warn("cannot forward signal %u to %d: %m", si->ssi_signo, (int)root);
}

static int relay(pid_t tracer, int status_fd, int sig_fd)
{
    pid_t root = 0;
    int tracer_status = -1;
    struct signalfd_siginfo pending[16];
    size_t n_pending = 0;
    for (;;) {
        struct pollfd fds[2] = {{.fd = status_fd, .events = POLLIN}, {.fd = sig_fd, .events = POLLIN}};
        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            return log_error_errno(errno, "poll: %m"), EXIT_TRACE_FAILED;
        }
        if (fds[1].revents & POLLIN) {
            struct signalfd_siginfo si;
            while (read(sig_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
                if (si.ssi_signo == SIGCHLD) {
                    /* Reap whatever ends here (we may be pid 1 and inherit orphans); the tracer's end
                     * is learnt from the pipe. */
                    pid_t pid;
                    int status;
                    while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
                        if (pid == tracer)
                            tracer_status = status;
                    continue;
                }
                if (root > 0)
                    forward(root, &si);
                else if (n_pending < sizeof(pending) / sizeof(pending[0]))
                    pending[n_pending++] = si;
            }
        }
        if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            struct launch_msg msg;
            ssize_t n = read(status_fd, &msg, sizeof(msg));
            if (n < 0 && errno == EINTR)
                continue;
            if (n != (ssize_t)sizeof(msg)) {
                if (tracer_status < 0 && waitpid(tracer, &tracer_status, 0) != tracer)
                    tracer_status = 0;
                if (WIFSIGNALED(tracer_status))
                    log_error("the tracer (pid %d) was killed by signal %d before the program ended; every "
                              "traced process was killed with it",
                              (int)tracer, WTERMSIG(tracer_status));
                else
                    log_error("the tracer (pid %d) ended before the program did; every traced process was "
                              "killed with it",
                              (int)tracer);
                return EXIT_TRACE_FAILED;
            }
            switch (msg.kind) {
            case LAUNCH_ROOT_PID:
                root = msg.value;
                for (size_t i = 0; i < n_pending; i++)
                    forward(root, &pending[i]);
                n_pending = 0;
                break;
            case LAUNCH_ROOT_STATUS:
                exit_like(msg.value);
            case LAUNCH_SETUP_FAILED:
            default:
                return EXIT_TRACE_FAILED;
            }
        }
    }
}

int front_run(const struct trace_options *opts, scmp_filter_ctx filter)
{
    struct launch_inherit inherit;
    /* The tracer must see its children's exits: an inherited SIG_IGN for SIGCHLD would auto-reap them. */
    struct sigaction dfl = {.sa_handler = SIG_DFL};
    if (sigaction(SIGCHLD, &dfl, &inherit.sigchld) < 0)
        return log_error_errno(errno, "sigaction: %m"), EXIT_TRACE_FAILED;
    sigset_t mask;
    sigemptyset(&mask);
    for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
        sigaddset(&mask, forwarded[i]);
    sigaddset(&mask, SIGCHLD);
    /* Blocked before the fork so no signal slips between: the children restore the caller's mask. */
    if (sigprocmask(SIG_BLOCK, &mask, &inherit.mask) < 0)
        return log_error_errno(errno, "sigprocmask: %m"), EXIT_TRACE_FAILED;

    int pipefd[2];
    if (pipe2(pipefd, O_CLOEXEC) < 0)
        return log_error_errno(errno, "pipe: %m"), EXIT_TRACE_FAILED;
    pid_t tracer = fork();
    if (tracer < 0)
        return log_error_errno(errno, "fork: %m"), EXIT_TRACE_FAILED;
    if (tracer == 0) {
        close(pipefd[0]);
        tracer_run(opts, filter, pipefd[1], &inherit);
    }
    close(pipefd[1]);
    if (opts->ready_fd >= 0)
        close(opts->ready_fd); /* the tracer's copy is the one that signals readiness */
    int sig_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
    if (sig_fd < 0)
        return log_error_errno(errno, "signalfd: %m"), EXIT_TRACE_FAILED;
    return relay(tracer, pipefd[0], sig_fd);
}
