/* DNS: parsing queries (including hostile ones), building answers (compression, truncation, EDNS), and
 * the cluster names answered from a store. */
/* cmocka.h needs these headers before it. */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include "dns-lookup.h"
#include "dns-message.h"
#include "store.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

/* ---- building queries ---- */

static size_t make_query(uint8_t *buf, uint16_t id, const char *name, uint16_t type, int edns_size)
{
    uint8_t hdr[12] = {(uint8_t)(id >> 8), (uint8_t)id, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, edns_size ? 1 : 0};
    memcpy(buf, hdr, 12);
    int n = dns_name_encode(name, buf + 12, 300);
    assert_true(n > 0);
    size_t len = 12 + (size_t)n;
    buf[len++] = (uint8_t)(type >> 8);
    buf[len++] = (uint8_t)type;
    buf[len++] = 0;
    buf[len++] = 1;
    if (edns_size) {
        const uint8_t opt[] = {0, 0, 41, (uint8_t)(edns_size >> 8), (uint8_t)edns_size, 0, 0, 0, 0, 0, 0};
        memcpy(buf + len, opt, sizeof(opt));
        len += sizeof(opt);
    }
    return len;
}

static void test_parse_simple(void **state)
{
    uint8_t buf[512];
    size_t len = make_query(buf, 0x1234, "Web.Default.svc.cluster.local", DNS_TYPE_A, 0);
    struct dns_query q;
    assert_int_equal(dns_query_parse(buf, len, &q), 0);
    assert_int_equal(q.id, 0x1234);
    assert_string_equal(q.name, "Web.Default.svc.cluster.local");
    assert_true(q.name_plain);
    assert_int_equal(q.qtype, DNS_TYPE_A);
    assert_int_equal(q.qclass, DNS_CLASS_IN);
    assert_false(q.edns);
    assert_int_equal(dns_udp_limit(&q), 512);
    assert_int_equal(q.question_end, len);

    len = make_query(buf, 1, "example.com", DNS_TYPE_AAAA, 4096);
    assert_int_equal(dns_query_parse(buf, len, &q), 0);
    assert_true(q.edns);
    assert_int_equal(q.edns_udp_size, 4096);
    assert_int_equal(dns_udp_limit(&q), DNS_EDNS_SIZE);

    /* The root name. */
    len = make_query(buf, 1, "", DNS_TYPE_SOA, 0);
    assert_int_equal(dns_query_parse(buf, len, &q), 0);
    assert_string_equal(q.name, "");
}

static void test_parse_rejects(void **state)
{
    uint8_t buf[512];
    struct dns_query q;
    size_t len = make_query(buf, 7, "a.b", DNS_TYPE_A, 0);
    assert_int_equal(dns_query_parse(buf, 11, &q), -EBADMSG);     /* shorter than a header */
    assert_int_equal(dns_query_parse(buf, len - 1, &q), -EPROTO); /* question cut short */
    assert_int_equal(q.id, 7);                                    /* ...but the id is known for FORMERR */

    buf[2] |= 0x80; /* a response */
    assert_int_equal(dns_query_parse(buf, len, &q), -EBADMSG);
    buf[2] &= 0x7f;

    buf[2] |= 0x10; /* opcode 2 (STATUS) */
    assert_int_equal(dns_query_parse(buf, len, &q), -EOPNOTSUPP);
    buf[2] &= (uint8_t)~0x78;

    buf[5] = 2; /* two questions */
    assert_int_equal(dns_query_parse(buf, len, &q), -EOPNOTSUPP);
    buf[5] = 1;

    /* A compression pointer to itself, and one pointing forward. */
    uint8_t loop[] = {0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1};
    assert_int_equal(dns_query_parse(loop, sizeof(loop), &q), -EPROTO);
    uint8_t fwd[] = {0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 14, 1, 'a', 0, 0, 1, 0, 1};
    assert_int_equal(dns_query_parse(fwd, sizeof(fwd), &q), -EPROTO);
    /* Two labels pointing at each other through a backward jump: bounded by the jump limit. */
    uint8_t pingpong[] = {0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 'a', 0xc0, 12, 0, 1, 0, 1};
    assert_int_equal(dns_query_parse(pingpong, sizeof(pingpong), &q), -EPROTO);
    /* Label types 0x40 and 0x80. */
    uint8_t ext[] = {0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0x41, 'a', 0, 0, 1, 0, 1};
    assert_int_equal(dns_query_parse(ext, sizeof(ext), &q), -EPROTO);
    /* An OPT record claiming more data than the message has. */
    len = make_query(buf, 1, "a", DNS_TYPE_A, 1232);
    buf[len - 1] = 9;
    assert_int_equal(dns_query_parse(buf, len, &q), -EPROTO);
}

