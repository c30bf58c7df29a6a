#include "dns-lookup.h"

#include "macro.h"
#include "service.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define MAX_LABELS 6

enum section { SECTION_ANSWER, SECTION_AUTHORITY, SECTION_ADDITIONAL };

struct lookup {
    const struct store *store;
    const struct dns_lookup_config *cfg;
    const char *qname; /* as sent: records for the asked name carry it, so they compress to the question */
    uint16_t qtype;
    struct dns_answer *ans;
    /* The part before ".<domain>", lower case, split into labels. */
    char prefix[DNS_NAME_MAX + 1];
    char *labels[MAX_LABELS];
    size_t n_labels;
};

void dns_answer_done(struct dns_answer *a)
{
    free(a->answer);
    free(a->authority);
    free(a->additional);
    *a = (struct dns_answer){0};
}

static struct dns_rr *add_rr(struct lookup *lk, enum section section, const char *name, uint16_t type)
{
    struct dns_answer *a = lk->ans;
    struct dns_rr **list = section == SECTION_ANSWER      ? &a->answer
                           : section == SECTION_AUTHORITY ? &a->authority
                                                          : &a->additional;
    size_t *n = section == SECTION_ANSWER      ? &a->n_answer
                : section == SECTION_AUTHORITY ? &a->n_authority
                                               : &a->n_additional;
    size_t *cap = section == SECTION_ANSWER      ? &a->cap_answer
                  : section == SECTION_AUTHORITY ? &a->cap_authority
                                                 : &a->cap_additional;
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 4;
        struct dns_rr *l = realloc(*list, c * sizeof(*l));
        if (!l)
            return NULL;
        *list = l;
        *cap = c;
    }
    struct dns_rr *rr = &(*list)[(*n)++];
    memset(rr, 0, sizeof(*rr));
    snprintf(rr->name, sizeof(rr->name), "%s", name);
    rr->type = type;
    rr->ttl = lk->cfg->ttl;
    return rr;
}

static int add_a(struct lookup *lk, enum section section, const char *name, struct in_addr ip)
{
    struct dns_rr *rr = add_rr(lk, section, name, DNS_TYPE_A);
    if (!rr)
        return -ENOMEM;
    rr->a = ip;
    return 0;
}

static int finish(struct lookup *lk, int rcode)
{
    lk->ans->rcode = rcode;
    lk->ans->authoritative = true;
    if (lk->ans->n_answer > 0)
        return 0;
    /* Negative answers carry the zone's SOA so resolvers cache them for its minimum TTL (RFC 2308). */
    struct dns_rr *soa = add_rr(lk, SECTION_AUTHORITY, lk->cfg->domain, DNS_TYPE_SOA);
    if (!soa)
        return -ENOMEM;
    snprintf(soa->soa.mname, sizeof(soa->soa.mname), "ns.dns.%s", lk->cfg->domain);
    snprintf(soa->soa.rname, sizeof(soa->soa.rname), "hostmaster.%s", lk->cfg->domain);
    soa->soa.serial = 1;
    soa->soa.refresh = 7200;
    soa->soa.retry = 1800;
    soa->soa.expire = 86400;
    soa->soa.minimum = lk->cfg->ttl;
    return 0;
}

static bool wants(const struct lookup *lk, uint16_t type)
{
    return lk->qtype == type || lk->qtype == DNS_TYPE_ANY;
}

/* "10-1-2-3" -> 10.1.2.3; false for anything else. */
static bool parse_dashed(const char *s, struct in_addr *ret)
{
    char dotted[16];
    size_t len = strlen(s);
    if (len < 7 || len > 15)
        return false;
    for (size_t i = 0; i <= len; i++)
        dotted[i] = s[i] == '-' ? '.' : s[i];
    if (strchr(s, '.'))
        return false;
    return inet_pton(AF_INET, dotted, ret) == 1;
}

static void dashed(struct in_addr ip, char buf[16])
{
    inet_ntop(AF_INET, &ip, buf, 16);
    for (char *p = buf; *p; p++)
        if (*p == '.')
            *p = '-';
}

static json_t *find_object(const json_t *map, const char *ns, const char *name)
{
    char key[STORE_KEY_MAX];
    if (store_key_of(ns, name, key) < 0)
        return NULL;
    return json_object_get(map, key);
}

/* ---- <a-b-c-d>.<ns>.pod.<domain> ---- */

static int lookup_pod(struct lookup *lk)
{
    struct in_addr ip;
    if (lk->n_labels != 3 || !parse_dashed(lk->labels[0], &ip))
        return finish(lk, DNS_RCODE_NXDOMAIN);
    if (wants(lk, DNS_TYPE_A) && add_a(lk, SECTION_ANSWER, lk->qname, ip) < 0)
        return -ENOMEM;
    return finish(lk, DNS_RCODE_NOERROR);
}

/* ---- services ---- */

