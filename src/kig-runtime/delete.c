/* `delete`: the runtime's delete plus what kig-runtime set up, and every mount left under the rootfs of a
 * container that had no mount namespace of its own (there, each of its mounts is a mount of the sandbox). */
#include "cli.h"
#include "container.h"
#include "fileutil.h"
#include "log.h"
#include "rootfs-mounts.h"

#include <signal.h>
#include <string.h>
#include <time.h>

static bool process_gone(pid_t pid)
{
    if (pid <= 0 || kill(pid, 0) < 0)
        return true;
    /* A zombie waits for its parent (the shim) to reap it: its mounts are no longer in use. */
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    _cleanup_free_ char *stat = NULL;
    if (read_line(path, &stat) < 0)
        return true;
    const char *paren = strrchr(stat, ')');
    return paren && paren[1] == ' ' && paren[2] == 'Z';
}

static void wait_gone(pid_t pid, int timeout_ms)
{
    for (int waited = 0; waited < timeout_ms && !process_gone(pid); waited += 20)
        nanosleep(&(struct timespec){0, 20 * 1000 * 1000}, NULL);
}

/* Kills what runs in the container, so its mounts can go before the runtime removes its cgroup. */
static void kill_all(const struct global_options *g, const struct container *c, const char *id, pid_t pid)
{
    const char *args[] = {"kill", "--all", id, "KILL"};
    int code;
    if (oci_runtime_run(&c->rt, g, args, ARRAY_SIZE(args), NULL, &code) < 0 || code != 0)
        log_debug("kill --all %s exited %d; killing its init %d", id, code, (int)pid);
    if (pid > 0)
        (void)kill(pid, SIGKILL);
    wait_gone(pid, 5000);
}

static void release_kig_setup(const struct global_options *g, struct container *c)
{
    unsigned failed = rootfs_mounts_undo(c->state.mounted);
    if (c->state.shares_mounts) {
        int r = unmount_below(c->state.rootfs);
        if (r > 0)
            log_debug("container %s: unmounted %d mounts left under %s", c->state.id, r, c->state.rootfs);
    }
    if (failed)
        log_warn("container %s: %u of kig-runtime's mounts could not be unmounted", c->state.id, failed);
}

static void remove_cgroup_dirs(const json_t *dirs)
{
    /* The runtime removes the container's cgroup; these are the ones kig-runtime created, deepest first. */
    for (size_t i = json_array_size(dirs); i > 0; i--) {
        const char *d = json_string_value(json_array_get(dirs, i - 1));
        if (d && rmdir(d) < 0 && errno != ENOENT)
            log_debug("cannot remove cgroup %s: %m", d);
    }
}

static int do_delete(const struct global_options *g, const char *id, bool force, int argc, char **argv)
{
    _cleanup_(container_close) struct container c = {0};
    if (container_open(g, id, &c) < 0)
        return -EIO;
    _cleanup_json_ json_t *state = NULL;
    int r = container_query_state(g, &c, id, &state);
    if (r == -ENOENT) {
        if (!c.has_state)
            return log_error_errno(ENOENT, "container \"%s\" does not exist", id);
        /* A create that died halfway: only kig-runtime's part is left. */
        release_kig_setup(g, &c);
        remove_cgroup_dirs(c.state.cgroup_dirs);
        return container_state_remove(g->root, id);
    }
    if (r < 0)
        return r;
    if (!c.has_state) {
        oci_runtime_exec(&c.rt, g, (const char *const *)argv, (size_t)argc);
        return -EIO;
    }
    const char *status = container_status(state);
    bool stopped = strcmp(status, "stopped") == 0;
    if (!force && (strcmp(status, "running") == 0 || strcmp(status, "paused") == 0))
        return log_error_errno(EBUSY, "cannot delete container %s that is not stopped: %s", id, status);
    if (!stopped)
        kill_all(g, &c, id, (pid_t)json_integer_value(json_object_get(state, "pid")));
    release_kig_setup(g, &c);
    int code;
    if ((r = oci_runtime_run(&c.rt, g, (const char *const *)argv, (size_t)argc, NULL, &code)) < 0)
        return r;
    if (code != 0)
        return -EIO; /* the runtime logged why */
    remove_cgroup_dirs(c.state.cgroup_dirs);
    return container_state_remove(g->root, id);
}

int cmd_delete(const struct global_options *g, int argc, char **argv)
{
    static const struct cli_option options[] = {{"force", 'f', false}};
    const char *values[1] = {NULL};
    int first = cli_parse("delete", options, 1, argc, argv, values, -1, NULL, NULL);
    if (first < 0)
        return 1;
    if (first != argc - 1) {
        log_error("delete: usage: kig-runtime delete [--force] ID");
        return 1;
    }
    if (!container_id_check(argv[first]))
        return 1;
    return do_delete(g, argv[first], cli_true(values[0]), argc, argv) < 0 ? 1 : 0;
}
