#include "proxier.h"

#include "log.h"
#include "macro.h"
#include "netlink-addr.h"
#include "proxy-internal.h"
#include "service.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>

bool in_cidr(struct in_addr a, struct in_addr net, uint8_t prefixlen)
{
    if (prefixlen == 0)
        return true;
    uint32_t mask = prefixlen >= 32 ? 0xffffffffu : ~(0xffffffffu >> prefixlen);
    return (ntohl(a.s_addr) & mask) == (ntohl(net.s_addr) & mask);
}

static int addr_cmp(const void *a, const void *b)
{
    uint32_t x = ntohl(((const struct in_addr *)a)->s_addr), y = ntohl(((const struct in_addr *)b)->s_addr);
    return x < y ? -1 : x > y;
}

static bool addr_in(const struct in_addr *list, size_t n, struct in_addr a)
{
    return n > 0 && bsearch(&a, list, n, sizeof(*list), addr_cmp) != NULL;
}

/* ---- listeners ---- */

static const char *addr_text(const struct sockaddr_in *sa, char buf[32])
{
    char ip[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &sa->sin_addr, ip, sizeof(ip));
    snprintf(buf, 32, "%s:%u", ip, ntohs(sa->sin_port));
    return buf;
}

static void listener_close(struct proxier *p, struct listener **lp)
{
    struct listener *l = *lp;
    if (!l)
        return;
    if (l->protocol == IPPROTO_UDP)
        udp_flows_close_all(l);
    loop_io_remove(p->loop, &l->io, true);
    *lp = NULL;
    if (loop_defer_free(p->loop, l, free) < 0)
        log_warn("cannot defer freeing a listener: leaking it");
}

static int bind_listener(struct listener *l)
{
    int type = l->protocol == IPPROTO_TCP ? SOCK_STREAM : SOCK_DGRAM;
    _cleanup_close_ int fd = socket_nonblock(AF_INET, type);
    if (fd < 0)
        return fd;
    int one = 1;
    /* Accepted connections outlive their listener across Service changes; SO_REUSEADDR lets the port be
     * bound again while they (or their TIME_WAIT) hold it. */
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&l->addr, sizeof(l->addr)) < 0)
        return negative_errno();
    if (type == SOCK_STREAM && listen(fd, 1024) < 0)
        return negative_errno();
    return TAKE_FD(fd);
}

static int listener_open(struct proxier *p, struct service_port_rt *sp, struct in_addr ip, uint16_t port,
                         struct listener **ret)
{
    struct listener *l = calloc(1, sizeof(*l));
    if (!l)
        return -ENOMEM;
    l->proxier = p;
    l->port = sp;
    l->protocol = sp->protocol;
    l->addr = (struct sockaddr_in){.sin_family = AF_INET, .sin_addr = ip, .sin_port = htons(port)};
    char where[32];
    int fd = bind_listener(l);
    if (fd < 0) {
        log_warn_errno(fd, "%s: cannot listen on %s %s: %m; will retry", sp->key, protocol_name(sp->protocol),
                       addr_text(&l->addr, where));
        free(l);
        return fd;
    }
    l->io.fd = fd;
    int r = l->protocol == IPPROTO_TCP ? tcp_listener_dispatch_setup(l) : udp_listener_dispatch_setup(l);
    if (r >= 0)
        r = loop_io_add(p->loop, &l->io, EPOLLIN);
    if (r < 0) {
        close(fd);
        free(l);
        return log_warn_errno(r, "%s: cannot watch its listener: %m", sp->key);
    }
    *ret = l;
    return 0;
}

/* Opens or closes the port's listeners to match its backends; returns false if one failed to open. */
static bool ensure_listeners(struct proxier *p, struct service_port_rt *sp)
{
    bool serve = sp->balancer.n_backends > 0;
    bool ok = true;
    if (serve && sp->has_cluster_ip && !sp->cluster_listener)
        ok &= listener_open(p, sp, sp->cluster_ip, sp->port, &sp->cluster_listener) >= 0;
    if (serve && sp->node_port && !sp->node_listener)
        ok &= listener_open(p, sp, p->opts.node_port_address, sp->node_port, &sp->node_listener) >= 0;
    if (!serve || !sp->has_cluster_ip)
        listener_close(p, &sp->cluster_listener);
    if (!serve || !sp->node_port)
        listener_close(p, &sp->node_listener);
    return ok;
}

/* ---- service ports ---- */

