/* Cluster DNS names, answered from the store (the Kubernetes DNS specification, as CoreDNS implements it):
 *   <svc>.<ns>.svc.<domain>             A: the ClusterIP; headless: the ready endpoint IPs;
 *                                       ExternalName: a CNAME; SRV: one record per named port
 *   _<port>._<proto>.<svc>.<ns>.svc.<domain>  SRV (and A) for one named port
 *   <hostname or a-b-c-d>.<svc>.<ns>.svc.<domain>  A: one endpoint of a headless service
 *   <a-b-c-d>.<ns>.pod.<domain>         A: a.b.c.d
 * Names outside <domain> are someone else's (forward); unknown names inside it are NXDOMAIN, known names
 * without records of the asked type NOERROR with no answer (so an AAAA lookup does not fail the A one). */
#pragma once

#include "dns-message.h"
#include "store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct dns_answer {
    int rcode;
    bool authoritative;
    bool forward; /* not a cluster name: ask the upstream resolver */
    struct dns_rr *answer, *authority, *additional;
    size_t n_answer, n_authority, n_additional;
    size_t cap_answer, cap_authority, cap_additional;
};

struct dns_lookup_config {
    const char *domain; /* "cluster.local", lower case, no final dot */
    uint32_t ttl;
};

/* Fills ret for qname (as sent) and qtype. Returns 0 or -ENOMEM. */
int dns_lookup(const struct store *s, const struct dns_lookup_config *cfg, const char *qname, uint16_t qtype,
               struct dns_answer *ret);
void dns_answer_done(struct dns_answer *a);
