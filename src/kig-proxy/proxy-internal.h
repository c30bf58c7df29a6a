/* Types shared by the proxier (reconciling) and its TCP and UDP data paths. */
#pragma once

#include "balancer.h"
#include "loop.h"
#include "proxier.h"
#include "store.h"

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#define SERVICE_PORT_KEY_MAX (STORE_KEY_MAX + 80)
#define UDP_FLOW_BUCKETS     256
#define UDP_MAX_FLOWS        4096

struct service_port_rt;
struct tcp_conn;
struct udp_flow;

struct listener {
    struct loop_io io;
    struct proxier *proxier;
    struct service_port_rt *port; /* the owner */
    int protocol;
    struct sockaddr_in addr;
    /* UDP: flows by client address. */
    struct udp_flow *flows[UDP_FLOW_BUCKETS];
    size_t n_flows;
};

/* One port of one Service, as currently served. */
struct service_port_rt {
    char key[SERVICE_PORT_KEY_MAX]; /* "ns/name:port-name:PROTO" */
    bool has_cluster_ip;
    struct in_addr cluster_ip;
    uint16_t port, node_port;
    int protocol;
    struct balancer balancer;
    struct listener *cluster_listener, *node_listener;
    bool seen; /* marks ports still desired during a reconcile */
    struct service_port_rt *next;
};

struct proxier {
    struct loop *loop;
    struct store *store;
    struct proxier_options opts;
    struct in_addr *extra_addresses;
    int nl_fd;
    int lo_ifindex;
    struct in_addr *managed; /* addresses on lo that are ours, sorted */
    size_t n_managed;
    bool ready;
    bool warned_outside_cidr;
    bool retry_listeners; /* some listener failed to open: try again on a later tick */
    unsigned ticks_since_retry;
    uint64_t applied_generation;
    struct service_port_rt *ports;
    struct tcp_conn *conns; /* every proxied TCP connection */
    size_t n_conns;
    int reserve_fd; /* closed to accept-and-reset when out of fds */
};

/* tcp-proxy.c */
int tcp_listener_dispatch_setup(struct listener *l);
void tcp_conns_forget_port(struct proxier *p, struct service_port_rt *sp);
void tcp_conns_close_all(struct proxier *p);

/* udp-proxy.c */
int udp_listener_dispatch_setup(struct listener *l);
/* Drops flows whose backend the balancer no longer has, and (now_ms >= 0) flows idle past the timeout. */
void udp_flows_prune(struct listener *l, int64_t now_ms);
void udp_flows_close_all(struct listener *l);

/* Non-blocking socket helpers (sockutil.c). */
int socket_nonblock(int domain, int type);
void socket_close_reset(int fd);