static void port_free(struct proxier *p, struct service_port_rt *sp)
{
    listener_close(p, &sp->cluster_listener);
    listener_close(p, &sp->node_listener);
    tcp_conns_forget_port(p, sp);
    balancer_done(&sp->balancer);
    free(sp);
}

static struct service_port_rt *port_find(struct proxier *p, const char *key)
{
    for (struct service_port_rt *sp = p->ports; sp; sp = sp->next)
        if (strcmp(sp->key, key) == 0)
            return sp;
    return NULL;
}

static void log_backends(const struct service_port_rt *sp, bool fresh)
{
    char ip[INET_ADDRSTRLEN] = "-", node_port[24] = "";
    if (sp->has_cluster_ip)
        inet_ntop(AF_INET, &sp->cluster_ip, ip, sizeof(ip));
    if (sp->node_port)
        snprintf(node_port, sizeof(node_port), " nodePort %u", sp->node_port);
    log_info("%s %s: %s:%u%s -> %zu ready endpoint%s", fresh ? "serving" : "updated", sp->key, ip, sp->port,
             node_port, sp->balancer.n_backends, sp->balancer.n_backends == 1 ? "" : "s");
}

/* Brings one desired port's runtime state in line. Returns false if a listener failed to open. */
static bool apply_port(struct proxier *p, const struct service *svc, const struct service_port *port,
                       json_t *endpoints)
{
    char key[SERVICE_PORT_KEY_MAX];
    snprintf(key, sizeof(key), "%s/%s:%s:%s", svc->namespace_, svc->name, port->name,
             protocol_name(port->protocol));
    _cleanup_free_ struct backend *backends = NULL;
    size_t n = 0;
    struct service_port_rt *sp = port_find(p, key);
    if (endpoints_backends(endpoints, port->name, port->protocol, &backends, &n) < 0) {
        /* Out of memory: keep serving what was there; the retry tick comes back to it. */
        if (sp)
            sp->seen = true;
        return false;
    }
    if (n == 0 && p->opts.kubernetes_endpoint.sin_port && port->protocol == IPPROTO_TCP &&
        strcmp(svc->namespace_, "default") == 0 && strcmp(svc->name, "kubernetes") == 0) {
        backends = malloc(sizeof(*backends));
        if (!backends)
            return false;
        backends[0] = (struct backend){.ip = p->opts.kubernetes_endpoint.sin_addr,
                                       .port = ntohs(p->opts.kubernetes_endpoint.sin_port)};
        n = 1;
    }
    bool fresh = !sp;
    if (fresh) {
        sp = calloc(1, sizeof(*sp));
        if (!sp)
            return false;
        memcpy(sp->key, key, sizeof(key));
        balancer_init(&sp->balancer);
        sp->protocol = port->protocol;
        sp->next = p->ports;
        p->ports = sp;
    }
    sp->seen = true;
    bool ip_changed = sp->has_cluster_ip != svc->has_cluster_ip ||
                      (svc->has_cluster_ip && sp->cluster_ip.s_addr != svc->cluster_ip.s_addr) ||
                      sp->port != port->port;
    if (ip_changed)
        listener_close(p, &sp->cluster_listener);
    if (sp->node_port != port->node_port)
        listener_close(p, &sp->node_listener);
    sp->has_cluster_ip = svc->has_cluster_ip;
    sp->cluster_ip = svc->cluster_ip;
    sp->port = port->port;
    sp->node_port = port->node_port;
    bool changed = fresh || ip_changed || sp->balancer.n_backends != n ||
                   (n > 0 && memcmp(sp->balancer.backends, backends, n * sizeof(*backends)) != 0);
    balancer_set_affinity(&sp->balancer, svc->affinity_client_ip, svc->affinity_timeout_s);
    if (balancer_set_backends(&sp->balancer, backends, n) < 0)
        return false;
    if (changed) {
        log_backends(sp, fresh);
        if (sp->cluster_listener && sp->protocol == IPPROTO_UDP)
            udp_flows_prune(sp->cluster_listener, -1);
        if (sp->node_listener && sp->protocol == IPPROTO_UDP)
            udp_flows_prune(sp->node_listener, -1);
    }
    return ensure_listeners(p, sp);
}

static bool serves_cluster_ip(struct proxier *p, const struct service *svc)
{
    if (!svc->has_cluster_ip)
        return false;
    if (in_cidr(svc->cluster_ip, p->opts.service_cidr, p->opts.service_prefixlen))
        return true;
    /* Said once: every reconcile meets the same Service again. */
    if (!p->warned_outside_cidr) {
        char ip[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &svc->cluster_ip, ip, sizeof(ip));
        log_warn("%s/%s: ClusterIP %s is outside --service-cidr: not served; set --service-cidr to the "
                 "apiserver's --service-cluster-ip-range",
                 svc->namespace_, svc->name, ip);
        p->warned_outside_cidr = true;
    }
    return false;
}

