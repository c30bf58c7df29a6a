/* Pods: their netns holders, their ports, and the state file that lets a restarted switch find them again.
 *
 * A holder is forked from the switch and execs `kig-switch holder`; it reports the pod's TAP fd back over a
 * socketpair that the switch then keeps as a watch: EOF on it means the holder died. After a switch
 * restart the watch is a fresh connection to the holder's socket (podns_get_tap). */
#include "kswitch.h"

#include "fileutil.h"
#include "holder.h"
#include "log.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>

#define HOLDER_START_TIMEOUT_MS 20000
#define STATE_FILE              "state.json"

struct pod *pod_find(struct kswitch *sw, const char *id)
{
    for (size_t i = 0; i < SWITCH_MAX_PODS; i++)
        if (sw->pods[i].in_use && strcmp(sw->pods[i].id, id) == 0)
            return &sw->pods[i];
    return NULL;
}

static size_t pod_index(struct kswitch *sw, struct pod *pod)
{
    return (size_t)(pod - sw->pods);
}

static void format_address(uint32_t a, unsigned prefix_len, char *buf, size_t size)
{
    char ip[INET_ADDRSTRLEN];
    struct in_addr in = {.s_addr = htonl(a)};
    inet_ntop(AF_INET, &in, ip, sizeof(ip));
    snprintf(buf, size, "%s/%u", ip, prefix_len);
}

int state_save(struct kswitch *sw)
{
    json_t *pods = json_array();
    for (size_t i = 0; i < SWITCH_MAX_PODS; i++) {
        struct pod *p = &sw->pods[i];
        if (!p->in_use)
            continue;
        char address[32];
        format_address(p->address, p->prefix_len, address, sizeof(address));
        json_array_append_new(pods, json_pack("{s:s, s:s, s:s, s:s, s:i, s:b}", "id", p->id, "ifname",
                                              p->ifname, "netns", p->netns, "address", address, "holderPid",
                                              (int)p->holder_pid, "dead", p->dead));
    }
    json_t *doc = json_pack("{s:i, s:o}", "version", 1, "pods", pods);
    _cleanup_free_ char *s = doc ? json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    json_decref(doc);
    if (!s)
        return log_error_errno(-ENOMEM, "cannot write the switch state: out of memory");
    _cleanup_free_ char *path = path_join(sw->o.dir, STATE_FILE);
    if (!path)
        return -ENOMEM;
    int r = write_file_atomic(path, s, strlen(s), 0600);
    if (r < 0)
        return log_error_errno(r, "cannot write %s: %m", path);
    return 0;
}

static int attach(struct kswitch *sw, struct pod *pod, int tap_fd)
{
    size_t idx = pod_index(sw, pod);
    int r = port_start(sw, POD_PORT(idx), PORT_POD, pod->address, tap_fd);
    if (r < 0) {
        close(tap_fd);
        return r;
    }
    atomic_store_explicit(&sw->port_of[pod->address - sw->fwd.pods.net], (int)POD_PORT(idx),
                          memory_order_release);
    return 0;
}

static void detach(struct kswitch *sw, struct pod *pod)
{
    if (!pod->dead) {
        size_t off = pod->address - sw->fwd.pods.net;
        if (atomic_load(&sw->port_of[off]) == (int)POD_PORT(pod_index(sw, pod)))
            atomic_store(&sw->port_of[off], -1);
        port_stop(sw, POD_PORT(pod_index(sw, pod)));
    }
    if (pod->watch_fd >= 0) {
        close(pod->watch_fd);
        pod->watch_fd = -1;
    }
}

/* Runs in the forked child of a multi-threaded process: async-signal-safe calls only, argv built before. */
static _noreturn_ void exec_holder(const char *exe, const char *const *argv, int report_fd)
{
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    if (dup2(report_fd, 3) < 0)
        _exit(127);
    execv(exe, (char *const *)argv);
    _exit(127);
}

