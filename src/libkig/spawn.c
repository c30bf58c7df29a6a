#include "spawn.h"

#include "fileutil.h"
#include "macro.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>

extern char **environ;

static int setup_fd(int fd, int target)
{
    if (fd == SPAWN_INHERIT)
        return 0;
    if (fd == SPAWN_DEVNULL) {
        int n = open("/dev/null", O_RDWR);
        if (n < 0)
            return -1;
        if (n != target) {
            if (dup2(n, target) < 0)
                return -1;
            close(n);
        }
        return 0;
    }
    if (fd == target)
        return fcntl(fd, F_SETFD, 0);
    return dup2(fd, target) < 0 ? -1 : 0;
}

/* Moves the extra fds to 3, 4, ... First out of the way (above every target and source), so that a source
 * that is another's target is not overwritten before it is moved. */
static int setup_extra_fds(const struct spawn_options *o, int *err_pipe)
{
    if (o->n_extra_fds == 0)
        return 0;
    int high = 3 + (int)o->n_extra_fds;
    for (size_t i = 0; i < o->n_extra_fds; i++)
        if (o->extra_fds[i] >= high)
            high = o->extra_fds[i] + 1;
    if (*err_pipe >= high)
        high = *err_pipe + 1;
    /* The error pipe must survive the moves too: it may sit on a target. */
    int pipe_copy = fcntl(*err_pipe, F_DUPFD_CLOEXEC, high);
    if (pipe_copy < 0)
        return -1;
    *err_pipe = pipe_copy;
    high = pipe_copy + 1;
    int moved[16];
    if (o->n_extra_fds > ARRAY_SIZE(moved)) {
        errno = EINVAL;
        return -1;
    }
    for (size_t i = 0; i < o->n_extra_fds; i++)
        if ((moved[i] = fcntl(o->extra_fds[i], F_DUPFD_CLOEXEC, high)) < 0)
            return -1;
    for (size_t i = 0; i < o->n_extra_fds; i++)
        if (dup2(moved[i], 3 + (int)i) < 0)
            return -1;
    return 0;
}

static _noreturn_ void child_exec(const struct spawn_options *o, int err_pipe)
{
    sigset_t all;
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);
    for (int s = 1; s < NSIG; s++)
        signal(s, SIG_DFL);
    if (o->new_session)
        setsid();
    if (o->die_with_parent)
        prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (setup_fd(o->stdin_fd, 0) < 0 || setup_fd(o->stdout_fd, 1) < 0 || setup_fd(o->stderr_fd, 2) < 0 ||
        setup_extra_fds(o, &err_pipe) < 0)
        goto fail;
    if (o->cwd && chdir(o->cwd) < 0)
        goto fail;
    char *const *envp = o->envp ? (char *const *)o->envp : environ;
    if (o->exec_from_fd)
        fexecve(o->exec_fd, (char *const *)o->argv, envp);
    else if (strchr(o->argv[0], '/'))
        execve(o->argv[0], (char *const *)o->argv, envp);
    else {
        char *path = find_executable(o->argv[0]);
        if (!path)
            errno = ENOENT;
        else
            execve(path, (char *const *)o->argv, envp);
    }
fail:;
    int e = errno;
    (void)!write(err_pipe, &e, sizeof(e));
    _exit(127);
}

int spawn_process(const struct spawn_options *o, pid_t *ret_pid)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return negative_errno();
    pid_t pid = fork();
    if (pid < 0) {
        int r = negative_errno();
        close(p[0]);
        close(p[1]);
        return r;
    }
    if (pid == 0) {
        close(p[0]);
        child_exec(o, p[1]);
    }
    close(p[1]);
    int e = 0;
    ssize_t n;
    do
        n = read(p[0], &e, sizeof(e));
    while (n < 0 && errno == EINTR);
    close(p[0]);
    if (n == (ssize_t)sizeof(e)) {
        waitpid(pid, NULL, 0);
        return -(e ? e : EIO);
    }
    *ret_pid = pid;
    return 0;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int wait_pid_timeout(pid_t pid, int timeout_ms, int *status)
{
    int64_t deadline = timeout_ms < 0 ? INT64_MAX : now_ms() + timeout_ms;
    int delay_ms = 1;
    for (;;) {
        pid_t w = waitpid(pid, status, timeout_ms < 0 ? 0 : WNOHANG);
        if (w == pid)
            return 0;
        if (w < 0 && errno != EINTR)
            return negative_errno();
        if (now_ms() >= deadline)
            return -ETIMEDOUT;
        struct timespec ts = {0, (long)delay_ms * 1000000L};
        nanosleep(&ts, NULL);
        if (delay_ms < 50)
            delay_ms *= 2;
    }
}

