#include "loop.h"

#include "log.h"
#include "macro.h"

#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <time.h>

#define MAX_EVENTS 128

struct deferred {
    void *ptr;
    void (*free_fn)(void *);
};

struct loop {
    int epoll_fd;
    struct loop_io signal_io;
    struct loop_timer *timers;
    struct deferred *deferred;
    size_t n_deferred, cap_deferred;
    void (*idle)(void *);
    void *idle_userdata;
    bool quit;
};

int64_t loop_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void on_signal(struct loop_io *io, uint32_t events)
{
    struct loop *l = (struct loop *)((char *)io - offsetof(struct loop, signal_io));
    struct signalfd_siginfo si;
    while (read(io->fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        log_info("received %s, stopping", strsignal((int)si.ssi_signo));
        l->quit = true;
    }
}

int loop_new(struct loop **ret)
{
    _cleanup_free_ struct loop *l = calloc(1, sizeof(*l));
    if (!l)
        return -ENOMEM;
    l->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    if (l->epoll_fd < 0)
        return log_error_errno(errno, "epoll_create1: %m");
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    signal(SIGPIPE, SIG_IGN);
    l->signal_io.fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    l->signal_io.dispatch = on_signal;
    if (l->signal_io.fd < 0 || loop_io_add(l, &l->signal_io, EPOLLIN) < 0) {
        int r = log_error_errno(errno, "signalfd: %m");
        close(l->epoll_fd);
        return r;
    }
    *ret = TAKE_PTR(l);
    return 0;
}

static void run_deferred(struct loop *l)
{
    /* A free function may defer more; take the list first. */
    while (l->n_deferred > 0) {
        size_t n = l->n_deferred;
        struct deferred *d = l->deferred;
        l->deferred = NULL;
        l->n_deferred = l->cap_deferred = 0;
        for (size_t i = 0; i < n; i++)
            d[i].free_fn(d[i].ptr);
        free(d);
    }
}

void loop_free(struct loop *l)
{
    if (!l)
        return;
    run_deferred(l);
    if (l->signal_io.fd >= 0)
        close(l->signal_io.fd);
    close(l->epoll_fd);
    free(l);
}

int loop_io_add(struct loop *l, struct loop_io *io, uint32_t events)
{
    struct epoll_event ev = {.events = events, .data.ptr = io};
    if (epoll_ctl(l->epoll_fd, EPOLL_CTL_ADD, io->fd, &ev) < 0)
        return negative_errno();
    return 0;
}

int loop_io_mod(struct loop *l, struct loop_io *io, uint32_t events)
{
    struct epoll_event ev = {.events = events, .data.ptr = io};
    if (epoll_ctl(l->epoll_fd, EPOLL_CTL_MOD, io->fd, &ev) < 0)
        return negative_errno();
    return 0;
}

void loop_io_remove(struct loop *l, struct loop_io *io, bool close_fd)
{
    if (io->fd < 0)
        return;
    /* Fails harmlessly when the fd was never added or is already closed (curl closes its own). */
    epoll_ctl(l->epoll_fd, EPOLL_CTL_DEL, io->fd, NULL);
    if (close_fd)
        close(io->fd);
    io->fd = -1;
}

void loop_io_unwatch(struct loop *l, struct loop_io *io)
{
    if (io->fd >= 0)
        epoll_ctl(l->epoll_fd, EPOLL_CTL_DEL, io->fd, NULL);
}

void loop_timer_disarm(struct loop *l, struct loop_timer *t)
{
    if (t->due_ms == 0)
        return;
    for (struct loop_timer **p = &l->timers; *p; p = &(*p)->next)
        if (*p == t) {
            *p = t->next;
            break;
        }
    t->due_ms = 0;
    t->next = NULL;
}

void loop_timer_arm(struct loop *l, struct loop_timer *t, int64_t due_ms)
{
    loop_timer_disarm(l, t);
    t->due_ms = due_ms > 0 ? due_ms : 1;
    t->next = l->timers;
    l->timers = t;
}

int loop_defer_free(struct loop *l, void *ptr, void (*free_fn)(void *))
{
    if (l->n_deferred == l->cap_deferred) {
        size_t cap = l->cap_deferred ? l->cap_deferred * 2 : 64;
        struct deferred *d = realloc(l->deferred, cap * sizeof(*d));
        if (!d) {
            /* Cannot defer: leaking is safer than a use after free. */
            return -ENOMEM;
        }
        l->deferred = d;
        l->cap_deferred = cap;
    }
    l->deferred[l->n_deferred++] = (struct deferred){ptr, free_fn};
    return 0;
}

void loop_set_idle(struct loop *l, void (*idle)(void *userdata), void *userdata)
{
    l->idle = idle;
    l->idle_userdata = userdata;
}

void loop_quit(struct loop *l)
{
    l->quit = true;
}

static struct loop_timer *earliest_timer(struct loop *l)
{
    struct loop_timer *best = NULL;
    for (struct loop_timer *t = l->timers; t; t = t->next)
        if (!best || t->due_ms < best->due_ms)
            best = t;
    return best;
}

static void fire_due_timers(struct loop *l)
{
    int64_t now = loop_now_ms();
    struct loop_timer *t;
    /* Timers armed by a callback for "now" run in the next round, after the events that are waiting. */
    for (int budget = 64; budget > 0 && (t = earliest_timer(l)) && t->due_ms <= now; budget--) {
        loop_timer_disarm(l, t);
        t->fire(t);
    }
}

static int wait_timeout_ms(struct loop *l)
{
    struct loop_timer *t = earliest_timer(l);
    if (!t)
        return -1;
    int64_t delta = t->due_ms - loop_now_ms();
    if (delta <= 0)
        return 0;
    return delta > 60000 ? 60000 : (int)delta;
}

int loop_run(struct loop *l)
{
    struct epoll_event events[MAX_EVENTS];
    while (!l->quit) {
        int n = epoll_wait(l->epoll_fd, events, MAX_EVENTS, wait_timeout_ms(l));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return log_error_errno(errno, "epoll_wait: %m");
        }
        for (int i = 0; i < n; i++) {
            struct loop_io *io = events[i].data.ptr;
            if (io->fd >= 0)
                io->dispatch(io, events[i].events);
        }
        fire_due_timers(l);
        if (l->idle)
            l->idle(l->idle_userdata);
        run_deferred(l);
    }
    return 0;
}
