#include "informer.h"

#include "log.h"
#include "macro.h"

#include <curl/curl.h>
#include <stddef.h>
#include <string.h>

#define LIST_PAGE_SIZE   500
#define LIST_BODY_MAX    (256u << 20)
#define BACKOFF_FIRST    500
#define BACKOFF_MAX      30000
#define HEALTHY_WATCH_MS 10000

#define _cleanup_json_ _cleanup_(json_decrefp)

static void start_list(struct informer *inf);
static void start_watch(struct informer *inf);

static struct informer *from_req(struct kube_request *req)
{
    return (struct informer *)((char *)req - offsetof(struct informer, req));
}

static void set_version(struct informer *inf, const char *rv)
{
    if (!rv || !*rv || (inf->resource_version && strcmp(inf->resource_version, rv) == 0))
        return;
    char *copy = strdup(rv);
    if (!copy)
        return; /* keep the older version: the next watch replays a little more */
    free(inf->resource_version);
    inf->resource_version = copy;
}

static void on_retry(struct loop_timer *t)
{
    struct informer *inf = (struct informer *)((char *)t - offsetof(struct informer, retry));
    start_list(inf);
}

static void retry_later(struct informer *inf)
{
    int64_t delay = BACKOFF_FIRST;
    for (unsigned i = 0; i < inf->failures && delay < BACKOFF_MAX; i++)
        delay *= 2;
    if (delay > BACKOFF_MAX)
        delay = BACKOFF_MAX;
    inf->failures++;
    inf->state = INFORMER_IDLE;
    /* A new LIST starts from the first page: a continue token may be what failed (410 once expired). */
    free(inf->continue_token);
    inf->continue_token = NULL;
    log_debug("%s: listing again in %lld ms", inf->name, (long long)delay);
    loop_timer_arm(inf->loop, &inf->retry, loop_now_ms() + delay);
}

/* ---- LIST ---- */

static bool on_list_data(struct kube_request *req, const char *data, size_t len)
{
    struct informer *inf = from_req(req);
    if (len > LIST_BODY_MAX - inf->body_len)
        return false;
    if (inf->body_len + len + 1 > inf->body_cap) {
        size_t cap = inf->body_cap ? inf->body_cap : 65536;
        while (cap < inf->body_len + len + 1)
            cap *= 2;
        char *n = realloc(inf->body, cap);
        if (!n)
            return false;
        inf->body = n;
        inf->body_cap = cap;
    }
    memcpy(inf->body + inf->body_len, data, len);
    inf->body_len += len;
    return true;
}

static int take_page(struct informer *inf, json_t *doc)
{
    json_t *items = json_object_get(doc, "items"), *meta = json_object_get(doc, "metadata");
    if (!json_is_array(items) && !json_is_null(items) && items)
        return -EBADMSG;
    if (json_is_array(items) && json_array_extend(inf->items, items) < 0)
        return -ENOMEM;
    set_version(inf, json_string_value(json_object_get(meta, "resourceVersion")));
    free(inf->continue_token);
    inf->continue_token = NULL;
    const char *cont = json_string_value(json_object_get(meta, "continue"));
    if (cont && *cont && !(inf->continue_token = strdup(cont)))
        return -ENOMEM;
    return 0;
}

/* The apiserver explains a refusal in a Status object: pass its message on, with the fix when it is
 * a permission problem. */
static void log_refusal(struct informer *inf, long status)
{
    _cleanup_json_ json_t *doc = json_loadb(inf->body, inf->body_len, 0, NULL);
    const char *message = json_string_value(json_object_get(doc, "message"));
    log_warn("%s: LIST answered HTTP %ld: %s%s", inf->name, status, message ? message : "no message",
             status == 401 || status == 403
                 ? "; kig-proxy's user needs list and watch on services and endpoints (the user "
                   "system:kube-proxy has them through the ClusterRole system:node-proxier)"
                 : "");
}

static void on_list_done(struct kube_request *req, int result, long status)
{
    struct informer *inf = from_req(req);
    if (result < 0 || status != 200) {
        if (result == 0)
            log_refusal(inf, status);
        inf->body_len = 0;
        retry_later(inf);
        return;
    }
    _cleanup_json_ json_t *doc = json_loadb(inf->body, inf->body_len, 0, NULL);
    inf->body_len = 0;
    int r = json_is_object(doc) ? take_page(inf, doc) : -EBADMSG;
    if (r < 0) {
        log_warn_errno(r, "%s: unusable LIST response: %m", inf->name);
        retry_later(inf);
        return;
    }
    if (inf->continue_token) {
        start_list(inf);
        return;
    }
    r = store_replace(inf->store, inf->map, inf->items);
    json_array_clear(inf->items);
    if (r < 0) {
        log_warn_errno(r, "%s: cannot store the list: %m", inf->name);
        retry_later(inf);
        return;
    }
    log_info("%s: listed %zu at resourceVersion %s", inf->name, json_object_size(inf->map->objects),
             inf->resource_version ? inf->resource_version : "?");
    start_watch(inf);
}

