#include "netlink-addr.h"

#include "macro.h"

#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* gVisor rejects SO_RCVTIMEO on netlink sockets: replies are awaited with poll() instead. */
#define NL_REPLY_TIMEOUT_MS 5000

int nl_addr_open(void)
{
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd < 0)
        return negative_errno();
    struct sockaddr_nl local = {.nl_family = AF_NETLINK};
    if (bind(fd, (struct sockaddr *)&local, sizeof(local)) < 0) {
        int r = negative_errno();
        close(fd);
        return r;
    }
    return fd;
}

static int recv_reply(int fd, char *buf, size_t size)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int n = poll(&p, 1, NL_REPLY_TIMEOUT_MS);
    if (n < 0)
        return negative_errno();
    if (n == 0)
        return -ETIMEDOUT;
    ssize_t len = recv(fd, buf, size, 0);
    if (len < 0)
        return negative_errno();
    return (int)len;
}

static int send_request(int fd, struct nlmsghdr *h)
{
    struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
    if (sendto(fd, h, h->nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0)
        return negative_errno();
    return 0;
}

/* Waits for the NLMSG_ERROR acknowledging request seq. */
static int wait_ack(int fd, uint32_t seq)
{
    char buf[8192];
    for (;;) {
        int len = recv_reply(fd, buf, sizeof(buf));
        if (len < 0)
            return len;
        for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (unsigned)len);
             h = NLMSG_NEXT(h, len)) {
            if (h->nlmsg_seq != seq || h->nlmsg_type != NLMSG_ERROR)
                continue;
            if (h->nlmsg_len < NLMSG_LENGTH(sizeof(struct nlmsgerr)))
                return -EBADMSG;
            const struct nlmsgerr *e = NLMSG_DATA(h);
            return e->error;
        }
    }
}

struct addr_request {
    struct nlmsghdr h;
    struct ifaddrmsg ifa;
    char attrs[64];
};

static void add_attr(struct addr_request *req, unsigned short type, const void *data, size_t len)
{
    struct rtattr *rta = (struct rtattr *)((char *)req + NLMSG_ALIGN(req->h.nlmsg_len));
    rta->rta_type = type;
    rta->rta_len = (unsigned short)RTA_LENGTH(len);
    memcpy(RTA_DATA(rta), data, len);
    req->h.nlmsg_len = NLMSG_ALIGN(req->h.nlmsg_len) + RTA_ALIGN(rta->rta_len);
}

static int change_addr(int fd, uint16_t type, uint16_t flags, int ifindex, struct in_addr addr,
                       uint8_t prefixlen)
{
    static uint32_t seq = 1;
    struct addr_request req = {
        .h = {.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifaddrmsg)),
              .nlmsg_type = type,
              .nlmsg_flags = (uint16_t)(NLM_F_REQUEST | NLM_F_ACK | flags),
              .nlmsg_seq = ++seq},
        .ifa = {.ifa_family = AF_INET,
                .ifa_prefixlen = prefixlen,
                .ifa_scope = RT_SCOPE_UNIVERSE,
                .ifa_index = (unsigned)ifindex},
    };
    add_attr(&req, IFA_LOCAL, &addr, sizeof(addr));
    add_attr(&req, IFA_ADDRESS, &addr, sizeof(addr));
    int r = send_request(fd, &req.h);
    if (r < 0)
        return r;
    return wait_ack(fd, req.h.nlmsg_seq);
}

int nl_addr_add(int fd, int ifindex, struct in_addr addr, uint8_t prefixlen)
{
    int r = change_addr(fd, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, ifindex, addr, prefixlen);
    return r == -EEXIST ? 0 : r;
}

int nl_addr_del(int fd, int ifindex, struct in_addr addr, uint8_t prefixlen)
{
    int r = change_addr(fd, RTM_DELADDR, 0, ifindex, addr, prefixlen);
    return r == -EADDRNOTAVAIL || r == -ENOENT || r == -ESRCH ? 0 : r;
}

static int push_addr(struct if_addr4 **list, size_t *n, size_t *cap, struct if_addr4 a)
{
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 16;
        struct if_addr4 *l = realloc(*list, c * sizeof(*l));
        if (!l)
            return -ENOMEM;
        *list = l;
        *cap = c;
    }
    (*list)[(*n)++] = a;
    return 0;
}

/* Adds the address in one RTM_NEWADDR message to the list when it belongs to ifindex. */
static int take_addr(struct nlmsghdr *h, int ifindex, struct if_addr4 **list, size_t *n, size_t *cap)
{
    if (h->nlmsg_len < NLMSG_LENGTH(sizeof(struct ifaddrmsg)))
        return -EBADMSG;
    struct ifaddrmsg *ifa = NLMSG_DATA(h);
    if (ifa->ifa_family != AF_INET || (int)ifa->ifa_index != ifindex)
        return 0;
    int len = (int)IFA_PAYLOAD(h);
    const struct in_addr *local = NULL, *address = NULL;
    for (struct rtattr *rta = IFA_RTA(ifa); RTA_OK(rta, len); rta = RTA_NEXT(rta, len)) {
        if (RTA_PAYLOAD(rta) < sizeof(struct in_addr))
            continue;
        if (rta->rta_type == IFA_LOCAL)
            local = RTA_DATA(rta);
        else if (rta->rta_type == IFA_ADDRESS)
            address = RTA_DATA(rta);
    }
    const struct in_addr *a = local ? local : address;
    if (!a)
        return 0;
    return push_addr(list, n, cap, (struct if_addr4){.addr = *a, .prefixlen = ifa->ifa_prefixlen});
}

static int read_dump(int fd, uint32_t seq, int ifindex, struct if_addr4 **list, size_t *n, size_t *cap)
{
    char buf[16384];
    for (;;) {
        int len = recv_reply(fd, buf, sizeof(buf));
        if (len < 0)
            return len;
        for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (unsigned)len);
             h = NLMSG_NEXT(h, len)) {
            if (h->nlmsg_seq != seq)
                continue;
            if (h->nlmsg_type == NLMSG_DONE)
                return 0;
            if (h->nlmsg_type == NLMSG_ERROR) {
                const struct nlmsgerr *e = NLMSG_DATA(h);
                return h->nlmsg_len >= NLMSG_LENGTH(sizeof(*e)) && e->error ? e->error : -EBADMSG;
            }
            if (h->nlmsg_type != RTM_NEWADDR)
                continue;
            int r = take_addr(h, ifindex, list, n, cap);
            if (r < 0)
                return r;
        }
    }
}

int nl_addr_list(int fd, int ifindex, struct if_addr4 **ret, size_t *ret_n)
{
    static uint32_t seq = 1u << 30;
    struct {
        struct nlmsghdr h;
        struct ifaddrmsg ifa;
    } req = {
        .h = {.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifaddrmsg)),
              .nlmsg_type = RTM_GETADDR,
              .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP,
              .nlmsg_seq = ++seq},
        .ifa = {.ifa_family = AF_INET},
    };
    int r = send_request(fd, &req.h);
    if (r < 0)
        return r;
    struct if_addr4 *list = NULL;
    size_t n = 0, cap = 0;
    r = read_dump(fd, req.h.nlmsg_seq, ifindex, &list, &n, &cap);
    if (r < 0) {
        free(list);
        return r;
    }
    *ret = list;
    *ret_n = n;
    return 0;
}
