/* The plan container and the entry point that runs the per-concern planners. */
#include "plan.h"

#include "macro.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const action_type_names[_VK_ACTION_TYPE_MAX] = {
    [VK_ACTION_MKDIR] = "mkdir",
    [VK_ACTION_WRITE_FILE] = "write-file",
    [VK_ACTION_SYMLINK] = "symlink",
    [VK_ACTION_MOUNT] = "mount",
    [VK_ACTION_START_CGROUPFS] = "start-cgroupfs",
};

const char *vk_action_type_name(enum vk_action_type t)
{
    return (unsigned)t < _VK_ACTION_TYPE_MAX ? action_type_names[t] : NULL;
}

int vk_action_type_from_name(const char *s)
{
    for (int i = 0; i < _VK_ACTION_TYPE_MAX; i++)
        if (s && strcmp(action_type_names[i], s) == 0)
            return i;
    return -EINVAL;
}

const char *vk_action_status_name(enum vk_action_status s)
{
    switch (s) {
    case VK_PENDING:
        return "pending";
    case VK_STARTED:
        return "started";
    case VK_DONE:
        return "done";
    }
    return NULL;
}

void vk_strv_free(char **v)
{
    if (!v)
        return;
    for (char **s = v; *s; s++)
        free(*s);
    free(v);
}

static void vk_strv_free_n(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

int vk_strv_push(char ***v, size_t *n, const char *s)
{
    char *copy = strdup(s);
    if (!copy)
        return -ENOMEM;
    /* Always one spare slot, so the array can be handed out NULL-terminated. */
    char **nv = realloc(*v, (*n + 2) * sizeof(char *));
    if (!nv) {
        free(copy);
        return -ENOMEM;
    }
    nv[(*n)++] = copy;
    nv[*n] = NULL;
    *v = nv;
    return 0;
}

static void action_done(struct vk_action *a)
{
    free(a->path);
    free(a->source);
    free(a->fstype);
    free(a->options);
    free(a->content);
    free(a->why);
    vk_strv_free_n(a->args, a->n_args);
    vk_strv_free_n(a->mountpoints, a->n_mountpoints);
}

void vkernel_plan_free(struct vkernel_plan *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n_actions; i++)
        action_done(&p->actions[i]);
    free(p->actions);
    for (size_t i = 0; i < p->n_trace; i++) {
        free(p->trace[i].rule);
        free(p->trace[i].arg);
        free(p->trace[i].why);
    }
    free(p->trace);
    vk_strv_free_n(p->notes, p->n_notes);
    free(p);
}

struct vkernel_plan *vkernel_plan_new(void)
{
    return calloc(1, sizeof(struct vkernel_plan));
}

static int grow(void **array, size_t *allocated, size_t n, size_t size)
{
    if (n < *allocated)
        return 0;
    size_t na = *allocated ? *allocated * 2 : 16;
    void *nv = realloc(*array, na * size);
    if (!nv)
        return -ENOMEM;
    memset((char *)nv + *allocated * size, 0, (na - *allocated) * size);
    *array = nv;
    *allocated = na;
    return 0;
}

static int dup_or_null(const char *s, char **ret)
{
    *ret = NULL;
    if (!s)
        return 0;
    *ret = strdup(s);
    return *ret ? 0 : -ENOMEM;
}

struct vk_action *plan_add(struct vkernel_plan *p, enum vk_action_type type, const char *path,
                           const char *why)
{
    if (grow((void **)&p->actions, &p->allocated_actions, p->n_actions, sizeof(struct vk_action)) < 0)
        return NULL;
    struct vk_action *a = &p->actions[p->n_actions];
    memset(a, 0, sizeof(*a));
    a->type = type;
    if (dup_or_null(path, &a->path) < 0 || dup_or_null(why, &a->why) < 0) {
        action_done(a);
        memset(a, 0, sizeof(*a));
        return NULL;
    }
    p->n_actions++;
    return a;
}

int plan_mkdir(struct vkernel_plan *p, const char *path, unsigned mode, const char *why)
{
    struct vk_action *a = plan_add(p, VK_ACTION_MKDIR, path, why);
    if (!a)
        return -ENOMEM;
    a->mode = mode;
    return 0;
}

int plan_write_file(struct vkernel_plan *p, const char *path, const char *content, unsigned mode,
                    const char *why)
{
    struct vk_action *a = plan_add(p, VK_ACTION_WRITE_FILE, path, why);
    if (!a)
        return -ENOMEM;
    a->mode = mode;
    return dup_or_null(content ? content : "", &a->content);
}

int plan_symlink(struct vkernel_plan *p, const char *path, const char *target, const char *why)
{
    struct vk_action *a = plan_add(p, VK_ACTION_SYMLINK, path, why);
    if (!a)
        return -ENOMEM;
    return dup_or_null(target, &a->source);
}

