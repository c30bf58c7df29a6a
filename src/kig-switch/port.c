/* The data path. Each port has a thread that blocks in read(2) on its TAP and forwards every frame with
 * one write(2) to the destination TAP, from its own stack buffer: no poll, no queue, no allocation per
 * frame. In gVisor every syscall of the switch is a trip through the Sentry (about 90 µs under the ptrace
 * platform on this kind of machine), a TAP hands out one frame per read and takes one per write (no
 * multi-frame read, no offloads, MTU fixed at 1500), so two syscalls per frame is the floor; threads let
 * ports work in parallel on several cores. */
#include "kswitch.h"

#include "log.h"

#include <signal.h>
#include <string.h>
#include <time.h>

#define STOP_TIMEOUT_MS 5000

static void interrupt_handler(int sig) {}

void switch_wake(struct kswitch *sw)
{
    uint64_t one = 1;
    (void)!write(sw->wake_fd, &one, sizeof(one));
}

void port_send(struct port *p, const uint8_t *frame, size_t len)
{
    atomic_fetch_add(&p->users, 1);
    int fd = atomic_load(&p->fd);
    if (fd >= 0) {
        ssize_t n;
        do
            n = write(fd, frame, len);
        while (n < 0 && errno == EINTR);
        if (n == (ssize_t)len)
            atomic_fetch_add_explicit(&p->tx, 1, memory_order_relaxed);
        else
            atomic_fetch_add_explicit(&p->dropped, 1, memory_order_relaxed);
    }
    atomic_fetch_sub(&p->users, 1);
}

static struct port *pod_port_for(struct kswitch *sw, uint32_t dst)
{
    if (!route4_contains(&sw->fwd.pods, dst))
        return NULL;
    size_t off = dst - sw->fwd.pods.net;
    if (off >= sw->n_addresses)
        return NULL;
    int idx = atomic_load_explicit(&sw->port_of[off], memory_order_acquire);
    return idx > 0 ? &sw->ports[idx] : NULL;
}

/* Frames the pod's NAT sends back: checked like any other frame, then written to the pod. */
static void nat_output(void *opaque, const uint8_t *frame, size_t len)
{
    struct port *p = opaque;
    uint8_t buf[2048];
    if (len > sizeof(buf))
        return;
    memcpy(buf, frame, len);
    struct frame_decision d;
    frame_decide(&p->sw->fwd, PORT_NAT, p->ip, buf, len, &d);
    if (d.verdict == FRAME_TO_POD)
        port_send(p, buf, len);
    else
        atomic_fetch_add_explicit(&p->sw->drops[d.reason], 1, memory_order_relaxed);
}

static void nat_wake(void *opaque)
{
    struct port *p = opaque;
    switch_wake(p->sw);
}

static void to_nat(struct kswitch *sw, struct port *in, const uint8_t *frame, size_t len)
{
    pthread_mutex_lock(&sw->nat_lock);
    if (!in->nat) {
        struct nat_config c = {
            .pods = sw->fwd.pods,
            .gateway = sw->fwd.node_address,
            .pod_ip = in->ip,
            .output = nat_output,
            .wake = nat_wake,
            .opaque = in,
        };
        int r = nat_new(&c, &in->nat);
        if (r < 0)
            log_error_errno(r, "cannot start the NAT for a pod: %m");
        switch_wake(sw);
    }
    if (in->nat)
        nat_input(in->nat, frame, len);
    pthread_mutex_unlock(&sw->nat_lock);
}

