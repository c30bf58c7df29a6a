#include "service.h"

#include "macro.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

int protocol_from_name(const char *name)
{
    if (!name || strcmp(name, "TCP") == 0)
        return IPPROTO_TCP;
    if (strcmp(name, "UDP") == 0)
        return IPPROTO_UDP;
    if (strcmp(name, "SCTP") == 0)
        return IPPROTO_SCTP;
    return -1;
}

const char *protocol_name(int protocol)
{
    switch (protocol) {
    case IPPROTO_TCP:
        return "TCP";
    case IPPROTO_UDP:
        return "UDP";
    case IPPROTO_SCTP:
        return "SCTP";
    }
    return "?";
}

static enum service_type type_from_name(const char *name)
{
    if (name && strcmp(name, "NodePort") == 0)
        return SERVICE_NODE_PORT;
    if (name && strcmp(name, "LoadBalancer") == 0)
        return SERVICE_LOAD_BALANCER;
    if (name && strcmp(name, "ExternalName") == 0)
        return SERVICE_EXTERNAL_NAME;
    return SERVICE_CLUSTER_IP;
}

static int port_number(json_t *v, uint16_t *ret)
{
    if (!json_is_integer(v))
        return -EINVAL;
    json_int_t n = json_integer_value(v);
    if (n < 1 || n > 65535)
        return -EINVAL;
    *ret = (uint16_t)n;
    return 0;
}

static int parse_ports(json_t *ports, struct service *s)
{
    size_t n = json_array_size(ports);
    if (n == 0)
        return 0;
    s->ports = calloc(n, sizeof(*s->ports));
    if (!s->ports)
        return -ENOMEM;
    size_t i;
    json_t *p;
    json_array_foreach(ports, i, p)
    {
        struct service_port *sp = &s->ports[s->n_ports];
        const char *name = json_string_value(json_object_get(p, "name"));
        sp->name = name ? name : "";
        sp->protocol = protocol_from_name(json_string_value(json_object_get(p, "protocol")));
        if (sp->protocol < 0 || port_number(json_object_get(p, "port"), &sp->port) < 0)
            continue;
        if (port_number(json_object_get(p, "nodePort"), &sp->node_port) < 0)
            sp->node_port = 0;
        s->n_ports++;
    }
    return 0;
}

static void parse_affinity(json_t *spec, struct service *s)
{
    const char *affinity = json_string_value(json_object_get(spec, "sessionAffinity"));
    s->affinity_client_ip = affinity && strcmp(affinity, "ClientIP") == 0;
    s->affinity_timeout_s = SERVICE_AFFINITY_DEFAULT_TIMEOUT_S;
    json_t *timeout = json_object_get(
        json_object_get(json_object_get(spec, "sessionAffinityConfig"), "clientIP"), "timeoutSeconds");
    if (json_is_integer(timeout) && json_integer_value(timeout) > 0 && json_integer_value(timeout) <= 86400)
        s->affinity_timeout_s = (uint32_t)json_integer_value(timeout);
}

int service_from_json(json_t *obj, struct service *ret)
{
    json_t *meta = json_object_get(obj, "metadata"), *spec = json_object_get(obj, "spec");
    struct service s = {
        .namespace_ = json_string_value(json_object_get(meta, "namespace")),
        .name = json_string_value(json_object_get(meta, "name")),
    };
    if (!s.namespace_ || !s.name || !json_is_object(spec))
        return -EINVAL;
    s.type = type_from_name(json_string_value(json_object_get(spec, "type")));
    const char *cluster_ip = json_string_value(json_object_get(spec, "clusterIP"));
    if (cluster_ip && strcmp(cluster_ip, "None") == 0)
        s.headless = true;
    else if (cluster_ip && inet_pton(AF_INET, cluster_ip, &s.cluster_ip) == 1)
        s.has_cluster_ip = true;
    s.external_name = json_string_value(json_object_get(spec, "externalName"));
    parse_affinity(spec, &s);
    int r = parse_ports(json_object_get(spec, "ports"), &s);
    if (r < 0)
        return r;
    *ret = s;
    return 0;
}

void service_done(struct service *s)
{
    free(s->ports);
    s->ports = NULL;
    s->n_ports = 0;
}

int backend_compare(const struct backend *a, const struct backend *b)
{
    uint32_t x = ntohl(a->ip.s_addr), y = ntohl(b->ip.s_addr);
    if (x != y)
        return x < y ? -1 : 1;
    return a->port < b->port ? -1 : a->port > b->port;
}

static int backend_cmp_qsort(const void *a, const void *b)
{
    return backend_compare(a, b);
}

bool backends_contain(const struct backend *list, size_t n, const struct backend *b)
{
    return n > 0 && bsearch(b, list, n, sizeof(*list), backend_cmp_qsort) != NULL;
}

/* The port number a subset uses for (name, protocol), or 0. */
static uint16_t subset_port(json_t *subset, const char *port_name, int protocol)
{
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(subset, "ports"), i, p)
    {
        const char *name = json_string_value(json_object_get(p, "name"));
        uint16_t port;
        if (strcmp(name ? name : "", port_name) != 0 ||
            protocol_from_name(json_string_value(json_object_get(p, "protocol"))) != protocol ||
            port_number(json_object_get(p, "port"), &port) < 0)
            continue;
        return port;
    }
    return 0;
}

int endpoints_for_each_ready(json_t *ep, endpoint_address_fn fn, void *userdata)
{
    size_t i, j;
    json_t *subset, *addr;
    json_array_foreach(json_object_get(ep, "subsets"), i, subset)
    {
        json_array_foreach(json_object_get(subset, "addresses"), j, addr)
        {
            struct in_addr ip;
            const char *text = json_string_value(json_object_get(addr, "ip"));
            if (!text || inet_pton(AF_INET, text, &ip) != 1)
                continue;
            const char *hostname = json_string_value(json_object_get(addr, "hostname"));
            int r = fn(ip, hostname && *hostname ? hostname : NULL, subset, userdata);
            if (r < 0)
                return r;
        }
    }
    return 0;
}

struct collect {
    const char *port_name;
    int protocol;
    struct backend *list;
    size_t n, cap;
};

static int collect_one(struct in_addr ip, const char *hostname, json_t *subset, void *userdata)
{
    struct collect *c = userdata;
    uint16_t port = subset_port(subset, c->port_name, c->protocol);
    if (port == 0)
        return 0;
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 8;
        struct backend *n = realloc(c->list, cap * sizeof(*n));
        if (!n)
            return -ENOMEM;
        c->list = n;
        c->cap = cap;
    }
    c->list[c->n++] = (struct backend){.ip = ip, .port = port};
    return 0;
}

int endpoints_backends(json_t *ep, const char *port_name, int protocol, struct backend **ret, size_t *ret_n)
{
    struct collect c = {.port_name = port_name, .protocol = protocol};
    int r = ep ? endpoints_for_each_ready(ep, collect_one, &c) : 0;
    if (r < 0) {
        free(c.list);
        return r;
    }
    if (c.n > 1) {
        qsort(c.list, c.n, sizeof(*c.list), backend_cmp_qsort);
        size_t out = 1;
        for (size_t i = 1; i < c.n; i++)
            if (backend_compare(&c.list[i], &c.list[out - 1]) != 0)
                c.list[out++] = c.list[i];
        c.n = out;
    }
    *ret = c.list;
    *ret_n = c.n;
    return 0;
}
