/* What kig-proxy reads from Service and Endpoints objects. Strings point into the JSON object, which the
 * store keeps alive; only the ports array is allocated. IPv4 only: Kubernetes 1.20 clusters kig creates are
 * single-stack IPv4, and addresses of other families are skipped. */
#pragma once

#include <jansson.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum service_type { SERVICE_CLUSTER_IP, SERVICE_NODE_PORT, SERVICE_LOAD_BALANCER, SERVICE_EXTERNAL_NAME };

/* Kubernetes' default for sessionAffinityConfig.clientIP.timeoutSeconds. */
#define SERVICE_AFFINITY_DEFAULT_TIMEOUT_S 10800

struct service_port {
    const char *name; /* "" when unnamed */
    int protocol;     /* IPPROTO_TCP, IPPROTO_UDP or IPPROTO_SCTP */
    uint16_t port;
    uint16_t node_port; /* 0 if none */
};

struct service {
    const char *namespace_;
    const char *name;
    enum service_type type;
    bool headless; /* clusterIP "None" */
    bool has_cluster_ip;
    struct in_addr cluster_ip;
    const char *external_name; /* type ExternalName */
    bool affinity_client_ip;
    uint32_t affinity_timeout_s;
    struct service_port *ports;
    size_t n_ports;
};

struct backend {
    struct in_addr ip;
    uint16_t port;
};

/* Returns -EINVAL when the object is not a usable Service. */
int service_from_json(json_t *obj, struct service *ret);
void service_done(struct service *s);

/* "TCP", "UDP", "SCTP" (missing means TCP); -1 for anything else. */
int protocol_from_name(const char *name);
const char *protocol_name(int protocol);

/* The ready backends of one service port: addresses of every subset that lists a port with this name and
 * protocol, sorted and without duplicates. *ret is NULL when there are none. ep may be NULL. */
int endpoints_backends(json_t *ep, const char *port_name, int protocol, struct backend **ret, size_t *ret_n);

/* Calls fn for each ready address (hostname NULL if unset); stops at fn's negative return. */
typedef int (*endpoint_address_fn)(struct in_addr ip, const char *hostname, json_t *subset, void *userdata);
int endpoints_for_each_ready(json_t *ep, endpoint_address_fn fn, void *userdata);

int backend_compare(const struct backend *a, const struct backend *b);
bool backends_contain(const struct backend *list, size_t n, const struct backend *b);
