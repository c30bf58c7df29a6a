#include "dns-message.h"

#include "macro.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

#define MAX_POINTER_JUMPS 32

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

struct name_reader {
    char *text; /* NUL-terminated, dotted */
    size_t text_len;
    uint8_t *wire; /* may be NULL */
    size_t wire_len;
    bool plain;
};

static int name_append_label(struct name_reader *nr, const uint8_t *label, size_t n)
{
    /* 255 bytes of wire form at most, the final zero included (RFC 1035 3.1). */
    if (nr->wire_len + 1 + n + 1 > DNS_NAME_MAX)
        return -EPROTO;
    if (nr->wire) {
        nr->wire[nr->wire_len] = (uint8_t)n;
        memcpy(nr->wire + nr->wire_len + 1, label, n);
    }
    nr->wire_len += 1 + n;
    if (nr->text_len > 0)
        nr->text[nr->text_len++] = '.';
    for (size_t i = 0; i < n; i++) {
        char c = (char)label[i];
        if (label[i] <= 0x20 || label[i] >= 0x7f || c == '.') {
            nr->plain = false;
            c = '?';
        }
        nr->text[nr->text_len++] = c;
    }
    nr->text[nr->text_len] = '\0';
    return 0;
}

/* Reads a possibly compressed name at *pos; *pos ends just after it (after the first pointer, if any). */
static int read_name(const uint8_t *msg, size_t len, size_t *pos, struct name_reader *nr)
{
    size_t p = *pos, end = 0;
    int jumps = 0;
    nr->text[0] = '\0';
    nr->text_len = nr->wire_len = 0;
    nr->plain = true;
    for (;;) {
        if (p >= len)
            return -EPROTO;
        uint8_t b = msg[p];
        if ((b & 0xc0) == 0xc0) {
            if (p + 1 >= len || ++jumps > MAX_POINTER_JUMPS)
                return -EPROTO;
            size_t target = (size_t)(b & 0x3f) << 8 | msg[p + 1];
            if (target >= p) /* only backwards: no loops */
                return -EPROTO;
            if (end == 0)
                end = p + 2;
            p = target;
            continue;
        }
        if (b & 0xc0) /* 0x40 and 0x80 label types are obsolete or unassigned */
            return -EPROTO;
        if (b == 0) {
            if (nr->wire) {
                if (nr->wire_len + 1 > DNS_NAME_MAX)
                    return -EPROTO;
                nr->wire[nr->wire_len] = 0;
            }
            nr->wire_len++;
            *pos = end ? end : p + 1;
            return 0;
        }
        if (p + 1 + b > len)
            return -EPROTO;
        int r = name_append_label(nr, msg + p + 1, b);
        if (r < 0)
            return r;
        p += 1 + (size_t)b;
    }
}

/* Skips one resource record; reports an OPT record's advertised UDP size. */
static int skip_rr(const uint8_t *msg, size_t len, size_t *pos, struct dns_query *q, bool additional)
{
    char text[DNS_NAME_MAX + 1];
    struct name_reader nr = {.text = text};
    int r = read_name(msg, len, pos, &nr);
    if (r < 0)
        return r;
    if (*pos + 10 > len)
        return -EPROTO;
    uint16_t type = get16(msg + *pos), class_ = get16(msg + *pos + 2), rdlen = get16(msg + *pos + 8);
    *pos += 10;
    if (*pos + rdlen > len)
        return -EPROTO;
    *pos += rdlen;
    if (additional && type == DNS_TYPE_OPT && !q->edns) {
        if (nr.wire_len != 1)
            return -EPROTO; /* OPT lives at the root */
        q->edns = true;
        q->edns_udp_size = class_;
    }
    return 0;
}

