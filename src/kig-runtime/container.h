/* A container as later commands see it: kig-runtime's record (when it created the container) and the real
 * runtime that manages it. */
#pragma once

#include "cli.h"
#include "runtime-exec.h"
#include "state.h"

#include <jansson.h>
#include <stdbool.h>

/* jansson's own cleanup helper (json_auto_t), as a cleanup attribute. */
#define _cleanup_json_ _cleanup_(json_decrefp)

struct container {
    bool has_state; /* kig-runtime created it (state below is filled) */
    struct container_state state;
    struct oci_runtime rt;
};

/* True when kig-runtime or a runtime under ROOT knows the id. */
bool container_exists(const struct global_options *g, const char *id);

/* Loads what is known about id. Without a kig-runtime record the default runtime is used (a container
 * created by the runtime directly). Returns 0 or a negative errno (logged). */
int container_open(const struct global_options *g, const char *id, struct container *ret);
void container_close(struct container *c);

/* The runtime's state of the container, its status corrected where the runtime misjudges it here. Returns
 * -ENOENT, silently, when the runtime does not know the container. */
int container_query_state(const struct global_options *g, const struct container *c, const char *id,
                          json_t **ret);

/* The same; logs `container "ID" does not exist` (the words containerd looks
 * for) and returns -ENOENT when there is none. */
int container_runtime_state(const struct global_options *g, const struct container *c, const char *id,
                            json_t **ret);

/* The state letter and start time of a process from /proc/PID/stat. Returns -ENOENT when it is gone. */
int process_stat(int pid, char *ret_state, unsigned long long *ret_start_time);

/* Whether the init kig-runtime created still runs (same pid and start time): 1 or 0; -ENODATA when
 * kig-runtime has no record of it (the runtime must be asked). */
int container_init_alive(const struct container *c);

/* How many hooks of a kind ("poststart", "poststop") the config its runtime was given holds; -EIO when that
 * config cannot be read (each caller decides what an unknown config means for it). */
int container_hook_count(const struct container *c, const char *kind);

/* "created", "running", "paused", "stopped" from a state document; "" when absent. */
const char *container_status(const json_t *state);

/* ---- the container's cgroups, handled without the runtime (each process start is slow in gVisor) ---- */

struct mount_table;

/* The container's cgroups path (linux.cgroupsPath of the config its runtime got, as cgroupfs paths are:
 * "/k8s.io/ID"), or NULL when it has none kig-runtime handles (systemd's "slice:prefix:name", "/"). */
char *container_cgroups_path(const struct container *c);

/* Sends sig to every process in the cgroup at path in each cgroup hierarchy mounted in t (v1 hierarchies
 * and cgroup2; not the container's own views under its rootfs). Skips this process and zombies. Returns
 * how many processes were signalled. */
unsigned cgroup_signal(const struct mount_table *t, const char *path, const char *rootfs, int sig);

/* Removes the directories of the cgroup at path in each hierarchy (rmdir: only empty cgroups go). Returns
 * how many could not be removed. */
unsigned cgroup_remove(const struct mount_table *t, const char *path, const char *rootfs);

/* A signal as runc takes it: "KILL", "SIGKILL" or "9". -EINVAL when unknown. */
int signal_from_string(const char *s);
