#include "frame.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const uint8_t frame_switch_mac[6] = {0x02, 0x6b, 0x69, 0x67, 0x00, 0x01}; /* 02:"kig":00:01 */

static const uint8_t zero_mac[6];

#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_ARP  0x0806
#define ARP_LEN        28

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

bool route4_contains(const struct route4 *r, uint32_t addr)
{
    return (addr & r->mask) == r->net;
}

unsigned route4_prefix_len(const struct route4 *r)
{
    return (unsigned)__builtin_popcount(r->mask);
}

int route4_parse(const char *cidr, struct route4 *ret)
{
    char buf[32];
    const char *slash = strchr(cidr, '/');
    if (!slash || (size_t)(slash - cidr) >= sizeof(buf))
        return -EINVAL;
    memcpy(buf, cidr, (size_t)(slash - cidr));
    buf[slash - cidr] = '\0';
    struct in_addr a;
    if (inet_pton(AF_INET, buf, &a) != 1)
        return -EINVAL;
    char *end;
    errno = 0;
    long len = strtol(slash + 1, &end, 10);
    if (errno || end == slash + 1 || *end || len < 0 || len > 32)
        return -EINVAL;
    uint32_t mask = len == 0 ? 0 : ~(uint32_t)0 << (32 - len);
    *ret = (struct route4){.net = ntohl(a.s_addr) & mask, .mask = mask};
    return 0;
}

size_t frame_build_arp(uint8_t *buf, uint16_t op, const uint8_t sha[6], uint32_t spa, const uint8_t tha[6],
                       uint32_t tpa)
{
    static const uint8_t broadcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    memcpy(buf, op == 1 ? broadcast : tha, 6);
    memcpy(buf + 6, sha, 6);
    put16(buf + 12, ETHERTYPE_ARP);
    uint8_t *a = buf + FRAME_ETH_HLEN;
    put16(a, 1); /* Ethernet */
    put16(a + 2, ETHERTYPE_IPV4);
    a[4] = 6;
    a[5] = 4;
    put16(a + 6, op);
    memcpy(a + 8, sha, 6);
    put32(a + 14, spa);
    memcpy(a + 18, tha, 6);
    put32(a + 24, tpa);
    return FRAME_ETH_HLEN + ARP_LEN;
}

static void drop(struct frame_decision *d, enum frame_drop_reason r)
{
    d->verdict = FRAME_DROP;
    d->reason = r;
}

/* Answers "who has T?" with the switch's MAC for every T but the asker's own address: the switch then
 * routes whatever the asker sends to T. */
static void decide_arp(enum port_kind in_kind, uint32_t in_ip, uint8_t *frame, size_t len,
                       struct frame_decision *d)
{
    if (len < FRAME_ETH_HLEN + ARP_LEN)
        return drop(d, DROP_RUNT);
    uint8_t *a = frame + FRAME_ETH_HLEN;
    if (get16(a) != 1 || get16(a + 2) != ETHERTYPE_IPV4 || a[4] != 6 || a[5] != 4)
        return drop(d, DROP_BAD_ARP);
    if (get16(a + 6) != 1)
        return drop(d, DROP_ARP_IGNORED);
    uint32_t spa = get32(a + 14), tpa = get32(a + 24);
    if (in_kind == PORT_POD && spa != in_ip)
        return drop(d, DROP_SPOOFED);
    if (spa == tpa || tpa == 0 || (in_kind == PORT_POD && tpa == in_ip))
        return drop(d, DROP_ARP_IGNORED);
    uint8_t sha[6];
    memcpy(sha, a + 8, 6);
    d->len = frame_build_arp(frame, 2, frame_switch_mac, tpa, sha, spa);
    d->verdict = FRAME_REPLY;
    d->reason = DROP_NONE;
    d->dst = spa;
}

static bool is_node_destination(const struct fwd_config *c, uint32_t dst)
{
    if (c->node_address && dst == c->node_address)
        return true;
    for (size_t i = 0; i < c->n_node_routes; i++)
        if (route4_contains(&c->node_routes[i], dst))
            return true;
    return false;
}

static void decide_ipv4(const struct fwd_config *c, enum port_kind in_kind, uint32_t in_ip, uint8_t *frame,
                        size_t len, struct frame_decision *d)
{
    if (len < FRAME_ETH_HLEN + 20)
        return drop(d, DROP_RUNT);
    const uint8_t *ip = frame + FRAME_ETH_HLEN;
    size_t ihl = (size_t)(ip[0] & 0x0f) * 4, total = get16(ip + 2);
    if ((ip[0] >> 4) != 4 || ihl < 20 || total < ihl || FRAME_ETH_HLEN + total > len)
        return drop(d, DROP_BAD_IP);
    uint32_t src = get32(ip + 12), dst = get32(ip + 16);
    d->dst = dst;
    if (in_kind == PORT_POD && src != in_ip)
        return drop(d, DROP_SPOOFED);
    uint32_t pod_broadcast = c->pods.net | ~c->pods.mask;
    if (dst == 0xffffffffu || (dst >> 28) == 0xe || (c->pods.mask != 0 && dst == pod_broadcast))
        return drop(d, DROP_BROADCAST);

    if (in_kind == PORT_NAT) {
        /* A pod's NAT only ever answers its own pod. */
        if (dst != in_ip)
            return drop(d, DROP_NO_ROUTE);
        d->verdict = FRAME_TO_POD;
    } else if (is_node_destination(c, dst)) {
        if (in_kind == PORT_NODE)
            return drop(d, DROP_LOOP);
        d->verdict = FRAME_TO_NODE;
    } else if (route4_contains(&c->pods, dst)) {
        if (in_kind == PORT_POD && dst == in_ip)
            return drop(d, DROP_LOOP);
        d->verdict = FRAME_TO_POD;
    } else if (c->nat && in_kind == PORT_POD) {
        d->verdict = FRAME_TO_NAT;
        d->reason = DROP_NONE;
        return; /* the NAT keeps the addresses it learnt by ARP: leave the frame alone */
    } else {
        return drop(d, DROP_NO_ROUTE);
    }
    d->reason = DROP_NONE;
    memcpy(frame, zero_mac, 6);
    memcpy(frame + 6, frame_switch_mac, 6);
}

void frame_decide(const struct fwd_config *c, enum port_kind in_kind, uint32_t in_ip, uint8_t *frame,
                  size_t len, struct frame_decision *d)
{
    *d = (struct frame_decision){.verdict = FRAME_DROP};
    if (len < FRAME_ETH_HLEN)
        return drop(d, DROP_RUNT);
    switch (get16(frame + 12)) {
    case ETHERTYPE_ARP:
        return decide_arp(in_kind, in_ip, frame, len, d);
    case ETHERTYPE_IPV4:
        return decide_ipv4(c, in_kind, in_ip, frame, len, d);
    default:
        return drop(d, DROP_ETHERTYPE);
    }
}

const char *frame_drop_reason_name(enum frame_drop_reason r)
{
    static const char *const names[DROP_REASON_MAX] = {
        [DROP_NONE] = "none",
        [DROP_RUNT] = "runt",
        [DROP_ETHERTYPE] = "ethertype",
        [DROP_BAD_ARP] = "bad-arp",
        [DROP_ARP_IGNORED] = "arp-ignored",
        [DROP_BAD_IP] = "bad-ip",
        [DROP_SPOOFED] = "spoofed",
        [DROP_BROADCAST] = "broadcast",
        [DROP_NO_ROUTE] = "no-route",
        [DROP_LOOP] = "loop",
    };
    return (unsigned)r < DROP_REASON_MAX ? names[r] : "?";
}
