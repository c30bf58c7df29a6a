/* Fuzzes what reaches kig-switch from pods: Ethernet frames into the forwarding decision (any port kind,
 * NAT on or off), and podns requests into the netns holder's parser. The first byte picks the case; the
 * decision's promises are checked, not just survived. */
#include "podns.h"

/* frame.c is not part of libkig: build it into this target so it is instrumented like the rest. */
#include "../../src/kig-switch/frame.c"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
    if (!ok)
        __builtin_trap();
}

static void fuzz_frame(uint8_t selector, const uint8_t *data, size_t size)
{
    struct fwd_config c = {.node_address = 0x0af40001, .nat = selector & 1};
    route4_parse("10.244.0.0/24", &c.pods);
    route4_parse("10.200.0.1/32", &c.node_routes[0]);
    route4_parse("10.96.0.0/12", &c.node_routes[1]);
    c.n_node_routes = 2;
    enum port_kind kind = (enum port_kind)((selector >> 1) % 3);
    uint32_t in_ip = kind == PORT_NODE ? 0 : 0x0af40002;

    /* the switch reads into a buffer of its own: copy so that out-of-bounds reads are caught */
    uint8_t *frame = malloc(size ? size : 1);
    if (!frame)
        return;
    memcpy(frame, data, size);
    struct frame_decision d;
    frame_decide(&c, kind, in_ip, frame, size, &d);
    switch (d.verdict) {
    case FRAME_REPLY:
        check(d.len == FRAME_ETH_HLEN + 28 && d.len <= size);
        break;
    case FRAME_TO_POD:
        check(route4_contains(&c.pods, d.dst));
        check(kind != PORT_NAT || d.dst == in_ip);
        check(memcmp(frame + 6, frame_switch_mac, 6) == 0);
        break;
    case FRAME_TO_NODE:
        check(kind != PORT_NODE);
        break;
    case FRAME_TO_NAT:
        check(c.nat && kind == PORT_POD && memcmp(frame, data, size) == 0);
        break;
    case FRAME_DROP:
        check(d.reason > DROP_NONE && d.reason < DROP_REASON_MAX);
        break;
    }
    /* a pod can only ever speak with its own address */
    if (kind == PORT_POD && d.verdict != FRAME_DROP && size >= 34 && data[12] == 0x08 && data[13] == 0x00)
        check(memcmp(data + 26, "\x0a\xf4\x00\x02", 4) == 0);
    free(frame);
}

static void fuzz_request(const uint8_t *data, size_t size)
{
    struct podns_request r;
    if (podns_request_parse(data, size, NULL, 0, &r) == 0) {
        if (r.h.op == PODNS_OP_SPAWN) {
            check(r.cwd[0] == '/' && r.argv[0] && r.argv[0][0]);
            for (size_t i = 0; i < r.h.argc; i++)
                check(r.argv[i] != NULL);
            check(r.argv[r.h.argc] == NULL && r.envp[r.h.envc] == NULL);
        }
        podns_request_done(&r);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    if (data[0] & 0x80)
        fuzz_request(data + 1, size - 1);
    else
        fuzz_frame(data[0], data + 1, size - 1);
    return 0;
}