int dns_query_parse(const uint8_t *msg, size_t len, struct dns_query *q)
{
    memset(q, 0, sizeof(*q));
    if (len < DNS_HEADER_SIZE)
        return -EBADMSG;
    q->id = get16(msg);
    q->flags = get16(msg + 2);
    if (q->flags & DNS_FLAG_QR)
        return -EBADMSG; /* never answer a response: that is how reflection loops start */
    uint16_t qd = get16(msg + 4), an = get16(msg + 6), ns = get16(msg + 8), ar = get16(msg + 10);
    if (DNS_OPCODE(q->flags) != 0 || qd != 1)
        return -EOPNOTSUPP;
    size_t pos = DNS_HEADER_SIZE;
    struct name_reader nr = {.text = q->name, .wire = q->wire_name};
    int r = read_name(msg, len, &pos, &nr);
    if (r < 0)
        return r;
    q->wire_name_len = nr.wire_len;
    q->name_plain = nr.plain;
    if (pos + 4 > len)
        return -EPROTO;
    q->qtype = get16(msg + pos);
    q->qclass = get16(msg + pos + 2);
    pos += 4;
    q->question_end = pos;
    /* Queries rarely carry answer or authority records, but an OPT can only be found past them. */
    for (unsigned i = 0; i < (unsigned)an + ns + ar; i++) {
        r = skip_rr(msg, len, &pos, q, i >= (unsigned)an + ns);
        if (r < 0)
            return r;
    }
    return 0;
}

size_t dns_udp_limit(const struct dns_query *q)
{
    if (!q->edns || q->edns_udp_size <= DNS_UDP_MIN)
        return DNS_UDP_MIN;
    return q->edns_udp_size < DNS_EDNS_SIZE ? q->edns_udp_size : DNS_EDNS_SIZE;
}

/* ---- writing ---- */

struct writer {
    uint8_t *buf;
    size_t max, len;
    bool overflow;
    const struct dns_query *q; /* for compression against the question name */
};

static void put(struct writer *w, const void *data, size_t n)
{
    if (w->overflow || n > w->max - w->len) {
        w->overflow = true;
        return;
    }
    memcpy(w->buf + w->len, data, n);
    w->len += n;
}

static void put16(struct writer *w, uint16_t v)
{
    uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
    put(w, b, 2);
}

static void put32(struct writer *w, uint32_t v)
{
    put16(w, (uint16_t)(v >> 16));
    put16(w, (uint16_t)v);
}

int dns_name_encode(const char *name, uint8_t *out, size_t max)
{
    size_t len = 0;
    const char *p = name;
    while (*p) {
        size_t n = strcspn(p, ".");
        if (n == 0 || n > 63)
            return -EINVAL;
        if (len + 1 + n + 1 > max || len + 1 + n + 1 > DNS_NAME_MAX)
            return -ENOBUFS;
        out[len] = (uint8_t)n;
        memcpy(out + len + 1, p, n);
        len += 1 + n;
        p += n;
        if (*p == '.')
            p++;
    }
    if (len + 1 > max)
        return -ENOBUFS;
    out[len++] = 0;
    return (int)len;
}

/* Offset in the response of the question name's suffix equal to name[from...], or 0. The question's name
 * starts right after the header; in a plain name each dot stands where a length byte is in wire form, so
 * text offsets and wire offsets agree. */
static size_t question_suffix_offset(const struct dns_query *q, const char *suffix)
{
    if (!q || !q->name_plain)
        return 0;
    size_t qlen = strlen(q->name), slen = strlen(suffix);
    if (slen == 0 || slen > qlen || strcasecmp(q->name + qlen - slen, suffix) != 0)
        return 0;
    if (slen < qlen && q->name[qlen - slen - 1] != '.')
        return 0;
    return DNS_HEADER_SIZE + qlen - slen;
}

static void put_name(struct writer *w, const char *name)
{
    const char *p = name;
    while (*p) {
        size_t at = question_suffix_offset(w->q, p);
        if (at) {
            put16(w, (uint16_t)(0xc000 | at));
            return;
        }
        size_t n = strcspn(p, ".");
        if (n == 0 || n > 63) {
            w->overflow = true; /* not a valid name: refuse to write it rather than emit garbage */
            return;
        }
        uint8_t len = (uint8_t)n;
        put(w, &len, 1);
        put(w, p, n);
        p += n;
        if (*p == '.')
            p++;
    }
    uint8_t zero = 0;
    put(w, &zero, 1);
}