/* Starts the pod's holder and receives its TAP. */
static int start_holder(struct kswitch *sw, struct pod *pod, int *ret_tap, char *err, size_t err_size)
{
    char address[32];
    format_address(pod->address, pod->prefix_len, address, sizeof(address));
    const char *argv[] = {sw->self_exe,
                          "holder",
                          "--dir",
                          sw->o.dir,
                          "--id",
                          pod->id,
                          "--ifname",
                          pod->ifname,
                          "--address",
                          address,
                          "--report-fd",
                          "3",
                          sw->o.verbose ? "--verbose" : NULL,
                          NULL};
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
        return log_error_errno(errno, "socketpair: %m");
    pid_t pid = fork();
    if (pid < 0) {
        int r = negative_errno();
        close(sv[0]);
        close(sv[1]);
        return log_error_errno(r, "cannot fork a netns holder: %m");
    }
    if (pid == 0)
        exec_holder(sw->self_exe, argv, sv[1]);
    close(sv[1]);
    _cleanup_close_ int conn = sv[0];

    struct pollfd p = {.fd = conn, .events = POLLIN};
    int r = poll(&p, 1, HOLDER_START_TIMEOUT_MS);
    if (r == 0) {
        kill(pid, SIGKILL);
        snprintf(err, err_size, "the netns holder did not report within %d s",
                 HOLDER_START_TIMEOUT_MS / 1000);
        return -ETIMEDOUT;
    }
    /* recv through the podns reply format: a header and the TAP fd */
    char buf[sizeof(struct podns_reply) + 64];
    struct iovec iov = {.iov_base = buf, .iov_len = sizeof(buf)};
    union {
        char b[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } control;
    struct msghdr msg = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.b, .msg_controllen = sizeof(control.b)};
    ssize_t n = recvmsg(conn, &msg, MSG_CMSG_CLOEXEC);
    struct cmsghdr *c = n > 0 ? CMSG_FIRSTHDR(&msg) : NULL;
    if (n < (ssize_t)sizeof(struct podns_reply) || !c || c->cmsg_type != SCM_RIGHTS) {
        /* The holder failed before reporting; its error went to our log (shared stderr). */
        int status = 0;
        waitpid(pid, &status, 0);
        snprintf(err, err_size, "the netns holder failed (exit status %d); see kig-switch's log",
                 WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
        return -EIO;
    }
    memcpy(ret_tap, CMSG_DATA(c), sizeof(int));
    pod->holder_pid = pid;
    pod->watch_fd = TAKE_FD(conn);
    return 0;
}

static bool address_taken(struct kswitch *sw, uint32_t address)
{
    for (size_t i = 0; i < SWITCH_MAX_PODS; i++)
        if (sw->pods[i].in_use && sw->pods[i].address == address)
            return true;
    return false;
}

int pod_add(struct kswitch *sw, const char *id, const char *ifname, const char *netns, uint32_t address,
            unsigned prefix_len, char *err, size_t err_size)
{
    struct pod *existing = pod_find(sw, id);
    if (existing) {
        if (existing->address != address || strcmp(existing->ifname, ifname) != 0) {
            snprintf(err, err_size, "pod %s is already attached with another address or interface", id);
            return -EEXIST;
        }
        if (existing->dead) {
            snprintf(err, err_size, "pod %s lost its netns holder; DEL it first", id);
            return -ESRCH;
        }
        return 0; /* ADD again for the same pod: already done */
    }
    if (!route4_contains(&sw->fwd.pods, address) || address == sw->fwd.node_address ||
        address == sw->fwd.pods.net || address == (sw->fwd.pods.net | ~sw->fwd.pods.mask)) {
        snprintf(err, err_size, "address is not a usable pod address of this switch's pod CIDR");
        return -EINVAL;
    }
    if (address_taken(sw, address)) {
        snprintf(err, err_size, "another pod already has this address");
        return -EADDRINUSE;
    }
    struct pod *pod = NULL;
    for (size_t i = 0; i < SWITCH_MAX_PODS && !pod; i++)
        if (!sw->pods[i].in_use)
            pod = &sw->pods[i];
    if (!pod) {
        snprintf(err, err_size, "the switch is full (%d pods)", SWITCH_MAX_PODS);
        return -ENOSPC;
    }
    *pod = (struct pod){.address = address, .prefix_len = prefix_len, .watch_fd = -1};
    snprintf(pod->id, sizeof(pod->id), "%s", id);
    snprintf(pod->ifname, sizeof(pod->ifname), "%s", ifname);
    snprintf(pod->netns, sizeof(pod->netns), "%s", netns ? netns : "");
    int tap = -1;
    int r = start_holder(sw, pod, &tap, err, err_size);
    if (r < 0)
        return r;
    r = attach(sw, pod, tap);
    if (r < 0) {
        snprintf(err, err_size, "cannot start the pod's port");
        close(pod->watch_fd);
        (void)podns_shutdown(sw->o.dir, id);
        return r;
    }
    pod->in_use = true;
    log_info("pod %s attached: %s, holder pid %d", id, ifname, (int)pod->holder_pid);
    (void)state_save(sw);
    return 0;
}

int pod_del(struct kswitch *sw, const char *id)
{
    struct pod *pod = pod_find(sw, id);
    /* Ask the holder to exit even if we do not know the pod: it may be left over from a lost state. */
    int r = podns_shutdown(sw->o.dir, id);
    if (r < 0)
        log_warn_errno(r, "pod %s: cannot stop its netns holder: %m", id);
    if (!pod)
        return 0;
    detach(sw, pod);
    pod->in_use = false;
    log_info("pod %s detached", id);
    (void)state_save(sw);
    return 1;
}

void pod_holder_died(struct kswitch *sw, struct pod *pod)
{
    log_error("pod %s lost its network: its netns holder (pid %d) exited; the pod must be deleted and "
              "created again",
              pod->id, (int)pod->holder_pid);
    detach(sw, pod);
    pod->dead = true;
    (void)state_save(sw);
}

static int recover_one(struct kswitch *sw, json_t *entry, struct pod *pod)
{
    const char *id = NULL, *ifname = NULL, *address = NULL, *netns = "";
    int pid = 0, dead = 0;
    if (json_unpack(entry, "{s:s, s:s, s:s, s?s, s?i, s?b}", "id", &id, "ifname", &ifname, "address",
                    &address, "netns", &netns, "holderPid", &pid, "dead", &dead) < 0 ||
        !podns_valid_id(id))
        return log_error_errno(-EBADMSG, "ignoring a malformed pod in the state file");
    char ip[32];
    const char *slash = strchr(address, '/');
    struct in_addr in;
    snprintf(ip, sizeof(ip), "%.*s", slash ? (int)(slash - address) : (int)strlen(address), address);
    if (!slash || inet_pton(AF_INET, ip, &in) != 1)
        return log_error_errno(-EBADMSG, "pod %s: bad address '%s' in the state file", id, address);
    *pod = (struct pod){.address = ntohl(in.s_addr),
                        .prefix_len = (unsigned)atoi(slash + 1),
                        .holder_pid = pid,
                        .watch_fd = -1,
                        .dead = true,
                        .in_use = true};
    snprintf(pod->id, sizeof(pod->id), "%s", id);
    snprintf(pod->ifname, sizeof(pod->ifname), "%s", ifname);
    snprintf(pod->netns, sizeof(pod->netns), "%s", netns);
    if (!route4_contains(&sw->fwd.pods, pod->address))
        return log_error_errno(-EINVAL, "pod %s: %s is outside this switch's pod CIDR", id, address);
    if (dead)
        return 0;
    int tap = -1;
    int r = podns_get_tap(sw->o.dir, id, &tap, &pod->watch_fd);
    if (r < 0) {
        log_error_errno(r,
                        "pod %s lost its network: its netns holder (pid %d) is gone (%m); the pod must be "
                        "deleted and created again",
                        id, pid);
        return 0;
    }
    pod->dead = false;
    r = attach(sw, pod, tap);
    if (r < 0) {
        pod->dead = true;
        return r;
    }
    log_info("pod %s recovered (holder pid %d)", id, pid);
    return 0;
}

int pods_recover(struct kswitch *sw)
{
    _cleanup_free_ char *path = path_join(sw->o.dir, STATE_FILE);
    if (!path)
        return -ENOMEM;
    json_error_t jerr;
    json_t *doc = json_load_file(path, 0, &jerr);
    if (!doc) {
        if (!path_exists(path))
            return 0;
        return log_error_errno(-EBADMSG, "cannot read %s: %s; starting with no pods", path, jerr.text);
    }
    json_t *pods = json_object_get(doc, "pods");
    size_t i, n = 0;
    json_t *entry;
    json_array_foreach(pods, i, entry)
    {
        if (n == SWITCH_MAX_PODS)
            break;
        if (recover_one(sw, entry, &sw->pods[n]) == 0)
            n++;
        else
            sw->pods[n] = (struct pod){.watch_fd = -1};
    }
    json_decref(doc);
    return state_save(sw);
}
