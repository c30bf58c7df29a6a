/* A pod's way out: a userspace NAT built on libslirp (the stack behind QEMU's user networking and
 * slirp4netns). Each pod that talks to a destination that is neither a pod nor the node gets its own
 * slirp instance: slirp terminates the pod's TCP connections and UDP flows and re-originates them with
 * ordinary sockets in kig-switch's network namespace (the sandbox's own network), so the sandbox needs no
 * forwarding, NAT rule or raw socket. ICMP echo works where the sandbox allows unprivileged ICMP sockets.
 *
 * Not thread-safe: the caller serializes every call on one instance (kig-switch holds one lock for all). */
#pragma once

#include "frame.h"

#include <poll.h>
#include <stddef.h>
#include <stdint.h>

struct nat;

struct nat_pollset {
    struct pollfd *fds;
    size_t n, cap;
};

struct nat_config {
    struct route4 pods; /* the pod CIDR: slirp's virtual network */
    uint32_t gateway;   /* the node's address in it (slirp's own address) */
    uint32_t pod_ip;    /* the one pod this instance serves */
    /* A frame from the NAT to the pod (addressed to pod_ip). Called from within nat_* calls. */
    void (*output)(void *opaque, const uint8_t *frame, size_t len);
    /* Called when the NAT wants the caller's poll loop to re-collect its fds (new socket, buffer room). */
    void (*wake)(void *opaque);
    void *opaque;
};

int nat_new(const struct nat_config *c, struct nat **ret);
void nat_free(struct nat *n);

/* A frame from the pod that goes to the outside. */
void nat_input(struct nat *n, const uint8_t *frame, size_t len);

/* Poll integration: nat_fill appends the NAT's sockets to ps and lowers *timeout_ms to its next timer;
 * after poll(2), nat_dispatch handles what became ready and the timers that expired. */
int nat_fill(struct nat *n, struct nat_pollset *ps, int *timeout_ms);
void nat_dispatch(struct nat *n, const struct nat_pollset *ps);
