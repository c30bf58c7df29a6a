#include "dns-server.h"

#include "dns-lookup.h"
#include "dns-message.h"
#include "log.h"
#include "macro.h"
#include "proxier.h"
#include "proxy-internal.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <stddef.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/socket.h>

#define MAX_UPSTREAMS     3
#define MAX_PENDING       1024
#define FORWARD_TIMEOUT   2000
#define MAX_TCP_CONNS     128
#define TCP_IDLE_MS       10000
#define TCP_OUT_MAX       (256u * 1024)
#define UDP_BATCH         64
#define DNS_MSG_MAX       65535
#define NETWORK_RECHECK_S 30

struct dns_tcp_conn;

struct upstream {
    struct loop_io io; /* a UDP socket connected to the resolver */
    struct dns_server *srv;
    struct sockaddr_in addr;
};

struct pending {
    bool used;
    uint16_t upstream_id, client_id;
    struct upstream *upstream; /* asked */
    struct sockaddr_in client; /* UDP client */
    struct dns_tcp_conn *conn; /* or TCP client */
    uint16_t client_flags;
    size_t udp_limit;
    int64_t deadline_ms;
    uint8_t question[DNS_NAME_MAX + 4]; /* wire name, type, class: the reply must repeat it */
    size_t question_len;
};

struct dns_tcp_conn {
    struct loop_io io;
    struct dns_server *srv;
    uint32_t interest;
    int64_t last_ms;
    unsigned pending;
    bool read_closed;
    size_t in_len;
    uint8_t *out;
    size_t out_len, out_cap;
    struct dns_tcp_conn *prev, *next;
    uint8_t in[2 + DNS_MSG_MAX];
};

struct dns_server {
    struct loop *loop;
    const struct store *store;
    struct dns_server_options opts;
    char *domain;
    struct dns_lookup_config lookup;
    struct loop_io udp_io, tcp_io;
    bool started;
    struct upstream upstreams[MAX_UPSTREAMS];
    size_t n_upstreams, next_upstream;
    bool has_network;
    unsigned ticks;
    struct pending pending[MAX_PENDING];
    struct dns_tcp_conn *conns;
    size_t n_conns;
    uint8_t buf[DNS_MSG_MAX]; /* one query or answer at a time: everything runs on one thread */
    uint8_t reply[DNS_MSG_MAX];
};

/* ---- upstream configuration ---- */

int resolv_conf_nameservers(const char *path, struct in_addr *ret, size_t max)
{
    _cleanup_fclose_ FILE *f = fopen(path, "re");
    if (!f)
        return negative_errno();
    char line[512];
    size_t n = 0;
    while (n < max && fgets(line, sizeof(line), f)) {
        char word[32], addr[64];
        if (sscanf(line, " %31s %63s", word, addr) != 2 || strcmp(word, "nameserver") != 0)
            continue;
        if (inet_pton(AF_INET, addr, &ret[n]) == 1)
            n++;
    }
    return (int)n;
}

/* A network beyond loopback: some interface other than lo is up with an IPv4 address. */
static bool sandbox_has_network(void)
{
    struct ifaddrs *ifa = NULL;
    if (getifaddrs(&ifa) < 0)
        return false;
    bool found = false;
    for (struct ifaddrs *i = ifa; i && !found; i = i->ifa_next)
        found = i->ifa_addr && i->ifa_addr->sa_family == AF_INET && (i->ifa_flags & IFF_UP) &&
                !(i->ifa_flags & IFF_LOOPBACK);
    freeifaddrs(ifa);
    return found;
}

static bool is_loopback(struct in_addr a)
{
    return (ntohl(a.s_addr) >> 24) == 127;
}

/* ---- answering ---- */

static void send_udp(struct dns_server *srv, const struct sockaddr_in *to, const uint8_t *msg, size_t len)
{
    if (sendto(srv->udp_io.fd, msg, len, MSG_DONTWAIT, (const struct sockaddr *)to, sizeof(*to)) < 0)
        log_debug("dns: cannot answer %s: %m", inet_ntoa(to->sin_addr));
}

static void tcp_conn_close(struct dns_tcp_conn *c);
static void tcp_conn_flush(struct dns_tcp_conn *c);

