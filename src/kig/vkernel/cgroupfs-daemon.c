/* Starting and stopping kig-cgroupfs, the FUSE server behind the emulated and augmented hierarchies.
 *
 * It outlives `kig vkernel apply` (its own session, stdio on /dev/null, a log file in the run dir) and
 * tells apply it is serving through a ready pipe. Stopping unmounts its mount points first (a FUSE mount
 * whose server is gone answers ENOTCONN to everyone), then signals the pid recorded with its start time,
 * so a recycled pid is never killed. */
#include "cgroupfs-daemon.h"
#include "mounts.h"

#include "components.h"
#include "fileutil.h"
#include "log.h"
#include "macro.h"
#include "spawn.h"

#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <time.h>

#define READY_TIMEOUT_MS 15000
#define STOP_TIMEOUT_MS  5000

/* /proc/PID/stat field 22; 0 when the process does not exist. */
static unsigned long long process_start_time(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    _cleanup_free_ char *stat = NULL;
    if (read_file(path, &stat, NULL, 0) < 0)
        return 0;
    const char *p = strrchr(stat, ')'); /* the command name may hold spaces and parentheses */
    if (!p)
        return 0;
    unsigned long long start = 0;
    /* After ") ": state(3) ppid(4) ... starttime(22): skip 19 fields. */
    p += 2;
    for (int field = 3; field < 22 && p; field++) {
        p = strchr(p, ' ');
        if (p)
            p++;
    }
    if (p)
        start = strtoull(p, NULL, 10);
    return start;
}

/* The program: an absolute path as given, else where components.h finds kig's own programs. */
static char *resolve_program(const char *name)
{
    if (strchr(name, '/'))
        return strdup(name);
    return component_path(COMPONENT_KIG_CGROUPFS);
}

static const char *arg_after(const struct vk_action *a, const char *flag)
{
    for (size_t i = 0; i + 1 < a->n_args; i++)
        if (strcmp(a->args[i], flag) == 0)
            return a->args[i + 1];
    return NULL;
}

static bool is_cgroupfs(pid_t pid)
{
    return process_has_comm(pid, "kig-cgroupfs");
}

/* A server left by a crashed apply: its pid file names it. */
static pid_t adopt_running(const struct vk_action *a)
{
    const char *pidfile = arg_after(a, "--pidfile");
    _cleanup_free_ char *line = NULL;
    if (!pidfile || read_line(pidfile, &line) < 0)
        return 0;
    long pid = strtol(line, NULL, 10);
    if (pid <= 0 || pid > INT32_MAX || !is_cgroupfs((pid_t)pid))
        return 0;
    return (pid_t)pid;
}

static void unmount_fuse(const char *mountpoint)
{
    char fstype[64];
    int id = mount_top_id(mountpoint, fstype, sizeof(fstype));
    if (id <= 0 || strncmp(fstype, "fuse", 4) != 0)
        return;
    if (umount2(mountpoint, 0) < 0 && umount2(mountpoint, MNT_DETACH) < 0)
        log_warn_errno(errno, "cannot unmount %s: %m", mountpoint);
}

static int wait_ready(int fd, pid_t pid, const char *logfile)
{
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    int n = poll(&pfd, 1, READY_TIMEOUT_MS);
    char c;
    if (n > 0 && read(fd, &c, 1) == 1)
        return 0;
    int status;
    if (waitpid(pid, &status, WNOHANG) == pid)
        return log_error_errno(EIO, "kig-cgroupfs exited before serving (status %d); see %s", status,
                               logfile ? logfile : "its log");
    kill(pid, SIGKILL);
    (void)waitpid(pid, NULL, 0);
    return log_error_errno(ETIMEDOUT, "kig-cgroupfs did not become ready within %d s; see %s",
                           READY_TIMEOUT_MS / 1000, logfile ? logfile : "its log");
}