static void put_rdata(struct writer *w, const struct dns_rr *rr)
{
    size_t len_at = w->len;
    put16(w, 0); /* rdlength, filled in below */
    size_t start = w->len;
    switch (rr->type) {
    case DNS_TYPE_A:
        put(w, &rr->a, 4);
        break;
    case DNS_TYPE_SRV:
        put16(w, rr->srv.priority);
        put16(w, rr->srv.weight);
        put16(w, rr->srv.port);
        put_name(w, rr->srv.target);
        break;
    case DNS_TYPE_CNAME:
    case DNS_TYPE_PTR:
    case DNS_TYPE_NS:
        put_name(w, rr->cname);
        break;
    case DNS_TYPE_SOA:
        put_name(w, rr->soa.mname);
        put_name(w, rr->soa.rname);
        put32(w, rr->soa.serial);
        put32(w, rr->soa.refresh);
        put32(w, rr->soa.retry);
        put32(w, rr->soa.expire);
        put32(w, rr->soa.minimum);
        break;
    default:
        w->overflow = true;
        return;
    }
    if (!w->overflow) {
        size_t n = w->len - start;
        w->buf[len_at] = (uint8_t)(n >> 8);
        w->buf[len_at + 1] = (uint8_t)n;
    }
}

static void put_rr(struct writer *w, const struct dns_rr *rr)
{
    put_name(w, rr->name);
    put16(w, rr->type);
    put16(w, DNS_CLASS_IN);
    put32(w, rr->ttl);
    put_rdata(w, rr);
}

static void put_header(struct writer *w, uint16_t id, uint16_t flags, uint16_t qd, uint16_t an, uint16_t ns,
                       uint16_t ar)
{
    put16(w, id);
    put16(w, flags);
    put16(w, qd);
    put16(w, an);
    put16(w, ns);
    put16(w, ar);
}

static void set16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put_opt(struct writer *w)
{
    uint8_t root = 0;
    put(w, &root, 1);
    put16(w, DNS_TYPE_OPT);
    put16(w, DNS_EDNS_SIZE);
    put32(w, 0); /* extended rcode 0, version 0, no DO */
    put16(w, 0);
}

/* Writes a section's records; returns how many fit (stops at the first that does not). */
static uint16_t put_section(struct writer *w, const struct dns_rr *rrs, size_t n)
{
    uint16_t written = 0;
    for (size_t i = 0; i < n && written < UINT16_MAX; i++) {
        size_t before = w->len;
        put_rr(w, &rrs[i]);
        if (w->overflow) {
            w->len = before;
            return written;
        }
        written++;
    }
    return written;
}

int dns_response_build(const struct dns_query *q, int rcode, bool authoritative, const struct dns_rr *answer,
                       size_t n_answer, const struct dns_rr *authority, size_t n_authority,
                       const struct dns_rr *additional, size_t n_additional, uint8_t *out, size_t max)
{
    size_t opt_room = q->edns ? 11 : 0;
    if (max < opt_room)
        return -ENOBUFS;
    struct writer w = {.buf = out, .max = max - opt_room, .q = q};
    uint16_t flags = DNS_FLAG_QR | (q->flags & DNS_FLAG_RD) | DNS_FLAG_RA | (uint16_t)(rcode & 0xf);
    if (authoritative)
        flags |= DNS_FLAG_AA;
    put_header(&w, q->id, flags, 1, 0, 0, 0);
    put(&w, q->wire_name, q->wire_name_len);
    put16(&w, q->qtype);
    put16(&w, q->qclass);
    if (w.overflow)
        return -ENOBUFS;
    size_t question_end = w.len;
    uint16_t an = put_section(&w, answer, n_answer);
    w.overflow = false;
    uint16_t ns = an == n_answer ? put_section(&w, authority, n_authority) : 0;
    w.overflow = false;
    if (an < n_answer || ns < n_authority) {
        /* What the client asked for does not fit: say so and let it ask again over TCP. */
        w.len = question_end;
        an = ns = 0;
        flags |= DNS_FLAG_TC;
        set16(out + 2, flags);
    }
    /* Additional records are a courtesy: drop those that do not fit, without TC (RFC 2181 9). */
    uint16_t ar = (flags & DNS_FLAG_TC) ? 0 : put_section(&w, additional, n_additional);
    w.max = max;
    if (q->edns) {
        put_opt(&w);
        ar++;
    }
    set16(out + 6, an);
    set16(out + 8, ns);
    set16(out + 10, ar);
    return (int)w.len;
}

int dns_error_build(uint16_t id, uint16_t flags, int rcode, uint8_t *out, size_t max)
{
    if (max < DNS_HEADER_SIZE)
        return -ENOBUFS;
    struct writer w = {.buf = out, .max = max};
    put_header(&w, id,
               (uint16_t)(DNS_FLAG_QR | (flags & (DNS_FLAG_RD | 0x7800)) | DNS_FLAG_RA | (rcode & 0xf)), 0, 0,
               0, 0);
    return (int)w.len;
}
