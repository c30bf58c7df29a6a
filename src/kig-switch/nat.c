#include "nat.h"

#include "log.h"

#include <arpa/inet.h>
#include <libslirp.h>
#include <string.h>
#include <time.h>

/* The MAC the NAT believes the pod has. Frames to the pod are re-addressed by the switch anyway. */
static const uint8_t pod_mac[6] = {0x02, 0x6b, 0x69, 0x67, 0x00, 0x02};

#define MAX_PENDING 4
#define ARP_FRAME   42

struct nat_timer {
    struct nat_timer *next;
    struct nat *owner;
    SlirpTimerId id;
    SlirpTimerCb cb; /* old-style timers (timer_new) */
    void *cb_opaque;
    int64_t expire_ms; /* -1: not armed */
};

struct nat {
    struct nat_config c;
    Slirp *slirp;
    struct nat_timer *timers;
    /* ARP answers for slirp, fed back in once slirp has returned (slirp is not re-entrant). */
    uint8_t pending[MAX_PENDING][ARP_FRAME];
    size_t n_pending;
    /* The pollset being filled or dispatched, for the slirp callbacks. */
    struct nat_pollset *fill_ps;
    const struct nat_pollset *dispatch_ps;
    size_t dispatch_base;
};

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t cb_clock_get_ns(void *opaque)
{
    return now_ns();
}

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static ssize_t cb_send_packet(const void *buf, size_t len, void *opaque)
{
    struct nat *n = opaque;
    const uint8_t *f = buf;
    /* slirp asks "who has <pod>?" before its first packet to the pod: answer for the pod. */
    if (len >= ARP_FRAME && get16(f + 12) == 0x0806 && get16(f + 20) == 1) {
        uint32_t spa = get32(f + 28), tpa = get32(f + 38);
        if (tpa == n->c.pod_ip && n->n_pending < MAX_PENDING)
            frame_build_arp(n->pending[n->n_pending++], 2, pod_mac, tpa, f + 6, spa);
        return (ssize_t)len;
    }
    n->c.output(n->c.opaque, buf, len);
    return (ssize_t)len;
}

static void flush_pending(struct nat *n)
{
    while (n->n_pending > 0) {
        uint8_t frame[ARP_FRAME];
        memcpy(frame, n->pending[0], sizeof(frame));
        memmove(n->pending[0], n->pending[1], (--n->n_pending) * ARP_FRAME);
        slirp_input(n->slirp, frame, sizeof(frame));
    }
}

static void cb_guest_error(const char *msg, void *opaque)
{
    struct nat *n = opaque;
    log_debug("nat for %08x: %s", n->c.pod_ip, msg);
}

static struct nat_timer *timer_alloc(struct nat *n)
{
    struct nat_timer *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    t->owner = n;
    t->expire_ms = -1;
    t->next = n->timers;
    n->timers = t;
    return t;
}

static void *cb_timer_new(SlirpTimerCb cb, void *cb_opaque, void *opaque)
{
    struct nat_timer *t = timer_alloc(opaque);
    if (t) {
        t->cb = cb;
        t->cb_opaque = cb_opaque;
    }
    return t;
}

static void *cb_timer_new_opaque(SlirpTimerId id, void *cb_opaque, void *opaque)
{
    struct nat_timer *t = timer_alloc(opaque);
    if (t) {
        t->id = id;
        t->cb_opaque = cb_opaque;
    }
    return t;
}

static void cb_timer_free(void *timer, void *opaque)
{
    struct nat *n = opaque;
    for (struct nat_timer **p = &n->timers; *p; p = &(*p)->next)
        if (*p == timer) {
            *p = (*p)->next;
            free(timer);
            return;
        }
}

static void cb_timer_mod(void *timer, int64_t expire_ms, void *opaque)
{
    ((struct nat_timer *)timer)->expire_ms = expire_ms;
}

static void cb_wake(void *opaque)
{
    struct nat *n = opaque;
    if (n->c.wake)
        n->c.wake(n->c.opaque);
}

static void cb_register_poll_fd(int fd, void *opaque)
{
    cb_wake(opaque);
}

static void cb_unregister_poll_fd(int fd, void *opaque) {}

static const SlirpCb callbacks = {
    .send_packet = cb_send_packet,
    .guest_error = cb_guest_error,
    .clock_get_ns = cb_clock_get_ns,
    .timer_new = cb_timer_new,
    .timer_free = cb_timer_free,
    .timer_mod = cb_timer_mod,
    .register_poll_fd = cb_register_poll_fd,
    .unregister_poll_fd = cb_unregister_poll_fd,
    .notify = cb_wake,
    .timer_new_opaque = cb_timer_new_opaque,
};

static struct in_addr in4(uint32_t host_order)
{
    return (struct in_addr){.s_addr = htonl(host_order)};
}