static void test_parse_name_limits(void **state)
{
    uint8_t buf[600];
    struct dns_query q;
    /* 4 labels of 63: 256 bytes of wire name, one too many. */
    uint8_t hdr[12] = {0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0};
    memcpy(buf, hdr, 12);
    size_t len = 12;
    for (int l = 0; l < 4; l++) {
        buf[len++] = 63;
        memset(buf + len, 'x', 63);
        len += 63;
    }
    buf[len++] = 0;
    memcpy(buf + len, "\0\1\0\1", 4);
    len += 4;
    assert_int_equal(dns_query_parse(buf, len, &q), -EPROTO);
    /* A label with a dot or a control byte inside is not plain: never matched as a cluster name. */
    uint8_t dotted[] = {0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 3, 'a', '.', 'b', 0, 0, 1, 0, 1};
    assert_int_equal(dns_query_parse(dotted, sizeof(dotted), &q), 0);
    assert_false(q.name_plain);
    assert_int_equal(q.wire_name_len, 5);
}

/* ---- reading answers back ---- */

struct parsed_rr {
    char name[256];
    uint16_t type;
    uint32_t ttl;
    char data[300]; /* A: dotted; SRV: "prio weight port target"; CNAME: target */
};

struct parsed {
    uint16_t id, flags, qd, an, ns, ar;
    struct parsed_rr rr[64];
    size_t n;
};

static size_t read_name(const uint8_t *m, size_t len, size_t pos, char *out)
{
    size_t end = 0, o = 0;
    int jumps = 0;
    out[0] = '\0';
    for (;;) {
        assert_true(pos < len);
        if ((m[pos] & 0xc0) == 0xc0) {
            assert_true(++jumps < 20);
            if (!end)
                end = pos + 2;
            pos = (size_t)(m[pos] & 0x3f) << 8 | m[pos + 1];
            continue;
        }
        if (m[pos] == 0)
            break;
        if (o)
            out[o++] = '.';
        memcpy(out + o, m + pos + 1, m[pos]);
        o += m[pos];
        out[o] = '\0';
        pos += 1 + m[pos];
    }
    return end ? end : pos + 1;
}

static void parse_answer(const uint8_t *m, size_t len, struct parsed *p)
{
    memset(p, 0, sizeof(*p));
    assert_true(len >= 12);
    p->id = (uint16_t)(m[0] << 8 | m[1]);
    p->flags = (uint16_t)(m[2] << 8 | m[3]);
    p->qd = (uint16_t)(m[4] << 8 | m[5]);
    p->an = (uint16_t)(m[6] << 8 | m[7]);
    p->ns = (uint16_t)(m[8] << 8 | m[9]);
    p->ar = (uint16_t)(m[10] << 8 | m[11]);
    size_t pos = 12;
    char tmp[256];
    for (int i = 0; i < p->qd; i++)
        pos = read_name(m, len, pos, tmp) + 4;
    for (int i = 0; i < p->an + p->ns + p->ar; i++) {
        struct parsed_rr *rr = &p->rr[p->n++];
        pos = read_name(m, len, pos, rr->name);
        assert_true(pos + 10 <= len);
        rr->type = (uint16_t)(m[pos] << 8 | m[pos + 1]);
        rr->ttl =
            (uint32_t)m[pos + 4] << 24 | (uint32_t)m[pos + 5] << 16 | (uint32_t)m[pos + 6] << 8 | m[pos + 7];
        size_t rdlen = (size_t)(m[pos + 8] << 8 | m[pos + 9]);
        pos += 10;
        assert_true(pos + rdlen <= len);
        if (rr->type == DNS_TYPE_A) {
            assert_int_equal(rdlen, 4);
            inet_ntop(AF_INET, m + pos, rr->data, sizeof(rr->data));
        } else if (rr->type == DNS_TYPE_SRV) {
            read_name(m, len, pos + 6, tmp);
            snprintf(rr->data, sizeof(rr->data), "%u %u %u %s", m[pos] << 8 | m[pos + 1],
                     m[pos + 2] << 8 | m[pos + 3], m[pos + 4] << 8 | m[pos + 5], tmp);
        } else if (rr->type == DNS_TYPE_CNAME || rr->type == DNS_TYPE_SOA) {
            read_name(m, len, pos, rr->data);
        }
        pos += rdlen;
    }
    assert_int_equal(pos, len);
}