static void start_list(struct informer *inf)
{
    _cleanup_free_ char *path = NULL;
    char *escaped = NULL;
    if (inf->continue_token) {
        escaped = curl_easy_escape(NULL, inf->continue_token, 0);
        if (!escaped) {
            retry_later(inf);
            return;
        }
    } else {
        json_array_clear(inf->items);
    }
    int n = asprintf(&path, "%s?limit=%d%s%s", inf->path, LIST_PAGE_SIZE, escaped ? "&continue=" : "",
                     escaped ? escaped : "");
    curl_free(escaped);
    if (n < 0) {
        retry_later(inf);
        return;
    }
    inf->req.on_data = on_list_data;
    inf->req.on_done = on_list_done;
    inf->body_len = 0;
    inf->state = INFORMER_LISTING;
    int r = kube_request_start(inf->client, &inf->req, path, 60);
    if (r < 0) {
        log_warn_errno(r, "%s: cannot start LIST: %m", inf->name);
        retry_later(inf);
    }
}

/* ---- WATCH ---- */

static int on_event(const struct watch_event *ev, void *userdata)
{
    struct informer *inf = userdata;
    if (ev->type == WATCH_ERROR) {
        const char *message = json_string_value(json_object_get(ev->object, "message"));
        log_info("%s: watch ended with status %ld (%s): listing again", inf->name, ev->error_code,
                 message ? message : "no message");
        inf->relist = true;
        return -ESTALE;
    }
    set_version(inf, ev->resource_version);
    log_debug("%s: %s", inf->name, watch_event_type_name(ev->type));
    int r = store_apply(inf->store, inf->map, ev->type, ev->object);
    if (r == -ENOMEM) {
        inf->relist = true;
        return r;
    }
    return 0;
}

static bool on_watch_data(struct kube_request *req, const char *data, size_t len)
{
    struct informer *inf = from_req(req);
    if (kube_request_status(req) != 200)
        return true; /* an error body: on_watch_done deals with the status */
    int r = watch_stream_feed(&inf->stream, data, len, on_event, inf);
    if (r < 0) {
        if (r != -ESTALE)
            log_warn_errno(r, "%s: bad watch stream: %m; listing again", inf->name);
        inf->relist = true;
        return false;
    }
    return true;
}

static void on_watch_done(struct kube_request *req, int result, long status)
{
    struct informer *inf = from_req(req);
    /* A watch that lasted was a success, whatever ended it: the back-off starts over. */
    if (loop_now_ms() - inf->watch_started_ms >= HEALTHY_WATCH_MS)
        inf->failures = 0;
    if (inf->relist || status == 410) {
        inf->relist = false;
        retry_later(inf);
        return;
    }
    if (status == 200 && (result == 0 || result == -ETIMEDOUT)) {
        /* The apiserver closed the watch after timeoutSeconds (or our own timeout hit): carry on from
         * the last version seen, no need to list. */
        inf->failures = 0;
        start_watch(inf);
        return;
    }
    if (result == 0)
        log_warn("%s: WATCH answered HTTP %ld", inf->name, status);
    retry_later(inf);
}

static void start_watch(struct informer *inf)
{
    _cleanup_free_ char *path = NULL;
    if (asprintf(&path, "%s?watch=1&allowWatchBookmarks=true&timeoutSeconds=%d&resourceVersion=%s", inf->path,
                 INFORMER_WATCH_TIMEOUT_S, inf->resource_version ? inf->resource_version : "0") < 0) {
        retry_later(inf);
        return;
    }
    inf->req.on_data = on_watch_data;
    inf->req.on_done = on_watch_done;
    inf->relist = false;
    watch_stream_reset(&inf->stream);
    inf->state = INFORMER_WATCHING;
    inf->watch_started_ms = loop_now_ms();
    /* A little longer than the server's own timeout: if the connection silently died, this ends it. */
    int r = kube_request_start(inf->client, &inf->req, path, INFORMER_WATCH_TIMEOUT_S + 30);
    if (r < 0) {
        log_warn_errno(r, "%s: cannot start WATCH: %m", inf->name);
        retry_later(inf);
    }
}

void informer_init(struct informer *inf, const char *name, const char *path, struct loop *l,
                   struct kube_client *client, struct store *store, struct store_map *map)
{
    *inf = (struct informer){
        .name = name,
        .path = path,
        .loop = l,
        .client = client,
        .store = store,
        .map = map,
        .retry = {.fire = on_retry},
    };
    watch_stream_init(&inf->stream, 0);
}

void informer_start(struct informer *inf)
{
    if (!inf->items)
        inf->items = json_array();
    if (!inf->items) {
        retry_later(inf);
        return;
    }
    start_list(inf);
}

void informer_stop(struct informer *inf)
{
    kube_request_cancel(&inf->req);
    loop_timer_disarm(inf->loop, &inf->retry);
    watch_stream_done(&inf->stream);
    json_decref(inf->items);
    inf->items = NULL;
    free(inf->body);
    free(inf->resource_version);
    free(inf->continue_token);
    inf->body = inf->resource_version = inf->continue_token = NULL;
    inf->body_len = inf->body_cap = 0;
}
