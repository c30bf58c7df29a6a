/* kig-proxy's command line. */
#pragma once

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

struct proxy_options {
    const char *kubeconfig;
    const char *context;
    struct in_addr service_cidr;
    uint8_t service_prefixlen;
    struct in_addr node_port_address;
    bool dns;
    struct in_addr dns_address;
    uint16_t dns_port;
    const char *cluster_domain;
    uint32_t dns_ttl;
    const char *resolv_conf;
    uint32_t udp_timeout_s;
    bool healthz;
    struct sockaddr_in healthz_address;
    bool keep_addresses;
    struct sockaddr_in kubernetes_endpoint; /* sin_port 0: none */
    bool verbose;
};

/* Returns 0, 1 when --help was printed (exit 0), or -EINVAL after printing the error (exit 2). */
int proxy_options_parse(int argc, char **argv, struct proxy_options *ret);

/* "10.96.0.0/12" */
int parse_cidr4(const char *s, struct in_addr *ret_net, uint8_t *ret_prefixlen);
/* "127.0.0.1:10256" */
int parse_addr_port4(const char *s, struct sockaddr_in *ret);
