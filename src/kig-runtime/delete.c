/* `delete`: the runtime's delete plus what kig-runtime set up, and every mount left under the rootfs of a
 * container that had no mount namespace of its own (there, each of its mounts is a mount of the sandbox).
 *
 * A container whose init kig-runtime saw die is deleted without the runtime: what is left in its cgroup is
 * killed, its mounts go, then its cgroup and the runtime's state directory, which is all runc's and crun's
 * delete do for a stopped container without hooks. containerd gives the whole delete of an exited
 * container 10 s, shim included, and kills the runtime when they are up; in a loaded gVisor sandbox a
 * process start alone can take a second, and a runtime killed halfway leaves state it cannot read again. */
#include "cli.h"
#include "container.h"
#include "fileutil.h"
#include "log.h"
#include "mountinfo.h"
#include "own-init.h"
#include "rootfs-mounts.h"

#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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

/* The pids in a cgroup.procs file, other than ours and zombies, each sent SIGKILL. Returns how many. */
/* Kills what is left in the container's cgroup. Without a PID namespace of its own (setns missing), the
 * children of a container's init outlive it; in a PID namespace the kernel kills them with the init. */
static void kill_cgroup_leftovers(const struct container *c, const char *cgroups_path,
                                  const struct mount_table *t)
{
    for (int round = 0; cgroups_path && round < 100; round++) {
        unsigned killed = cgroup_signal(t, cgroups_path, c->state.rootfs, SIGKILL);
        if (!killed)
            break;
        if (round == 0)
            log_debug("container %s: killed %u processes left in its cgroup", c->state.id, killed);
        nanosleep(&(struct timespec){0, 20 * 1000 * 1000}, NULL);
    }
}

/* Everything kig-runtime set up, and what the container left: processes in its cgroup, mounts under its
 * rootfs. t is a fresh mount table (or NULL). */
static void release_kig_setup(struct container *c, const struct mount_table *t)
{
    _cleanup_free_ char *cgroups_path = container_cgroups_path(c);
    if (t)
        kill_cgroup_leftovers(c, cgroups_path, t);
    unsigned failed = rootfs_mounts_undo(c->state.mounted);
    if (c->state.shares_mounts) {
        /* After kig-runtime's own unmounts the table is stale; a stale entry only costs another read. */
        int r = unmount_below_from(t, c->state.rootfs);
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

/* Only kig-runtime's record is left to remove. */
static int forget(const struct global_options *g, struct container *c)
{
    remove_cgroup_dirs(c->state.cgroup_dirs);
    return container_state_remove(g->root, c->state.id);
}

/* A stopped container without poststop hooks: the runtime's part of its delete, done here. */
static int delete_stopped(const struct global_options *g, struct container *c, const char *id,
                          const struct mount_table *t)
{
    _cleanup_free_ char *cgroups_path = container_cgroups_path(c);
    if (cgroups_path && t && cgroup_remove(t, cgroups_path, c->state.rootfs) > 0)
        log_debug("container %s: some of its cgroups are not empty yet", id);
    _cleanup_free_ char *dir = path_join(c->rt.root, id);
    int r = dir ? rm_rf(dir) : -ENOMEM;
    if (r < 0 && r != -ENOENT)
        return log_error_errno(r, "cannot remove the runtime's state %s: %m", dir);
    return forget(g, c);
}

/* A container whose init kig-runtime runs (own-init.h) and which still runs or waits to start. */
static int delete_kig_init(const struct global_options *g, struct container *c, const char *id, bool force)
{
    _cleanup_free_ char *fifo = own_init_fifo(g->root, id);
    if (!fifo)
        return log_error_errno(ENOMEM, "out of memory");
    if (!force && container_init_alive(c) == 1 && !path_exists(fifo))
        return log_error_errno(EBUSY, "cannot delete container %s that is not stopped: running", id);
    _cleanup_free_ char *cgroups_path = container_cgroups_path(c);
    struct mount_table t;
    bool have_table = mount_table_read(&t) == 0;
    if (container_init_alive(c) == 1)
        (void)kill(c->state.init_pid, SIGKILL);
    if (have_table)
        kill_cgroup_leftovers(c, cgroups_path, &t);
    wait_gone(c->state.init_pid, 5000);
    release_kig_setup(c, have_table ? &t : NULL);
    int r = delete_stopped(g, c, id, have_table ? &t : NULL);
    if (have_table)
        mount_table_free(&t);
    return r;
}

static int do_delete(const struct global_options *g, const char *id, bool force, int argc, char **argv)
{
    _cleanup_(container_close) struct container c = {0};
    if (container_open(g, id, &c) < 0)
        return -EIO;
    if (c.has_state && container_init_alive(&c) == 0 && container_hook_count(&c, "poststop") <= 0) {
        /* One read of the mount table serves everything (it is slow in gVisor with many containers). */
        struct mount_table t;
        bool have_table = mount_table_read(&t) == 0;
        release_kig_setup(&c, have_table ? &t : NULL);
        int r = delete_stopped(g, &c, id, have_table ? &t : NULL);
        if (have_table)
            mount_table_free(&t);
        return r;
    }
    if (c.has_state && c.state.kig_init)
        return delete_kig_init(g, &c, id, force);
    _cleanup_json_ json_t *state = NULL;
    int r = container_query_state(g, &c, id, &state);
    if (r == -ENOENT) {
        if (!c.has_state)
            return log_error_errno(ENOENT, "container \"%s\" does not exist", id);
        /* A create that died halfway: only kig-runtime's part is left. */
        release_kig_setup(&c, NULL);
        return forget(g, &c);
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
    struct mount_table t;
    bool have_table = mount_table_read(&t) == 0;
    release_kig_setup(&c, have_table ? &t : NULL);
    if (have_table)
        mount_table_free(&t);
    int code;
    if ((r = oci_runtime_run(&c.rt, g, (const char *const *)argv, (size_t)argc, NULL, &code)) < 0)
        return r;
    if (code != 0)
        return -EIO; /* the runtime logged why */
    return forget(g, &c);
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
