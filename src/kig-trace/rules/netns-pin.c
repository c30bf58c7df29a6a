/* netns-pin: network-namespace pins that work where gVisor cannot pin a namespace.
 *
 * containerd's CRI keeps a pod's network namespace alive by bind-mounting /proc/PID/task/TID/ns/net onto a
 * file in its netns directory, checks the pin with statfs == NSFS_MAGIC before each use, and unmounts it
 * when the pod goes. gVisor 20221219 mounts the ns symlink itself: the pin can be neither opened (ELOOP)
 * nor statfs'ed. kig gives pods their namespace another way (a netns holder, docs/networking.md), so the
 * pin only has to look right to containerd:
 *  - the bind mount of a /proc/.../ns/net onto a file under a netns directory succeeds without being made
 *    (the file stays an empty regular file, which opens fine);
 *  - statfs/fstatfs of a pin (an existing file under a netns directory) answers NSFS_MAGIC (else containerd
 *    would decide the namespace is gone and skip the CNI DEL that frees the pod's address); a pin that no
 *    longer exists gets the real ENOENT;
 *  - the unmount needs nothing: containerd ignores EINVAL ("not a mount point").
 * kig enables this rule only when a trial pin fails in the sandbox (newer gVisor releases pin for real). */
#include "log.h"
#include "memory.h"
#include "path.h"
#include "rule.h"

#include <limits.h>
#include <linux/magic.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>

#define MAX_NETNS_DIRS (2 + MAX_NETNS_DIR_OPTIONS)

static const char *netns_dirs[MAX_NETNS_DIRS] = {"/run/netns", "/var/run/netns"};
static size_t n_netns_dirs = 2;

void netns_dirs_init(const struct trace_options *opts)
{
    n_netns_dirs = 2;
    for (size_t i = 0; i < opts->n_netns_dirs && n_netns_dirs < MAX_NETNS_DIRS; i++)
        netns_dirs[n_netns_dirs++] = opts->netns_dirs[i];
}

static int netns_pin_init(const struct trace_options *opts)
{
    netns_dirs_init(opts);
    return 0;
}

bool netns_dir_holds(const char *path)
{
    for (size_t i = 0; i < n_netns_dirs; i++) {
        const char *rest = path_under(path, netns_dirs[i]);
        if (rest && *rest) /* a pin, not the directory itself */
            return true;
    }
    return false;
}

/* "/proc/PID/ns/net", "/proc/PID/task/TID/ns/net", "/proc/self/..." and "/proc/thread-self/ns/net". */
bool netns_pin_is_ns_link(const char *path)
{
    if (strncmp(path, "/proc/", 6) != 0)
        return false;
    size_t len = strlen(path);
    static const char tail[] = "/ns/net";
    if (len < sizeof(tail) - 1 || strcmp(path + len - (sizeof(tail) - 1), tail) != 0)
        return false;
    /* Between "/proc/" and "/ns/net": one component, or "PID/task/TID". */
    const char *p = path + 6, *end = path + len - (sizeof(tail) - 1);
    int components = 1;
    for (const char *c = p; c < end; c++)
        if (*c == '/')
            components++;
    if (end <= p)
        return false;
    if (components == 1)
        return true;
    return components == 3 && strstr(p, "/task/") && strstr(p, "/task/") < end;
}

static enum trap_action pin_mount(struct trap *t)
{
    if (!(trap_arg(t, 3) & MS_BIND))
        return TRAP_PASS;
    char source[PATH_MAX], target[PATH_MAX];
    if (trap_read_path(t, 0, -1, source, sizeof(source)) < 0 ||
        trap_read_path(t, 1, -1, target, sizeof(target)) < 0)
        return TRAP_PASS;
    if (!netns_pin_is_ns_link(source) || !netns_dir_holds(target))
        return TRAP_PASS;
    log_debug("tid %d: netns pin %s -> %s: kept as a plain file", (int)t->tid, source, target);
    trap_set_result(t, 0);
    return TRAP_SKIP;
}

static enum trap_action pin_statfs(struct trap *t)
{
    char path[PATH_MAX];
    int r = t->nr == SYS_statfs ? trap_read_path(t, 0, -1, path, sizeof(path))
                                : trap_fd_path(t, (int)trap_arg(t, 0), path, sizeof(path));
    if (r < 0 || !netns_dir_holds(path))
        return TRAP_PASS;
    /* A pin that is gone must say so: containerd's netns Closed() takes ENOENT from statfs as "closed",
     * but a made-up NSFS_MAGIC sent it on to open(), whose ENOENT it reports as an error: every status
     * call of a stopped pod failed and kubelet took two minutes to delete it. */
    struct stat exists;
    if (t->nr == SYS_statfs && stat(path, &exists) < 0)
        return TRAP_PASS;
    struct statfs st;
    rule_fill_statfs(NSFS_MAGIC, &st);
    r = mem_write(t->tid, trap_arg(t, 1), &st, sizeof(st));
    trap_set_result(t, r < 0 ? -EFAULT : 0);
    return TRAP_SKIP;
}

static enum trap_action netns_pin_enter(struct trap *t)
{
    switch (t->nr) {
    case SYS_mount:
        return pin_mount(t);
    case SYS_statfs:
    case SYS_fstatfs:
        return pin_statfs(t);
    default:
        return TRAP_PASS;
    }
}

static const struct rule_syscall netns_pin_syscalls[] = {
    {.nr = SYS_mount}, {.nr = SYS_statfs}, {.nr = SYS_fstatfs}};

const struct rule rule_netns_pin = {
    .id = RULE_NETNS_PIN,
    .name = "netns-pin",
    .summary =
        "bind mounts of /proc/PID/ns/net into a netns dir kept as plain files that statfs as NSFS_MAGIC "
        "(gVisor mounts the symlink)",
    .syscalls = netns_pin_syscalls,
    .n_syscalls = 3,
    .init = netns_pin_init,
    .enter = netns_pin_enter,
};
