/* Keeps one store map in step with one API resource: LIST (in pages), then WATCH from the list's
 * resourceVersion with bookmarks; on a watch that ends normally, WATCH again from the last version seen;
 * on 410 Gone or any error, LIST again after a back-off (0.5 s doubling to 30 s, reset by a healthy watch).
 */
#pragma once

#include "kube-client.h"
#include "loop.h"
#include "store.h"
#include "watch-stream.h"

struct informer {
    const char *name; /* "services" */
    const char *path; /* "/api/v1/services" */
    struct loop *loop;
    struct kube_client *client;
    struct store *store;
    struct store_map *map;
    struct kube_request req;
    enum { INFORMER_IDLE, INFORMER_LISTING, INFORMER_WATCHING } state;
    char *resource_version;
    /* LIST: body of the current page, items gathered over pages, continue token. */
    char *body;
    size_t body_len, body_cap;
    json_t *items;
    char *continue_token;
    struct watch_stream stream;
    bool relist; /* the watch asked for a fresh LIST (410 Gone or a malformed event) */
    unsigned failures;
    int64_t watch_started_ms;
    struct loop_timer retry;
};

/* Seconds the apiserver keeps one watch open before it ends it normally. */
#define INFORMER_WATCH_TIMEOUT_S 300

void informer_init(struct informer *inf, const char *name, const char *path, struct loop *l,
                   struct kube_client *client, struct store *store, struct store_map *map);
/* Starts the first LIST at once. */
void informer_start(struct informer *inf);
void informer_stop(struct informer *inf);
