#include "shim-daemon.h"

#include "fileutil.h"
#include "group-shim.h"
#include "macro.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define OOM_SCORE_MAX   1000
#define SHIM_GOMAXPROCS "GOMAXPROCS=4"

/* Only absolute paths: the socket's directory is made. */
static int socket_path_of(const char *address, struct sockaddr_un *sa)
{
    int r = group_shim_sockaddr(address, sa);
    return r < 0 ? r : sa->sun_path[0] == '/' ? 0 : -EINVAL;
}

static int bind_and_listen(const struct sockaddr_un *sa)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return negative_errno();
    /* Go's net.Listen uses the system's somaxconn; SOMAXCONN is what listen() caps it to. */
    if (bind(fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0 || listen(fd, SOMAXCONN) < 0) {
        int r = negative_errno();
        close(fd);
        return r;
    }
    return fd;
}

int shim_daemon_listen(const char *address)
{
    struct sockaddr_un sa;
    int r = socket_path_of(address, &sa);
    if (r < 0)
        return r;
    _cleanup_free_ char *dir = strdup(sa.sun_path);
    if (!dir)
        return -ENOMEM;
    *strrchr(dir, '/') = '\0';
    if (*dir && (r = mkdir_p(dir, 0600)) < 0)
        return r;
    int fd = bind_and_listen(&sa);
    if (fd == -EADDRINUSE) {
        if (group_shim_listening(address))
            return -EADDRINUSE;
        /* Left by a shim that died: the real shim removes it and tries once more. */
        if (unlink(sa.sun_path) < 0 && errno != ENOENT)
            return negative_errno();
        fd = bind_and_listen(&sa);
    }
    if (fd < 0)
        return fd;
    if (chmod(sa.sun_path, 0600) < 0) {
        r = negative_errno();
        unlink(sa.sun_path);
        close(fd);
        return r;
    }
    return fd;
}

void shim_daemon_unlink(const char *address)
{
    struct sockaddr_un sa;
    if (socket_path_of(address, &sa) == 0)
        unlink(sa.sun_path);
}

void shim_daemon_argv(const char *real, const char *ns, const char *id, const char *containerd, bool debug,
                      const char **argv_buf)
{
    size_t n = 0;
    argv_buf[n++] = real;
    argv_buf[n++] = "-namespace";
    argv_buf[n++] = ns;
    argv_buf[n++] = "-id";
    argv_buf[n++] = id;
    argv_buf[n++] = "-address";
    argv_buf[n++] = containerd;
    if (debug)
        argv_buf[n++] = "-debug";
    argv_buf[n] = NULL;
}

const char **shim_daemon_env(char *const *env)
{
    size_t n = 0;
    while (env && env[n])
        n++;
    const char **out = calloc(n + 2, sizeof(*out));
    if (!out)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (strncmp(env[i], "GOMAXPROCS=", strlen("GOMAXPROCS=")) != 0)
            out[k++] = env[i];
    out[k++] = SHIM_GOMAXPROCS;
    out[k] = NULL;
    return out;
}

static int read_oom_score(pid_t pid, long *ret)
{
    char path[64], *end;
    snprintf(path, sizeof(path), "/proc/%d/oom_score_adj", (int)pid);
    _cleanup_free_ char *text = NULL;
    int r = read_line(path, &text);
    if (r < 0)
        return r;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0')
        return -EINVAL;
    *ret = v;
    return 0;
}

int shim_daemon_adjust_oom_score(pid_t pid, pid_t parent)
{
    long score;
    int r = read_oom_score(parent, &score);
    if (r < 0)
        return r;
    score = score + 1 > OOM_SCORE_MAX ? OOM_SCORE_MAX : score + 1;
    char path[64], value[32];
    snprintf(path, sizeof(path), "/proc/%d/oom_score_adj", (int)pid);
    snprintf(value, sizeof(value), "%ld", score);
    return write_file_once(path, value);
}

int shim_daemon_drain(int fd)
{
    char buf[4096];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n == 0)
            return 0;
        if (n < 0 && errno != EINTR)
            return negative_errno();
    }
}
