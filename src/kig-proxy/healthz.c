#include "healthz.h"

#include "log.h"
#include "macro.h"
#include "proxy-internal.h"

#include <arpa/inet.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#define MAX_CLIENTS       16
#define CLIENT_TIMEOUT_MS 5000

struct healthz_client {
    struct loop_io io;
    struct healthz *h;
    int64_t started_ms;
    size_t len;
    bool answered;
    char req[1024];
};

struct healthz {
    struct loop_io io;
    struct loop *loop;
    bool (*ready)(void *);
    void *userdata;
    struct healthz_client *clients[MAX_CLIENTS];
};

static void client_close(struct healthz_client *c)
{
    struct healthz *h = c->h;
    for (size_t i = 0; i < MAX_CLIENTS; i++)
        if (h->clients[i] == c)
            h->clients[i] = NULL;
    loop_io_remove(h->loop, &c->io, true);
    if (loop_defer_free(h->loop, c, free) < 0)
        log_warn("healthz: cannot defer freeing a client: leaking it");
}

static void answer(struct healthz_client *c)
{
    bool ok = c->h->ready(c->h->userdata);
    const char *resp = ok ? "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n"
                            "Connection: close\r\n\r\nok\n"
                          : "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n"
                            "Content-Length: 8\r\nConnection: close\r\n\r\nsyncing\n";
    /* Small enough for any socket buffer: one send. */
    if (send(c->io.fd, resp, strlen(resp), MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
        client_close(c);
        return;
    }
    shutdown(c->io.fd, SHUT_WR);
    c->answered = true;
}

static void on_client(struct loop_io *io, uint32_t events)
{
    struct healthz_client *c = (struct healthz_client *)io;
    ssize_t n = recv(io->fd, c->req + c->len, sizeof(c->req) - 1 - c->len, 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        /* The peer is done (or failed): closing now cannot reset an answer it has not read. */
        client_close(c);
        return;
    }
    c->len += (size_t)n;
    c->req[c->len] = '\0';
    if (!c->answered && (strstr(c->req, "\r\n\r\n") || c->len == sizeof(c->req) - 1))
        answer(c);
    if (c->len == sizeof(c->req) - 1)
        c->len = 0; /* keep draining what follows an answered request */
}

static void on_accept(struct loop_io *io, uint32_t events)
{
    struct healthz *h = (struct healthz *)io;
    int fd = accept4(io->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0)
        return;
    size_t slot = MAX_CLIENTS;
    for (size_t i = 0; i < MAX_CLIENTS && slot == MAX_CLIENTS; i++)
        if (!h->clients[i])
            slot = i;
    struct healthz_client *c = slot < MAX_CLIENTS ? calloc(1, sizeof(*c)) : NULL;
    if (!c) {
        socket_close_reset(fd);
        return;
    }
    c->io = (struct loop_io){.fd = fd, .dispatch = on_client};
    c->h = h;
    c->started_ms = loop_now_ms();
    if (loop_io_add(h->loop, &c->io, EPOLLIN) < 0) {
        close(fd);
        free(c);
        return;
    }
    h->clients[slot] = c;
}

int healthz_new(struct loop *l, const struct sockaddr_in *addr, bool (*ready)(void *), void *userdata,
                struct healthz **ret)
{
    char where[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &addr->sin_addr, where, sizeof(where));
    _cleanup_close_ int fd = socket_nonblock(AF_INET, SOCK_STREAM);
    if (fd < 0)
        return log_error_errno(fd, "healthz: socket: %m");
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (const struct sockaddr *)addr, sizeof(*addr)) < 0 || listen(fd, 16) < 0)
        return log_error_errno(errno,
                               "healthz: cannot listen on %s:%u: %m (choose another --healthz-address)",
                               where, ntohs(addr->sin_port));
    struct healthz *h = calloc(1, sizeof(*h));
    if (!h)
        return -ENOMEM;
    h->io = (struct loop_io){.fd = fd, .dispatch = on_accept};
    h->loop = l;
    h->ready = ready;
    h->userdata = userdata;
    if (loop_io_add(l, &h->io, EPOLLIN) < 0) {
        free(h);
        return log_error_errno(errno, "healthz: epoll: %m");
    }
    TAKE_FD(fd);
    *ret = h;
    return 0;
}

void healthz_tick(struct healthz *h)
{
    int64_t now = loop_now_ms();
    for (size_t i = 0; i < MAX_CLIENTS; i++)
        if (h->clients[i] && now - h->clients[i]->started_ms > CLIENT_TIMEOUT_MS)
            client_close(h->clients[i]);
}

void healthz_free(struct healthz *h)
{
    if (!h)
        return;
    for (size_t i = 0; i < MAX_CLIENTS; i++)
        if (h->clients[i])
            client_close(h->clients[i]);
    loop_io_remove(h->loop, &h->io, true);
    free(h);
}
