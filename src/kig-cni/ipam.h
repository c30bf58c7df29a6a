/* Pod address management for the veth and tap strategies, in the manner of the host-local plugin: one
 * file per allocated address under a data directory, named by the address and holding the owner
 * ("<container id>\n<ifname>\n"), a last_reserved_ip.0 cursor for round-robin allocation, and a lock file
 * held with flock(2) around every change, so concurrent ADDs and DELs of one node never hand out one
 * address twice. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

struct ipam_range {
    uint32_t network; /* host byte order */
    unsigned prefix_len;
    uint32_t gateway; /* the node's address: first usable address of the range */
    uint32_t first;   /* first address handed to pods */
    uint32_t last;    /* last address handed to pods */
};

/* Parses the pod CIDR ("10.244.0.0/24"): the gateway is the first usable address, pods get the rest but
 * the broadcast address. -EINVAL for a malformed CIDR or one smaller than a /30. */
int ipam_range_parse(const char *cidr, struct ipam_range *ret);

/* Gives (id, ifname) an address, or the one it already has (ADD may be repeated). -ENOSPC when full. */
int ipam_allocate(const char *dir, const struct ipam_range *r, const char *id, const char *ifname,
                  uint32_t *ret);
/* The address of (id, ifname), or -ENOENT. */
int ipam_lookup(const char *dir, const char *id, const char *ifname, uint32_t *ret);
/* Frees the address of (id, ifname); 0 also when it had none (DEL is idempotent). */
int ipam_release(const char *dir, const char *id, const char *ifname);

/* "a.b.c.d" for a host-order address into buf (at least 16 bytes). */
const char *ipam_format(uint32_t addr, char *buf);
