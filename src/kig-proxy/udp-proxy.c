/* The UDP data path. A flow is (client address, port) -> one backend: the first datagram from a client
 * picks a backend and opens a socket connected to it; the backend's replies are sent back to the client
 * from the service listener, so they come from ClusterIP:port as the client expects. A NodePort listener
 * is bound to every address: it learns each datagram's destination with IP_PKTINFO and answers from it.
 * Flows end after --udp-timeout without traffic, or when their backend leaves the Endpoints. */
#include "log.h"
#include "macro.h"
#include "proxy-internal.h"

#include <arpa/inet.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#define UDP_BATCH 64

struct udp_flow {
    struct loop_io io; /* connected to the backend */
    struct listener *listener;
    struct sockaddr_in client;
    struct in_addr local; /* where the client sent to: the source of the replies */
    struct backend target;
    int64_t last_ms;
    struct udp_flow *next; /* hash chain */
};

/* One datagram buffer for the whole process: everything runs on one thread and a datagram is forwarded
 * before the next is read. */
static char datagram[65536];

static unsigned bucket_of(const struct sockaddr_in *sa)
{
    uint32_t h = ntohl(sa->sin_addr.s_addr) * 2654435761u ^ ntohs(sa->sin_port) * 40503u;
    return (h ^ (h >> 16)) % UDP_FLOW_BUCKETS;
}

static struct udp_flow *flow_find(struct listener *l, const struct sockaddr_in *client)
{
    for (struct udp_flow *f = l->flows[bucket_of(client)]; f; f = f->next)
        if (f->client.sin_addr.s_addr == client->sin_addr.s_addr && f->client.sin_port == client->sin_port)
            return f;
    return NULL;
}

static void flow_close(struct listener *l, struct udp_flow *f)
{
    for (struct udp_flow **fp = &l->flows[bucket_of(&f->client)]; *fp; fp = &(*fp)->next)
        if (*fp == f) {
            *fp = f->next;
            break;
        }
    l->n_flows--;
    loop_io_remove(l->proxier->loop, &f->io, true);
    if (loop_defer_free(l->proxier->loop, f, free) < 0)
        log_warn("cannot defer freeing a UDP flow: leaking it");
}

static ssize_t send_to_client(struct listener *l, const struct udp_flow *f, size_t len)
{
    struct iovec iov = {.iov_base = datagram, .iov_len = len};
    union {
        char buf[CMSG_SPACE(sizeof(struct in_pktinfo))];
        struct cmsghdr align;
    } control = {0};
    struct msghdr msg = {
        .msg_name = (void *)&f->client, .msg_namelen = sizeof(f->client), .msg_iov = &iov, .msg_iovlen = 1};
    if (l->addr.sin_addr.s_addr == htonl(INADDR_ANY)) {
        msg.msg_control = control.buf;
        msg.msg_controllen = sizeof(control.buf);
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = IPPROTO_IP;
        c->cmsg_type = IP_PKTINFO;
        c->cmsg_len = CMSG_LEN(sizeof(struct in_pktinfo));
        struct in_pktinfo pi = {.ipi_spec_dst = f->local};
        memcpy(CMSG_DATA(c), &pi, sizeof(pi));
    }
    return sendmsg(l->io.fd, &msg, MSG_DONTWAIT);
}

/* Replies from the backend go to the client from the listener's address. */
static void on_backend_reply(struct loop_io *io, uint32_t events)
{
    struct udp_flow *f = (struct udp_flow *)io;
    struct listener *l = f->listener;
    for (int i = 0; i < UDP_BATCH; i++) {
        ssize_t n = recv(io->fd, datagram, sizeof(datagram), 0);
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR)
                return;
            /* ECONNREFUSED: nothing listens at the backend (an ICMP port unreachable came back). The
             * client's next datagram starts a new flow, which may pick another backend. */
            log_debug("%s: UDP backend %s:%u: %m", l->port->key, inet_ntoa(f->target.ip), f->target.port);
            flow_close(l, f);
            return;
        }
        f->last_ms = loop_now_ms();
        if (send_to_client(l, f, (size_t)n) < 0)
            log_debug("%s: cannot answer a UDP client: %m", l->port->key);
    }
}

