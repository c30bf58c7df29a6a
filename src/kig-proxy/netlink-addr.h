/* IPv4 addresses on an interface through rtnetlink (RTM_GETADDR/NEWADDR/DELADDR), which gVisor
 * implements for lo: a ClusterIP added there as a /32 becomes a local address that sockets can bind. */
#pragma once

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

struct if_addr4 {
    struct in_addr addr;
    uint8_t prefixlen;
};

/* Opens an rtnetlink socket. Returns the fd or -errno. */
int nl_addr_open(void);

/* Every IPv4 address on ifindex (caller frees *ret). */
int nl_addr_list(int fd, int ifindex, struct if_addr4 **ret, size_t *ret_n);
/* Adding an address that exists and deleting one that does not both succeed. */
int nl_addr_add(int fd, int ifindex, struct in_addr addr, uint8_t prefixlen);
int nl_addr_del(int fd, int ifindex, struct in_addr addr, uint8_t prefixlen);