int plan_mount(struct vkernel_plan *p, const char *fstype, const char *source, const char *path,
               const char *options, const char *why)
{
    struct vk_action *a = plan_add(p, VK_ACTION_MOUNT, path, why);
    if (!a)
        return -ENOMEM;
    if (dup_or_null(fstype, &a->fstype) < 0 || dup_or_null(source, &a->source) < 0 ||
        dup_or_null(options, &a->options) < 0)
        return -ENOMEM;
    return 0;
}

int plan_trace(struct vkernel_plan *p, const char *rule, const char *arg, const char *why)
{
    if (vkernel_plan_find_trace(p, rule, arg))
        return 0;
    if (grow((void **)&p->trace, &p->allocated_trace, p->n_trace, sizeof(struct vk_trace_rule)) < 0)
        return -ENOMEM;
    struct vk_trace_rule *t = &p->trace[p->n_trace];
    if (dup_or_null(rule, &t->rule) < 0 || dup_or_null(arg, &t->arg) < 0 || dup_or_null(why, &t->why) < 0) {
        free(t->rule);
        free(t->arg);
        free(t->why);
        memset(t, 0, sizeof(*t));
        return -ENOMEM;
    }
    p->n_trace++;
    return 0;
}

int plan_note(struct vkernel_plan *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *line;
    int r = vasprintf(&line, fmt, ap);
    va_end(ap);
    if (r < 0)
        return -ENOMEM;
    r = vk_strv_push(&p->notes, &p->n_notes, line);
    free(line);
    return r;
}

const struct vk_action *vkernel_plan_find(const struct vkernel_plan *p, enum vk_action_type type,
                                          const char *path)
{
    for (size_t i = 0; i < p->n_actions; i++)
        if (p->actions[i].type == type && p->actions[i].path && strcmp(p->actions[i].path, path) == 0)
            return &p->actions[i];
    return NULL;
}

static bool str_eq_null(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

const struct vk_trace_rule *vkernel_plan_find_trace(const struct vkernel_plan *p, const char *rule,
                                                    const char *arg)
{
    for (size_t i = 0; i < p->n_trace; i++)
        if (strcmp(p->trace[i].rule, rule) == 0 && str_eq_null(p->trace[i].arg, arg))
            return &p->trace[i];
    return NULL;
}

/* The flag that carries each rule's argument on kig-trace's command line. A rule without an argument is
 * enabled with --rule NAME; "redirect" arguments go with --redirect (which enables the rule). */
static const char *trace_arg_flag(const char *rule)
{
    if (strcmp(rule, "redirect") == 0)
        return "--redirect";
    if (strcmp(rule, "cgroup-magic") == 0)
        return "--cgroup-magic";
    if (strcmp(rule, "cgroup-populate") == 0)
        return "--cgroup-populate";
    return NULL;
}

int vkernel_plan_trace_argv(const struct vkernel_plan *p, char ***ret, size_t *ret_n)
{
    char **v = NULL;
    size_t n = 0;
    int r = 0;
    /* Each rule once with --rule, in the plan's order, then the arguments. */
    for (size_t i = 0; i < p->n_trace && r == 0; i++) {
        bool seen = false;
        for (size_t j = 0; j < i; j++)
            seen = seen || strcmp(p->trace[j].rule, p->trace[i].rule) == 0;
        if (!seen) {
            r = vk_strv_push(&v, &n, "--rule");
            if (r == 0)
                r = vk_strv_push(&v, &n, p->trace[i].rule);
        }
    }
    for (size_t i = 0; i < p->n_trace && r == 0; i++) {
        const char *flag = trace_arg_flag(p->trace[i].rule);
        if (!flag || !p->trace[i].arg)
            continue;
        r = vk_strv_push(&v, &n, flag);
        if (r == 0)
            r = vk_strv_push(&v, &n, p->trace[i].arg);
    }
    if (r == 0 && !v) {
        v = calloc(1, sizeof(char *));
        if (!v)
            r = -ENOMEM;
    }
    if (r < 0) {
        vk_strv_free_n(v, n);
        return r;
    }
    *ret = v;
    if (ret_n)
        *ret_n = n;
    return 0;
}

static const char *const default_cgroup_parents[] = {"k8s.io", "kubepods", NULL};

int vkernel_plan(const struct sandbox_features *f, const struct vkernel_options *o, struct vkernel_plan **ret)
{
    if (!o->run_dir || o->run_dir[0] != '/')
        return -EINVAL;
    struct vkernel_options opts = *o;
    if (!opts.cgroup_parents)
        opts.cgroup_parents = default_cgroup_parents;
    if (!opts.cgroupfs)
        opts.cgroupfs = "kig-cgroupfs";

    _cleanup_vkernel_plan_ struct vkernel_plan *p = vkernel_plan_new();
    if (!p)
        return -ENOMEM;
    int r = plan_sysctl(p, f, &opts);
    if (r == 0)
        r = plan_cgroup(p, f, &opts);
    if (r == 0)
        r = plan_dev(p, f, &opts);
    if (r < 0)
        return r;
    *ret = TAKE_PTR(p);
    return 0;
}