static void send_tcp(struct dns_tcp_conn *c, const uint8_t *msg, size_t len)
{
    if (c->io.fd < 0)
        return;
    if (c->out_len + 2 + len > TCP_OUT_MAX) {
        tcp_conn_close(c); /* a client that does not read its answers */
        return;
    }
    if (c->out_len + 2 + len > c->out_cap) {
        size_t cap = c->out_cap ? c->out_cap : 4096;
        while (cap < c->out_len + 2 + len)
            cap *= 2;
        uint8_t *n = realloc(c->out, cap);
        if (!n) {
            tcp_conn_close(c);
            return;
        }
        c->out = n;
        c->out_cap = cap;
    }
    c->out[c->out_len] = (uint8_t)(len >> 8);
    c->out[c->out_len + 1] = (uint8_t)len;
    memcpy(c->out + c->out_len + 2, msg, len);
    c->out_len += 2 + len;
    tcp_conn_flush(c);
}

struct origin {
    const struct sockaddr_in *udp_client; /* one of these two */
    struct dns_tcp_conn *conn;
};

static void reply(struct dns_server *srv, const struct origin *o, const uint8_t *msg, size_t len)
{
    if (o->conn)
        send_tcp(o->conn, msg, len);
    else
        send_udp(srv, o->udp_client, msg, len);
}

static void reply_rcode(struct dns_server *srv, const struct origin *o, const struct dns_query *q, int rcode)
{
    int n = dns_response_build(q, rcode, false, NULL, 0, NULL, 0, NULL, 0, srv->reply,
                               o->conn ? DNS_MSG_MAX : dns_udp_limit(q));
    if (n > 0)
        reply(srv, o, srv->reply, (size_t)n);
}

static void reply_error(struct dns_server *srv, const struct origin *o, uint16_t id, uint16_t flags,
                        int rcode)
{
    int n = dns_error_build(id, flags, rcode, srv->reply, sizeof(srv->reply));
    if (n > 0)
        reply(srv, o, srv->reply, (size_t)n);
}

/* ---- forwarding ---- */

static struct pending *pending_new(struct dns_server *srv)
{
    uint16_t id;
    for (int tries = 0; tries < 8; tries++) {
        if (getrandom(&id, sizeof(id), GRND_NONBLOCK) != sizeof(id))
            id = (uint16_t)(loop_now_ms() * 40503u + (unsigned)tries);
        struct pending *slot = NULL;
        bool taken = false;
        for (size_t i = 0; i < MAX_PENDING; i++) {
            if (srv->pending[i].used && srv->pending[i].upstream_id == id)
                taken = true;
            else if (!srv->pending[i].used && !slot)
                slot = &srv->pending[i];
        }
        if (!slot)
            return NULL;
        if (!taken) {
            memset(slot, 0, sizeof(*slot));
            slot->used = true;
            slot->upstream_id = id;
            return slot;
        }
    }
    return NULL;
}

static struct upstream *pick_upstream(struct dns_server *srv)
{
    for (size_t tries = 0; tries < srv->n_upstreams; tries++) {
        struct upstream *u = &srv->upstreams[srv->next_upstream % srv->n_upstreams];
        srv->next_upstream++;
        if (u->io.fd >= 0 && (srv->has_network || is_loopback(u->addr.sin_addr)))
            return u;
    }
    return NULL;
}

