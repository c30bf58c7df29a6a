/* kig-switch's main thread: the control socket, the holders' watch connections, the NATs' sockets and
 * timers, and signals, all in one poll loop. Frames never pass through here (see port.c). */
#include "kswitch.h"

#include "fileutil.h"
#include "log.h"
#include "tap.h"

#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>

#define IDLE_TIMEOUT_MS 1000

static int setup_signals(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    /* Threads started later inherit this mask, so only the main thread sees these. */
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    int fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    return fd < 0 ? log_error_errno(errno, "signalfd: %m") : fd;
}

static void handle_signals(struct kswitch *sw)
{
    struct signalfd_siginfo si;
    while (read(sw->signal_fd, &si, sizeof(si)) == sizeof(si)) {
        if (si.ssi_signo == SIGCHLD)
            continue;
        log_info("exiting on signal %u; pods keep their namespaces and are recovered on restart",
                 si.ssi_signo);
        sw->quit = true;
    }
    /* Holders we started: reap them (their death is reported through their watch connection). */
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
        log_debug("holder pid %d exited (status 0x%x)", (int)pid, status);
}

static int start_node_port(struct kswitch *sw)
{
    if (!sw->o.node_ifname)
        return 0;
    int fd = -1;
    int r = tap_create(sw->o.node_ifname, sw->o.node_address, sw->o.node_prefix_len, &fd);
    if (r < 0)
        return r;
    /* Pods reach the node's other addresses (its node IP on lo, service addresses) through this TAP:
     * gVisor delivers a packet for an address of another interface only when forwarding is on. */
    r = write_file_once("/proc/sys/net/ipv4/ip_forward", "1");
    if (r < 0)
        log_warn_errno(r, "cannot enable ip_forward (%m): pods reach the node only at its address on %s",
                       sw->o.node_ifname);
    return port_start(sw, NODE_PORT, PORT_NODE, 0, fd);
}

static int ps_add(struct nat_pollset *ps, int fd)
{
    if (ps->n == ps->cap) {
        size_t cap = ps->cap ? ps->cap * 2 : 64;
        struct pollfd *f = realloc(ps->fds, cap * sizeof(*f));
        if (!f)
            return -ENOMEM;
        ps->fds = f;
        ps->cap = cap;
    }
    ps->fds[ps->n++] = (struct pollfd){.fd = fd, .events = POLLIN};
    return 0;
}

static int loop(struct kswitch *sw)
{
    struct nat_pollset ps = {0};
    /* pod index of each watch fd in the pollset, to find the pod after poll */
    static size_t watch_pod[SWITCH_MAX_PODS];
    int r = 0;
    while (!sw->quit) {
        ps.n = 0;
        ps_add(&ps, sw->signal_fd);
        ps_add(&ps, sw->wake_fd);
        ps_add(&ps, sw->control_fd);
        size_t first_client = ps.n;
        for (size_t i = 0; i < sw->n_clients; i++)
            ps_add(&ps, sw->clients[i].fd);
        size_t first_watch = ps.n, n_watch = 0;
        for (size_t i = 0; i < SWITCH_MAX_PODS; i++)
            if (sw->pods[i].in_use && sw->pods[i].watch_fd >= 0) {
                watch_pod[n_watch++] = i;
                ps_add(&ps, sw->pods[i].watch_fd);
            }
        int timeout = IDLE_TIMEOUT_MS;
        pthread_mutex_lock(&sw->nat_lock);
        for (size_t i = 0; i < SWITCH_MAX_PODS; i++)
            if (sw->ports[POD_PORT(i)].nat)
                nat_fill(sw->ports[POD_PORT(i)].nat, &ps, &timeout);
        pthread_mutex_unlock(&sw->nat_lock);

        if (poll(ps.fds, ps.n, timeout) < 0 && errno != EINTR) {
            r = log_error_errno(errno, "poll: %m");
            break;
        }

        pthread_mutex_lock(&sw->nat_lock);
        for (size_t i = 0; i < SWITCH_MAX_PODS; i++)
            if (sw->ports[POD_PORT(i)].nat)
                nat_dispatch(sw->ports[POD_PORT(i)].nat, &ps);
        pthread_mutex_unlock(&sw->nat_lock);

        if (ps.fds[0].revents)
            handle_signals(sw);
        if (ps.fds[1].revents) {
            uint64_t v;
            (void)!read(sw->wake_fd, &v, sizeof(v));
        }
        for (size_t k = 0; k < n_watch; k++) {
            struct pollfd *p = &ps.fds[first_watch + k];
            struct pod *pod = &sw->pods[watch_pod[k]];
            if (!p->revents || !pod->in_use || pod->watch_fd != p->fd)
                continue;
            /* A holder never writes on its watch connection: readable means closed. */
            char c;
            ssize_t k2 = recv(p->fd, &c, 1, MSG_DONTWAIT);
            if (k2 == 0 || (k2 < 0 && errno != EAGAIN) || (p->revents & (POLLHUP | POLLERR)))
                pod_holder_died(sw, pod);
        }
        /* Clients from the end: dropping one moves the last into its slot. */
        for (size_t k = sw->n_clients; k-- > 0;) {
            struct pollfd *p = &ps.fds[first_client + k];
            if (!p->revents || sw->clients[k].fd != p->fd)
                continue;
            if (control_handle(sw, p->fd)) {
                close(sw->clients[k].fd);
                sw->clients[k] = sw->clients[--sw->n_clients];
            }
        }
        if (ps.fds[2].revents & POLLIN) {
            int c = accept4(sw->control_fd, NULL, NULL, SOCK_CLOEXEC);
            if (c >= 0 && sw->n_clients < SWITCH_MAX_CLIENTS)
                sw->clients[sw->n_clients++] = (struct control_client){.fd = c};
            else if (c >= 0)
                close(c);
        }
    }
    free(ps.fds);
    return r;
}

