/* The API objects kig-proxy serves from: every Service and every Endpoints, as the apiserver last sent
 * them, keyed "namespace/name". The proxy and DNS read Services and Endpoints from here whenever something
 * changed; keeping the raw JSON means no field is lost in a translation the proxy did not need yet. */
#pragma once

#include "watch-stream.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#define STORE_KEY_MAX 320 /* namespace (63) + '/' + name (253) + NUL, rounded up */

struct store_map {
    json_t *objects; /* key -> object */
    bool synced;     /* a full list has been received */
};

struct store {
    struct store_map services;
    struct store_map endpoints;
    uint64_t generation; /* bumped on every change, so readers can tell whether to recompute */
};

int store_init(struct store *s);
void store_done(struct store *s);

/* "namespace/name" of an API object; -EINVAL when either is missing or too long. */
int store_key(json_t *obj, char key[STORE_KEY_MAX]);
int store_key_of(const char *ns, const char *name, char key[STORE_KEY_MAX]);

/* Replaces the whole map with a list's items (objects without a usable key are skipped). */
int store_replace(struct store *s, struct store_map *m, json_t *items);
/* Applies one watch event; BOOKMARK and ERROR change nothing. */
int store_apply(struct store *s, struct store_map *m, enum watch_event_type type, json_t *object);

bool store_synced(const struct store *s);