static void test_build_answer(void **state)
{
    uint8_t buf[512], out[512];
    size_t len = make_query(buf, 0xbeef, "web.default.svc.cluster.local", DNS_TYPE_A, 0);
    struct dns_query q;
    assert_int_equal(dns_query_parse(buf, len, &q), 0);
    struct dns_rr rr = {.type = DNS_TYPE_A, .ttl = 5};
    strcpy(rr.name, q.name);
    inet_pton(AF_INET, "10.96.0.20", &rr.a);
    int n = dns_response_build(&q, DNS_RCODE_NOERROR, true, &rr, 1, NULL, 0, NULL, 0, out, sizeof(out));
    assert_true(n > 0);
    /* The answer's name is a pointer to the question: 2 bytes, so 12 + question + 2+10+4. */
    assert_int_equal(n, (int)(len + 16));
    assert_int_equal(out[len], 0xc0);
    assert_int_equal(out[len + 1], 12);
    struct parsed p;
    parse_answer(out, (size_t)n, &p);
    assert_int_equal(p.id, 0xbeef);
    assert_true(p.flags & DNS_FLAG_QR);
    assert_true(p.flags & DNS_FLAG_AA);
    assert_true(p.flags & DNS_FLAG_RD);
    assert_int_equal(p.flags & 0xf, 0);
    assert_int_equal(p.an, 1);
    assert_string_equal(p.rr[0].name, "web.default.svc.cluster.local");
    assert_string_equal(p.rr[0].data, "10.96.0.20");
    assert_int_equal(p.rr[0].ttl, 5);
}

static void test_build_truncates(void **state)
{
    uint8_t buf[512], out[4096];
    size_t len = make_query(buf, 1, "db.default.svc.cluster.local", DNS_TYPE_A, 0);
    struct dns_query q;
    assert_int_equal(dns_query_parse(buf, len, &q), 0);
    struct dns_rr rrs[40];
    for (int i = 0; i < 40; i++) {
        rrs[i] = (struct dns_rr){.type = DNS_TYPE_A, .ttl = 5};
        strcpy(rrs[i].name, q.name);
        rrs[i].a.s_addr = htonl(0x0af40000u + (uint32_t)i);
    }
    /* 40 * 16 bytes do not fit in 512: TC, no answers. */
    int n = dns_response_build(&q, 0, true, rrs, 40, NULL, 0, NULL, 0, out, dns_udp_limit(&q));
    struct parsed p;
    parse_answer(out, (size_t)n, &p);
    assert_true(p.flags & DNS_FLAG_TC);
    assert_int_equal(p.an, 0);
    /* Over TCP they fit. */
    n = dns_response_build(&q, 0, true, rrs, 40, NULL, 0, NULL, 0, out, sizeof(out));
    parse_answer(out, (size_t)n, &p);
    assert_false(p.flags & DNS_FLAG_TC);
    assert_int_equal(p.an, 40);
    /* Additional records that do not fit are dropped without TC. */
    n = dns_response_build(&q, 0, true, rrs, 20, NULL, 0, rrs, 40, out, 512);
    parse_answer(out, (size_t)n, &p);
    assert_false(p.flags & DNS_FLAG_TC);
    assert_int_equal(p.an, 20);
    assert_true(p.ar < 40);
}

