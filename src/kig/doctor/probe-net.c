/* Pod networking: network namespaces, veth and bridge links (CNI bridge/ptp), TAP devices (kig's userspace
 * switch), routes and addresses. Everything runs in a child's new network namespace, which takes every link,
 * address and route with it when the child exits. */
#include "probe.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

/* if_nametoindex lives in <net/if.h>, which clashes with <linux/if.h> */
extern unsigned int if_nametoindex(const char *ifname);

struct nl_msg {
    struct nlmsghdr *h;
    size_t max;
    char buf[2048];
};

static void nl_init(struct nl_msg *m, int type, int flags, const void *payload, size_t len)
{
    memset(m->buf, 0, sizeof(m->buf));
    m->h = (struct nlmsghdr *)m->buf;
    m->max = sizeof(m->buf);
    m->h->nlmsg_type = (unsigned short)type;
    m->h->nlmsg_flags = (unsigned short)(NLM_F_REQUEST | NLM_F_ACK | flags);
    m->h->nlmsg_seq = 1;
    m->h->nlmsg_len = NLMSG_LENGTH(len);
    memcpy(NLMSG_DATA(m->h), payload, len);
}

static struct rtattr *nl_put(struct nl_msg *m, int type, const void *data, size_t len)
{
    size_t at = NLMSG_ALIGN(m->h->nlmsg_len);
    if (at + RTA_SPACE(len) > m->max)
        return NULL;
    struct rtattr *a = (struct rtattr *)(m->buf + at);
    a->rta_type = (unsigned short)type;
    a->rta_len = (unsigned short)RTA_LENGTH(len);
    if (len)
        memcpy(RTA_DATA(a), data, len);
    m->h->nlmsg_len = (unsigned)(at + RTA_SPACE(len));
    return a;
}

static void nl_put_raw(struct nl_msg *m, const void *data, size_t len)
{
    size_t at = NLMSG_ALIGN(m->h->nlmsg_len);
    if (at + NLMSG_ALIGN(len) > m->max)
        return;
    memcpy(m->buf + at, data, len);
    m->h->nlmsg_len = (unsigned)(at + NLMSG_ALIGN(len));
}

static void nl_nest_end(struct nl_msg *m, struct rtattr *nest)
{
    if (nest)
        nest->rta_len = (unsigned short)((char *)m->h + m->h->nlmsg_len - (char *)nest);
}

/* Sends the request and returns the kernel's answer: 0 or -errno. */
static int nl_talk(struct nl_msg *m)
{
    _cleanup_close_ int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd < 0)
        return negative_errno();
    struct timeval tv = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
    if (sendto(fd, m->h, m->h->nlmsg_len, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        return negative_errno();
    char reply[4096];
    ssize_t n = recv(fd, reply, sizeof(reply), 0);
    if (n < 0)
        return negative_errno();
    for (struct nlmsghdr *h = (struct nlmsghdr *)reply; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n))
        if (h->nlmsg_type == NLMSG_ERROR) {
            struct nlmsgerr *e = NLMSG_DATA(h);
            return e->error;
        }
    return -EBADMSG;
}

static int add_link(const char *name, const char *kind, const char *peer)
{
    struct nl_msg m;
    struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC};
    nl_init(&m, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &ifi, sizeof(ifi));
    nl_put(&m, IFLA_IFNAME, name, strlen(name) + 1);
    struct rtattr *info = nl_put(&m, IFLA_LINKINFO, NULL, 0);
    nl_put(&m, IFLA_INFO_KIND, kind, strlen(kind));
    if (peer) {
        struct rtattr *data = nl_put(&m, IFLA_INFO_DATA, NULL, 0);
        struct rtattr *p = nl_put(&m, VETH_INFO_PEER, NULL, 0);
        struct ifinfomsg peer_ifi = {.ifi_family = AF_UNSPEC};
        nl_put_raw(&m, &peer_ifi, sizeof(peer_ifi));
        nl_put(&m, IFLA_IFNAME, peer, strlen(peer) + 1);
        nl_nest_end(&m, p);
        nl_nest_end(&m, data);
    }
    nl_nest_end(&m, info);
    return nl_talk(&m);
}

static void probe_netns(const struct probe *p, const struct probe_context *ctx, struct probe_result *res)
{
    if (unshare(CLONE_NEWNET) < 0) {
        probe_set_errno(res, probe_status_for_errno(errno), errno, "unshare(CLONE_NEWNET)");
        return;
    }
    unsigned idx = if_nametoindex("lo");
    probe_set(res, idx ? DOCTOR_PRESENT : DOCTOR_PARTIAL, "new network namespace%s",
              idx ? " with lo" : " without lo");
}

static void probe_link(const struct probe *p, const struct probe_context *ctx, struct probe_result *res)
{
    const char *peer = strcmp(p->arg, "veth") == 0 ? "kigdoc1" : NULL;
    int r = add_link("kigdoc0", p->arg, peer);
    if (r < 0) {
        probe_set_errno(res, probe_status_for_errno(r), r, "RTM_NEWLINK kind %s", p->arg);
        return;
    }
    unsigned idx = if_nametoindex("kigdoc0");
    probe_set(res, idx ? DOCTOR_PRESENT : DOCTOR_PARTIAL, "created a %s link%s (in a throwaway netns)",
              p->arg, idx ? "" : " that then cannot be found");
}