void switch_handle_frame(struct kswitch *sw, struct port *in, uint8_t *frame, size_t len)
{
    struct frame_decision d;
    frame_decide(&sw->fwd, in->kind, in->ip, frame, len, &d);
    struct port *out = NULL;
    switch (d.verdict) {
    case FRAME_REPLY:
        port_send(in, frame, d.len);
        return;
    case FRAME_TO_POD:
        out = pod_port_for(sw, d.dst);
        if (!out) {
            d.reason = DROP_NO_ROUTE;
            break;
        }
        port_send(out, frame, len);
        return;
    case FRAME_TO_NODE:
        if (!sw->o.node_ifname) {
            d.reason = DROP_NO_ROUTE;
            break;
        }
        port_send(&sw->ports[NODE_PORT], frame, len);
        return;
    case FRAME_TO_NAT:
        to_nat(sw, in, frame, len);
        return;
    case FRAME_DROP:
        break;
    }
    atomic_fetch_add_explicit(&sw->drops[d.reason], 1, memory_order_relaxed);
    if (log_get_level() >= LOG_LEVEL_DEBUG)
        log_debug("dropped a frame (%zu bytes, %s)", len, frame_drop_reason_name(d.reason));
}

static void *reader(void *arg)
{
    struct port *p = arg;
    uint8_t frame[FRAME_MAX];
    while (!atomic_load(&p->stopping)) {
        int fd = atomic_load(&p->fd);
        if (fd < 0)
            break;
        ssize_t n = read(fd, frame, sizeof(frame));
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            if (!atomic_load(&p->stopping))
                log_error_errno(errno, "reading a TAP failed, the port stops: %m");
            break;
        }
        atomic_fetch_add_explicit(&p->rx, 1, memory_order_relaxed);
        switch_handle_frame(p->sw, p, frame, (size_t)n);
    }
    return NULL;
}

int port_start(struct kswitch *sw, size_t index, enum port_kind kind, uint32_t ip, int fd)
{
    static bool handler_installed;
    if (!handler_installed) {
        /* SIGUSR1 interrupts a reader blocked in read() when its port stops (no SA_RESTART). */
        struct sigaction sa = {.sa_handler = interrupt_handler};
        sigemptyset(&sa.sa_mask);
        sigaction(SIGUSR1, &sa, NULL);
        handler_installed = true;
    }
    struct port *p = &sw->ports[index];
    *p = (struct port){.sw = sw, .kind = kind, .ip = ip};
    atomic_store(&p->fd, fd);
    atomic_store(&p->users, 0);
    atomic_store(&p->stopping, false);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    /* The main thread blocks the signals it reads from its signalfd; readers must take SIGUSR1. */
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    pthread_sigmask(SIG_UNBLOCK, &set, &old);
    int r = pthread_create(&p->thread, &attr, reader, p);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
    if (r != 0) {
        atomic_store(&p->fd, -1);
        return log_error_errno(r, "cannot start a port thread: %m");
    }
    p->has_thread = true;
    return 0;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

void port_stop(struct kswitch *sw, size_t index)
{
    struct port *p = &sw->ports[index];
    atomic_store(&p->stopping, true);
    int fd = atomic_exchange(&p->fd, -1);
    if (p->has_thread) {
        /* The reader may be about to block: keep interrupting until it has gone. */
        bool joined = false;
        for (int waited = 0; waited < STOP_TIMEOUT_MS && !joined; waited += 10) {
            pthread_kill(p->thread, SIGUSR1);
            struct timespec deadline;
            clock_gettime(CLOCK_REALTIME, &deadline);
            deadline.tv_nsec += 10 * 1000000;
            if (deadline.tv_nsec >= 1000000000) {
                deadline.tv_sec++;
                deadline.tv_nsec -= 1000000000;
            }
            joined = pthread_timedjoin_np(p->thread, NULL, &deadline) == 0;
        }
        if (!joined) {
            log_error("a port thread did not stop; leaving it behind");
            pthread_detach(p->thread);
        }
        p->has_thread = false;
    }
    while (atomic_load(&p->users) > 0)
        sleep_ms(1);
    if (fd >= 0)
        close(fd);
    pthread_mutex_lock(&sw->nat_lock);
    nat_free(p->nat);
    p->nat = NULL;
    pthread_mutex_unlock(&sw->nat_lock);
}
