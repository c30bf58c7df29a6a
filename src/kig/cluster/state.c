#include "state.h"

#include "fileutil.h"
#include "macro.h"

#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#define STATE_JSON_MAX (1u << 20)

static const char *const phase_names[_PHASE_MAX] = {
    [PHASE_STARTING] = "starting",
    [PHASE_RUNNING] = "running",
    [PHASE_STOPPING] = "stopping",
    [PHASE_STOPPED] = "stopped",
};

static const char *const run_state_names[_RUN_STATE_MAX] = {
    [RUN_WAITING] = "waiting",   [RUN_RUNNING] = "running", [RUN_BACKOFF] = "backoff",
    [RUN_STOPPING] = "stopping", [RUN_STOPPED] = "stopped",
};

const char *supervisor_phase_to_string(enum supervisor_phase p)
{
    return (unsigned)p < _PHASE_MAX ? phase_names[p] : "unknown";
}

const char *run_state_to_string(enum run_state s)
{
    return (unsigned)s < _RUN_STATE_MAX ? run_state_names[s] : "unknown";
}

static int lookup(const char *const *names, int n, const char *s)
{
    for (int i = 0; i < n; i++)
        if (strcmp(names[i], s) == 0)
            return i;
    return -1;
}

void cluster_state_done(struct cluster_state *s)
{
    free(s->cluster);
    free(s->mode);
    free(s->server);
    for (size_t i = 0; i < s->n_components && i < STATE_MAX_COMPONENTS; i++) {
        struct component_state *c = &s->components[i];
        free(c->name);
        free(c->path);
        free(c->log);
        free(c->last_exit);
    }
    *s = (struct cluster_state){0};
}

int cluster_state_set_string(char **dst, const char *src)
{
    char *copy = NULL;
    if (src && !(copy = strdup(src)))
        return -ENOMEM;
    free(*dst);
    *dst = copy;
    return 0;
}

/* ---- parsing ---- */

/* An optional string member: absent or null leaves *out NULL. */
static int parse_string(json_t *obj, const char *key, bool required, char **out)
{
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v))
        return required ? -EINVAL : 0;
    if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
        return -EINVAL;
    *out = strdup(json_string_value(v));
    return *out ? 0 : -ENOMEM;
}

static int parse_int(json_t *obj, const char *key, json_int_t min, json_int_t max, json_int_t *out)
{
    json_t *v = json_object_get(obj, key);
    if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
        return -EINVAL;
    *out = json_integer_value(v);
    return 0;
}

static int parse_time(json_t *obj, const char *key, double *out)
{
    json_t *v = json_object_get(obj, key);
    if (!json_is_number(v))
        return -EINVAL;
    double t = json_number_value(v);
    if (!isfinite(t) || t < 0 || t > 1e11)
        return -EINVAL;
    *out = t;
    return 0;
}

static int parse_enum(json_t *obj, const char *key, const char *const *names, int n, int *out)
{
    json_t *v = json_object_get(obj, key);
    if (!json_is_string(v))
        return -EINVAL;
    int i = lookup(names, n, json_string_value(v));
    if (i < 0)
        return -EINVAL;
    *out = i;
    return 0;
}

static int parse_component(json_t *obj, struct component_state *c)
{
    if (!json_is_object(obj))
        return -EINVAL;
    json_int_t pid, restarts, port;
    int state, r;
    json_t *ready = json_object_get(obj, "ready");
    if ((r = parse_string(obj, "name", true, &c->name)) < 0 ||
        (r = parse_string(obj, "path", false, &c->path)) < 0 ||
        (r = parse_string(obj, "log", false, &c->log)) < 0 ||
        (r = parse_string(obj, "lastExit", false, &c->last_exit)) < 0 ||
        (r = parse_int(obj, "pid", 0, INT32_MAX, &pid)) < 0 ||
        (r = parse_int(obj, "restarts", 0, UINT32_MAX, &restarts)) < 0 ||
        (r = parse_int(obj, "port", 0, 65535, &port)) < 0 ||
        (r = parse_enum(obj, "state", run_state_names, _RUN_STATE_MAX, &state)) < 0 ||
        (r = parse_time(obj, "startedAt", &c->started_at)) < 0)
        return r;
    if (!json_is_boolean(ready) || !c->name[0])
        return -EINVAL;
    c->pid = (pid_t)pid;
    c->restarts = (unsigned)restarts;
    c->port = (int)port;
    c->state = (enum run_state)state;
    c->ready = json_is_true(ready);
    return 0;
}