static void probe_tap(const struct probe *p, const struct probe_context *ctx, struct probe_result *res)
{
    _cleanup_close_ int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        probe_set_errno(res, e == ENOENT ? DOCTOR_MISSING : probe_status_for_errno(e), e,
                        "open /dev/net/tun");
        return;
    }
    struct ifreq ifr = {0};
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "kigdoctap0");
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        int e = errno;
        probe_set_errno(res, probe_status_for_errno(e), e, "TUNSETIFF(IFF_TAP|IFF_NO_PI)");
        return;
    }
    probe_set(res, DOCTOR_PRESENT, "created TAP %s (ifindex %u) in a new netns", ifr.ifr_name,
              if_nametoindex(ifr.ifr_name));
}

static void set_lo_up(void)
{
    _cleanup_close_ int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct ifreq ifr = {0};
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
    if (s >= 0 && ioctl(s, SIOCGIFFLAGS, &ifr) == 0 && !(ifr.ifr_flags & IFF_UP)) {
        ifr.ifr_flags |= IFF_UP;
        ioctl(s, SIOCSIFFLAGS, &ifr);
    }
}

static void probe_route(const struct probe *p, const struct probe_context *ctx, struct probe_result *res)
{
    set_lo_up();
    unsigned lo = if_nametoindex("lo");
    struct nl_msg m;
    struct rtmsg rt = {.rtm_family = AF_INET,
                       .rtm_dst_len = 16,
                       .rtm_table = RT_TABLE_MAIN,
                       .rtm_protocol = RTPROT_BOOT,
                       .rtm_scope = RT_SCOPE_LINK,
                       .rtm_type = RTN_UNICAST};
    nl_init(&m, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, &rt, sizeof(rt));
    struct in_addr dst;
    inet_pton(AF_INET, "10.254.0.0", &dst);
    nl_put(&m, RTA_DST, &dst, sizeof(dst));
    nl_put(&m, RTA_OIF, &lo, sizeof(lo));
    int r = nl_talk(&m);
    if (r < 0)
        probe_set_errno(res, probe_status_for_errno(r), r, "RTM_NEWROUTE 10.254.0.0/16 dev lo");
    else
        probe_set(res, DOCTOR_PRESENT, "added route 10.254.0.0/16 dev lo (in a throwaway netns)");
}

static void probe_lo_addr(const struct probe *p, const struct probe_context *ctx, struct probe_result *res)
{
    unsigned lo = if_nametoindex("lo");
    struct nl_msg m;
    struct ifaddrmsg ifa = {
        .ifa_family = AF_INET, .ifa_prefixlen = 12, .ifa_scope = RT_SCOPE_UNIVERSE, .ifa_index = lo};
    nl_init(&m, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, &ifa, sizeof(ifa));
    struct in_addr a;
    inet_pton(AF_INET, "10.96.0.1", &a);
    nl_put(&m, IFA_LOCAL, &a, sizeof(a));
    nl_put(&m, IFA_ADDRESS, &a, sizeof(a));
    int r = nl_talk(&m);
    if (r < 0)
        probe_set_errno(res, probe_status_for_errno(r), r, "RTM_NEWADDR 10.96.0.1/12 dev lo");
    else
        probe_set(res, DOCTOR_PRESENT, "added 10.96.0.1/12 to lo (in a throwaway netns)");
}

#define SWITCH "userspace switch over TAP (kig CNI plugin)"

static const struct probe probes[] = {
    {.id = "net.netns",
     .category = "net",
     .summary = "creating a network namespace (one per pod)",
     .fallback = "pods share the sandbox network (hostNetwork "
                 "only)",
     .isolation = PROBE_CHILD,
     .run = probe_netns},
    {.id = "net.veth",
     .category = "net",
     .summary = "veth pairs (CNI bridge and ptp plugins)",
     .fallback = SWITCH,
     .isolation = PROBE_CHILD_NETNS,
     .run = probe_link,
     .arg = "veth"},
    {.id = "net.bridge",
     .category = "net",
     .summary = "bridge links (CNI bridge plugin)",
     .fallback = SWITCH,
     .isolation = PROBE_CHILD_NETNS,
     .run = probe_link,
     .arg = "bridge"},
    {.id = "net.tap",
     .category = "net",
     .summary = "TAP devices from /dev/net/tun (kig's userspace switch)",
     .fallback = "pods share the sandbox network (hostNetwork only)",
     .isolation = PROBE_CHILD_NETNS,
     .run = probe_tap},
    {.id = "net.route",
     .category = "net",
     .summary = "adding a route with rtnetlink (CNI plugins)",
     .fallback = "kig CNI plugin: the TAP switch routes pod traffic (no kernel routes)",
     .isolation = PROBE_CHILD_NETNS,
     .run = probe_route},
    {.id = "net.lo_addr",
     .category = "net",
     .summary = "adding an address to lo (the Service CIDR for kig's service proxy)",
     .fallback = "kig service proxy listens on the node address",
     .isolation = PROBE_CHILD_NETNS,
     .run = probe_lo_addr},
};

PROBE_TABLE(probe_table_net, probes);
