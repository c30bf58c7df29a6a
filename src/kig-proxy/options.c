#include "options.h"

#include "macro.h"

#include <arpa/inet.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

static const char usage[] =
    "usage: kig-proxy --kubeconfig FILE [OPTIONS]\n"
    "\n"
    "Serves Kubernetes Services without kube-proxy: puts each ClusterIP on lo, listens on ClusterIP:port\n"
    "and NodePorts, forwards to ready endpoints; answers cluster DNS on the DNS service IP.\n"
    "\n"
    "  --kubeconfig FILE          JSON kubeconfig to reach the apiserver (required)\n"
    "  --context NAME             kubeconfig context (default: current-context)\n"
    "  --service-cidr CIDR        the apiserver's --service-cluster-ip-range (default 10.96.0.0/12);\n"
    "                             /32 addresses inside it on lo belong to kig-proxy\n"
    "  --node-port-address IP     where NodePorts listen (default 0.0.0.0: every address)\n"
    "  --dns-address IP           cluster DNS service IP (default 10.96.0.10; 'none' disables DNS)\n"
    "  --dns-port PORT            (default 53)\n"
    "  --cluster-domain DOMAIN    (default cluster.local)\n"
    "  --dns-ttl SECONDS          TTL of cluster answers (default 5)\n"
    "  --resolv-conf FILE         upstream resolvers for other names (default /etc/resolv.conf)\n"
    "  --udp-timeout SECONDS      idle UDP flows end after this (default 30)\n"
    "  --healthz-address IP:PORT  plain-HTTP /healthz (default 127.0.0.1:10256; 'none' disables)\n"
    "  --keep-addresses           leave the service addresses on lo at exit\n"
    "  --kubernetes-endpoint IP:PORT  backend of default/kubernetes while its Endpoints lists none (an\n"
    "                             apiserver that binds loopback only publishes no endpoint)\n"
    "  -v, --verbose              log every change\n";

int parse_cidr4(const char *s, struct in_addr *ret_net, uint8_t *ret_prefixlen)
{
    char buf[32];
    const char *slash = strchr(s, '/');
    if (!slash || (size_t)(slash - s) >= sizeof(buf))
        return -EINVAL;
    memcpy(buf, s, (size_t)(slash - s));
    buf[slash - s] = '\0';
    char *end;
    long prefix = strtol(slash + 1, &end, 10);
    if (*end || end == slash + 1 || prefix < 0 || prefix > 32 || inet_pton(AF_INET, buf, ret_net) != 1)
        return -EINVAL;
    *ret_prefixlen = (uint8_t)prefix;
    return 0;
}

int parse_addr_port4(const char *s, struct sockaddr_in *ret)
{
    char buf[32];
    const char *colon = strrchr(s, ':');
    if (!colon || (size_t)(colon - s) >= sizeof(buf))
        return -EINVAL;
    memcpy(buf, s, (size_t)(colon - s));
    buf[colon - s] = '\0';
    char *end;
    long port = strtol(colon + 1, &end, 10);
    *ret = (struct sockaddr_in){.sin_family = AF_INET};
    if (*end || end == colon + 1 || port < 1 || port > 65535 || inet_pton(AF_INET, buf, &ret->sin_addr) != 1)
        return -EINVAL;
    ret->sin_port = htons((uint16_t)port);
    return 0;
}

static int parse_uint(const char *s, unsigned long max, unsigned long *ret)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || *end || end == s || s[0] == '-' || v > max)
        return -EINVAL;
    *ret = v;
    return 0;
}

static int bad(const char *option, const char *value, const char *expected)
{
    fprintf(stderr, "kig-proxy: error: invalid %s '%s': expected %s; see 'kig-proxy --help'\n", option, value,
            expected);
    return -EINVAL;
}

