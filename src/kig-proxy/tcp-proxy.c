/* The TCP data path: accept on a service listener, connect to a backend the balancer picks (trying the
 * others when a connect fails), then copy both ways through two fixed buffers per connection. Half-close
 * is passed on (EOF from one side becomes shutdown(SHUT_WR) on the other once the buffer is drained), and
 * an error on either side resets both, as a real TCP path would. */
#include "log.h"
#include "macro.h"
#include "proxy-internal.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>

/* Allocated once per connection with it: no allocation happens while data flows. */
#define TCP_BUF_SIZE (64 * 1024)
#define ACCEPT_BATCH 64
#define PUMP_ROUNDS  8

struct pipe_buf {
    size_t head, tail; /* pending bytes are data[head, tail) */
    bool eof;          /* the source has no more to send */
    bool shut;         /* the EOF has been passed on with shutdown(SHUT_WR) */
    char data[TCP_BUF_SIZE];
};

struct tcp_side {
    struct loop_io io;
    struct tcp_conn *conn;
    uint32_t interest;
    bool registered;
    bool hup; /* epoll reported HUP: with nothing left to do on this side it must leave the epoll set */
};

struct tcp_conn {
    struct tcp_side client, backend;
    struct proxier *proxier;
    struct service_port_rt *port; /* for retries while connecting; NULL once the port is gone */
    struct in_addr client_ip;
    struct backend target;
    unsigned attempts;
    bool connecting;
    bool dead;
    struct tcp_conn *prev, *next;
    struct pipe_buf up;   /* client -> backend */
    struct pipe_buf down; /* backend -> client */
};

static void conn_free(void *ptr)
{
    free(ptr);
}

static void conn_unlink(struct tcp_conn *c)
{
    struct proxier *p = c->proxier;
    if (c->prev)
        c->prev->next = c->next;
    else
        p->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    p->n_conns--;
}

static void side_close(struct tcp_conn *c, struct tcp_side *s, bool reset)
{
    int fd = s->io.fd;
    loop_io_remove(c->proxier->loop, &s->io, false);
    if (reset)
        socket_close_reset(fd);
    else if (fd >= 0)
        close(fd);
}

static void conn_end(struct tcp_conn *c, bool reset)
{
    if (c->dead)
        return;
    c->dead = true;
    side_close(c, &c->client, reset);
    side_close(c, &c->backend, reset);
    conn_unlink(c);
    if (loop_defer_free(c->proxier->loop, c, conn_free) < 0)
        log_warn("cannot defer freeing a connection: leaking it");
}

/* Moves bytes from src into b and from b to dst (dst < 0: not connected yet). A short read or write means
 * the socket is drained or full for now: it is not tried again until epoll says so, which saves a syscall
 * per event (each one is a round trip to the sandbox kernel in gVisor). Returns 0 or -errno. */
static int pump(struct pipe_buf *b, int src, int dst)
{
    bool src_dry = false, dst_full = false;
    for (int round = 0; round < PUMP_ROUNDS; round++) {
        bool progress = false;
        if (!src_dry && !b->eof && b->tail < TCP_BUF_SIZE) {
            size_t want = TCP_BUF_SIZE - b->tail;
            ssize_t n = read(src, b->data + b->tail, want);
            if (n > 0) {
                b->tail += (size_t)n;
                src_dry = (size_t)n < want;
                progress = true;
            } else if (n == 0) {
                b->eof = true;
                progress = true;
            } else if (errno == EAGAIN) {
                src_dry = true;
            } else if (errno != EINTR) {
                return negative_errno();
            }
        }
        if (dst >= 0 && !dst_full && b->head < b->tail) {
            size_t want = b->tail - b->head;
            ssize_t n = send(dst, b->data + b->head, want, MSG_NOSIGNAL);
            if (n > 0) {
                b->head += (size_t)n;
                if (b->head == b->tail)
                    b->head = b->tail = 0;
                dst_full = (size_t)n < want;
                progress = true;
            } else if (errno == EAGAIN) {
                dst_full = true;
            } else if (errno != EINTR) {
                return negative_errno();
            }
        }
        if (dst >= 0 && b->eof && b->head == b->tail && !b->shut) {
            shutdown(dst, SHUT_WR);
            b->shut = true;
        }
        if (!progress)
            break;
    }
    return 0;
}

static int side_set_interest(struct tcp_conn *c, struct tcp_side *s, uint32_t events)
{
    struct loop *l = c->proxier->loop;
    if (s->io.fd < 0)
        return 0;
    if (events == 0 && s->hup) {
        if (s->registered)
            loop_io_unwatch(l, &s->io);
        s->registered = false;
        s->interest = 0;
        return 0;
    }
    int r = 0;
    if (!s->registered)
        r = loop_io_add(l, &s->io, events);
    else if (events != s->interest)
        r = loop_io_mod(l, &s->io, events);
    if (r < 0)
        return r;
    s->registered = true;
    s->interest = events;
    return 0;
}

