#include "supervisor-ctl.h"

#include "fileutil.h"
#include "log.h"
#include "macro.h"
#include "progress.h"
#include "spawn.h"

#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <time.h>

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

int supervisor_running(const struct data_dir *d, pid_t *ret_pid)
{
    _cleanup_close_ int fd = open(d->supervisor_lock, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return errno == ENOENT ? 0 : negative_errno();
    if (flock(fd, LOCK_SH | LOCK_NB) == 0) {
        flock(fd, LOCK_UN);
        return 0;
    }
    if (errno != EWOULDBLOCK)
        return negative_errno();
    pid_t pid = 0;
    _cleanup_free_ char *line = NULL;
    if (read_line(d->supervisor_pid, &line) == 0) {
        long v = strtol(line, NULL, 10);
        pid = v > 0 && v <= INT_MAX ? (pid_t)v : 0;
    }
    if (ret_pid)
        *ret_pid = pid;
    return 1;
}

int supervisor_spawn(const struct data_dir *d, bool attached, pid_t *ret_pid)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n <= 0)
        return log_error_errno(negative_errno(), "cannot find kig's own executable (/proc/self/exe): %m");
    exe[n] = '\0';
    _cleanup_free_ char *log_path = data_dir_log(d, "kig");
    if (!log_path)
        return log_error_errno(ENOMEM, "out of memory");
    _cleanup_close_ int log_fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
    if (log_fd < 0)
        return log_error_errno(negative_errno(), "cannot open %s: %m", log_path);
    char parent[32];
    snprintf(parent, sizeof(parent), "%d", (int)getpid());
    const char *argv[] = {exe,    "__supervise", "--data-dir", d->root, attached ? "--attached" : NULL,
                          parent, NULL};
    struct spawn_options o = {
        .argv = argv,
        .stdin_fd = SPAWN_DEVNULL,
        .stdout_fd = log_fd,
        .stderr_fd = log_fd,
        .new_session = true,
    };
    int r = spawn_process(&o, ret_pid);
    if (r < 0)
        return log_error_errno(r, "cannot start the supervisor %s: %m", exe);
    return 0;
}

static int wait_lock_released(const struct data_dir *d, int timeout_ms)
{
    int64_t deadline = monotonic_ms() + timeout_ms;
    for (;;) {
        int r = supervisor_running(d, NULL);
        if (r <= 0)
            return r;
        if (monotonic_ms() >= deadline)
            return -ETIMEDOUT;
        /* The supervisor may be our child (kig up): reap it so it does not linger as a zombie. */
        while (waitpid(-1, NULL, WNOHANG) > 0)
            ;
        sleep_ms(50);
    }
}

int supervisor_stop(const struct data_dir *d, pid_t pid, int timeout_ms)
{
    if (pid > 0 && kill(pid, SIGTERM) < 0 && errno != ESRCH)
        return log_error_errno(negative_errno(), "cannot signal the supervisor (pid %d): %m", (int)pid);
    int r = wait_lock_released(d, timeout_ms);
    if (r != -ETIMEDOUT)
        return r;
    log_warn("the supervisor (pid %d) did not stop within %d s: killing it", (int)pid, timeout_ms / 1000);
    if (pid > 0)
        kill(pid, SIGKILL);
    return wait_lock_released(d, 5000);
}

bool process_is(pid_t pid, const char *path)
{
    if (pid <= 0)
        return false;
    char proc[64], buf[4096];
    snprintf(proc, sizeof(proc), "/proc/%d/stat", (int)pid);
    _cleanup_free_ char *stat = NULL;
    if (read_file(proc, &stat, NULL, 0) < 0)
        return false;
    /* The state letter follows the ")" that closes the command name. */
    const char *paren = strrchr(stat, ')');
    if (!paren || paren[1] != ' ' || paren[2] == 'Z' || paren[2] == 'X')
        return false;
    if (!path)
        return true;
    snprintf(proc, sizeof(proc), "/proc/%d/exe", (int)pid);
    ssize_t n = readlink(proc, buf, sizeof(buf) - 1);
    if (n < 0)
        return false;
    buf[n] = '\0';
    char want[PATH_MAX];
    if (!realpath(path, want))
        snprintf(want, sizeof(want), "%s", path);
    /* A replaced binary reads "<path> (deleted)". */
    size_t len = strlen(want);
    return strncmp(buf, want, len) == 0 && (buf[len] == '\0' || strcmp(buf + len, " (deleted)") == 0);
}
