/* The Kubernetes watch stream: a chunked HTTP body holding one JSON event per line,
 *   {"type":"ADDED","object":{...}}\n
 * parsed incrementally: bytes arrive in whatever pieces the network delivers, a line may span many pieces
 * and a piece may hold many lines. Memory is bounded by the longest line (max_line). */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

enum watch_event_type {
    WATCH_ADDED,
    WATCH_MODIFIED,
    WATCH_DELETED,
    WATCH_BOOKMARK, /* only a new resourceVersion */
    WATCH_ERROR,    /* object is a Status; 410 Gone means the resourceVersion is too old: re-list */
};

struct watch_event {
    enum watch_event_type type;
    json_t *object;               /* borrowed for the duration of the callback */
    const char *resource_version; /* object.metadata.resourceVersion, NULL if absent */
    long error_code;              /* WATCH_ERROR: the Status code (0 if absent) */
};

/* Returns 0 to go on, or a negative errno to stop: watch_stream_feed then returns it. */
typedef int (*watch_event_fn)(const struct watch_event *ev, void *userdata);

struct watch_stream {
    char *buf; /* the incomplete last line */
    size_t len, cap;
    size_t max_line;
};

#define WATCH_STREAM_DEFAULT_MAX_LINE (16u << 20)

void watch_stream_init(struct watch_stream *ws, size_t max_line);
/* Forgets a partial line (a new watch request starts a new stream). */
void watch_stream_reset(struct watch_stream *ws);
void watch_stream_done(struct watch_stream *ws);

/* Feeds the next bytes of the body; calls fn for each complete event. Returns 0, -EBADMSG for a line that
 * is not a watch event, -EMSGSIZE for a line longer than max_line, or fn's negative return. After an error
 * the stream must be reset. */
int watch_stream_feed(struct watch_stream *ws, const char *data, size_t len, watch_event_fn fn,
                      void *userdata);

/* Parses one line (without its newline) into ev and calls fn; blank lines are skipped. Exposed for tests. */
int watch_stream_parse_line(const char *line, size_t len, watch_event_fn fn, void *userdata);

const char *watch_event_type_name(enum watch_event_type t);
