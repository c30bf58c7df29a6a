#include "container.h"

#include "fileutil.h"
#include "log.h"
#include "mountinfo.h"

#include <signal.h>
#include <string.h>
#include <unistd.h>

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

int container_hook_count(const struct container *c, const char *kind)
{
    _cleanup_json_ json_t *config = json_load_file(c->state.config_path, 0, NULL);
    if (!config)
        return -EIO;
    return (int)json_array_size(json_object_get(json_object_get(config, "hooks"), kind));
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

char *container_cgroups_path(const struct container *c)
{
    if (!c->has_state || !c->state.config_path)
        return NULL;
    json_t *config = json_load_file(c->state.config_path, 0, NULL);
    const char *p = json_string_value(json_object_get(json_object_get(config, "linux"), "cgroupsPath"));
    char *ret = p && p[0] == '/' && p[1] && !strstr(p, "/../") ? strdup(p) : NULL;
    json_decref(config);
    return ret;
}

/* Each cgroup hierarchy of the sandbox (not a container's view of its own cgroup, mounted with another root,
 * nor anything under a rootfs). */
static bool is_hierarchy(const struct mount_entry *e, const char *rootfs)
{
    return (strcmp(e->fstype, "cgroup") == 0 || strcmp(e->fstype, "cgroup2") == 0) &&
           strcmp(e->root, "/") == 0 && !(rootfs && path_is_below(e->mount_point, rootfs));
}

unsigned cgroup_signal(const struct mount_table *t, const char *path, const char *rootfs, int sig)
{
    unsigned n = 0;
    for (size_t i = 0; i < t->n; i++) {
        if (!is_hierarchy(&t->entries[i], rootfs))
            continue;
        _cleanup_free_ char *procs = NULL, *text = NULL;
        if (asprintf(&procs, "%s%s/cgroup.procs", t->entries[i].mount_point, path) < 0 ||
            read_file(procs, &text, NULL, 0) < 0)
            continue;
        char *save = NULL;
        for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
            int pid = atoi(line);
            char st;
            unsigned long long start;
            if (pid <= 0 || pid == getpid() || process_stat(pid, &st, &start) < 0 || st == 'Z' || st == 'X')
                continue;
            if (kill(pid, sig) == 0)
                n++;
        }
    }
    return n;
}

unsigned cgroup_remove(const struct mount_table *t, const char *path, const char *rootfs)
{
    unsigned failed = 0;
    for (size_t i = 0; i < t->n; i++) {
        if (!is_hierarchy(&t->entries[i], rootfs))
            continue;
        _cleanup_free_ char *dir = path_join(t->entries[i].mount_point, path);
        if (dir && rmdir(dir) < 0 && errno != ENOENT) {
            log_debug("cannot remove cgroup %s: %m", dir);
            failed++;
        }
    }
    return failed;
}

int signal_from_string(const char *s)
{
    static const struct {
        const char *name;
        int sig;
    } names[] = {
        {"HUP", SIGHUP},   {"INT", SIGINT},     {"QUIT", SIGQUIT}, {"ILL", SIGILL},   {"TRAP", SIGTRAP},
        {"ABRT", SIGABRT}, {"BUS", SIGBUS},     {"FPE", SIGFPE},   {"KILL", SIGKILL}, {"USR1", SIGUSR1},
        {"SEGV", SIGSEGV}, {"USR2", SIGUSR2},   {"PIPE", SIGPIPE}, {"ALRM", SIGALRM}, {"TERM", SIGTERM},
        {"CHLD", SIGCHLD}, {"CONT", SIGCONT},   {"STOP", SIGSTOP}, {"TSTP", SIGTSTP}, {"TTIN", SIGTTIN},
        {"TTOU", SIGTTOU}, {"URG", SIGURG},     {"XCPU", SIGXCPU}, {"XFSZ", SIGXFSZ}, {"VTALRM", SIGVTALRM},
        {"PROF", SIGPROF}, {"WINCH", SIGWINCH}, {"IO", SIGIO},     {"PWR", SIGPWR},   {"SYS", SIGSYS},
    };
    if (!s || !*s)
        return -EINVAL;
    if (s[0] >= '0' && s[0] <= '9') {
        char *end;
        long v = strtol(s, &end, 10);
        return *end || v <= 0 || v >= NSIG ? -EINVAL : (int)v;
    }
    if (strncmp(s, "SIG", 3) == 0)
        s += 3;
    for (size_t i = 0; i < ARRAY_SIZE(names); i++)
        if (strcmp(s, names[i].name) == 0)
            return names[i].sig;
    return -EINVAL;
}