/* The addresses that must be on lo: every served ClusterIP and the extra ones (DNS), sorted. */
static int collect_addresses(struct proxier *p, struct in_addr **ret, size_t *ret_n)
{
    size_t cap = json_object_size(p->store->services.objects) + p->opts.n_extra_addresses;
    struct in_addr *addrs = calloc(cap ? cap : 1, sizeof(*addrs));
    if (!addrs)
        return -ENOMEM;
    size_t n = 0;
    for (size_t i = 0; i < p->opts.n_extra_addresses; i++)
        addrs[n++] = p->extra_addresses[i];
    const char *key;
    json_t *obj;
    json_object_foreach(p->store->services.objects, key, obj)
    {
        struct service svc;
        if (service_from_json(obj, &svc) < 0)
            continue;
        if (svc.type != SERVICE_EXTERNAL_NAME && serves_cluster_ip(p, &svc) && n < cap)
            addrs[n++] = svc.cluster_ip;
        service_done(&svc);
    }
    qsort(addrs, n, sizeof(*addrs), addr_cmp);
    *ret = addrs;
    *ret_n = n;
    return 0;
}

/* Applies every port of every Service. Returns false if some listener could not be opened. */
static bool apply_ports(struct proxier *p)
{
    bool ok = true;
    const char *key;
    json_t *obj;
    json_object_foreach(p->store->services.objects, key, obj)
    {
        struct service svc;
        if (service_from_json(obj, &svc) < 0)
            continue;
        if (svc.type != SERVICE_EXTERNAL_NAME && !svc.headless) {
            if (!serves_cluster_ip(p, &svc))
                svc.has_cluster_ip = false;
            json_t *ep = json_object_get(p->store->endpoints.objects, key);
            for (size_t j = 0; j < svc.n_ports; j++)
                if (svc.ports[j].protocol != IPPROTO_SCTP)
                    ok &= apply_port(p, &svc, &svc.ports[j], ep);
        }
        service_done(&svc);
    }
    return ok;
}

static void drop_unseen_ports(struct proxier *p)
{
    for (struct service_port_rt **spp = &p->ports; *spp;) {
        struct service_port_rt *sp = *spp;
        if (sp->seen) {
            spp = &sp->next;
            continue;
        }
        log_info("stopped serving %s", sp->key);
        *spp = sp->next;
        port_free(p, sp);
    }
}

/* ---- addresses on lo ---- */

static void add_addresses(struct proxier *p, const struct in_addr *want, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (addr_in(p->managed, p->n_managed, want[i]))
            continue;
        int r = nl_addr_add(p->nl_fd, p->lo_ifindex, want[i], 32);
        if (r < 0) {
            char ip[INET_ADDRSTRLEN];
            inet_ntop(AF_INET, &want[i], ip, sizeof(ip));
            log_warn_errno(r, "cannot add %s/32 to lo: %m", ip);
        }
    }
}

static void remove_addresses(struct proxier *p, const struct in_addr *keep, size_t n_keep)
{
    for (size_t i = 0; i < p->n_managed; i++) {
        if (addr_in(keep, n_keep, p->managed[i]))
            continue;
        char ip[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &p->managed[i], ip, sizeof(ip));
        int r = nl_addr_del(p->nl_fd, p->lo_ifindex, p->managed[i], 32);
        if (r < 0)
            log_warn_errno(r, "cannot remove %s/32 from lo: %m", ip);
        else
            log_debug("removed %s/32 from lo", ip);
    }
}

/* What is on lo now, as far as kig-proxy owns it: /32s inside the service CIDR. Reading it back rather
 * than trusting memory is what makes a restart after SIGKILL clean up what the dead instance added. */
static int read_managed(struct proxier *p)
{
    _cleanup_free_ struct if_addr4 *list = NULL;
    size_t n = 0;
    int r = nl_addr_list(p->nl_fd, p->lo_ifindex, &list, &n);
    if (r < 0)
        return log_warn_errno(r, "cannot list the addresses on lo: %m");
    struct in_addr *managed = calloc(n ? n : 1, sizeof(*managed));
    if (!managed)
        return -ENOMEM;
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (list[i].prefixlen == 32 &&
            (in_cidr(list[i].addr, p->opts.service_cidr, p->opts.service_prefixlen) ||
             addr_in(p->extra_addresses, p->opts.n_extra_addresses, list[i].addr)))
            managed[m++] = list[i].addr;
    qsort(managed, m, sizeof(*managed), addr_cmp);
    free(p->managed);
    p->managed = managed;
    p->n_managed = m;
    return 0;
}