static void test_build_edns_and_errors(void **state)
{
    uint8_t buf[512], out[512];
    size_t len = make_query(buf, 9, "x.example", DNS_TYPE_A, 1232);
    struct dns_query q;
    assert_int_equal(dns_query_parse(buf, len, &q), 0);
    int n = dns_response_build(&q, DNS_RCODE_NXDOMAIN, false, NULL, 0, NULL, 0, NULL, 0, out, sizeof(out));
    struct parsed p;
    parse_answer(out, (size_t)n, &p);
    assert_int_equal(p.flags & 0xf, DNS_RCODE_NXDOMAIN);
    assert_false(p.flags & DNS_FLAG_AA);
    assert_int_equal(p.ar, 1); /* our OPT */
    assert_int_equal(p.rr[0].type, DNS_TYPE_OPT);

    n = dns_error_build(0x4242, 0x0100, DNS_RCODE_FORMERR, out, sizeof(out));
    assert_int_equal(n, 12);
    parse_answer(out, 12, &p);
    assert_int_equal(p.id, 0x4242);
    assert_int_equal(p.flags & 0xf, DNS_RCODE_FORMERR);
    assert_true(p.flags & DNS_FLAG_QR);
    assert_int_equal(p.qd, 0);

    uint8_t name[300];
    assert_int_equal(dns_name_encode("a..b", name, sizeof(name)), -EINVAL);
    assert_int_equal(dns_name_encode("a.b.", name, sizeof(name)), 5); /* a final dot is allowed */
    assert_int_equal(dns_name_encode("abc", name, 3), -ENOBUFS);
}

/* ---- cluster names ---- */

static struct store store;
static const struct dns_lookup_config cfg = {.domain = "cluster.local", .ttl = 5};

static int setup_store(void **state)
{
    if (store_init(&store) < 0)
        return -1;
    json_t *services = json_loads(
        "[{\"metadata\":{\"name\":\"web\",\"namespace\":\"default\"},\"spec\":{\"clusterIP\":\"10.96.0.20\","
        "\"ports\":[{\"name\":\"http\",\"port\":80,\"protocol\":\"TCP\"},{\"name\":\"dns\",\"port\":53,"
        "\"protocol\":\"UDP\"},{\"port\":9000}]}},"
        "{\"metadata\":{\"name\":\"db\",\"namespace\":\"prod\"},\"spec\":{\"clusterIP\":\"None\","
        "\"ports\":[{\"name\":\"pg\",\"port\":5432}]}},"
        "{\"metadata\":{\"name\":\"ext\",\"namespace\":\"default\"},\"spec\":{\"type\":\"ExternalName\","
        "\"externalName\":\"example.com.\"}}]",
        0, NULL);
    json_t *endpoints = json_loads(
        "[{\"metadata\":{\"name\":\"db\",\"namespace\":\"prod\"},\"subsets\":[{\"addresses\":["
        "{\"ip\":\"10.244.0.2\",\"hostname\":\"db-0\"},{\"ip\":\"10.244.0.3\"}],"
        "\"notReadyAddresses\":[{\"ip\":\"10.244.0.9\"}],\"ports\":[{\"name\":\"pg\",\"port\":5433}]}]}]",
        0, NULL);
    int r =
        store_replace(&store, &store.services, services) | store_replace(&store, &store.endpoints, endpoints);
    json_decref(services);
    json_decref(endpoints);
    return r;
}

static int teardown_store(void **state)
{
    store_done(&store);
    return 0;
}

/* Looks name up and renders the answer section as "TYPE data; ...". */
static int lookup(const char *name, uint16_t type, char *out, size_t size)
{
    struct dns_answer a;
    assert_int_equal(dns_lookup(&store, &cfg, name, type, &a), 0);
    out[0] = '\0';
    if (a.forward) {
        snprintf(out, size, "forward");
        return -1;
    }
    for (size_t i = 0; i < a.n_answer; i++) {
        const struct dns_rr *rr = &a.answer[i];
        char data[300] = "";
        if (rr->type == DNS_TYPE_A)
            inet_ntop(AF_INET, &rr->a, data, sizeof(data));
        else if (rr->type == DNS_TYPE_SRV)
            snprintf(data, sizeof(data), "%u %s", rr->srv.port, rr->srv.target);
        else if (rr->type == DNS_TYPE_CNAME)
            snprintf(data, sizeof(data), "%s", rr->cname);
        size_t len = strlen(out);
        snprintf(out + len, size - len, "%s%s %s", len ? "; " : "",
                 rr->type == DNS_TYPE_A     ? "A"
                 : rr->type == DNS_TYPE_SRV ? "SRV"
                                            : "CNAME",
                 data);
    }
    /* Negative answers always carry the SOA. */
    if (a.n_answer == 0) {
        assert_int_equal(a.n_authority, 1);
        assert_int_equal(a.authority[0].type, DNS_TYPE_SOA);
    }
    assert_true(a.authoritative);
    int rcode = a.rcode;
    dns_answer_done(&a);
    return rcode;
}

