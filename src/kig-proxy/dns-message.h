/* DNS wire format (RFC 1035, EDNS0 from RFC 6891): parsing the one question of a query and building
 * answers. Every length and offset in a query is checked, compression pointers may only point backwards
 * and are followed a bounded number of times: queries come from any pod and are outside input
 * (tests/fuzz/fuzz-dns-message.c). */
#pragma once

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DNS_HEADER_SIZE 12
#define DNS_NAME_MAX    255 /* presentation form without the final dot fits in this */
#define DNS_UDP_MIN     512
#define DNS_EDNS_SIZE   1232 /* what kig-dns offers: no IP fragmentation on any common path */

enum dns_type {
    DNS_TYPE_A = 1,
    DNS_TYPE_NS = 2,
    DNS_TYPE_CNAME = 5,
    DNS_TYPE_SOA = 6,
    DNS_TYPE_PTR = 12,
    DNS_TYPE_AAAA = 28,
    DNS_TYPE_SRV = 33,
    DNS_TYPE_OPT = 41,
    DNS_TYPE_ANY = 255,
};

#define DNS_CLASS_IN 1

enum dns_rcode {
    DNS_RCODE_NOERROR = 0,
    DNS_RCODE_FORMERR = 1,
    DNS_RCODE_SERVFAIL = 2,
    DNS_RCODE_NXDOMAIN = 3,
    DNS_RCODE_NOTIMP = 4,
    DNS_RCODE_REFUSED = 5,
};

#define DNS_FLAG_QR       0x8000
#define DNS_FLAG_AA       0x0400
#define DNS_FLAG_TC       0x0200
#define DNS_FLAG_RD       0x0100
#define DNS_FLAG_RA       0x0080
#define DNS_OPCODE(flags) (((flags) >> 11) & 0xf)

struct dns_query {
    uint16_t id;
    uint16_t flags;
    char name[DNS_NAME_MAX + 1];     /* dotted, no final dot, case as sent; "" for the root */
    bool name_plain;                 /* no label holds a '.' or a byte outside printable ASCII */
    uint8_t wire_name[DNS_NAME_MAX]; /* the name as sent, uncompressed: echoed in the answer */
    size_t wire_name_len;
    uint16_t qtype, qclass;
    size_t question_end; /* offset just past the question in the query */
    bool edns;
    uint16_t edns_udp_size;
};

/* Parses a query. Returns 0; -EBADMSG for a message that cannot be answered at all (shorter than a
 * header, or a response); -EPROTO when the header is readable but the rest is malformed (answer FORMERR);
 * -EOPNOTSUPP for an opcode other than QUERY or a question count other than 1 (answer NOTIMP / FORMERR). In
 * the -EPROTO and -EOPNOTSUPP cases id and flags are set. */
int dns_query_parse(const uint8_t *msg, size_t len, struct dns_query *ret);

/* A resource record to put in an answer. Names are dotted, without the final dot. */
struct dns_rr {
    char name[DNS_NAME_MAX + 1];
    uint16_t type;
    uint32_t ttl;
    union {
        struct in_addr a;
        struct {
            uint16_t priority, weight, port;
            char target[DNS_NAME_MAX + 1];
        } srv;
        char cname[DNS_NAME_MAX + 1]; /* CNAME and PTR */
        struct {
            char mname[DNS_NAME_MAX + 1], rname[DNS_NAME_MAX + 1];
            uint32_t serial, refresh, retry, expire, minimum;
        } soa;
    };
};

/* Builds the response to q into out (at most max bytes): header, the question, then the records of each
 * section and an OPT record if the query had one. When the records do not fit, they are dropped and TC is
 * set. Returns the length, or -ENOBUFS if not even the header and question fit. */
int dns_response_build(const struct dns_query *q, int rcode, bool authoritative, const struct dns_rr *answer,
                       size_t n_answer, const struct dns_rr *authority, size_t n_authority,
                       const struct dns_rr *additional, size_t n_additional, uint8_t *out, size_t max);

/* A header-only error answer (FORMERR, NOTIMP, SERVFAIL) echoing id and RD; for queries that failed to
 * parse. Needs 12 bytes. */
int dns_error_build(uint16_t id, uint16_t flags, int rcode, uint8_t *out, size_t max);

/* Writes a dotted name in wire form. Returns the bytes written or -EINVAL / -ENOBUFS. */
int dns_name_encode(const char *name, uint8_t *out, size_t max);

/* The largest answer a UDP client can take: its EDNS size (between 512 and ours), else 512. */
size_t dns_udp_limit(const struct dns_query *q);
