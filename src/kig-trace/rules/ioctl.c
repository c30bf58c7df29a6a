/* ioctl-net: gVisor rejects two harmless network calls that CNI plugins and netlink libraries make:
 *  - ioctl(SIOCSIFFLAGS) (bringing an already-up interface up);
 *  - setsockopt(SOL_SOCKET, SO_RCVTIMEO/SO_SNDTIMEO) on netlink sockets (gVisor netlink sockets have no
 *    timeouts; the callers set them only as a safety net against a kernel that never answers).
 * Both are answered with success when gVisor refuses them. Errors that say the call itself was wrong
 * (bad fd, bad pointer, no such device) are kept. A netlink socket is recognized by its inode in
 * /proc/PID/net/netlink; gVisor lists none there, so ENOPROTOOPT from a socket (gVisor's answer for a
 * socket type without timeouts, which only netlink is among the ones programs time out) counts too. */
#include "log.h"
#include "rule.h"

#include <fcntl.h>
#include <linux/sockios.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#ifndef SO_RCVTIMEO_NEW
#define SO_RCVTIMEO_NEW 66
#define SO_SNDTIMEO_NEW 67
#endif
#define SO_RCVTIMEO_OLD_ 20
#define SO_SNDTIMEO_OLD_ 21

static bool is_timeout_option(uint64_t opt)
{
    return opt == SO_RCVTIMEO_OLD_ || opt == SO_SNDTIMEO_OLD_ || opt == SO_RCVTIMEO_NEW ||
           opt == SO_SNDTIMEO_NEW;
}

static bool is_call_error(int64_t r)
{
    return r == -EBADF || r == -EFAULT || r == -ENODEV || r == -ENXIO || r == -ENOTSOCK;
}

/* Inode of a socket fd ("socket:[123]"), or 0. */
static unsigned long socket_inode(struct trap *t, int fd)
{
    char target[64];
    if (trap_fd_path(t, fd, target, sizeof(target)) < 0 || strncmp(target, "socket:[", 8) != 0)
        return 0;
    return strtoul(target + 8, NULL, 10);
}

static bool inode_in_table(const char *path, unsigned long inode)
{
    _cleanup_fclose_ FILE *f = fopen(path, "re");
    if (!f)
        return false;
    char line[512];
    while (fgets(line, sizeof(line), f)) {
        /* The inode is the last column of /proc/net/netlink. */
        char *end = line + strcspn(line, "\n");
        *end = '\0';
        char *last = strrchr(line, ' ');
        if (last && strtoul(last + 1, NULL, 10) == inode)
            return true;
    }
    return false;
}

static bool is_netlink_socket(struct trap *t, int fd)
{
    unsigned long inode = socket_inode(t, fd);
    if (inode == 0)
        return false;
    char path[64];
    pid_t tgid = trap_tgid(t);
    if (tgid > 0) {
        /* The tracee's network namespace may not be ours. */
        snprintf(path, sizeof(path), "/proc/%d/net/netlink", (int)tgid);
        if (inode_in_table(path, inode))
            return true;
    }
    return inode_in_table("/proc/net/netlink", inode);
}

static enum trap_action ioctl_enter(struct trap *t)
{
    if (t->nr == SYS_ioctl)
        return trap_arg(t, 1) == SIOCSIFFLAGS ? TRAP_FOLLOW : TRAP_PASS;
    return trap_arg(t, 1) == SOL_SOCKET && is_timeout_option(trap_arg(t, 2)) ? TRAP_FOLLOW : TRAP_PASS;
}

static enum exit_action ioctl_exit(struct trap *t)
{
    int64_t r = trap_result(t);
    if (r >= 0 || is_call_error(r) || r == -EINTR)
        return EXIT_DONE;
    int fd = (int)trap_arg(t, 0);
    bool fix = t->nr == SYS_ioctl
                   ? socket_inode(t, fd) != 0
                   : (r == -ENOPROTOOPT && socket_inode(t, fd) != 0) || is_netlink_socket(t, fd);
    if (!fix)
        return EXIT_DONE;
    log_debug("tid %d: %s on fd %d gave %lld: success", (int)t->tid,
              t->nr == SYS_ioctl ? "ioctl(SIOCSIFFLAGS)" : "setsockopt(SO_*TIMEO)", fd, (long long)r);
    trap_set_result(t, 0);
    return EXIT_DONE;
}

static const struct rule_syscall ioctl_syscalls[] = {
    {.nr = SYS_ioctl, .n_conds = 1, .conds = {RULE_ARG_EQ(1, SIOCSIFFLAGS)}},
    {.nr = SYS_setsockopt,
     .n_conds = 2,
     .conds = {RULE_ARG_EQ(1, SOL_SOCKET), RULE_ARG_EQ(2, SO_RCVTIMEO_OLD_)}},
    {.nr = SYS_setsockopt,
     .n_conds = 2,
     .conds = {RULE_ARG_EQ(1, SOL_SOCKET), RULE_ARG_EQ(2, SO_SNDTIMEO_OLD_)}},
    {.nr = SYS_setsockopt,
     .n_conds = 2,
     .conds = {RULE_ARG_EQ(1, SOL_SOCKET), RULE_ARG_EQ(2, SO_RCVTIMEO_NEW)}},
    {.nr = SYS_setsockopt,
     .n_conds = 2,
     .conds = {RULE_ARG_EQ(1, SOL_SOCKET), RULE_ARG_EQ(2, SO_SNDTIMEO_NEW)}},
};

const struct rule rule_ioctl_net = {
    .id = RULE_IOCTL_NET,
    .name = "ioctl-net",
    .summary =
        "ioctl(SIOCSIFFLAGS) and netlink setsockopt(SO_RCVTIMEO/SO_SNDTIMEO) succeed when gVisor refuses",
    .syscalls = ioctl_syscalls,
    .n_syscalls = sizeof(ioctl_syscalls) / sizeof(ioctl_syscalls[0]),
    .enter = ioctl_enter,
    .exit = ioctl_exit,
};
