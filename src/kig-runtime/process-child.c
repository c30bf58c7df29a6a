/* The child side of a process kig-runtime starts in a container itself, what runc's init does between the
 * fork and execve: join the container's cgroups, make its UTS namespace, limits, chroot into its rootfs,
 * seccomp, user and capabilities. For `exec` (a process entering a running container where setns is
 * missing) and for a container's init kig-runtime runs without crun or runc (own-init.h). */
#include "process-child.h"

#include "fileutil.h"
#include "log.h"
#include "macro.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <poll.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static _noreturn_ _printf_(2, 3) void child_fail(const struct process_child *s, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    (void)!write(s->error_fd, msg, strlen(msg));
    _exit(127);
}

static void join_cgroups(const struct process_child *s)
{
    char pid[32];
    snprintf(pid, sizeof(pid), "%d", (int)getpid());
    for (char **f = s->cgroup_files; f && *f; f++) {
        int r = write_file_once(*f, pid);
        if (r < 0) {
            errno = -r;
            child_fail(s, "cannot join the container's cgroup %s: %m", *f);
        }
    }
}

/* Everything from fd 3 on, past the preserved ones, is closed at exec. Done while /proc is the sandbox's. */
static void close_extra_fds(const struct process_child *s)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return;
    int keep = 3 + s->preserve_fds;
    for (struct dirent *de; (de = readdir(d));) {
        int fd = atoi(de->d_name);
        if (fd >= keep && fd != dirfd(d))
            (void)fcntl(fd, F_SETFD, FD_CLOEXEC);
    }
    closedir(d);
}

static void setup_terminal(const struct process_child *s)
{
    if (s->pty_slave < 0)
        return;
    if (setsid() < 0 || ioctl(s->pty_slave, TIOCSCTTY, 0) < 0)
        child_fail(s, "cannot make the pty the controlling terminal: %m");
    for (int fd = 0; fd < 3; fd++)
        if (dup2(s->pty_slave, fd) < 0)
            child_fail(s, "cannot attach the pty: %m");
    if (s->pty_slave > 2)
        close(s->pty_slave);
}

static void set_limits(const struct process_child *s)
{
    const struct exec_process *p = s->p;
    if (p->has_oom_score_adj) {
        char v[16];
        snprintf(v, sizeof(v), "%d", p->oom_score_adj);
        if (write_file_once("/proc/self/oom_score_adj", v) < 0)
            child_fail(s, "cannot set oom_score_adj to %d: %m", p->oom_score_adj);
    }
    for (size_t i = 0; i < p->n_rlimits; i++)
        if (setrlimit(p->rlimits[i].resource, &p->rlimits[i].limit) < 0)
            child_fail(s, "cannot set %s: %m", rlimit_type_name(p->rlimits[i].resource));
}

static void enter_rootfs(const struct process_child *s)
{
    if (chdir(s->rootfs) < 0 || chroot(".") < 0 || chdir("/") < 0)
        child_fail(s, "cannot chroot into the container's rootfs %s: %m", s->rootfs);
}

static int capset_sets(const struct exec_process *p)
{
    struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct data[2] = {{0}};
    for (int i = 0; i < 2; i++) {
        data[i].effective = (uint32_t)(p->capabilities[CAP_SET_EFFECTIVE] >> (32 * i));
        data[i].permitted = (uint32_t)(p->capabilities[CAP_SET_PERMITTED] >> (32 * i));
        data[i].inheritable = (uint32_t)(p->capabilities[CAP_SET_INHERITABLE] >> (32 * i));
    }
    return (int)syscall(SYS_capset, &hdr, data);
}

/* runc's finalizeNamespace: bounding set, then user and groups with the capabilities kept, then the
 * capability sets the process asked for. */