/* ---- reconcile ---- */

static size_t count_ports(const struct proxier *p)
{
    size_t n = 0;
    for (const struct service_port_rt *sp = p->ports; sp; sp = sp->next)
        n++;
    return n;
}

static void reconcile(struct proxier *p)
{
    _cleanup_free_ struct in_addr *addrs = NULL;
    size_t n_addrs = 0;
    if (read_managed(p) < 0 || collect_addresses(p, &addrs, &n_addrs) < 0)
        return;
    /* Addresses first (a listener can only bind an address on lo), listeners next, stale addresses last
     * (after their listeners are closed). */
    add_addresses(p, addrs, n_addrs);
    for (struct service_port_rt *sp = p->ports; sp; sp = sp->next)
        sp->seen = false;
    p->retry_listeners = !apply_ports(p);
    drop_unseen_ports(p);
    remove_addresses(p, addrs, n_addrs);
    p->applied_generation = p->store->generation;
    if (!p->ready)
        log_info("first sync done: %zu service ports, %zu addresses on lo", count_ports(p), n_addrs);
    p->ready = true;
}

void proxier_sync(struct proxier *p)
{
    if (!store_synced(p->store) || (p->ready && p->store->generation == p->applied_generation))
        return;
    reconcile(p);
}

bool proxier_ready(const struct proxier *p)
{
    return p->ready;
}

void proxier_tick(struct proxier *p)
{
    int64_t now = loop_now_ms();
    for (struct service_port_rt *sp = p->ports; sp; sp = sp->next) {
        balancer_expire(&sp->balancer, now);
        if (sp->cluster_listener && sp->protocol == IPPROTO_UDP)
            udp_flows_prune(sp->cluster_listener, now);
        if (sp->node_listener && sp->protocol == IPPROTO_UDP)
            udp_flows_prune(sp->node_listener, now);
    }
    /* Every 10 s at most: a port held by another program is logged once per try. */
    if (p->ready && p->retry_listeners && ++p->ticks_since_retry >= 10) {
        p->ticks_since_retry = 0;
        reconcile(p);
    }
}

int proxier_new(struct loop *l, struct store *store, const struct proxier_options *opts, struct proxier **ret)
{
    _cleanup_free_ struct proxier *p = calloc(1, sizeof(*p));
    if (!p)
        return -ENOMEM;
    p->loop = l;
    p->store = store;
    p->opts = *opts;
    p->reserve_fd = -1;
    if (opts->n_extra_addresses > 0) {
        p->extra_addresses = calloc(opts->n_extra_addresses, sizeof(*p->extra_addresses));
        if (!p->extra_addresses)
            return -ENOMEM;
        memcpy(p->extra_addresses, opts->extra_addresses, opts->n_extra_addresses * sizeof(struct in_addr));
        qsort(p->extra_addresses, opts->n_extra_addresses, sizeof(struct in_addr), addr_cmp);
    }
    p->lo_ifindex = (int)if_nametoindex("lo");
    if (p->lo_ifindex == 0)
        return log_error_errno(errno, "cannot find the loopback interface lo: %m");
    p->nl_fd = nl_addr_open();
    if (p->nl_fd < 0) {
        free(p->extra_addresses);
        return log_error_errno(p->nl_fd, "cannot open an rtnetlink socket: %m");
    }
    /* When accept() runs out of fds, this one is given up to accept the connection and reset it, so the
     * client hears at once instead of waiting in the backlog. */
    p->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    *ret = TAKE_PTR(p);
    return 0;
}

void proxier_free(struct proxier *p, bool remove_addresses_too)
{
    if (!p)
        return;
    tcp_conns_close_all(p);
    while (p->ports) {
        struct service_port_rt *sp = p->ports;
        p->ports = sp->next;
        port_free(p, sp);
    }
    if (remove_addresses_too && read_managed(p) == 0) {
        remove_addresses(p, NULL, 0);
        log_info("removed %zu service addresses from lo", p->n_managed);
    }
    close(p->nl_fd);
    if (p->reserve_fd >= 0)
        close(p->reserve_fd);
    free(p->managed);
    free(p->extra_addresses);
    free(p);
}