struct svc_ctx {
    struct lookup *lk;
    struct service svc;
    json_t *endpoints;
    char svc_name[DNS_NAME_MAX + 1]; /* <svc>.<ns>.svc.<domain> */
    const char *match;               /* endpoint hostname or dashed IP to find, or NULL */
    const struct service_port *port; /* SRV for this port only, or NULL for all */
    bool found;
};

static int add_endpoint_a(struct in_addr ip, const char *hostname, json_t *subset, void *userdata)
{
    struct svc_ctx *c = userdata;
    if (c->match) {
        char d[16];
        dashed(ip, d);
        if (!(hostname && strcasecmp(hostname, c->match) == 0) && strcmp(d, c->match) != 0)
            return 0;
    }
    c->found = true;
    if (!wants(c->lk, DNS_TYPE_A))
        return 0;
    /* Several subsets may list one address; answer it once. */
    for (size_t i = 0; i < c->lk->ans->n_answer; i++)
        if (c->lk->ans->answer[i].type == DNS_TYPE_A && c->lk->ans->answer[i].a.s_addr == ip.s_addr)
            return 0;
    return add_a(c->lk, SECTION_ANSWER, c->lk->qname, ip);
}

static bool named_port_matches(const struct service_port *p, const char *port_label, const char *proto_label)
{
    /* port_label and proto_label come with their leading underscore. */
    return p->name[0] && strcasecmp(p->name, port_label + 1) == 0 &&
           strcasecmp(protocol_name(p->protocol), proto_label + 1) == 0;
}

/* SRV records are owned by the asked name: the service's for all its ports, _port._proto's for one. */
static int add_srv(struct svc_ctx *c, uint16_t port, const char *target)
{
    struct dns_rr *rr = add_rr(c->lk, SECTION_ANSWER, c->lk->qname, DNS_TYPE_SRV);
    if (!rr)
        return -ENOMEM;
    rr->srv.priority = 0;
    rr->srv.weight = 100;
    rr->srv.port = port;
    snprintf(rr->srv.target, sizeof(rr->srv.target), "%s", target);
    return 0;
}

struct srv_endpoint {
    struct svc_ctx *c;
    const struct service_port *port;
};

static int add_endpoint_srv(struct in_addr ip, const char *hostname, json_t *subset, void *userdata)
{
    struct srv_endpoint *se = userdata;
    struct svc_ctx *c = se->c;
    /* The endpoint's own port number for this service port (the targetPort, resolved by the endpoints
     * controller). */
    size_t i;
    json_t *ep_port;
    json_array_foreach(json_object_get(subset, "ports"), i, ep_port)
    {
        const char *name = json_string_value(json_object_get(ep_port, "name"));
        json_t *number = json_object_get(ep_port, "port");
        if (strcmp(name ? name : "", se->port->name) != 0 || !json_is_integer(number) ||
            json_integer_value(number) < 1 || json_integer_value(number) > 65535 ||
            protocol_from_name(json_string_value(json_object_get(ep_port, "protocol"))) != se->port->protocol)
            continue;
        char host[16], target[DNS_NAME_MAX + 1];
        dashed(ip, host);
        if (snprintf(target, sizeof(target), "%s.%s", hostname ? hostname : host, c->svc_name) >=
            (int)sizeof(target))
            return 0;
        int r = add_srv(c, (uint16_t)json_integer_value(number), target);
        if (r >= 0)
            r = add_a(c->lk, SECTION_ADDITIONAL, target, ip);
        return r;
    }
    return 0;
}

static int service_srv(struct svc_ctx *c)
{
    for (size_t i = 0; i < c->svc.n_ports; i++) {
        const struct service_port *p = &c->svc.ports[i];
        if (!p->name[0] || (c->port && p != c->port))
            continue; /* SRV records exist for named ports only */
        int r;
        if (c->svc.headless) {
            struct srv_endpoint se = {.c = c, .port = p};
            r = endpoints_for_each_ready(c->endpoints, add_endpoint_srv, &se);
        } else if (c->svc.has_cluster_ip) {
            r = add_srv(c, p->port, c->svc_name);
            if (r >= 0 && c->lk->ans->n_additional == 0)
                r = add_a(c->lk, SECTION_ADDITIONAL, c->svc_name, c->svc.cluster_ip);
        } else {
            r = 0;
        }
        if (r < 0)
            return r;
    }
    return 0;
}

static int service_records(struct svc_ctx *c)
{
    struct lookup *lk = c->lk;
    if (c->svc.type == SERVICE_EXTERNAL_NAME) {
        if (!c->svc.external_name || lk->qtype == DNS_TYPE_SRV)
            return 0;
        struct dns_rr *rr = add_rr(lk, SECTION_ANSWER, lk->qname, DNS_TYPE_CNAME);
        if (!rr)
            return -ENOMEM;
        snprintf(rr->cname, sizeof(rr->cname), "%s", c->svc.external_name);
        size_t n = strlen(rr->cname);
        if (n > 0 && rr->cname[n - 1] == '.')
            rr->cname[n - 1] = '\0';
        return 0;
    }
    if (wants(lk, DNS_TYPE_SRV)) {
        int r = service_srv(c);
        if (r < 0)
            return r;
    }
    if (!wants(lk, DNS_TYPE_A))
        return 0;
    if (c->svc.headless)
        return endpoints_for_each_ready(c->endpoints, add_endpoint_a, c);
    if (c->svc.has_cluster_ip)
        return add_a(lk, SECTION_ANSWER, lk->qname, c->svc.cluster_ip);
    return 0;
}

