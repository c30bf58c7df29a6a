/* kig-switch's forwarding decision: frames in, verdicts and rewritten frames out. */
/* cmocka.h needs these headers before it. */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include "frame.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (uint32_t)(d))

static const uint8_t zero[6];
static const uint8_t pod_mac[6] = {0, 0, 0, 0, 0, 0}; /* gVisor TAPs */
static const uint8_t some_mac[6] = {0x02, 1, 2, 3, 4, 5};

static struct fwd_config config(bool nat)
{
    struct fwd_config c = {.node_address = IP(10, 244, 0, 1), .nat = nat};
    assert_int_equal(route4_parse("10.244.0.0/24", &c.pods), 0);
    assert_int_equal(route4_parse("10.200.0.1/32", &c.node_routes[0]), 0);
    assert_int_equal(route4_parse("10.96.0.0/12", &c.node_routes[1]), 0);
    c.n_node_routes = 2;
    return c;
}

/* An Ethernet + IPv4 + 8 payload bytes frame. */
static size_t ipv4_frame(uint8_t *f, uint32_t src, uint32_t dst)
{
    memset(f, 0, 64);
    memcpy(f, frame_switch_mac, 6);
    f[12] = 0x08;
    f[13] = 0x00;
    uint8_t *ip = f + 14;
    ip[0] = 0x45;
    ip[3] = 28; /* total length: 20 + 8 */
    ip[8] = 64;
    ip[9] = 17;
    uint32_t s = htonl(src), d = htonl(dst);
    memcpy(ip + 12, &s, 4);
    memcpy(ip + 16, &d, 4);
    return 14 + 28;
}

static struct frame_decision decide(const struct fwd_config *c, enum port_kind k, uint32_t in_ip, uint8_t *f,
                                    size_t len)
{
    struct frame_decision d;
    frame_decide(c, k, in_ip, f, len, &d);
    return d;
}

static void test_arp_request_is_answered(void **state)
{
    struct fwd_config c = config(false);
    uint8_t f[64] = {0};
    size_t len = frame_build_arp(f, 1, pod_mac, IP(10, 244, 0, 2), zero, IP(10, 244, 0, 3));
    assert_int_equal(len, 42);
    struct frame_decision d = decide(&c, PORT_POD, IP(10, 244, 0, 2), f, 60); /* padded to 60 */
    assert_int_equal(d.verdict, FRAME_REPLY);
    assert_int_equal(d.len, 42);
    uint8_t want[42];
    frame_build_arp(want, 2, frame_switch_mac, IP(10, 244, 0, 3), pod_mac, IP(10, 244, 0, 2));
    assert_memory_equal(f, want, 42);
    /* addressed to the asker, from the switch */
    assert_memory_equal(f, pod_mac, 6);
    assert_memory_equal(f + 6, frame_switch_mac, 6);
}

static void test_arp_for_anything_outside(void **state)
{
    struct fwd_config c = config(false);
    uint8_t f[64];
    frame_build_arp(f, 1, pod_mac, IP(10, 244, 0, 2), zero, IP(8, 8, 8, 8));
    assert_int_equal(decide(&c, PORT_POD, IP(10, 244, 0, 2), f, 42).verdict, FRAME_REPLY);
}

static void test_arp_from_node(void **state)
{
    struct fwd_config c = config(false);
    uint8_t f[64];
    frame_build_arp(f, 1, zero, IP(10, 244, 0, 1), zero, IP(10, 244, 0, 9));
    assert_int_equal(decide(&c, PORT_NODE, 0, f, 42).verdict, FRAME_REPLY);
}

static void test_arp_ignored(void **state)
{
    struct fwd_config c = config(false);
    uint8_t f[64];
    /* duplicate address detection: asking for one's own address */
    frame_build_arp(f, 1, pod_mac, IP(10, 244, 0, 2), zero, IP(10, 244, 0, 2));
    struct frame_decision d = decide(&c, PORT_POD, IP(10, 244, 0, 2), f, 42);
    assert_int_equal(d.verdict, FRAME_DROP);
    assert_int_equal(d.reason, DROP_ARP_IGNORED);
    /* probes with sender 0.0.0.0 are spoofed from a pod's point of view: only its address may speak */
    frame_build_arp(f, 1, pod_mac, 0, zero, IP(10, 244, 0, 3));
    assert_int_equal(decide(&c, PORT_POD, IP(10, 244, 0, 2), f, 42).reason, DROP_SPOOFED);
    /* replies are never needed: the switch does not ask */
    frame_build_arp(f, 2, pod_mac, IP(10, 244, 0, 2), some_mac, IP(10, 244, 0, 3));
    assert_int_equal(decide(&c, PORT_POD, IP(10, 244, 0, 2), f, 42).reason, DROP_ARP_IGNORED);
}