int proxy_options_parse(int argc, char **argv, struct proxy_options *o)
{
    enum {
        OPT_KUBECONFIG = 0x100,
        OPT_CONTEXT,
        OPT_SERVICE_CIDR,
        OPT_NODE_PORT_ADDRESS,
        OPT_DNS_ADDRESS,
        OPT_DNS_PORT,
        OPT_CLUSTER_DOMAIN,
        OPT_DNS_TTL,
        OPT_RESOLV_CONF,
        OPT_UDP_TIMEOUT,
        OPT_HEALTHZ_ADDRESS,
        OPT_KEEP_ADDRESSES,
        OPT_KUBERNETES_ENDPOINT,
    };
    static const struct option longopts[] = {
        {"kubeconfig", required_argument, NULL, OPT_KUBECONFIG},
        {"context", required_argument, NULL, OPT_CONTEXT},
        {"service-cidr", required_argument, NULL, OPT_SERVICE_CIDR},
        {"node-port-address", required_argument, NULL, OPT_NODE_PORT_ADDRESS},
        {"dns-address", required_argument, NULL, OPT_DNS_ADDRESS},
        {"dns-port", required_argument, NULL, OPT_DNS_PORT},
        {"cluster-domain", required_argument, NULL, OPT_CLUSTER_DOMAIN},
        {"dns-ttl", required_argument, NULL, OPT_DNS_TTL},
        {"resolv-conf", required_argument, NULL, OPT_RESOLV_CONF},
        {"udp-timeout", required_argument, NULL, OPT_UDP_TIMEOUT},
        {"healthz-address", required_argument, NULL, OPT_HEALTHZ_ADDRESS},
        {"keep-addresses", no_argument, NULL, OPT_KEEP_ADDRESSES},
        {"kubernetes-endpoint", required_argument, NULL, OPT_KUBERNETES_ENDPOINT},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    *o = (struct proxy_options){
        .dns = true,
        .dns_port = 53,
        .cluster_domain = "cluster.local",
        .dns_ttl = 5,
        .resolv_conf = "/etc/resolv.conf",
        .udp_timeout_s = 30,
        .healthz = true,
    };
    parse_cidr4("10.96.0.0/12", &o->service_cidr, &o->service_prefixlen);
    inet_pton(AF_INET, "10.96.0.10", &o->dns_address);
    parse_addr_port4("127.0.0.1:10256", &o->healthz_address);
    int c;
    unsigned long v;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":vh", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_KUBECONFIG:
            o->kubeconfig = optarg;
            break;
        case OPT_CONTEXT:
            o->context = optarg;
            break;
        case OPT_SERVICE_CIDR:
            if (parse_cidr4(optarg, &o->service_cidr, &o->service_prefixlen) < 0)
                return bad("--service-cidr", optarg, "an IPv4 CIDR like 10.96.0.0/12");
            break;
        case OPT_NODE_PORT_ADDRESS:
            if (inet_pton(AF_INET, optarg, &o->node_port_address) != 1)
                return bad("--node-port-address", optarg, "an IPv4 address");
            break;
        case OPT_DNS_ADDRESS:
            o->dns = strcmp(optarg, "none") != 0;
            if (o->dns && inet_pton(AF_INET, optarg, &o->dns_address) != 1)
                return bad("--dns-address", optarg, "an IPv4 address or 'none'");
            break;
        case OPT_DNS_PORT:
            if (parse_uint(optarg, 65535, &v) < 0 || v == 0)
                return bad("--dns-port", optarg, "a port number");
            o->dns_port = (uint16_t)v;
            break;
        case OPT_CLUSTER_DOMAIN:
            if (!*optarg || strlen(optarg) > 200)
                return bad("--cluster-domain", optarg, "a domain like cluster.local");
            o->cluster_domain = optarg;
            break;
        case OPT_DNS_TTL:
            if (parse_uint(optarg, 86400, &v) < 0)
                return bad("--dns-ttl", optarg, "seconds (0-86400)");
            o->dns_ttl = (uint32_t)v;
            break;
        case OPT_RESOLV_CONF:
            o->resolv_conf = optarg;
            break;
        case OPT_UDP_TIMEOUT:
            if (parse_uint(optarg, 86400, &v) < 0 || v == 0)
                return bad("--udp-timeout", optarg, "seconds (1-86400)");
            o->udp_timeout_s = (uint32_t)v;
            break;
        case OPT_HEALTHZ_ADDRESS:
            o->healthz = strcmp(optarg, "none") != 0;
            if (o->healthz && parse_addr_port4(optarg, &o->healthz_address) < 0)
                return bad("--healthz-address", optarg, "IP:PORT or 'none'");
            break;
        case OPT_KEEP_ADDRESSES:
            o->keep_addresses = true;
            break;
        case OPT_KUBERNETES_ENDPOINT:
            if (parse_addr_port4(optarg, &o->kubernetes_endpoint) < 0)
                return bad("--kubernetes-endpoint", optarg, "IP:PORT");
            break;
        case 'v':
            o->verbose = true;
            break;
        case 'h':
            fputs(usage, stdout);
            return 1;
        case ':':
            fprintf(stderr, "kig-proxy: error: %s needs a value; see 'kig-proxy --help'\n", argv[optind - 1]);
            return -EINVAL;
        default:
            fprintf(stderr, "kig-proxy: error: unknown option '%s'; see 'kig-proxy --help'\n",
                    argv[optind - 1]);
            return -EINVAL;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "kig-proxy: error: unexpected argument '%s'; see 'kig-proxy --help'\n", argv[optind]);
        return -EINVAL;
    }
    if (!o->kubeconfig) {
        fprintf(stderr, "kig-proxy: error: --kubeconfig is required (kig writes one per component under its "
                        "data dir); see 'kig-proxy --help'\n");
        return -EINVAL;
    }
    return 0;
}