static bool namespace_has_services(const struct store *s, const char *ns)
{
    size_t len = strlen(ns);
    const char *key;
    json_t *obj;
    json_object_foreach(s->services.objects, key, obj)
    {
        if (strncmp(key, ns, len) == 0 && key[len] == '/')
            return true;
    }
    return false;
}

/* labels: [..., <svc>, <ns>, "svc"] */
static int lookup_service(struct lookup *lk)
{
    size_t n = lk->n_labels;
    if (n == 1)
        return finish(lk, DNS_RCODE_NOERROR); /* svc.<domain> itself */
    if (n == 2)
        return finish(lk, namespace_has_services(lk->store, lk->labels[0]) ? DNS_RCODE_NOERROR
                                                                           : DNS_RCODE_NXDOMAIN);
    const char *ns = lk->labels[n - 2], *name = lk->labels[n - 3];
    json_t *obj = find_object(lk->store->services.objects, ns, name);
    struct svc_ctx c = {.lk = lk};
    if (!obj || service_from_json(obj, &c.svc) < 0)
        return finish(lk, DNS_RCODE_NXDOMAIN);
    c.endpoints = find_object(lk->store->endpoints.objects, ns, name);
    snprintf(c.svc_name, sizeof(c.svc_name), "%s.%s.svc.%s", name, ns, lk->cfg->domain);
    int rcode = DNS_RCODE_NOERROR, r = 0;
    if (n == 3) {
        r = service_records(&c);
    } else if (n == 5 && lk->labels[0][0] == '_' && lk->labels[1][0] == '_') {
        for (size_t i = 0; i < c.svc.n_ports && !c.port; i++)
            if (named_port_matches(&c.svc.ports[i], lk->labels[0], lk->labels[1]))
                c.port = &c.svc.ports[i];
        if (!c.port)
            rcode = DNS_RCODE_NXDOMAIN;
        else
            r = service_records(&c);
    } else if (n == 4 && c.svc.headless) {
        c.match = lk->labels[0];
        r = endpoints_for_each_ready(c.endpoints, add_endpoint_a, &c);
        if (r >= 0 && !c.found)
            rcode = DNS_RCODE_NXDOMAIN;
    } else {
        rcode = DNS_RCODE_NXDOMAIN;
    }
    service_done(&c.svc);
    return r < 0 ? r : finish(lk, rcode);
}

/* Lower-cases qname into lk->prefix without ".<domain>"; false when the name is not under domain. */
static bool split_name(struct lookup *lk)
{
    size_t qlen = strlen(lk->qname), dlen = strlen(lk->cfg->domain);
    if (qlen < dlen || qlen >= sizeof(lk->prefix))
        return false;
    if (strcasecmp(lk->qname + qlen - dlen, lk->cfg->domain) != 0)
        return false;
    if (qlen > dlen && lk->qname[qlen - dlen - 1] != '.')
        return false;
    size_t plen = qlen > dlen ? qlen - dlen - 1 : 0;
    for (size_t i = 0; i < plen; i++)
        lk->prefix[i] = (char)tolower((unsigned char)lk->qname[i]);
    lk->prefix[plen] = '\0';
    lk->n_labels = 0;
    for (char *save = NULL, *label = strtok_r(lk->prefix, ".", &save); label;
         label = strtok_r(NULL, ".", &save)) {
        if (lk->n_labels == MAX_LABELS) {
            lk->n_labels = MAX_LABELS + 1; /* too deep to be a cluster name */
            break;
        }
        lk->labels[lk->n_labels++] = label;
    }
    return true;
}

int dns_lookup(const struct store *s, const struct dns_lookup_config *cfg, const char *qname, uint16_t qtype,
               struct dns_answer *ret)
{
    *ret = (struct dns_answer){0};
    struct lookup lk = {.store = s, .cfg = cfg, .qname = qname, .qtype = qtype, .ans = ret};
    if (!split_name(&lk)) {
        ret->forward = true;
        return 0;
    }
    int r;
    if (lk.n_labels == 0 || lk.n_labels > MAX_LABELS)
        r = finish(&lk, lk.n_labels == 0 ? DNS_RCODE_NOERROR : DNS_RCODE_NXDOMAIN);
    else if (strcmp(lk.labels[lk.n_labels - 1], "svc") == 0)
        r = lookup_service(&lk);
    else if (strcmp(lk.labels[lk.n_labels - 1], "pod") == 0)
        r = lookup_pod(&lk);
    else
        r = finish(&lk, DNS_RCODE_NXDOMAIN);
    if (r < 0)
        dns_answer_done(ret);
    return r;
}
