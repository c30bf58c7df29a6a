/* Endpoint selection for one service port: round robin over the ready backends, optionally with
 * sessionAffinity ClientIP (a client keeps its backend while it opens connections less than timeout
 * apart, as kube-proxy's "recent" match does). Pure bookkeeping, no sockets: unit-tested on its own.
 *
 * The affinity table is a plain array searched linearly: on a kig node the clients are the node's own
 * addresses and host-network pods, a handful of distinct IPs, and a linear scan of a few entries beats a
 * hash table's constant. */
#pragma once

#include "service.h"

#include <stdbool.h>
#include <stdint.h>

struct affinity_entry {
    struct in_addr client;
    struct backend backend;
    int64_t last_used_ms;
};

struct balancer {
    struct backend *backends; /* sorted (endpoints_backends) */
    size_t n_backends;
    size_t next; /* round-robin position */
    bool affinity;
    int64_t affinity_timeout_ms;
    struct affinity_entry *entries;
    size_t n_entries, cap_entries;
};

/* Past this many clients the least recently used affinity entry is overwritten. */
#define BALANCER_MAX_AFFINITY_ENTRIES 4096

void balancer_init(struct balancer *b);
void balancer_done(struct balancer *b);

/* Turning affinity off forgets every entry; changing the timeout keeps them. */
void balancer_set_affinity(struct balancer *b, bool on, uint32_t timeout_s);

/* Replaces the backends (copied). The round-robin position is kept and affinity entries survive unless
 * their backend is gone. Returns 0 or -ENOMEM (then the old list stays). */
int balancer_set_backends(struct balancer *b, const struct backend *list, size_t n);

/* The backend for a new connection from client; -EHOSTUNREACH when there is none. */
int balancer_pick(struct balancer *b, struct in_addr client, int64_t now_ms, struct backend *ret);

/* A connection to failed could not be made: drops client's affinity to it and picks another backend,
 * avoiding failed while others exist. */
int balancer_pick_after_failure(struct balancer *b, struct in_addr client, const struct backend *failed,
                                int64_t now_ms, struct backend *ret);

/* Forgets affinity entries idle for longer than the timeout. */
void balancer_expire(struct balancer *b, int64_t now_ms);

bool balancer_has_backend(const struct balancer *b, const struct backend *backend);