static struct udp_flow *flow_open(struct listener *l, const struct sockaddr_in *client, struct in_addr local)
{
    struct backend target;
    if (l->n_flows >= UDP_MAX_FLOWS ||
        balancer_pick(&l->port->balancer, client->sin_addr, loop_now_ms(), &target) < 0)
        return NULL;
    int fd = socket_nonblock(AF_INET, SOCK_DGRAM);
    if (fd < 0)
        return NULL;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr = target.ip, .sin_port = htons(target.port)};
    struct udp_flow *f = calloc(1, sizeof(*f));
    if (!f || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        free(f);
        close(fd);
        return NULL;
    }
    f->io = (struct loop_io){.fd = fd, .dispatch = on_backend_reply};
    f->listener = l;
    f->client = *client;
    f->local = local;
    f->target = target;
    f->last_ms = loop_now_ms();
    if (loop_io_add(l->proxier->loop, &f->io, EPOLLIN) < 0) {
        close(fd);
        free(f);
        return NULL;
    }
    unsigned b = bucket_of(client);
    f->next = l->flows[b];
    l->flows[b] = f;
    l->n_flows++;
    return f;
}

/* Receives one datagram; *local is the address it was sent to (the listener's own unless it is a
 * wildcard). */
static ssize_t receive_from_client(struct listener *l, struct sockaddr_in *client, struct in_addr *local)
{
    struct iovec iov = {.iov_base = datagram, .iov_len = sizeof(datagram)};
    union {
        char buf[CMSG_SPACE(sizeof(struct in_pktinfo))];
        struct cmsghdr align;
    } control;
    struct msghdr msg = {.msg_name = client,
                         .msg_namelen = sizeof(*client),
                         .msg_iov = &iov,
                         .msg_iovlen = 1,
                         .msg_control = control.buf,
                         .msg_controllen = sizeof(control.buf)};
    ssize_t n = recvmsg(l->io.fd, &msg, 0);
    if (n < 0)
        return n;
    *local = l->addr.sin_addr;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
        if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO &&
            c->cmsg_len >= CMSG_LEN(sizeof(struct in_pktinfo))) {
            struct in_pktinfo pi;
            memcpy(&pi, CMSG_DATA(c), sizeof(pi));
            *local = pi.ipi_addr;
        }
    return n;
}

static void on_client_datagram(struct loop_io *io, uint32_t events)
{
    struct listener *l = (struct listener *)io;
    for (int i = 0; i < UDP_BATCH && io->fd >= 0; i++) {
        struct sockaddr_in client;
        struct in_addr local;
        ssize_t n = receive_from_client(l, &client, &local);
        if (n < 0) {
            if (errno != EAGAIN && errno != EINTR && errno != ECONNREFUSED)
                log_debug("%s: UDP receive: %m", l->port->key);
            return;
        }
        if (client.sin_family != AF_INET)
            continue;
        struct udp_flow *f = flow_find(l, &client);
        if (!f)
            f = flow_open(l, &client, local);
        if (!f)
            continue; /* dropped, as a full conntrack table would */
        f->last_ms = loop_now_ms();
        if (send(f->io.fd, datagram, (size_t)n, MSG_DONTWAIT) < 0 && errno != EAGAIN)
            flow_close(l, f);
    }
}

int udp_listener_dispatch_setup(struct listener *l)
{
    l->io.dispatch = on_client_datagram;
    int one = 1;
    if (l->addr.sin_addr.s_addr == htonl(INADDR_ANY) &&
        setsockopt(l->io.fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one)) < 0)
        return negative_errno();
    return 0;
}

void udp_flows_prune(struct listener *l, int64_t now_ms)
{
    int64_t timeout = l->proxier->opts.udp_timeout_ms;
    for (unsigned b = 0; b < UDP_FLOW_BUCKETS; b++)
        for (struct udp_flow *f = l->flows[b], *next; f; f = next) {
            next = f->next;
            if ((now_ms >= 0 && now_ms - f->last_ms > timeout) ||
                !balancer_has_backend(&l->port->balancer, &f->target))
                flow_close(l, f);
        }
}

void udp_flows_close_all(struct listener *l)
{
    for (unsigned b = 0; b < UDP_FLOW_BUCKETS; b++)
        while (l->flows[b])
            flow_close(l, l->flows[b]);
}