static void test_lookup_service(void **state)
{
    char out[1024];
    assert_int_equal(lookup("web.default.svc.cluster.local", DNS_TYPE_A, out, sizeof(out)),
                     DNS_RCODE_NOERROR);
    assert_string_equal(out, "A 10.96.0.20");
    /* Names are case-insensitive. */
    assert_int_equal(lookup("WEB.Default.SVC.cluster.LOCAL", DNS_TYPE_A, out, sizeof(out)),
                     DNS_RCODE_NOERROR);
    assert_string_equal(out, "A 10.96.0.20");
    /* AAAA: the name exists, no records (NODATA), so a parallel A lookup is not failed. */
    assert_int_equal(lookup("web.default.svc.cluster.local", DNS_TYPE_AAAA, out, sizeof(out)),
                     DNS_RCODE_NOERROR);
    assert_string_equal(out, "");
    assert_int_equal(lookup("nope.default.svc.cluster.local", DNS_TYPE_A, out, sizeof(out)),
                     DNS_RCODE_NXDOMAIN);
    assert_int_equal(lookup("web.other.svc.cluster.local", DNS_TYPE_A, out, sizeof(out)), DNS_RCODE_NXDOMAIN);
    assert_int_equal(lookup("default.svc.cluster.local", DNS_TYPE_A, out, sizeof(out)), DNS_RCODE_NOERROR);
    assert_int_equal(lookup("empty.svc.cluster.local", DNS_TYPE_A, out, sizeof(out)), DNS_RCODE_NXDOMAIN);
    assert_int_equal(lookup("a.b.c.d.e.f.g.svc.cluster.local", DNS_TYPE_A, out, sizeof(out)),
                     DNS_RCODE_NXDOMAIN);
}

static void test_lookup_srv(void **state)
{
    char out[1024];
    assert_int_equal(lookup("_http._tcp.web.default.svc.cluster.local", DNS_TYPE_SRV, out, sizeof(out)), 0);
    assert_string_equal(out, "SRV 80 web.default.svc.cluster.local");
    assert_int_equal(lookup("_dns._udp.web.default.svc.cluster.local", DNS_TYPE_SRV, out, sizeof(out)), 0);
    assert_string_equal(out, "SRV 53 web.default.svc.cluster.local");
    assert_int_equal(lookup("_dns._tcp.web.default.svc.cluster.local", DNS_TYPE_SRV, out, sizeof(out)),
                     DNS_RCODE_NXDOMAIN);
    /* The service name itself: one SRV per named port (the unnamed one has none). */
    assert_int_equal(lookup("web.default.svc.cluster.local", DNS_TYPE_SRV, out, sizeof(out)), 0);
    assert_string_equal(out, "SRV 80 web.default.svc.cluster.local; SRV 53 web.default.svc.cluster.local");
    /* Headless: one per ready endpoint, named after its hostname or its dashed IP, on the endpoint port. */
    assert_int_equal(lookup("_pg._tcp.db.prod.svc.cluster.local", DNS_TYPE_SRV, out, sizeof(out)), 0);
    assert_string_equal(
        out, "SRV 5433 db-0.db.prod.svc.cluster.local; SRV 5433 10-244-0-3.db.prod.svc.cluster.local");
}