int cgroupfs_start(struct vk_action *a, const char *run_dir)
{
    if (a->pid > 0 && a->pid_start_time == process_start_time(a->pid))
        return 0;
    pid_t running = adopt_running(a);
    if (running > 0) {
        a->pid = running;
        a->pid_start_time = process_start_time(running);
        return 0;
    }
    /* A crashed server leaves dead FUSE mounts: clear them before mounting again. */
    for (size_t i = 0; i < a->n_mountpoints; i++)
        unmount_fuse(a->mountpoints[i]);

    _cleanup_free_ char *program = resolve_program(a->path);
    if (!program)
        return log_error_errno(ENOENT, "%s not found: build kig (ninja) or set KIG_CGROUPFS", a->path);

    int ready[2];
    if (pipe2(ready, O_CLOEXEC) < 0)
        return log_error_errno(errno, "cannot make a pipe: %m");
    char ready_arg[16];
    snprintf(ready_arg, sizeof(ready_arg), "%d", ready[1]);
    const char **argv = calloc(a->n_args + 4, sizeof(char *));
    if (!argv) {
        close(ready[0]);
        close(ready[1]);
        return -ENOMEM;
    }
    size_t n = 0;
    argv[n++] = program;
    for (size_t i = 0; i < a->n_args; i++)
        argv[n++] = a->args[i];
    argv[n++] = "--ready-fd";
    argv[n++] = ready_arg;

    pid_t pid = fork();
    if (pid < 0) {
        int r = log_error_errno(errno, "cannot fork: %m");
        free(argv);
        close(ready[0]);
        close(ready[1]);
        return r;
    }
    if (pid == 0) {
        setsid();
        int null = open("/dev/null", O_RDWR);
        if (null >= 0) {
            dup2(null, 0);
            dup2(null, 1);
            dup2(null, 2);
        }
        /* The ready pipe's write end must survive exec. */
        int fl = fcntl(ready[1], F_GETFD);
        if (fl >= 0)
            fcntl(ready[1], F_SETFD, fl & ~FD_CLOEXEC);
        execv(program, (char *const *)argv);
        _exit(127);
    }
    free(argv);
    close(ready[1]);
    int r = wait_ready(ready[0], pid, arg_after(a, "--log"));
    close(ready[0]);
    if (r < 0)
        return r;
    a->pid = pid;
    a->pid_start_time = process_start_time(pid);
    log_debug("kig-cgroupfs serves %zu mount points as pid %d (run dir %s)", a->n_mountpoints, (int)pid,
              run_dir);
    return 0;
}

static bool wait_gone(pid_t pid, unsigned long long start, int timeout_ms)
{
    for (int waited = 0; waited < timeout_ms; waited += 20) {
        (void)waitpid(pid, NULL, WNOHANG); /* our child when apply rolls back */
        if (process_start_time(pid) != start)
            return true;
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return false;
}

int cgroupfs_stop(struct vk_action *a)
{
    for (size_t i = a->n_mountpoints; i > 0; i--)
        unmount_fuse(a->mountpoints[i - 1]);
    pid_t pid = a->pid;
    unsigned long long start = a->pid_start_time;
    if (pid <= 0) {
        pid = adopt_running(a);
        start = pid > 0 ? process_start_time(pid) : 0;
    }
    if (pid <= 0 || start == 0 || process_start_time(pid) != start)
        goto out;
    kill(pid, SIGTERM);
    if (!wait_gone(pid, start, STOP_TIMEOUT_MS)) {
        log_warn("kig-cgroupfs (pid %d) ignored SIGTERM; killing it", (int)pid);
        kill(pid, SIGKILL);
        if (!wait_gone(pid, start, STOP_TIMEOUT_MS))
            return log_error_errno(EBUSY, "kig-cgroupfs (pid %d) does not exit", (int)pid);
    }
out:;
    const char *pidfile = arg_after(a, "--pidfile");
    if (pidfile)
        (void)unlink(pidfile);
    const char *logfile = arg_after(a, "--log");
    if (logfile)
        (void)unlink(logfile);
    return 0;
}

bool cgroupfs_alive(const struct vk_action *a)
{
    return a->pid > 0 && a->pid_start_time != 0 && process_start_time(a->pid) == a->pid_start_time;
}