static int update_interest(struct tcp_conn *c)
{
    uint32_t client = 0, backend = 0;
    if (!c->up.eof && c->up.tail < TCP_BUF_SIZE)
        client |= EPOLLIN;
    if (c->connecting) {
        backend = EPOLLOUT;
    } else {
        if (c->down.head < c->down.tail)
            client |= EPOLLOUT;
        if (!c->down.eof && c->down.tail < TCP_BUF_SIZE)
            backend |= EPOLLIN;
        if (c->up.head < c->up.tail)
            backend |= EPOLLOUT;
    }
    int r = side_set_interest(c, &c->client, client);
    if (r >= 0)
        r = side_set_interest(c, &c->backend, backend);
    return r;
}

static void conn_run(struct tcp_conn *c)
{
    int r = pump(&c->up, c->client.io.fd, c->connecting ? -1 : c->backend.io.fd);
    if (r >= 0 && !c->connecting)
        r = pump(&c->down, c->backend.io.fd, c->client.io.fd);
    if (r < 0) {
        log_debug("connection from %s ended: %s", inet_ntoa(c->client_ip), strerror(-r));
        conn_end(c, true);
        return;
    }
    if (c->up.shut && c->down.shut) {
        conn_end(c, false);
        return;
    }
    if (update_interest(c) < 0)
        conn_end(c, true);
}

static void start_connect(struct tcp_conn *c);

/* The backend refused or failed: try another one while the port still has untried backends. */
static void connect_failed(struct tcp_conn *c, int err)
{
    char ip[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &c->target.ip, ip, sizeof(ip));
    log_debug("connect to %s:%u failed: %s", ip, c->target.port, strerror(err));
    side_close(c, &c->backend, false);
    c->backend.registered = false;
    c->backend.hup = false;
    struct service_port_rt *sp = c->port;
    if (!sp || c->attempts >= sp->balancer.n_backends ||
        balancer_pick_after_failure(&sp->balancer, c->client_ip, &c->target, loop_now_ms(), &c->target) < 0) {
        conn_end(c, true);
        return;
    }
    start_connect(c);
}

static void set_nodelay(int fd)
{
    int one = 1;
    /* Bytes are forwarded as they come: Nagle here would only add a delay the endpoints did not ask for. */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    const char *e = getenv("KP_RCVBUF");
    if (e) {
        int v = atoi(e);
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v));
    }
}

static void start_connect(struct tcp_conn *c)
{
    c->attempts++;
    int fd = socket_nonblock(AF_INET, SOCK_STREAM);
    if (fd < 0) {
        log_warn_errno(fd, "cannot create a socket for a backend: %m");
        conn_end(c, true);
        return;
    }
    set_nodelay(fd);
    c->backend.io.fd = fd;
    c->backend.registered = false;
    struct sockaddr_in sa = {
        .sin_family = AF_INET, .sin_addr = c->target.ip, .sin_port = htons(c->target.port)};
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
        c->connecting = false;
    else if (errno == EINPROGRESS)
        c->connecting = true;
    else {
        connect_failed(c, errno);
        return;
    }
    if (!c->connecting)
        c->port = NULL;
    conn_run(c);
}

