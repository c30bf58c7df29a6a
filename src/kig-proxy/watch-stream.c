#include "watch-stream.h"

#include "macro.h"

#include <errno.h>
#include <string.h>

#define _cleanup_json_ _cleanup_(json_decrefp)

static const char *const type_names[] = {
    [WATCH_ADDED] = "ADDED",       [WATCH_MODIFIED] = "MODIFIED", [WATCH_DELETED] = "DELETED",
    [WATCH_BOOKMARK] = "BOOKMARK", [WATCH_ERROR] = "ERROR",
};

const char *watch_event_type_name(enum watch_event_type t)
{
    return (size_t)t < ARRAY_SIZE(type_names) ? type_names[t] : "?";
}

static int parse_type(const char *s, enum watch_event_type *ret)
{
    for (size_t i = 0; i < ARRAY_SIZE(type_names); i++)
        if (strcmp(s, type_names[i]) == 0) {
            *ret = (enum watch_event_type)i;
            return 0;
        }
    return -EBADMSG;
}

void watch_stream_init(struct watch_stream *ws, size_t max_line)
{
    *ws = (struct watch_stream){.max_line = max_line ? max_line : WATCH_STREAM_DEFAULT_MAX_LINE};
}

void watch_stream_reset(struct watch_stream *ws)
{
    ws->len = 0;
}

void watch_stream_done(struct watch_stream *ws)
{
    free(ws->buf);
    ws->buf = NULL;
    ws->len = ws->cap = 0;
}

static bool is_blank(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
            return false;
    return true;
}

int watch_stream_parse_line(const char *line, size_t len, watch_event_fn fn, void *userdata)
{
    if (is_blank(line, len))
        return 0;
    _cleanup_json_ json_t *doc = json_loadb(line, len, 0, NULL);
    if (!json_is_object(doc))
        return -EBADMSG;
    const char *type = json_string_value(json_object_get(doc, "type"));
    json_t *object = json_object_get(doc, "object");
    struct watch_event ev = {.object = object};
    if (!type || !json_is_object(object) || parse_type(type, &ev.type) < 0)
        return -EBADMSG;
    ev.resource_version =
        json_string_value(json_object_get(json_object_get(object, "metadata"), "resourceVersion"));
    if (ev.type == WATCH_ERROR) {
        json_t *code = json_object_get(object, "code");
        ev.error_code = json_is_integer(code) ? (long)json_integer_value(code) : 0;
        ev.resource_version = NULL; /* a Status carries no usable version */
    }
    return fn(&ev, userdata);
}

static int buffer_append(struct watch_stream *ws, const char *data, size_t len)
{
    if (len > ws->max_line - ws->len)
        return -EMSGSIZE;
    if (ws->len + len > ws->cap) {
        size_t cap = ws->cap ? ws->cap : 4096;
        while (cap < ws->len + len)
            cap *= 2;
        if (cap > ws->max_line)
            cap = ws->max_line;
        char *n = realloc(ws->buf, cap);
        if (!n)
            return -ENOMEM;
        ws->buf = n;
        ws->cap = cap;
    }
    memcpy(ws->buf + ws->len, data, len);
    ws->len += len;
    return 0;
}

int watch_stream_feed(struct watch_stream *ws, const char *data, size_t len, watch_event_fn fn,
                      void *userdata)
{
    while (len > 0) {
        const char *nl = memchr(data, '\n', len);
        if (!nl)
            return buffer_append(ws, data, len);
        size_t piece = (size_t)(nl - data);
        int r;
        if (ws->len == 0) {
            /* The common case: a whole line inside this chunk is parsed where it lies, without a copy. */
            if (piece > ws->max_line)
                return -EMSGSIZE;
            r = watch_stream_parse_line(data, piece, fn, userdata);
        } else {
            r = buffer_append(ws, data, piece);
            if (r < 0)
                return r;
            r = watch_stream_parse_line(ws->buf, ws->len, fn, userdata);
            ws->len = 0;
        }
        if (r < 0)
            return r;
        data = nl + 1;
        len -= piece + 1;
    }
    return 0;
}