static void test_lookup_headless_and_pods(void **state)
{
    char out[1024];
    assert_int_equal(lookup("db.prod.svc.cluster.local", DNS_TYPE_A, out, sizeof(out)), 0);
    assert_string_equal(out, "A 10.244.0.2; A 10.244.0.3"); /* not the not-ready 10.244.0.9 */
    assert_int_equal(lookup("db-0.db.prod.svc.cluster.local", DNS_TYPE_A, out, sizeof(out)), 0);
    assert_string_equal(out, "A 10.244.0.2");
    assert_int_equal(lookup("10-244-0-3.db.prod.svc.cluster.local", DNS_TYPE_A, out, sizeof(out)), 0);
    assert_string_equal(out, "A 10.244.0.3");
    assert_int_equal(lookup("db-7.db.prod.svc.cluster.local", DNS_TYPE_A, out, sizeof(out)),
                     DNS_RCODE_NXDOMAIN);
    assert_int_equal(lookup("10-244-0-9.default.pod.cluster.local", DNS_TYPE_A, out, sizeof(out)), 0);
    assert_string_equal(out, "A 10.244.0.9");
    assert_int_equal(lookup("10-244-0-9.default.pod.cluster.local", DNS_TYPE_AAAA, out, sizeof(out)), 0);
    assert_string_equal(out, "");
    assert_int_equal(lookup("10-244-0-999.default.pod.cluster.local", DNS_TYPE_A, out, sizeof(out)),
                     DNS_RCODE_NXDOMAIN);
    assert_int_equal(lookup("10.244.0.9.default.pod.cluster.local", DNS_TYPE_A, out, sizeof(out)),
                     DNS_RCODE_NXDOMAIN);
    assert_int_equal(lookup("10-244-0-9.pod.cluster.local", DNS_TYPE_A, out, sizeof(out)),
                     DNS_RCODE_NXDOMAIN);
}

static void test_lookup_external(void **state)
{
    char out[1024];
    assert_int_equal(lookup("ext.default.svc.cluster.local", DNS_TYPE_A, out, sizeof(out)), 0);
    assert_string_equal(out, "CNAME example.com");
    assert_int_equal(lookup("example.com", DNS_TYPE_A, out, sizeof(out)), -1);
    assert_string_equal(out, "forward");
    /* Only a whole-label suffix is ours. */
    assert_int_equal(lookup("notcluster.local", DNS_TYPE_A, out, sizeof(out)), -1);
    assert_int_equal(lookup("cluster.local", DNS_TYPE_A, out, sizeof(out)), DNS_RCODE_NOERROR);
    assert_int_equal(lookup("x.cluster.local", DNS_TYPE_A, out, sizeof(out)), DNS_RCODE_NXDOMAIN);
}

/* The whole path for one query: parse, look up, build, read back; the SRV answer carries its target's A
 * record in the additional section and compresses names against the question. */
static void test_end_to_end_srv(void **state)
{
    uint8_t buf[512], out[512];
    size_t len = make_query(buf, 77, "_http._tcp.web.default.svc.cluster.local", DNS_TYPE_SRV, 0);
    struct dns_query q;
    assert_int_equal(dns_query_parse(buf, len, &q), 0);
    struct dns_answer a;
    assert_int_equal(dns_lookup(&store, &cfg, q.name, q.qtype, &a), 0);
    int n = dns_response_build(&q, a.rcode, a.authoritative, a.answer, a.n_answer, a.authority, a.n_authority,
                               a.additional, a.n_additional, out, dns_udp_limit(&q));
    dns_answer_done(&a);
    struct parsed p;
    parse_answer(out, (size_t)n, &p);
    assert_int_equal(p.an, 1);
    assert_int_equal(p.ar, 1);
    assert_string_equal(p.rr[0].data, "0 100 80 web.default.svc.cluster.local");
    assert_string_equal(p.rr[1].name, "web.default.svc.cluster.local");
    assert_string_equal(p.rr[1].data, "10.96.0.20");
    /* Both the SRV target and the additional record's name point into the question. */
    assert_true(n < (int)(len + 2 + 10 + 6 + 2 + 2 + 10 + 4 + 1));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_simple),
        cmocka_unit_test(test_parse_rejects),
        cmocka_unit_test(test_parse_name_limits),
        cmocka_unit_test(test_build_answer),
        cmocka_unit_test(test_build_truncates),
        cmocka_unit_test(test_build_edns_and_errors),
        cmocka_unit_test_setup_teardown(test_lookup_service, setup_store, teardown_store),
        cmocka_unit_test_setup_teardown(test_lookup_srv, setup_store, teardown_store),
        cmocka_unit_test_setup_teardown(test_lookup_headless_and_pods, setup_store, teardown_store),
        cmocka_unit_test_setup_teardown(test_lookup_external, setup_store, teardown_store),
        cmocka_unit_test_setup_teardown(test_end_to_end_srv, setup_store, teardown_store),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