static void forward(struct dns_server *srv, const struct origin *o, const struct dns_query *q,
                    const uint8_t *msg, size_t len)
{
    struct upstream *u = pick_upstream(srv);
    if (!u) {
        /* No resolver to ask: nothing outside the cluster exists from here. */
        reply_rcode(srv, o, q, DNS_RCODE_NXDOMAIN);
        return;
    }
    struct pending *p = pending_new(srv);
    if (!p) {
        reply_rcode(srv, o, q, DNS_RCODE_SERVFAIL);
        return;
    }
    p->upstream = u;
    p->client_id = q->id;
    p->client_flags = q->flags;
    p->udp_limit = dns_udp_limit(q);
    if (o->conn) {
        p->conn = o->conn;
        o->conn->pending++;
    } else {
        p->client = *o->udp_client;
    }
    p->deadline_ms = loop_now_ms() + FORWARD_TIMEOUT;
    p->question_len = q->question_end - DNS_HEADER_SIZE;
    if (p->question_len > sizeof(p->question))
        p->question_len = 0; /* a compressed name in the query: match on the id alone */
    else
        memcpy(p->question, msg + DNS_HEADER_SIZE, p->question_len);
    memcpy(srv->reply, msg, len);
    srv->reply[0] = (uint8_t)(p->upstream_id >> 8);
    srv->reply[1] = (uint8_t)p->upstream_id;
    if (send(u->io.fd, srv->reply, len, MSG_DONTWAIT) < 0) {
        log_debug("dns: cannot forward to %s: %m", inet_ntoa(u->addr.sin_addr));
        if (p->conn)
            p->conn->pending--;
        p->used = false;
        reply_rcode(srv, o, q,
                    errno == ENETUNREACH || errno == ECONNREFUSED ? DNS_RCODE_NXDOMAIN : DNS_RCODE_SERVFAIL);
    }
}

static struct pending *pending_find(struct dns_server *srv, const struct upstream *u, const uint8_t *msg,
                                    size_t len)
{
    uint16_t id = (uint16_t)(msg[0] << 8 | msg[1]);
    for (size_t i = 0; i < MAX_PENDING; i++) {
        struct pending *p = &srv->pending[i];
        if (!p->used || p->upstream_id != id || p->upstream != u)
            continue;
        /* The question must match too: a guessed id alone must not inject answers. */
        if (p->question_len && (len < DNS_HEADER_SIZE + p->question_len ||
                                memcmp(msg + DNS_HEADER_SIZE, p->question, p->question_len) != 0))
            return NULL;
        return p;
    }
    return NULL;
}

static void pending_finish(struct pending *p)
{
    if (p->conn)
        p->conn->pending--;
    p->used = false;
}

/* Answers SERVFAIL now to every query waiting for upstream u (or, u NULL, whose time is up). */
static void fail_pending(struct dns_server *srv, const struct upstream *u, int64_t now_ms)
{
    for (size_t i = 0; i < MAX_PENDING; i++) {
        struct pending *p = &srv->pending[i];
        if (!p->used || (u ? p->upstream != u : now_ms < p->deadline_ms))
            continue;
        struct pending done = *p;
        pending_finish(p);
        struct origin o = {.udp_client = &done.client, .conn = done.conn};
        reply_error(srv, &o, done.client_id, done.client_flags, DNS_RCODE_SERVFAIL);
    }
}

static void on_upstream(struct loop_io *io, uint32_t events)
{
    struct upstream *u = (struct upstream *)io;
    struct dns_server *srv = u->srv;
    for (int i = 0; i < UDP_BATCH; i++) {
        ssize_t n = recv(io->fd, srv->buf, sizeof(srv->buf), 0);
        if (n < 0) {
            if (errno == ECONNREFUSED) {
                /* Nothing listens there (ICMP port unreachable): the clients need not wait 2 s to hear. */
                log_debug("dns: upstream %s refused: answering SERVFAIL", inet_ntoa(u->addr.sin_addr));
                fail_pending(srv, u, 0);
            } else if (errno != EAGAIN && errno != EINTR) {
                log_debug("dns: upstream %s: %m", inet_ntoa(u->addr.sin_addr));
            }
            return;
        }
        if ((size_t)n < DNS_HEADER_SIZE || !(srv->buf[2] & 0x80))
            continue;
        struct pending *p = pending_find(srv, u, srv->buf, (size_t)n);
        if (!p)
            continue;
        struct pending done = *p;
        pending_finish(p);
        srv->buf[0] = (uint8_t)(done.client_id >> 8);
        srv->buf[1] = (uint8_t)done.client_id;
        if (done.conn)
            send_tcp(done.conn, srv->buf, (size_t)n);
        else if ((size_t)n <= done.udp_limit)
            send_udp(srv, &done.client, srv->buf, (size_t)n);
        else {
            /* Bigger than the client can take: a bare header with TC tells it to retry over TCP. */
            srv->buf[2] |= DNS_FLAG_TC >> 8;
            memset(srv->buf + 4, 0, DNS_HEADER_SIZE - 4);
            send_udp(srv, &done.client, srv->buf, DNS_HEADER_SIZE);
        }
    }
}

