/* The service proxy: turns the Services and Endpoints in the store into local listeners.
 *
 * For each service port with at least one ready endpoint it listens on ClusterIP:port (the ClusterIP is a
 * /32 on lo) and, for NodePort and LoadBalancer services, on the node-port address; each new connection
 * or UDP flow goes to a backend chosen by the port's balancer. A port without ready endpoints has no
 * listener, so clients get connection refused (TCP RST, ICMP port unreachable for UDP) at once.
 *
 * Reconciling is a diff: listeners whose address, port and protocol stay the same are kept open, so a
 * change to a Service or its Endpoints loses no pending connection; established TCP connections belong to
 * no listener and live until either end closes them. UDP flows to a backend that left are dropped (as
 * kube-proxy clears their conntrack entries), since a datagram client would otherwise keep talking to it. */
#pragma once

#include "loop.h"
#include "store.h"

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

struct proxier_options {
    struct in_addr service_cidr; /* addresses in it that are /32s on lo belong to kig-proxy */
    uint8_t service_prefixlen;
    struct in_addr node_port_address;      /* INADDR_ANY: every address */
    const struct in_addr *extra_addresses; /* e.g. the DNS service IP: kept on lo like a ClusterIP */
    size_t n_extra_addresses;
    int64_t udp_timeout_ms;
    /* The backend of default/kubernetes (TCP) while its Endpoints lists none; sin_port 0: none. */
    struct sockaddr_in kubernetes_endpoint;
};

struct proxier;

int proxier_new(struct loop *l, struct store *store, const struct proxier_options *opts,
                struct proxier **ret);
/* Applies the store if it changed since the last call (and the first LIST of both kinds is in). */
void proxier_sync(struct proxier *p);
/* True once the first sync has put every address and listener in place. */
bool proxier_ready(const struct proxier *p);
/* Expires affinity entries and idle UDP flows; retries listeners that could not be opened. */
void proxier_tick(struct proxier *p);
/* Closes listeners and connections and, when remove_addresses, takes the addresses off lo. */
void proxier_free(struct proxier *p, bool remove_addresses);

bool in_cidr(struct in_addr a, struct in_addr net, uint8_t prefixlen);
