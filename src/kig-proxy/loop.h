/* kig-proxy's event loop: one epoll set, a few coarse timers, and deferred frees.
 *
 * Everything in kig-proxy runs on this one thread, so no state needs a lock. Objects registered here embed a
 * struct loop_io and are reached through it; an object closed while the same epoll batch still holds events
 * for it is freed only after the batch (loop_defer_free), and its io's fd is -1 so those events are
 * skipped. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

struct loop;

struct loop_io {
    int fd; /* -1 once removed */
    void (*dispatch)(struct loop_io *io, uint32_t events);
};

struct loop_timer {
    int64_t due_ms; /* monotonic; 0 when disarmed */
    void (*fire)(struct loop_timer *t);
    struct loop_timer *next; /* in the loop's armed list */
};

int loop_new(struct loop **ret);
void loop_free(struct loop *l);

/* Monotonic milliseconds. */
int64_t loop_now_ms(void);

int loop_io_add(struct loop *l, struct loop_io *io, uint32_t events);
int loop_io_mod(struct loop *l, struct loop_io *io, uint32_t events);
/* Removes io from the set and closes its fd (unless close_fd is false); io->fd becomes -1. */
void loop_io_remove(struct loop *l, struct loop_io *io, bool close_fd);
/* Takes io out of the epoll set but leaves its fd open and io->fd as it is (loop_io_add brings it back). */
void loop_io_unwatch(struct loop *l, struct loop_io *io);

void loop_timer_arm(struct loop *l, struct loop_timer *t, int64_t due_ms);
void loop_timer_disarm(struct loop *l, struct loop_timer *t);

/* Calls free_fn(ptr) after the current batch of events has been dispatched. */
int loop_defer_free(struct loop *l, void *ptr, void (*free_fn)(void *));

/* Called once after every batch of events and timers (kig-proxy applies API changes there, so many events
 * arriving together cost one reconcile). */
void loop_set_idle(struct loop *l, void (*idle)(void *userdata), void *userdata);

/* Runs until loop_quit() or SIGTERM/SIGINT (blocked and read through a signalfd). Returns 0 or -errno. */
int loop_run(struct loop *l);
void loop_quit(struct loop *l);