/* ---- queries ---- */

static void answer_query(struct dns_server *srv, const struct origin *o, const uint8_t *msg, size_t len)
{
    struct dns_query q;
    int r = dns_query_parse(msg, len, &q);
    if (r == -EBADMSG)
        return;
    if (r == -EOPNOTSUPP) {
        reply_error(srv, o, q.id, q.flags, DNS_OPCODE(q.flags) ? DNS_RCODE_NOTIMP : DNS_RCODE_FORMERR);
        return;
    }
    if (r < 0) {
        reply_error(srv, o, q.id, q.flags, DNS_RCODE_FORMERR);
        return;
    }
    if (q.qclass != DNS_CLASS_IN && q.qclass != DNS_TYPE_ANY) {
        reply_rcode(srv, o, &q, DNS_RCODE_REFUSED);
        return;
    }
    struct dns_answer a;
    if (!q.name_plain) {
        forward(srv, o, &q, msg, len);
        return;
    }
    if (dns_lookup(srv->store, &srv->lookup, q.name, q.qtype, &a) < 0) {
        reply_rcode(srv, o, &q, DNS_RCODE_SERVFAIL);
        return;
    }
    if (a.forward) {
        forward(srv, o, &q, msg, len);
    } else {
        int n = dns_response_build(&q, a.rcode, a.authoritative, a.answer, a.n_answer, a.authority,
                                   a.n_authority, a.additional, a.n_additional, srv->reply,
                                   o->conn ? DNS_MSG_MAX : dns_udp_limit(&q));
        if (n > 0)
            reply(srv, o, srv->reply, (size_t)n);
    }
    dns_answer_done(&a);
}

static void on_udp(struct loop_io *io, uint32_t events)
{
    struct dns_server *srv = (struct dns_server *)((char *)io - offsetof(struct dns_server, udp_io));
    for (int i = 0; i < UDP_BATCH; i++) {
        struct sockaddr_in client;
        socklen_t alen = sizeof(client);
        ssize_t n = recvfrom(io->fd, srv->buf, sizeof(srv->buf), 0, (struct sockaddr *)&client, &alen);
        if (n < 0)
            return;
        if (client.sin_family != AF_INET || client.sin_port == 0)
            continue;
        struct origin o = {.udp_client = &client};
        answer_query(srv, &o, srv->buf, (size_t)n);
    }
}

/* ---- TCP ---- */

static void tcp_conn_free(void *ptr)
{
    struct dns_tcp_conn *c = ptr;
    free(c->out);
    free(c);
}

static void tcp_conn_close(struct dns_tcp_conn *c)
{
    struct dns_server *srv = c->srv;
    if (c->io.fd < 0)
        return;
    loop_io_remove(srv->loop, &c->io, true);
    for (size_t i = 0; i < MAX_PENDING; i++)
        if (srv->pending[i].used && srv->pending[i].conn == c)
            srv->pending[i].used = false;
    if (c->prev)
        c->prev->next = c->next;
    else
        srv->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    srv->n_conns--;
    if (loop_defer_free(srv->loop, c, tcp_conn_free) < 0)
        log_warn("dns: cannot defer freeing a connection: leaking it");
}

static void tcp_conn_update(struct dns_tcp_conn *c)
{
    if (c->io.fd < 0)
        return;
    if (c->read_closed && c->out_len == 0 && c->pending == 0) {
        tcp_conn_close(c);
        return;
    }
    uint32_t want = (c->read_closed ? 0 : EPOLLIN) | (c->out_len ? EPOLLOUT : 0);
    if (want != c->interest && loop_io_mod(c->srv->loop, &c->io, want) == 0)
        c->interest = want;
}

static void tcp_conn_flush(struct dns_tcp_conn *c)
{
    while (c->out_len > 0 && c->io.fd >= 0) {
        ssize_t n = send(c->io.fd, c->out, c->out_len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0) {
            if (errno != EAGAIN)
                tcp_conn_close(c);
            break;
        }
        memmove(c->out, c->out + n, c->out_len - (size_t)n);
        c->out_len -= (size_t)n;
    }
    tcp_conn_update(c);
}

