#include "balancer.h"

#include "macro.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void balancer_init(struct balancer *b)
{
    *b = (struct balancer){.affinity_timeout_ms = (int64_t)SERVICE_AFFINITY_DEFAULT_TIMEOUT_S * 1000};
}

void balancer_done(struct balancer *b)
{
    free(b->backends);
    free(b->entries);
    *b = (struct balancer){0};
}

void balancer_set_affinity(struct balancer *b, bool on, uint32_t timeout_s)
{
    if (!on)
        b->n_entries = 0;
    b->affinity = on;
    b->affinity_timeout_ms = (int64_t)timeout_s * 1000;
}

bool balancer_has_backend(const struct balancer *b, const struct backend *backend)
{
    return backends_contain(b->backends, b->n_backends, backend);
}

static void remove_entry(struct balancer *b, size_t i)
{
    b->entries[i] = b->entries[--b->n_entries];
}

int balancer_set_backends(struct balancer *b, const struct backend *list, size_t n)
{
    struct backend *copy = NULL;
    if (n > 0) {
        copy = malloc(n * sizeof(*copy));
        if (!copy)
            return -ENOMEM;
        memcpy(copy, list, n * sizeof(*copy));
    }
    free(b->backends);
    b->backends = copy;
    b->n_backends = n;
    if (n > 0)
        b->next %= n;
    else
        b->next = 0;
    for (size_t i = 0; i < b->n_entries;)
        if (!balancer_has_backend(b, &b->entries[i].backend))
            remove_entry(b, i);
        else
            i++;
    return 0;
}

static struct affinity_entry *find_entry(struct balancer *b, struct in_addr client)
{
    for (size_t i = 0; i < b->n_entries; i++)
        if (b->entries[i].client.s_addr == client.s_addr)
            return &b->entries[i];
    return NULL;
}

static struct affinity_entry *new_entry(struct balancer *b)
{
    if (b->n_entries == b->cap_entries && b->cap_entries < BALANCER_MAX_AFFINITY_ENTRIES) {
        size_t cap = b->cap_entries ? b->cap_entries * 2 : 8;
        struct affinity_entry *e = realloc(b->entries, cap * sizeof(*e));
        if (e) {
            b->entries = e;
            b->cap_entries = cap;
        }
    }
    if (b->n_entries < b->cap_entries)
        return &b->entries[b->n_entries++];
    if (b->n_entries == 0)
        return NULL;
    /* Full (or out of memory): overwrite the least recently used. */
    size_t oldest = 0;
    for (size_t i = 1; i < b->n_entries; i++)
        if (b->entries[i].last_used_ms < b->entries[oldest].last_used_ms)
            oldest = i;
    return &b->entries[oldest];
}

static void remember(struct balancer *b, struct in_addr client, const struct backend *chosen, int64_t now_ms)
{
    if (!b->affinity)
        return;
    struct affinity_entry *e = find_entry(b, client);
    if (!e)
        e = new_entry(b);
    if (e)
        *e = (struct affinity_entry){.client = client, .backend = *chosen, .last_used_ms = now_ms};
}

static const struct backend *round_robin(struct balancer *b, const struct backend *avoid)
{
    for (size_t tries = 0; tries < b->n_backends; tries++) {
        const struct backend *candidate = &b->backends[b->next];
        b->next = (b->next + 1) % b->n_backends;
        if (!avoid || b->n_backends == 1 || backend_compare(candidate, avoid) != 0)
            return candidate;
    }
    return &b->backends[0];
}

int balancer_pick(struct balancer *b, struct in_addr client, int64_t now_ms, struct backend *ret)
{
    if (b->n_backends == 0)
        return -EHOSTUNREACH;
    if (b->affinity) {
        struct affinity_entry *e = find_entry(b, client);
        if (e && now_ms - e->last_used_ms <= b->affinity_timeout_ms) {
            e->last_used_ms = now_ms;
            *ret = e->backend;
            return 0;
        }
    }
    *ret = *round_robin(b, NULL);
    remember(b, client, ret, now_ms);
    return 0;
}

int balancer_pick_after_failure(struct balancer *b, struct in_addr client, const struct backend *failed,
                                int64_t now_ms, struct backend *ret)
{
    if (b->n_backends == 0)
        return -EHOSTUNREACH;
    struct affinity_entry *e = find_entry(b, client);
    if (e && backend_compare(&e->backend, failed) == 0)
        remove_entry(b, (size_t)(e - b->entries));
    *ret = *round_robin(b, failed);
    remember(b, client, ret, now_ms);
    return 0;
}

void balancer_expire(struct balancer *b, int64_t now_ms)
{
    for (size_t i = 0; i < b->n_entries;)
        if (now_ms - b->entries[i].last_used_ms > b->affinity_timeout_ms)
            remove_entry(b, i);
        else
            i++;
}
