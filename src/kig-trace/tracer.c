/* The tracer process: starts the program under ptrace with the seccomp filter, runs the event loop until
 * no tracee is left, and reports the root's status to the front process. */
#include "event.h"
#include "filter.h"
#include "launch.h"
#include "log.h"
#include "rules/rule.h"

#include "fileutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

#define TRACE_OPTIONS                                                                                        \
    (PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK | PTRACE_O_TRACECLONE |                \
     PTRACE_O_TRACEEXEC | PTRACE_O_TRACEEXIT | PTRACE_O_TRACESECCOMP)

static volatile sig_atomic_t root_pid;
static int status_fd = -1;
static const struct trace_options *options;
static FILE *log_file; /* --log, or NULL: stderr */

static int write_msg(int fd, enum launch_msg_kind kind, int value)
{
    struct launch_msg msg = {.kind = kind, .value = value};
    ssize_t n;
    do
        n = write(fd, &msg, sizeof(msg));
    while (n < 0 && errno == EINTR);
    return n == (ssize_t)sizeof(msg) ? 0 : -EIO;
}

static void on_forwarded_signal(int sig)
{
    pid_t root = root_pid;
    if (root > 0) {
        int saved = errno;
        kill(root, sig);
        errno = saved;
    } else if (sig == SIGTERM) {
        /* The root is gone: stopping the tracer stops what it left behind (PTRACE_O_EXITKILL). */
        _exit(0);
    }
}

/* The front died (SIGKILL: it could not relay anything). Whoever started kig-trace sees the program as the
 * front: a supervisor that restarts it must not find the old program still running (kig-switch's TAP, a
 * socket, a lock). So the program goes the same way; what it left behind stays traced as before. */
static void on_front_died(int sig)
{
    (void)sig;
    pid_t root = root_pid;
    if (root > 0) {
        int saved = errno;
        kill(root, SIGKILL);
        errno = saved;
    }
}

/* A signal no caller sends: real-time signals are not used by the program's relay. */
#define FRONT_DEATH_SIGNAL (SIGRTMIN + 2)

static void watch_front(pid_t front)
{
    struct sigaction act = {.sa_handler = on_front_died, .sa_flags = SA_RESTART};
    sigfillset(&act.sa_mask);
    if (sigaction(FRONT_DEATH_SIGNAL, &act, NULL) < 0 || prctl(PR_SET_PDEATHSIG, FRONT_DEATH_SIGNAL) < 0) {
        log_warn("cannot watch the front process (%m): if it is killed, %s keeps running", options->argv[0]);
        return;
    }
    if (getppid() != front) /* it died before the watch began */
        on_front_died(FRONT_DEATH_SIGNAL);
}