static void tcp_conn_take_messages(struct dns_tcp_conn *c)
{
    size_t off = 0;
    while (c->io.fd >= 0 && c->in_len - off >= 2) {
        size_t len = (size_t)c->in[off] << 8 | c->in[off + 1];
        if (c->in_len - off < 2 + len)
            break;
        struct origin o = {.conn = c};
        answer_query(c->srv, &o, c->in + off + 2, len);
        off += 2 + len;
    }
    if (off > 0 && c->io.fd >= 0) {
        memmove(c->in, c->in + off, c->in_len - off);
        c->in_len -= off;
    }
}

static void on_tcp_conn(struct loop_io *io, uint32_t events)
{
    struct dns_tcp_conn *c = (struct dns_tcp_conn *)io;
    c->last_ms = loop_now_ms();
    if (events & EPOLLOUT)
        tcp_conn_flush(c);
    if (c->io.fd >= 0 && (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && !c->read_closed) {
        ssize_t n = recv(io->fd, c->in + c->in_len, sizeof(c->in) - c->in_len, 0);
        if (n < 0 && errno != EAGAIN && errno != EINTR) {
            tcp_conn_close(c);
            return;
        }
        if (n == 0)
            c->read_closed = true;
        if (n > 0) {
            c->in_len += (size_t)n;
            tcp_conn_take_messages(c);
        }
    }
    if (c->io.fd >= 0 && (events & (EPOLLHUP | EPOLLERR)) && c->read_closed && c->out_len > 0)
        tcp_conn_close(c);
    else
        tcp_conn_update(c);
}

static void on_tcp_accept(struct loop_io *io, uint32_t events)
{
    struct dns_server *srv = (struct dns_server *)((char *)io - offsetof(struct dns_server, tcp_io));
    for (int i = 0; i < 16; i++) {
        int fd = accept4(io->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;
        struct dns_tcp_conn *c = srv->n_conns < MAX_TCP_CONNS ? malloc(sizeof(*c)) : NULL;
        if (!c) {
            socket_close_reset(fd);
            continue;
        }
        memset(c, 0, offsetof(struct dns_tcp_conn, in));
        c->io = (struct loop_io){.fd = fd, .dispatch = on_tcp_conn};
        c->srv = srv;
        c->interest = EPOLLIN;
        c->last_ms = loop_now_ms();
        if (loop_io_add(srv->loop, &c->io, EPOLLIN) < 0) {
            close(fd);
            free(c);
            continue;
        }
        c->next = srv->conns;
        if (srv->conns)
            srv->conns->prev = c;
        srv->conns = c;
        srv->n_conns++;
    }
}

/* ---- lifecycle ---- */

static void setup_upstreams(struct dns_server *srv)
{
    struct in_addr ns[MAX_UPSTREAMS * 2];
    int n = srv->opts.resolv_conf ? resolv_conf_nameservers(srv->opts.resolv_conf, ns, ARRAY_SIZE(ns)) : 0;
    if (n < 0)
        log_warn_errno(n, "dns: cannot read %s: %m; names outside the cluster will not resolve",
                       srv->opts.resolv_conf);
    for (int i = 0; i < n && srv->n_upstreams < MAX_UPSTREAMS; i++) {
        if (ns[i].s_addr == srv->opts.address.s_addr ||
            in_cidr(ns[i], srv->opts.service_cidr, srv->opts.service_prefixlen))
            continue; /* that would be asking ourselves */
        struct upstream *u = &srv->upstreams[srv->n_upstreams];
        u->srv = srv;
        u->addr = (struct sockaddr_in){.sin_family = AF_INET, .sin_addr = ns[i], .sin_port = htons(53)};
        u->io = (struct loop_io){.fd = socket_nonblock(AF_INET, SOCK_DGRAM), .dispatch = on_upstream};
        if (u->io.fd < 0)
            continue;
        if (connect(u->io.fd, (struct sockaddr *)&u->addr, sizeof(u->addr)) < 0 ||
            loop_io_add(srv->loop, &u->io, EPOLLIN) < 0) {
            /* Unreachable now (no route): kept out, like a missing one. */
            close(u->io.fd);
            continue;
        }
        srv->n_upstreams++;
        log_info("dns: forwarding other names to %s", inet_ntoa(ns[i]));
    }
}

int dns_server_new(struct loop *l, const struct store *store, const struct dns_server_options *opts,
                   struct dns_server **ret)
{
    struct dns_server *srv = calloc(1, sizeof(*srv));
    if (!srv)
        return -ENOMEM;
    srv->loop = l;
    srv->store = store;
    srv->opts = *opts;
    srv->domain = strdup(opts->domain);
    if (!srv->domain) {
        free(srv);
        return -ENOMEM;
    }
    for (char *p = srv->domain; *p; p++)
        *p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
    size_t n = strlen(srv->domain);
    while (n > 0 && srv->domain[n - 1] == '.')
        srv->domain[--n] = '\0';
    srv->lookup = (struct dns_lookup_config){.domain = srv->domain, .ttl = opts->ttl};
    srv->udp_io = (struct loop_io){.fd = -1, .dispatch = on_udp};
    srv->tcp_io = (struct loop_io){.fd = -1, .dispatch = on_tcp_accept};
    srv->has_network = sandbox_has_network();
    setup_upstreams(srv);
    *ret = srv;
    return 0;
}

static int bind_socket(struct dns_server *srv, int type)
{
    struct sockaddr_in sa = {
        .sin_family = AF_INET, .sin_addr = srv->opts.address, .sin_port = htons(srv->opts.port)};
    _cleanup_close_ int fd = socket_nonblock(AF_INET, type);
    if (fd < 0)
        return fd;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        return negative_errno();
    if (type == SOCK_STREAM && listen(fd, 128) < 0)
        return negative_errno();
    return TAKE_FD(fd);
}

int dns_server_start(struct dns_server *srv)
{
    if (srv->started)
        return 0;
    char addr[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &srv->opts.address, addr, sizeof(addr));
    int udp = bind_socket(srv, SOCK_DGRAM);
    if (udp < 0)
        return log_error_errno(udp, "dns: cannot listen on %s:%u/udp: %m", addr, srv->opts.port);
    int tcp = bind_socket(srv, SOCK_STREAM);
    if (tcp < 0) {
        close(udp);
        return log_error_errno(tcp, "dns: cannot listen on %s:%u/tcp: %m", addr, srv->opts.port);
    }
    srv->udp_io.fd = udp;
    srv->tcp_io.fd = tcp;
    if (loop_io_add(srv->loop, &srv->udp_io, EPOLLIN) < 0 ||
        loop_io_add(srv->loop, &srv->tcp_io, EPOLLIN) < 0) {
        loop_io_remove(srv->loop, &srv->udp_io, true);
        loop_io_remove(srv->loop, &srv->tcp_io, true);
        return log_error_errno(errno, "dns: epoll: %m");
    }
    srv->started = true;
    log_info("dns: serving %s on %s:%u (udp, tcp)", srv->domain, addr, srv->opts.port);
    return 0;
}

bool dns_server_started(const struct dns_server *srv)
{
    return srv->started;
}

void dns_server_tick(struct dns_server *srv)
{
    fail_pending(srv, NULL, loop_now_ms());
    int64_t now = loop_now_ms();
    for (struct dns_tcp_conn *c = srv->conns, *next; c; c = next) {
        next = c->next;
        if (now - c->last_ms > TCP_IDLE_MS)
            tcp_conn_close(c);
    }
    if (++srv->ticks % NETWORK_RECHECK_S == 0)
        srv->has_network = sandbox_has_network();
}

void dns_server_free(struct dns_server *srv)
{
    if (!srv)
        return;
    while (srv->conns)
        tcp_conn_close(srv->conns);
    loop_io_remove(srv->loop, &srv->udp_io, true);
    loop_io_remove(srv->loop, &srv->tcp_io, true);
    for (size_t i = 0; i < srv->n_upstreams; i++)
        loop_io_remove(srv->loop, &srv->upstreams[i].io, true);
    free(srv->domain);
    free(srv);
}