/* An error pending on a side that no longer reads would otherwise be reported by epoll forever. */
static bool side_failed(struct tcp_side *s, uint32_t events)
{
    if (!(events & EPOLLERR))
        return false;
    int err = 0;
    socklen_t len = sizeof(err);
    if (getsockopt(s->io.fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        err = errno;
    return err != 0;
}

static void on_backend(struct loop_io *io, uint32_t events)
{
    struct tcp_side *s = (struct tcp_side *)io;
    struct tcp_conn *c = s->conn;
    if (c->connecting) {
        int err = 0;
        socklen_t len = sizeof(err);
        if (getsockopt(io->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
            err = errno;
        if (err == 0 && !(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
            return;
        if (err != 0 || (events & (EPOLLERR | EPOLLHUP)) == (EPOLLERR | EPOLLHUP)) {
            connect_failed(c, err ? err : ECONNREFUSED);
            return;
        }
        c->connecting = false;
        c->port = NULL;
    } else if (side_failed(s, events)) {
        conn_end(c, true);
        return;
    }
    if (events & EPOLLHUP)
        s->hup = true;
    conn_run(c);
}

static void on_client(struct loop_io *io, uint32_t events)
{
    struct tcp_side *s = (struct tcp_side *)io;
    if (side_failed(s, events)) {
        conn_end(s->conn, true);
        return;
    }
    if (events & EPOLLHUP)
        s->hup = true;
    conn_run(s->conn);
}

static void conn_start(struct listener *l, int fd, const struct sockaddr_in *peer)
{
    struct proxier *p = l->proxier;
    struct service_port_rt *sp = l->port;
    struct backend target;
    if (balancer_pick(&sp->balancer, peer->sin_addr, loop_now_ms(), &target) < 0) {
        socket_close_reset(fd);
        return;
    }
    struct tcp_conn *c = malloc(sizeof(*c));
    if (!c) {
        socket_close_reset(fd);
        return;
    }
    /* The buffers stay uninitialized: only [head, tail) is ever read. */
    memset(c, 0, offsetof(struct tcp_conn, up));
    c->up.head = c->up.tail = c->down.head = c->down.tail = 0;
    c->up.eof = c->up.shut = c->down.eof = c->down.shut = false;
    c->proxier = p;
    c->port = sp;
    c->client_ip = peer->sin_addr;
    c->target = target;
    c->client = (struct tcp_side){.io = {.fd = fd, .dispatch = on_client}, .conn = c};
    c->backend = (struct tcp_side){.io = {.fd = -1, .dispatch = on_backend}, .conn = c};
    c->next = p->conns;
    if (p->conns)
        p->conns->prev = c;
    p->conns = c;
    p->n_conns++;
    set_nodelay(fd);
    start_connect(c);
}

/* Out of file descriptors: accept the oldest pending connection with the reserve fd and reset it. */
static void shed_one(struct proxier *p, int listen_fd)
{
    static int64_t last_warned;
    if (p->reserve_fd >= 0) {
        close(p->reserve_fd);
        int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
        socket_close_reset(fd);
        p->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    }
    int64_t now = loop_now_ms();
    if (now - last_warned > 10000) {
        last_warned = now;
        log_warn("out of file descriptors with %zu connections: resetting new ones", p->n_conns);
    }
}

static void on_accept(struct loop_io *io, uint32_t events)
{
    struct listener *l = (struct listener *)io;
    for (int i = 0; i < ACCEPT_BATCH && io->fd >= 0; i++) {
        struct sockaddr_in peer;
        socklen_t len = sizeof(peer);
        int fd = accept4(io->fd, (struct sockaddr *)&peer, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno == EMFILE || errno == ENFILE)
                shed_one(l->proxier, io->fd);
            else if (errno != EAGAIN)
                log_warn_errno(errno, "%s: accept: %m", l->port->key);
            return;
        }
        if (peer.sin_family != AF_INET) {
            socket_close_reset(fd);
            continue;
        }
        conn_start(l, fd, &peer);
    }
}

int tcp_listener_dispatch_setup(struct listener *l)
{
    l->io.dispatch = on_accept;
    return 0;
}

void tcp_conns_forget_port(struct proxier *p, struct service_port_rt *sp)
{
    for (struct tcp_conn *c = p->conns; c; c = c->next)
        if (c->port == sp)
            c->port = NULL;
}

void tcp_conns_close_all(struct proxier *p)
{
    while (p->conns)
        conn_end(p->conns, false);
}

#include <poll.h>
#include <sys/ioctl.h>
void tcp_conns_dump(struct proxier *p);
void tcp_conns_dump(struct proxier *p)
{
    for (struct tcp_conn *c = p->conns; c; c = c->next) {
        int cin = -1, bin = -1, cout = -1, bout = -1;
        ioctl(c->client.io.fd, FIONREAD, &cin);
        ioctl(c->backend.io.fd, FIONREAD, &bin);
        ioctl(c->client.io.fd, TIOCOUTQ, &cout);
        ioctl(c->backend.io.fd, TIOCOUTQ, &bout);
        ssize_t tried = -2;
        int terr = 0;
        if (c->up.head < c->up.tail) {
            tried = send(c->backend.io.fd, c->up.data + c->up.head, c->up.tail - c->up.head,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
            terr = errno;
            if (tried > 0)
                c->up.head += (size_t)tried;
        }
        struct pollfd pf = {.fd = c->backend.io.fd, .events = POLLIN | POLLOUT};
        int pr = poll(&pf, 1, 0);
        log_info("probe: send -> %zd (%s), poll -> %d revents %x", tried, strerror(terr), pr, pf.revents);
        log_info("conn: connecting=%d up[%zu,%zu eof=%d shut=%d] down[%zu,%zu eof=%d shut=%d] client(fd %d "
                 "int %x reg %d hup %d inq %d outq %d) backend(fd %d int %x reg %d hup %d inq %d outq %d)",
                 c->connecting, c->up.head, c->up.tail, c->up.eof, c->up.shut, c->down.head, c->down.tail,
                 c->down.eof, c->down.shut, c->client.io.fd, c->client.interest, c->client.registered,
                 c->client.hup, cin, cout, c->backend.io.fd, c->backend.interest, c->backend.registered,
                 c->backend.hup, bin, bout);
    }
}