static void test_arp_spoofed_and_malformed(void **state)
{
    struct fwd_config c = config(false);
    uint8_t f[64];
    frame_build_arp(f, 1, pod_mac, IP(10, 244, 0, 7), zero, IP(10, 244, 0, 3));
    assert_int_equal(decide(&c, PORT_POD, IP(10, 244, 0, 2), f, 42).reason, DROP_SPOOFED);
    frame_build_arp(f, 1, pod_mac, IP(10, 244, 0, 2), zero, IP(10, 244, 0, 3));
    assert_int_equal(decide(&c, PORT_POD, IP(10, 244, 0, 2), f, 41).reason, DROP_RUNT);
    f[14 + 4] = 8; /* hardware address length */
    assert_int_equal(decide(&c, PORT_POD, IP(10, 244, 0, 2), f, 42).reason, DROP_BAD_ARP);
}

static void test_pod_to_pod(void **state)
{
    struct fwd_config c = config(false);
    uint8_t f[64];
    size_t len = ipv4_frame(f, IP(10, 244, 0, 2), IP(10, 244, 0, 3));
    memcpy(f + 6, some_mac, 6);
    uint8_t before[64];
    memcpy(before, f, sizeof(f));
    struct frame_decision d = decide(&c, PORT_POD, IP(10, 244, 0, 2), f, len);
    assert_int_equal(d.verdict, FRAME_TO_POD);
    assert_int_equal(d.dst, IP(10, 244, 0, 3));
    /* re-addressed to the TAPs' all-zero MAC, from the switch; the IP packet is untouched */
    assert_memory_equal(f, zero, 6);
    assert_memory_equal(f + 6, frame_switch_mac, 6);
    assert_memory_equal(f + 12, before + 12, len - 12);
}

static void test_spoofed_source(void **state)
{
    struct fwd_config c = config(false);
    uint8_t f[64];
    size_t len = ipv4_frame(f, IP(10, 244, 0, 9), IP(10, 244, 0, 3));
    assert_int_equal(decide(&c, PORT_POD, IP(10, 244, 0, 2), f, len).reason, DROP_SPOOFED);
    /* the node may send from any of its addresses */
    assert_int_equal(decide(&c, PORT_NODE, 0, f, len).verdict, FRAME_TO_POD);
}

static void test_node_destinations(void **state)
{
    struct fwd_config c = config(false);
    uint8_t f[64];
    size_t len = ipv4_frame(f, IP(10, 244, 0, 2), IP(10, 244, 0, 1));
    assert_int_equal(decide(&c, PORT_POD, IP(10, 244, 0, 2), f, len).verdict, FRAME_TO_NODE);
    len = ipv4_frame(f, IP(10, 244, 0, 2), IP(10, 200, 0, 1));
    assert_int_equal(decide(&c, PORT_POD, IP(10, 244, 0, 2), f, len).verdict, FRAME_TO_NODE);
    len = ipv4_frame(f, IP(10, 244, 0, 2), IP(10, 100, 3, 4)); /* inside the service CIDR */
    assert_int_equal(decide(&c, PORT_POD, IP(10, 244, 0, 2), f, len).verdict, FRAME_TO_NODE);
    /* what the node sends to its own addresses must not come back to it */
    len = ipv4_frame(f, IP(10, 244, 0, 1), IP(10, 200, 0, 1));
    assert_int_equal(decide(&c, PORT_NODE, 0, f, len).reason, DROP_LOOP);
}

static void test_outside(void **state)
{
    struct fwd_config without = config(false), with = config(true);
    uint8_t f[64], before[64];
    size_t len = ipv4_frame(f, IP(10, 244, 0, 2), IP(192, 0, 2, 1));
    assert_int_equal(decide(&without, PORT_POD, IP(10, 244, 0, 2), f, len).reason, DROP_NO_ROUTE);
    memcpy(before, f, sizeof(f));
    assert_int_equal(decide(&with, PORT_POD, IP(10, 244, 0, 2), f, len).verdict, FRAME_TO_NAT);
    assert_memory_equal(f, before, len); /* the NAT sees the frame as the pod sent it */
    /* the node has its own way out: the switch does not NAT for it */
    len = ipv4_frame(f, IP(10, 244, 0, 1), IP(192, 0, 2, 1));
    assert_int_equal(decide(&with, PORT_NODE, 0, f, len).reason, DROP_NO_ROUTE);
}

static void test_nat_answers_only_its_pod(void **state)
{
    struct fwd_config c = config(true);
    uint8_t f[64];
    size_t len = ipv4_frame(f, IP(192, 0, 2, 1), IP(10, 244, 0, 2));
    assert_int_equal(decide(&c, PORT_NAT, IP(10, 244, 0, 2), f, len).verdict, FRAME_TO_POD);
    len = ipv4_frame(f, IP(192, 0, 2, 1), IP(10, 244, 0, 3));
    assert_int_equal(decide(&c, PORT_NAT, IP(10, 244, 0, 2), f, len).reason, DROP_NO_ROUTE);
    /* slirp asking for its pod gets an answer */
    frame_build_arp(f, 1, some_mac, IP(10, 244, 0, 1), zero, IP(10, 244, 0, 2));
    assert_int_equal(decide(&c, PORT_NAT, IP(10, 244, 0, 2), f, 42).verdict, FRAME_REPLY);
}