int switch_run(const struct switch_options *o)
{
    static struct kswitch sw; /* big (ports and pods tables): keep it off the stack */
    sw.o = *o;
    sw.fwd = (struct fwd_config){.pods = o->pods, .node_address = o->node_address, .nat = o->nat};
    memcpy(sw.fwd.node_routes, o->node_routes, sizeof(o->node_routes));
    sw.fwd.n_node_routes = o->n_node_routes;
    sw.control_fd = sw.signal_fd = sw.wake_fd = -1;
    for (size_t i = 0; i < ARRAY_SIZE(sw.ports); i++)
        atomic_store(&sw.ports[i].fd, -1);
    for (size_t i = 0; i < SWITCH_MAX_PODS; i++)
        sw.pods[i].watch_fd = -1;
    pthread_mutex_init(&sw.nat_lock, NULL);

    unsigned host_bits = 32 - route4_prefix_len(&o->pods);
    if (host_bits > 16)
        return log_error_errno(-EINVAL, "the pod CIDR is larger than a /16; give kig-switch a smaller one");
    sw.n_addresses = (size_t)1 << host_bits;
    sw.port_of = calloc(sw.n_addresses, sizeof(*sw.port_of));
    if (!sw.port_of)
        return log_error_errno(-ENOMEM, "out of memory");
    for (size_t i = 0; i < sw.n_addresses; i++)
        atomic_store(&sw.port_of[i], -1);

    ssize_t n = readlink("/proc/self/exe", sw.self_exe, sizeof(sw.self_exe) - 1);
    if (n <= 0)
        return log_error_errno(errno, "cannot find my own executable: %m");
    sw.self_exe[n] = '\0';
    int r = mkdir_p(o->dir, 0700);
    if (r < 0)
        return log_error_errno(r, "cannot create %s: %m", o->dir);

    sw.signal_fd = setup_signals();
    if (sw.signal_fd < 0)
        return sw.signal_fd;
    sw.wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (sw.wake_fd < 0)
        return log_error_errno(errno, "eventfd: %m");
    r = start_node_port(&sw);
    if (r < 0)
        return r;
    r = pods_recover(&sw);
    if (r < 0)
        return r;
    sw.control_fd = control_listen(&sw);
    if (sw.control_fd < 0)
        return sw.control_fd;
    log_info("ready: control socket %s/switch.sock", o->dir);
    return loop(&sw);
}
