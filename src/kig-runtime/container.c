#include "container.h"

#include "fileutil.h"
#include "log.h"

#include <string.h>

bool container_exists(const struct global_options *g, const char *id)
{
    static const char *const dirs[] = {"kig", "crun", "runc"};
    for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
        _cleanup_free_ char *p = NULL;
        if (asprintf(&p, "%s/%s/%s", g->root, dirs[i], id) >= 0 && path_exists(p))
            return true;
    }
    return false;
}

int container_open(const struct global_options *g, const char *id, struct container *ret)
{
    *ret = (struct container){0};
    int r = container_state_load(g->root, id, &ret->state);
    if (r < 0 && r != -ENOENT)
        return r;
    ret->has_state = r == 0;
    if (ret->has_state)
        r = oci_runtime_at(g, ret->state.runtime_path, ret->state.runtime, &ret->rt);
    else
        r = oci_runtime_select(g, &ret->rt);
    if (r < 0)
        container_close(ret);
    return r;
}

void container_close(struct container *c)
{
    container_state_done(&c->state);
    oci_runtime_done(&c->rt);
    c->has_state = false;
}

int process_stat(int pid, char *ret_state, unsigned long long *ret_start_time)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/stat", pid);
    _cleanup_free_ char *stat = NULL;
    if (pid <= 0 || read_line(path, &stat) < 0)
        return -ENOENT;
    /* "PID (COMM) S PPID ...": COMM may hold anything, so count from the last ')'. Start time is field 22. */
    const char *p = strrchr(stat, ')');
    if (!p || p[1] != ' ')
        return -EBADMSG;
    *ret_state = p[2];
    p += 2;
    for (int field = 3; field < 22 && p; field++) {
        p = strchr(p, ' ');
        if (p)
            p++;
    }
    if (!p)
        return -EBADMSG;
    *ret_start_time = strtoull(p, NULL, 10);
    return 0;
}

int container_init_alive(const struct container *c)
{
    if (!c->has_state || !c->state.init_start_time)
        return -ENODATA;
    char st;
    unsigned long long start;
    return process_stat(c->state.init_pid, &st, &start) == 0 && st != 'Z' && st != 'X' &&
           start == c->state.init_start_time;
}

/* crun calls a container "stopped" when it cannot read the freezer cgroup (none in gVisor 20221219), even
 * while its init runs. kig-runtime knows the init it created: alive with the same start time is running. */
static void correct_status(const struct container *c, json_t *state)
{
    if (strcmp(container_status(state), "stopped") != 0 || container_init_alive(c) != 1)
        return;
    log_debug("container %s: the runtime says stopped but its init %d runs: running", c->state.id,
              c->state.init_pid);
    json_object_set_new(state, "status", json_string("running"));
    json_object_set_new(state, "pid", json_integer(c->state.init_pid));
}

int container_query_state(const struct global_options *g, const struct container *c, const char *id,
                          json_t **ret)
{
    int r = oci_runtime_state(&c->rt, g, id, ret);
    if (r == 0)
        correct_status(c, *ret);
    return r;
}

int container_runtime_state(const struct global_options *g, const struct container *c, const char *id,
                            json_t **ret)
{
    int r = container_query_state(g, c, id, ret);
    if (r == -ENOENT)
        return log_error_errno(ENOENT, "container \"%s\" does not exist", id);
    return r;
}

const char *container_status(const json_t *state)
{
    const char *s = json_string_value(json_object_get(state, "status"));
    return s ? s : "";
}
