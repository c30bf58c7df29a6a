/* The feature structure: names, lookup, JSON. The live probe is in probe.c, presets in presets.c. */
#include "sandbox-features.h"

#include "macro.h"

#include <string.h>

static const char *const layout_names[] = {
    [CGROUP_LAYOUT_EMPTY] = "empty",   [CGROUP_LAYOUT_V1] = "v1",       [CGROUP_LAYOUT_V2] = "v2",
    [CGROUP_LAYOUT_HYBRID] = "hybrid", [CGROUP_LAYOUT_OTHER] = "other",
};

const char *cgroup_layout_name(enum cgroup_layout l)
{
    return (unsigned)l < ARRAY_SIZE(layout_names) ? layout_names[l] : NULL;
}

void sandbox_features_done(struct sandbox_features *f)
{
    for (size_t i = 0; i < f->n_sysctl; i++) {
        free(f->sysctl[i].path);
        free(f->sysctl[i].value);
    }
    free(f->sysctl);
    free(f->kernel_release);
    memset(f, 0, sizeof(*f));
}

int sandbox_features_add_sysctl(struct sandbox_features *f, const char *path, bool is_dir, bool writable,
                                const char *value)
{
    if (sandbox_features_sysctl(f, path))
        return 0;
    if (f->n_sysctl == f->n_sysctl_allocated) {
        size_t n = f->n_sysctl_allocated ? f->n_sysctl_allocated * 2 : 64;
        struct sysctl_entry_features *nv = realloc(f->sysctl, n * sizeof(*nv));
        if (!nv)
            return -ENOMEM;
        f->sysctl = nv;
        f->n_sysctl_allocated = n;
    }
    struct sysctl_entry_features *e = &f->sysctl[f->n_sysctl];
    *e = (struct sysctl_entry_features){.is_dir = is_dir, .writable = writable};
    e->path = strdup(path);
    e->value = value ? strdup(value) : NULL;
    if (!e->path || (value && !e->value)) {
        free(e->path);
        free(e->value);
        return -ENOMEM;
    }
    f->n_sysctl++;
    return 0;
}

const struct sysctl_entry_features *sandbox_features_sysctl(const struct sandbox_features *f,
                                                            const char *path)
{
    for (size_t i = 0; i < f->n_sysctl; i++)
        if (strcmp(f->sysctl[i].path, path) == 0)
            return &f->sysctl[i];
    return NULL;
}

static int set_new(json_t *obj, const char *key, json_t *value)
{
    if (!value || json_object_set_new(obj, key, value) < 0)
        return -ENOMEM;
    return 0;
}

static json_t *sysctl_to_json(const struct sandbox_features *f)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < f->n_sysctl; i++) {
        const struct sysctl_entry_features *e = &f->sysctl[i];
        json_t *o = e->is_dir ? json_pack("{s:s, s:b}", "path", e->path, "dir", 1)
                              : json_pack("{s:s, s:b, s:s?}", "path", e->path, "writable", e->writable,
                                          "value", e->value);
        if (!o || json_array_append_new(a, o) < 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

int sandbox_features_to_json(const struct sandbox_features *f, json_t **ret)
{
    json_t *o = json_object();
    if (!o)
        return -ENOMEM;
    json_t *controllers = json_object(), *gaps = json_object();
    int r = (controllers && gaps) ? 0 : -ENOMEM;
    for (int c = 0; c < _CGROUP_CONTROLLER_MAX && r == 0; c++)
        r = set_new(controllers, cgroup_controller_name(c),
                    json_pack("{s:b, s:b}", "mountable", f->controller[c].mountable, "mounted",
                              f->controller[c].mounted));
    for (int g = 0; g < _CGROUP_GAP_MAX && r == 0; g++)
        r = set_new(gaps, cgroup_gap_file(g), json_boolean(f->cgroup_gap[g]));
    if (r == 0)
        r = set_new(o, "is_gvisor", json_boolean(f->is_gvisor));
    if (r == 0)
        r = set_new(o, "kernel_release", f->kernel_release ? json_string(f->kernel_release) : json_null());
    if (r == 0)
        r = set_new(o, "proc_sys_tmpfs_mountable", json_boolean(f->proc_sys_tmpfs_mountable));
    if (r == 0)
        r = set_new(o, "bind_mount_file", json_boolean(f->bind_mount_file));
    if (r == 0)
        r = set_new(o, "cap_last_cap", json_integer(f->cap_last_cap));
    if (r == 0)
        r = set_new(o, "cgroup_layout", json_string(cgroup_layout_name(f->cgroup_layout)));
    if (r == 0)
        r = set_new(o, "cgroup2_mountable", json_boolean(f->cgroup2_mountable));
    if (r == 0)
        r = set_new(o, "cgroup_controllers", controllers);
    controllers = NULL;
    if (r == 0)
        r = set_new(o, "cgroup_missing_files", gaps);
    gaps = NULL;
    if (r == 0)
        r = set_new(o, "cgroup_file_statfs", json_boolean(f->cgroup_file_statfs));
    if (r == 0)
        r = set_new(o, "cgroup_mount_twice", json_boolean(f->cgroup_mount_twice));
    if (r == 0)
        r = set_new(o, "dev_kmsg", json_boolean(f->dev_kmsg));
    if (r == 0)
        r = set_new(o, "dev_null", json_boolean(f->dev_null));
    if (r == 0)
        r = set_new(o, "tmpfs", json_boolean(f->tmpfs));
    if (r == 0)
        r = set_new(o, "overlay", json_boolean(f->overlay));
    if (r == 0)
        r = set_new(o, "fuse", json_boolean(f->fuse));
    if (r == 0)
        r = set_new(o, "sysctl", sysctl_to_json(f));
    json_decref(controllers);
    json_decref(gaps);
    if (r < 0) {
        json_decref(o);
        return r;
    }
    *ret = o;
    return 0;
}
