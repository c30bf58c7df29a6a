/* netns-enter: `kubectl port-forward` into a pod whose network namespace cannot be entered.
 *
 * containerd's CRI PortForward (1.6: pkg/cri/server/sandbox_portforward_linux.go) locks a goroutine to an OS
 * thread, setns()es that thread into the pod's pinned namespace, dials localhost:PORT (tcp4, then tcp6) and
 * setns()es back. gVisor 20221219 has no setns, and under the netns-pin rule the pin is a plain file anyway
 * (docs/networking.md): the pod's namespace belongs to its kig-switch netns holder. So this rule fakes the
 * enter and does the connect for the thread the way the node can:
 *  - setns(fd, CLONE_NEWNET) on a pin under a netns directory answers 0 and remembers "thread TID is in pod
 *    P", P's address taken from kig-switch's state.json (the pin path is the pod's CNI_NETNS there);
 *  - setns(CLONE_NEWNET) by such a thread on anything else (its own /proc/PID/task/TID/ns/net: going back)
 *    answers 0 and forgets;
 *  - connect() by such a thread to 127.0.0.0/8:PORT becomes a connect to P's address:PORT (the node reaches
 *    every pod through kig0); to ::1 or ::ffff:127.x it is refused (the tcp6 fallback must not reach the
 *    node's own loopback).
 * Limit: a server that listens on 127.0.0.1 only inside the pod is not reached (only the pod's address is).
 * kig enables it for containerd only: every IPv4 connect of the traced tree stops the tracee. */
#include "netns-enter.h"
#include "log.h"
#include "macro.h"
#include "memory.h"
#include "rule.h"
#include "scratch.h"

#include "fileutil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>

#define STATE_FILE "state.json"

static char state_path[PATH_MAX];

/* ---- the pure parts (tests/kig-trace/test-netns-enter.c) ---- */

static struct {
    pid_t tid; /* 0: free */
    struct in_addr pod;
} entered[NETNS_ENTER_MAX_THREADS];

int netns_enter_set(pid_t tid, struct in_addr pod)
{
    size_t free_slot = NETNS_ENTER_MAX_THREADS;
    for (size_t i = 0; i < NETNS_ENTER_MAX_THREADS; i++) {
        if (entered[i].tid == tid) {
            entered[i].pod = pod; /* from one pod straight into another */
            return 0;
        }
        if (!entered[i].tid && free_slot == NETNS_ENTER_MAX_THREADS)
            free_slot = i;
    }
    if (free_slot == NETNS_ENTER_MAX_THREADS)
        return -ENOSPC;
    entered[free_slot].tid = tid;
    entered[free_slot].pod = pod;
    return 0;
}

bool netns_enter_get(pid_t tid, struct in_addr *ret_pod)
{
    for (size_t i = 0; i < NETNS_ENTER_MAX_THREADS; i++)
        if (entered[i].tid == tid) {
            if (ret_pod)
                *ret_pod = entered[i].pod;
            return true;
        }
    return false;
}

bool netns_enter_clear(pid_t tid)
{
    for (size_t i = 0; i < NETNS_ENTER_MAX_THREADS; i++)
        if (entered[i].tid == tid) {
            entered[i].tid = 0;
            return true;
        }
    return false;
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* The same pin: the same path, or the same name in another spelling of its directory (/var/run vs /run, a
 * symlinked data directory). containerd names pins cni-<random UUID>, unique on the node. */
static bool same_pin(const char *a, const char *b)
{
    return strcmp(a, b) == 0 ||
           (strncmp(base_name(a), "cni-", 4) == 0 && strcmp(base_name(a), base_name(b)) == 0);
}

int netns_enter_pod_address(const char *state_json, const char *pin, struct in_addr *ret)
{
    json_error_t error;
    json_t *doc = json_loads(state_json, 0, &error);
    if (!doc)
        return -EINVAL;
    json_t *pods = json_object_get(doc, "pods"), *pod;
    size_t i;
    int r = -ENOENT;
    json_array_foreach(pods, i, pod)
    {
        const char *netns = NULL, *address = NULL;
        int dead = 0;
        if (json_unpack(pod, "{s:s, s:s, s?b}", "netns", &netns, "address", &address, "dead", &dead) < 0 ||
            !same_pin(netns, pin))
            continue;
        char ip[INET_ADDRSTRLEN];
        size_t len = strcspn(address, "/");
        if (dead)
            r = -EHOSTDOWN;
        else if (len >= sizeof(ip))
            r = -EINVAL;
        else {
            memcpy(ip, address, len);
            ip[len] = '\0';
            r = inet_pton(AF_INET, ip, ret) == 1 ? 0 : -EINVAL;
        }
        break;
    }
    json_decref(doc);
    return r;
}

enum netns_connect_action netns_enter_connect(const void *sa, size_t len, struct in_addr pod,
                                              struct sockaddr_in *ret)
{
    sa_family_t family;
    if (len < sizeof(family))
        return NETNS_CONNECT_PASS;
    memcpy(&family, sa, sizeof(family));
    if (family == AF_INET && len >= sizeof(struct sockaddr_in)) {
        struct sockaddr_in in;
        memcpy(&in, sa, sizeof(in));
        if ((ntohl(in.sin_addr.s_addr) >> 24) != 127)
            return NETNS_CONNECT_PASS; /* the pod reaching elsewhere: the node's view is the same */
        *ret = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = in.sin_port, .sin_addr = pod};
        return NETNS_CONNECT_REWRITE;
    }
    if (family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
        struct sockaddr_in6 in6;
        memcpy(&in6, sa, sizeof(in6));
        const uint8_t *b = in6.sin6_addr.s6_addr;
        bool mapped_loopback = IN6_IS_ADDR_V4MAPPED(&in6.sin6_addr) && b[12] == 127;
        if (IN6_IS_ADDR_LOOPBACK(&in6.sin6_addr) || mapped_loopback)
            return NETNS_CONNECT_REFUSE;
    }
    return NETNS_CONNECT_PASS;
}

