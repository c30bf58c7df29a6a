#include "state.h"

#include "fileutil.h"
#include "log.h"
#include "macro.h"
#include "runtime-exec.h"

#include <string.h>

char *container_state_dir(const char *root, const char *id)
{
    char *d = NULL;
    if (asprintf(&d, "%s/kig/%s", root, id) < 0)
        return NULL;
    return d;
}

static char *state_file(const char *root, const char *id)
{
    char *f = NULL;
    if (asprintf(&f, "%s/kig/%s/state.json", root, id) < 0)
        return NULL;
    return f;
}

static json_t *array_or_empty(json_t *a)
{
    return a ? json_incref(a) : json_array();
}

int container_state_save(const char *root, const struct container_state *s)
{
    _cleanup_free_ char *dir = container_state_dir(root, s->id), *file = state_file(root, s->id);
    if (!dir || !file)
        return log_error_errno(ENOMEM, "out of memory");
    int r = mkdir_p(dir, 0700);
    if (r < 0)
        return log_error_errno(r, "cannot create %s: %m", dir);
    json_t *j =
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:b, s:b, s:s?, s:i, s:I, s:o, s:o}", "id", s->id,
                  "bundle", s->bundle, "rootfs", s->rootfs, "runtime_path", s->runtime_path, "runtime",
                  oci_runtime_kind_name(s->runtime), "config_path", s->config_path, "kig_exec", s->kig_exec,
                  "shares_mounts", s->shares_mounts, "kig_init", s->kig_init, "created", s->created,
                  "init_pid", s->init_pid, "init_start_time", (json_int_t)s->init_start_time, "mounted",
                  array_or_empty(s->mounted), "cgroup_dirs", array_or_empty(s->cgroup_dirs));
    _cleanup_free_ char *text = j ? json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    json_decref(j);
    if (!text)
        return log_error_errno(ENOMEM, "out of memory");
    r = write_file_atomic(file, text, strlen(text), 0600);
    if (r < 0)
        return log_error_errno(r, "cannot write %s: %m", file);
    return 0;
}

static int dup_string(const json_t *j, const char *key, char **ret)
{
    const char *s = json_string_value(json_object_get(j, key));
    if (!s)
        return -EBADMSG;
    *ret = strdup(s);
    return *ret ? 0 : -ENOMEM;
}

int container_state_load(const char *root, const char *id, struct container_state *ret)
{
    *ret = (struct container_state){0};
    _cleanup_free_ char *file = state_file(root, id);
    if (!file)
        return log_error_errno(ENOMEM, "out of memory");
    if (access(file, F_OK) < 0)
        return -ENOENT;
    json_error_t err;
    json_t *j = json_load_file(file, 0, &err);
    if (!j)
        return log_error_errno(EBADMSG,
                               "%s is corrupt (%s); remove the container with 'kig-runtime delete "
                               "--force %s'",
                               file, err.text, id);
    int r;
    const char *runtime = json_string_value(json_object_get(j, "runtime"));
    if ((r = dup_string(j, "id", &ret->id)) < 0 || (r = dup_string(j, "bundle", &ret->bundle)) < 0 ||
        (r = dup_string(j, "rootfs", &ret->rootfs)) < 0 ||
        (r = dup_string(j, "runtime_path", &ret->runtime_path)) < 0 ||
        (r = dup_string(j, "config_path", &ret->config_path)) < 0 || !runtime) {
        json_decref(j);
        container_state_done(ret);
        return log_error_errno(r < 0 ? r : EBADMSG,
                               "%s is incomplete; remove the container with 'kig-runtime "
                               "delete --force %s'",
                               file, id);
    }
    ret->runtime = strcmp(runtime, "runc") == 0 ? OCI_RUNTIME_RUNC : OCI_RUNTIME_CRUN;
    ret->kig_exec = json_is_true(json_object_get(j, "kig_exec"));
    ret->shares_mounts = json_is_true(json_object_get(j, "shares_mounts"));
    ret->kig_init = json_is_true(json_object_get(j, "kig_init"));
    const char *created = json_string_value(json_object_get(j, "created"));
    if (created && !(ret->created = strdup(created))) {
        json_decref(j);
        container_state_done(ret);
        return log_error_errno(ENOMEM, "out of memory");
    }
    ret->init_pid = (int)json_integer_value(json_object_get(j, "init_pid"));
    ret->init_start_time = (unsigned long long)json_integer_value(json_object_get(j, "init_start_time"));
    json_t *m = json_object_get(j, "mounted"), *c = json_object_get(j, "cgroup_dirs");
    ret->mounted = json_is_array(m) ? json_incref(m) : json_array();
    ret->cgroup_dirs = json_is_array(c) ? json_incref(c) : json_array();
    json_decref(j);
    return 0;
}

int container_state_remove(const char *root, const char *id)
{
    _cleanup_free_ char *dir = container_state_dir(root, id);
    if (!dir)
        return log_error_errno(ENOMEM, "out of memory");
    int r = rm_rf(dir);
    if (r < 0)
        return log_error_errno(r, "cannot remove %s: %m", dir);
    return 0;
}

void container_state_done(struct container_state *s)
{
    free(s->id);
    free(s->bundle);
    free(s->rootfs);
    free(s->runtime_path);
    free(s->config_path);
    free(s->created);
    json_decref(s->mounted);
    json_decref(s->cgroup_dirs);
    *s = (struct container_state){0};
}