static int parse_supervisor(json_t *obj, struct cluster_state *s)
{
    if (!json_is_object(obj))
        return -EINVAL;
    json_int_t pid;
    int phase, r;
    if ((r = parse_int(obj, "pid", 1, INT32_MAX, &pid)) < 0 ||
        (r = parse_enum(obj, "phase", phase_names, _PHASE_MAX, &phase)) < 0 ||
        (r = parse_time(obj, "startedAt", &s->started_at)) < 0)
        return r;
    s->supervisor_pid = (pid_t)pid;
    s->phase = (enum supervisor_phase)phase;
    return 0;
}

static int parse_root(json_t *root, struct cluster_state *s)
{
    json_int_t format;
    int r;
    if (!json_is_object(root))
        return -EINVAL;
    if ((r = parse_int(root, "format", CLUSTER_STATE_FORMAT, CLUSTER_STATE_FORMAT, &format)) < 0 ||
        (r = parse_string(root, "cluster", true, &s->cluster)) < 0 ||
        (r = parse_string(root, "mode", true, &s->mode)) < 0 ||
        (r = parse_string(root, "server", true, &s->server)) < 0 ||
        (r = parse_supervisor(json_object_get(root, "supervisor"), s)) < 0)
        return r;
    json_t *list = json_object_get(root, "components");
    if (!json_is_array(list) || json_array_size(list) > STATE_MAX_COMPONENTS)
        return -EINVAL;
    for (size_t i = 0; i < json_array_size(list); i++) {
        s->n_components = i + 1; /* counted before parsing so that cleanup frees a partial entry */
        if ((r = parse_component(json_array_get(list, i), &s->components[i])) < 0)
            return r;
        for (size_t j = 0; j < i; j++)
            if (strcmp(s->components[j].name, s->components[i].name) == 0)
                return -EINVAL;
    }
    return 0;
}

int cluster_state_parse(const char *text, size_t len, struct cluster_state *ret)
{
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
    if (!root)
        return -EINVAL;
    struct cluster_state s = {0};
    int r = parse_root(root, &s);
    json_decref(root);
    if (r < 0) {
        cluster_state_done(&s);
        return r;
    }
    *ret = s;
    return 0;
}

/* ---- formatting ---- */

static json_t *string_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

static json_t *format_component(const struct component_state *c)
{
    return json_pack("{s:s, s:i, s:s, s:b, s:I, s:i, s:f, s:o, s:o, s:o}", "name", c->name, "pid",
                     (int)c->pid, "state", run_state_to_string(c->state), "ready", c->ready, "restarts",
                     (json_int_t)c->restarts, "port", c->port, "startedAt", c->started_at, "path",
                     string_or_null(c->path), "log", string_or_null(c->log), "lastExit",
                     string_or_null(c->last_exit));
}

char *cluster_state_format(const struct cluster_state *s)
{
    json_t *list = json_array();
    if (!list)
        return NULL;
    for (size_t i = 0; i < s->n_components; i++) {
        if (!s->components[i].name || json_array_append_new(list, format_component(&s->components[i])) < 0) {
            json_decref(list);
            return NULL;
        }
    }
    json_t *root =
        json_pack("{s:i, s:s, s:s, s:s, s:{s:i, s:s, s:f}, s:o}", "format", CLUSTER_STATE_FORMAT, "cluster",
                  s->cluster ? s->cluster : "", "mode", s->mode ? s->mode : "", "server",
                  s->server ? s->server : "", "supervisor", "pid", (int)s->supervisor_pid, "phase",
                  supervisor_phase_to_string(s->phase), "startedAt", s->started_at, "components", list);
    if (!root)
        return NULL;
    char *text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(root);
    return text;
}

int cluster_state_load(const char *path, struct cluster_state *ret)
{
    _cleanup_free_ char *text = NULL;
    size_t len;
    int r = read_file(path, &text, &len, STATE_JSON_MAX);
    if (r < 0)
        return r;
    return cluster_state_parse(text, len, ret);
}

int cluster_state_save(const char *path, const struct cluster_state *s)
{
    _cleanup_free_ char *text = cluster_state_format(s);
    if (!text)
        return -ENOMEM;
    return write_file_atomic(path, text, strlen(text), 0644);
}

const struct component_state *cluster_state_find(const struct cluster_state *s, const char *name)
{
    for (size_t i = 0; i < s->n_components; i++)
        if (s->components[i].name && strcmp(s->components[i].name, name) == 0)
            return &s->components[i];
    return NULL;
}
