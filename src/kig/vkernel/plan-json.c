/* The plan as JSON (for `kig vkernel plan --json` and the state file) and as text for people.
 *
 *   {"actions": [{"type": "mount", "path": "/sys/fs/cgroup", "fstype": "tmpfs", "source": "kig-cgroup",
 *                 "options": "mode=0755", "why": "...", "status": "done", "mount_id": 42}, ...],
 *    "trace": [{"rule": "redirect", "arg": "/proc/sys/net/bridge=/run/kig/vkernel/sysctl/net/bridge",
 *               "why": "..."}],
 *    "trace_args": ["--rule", "redirect", "--redirect", "..."],
 *    "notes": ["..."]} */
#include "plan.h"

#include "macro.h"

#include <stdint.h>
#include <string.h>

static int set_str(json_t *o, const char *key, const char *value)
{
    if (!value)
        return 0;
    return json_object_set_new(o, key, json_string(value)) < 0 ? -ENOMEM : 0;
}

static int set_int(json_t *o, const char *key, long long value)
{
    return json_object_set_new(o, key, json_integer(value)) < 0 ? -ENOMEM : 0;
}

static json_t *strv_to_json(char **v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
        if (json_array_append_new(a, json_string(v[i])) < 0) {
            json_decref(a);
            return NULL;
        }
    return a;
}

static int action_to_json(const struct vk_action *a, bool with_status, json_t **ret)
{
    json_t *o = json_object();
    if (!o)
        return -ENOMEM;
    int r = set_str(o, "type", vk_action_type_name(a->type));
    if (r == 0)
        r = set_str(o, "path", a->path);
    if (r == 0)
        r = set_str(o, "fstype", a->fstype);
    if (r == 0)
        r = set_str(o, "source", a->source);
    if (r == 0)
        r = set_str(o, "options", a->options);
    if (r == 0)
        r = set_str(o, "content", a->content);
    if (r == 0 && (a->type == VK_ACTION_MKDIR || a->type == VK_ACTION_WRITE_FILE))
        r = set_int(o, "mode", a->mode);
    if (r == 0 && a->type == VK_ACTION_START_CGROUPFS) {
        json_t *args = strv_to_json(a->args, a->n_args),
               *mps = strv_to_json(a->mountpoints, a->n_mountpoints);
        if (!args || !mps || json_object_set_new(o, "args", args) < 0 ||
            json_object_set_new(o, "mountpoints", mps) < 0)
            r = -ENOMEM;
    }
    if (r == 0)
        r = set_str(o, "why", a->why);
    if (r == 0 && a->disposable)
        r = json_object_set_new(o, "disposable", json_true()) < 0 ? -ENOMEM : 0;
    if (r == 0 && with_status) {
        r = set_str(o, "status", vk_action_status_name(a->status));
        if (r == 0 && a->status != VK_PENDING) {
            if (a->type == VK_ACTION_MOUNT) {
                r = set_int(o, "prior_mount_id", a->prior_mount_id);
                if (r == 0)
                    r = set_int(o, "mount_id", a->mount_id);
            } else if (a->type == VK_ACTION_START_CGROUPFS) {
                r = set_int(o, "pid", a->pid);
                if (r == 0)
                    r = set_int(o, "pid_start_time", (long long)a->pid_start_time);
            } else {
                r = json_object_set_new(o, "existed", json_boolean(a->existed)) < 0 ? -ENOMEM : 0;
                if (r == 0 && a->ino != 0)
                    r = set_int(o, "dev", (long long)a->dev);
                if (r == 0 && a->ino != 0)
                    r = set_int(o, "ino", (long long)a->ino);
            }
        }
    }
    if (r < 0) {
        json_decref(o);
        return r;
    }
    *ret = o;
    return 0;
}

/* Creates an empty array under key (owned by o) and returns it, or NULL on ENOMEM. */
static json_t *attach_array(json_t *o, const char *key, json_t *a)
{
    if (!a || json_object_set_new(o, key, a) < 0)
        return NULL;
    return a;
}

