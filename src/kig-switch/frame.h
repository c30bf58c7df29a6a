/* The forwarding decision for one Ethernet frame, kept free of I/O so it can be unit-tested and fuzzed.
 *
 * gVisor's TAP devices all have the MAC address 00:00:00:00:00:00 and it cannot be changed, so MAC
 * learning is useless: kig-switch forwards by IPv4 destination instead. Every pod gets its address with
 * a prefix that covers everything it must reach (gVisor routes by first match and cannot add routes), so
 * it ARPs for every destination; the switch answers every such ARP with its own MAC and then routes the
 * IP packet itself. Frames leave the switch with destination MAC 00:00:00:00:00:00 (every TAP's MAC). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FRAME_ETH_HLEN 14
#define FRAME_MAX      (65535 + FRAME_ETH_HLEN)

/* The MAC the switch answers ARP with (locally administered). */
extern const uint8_t frame_switch_mac[6];

enum port_kind {
    PORT_POD,  /* a pod's TAP: source address must be the pod's */
    PORT_NODE, /* the node's TAP: any source */
    PORT_NAT,  /* frames coming back from a pod's userspace NAT */
};

struct route4 {
    uint32_t net; /* host byte order, already masked */
    uint32_t mask;
};

struct fwd_config {
    struct route4 pods;            /* the pod CIDR */
    uint32_t node_address;         /* the node's address on its TAP (the pods' gateway), host order */
    struct route4 node_routes[16]; /* more destinations that belong to the node (node IP, services) */
    size_t n_node_routes;
    bool nat; /* send other destinations from pods to the pod's userspace NAT */
};

enum frame_verdict {
    FRAME_DROP,
    FRAME_REPLY,   /* the frame was rewritten in place into an answer for the port it came from */
    FRAME_TO_POD,  /* to the pod whose address is decision.dst */
    FRAME_TO_NODE, /* to the node port */
    FRAME_TO_NAT,  /* to the ingress pod's NAT */
};

enum frame_drop_reason {
    DROP_NONE,
    DROP_RUNT,        /* shorter than its headers */
    DROP_ETHERTYPE,   /* not IPv4 or ARP (IPv6 is not routed) */
    DROP_BAD_ARP,     /* not Ethernet/IPv4 ARP */
    DROP_ARP_IGNORED, /* replies, gratuitous ARP, probes for the sender's own address */
    DROP_BAD_IP,      /* malformed IPv4 header */
    DROP_SPOOFED,     /* a pod sent with an address that is not its own */
    DROP_BROADCAST,   /* broadcast and multicast are not forwarded */
    DROP_NO_ROUTE,    /* nobody owns the destination */
    DROP_LOOP,        /* would go back out the port it came in */
    DROP_REASON_MAX,
};

struct frame_decision {
    enum frame_verdict verdict;
    enum frame_drop_reason reason;
    uint32_t dst; /* IPv4 destination, host order */
    size_t len;   /* FRAME_REPLY: length of the answer written over the frame */
};

/* Decides what to do with a frame that came in on a port of kind in_kind whose own address is in_ip
 * (0 for the node port). May rewrite the frame in place: Ethernet addresses for forwarded frames, the
 * whole frame for ARP answers (same length). */
void frame_decide(const struct fwd_config *c, enum port_kind in_kind, uint32_t in_ip, uint8_t *frame,
                  size_t len, struct frame_decision *d);

const char *frame_drop_reason_name(enum frame_drop_reason r);

/* "a.b.c.d/len" into a route (host order); -EINVAL if malformed. */
int route4_parse(const char *cidr, struct route4 *ret);
bool route4_contains(const struct route4 *r, uint32_t addr);
/* Length of the prefix of a mask produced by route4_parse. */
unsigned route4_prefix_len(const struct route4 *r);

/* Builds an ARP reply frame, for tests and for seeding the NAT: "ip is at mac", addressed to target. */
size_t frame_build_arp(uint8_t *buf, uint16_t op, const uint8_t sha[6], uint32_t spa, const uint8_t tha[6],
                       uint32_t tpa);
