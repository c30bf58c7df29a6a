/* The cluster DNS server inside kig-proxy: UDP and TCP on the DNS service IP (port 53), answering
 * cluster names from the same store the proxy serves from (dns-lookup.h) and forwarding every other name
 * to the upstream resolvers of /etc/resolv.conf. Without a usable upstream (no network in the sandbox,
 * none configured) other names get NXDOMAIN at once rather than a timeout; an upstream that does not answer
 * within 2 s gets SERVFAIL. Forwarding is over UDP, also for queries that came over TCP. */
#pragma once

#include "loop.h"
#include "store.h"

#include <netinet/in.h>
#include <stdint.h>

struct dns_server_options {
    struct in_addr address;
    uint16_t port;
    const char *domain; /* "cluster.local" */
    uint32_t ttl;
    const char *resolv_conf; /* upstream resolvers; NULL: none */
    /* Upstreams inside the service CIDR or equal to address would be ourselves: skipped. */
    struct in_addr service_cidr;
    uint8_t service_prefixlen;
};

struct dns_server;

int dns_server_new(struct loop *l, const struct store *store, const struct dns_server_options *opts,
                   struct dns_server **ret);
/* Binds the listeners (the address must be on lo by then). */
int dns_server_start(struct dns_server *srv);
bool dns_server_started(const struct dns_server *srv);
/* Expires forwarded queries and idle TCP connections; re-checks whether the sandbox has a network. */
void dns_server_tick(struct dns_server *srv);
void dns_server_free(struct dns_server *srv);

/* Reads the "nameserver" lines of a resolv.conf (IPv4 only, at most max). Exposed for tests. */
int resolv_conf_nameservers(const char *path, struct in_addr *ret, size_t max);