int vkernel_plan_to_json(const struct vkernel_plan *p, bool with_status, json_t **ret)
{
    json_t *o = json_object();
    if (!o)
        return -ENOMEM;
    json_t *actions = attach_array(o, "actions", json_array());
    json_t *trace = actions ? attach_array(o, "trace", json_array()) : NULL;
    int r = trace ? 0 : -ENOMEM;
    for (size_t i = 0; i < p->n_actions && r == 0; i++) {
        json_t *a;
        r = action_to_json(&p->actions[i], with_status, &a);
        if (r == 0 && json_array_append_new(actions, a) < 0)
            r = -ENOMEM;
    }
    for (size_t i = 0; i < p->n_trace && r == 0; i++) {
        json_t *t = json_pack("{s:s, s:s?, s:s?}", "rule", p->trace[i].rule, "arg", p->trace[i].arg, "why",
                              p->trace[i].why);
        if (!t || json_array_append_new(trace, t) < 0)
            r = -ENOMEM;
    }
    char **argv = NULL;
    size_t argc = 0;
    if (r == 0)
        r = vkernel_plan_trace_argv(p, &argv, &argc);
    if (r == 0 && !attach_array(o, "trace_args", strv_to_json(argv, argc)))
        r = -ENOMEM;
    vk_strv_free(argv);
    if (r == 0 && !attach_array(o, "notes", strv_to_json(p->notes, p->n_notes)))
        r = -ENOMEM;
    if (r == 0 && with_status && p->boot_time)
        r = set_int(o, "boot_time", (long long)p->boot_time);
    if (r < 0) {
        json_decref(o);
        return r;
    }
    *ret = o;
    return 0;
}

static int get_str(const json_t *o, const char *key, char **ret)
{
    const json_t *v = json_object_get(o, key);
    *ret = NULL;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return -EBADMSG;
    *ret = strdup(json_string_value(v));
    return *ret ? 0 : -ENOMEM;
}

static int get_int(const json_t *o, const char *key, long long *ret)
{
    const json_t *v = json_object_get(o, key);
    if (!v)
        return 0;
    if (!json_is_integer(v))
        return -EBADMSG;
    *ret = json_integer_value(v);
    return 0;
}

static int get_strv(const json_t *o, const char *key, char ***v, size_t *n)
{
    const json_t *a = json_object_get(o, key);
    if (!a)
        return 0;
    if (!json_is_array(a))
        return -EBADMSG;
    size_t i;
    const json_t *s;
    json_array_foreach(a, i, s)
    {
        if (!json_is_string(s))
            return -EBADMSG;
        int r = vk_strv_push(v, n, json_string_value(s));
        if (r < 0)
            return r;
    }
    return 0;
}

static int status_from_name(const char *s)
{
    for (int i = VK_PENDING; i <= VK_DONE; i++)
        if (strcmp(vk_action_status_name(i), s) == 0)
            return i;
    return -EBADMSG;
}

static int action_from_json(const json_t *o, struct vkernel_plan *p)
{
    if (!json_is_object(o))
        return -EBADMSG;
    const json_t *type = json_object_get(o, "type");
    int t = json_is_string(type) ? vk_action_type_from_name(json_string_value(type)) : -EINVAL;
    if (t < 0)
        return -EBADMSG;
    struct vk_action *a = plan_add(p, t, NULL, NULL);
    if (!a)
        return -ENOMEM;
    long long mode = 0, prior = 0, mount_id = 0, pid = 0, start = 0, dev = 0, ino = 0;
    int r = get_str(o, "path", &a->path);
    if (r == 0)
        r = get_str(o, "fstype", &a->fstype);
    if (r == 0)
        r = get_str(o, "source", &a->source);
    if (r == 0)
        r = get_str(o, "options", &a->options);
    if (r == 0)
        r = get_str(o, "content", &a->content);
    if (r == 0)
        r = get_str(o, "why", &a->why);
    if (r == 0)
        r = get_int(o, "mode", &mode);
    if (r == 0)
        r = get_strv(o, "args", &a->args, &a->n_args);
    if (r == 0)
        r = get_strv(o, "mountpoints", &a->mountpoints, &a->n_mountpoints);
    if (r == 0)
        r = get_int(o, "prior_mount_id", &prior);
    if (r == 0)
        r = get_int(o, "mount_id", &mount_id);
    if (r == 0)
        r = get_int(o, "pid", &pid);
    if (r == 0)
        r = get_int(o, "pid_start_time", &start);
    if (r == 0)
        r = get_int(o, "dev", &dev);
    if (r == 0)
        r = get_int(o, "ino", &ino);
    if (r < 0)
        return r;
    if (!a->path || mode < 0 || mode > 07777 || pid < 0 || pid > INT32_MAX || prior < 0 || mount_id < 0 ||
        prior > INT32_MAX || mount_id > INT32_MAX || start < 0)
        return -EBADMSG;
    if (a->type == VK_ACTION_MOUNT && !a->fstype)
        return -EBADMSG;
    if (a->type == VK_ACTION_SYMLINK && !a->source)
        return -EBADMSG;
    a->mode = (unsigned)mode;
    a->prior_mount_id = (int)prior;
    a->mount_id = (int)mount_id;
    a->pid = (pid_t)pid;
    a->pid_start_time = (unsigned long long)start;
    a->dev = (unsigned long long)dev;
    a->ino = (unsigned long long)ino;
    const json_t *status = json_object_get(o, "status");
    if (status) {
        int s = json_is_string(status) ? status_from_name(json_string_value(status)) : -EBADMSG;
        if (s < 0)
            return -EBADMSG;
        a->status = s;
    }
    const json_t *disposable = json_object_get(o, "disposable");
    if (disposable) {
        if (!json_is_boolean(disposable))
            return -EBADMSG;
        a->disposable = json_is_true(disposable);
    }
    const json_t *existed = json_object_get(o, "existed");
    if (existed) {
        if (!json_is_boolean(existed))
            return -EBADMSG;
        a->existed = json_is_true(existed);
    }
    return 0;
}