static void become_user(const struct process_child *s)
{
    const struct exec_process *p = s->p;
    if (p->has_capabilities)
        for (int cap = 0; cap < 64; cap++)
            if (!(p->capabilities[CAP_SET_BOUNDING] & (UINT64_C(1) << cap)) &&
                prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
                child_fail(s, "cannot drop %s from the bounding set: %m",
                           capability_name(cap) ? capability_name(cap) : "a capability");
    if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
        child_fail(s, "prctl(PR_SET_KEEPCAPS): %m");
    if (setgroups(p->n_additional_gids, p->additional_gids) < 0)
        child_fail(s, "cannot set the additional groups: %m");
    if (setresgid(p->gid, p->gid, p->gid) < 0)
        child_fail(s, "cannot set gid %u: %m", (unsigned)p->gid);
    if (setresuid(p->uid, p->uid, p->uid) < 0)
        child_fail(s, "cannot set uid %u: %m", (unsigned)p->uid);
    if (chdir(p->cwd) < 0)
        child_fail(s, "chdir to cwd (\"%s\") set in config.json failed: %m", p->cwd);
    if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
        child_fail(s, "prctl(PR_SET_KEEPCAPS): %m");
    if (!p->has_capabilities)
        return;
    if (capset_sets(p) < 0)
        child_fail(s, "cannot set the capabilities: %m");
    if (p->capabilities[CAP_SET_AMBIENT]) {
        if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
            child_fail(s, "cannot clear the ambient capabilities: %m");
        for (int cap = 0; cap < 64; cap++)
            if ((p->capabilities[CAP_SET_AMBIENT] & (UINT64_C(1) << cap)) &&
                prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0)
                child_fail(s, "cannot raise the ambient capability %s: %m", capability_name(cap));
    }
}

/* runc and crun give a process without HOME the home of its uid in the container's /etc/passwd, or "/".
 * Called inside the rootfs; returns the environment to execute with (p->env, or a copy with HOME). */
static char **env_with_home(const struct process_child *s)
{
    const struct exec_process *p = s->p;
    if (exec_process_getenv(p, "HOME"))
        return p->env;
    const char *home = "/";
    FILE *f = fopen("/etc/passwd", "re");
    for (struct passwd *pw; f && (pw = fgetpwent(f));)
        if (pw->pw_uid == p->uid && pw->pw_dir && *pw->pw_dir) {
            home = pw->pw_dir;
            break;
        }
    size_t n = 0;
    while (p->env && p->env[n])
        n++;
    char **env = calloc(n + 2, sizeof(*env));
    if (!env || asprintf(&env[n], "HOME=%s", home) < 0)
        child_fail(s, "out of memory");
    if (n)
        memcpy(env, p->env, n * sizeof(*env));
    if (f)
        fclose(f);
    return env;
}

/* execvpe with the container's PATH, looked up inside the container. */
static void exec_command(const struct process_child *s, char **env)
{
    const struct exec_process *p = s->p;
    const char *cmd = p->args[0];
    if (strchr(cmd, '/')) {
        execve(cmd, p->args, env);
        child_fail(s, "exec: \"%s\": %m", cmd);
    }
    const char *path = exec_process_getenv(p, "PATH");
    if (!path)
        path = DEFAULT_PATH;
    int saved = ENOENT;
    for (const char *dir = path; dir;) {
        const char *colon = strchr(dir, ':');
        size_t len = colon ? (size_t)(colon - dir) : strlen(dir);
        char full[4096];
        snprintf(full, sizeof(full), "%.*s/%s", (int)len, len ? dir : ".", cmd);
        execve(full, p->args, env);
        if (errno != ENOENT && errno != ENOTDIR)
            saved = errno;
        dir = colon ? colon + 1 : NULL;
    }
    if (saved == ENOENT)
        child_fail(s, "exec: \"%s\": executable file not found in $PATH", cmd);
    errno = saved;
    child_fail(s, "exec: \"%s\": %m", cmd);
}

/* The command as execvpe would find it in the container's PATH, for an init that executes it later. */
static void find_command(const struct process_child *s, char *buf, size_t size)
{
    const struct exec_process *p = s->p;
    const char *cmd = p->args[0];
    if (strchr(cmd, '/')) {
        if (access(cmd, X_OK) < 0)
            child_fail(s, "exec: \"%s\": %m", cmd);
        snprintf(buf, size, "%s", cmd);
        return;
    }
    const char *path = exec_process_getenv(p, "PATH");
    if (!path)
        path = DEFAULT_PATH;
    for (const char *dir = path; dir;) {
        const char *colon = strchr(dir, ':');
        size_t len = colon ? (size_t)(colon - dir) : strlen(dir);
        snprintf(buf, size, "%.*s/%s", (int)len, len ? dir : ".", cmd);
        struct stat st;
        if (access(buf, X_OK) == 0 && stat(buf, &st) == 0 && S_ISREG(st.st_mode))
            return;
        dir = colon ? colon + 1 : NULL;
    }
    child_fail(s, "exec: \"%s\": executable file not found in $PATH", cmd);
}

static void load_seccomp(const struct process_child *s)
{
    int r = seccomp_load(s->seccomp);
    if (r < 0) {
        errno = -r;
        child_fail(s, "cannot load the container's seccomp profile: %m");
    }
}

/* The container's UTS namespace cannot be joined without setns; it holds nothing but its names, so a new one
 * with the same hostname is the same to the process (spec-rewrite.c, give_own_uts). */
static void enter_uts(const struct process_child *s)
{
    if (!s->hostname)
        return;
    if (unshare(CLONE_NEWUTS) < 0)
        child_fail(s, "cannot make a UTS namespace like the container's: %m");
    if (sethostname(s->hostname, strlen(s->hostname)) < 0)
        child_fail(s, "cannot set the container's hostname %s: %m", s->hostname);
}

/* The start's byte on the exec fifo (crun's protocol, exec-fifo.h): the fifo was opened for reading without
 * blocking before any writer came, so poll reports nothing until the starter has written (or has come and
 * gone: a hang-up without a byte, when the start gave up). */
static void wait_for_start(const struct process_child *s)
{
    for (;;) {
        struct pollfd p = {.fd = s->start_fd, .events = POLLIN};
        if (poll(&p, 1, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        char byte;
        ssize_t n = read(s->start_fd, &byte, 1);
        if (n == 1) {
            close(s->start_fd);
            return;
        }
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            continue;
        break;
    }
    dprintf(STDERR_FILENO, "kig-runtime: the container's start was abandoned: not starting %s\n",
            s->p->args[0]);
    _exit(127);
}

_noreturn_ void process_child_run(const struct process_child *s)
{
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    for (int sig = 1; sig < NSIG; sig++)
        signal(sig, SIG_DFL);
    join_cgroups(s);
    enter_uts(s);
    close_extra_fds(s);
    setup_terminal(s);
    set_limits(s);
    enter_rootfs(s);
    char **env = env_with_home(s);
    umask(s->p->has_umask ? s->p->umask : 0022);
    /* runc's order: without no_new_privs loading a filter needs CAP_SYS_ADMIN, so it comes before the
     * capabilities go; with it, as late as possible. */
    if (s->seccomp && !s->p->no_new_privileges)
        load_seccomp(s);
    become_user(s);
    if (s->p->no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        child_fail(s, "prctl(PR_SET_NO_NEW_PRIVS): %m");
    if (s->seccomp && s->p->no_new_privileges)
        load_seccomp(s);
    if (s->start_fd < 0)
        exec_command(s, env);
    /* A container's init: what it will run must be found now, while create can still report it. */
    char path[4096];
    find_command(s, path, sizeof(path));
    close(s->error_fd);
    wait_for_start(s);
    execve(path, s->p->args, env);
    dprintf(STDERR_FILENO, "kig-runtime: exec \"%s\": %s\n", path, strerror(errno));
    _exit(127);
}

pid_t process_child_start(struct process_child *s, char *error, size_t error_size)
{
    int err_pipe[2];
    if (pipe2(err_pipe, O_CLOEXEC) < 0)
        return -errno;
    s->error_fd = err_pipe[1];
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        int r = -errno;
        close(err_pipe[0]);
        close(err_pipe[1]);
        return r;
    }
    if (pid == 0) {
        close(err_pipe[0]);
        process_child_run(s);
    }
    close(err_pipe[1]);
    ssize_t n;
    while ((n = read(err_pipe[0], error, error_size - 1)) < 0 && errno == EINTR)
        ;
    close(err_pipe[0]);
    if (n > 0) {
        error[n] = '\0';
        (void)waitpid(pid, NULL, 0);
        return -EIO;
    }
    /* An init closes the pipe itself once set up: one that died instead closed it too. */
    if (s->start_fd >= 0 && (n < 0 || waitpid(pid, NULL, WNOHANG) != 0)) {
        snprintf(error, error_size, "the process died while it was set up");
        return -EIO;
    }
    return pid;
}

int write_pid_file(const char *path, pid_t pid)
{
    char buf[32];
    int n = snprintf(buf, sizeof(buf), "%d", (int)pid);
    int r = write_file_atomic(path, buf, (size_t)n, 0644);
    if (r < 0)
        return log_error_errno(r, "cannot write the pid file %s: %m", path);
    return 0;
}