static void test_broadcast_and_loops(void **state)
{
    struct fwd_config c = config(true);
    uint8_t f[64];
    uint32_t dsts[] = {IP(255, 255, 255, 255), IP(224, 0, 0, 251), IP(239, 1, 2, 3), IP(10, 244, 0, 255)};
    for (size_t i = 0; i < sizeof(dsts) / sizeof(dsts[0]); i++) {
        size_t len = ipv4_frame(f, IP(10, 244, 0, 2), dsts[i]);
        assert_int_equal(decide(&c, PORT_POD, IP(10, 244, 0, 2), f, len).reason, DROP_BROADCAST);
    }
    size_t len = ipv4_frame(f, IP(10, 244, 0, 2), IP(10, 244, 0, 2));
    assert_int_equal(decide(&c, PORT_POD, IP(10, 244, 0, 2), f, len).reason, DROP_LOOP);
}

static void test_malformed_ipv4(void **state)
{
    struct fwd_config c = config(false);
    uint8_t f[64];
    size_t len = ipv4_frame(f, IP(10, 244, 0, 2), IP(10, 244, 0, 3));
    assert_int_equal(decide(&c, PORT_POD, IP(10, 244, 0, 2), f, 13).reason, DROP_RUNT);
    assert_int_equal(decide(&c, PORT_POD, IP(10, 244, 0, 2), f, 33).reason, DROP_RUNT);
    f[14 + 3] = 200; /* total length beyond the frame */
    assert_int_equal(decide(&c, PORT_POD, IP(10, 244, 0, 2), f, len).reason, DROP_BAD_IP);
    len = ipv4_frame(f, IP(10, 244, 0, 2), IP(10, 244, 0, 3));
    f[14] = 0x44; /* header length 16 */
    assert_int_equal(decide(&c, PORT_POD, IP(10, 244, 0, 2), f, len).reason, DROP_BAD_IP);
    f[14] = 0x65; /* version 6 in an IPv4 frame */
    assert_int_equal(decide(&c, PORT_POD, IP(10, 244, 0, 2), f, len).reason, DROP_BAD_IP);
    /* Ethernet padding after the IP packet is fine */
    len = ipv4_frame(f, IP(10, 244, 0, 2), IP(10, 244, 0, 3));
    assert_int_equal(decide(&c, PORT_POD, IP(10, 244, 0, 2), f, 60).verdict, FRAME_TO_POD);
}

static void test_other_ethertypes(void **state)
{
    struct fwd_config c = config(true);
    uint8_t f[64] = {0};
    f[12] = 0x86;
    f[13] = 0xdd; /* IPv6 */
    assert_int_equal(decide(&c, PORT_POD, IP(10, 244, 0, 2), f, 60).reason, DROP_ETHERTYPE);
}

static void test_route4_parse(void **state)
{
    struct route4 r;
    assert_int_equal(route4_parse("10.244.1.7/24", &r), 0);
    assert_int_equal(r.net, IP(10, 244, 1, 0));
    assert_int_equal(route4_prefix_len(&r), 24);
    assert_true(route4_contains(&r, IP(10, 244, 1, 200)));
    assert_false(route4_contains(&r, IP(10, 244, 2, 1)));
    assert_int_equal(route4_parse("0.0.0.0/0", &r), 0);
    assert_true(route4_contains(&r, IP(1, 2, 3, 4)));
    assert_int_equal(route4_parse("1.2.3.4/32", &r), 0);
    assert_int_equal(route4_prefix_len(&r), 32);
    const char *bad[] = {"10.0.0.0", "10.0.0.0/33", "10.0.0.0/-1", "10.0.0/8",
                         "x/8",      "10.0.0.0/8x", "/8",          ""};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(route4_parse(bad[i], &r), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_arp_request_is_answered),
        cmocka_unit_test(test_arp_for_anything_outside),
        cmocka_unit_test(test_arp_from_node),
        cmocka_unit_test(test_arp_ignored),
        cmocka_unit_test(test_arp_spoofed_and_malformed),
        cmocka_unit_test(test_pod_to_pod),
        cmocka_unit_test(test_spoofed_source),
        cmocka_unit_test(test_node_destinations),
        cmocka_unit_test(test_outside),
        cmocka_unit_test(test_nat_answers_only_its_pod),
        cmocka_unit_test(test_broadcast_and_loops),
        cmocka_unit_test(test_malformed_ipv4),
        cmocka_unit_test(test_other_ethertypes),
        cmocka_unit_test(test_route4_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