/* ---- the rule ---- */

static int netns_enter_init(const struct trace_options *opts)
{
    netns_dirs_init(opts);
    /* kig exports KIG_SWITCH_DIR to containerd's environment (its shims find the holders through it). */
    const char *dir = opts->switch_dir ? opts->switch_dir : getenv("KIG_SWITCH_DIR");
    if (!dir || !*dir)
        dir = "/run/kig/switch";
    if ((size_t)snprintf(state_path, sizeof(state_path), "%s/%s", dir, STATE_FILE) >= sizeof(state_path))
        return log_error_errno(ENAMETOOLONG, "--switch-dir '%s' is too long", dir);
    return 0;
}

static int pod_address_of(const char *pin, struct in_addr *ret)
{
    _cleanup_free_ char *text = NULL;
    int r = read_file(state_path, &text, NULL, 1 << 20);
    if (r < 0)
        return r;
    return netns_enter_pod_address(text, pin, ret);
}

static enum trap_action enter_setns(struct trap *t)
{
    char path[PATH_MAX];
    if (trap_fd_path(t, (int)trap_arg(t, 0), path, sizeof(path)) >= 0 && netns_dir_holds(path)) {
        struct in_addr pod;
        int r = pod_address_of(path, &pod);
        if (r >= 0)
            r = netns_enter_set(t->tid, pod);
        if (r < 0) {
            log_warn("tid %d: setns into %s: no pod address (%s, %s): left to the kernel", (int)t->tid, path,
                     state_path, strerror(-r));
            return TRAP_PASS;
        }
        char ip[INET_ADDRSTRLEN];
        log_debug("tid %d: entered the pod network of %s (%s)", (int)t->tid, path,
                  inet_ntop(AF_INET, &pod, ip, sizeof(ip)));
        trap_set_result(t, 0);
        return TRAP_SKIP;
    }
    if (!netns_enter_clear(t->tid))
        return TRAP_PASS;
    log_debug("tid %d: back in its own network namespace", (int)t->tid);
    trap_set_result(t, 0);
    return TRAP_SKIP;
}

static enum trap_action enter_connect(struct trap *t)
{
    struct in_addr pod;
    if (!netns_enter_get(t->tid, &pod))
        return TRAP_PASS;
    union {
        struct sockaddr_in in;
        struct sockaddr_in6 in6;
    } sa;
    size_t len = (size_t)trap_arg(t, 2);
    if (len > sizeof(sa) || mem_read(t->tid, trap_arg(t, 1), &sa, len) < 0)
        return TRAP_PASS;
    struct sockaddr_in to;
    switch (netns_enter_connect(&sa, len, pod, &to)) {
    case NETNS_CONNECT_PASS:
        return TRAP_PASS;
    case NETNS_CONNECT_REFUSE:
        trap_set_result(t, -ECONNREFUSED);
        return TRAP_SKIP;
    case NETNS_CONNECT_REWRITE:
        break;
    }
    uint64_t addr;
    int r = scratch_put(t, &to, sizeof(to), &addr);
    if (r == -EAGAIN)
        return TRAP_NEED_SCRATCH;
    if (r < 0) {
        log_warn("tid %d: cannot rewrite a connect into its pod: %s", (int)t->tid, strerror(-r));
        return TRAP_PASS;
    }
    char ip[INET_ADDRSTRLEN];
    log_debug("tid %d: connect to port %u in the pod: %s", (int)t->tid, (unsigned)ntohs(to.sin_port),
              inet_ntop(AF_INET, &pod, ip, sizeof(ip)));
    trap_set_arg(t, 1, addr);
    trap_set_arg(t, 2, sizeof(to));
    return TRAP_FOLLOW;
}

static enum trap_action netns_enter_enter(struct trap *t)
{
    switch (t->nr) {
    case SYS_setns:
        return enter_setns(t);
    case SYS_connect:
        return enter_connect(t);
    default:
        return TRAP_PASS;
    }
}

static void netns_enter_died(pid_t tid, int status)
{
    (void)status;
    netns_enter_clear(tid);
}

static const struct rule_syscall netns_enter_syscalls[] = {
    {.nr = SYS_setns, .n_conds = 1, .conds = {RULE_ARG_EQ(1, CLONE_NEWNET)}},
    /* By address length: IPv4 and IPv6 socket addresses only, not the unix sockets containerd lives on. */
    {.nr = SYS_connect, .n_conds = 1, .conds = {RULE_ARG_EQ(2, sizeof(struct sockaddr_in))}},
    {.nr = SYS_connect, .n_conds = 1, .conds = {RULE_ARG_EQ(2, sizeof(struct sockaddr_in6))}},
};

const struct rule rule_netns_enter = {
    .id = RULE_NETNS_ENTER,
    .name = "netns-enter",
    .summary = "setns into a netns pin answered 0; that thread's connect to 127.0.0.1:PORT goes to the pod's "
               "address (kubectl port-forward)",
    .syscalls = netns_enter_syscalls,
    .n_syscalls = 3,
    .init = netns_enter_init,
    .enter = netns_enter_enter,
    .tracee_died = netns_enter_died,
};
