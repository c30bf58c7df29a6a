/* The few rtnetlink requests kig's pod networking makes, in the calling thread's network namespace.
 * Every function returns 0 or the kernel's negative errno (gVisor answers -EOPNOTSUPP for what it lacks).
 * Addresses are IPv4 in host byte order. */
#pragma once

#include <stdint.h>

/* ifindex of a link, or -ENODEV. */
int rtnl_link_index(const char *name);
int rtnl_link_set_up(int ifindex);
/* Deletes a link by name; -ENODEV if there is none. */
int rtnl_link_delete(const char *name);
/* A veth pair: name here, peer_name inside the network namespace peer_netns_fd (-1: here). */
int rtnl_veth_create(const char *name, const char *peer_name, int peer_netns_fd);

/* Adds addr/prefix_len; peer (0: none) makes it a point-to-point address like `ip addr add A peer P`. */
int rtnl_addr_add(int ifindex, uint32_t addr, unsigned prefix_len, uint32_t peer);
/* Adds dst/prefix_len via gateway (0: directly on the link, scope link) out of ifindex. */
int rtnl_route_add(uint32_t dst, unsigned prefix_len, uint32_t gateway, int ifindex);
