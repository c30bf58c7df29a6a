#include "procfs.h"

#include "macro.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>

/* Direct-mapped: a collision only costs a new lookup. */
#define TGID_CACHE_SIZE 4096u

static struct {
    pid_t tid;
    pid_t tgid;
} tgid_cache[TGID_CACHE_SIZE];

static unsigned cache_slot(pid_t tid)
{
    return (unsigned)tid % TGID_CACHE_SIZE;
}

void procfs_forget(pid_t tid)
{
    unsigned slot = cache_slot(tid);
    if (tgid_cache[slot].tid == tid)
        tgid_cache[slot].tid = 0;
}

static int read_small_file(const char *path, char *buf, size_t size)
{
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return negative_errno();
    size_t len = 0;
    while (len + 1 < size) {
        ssize_t n = read(fd, buf + len, size - 1 - len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return negative_errno();
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    buf[len] = '\0';
    return (int)len;
}

static long status_field(const char *status, const char *name)
{
    size_t n = strlen(name);
    for (const char *line = status; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
        if (strncmp(line, name, n) == 0 && line[n] == ':')
            return strtol(line + n + 1, NULL, 10);
    }
    return -1;
}

int procfs_status(pid_t pid, struct proc_status *ret)
{
    char path[64], buf[4096];
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    int r = read_small_file(path, buf, sizeof(buf));
    if (r < 0)
        return r == -ENOENT ? -ESRCH : r;
    long tgid = status_field(buf, "Tgid");
    long ppid = status_field(buf, "PPid");
    long uid = status_field(buf, "Uid");
    if (tgid <= 0 || ppid < 0)
        return -EBADMSG;
    ret->tgid = (pid_t)tgid;
    ret->ppid = (pid_t)ppid;
    ret->uid = uid < 0 ? 0 : (uid_t)uid;
    ret->sig_ignored = 0;
    const char *ign = strstr(buf, "\nSigIgn:");
    if (ign)
        ret->sig_ignored = strtoull(ign + strlen("\nSigIgn:"), NULL, 16);
    return 0;
}

int procfs_stat(pid_t pid, uint64_t *ret_start_time, char *ret_state)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    int r = read_small_file(path, buf, sizeof(buf));
    if (r < 0)
        return r == -ENOENT ? -ESRCH : r;
    /* The command name may hold spaces and parentheses: fields restart after the last ')'. */
    char *p = strrchr(buf, ')');
    if (!p || p[1] != ' ')
        return -EBADMSG;
    p += 2;
    char state = *p;
    /* starttime is field 22; the state is field 3. */
    for (int field = 3; field < 22; field++) {
        p = strchr(p, ' ');
        if (!p)
            return -EBADMSG;
        p++;
    }
    if (ret_state)
        *ret_state = state;
    if (ret_start_time)
        *ret_start_time = strtoull(p, NULL, 10);
    return 0;
}

static bool is_number(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

/* Walks /proc/<pid>/task/<tid> for every process: the only way to find a non-leader thread's group when
 * /proc/<tid> does not exist. getdents64 on a stack buffer: no allocation. */
static pid_t scan_for_group(pid_t tid)
{
    _cleanup_close_ int dir = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0)
        return negative_errno();
    char buf[8192];
    for (;;) {
        long n = syscall(SYS_getdents64, dir, buf, sizeof(buf));
        if (n < 0)
            return negative_errno();
        if (n == 0)
            return -ESRCH;
        for (long off = 0; off < n;) {
            struct dirent64 *d = (struct dirent64 *)(buf + off);
            off += d->d_reclen;
            if (!is_number(d->d_name))
                continue;
            char path[300];
            snprintf(path, sizeof(path), "/proc/%.255s/task/%d", d->d_name, (int)tid);
            if (access(path, F_OK) == 0)
                return (pid_t)strtol(d->d_name, NULL, 10);
        }
    }
}

pid_t procfs_tgid(pid_t tid)
{
    unsigned slot = cache_slot(tid);
    if (tgid_cache[slot].tid == tid)
        return tgid_cache[slot].tgid;
    struct proc_status st;
    pid_t tgid;
    int r = procfs_status(tid, &st);
    if (r >= 0)
        tgid = st.tgid;
    else if (r == -ESRCH)
        tgid = scan_for_group(tid);
    else
        return r;
    if (tgid < 0)
        return tgid;
    tgid_cache[slot].tid = tid;
    tgid_cache[slot].tgid = tgid;
    return tgid;
}

static int readlink_task(pid_t tid, const char *what, char *buf, size_t size)
{
    pid_t tgid = procfs_tgid(tid);
    if (tgid < 0)
        return tgid;
    char path[128];
    if (tgid == tid)
        snprintf(path, sizeof(path), "/proc/%d/%s", (int)tid, what);
    else
        snprintf(path, sizeof(path), "/proc/%d/task/%d/%s", (int)tgid, (int)tid, what);
    ssize_t n = readlink(path, buf, size - 1);
    if (n < 0 && errno == ENOENT && tgid != tid) {
        /* Threads share their fd table and cwd unless they asked otherwise: the group's is right. */
        snprintf(path, sizeof(path), "/proc/%d/%s", (int)tgid, what);
        n = readlink(path, buf, size - 1);
    }
    if (n < 0)
        return negative_errno();
    if ((size_t)n >= size - 1)
        return -ENAMETOOLONG;
    buf[n] = '\0';
    return (int)n;
}

int procfs_fd_path(pid_t tid, int fd, char *buf, size_t size)
{
    char what[32];
    snprintf(what, sizeof(what), "fd/%d", fd);
    return readlink_task(tid, what, buf, size);
}

int procfs_cwd(pid_t tid, char *buf, size_t size)
{
    return readlink_task(tid, "cwd", buf, size);
}