static void setup_signals(void)
{
    /* Terminal signals reach the whole process group: the root gets its own copy, the tracer must not
     * die or stop (a stopped tracer stops every tracee that needs it). */
    static const int ignored[] = {SIGINT, SIGQUIT, SIGHUP, SIGTSTP, SIGTTIN, SIGTTOU, SIGPIPE};
    static const int relayed[] = {SIGTERM, SIGUSR1, SIGUSR2};
    struct sigaction ign = {.sa_handler = SIG_IGN};
    for (size_t i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++)
        sigaction(ignored[i], &ign, NULL);
    struct sigaction relay = {.sa_handler = on_forwarded_signal, .sa_flags = SA_RESTART};
    sigfillset(&relay.sa_mask);
    for (size_t i = 0; i < sizeof(relayed) / sizeof(relayed[0]); i++)
        sigaction(relayed[i], &relay, NULL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
}

static void redirect_fd(int fd, int flags)
{
    int null = open("/dev/null", flags | O_CLOEXEC);
    if (null < 0)
        return;
    if (null != fd) {
        dup2(null, fd);
        close(null);
    }
}

static void on_root_exit(int status)
{
    root_pid = 0;
    if (options->stats)
        event_print_stats(log_file ? log_file : stderr);
    /* Let go of the caller's stderr: whoever reads it until EOF must not wait for the daemons the root
     * left behind. With --log, messages keep going to the log. */
    redirect_fd(STDERR_FILENO, O_WRONLY);
    if (status_fd >= 0) {
        write_msg(status_fd, LAUNCH_ROOT_STATUS, status);
        close(status_fd);
        status_fd = -1;
    }
}

static _Noreturn void child_exec(const struct trace_options *opts, scmp_filter_ctx filter, int go_fd,
                                 const struct launch_inherit *inherit)
{
    char go = 0;
    ssize_t n;
    do
        n = read(go_fd, &go, 1);
    while (n < 0 && errno == EINTR);
    if (n != 1 || go != 'g')
        _exit(EXIT_TRACE_FAILED); /* the tracer could not attach: it said why */
    close(go_fd);
    sigaction(SIGCHLD, &inherit->sigchld, NULL);
    sigprocmask(SIG_SETMASK, &inherit->mask, NULL);
    int r = filter_load(filter);
    if (r < 0) {
        fprintf(stderr, "kig-trace: error: cannot load the seccomp filter: %s\n", strerror(-r));
        _exit(EXIT_TRACE_FAILED);
    }
    execvp(opts->argv[0], opts->argv);
    int err = errno;
    fprintf(stderr, "kig-trace: error: cannot execute %s: %s\n", opts->argv[0], strerror(err));
    _exit(err == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_EXEC);
}

static int seize(pid_t pid)
{
    if (ptrace(PTRACE_SEIZE, pid, NULL, (void *)(long)(TRACE_OPTIONS | PTRACE_O_EXITKILL)) == 0)
        return 0;
    if (errno != EINVAL)
        return negative_errno();
    /* A kernel without PTRACE_O_EXITKILL: tracees then outlive a dead tracer, with ENOSYS. */
    log_warn("PTRACE_O_EXITKILL unsupported: if kig-trace dies, tracees get ENOSYS from trapped syscalls");
    if (ptrace(PTRACE_SEIZE, pid, NULL, (void *)(long)TRACE_OPTIONS) == 0)
        return 0;
    return negative_errno();
}

static void announce_ready(const struct trace_options *opts)
{
    char line[32];
    int len = snprintf(line, sizeof(line), "%d\n", (int)getpid());
    if (opts->ready_fd >= 0) {
        if (write(opts->ready_fd, line, (size_t)len) != len)
            log_warn("cannot write to --ready-fd %d: %m", opts->ready_fd);
        close(opts->ready_fd);
    }
    if (opts->pid_file) {
        int r = write_file_atomic(opts->pid_file, line, (size_t)len, 0644);
        if (r < 0)
            log_warn_errno(r, "cannot write --pid-file %s: %m", opts->pid_file);
    }
}

static void open_log(const struct trace_options *opts)
{
    if (!opts->log_path)
        return;
    int fd = open(opts->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    FILE *f = fd >= 0 ? fdopen(fd, "a") : NULL;
    if (!f) {
        log_warn("cannot open --log %s: %m; logging to stderr", opts->log_path);
        if (fd >= 0)
            close(fd);
        return;
    }
    setvbuf(f, NULL, _IOLBF, 0);
    log_set_stream(f);
    log_file = f;
}

_Noreturn void tracer_run(const struct trace_options *opts, scmp_filter_ctx filter, int fd,
                          const struct launch_inherit *inherit)
{
    options = opts;
    status_fd = fd;
    pid_t front = getppid();
    if (opts->ready_fd >= 0)
        fcntl(opts->ready_fd, F_SETFD, FD_CLOEXEC);
    int go[2];
    if (pipe2(go, O_CLOEXEC) < 0) {
        log_error("pipe: %m");
        write_msg(status_fd, LAUNCH_SETUP_FAILED, 0);
        _exit(EXIT_TRACE_FAILED);
    }
    pid_t root = fork();
    if (root < 0) {
        log_error("fork: %m");
        write_msg(status_fd, LAUNCH_SETUP_FAILED, 0);
        _exit(EXIT_TRACE_FAILED);
    }
    if (root == 0) {
        close(go[1]);
        close(status_fd);
        child_exec(opts, filter, go[0], inherit);
    }
    close(go[0]);
    int r = seize(root);
    if (r < 0) {
        log_error_errno(r,
                        "cannot trace %s (PTRACE_SEIZE): %m; is ptrace forbidden here (seccomp, "
                        "yama ptrace_scope=3, another tracer)?",
                        opts->argv[0]);
        close(go[1]);
        kill(root, SIGKILL);
        waitpid(root, NULL, 0);
        write_msg(status_fd, LAUNCH_SETUP_FAILED, 0);
        _exit(EXIT_TRACE_FAILED);
    }
    root_pid = root;
    event_add_tracee(root);
    write_msg(status_fd, LAUNCH_ROOT_PID, root);
    if (write(go[1], "g", 1) != 1)
        log_warn("cannot release the program: %m");
    close(go[1]);
    open_log(opts);
    redirect_fd(STDIN_FILENO, O_RDONLY);
    redirect_fd(STDOUT_FILENO, O_WRONLY);
    if (log_file)
        redirect_fd(STDERR_FILENO, O_WRONLY);
    setup_signals();
    watch_front(front);
    announce_ready(opts);
    r = event_loop(root, on_root_exit);
    if (status_fd >= 0) /* the loop failed before the root ended */
        write_msg(status_fd, LAUNCH_SETUP_FAILED, 0);
    if (opts->stats && log_file)
        event_print_stats(log_file);
    _exit(r < 0 ? EXIT_TRACE_FAILED : 0);
}