int nat_new(const struct nat_config *c, struct nat **ret)
{
    struct nat *n = calloc(1, sizeof(*n));
    if (!n)
        return -ENOMEM;
    n->c = *c;
    SlirpConfig cfg = {
        .version = 4,
        .in_enabled = true,
        .vnetwork = in4(c->pods.net),
        .vnetmask = in4(c->pods.mask),
        .vhost = in4(c->gateway),
        .vdhcp_start = in4(c->gateway),
        .vnameserver = in4(c->gateway),
        .if_mtu = 1500,
        .if_mru = 1500,
        /* The node's own loopback is not the outside: pods reach the node through its TAP. */
        .disable_host_loopback = true,
        .disable_dns = true,
        .disable_dhcp = true,
    };
    n->slirp = slirp_new(&cfg, &callbacks, n);
    if (!n->slirp) {
        free(n);
        return -ENOMEM;
    }
    /* Tell slirp where the pod is before it has anything to say to it. */
    uint8_t arp[ARP_FRAME];
    static const uint8_t slirp_mac_unknown[6];
    frame_build_arp(arp, 2, pod_mac, c->pod_ip, slirp_mac_unknown, c->gateway);
    slirp_input(n->slirp, arp, sizeof(arp));
    flush_pending(n);
    *ret = n;
    return 0;
}

void nat_free(struct nat *n)
{
    if (!n)
        return;
    slirp_cleanup(n->slirp);
    while (n->timers) {
        struct nat_timer *t = n->timers;
        n->timers = t->next;
        free(t);
    }
    free(n);
}

void nat_input(struct nat *n, const uint8_t *frame, size_t len)
{
    slirp_input(n->slirp, frame, (int)len);
    flush_pending(n);
}

static int cb_add_poll(int fd, int events, void *opaque)
{
    struct nat *n = opaque;
    struct nat_pollset *ps = n->fill_ps;
    if (ps->n == ps->cap) {
        size_t cap = ps->cap ? ps->cap * 2 : 64;
        struct pollfd *f = realloc(ps->fds, cap * sizeof(*f));
        if (!f)
            return -1;
        ps->fds = f;
        ps->cap = cap;
    }
    short ev = 0;
    if (events & SLIRP_POLL_IN)
        ev |= POLLIN;
    if (events & SLIRP_POLL_OUT)
        ev |= POLLOUT;
    if (events & SLIRP_POLL_PRI)
        ev |= POLLPRI;
    ps->fds[ps->n] = (struct pollfd){.fd = fd, .events = ev};
    return (int)ps->n++;
}

static int cb_get_revents(int idx, void *opaque)
{
    struct nat *n = opaque;
    if (idx < 0 || (size_t)idx >= n->dispatch_ps->n)
        return 0;
    short re = n->dispatch_ps->fds[idx].revents;
    int ev = 0;
    if (re & POLLIN)
        ev |= SLIRP_POLL_IN;
    if (re & POLLOUT)
        ev |= SLIRP_POLL_OUT;
    if (re & POLLPRI)
        ev |= SLIRP_POLL_PRI;
    if (re & POLLERR)
        ev |= SLIRP_POLL_ERR;
    if (re & POLLHUP)
        ev |= SLIRP_POLL_HUP;
    return ev;
}

int nat_fill(struct nat *n, struct nat_pollset *ps, int *timeout_ms)
{
    uint32_t t = *timeout_ms < 0 ? UINT32_MAX : (uint32_t)*timeout_ms;
    n->fill_ps = ps;
    slirp_pollfds_fill(n->slirp, &t, cb_add_poll, n);
    n->fill_ps = NULL;
    int64_t now_ms = now_ns() / 1000000;
    for (struct nat_timer *tm = n->timers; tm; tm = tm->next)
        if (tm->expire_ms >= 0) {
            int64_t d = tm->expire_ms - now_ms;
            if (d < 0)
                d = 0;
            if ((uint64_t)d < t)
                t = (uint32_t)d;
        }
    *timeout_ms = t == UINT32_MAX ? -1 : (int)t;
    return 0;
}

void nat_dispatch(struct nat *n, const struct nat_pollset *ps)
{
    n->dispatch_ps = ps;
    slirp_pollfds_poll(n->slirp, 0, cb_get_revents, n);
    n->dispatch_ps = NULL;
    int64_t now_ms = now_ns() / 1000000;
    for (struct nat_timer *tm = n->timers; tm; tm = tm->next) {
        if (tm->expire_ms < 0 || tm->expire_ms > now_ms)
            continue;
        tm->expire_ms = -1;
        if (tm->cb)
            tm->cb(tm->cb_opaque);
        else
            slirp_handle_timer(n->slirp, tm->id, tm->cb_opaque);
        break; /* the callback may have freed or added timers: the rest wait for the next round */
    }
    flush_pending(n);
}