int vkernel_plan_from_json(const json_t *j, struct vkernel_plan **ret)
{
    if (!json_is_object(j))
        return -EBADMSG;
    const json_t *actions = json_object_get(j, "actions"), *trace = json_object_get(j, "trace");
    const json_t *notes = json_object_get(j, "notes");
    if (!json_is_array(actions) || (trace && !json_is_array(trace)) || (notes && !json_is_array(notes)))
        return -EBADMSG;
    _cleanup_vkernel_plan_ struct vkernel_plan *p = vkernel_plan_new();
    if (!p)
        return -ENOMEM;
    size_t i;
    const json_t *v;
    json_array_foreach(actions, i, v)
    {
        int r = action_from_json(v, p);
        if (r < 0)
            return r;
    }
    json_array_foreach(trace, i, v)
    {
        const json_t *rule = json_object_get(v, "rule"), *arg = json_object_get(v, "arg"),
                     *why = json_object_get(v, "why");
        if (json_is_null(arg))
            arg = NULL;
        if (json_is_null(why))
            why = NULL;
        if (!json_is_string(rule) || (arg && !json_is_string(arg)) || (why && !json_is_string(why)))
            return -EBADMSG;
        int r = plan_trace(p, json_string_value(rule), arg ? json_string_value(arg) : NULL,
                           why ? json_string_value(why) : NULL);
        if (r < 0)
            return r;
    }
    long long boot_time = 0;
    if (get_int(j, "boot_time", &boot_time) < 0 || boot_time < 0)
        return -EBADMSG;
    p->boot_time = (unsigned long long)boot_time;
    json_array_foreach(notes, i, v)
    {
        if (!json_is_string(v))
            return -EBADMSG;
        int r = vk_strv_push(&p->notes, &p->n_notes, json_string_value(v));
        if (r < 0)
            return r;
    }
    *ret = TAKE_PTR(p);
    return 0;
}

static void print_action(const struct vk_action *a, FILE *out)
{
    switch (a->type) {
    case VK_ACTION_MKDIR:
        fprintf(out, "mkdir        %s", a->path);
        break;
    case VK_ACTION_WRITE_FILE:
        fprintf(out, "write-file   %s (%zu bytes)", a->path, a->content ? strlen(a->content) : 0);
        break;
    case VK_ACTION_SYMLINK:
        fprintf(out, "symlink      %s -> %s", a->path, a->source);
        break;
    case VK_ACTION_MOUNT:
        if (strcmp(a->fstype, "bind") == 0)
            fprintf(out, "mount bind   %s -> %s", a->source, a->path);
        else
            fprintf(out, "mount %-6s %s%s%s", a->fstype, a->path, a->options ? " -o " : "",
                    a->options ? a->options : "");
        break;
    case VK_ACTION_START_CGROUPFS:
        fprintf(out, "start        %s", a->path);
        for (size_t i = 0; i < a->n_args; i++)
            fprintf(out, " %s", a->args[i]);
        break;
    default:
        fprintf(out, "?");
    }
    if (a->status != VK_PENDING)
        fprintf(out, "  [%s]", vk_action_status_name(a->status));
    fputc('\n', out);
}

void vkernel_plan_print(const struct vkernel_plan *p, FILE *out)
{
    fprintf(out, "%zu actions:\n", p->n_actions);
    for (size_t i = 0; i < p->n_actions; i++) {
        fprintf(out, "  ");
        print_action(&p->actions[i], out);
    }
    fprintf(out, "%zu kig-trace rules:\n", p->n_trace);
    for (size_t i = 0; i < p->n_trace; i++)
        fprintf(out, "  %-15s %s\n      (%s)\n", p->trace[i].rule, p->trace[i].arg ? p->trace[i].arg : "",
                p->trace[i].why ? p->trace[i].why : "");
    char **argv = NULL;
    if (p->n_trace > 0 && vkernel_plan_trace_argv(p, &argv, NULL) == 0) {
        fprintf(out, "kig-trace arguments:");
        for (char **a = argv; *a; a++)
            fprintf(out, " %s", *a);
        fputc('\n', out);
    }
    vk_strv_free(argv);
    for (size_t i = 0; i < p->n_notes; i++)
        fprintf(out, "note: %s\n", p->notes[i]);
}