int wait_status_to_exit_code(int status)
{
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return 255;
}

struct capture {
    int fd;
    char *buf;
    size_t len, cap;
};

static int capture_read(struct capture *c)
{
    if (c->len + 4096 + 1 > c->cap) {
        size_t ncap = c->cap ? c->cap * 2 : 8192;
        char *n = realloc(c->buf, ncap);
        if (!n)
            return -ENOMEM;
        c->buf = n;
        c->cap = ncap;
    }
    ssize_t r = read(c->fd, c->buf + c->len, c->cap - c->len - 1);
    if (r < 0)
        return errno == EINTR || errno == EAGAIN ? 1 : negative_errno();
    if (r == 0)
        return 0;
    c->len += (size_t)r;
    c->buf[c->len] = '\0';
    return 1;
}

static char *capture_take(struct capture *c)
{
    if (!c->buf)
        return strdup("");
    return TAKE_PTR(c->buf);
}

int run_capture(const char *const *argv, char **ret_out, char **ret_err, int timeout_ms, int *ret_status)
{
    int po[2], pe[2];
    if (pipe2(po, O_CLOEXEC) < 0)
        return negative_errno();
    if (pipe2(pe, O_CLOEXEC) < 0) {
        int r = negative_errno();
        close(po[0]);
        close(po[1]);
        return r;
    }
    struct spawn_options o = {
        .argv = argv,
        .stdin_fd = SPAWN_DEVNULL,
        .stdout_fd = po[1],
        .stderr_fd = pe[1],
        .new_session = true,
    };
    pid_t pid;
    int r = spawn_process(&o, &pid);
    close(po[1]);
    close(pe[1]);
    struct capture c[2] = {{.fd = po[0]}, {.fd = pe[0]}};
    if (r < 0)
        goto out;

    int64_t deadline = timeout_ms < 0 ? INT64_MAX : now_ms() + timeout_ms;
    int open_fds = 2;
    bool killed = false;
    while (open_fds > 0) {
        struct pollfd pfd[2] = {{c[0].fd, POLLIN, 0}, {c[1].fd, POLLIN, 0}};
        int64_t left = deadline - now_ms();
        if (left <= 0 && !killed) {
            kill(-pid, SIGKILL);
            kill(pid, SIGKILL);
            killed = true;
            deadline = now_ms() + 2000; /* a grandchild holding the pipe open must not hang us */
            continue;
        }
        if (left <= 0)
            break;
        int n = poll(pfd, 2, left > 1000 ? 1000 : (int)left);
        if (n < 0 && errno != EINTR) {
            r = negative_errno();
            break;
        }
        for (int i = 0; i < 2; i++) {
            if (c[i].fd < 0 || !(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            int k = capture_read(&c[i]);
            if (k <= 0) {
                close(c[i].fd);
                c[i].fd = -1;
                pfd[i].fd = -1;
                open_fds--;
                if (k < 0)
                    r = k;
            }
        }
    }
    int status = 0;
    if (killed) {
        waitpid(pid, &status, 0);
        r = -ETIMEDOUT;
    } else {
        int64_t left = deadline - now_ms();
        int k = wait_pid_timeout(pid, left < 0 ? 0 : (int)left, &status);
        if (k == -ETIMEDOUT) {
            kill(-pid, SIGKILL);
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            r = -ETIMEDOUT;
        } else if (k < 0 && r == 0)
            r = k;
    }
    if (ret_status)
        *ret_status = status;
out:
    for (int i = 0; i < 2; i++)
        if (c[i].fd >= 0)
            close(c[i].fd);
    if (r == 0 || r == -ETIMEDOUT) {
        if (ret_out)
            *ret_out = capture_take(&c[0]);
        if (ret_err)
            *ret_err = capture_take(&c[1]);
    }
    free(c[0].buf);
    free(c[1].buf);
    return r;
}

bool process_has_comm(pid_t pid, const char *comm)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
    _cleanup_free_ char *name = NULL;
    if (read_line(path, &name) < 0)
        return false;
    /* The kernel keeps the first 15 characters of the name. */
    size_t want = strlen(comm);
    want = want < 15 ? want : 15;
    return strlen(name) == want && strncmp(name, comm, want) == 0;
}
