/* Mounts kig-runtime makes inside a container's rootfs, and their removal.
 *
 * Where mount namespaces do not isolate, every mount a container gets is a mount of the whole sandbox, under
 * the container's rootfs; and where mount(2) on /proc/self/fd/N does not follow the magic link, runc and crun
 * cannot make them at all. Then kig-runtime performs the spec's mounts itself (the plan from spec_rewrite),
 * before the runtime runs, and `delete` unmounts them and anything else left under the rootfs. */
#pragma once

#include <jansson.h>
#include <stdbool.h>

enum resolve_create {
    RESOLVE_NO_CREATE,
    RESOLVE_CREATE_DIR,  /* missing components become directories */
    RESOLVE_CREATE_FILE, /* ... and the last one an empty file (a bind mount of a file) */
};

/* Resolves path inside rootfs as the container would see it: ".." stops at the rootfs and symlinks are
 * followed relative to the rootfs, so nothing resolves outside it. Returns the host path (newly allocated)
 * or a negative errno (-ENOENT for a missing component when not creating, -ELOOP, -ENOTDIR). */
int rootfs_resolve(const char *rootfs, const char *path, enum resolve_create create, char **ret);

/* Mount options of an OCI mount: the MS_* flags and the data string for mount(2). Propagation options are
 * left out (they mean nothing without a mount namespace). Returns 0 or -ENOMEM; *ret_data is NULL when
 * there are no data options. */
int mount_options_parse(const json_t *options, unsigned long *ret_flags, char **ret_data);

/* Performs the plan made by spec_rewrite (kig_mounts) for the container whose rootfs and bundle are given.
 * cgroups_path is linux.cgroupsPath (or NULL). Appends every mount point it mounts to `mounted` and every
 * cgroup directory it creates to `cgroup_dirs`, so the caller can undo a partial run. Returns 0 or a
 * negative errno after logging the cause. */
int rootfs_mounts_apply(const json_t *plan, const char *rootfs, const char *bundle, const char *cgroups_path,
                        json_t *mounted, json_t *cgroup_dirs);

/* Unmounts the given mount points, last first. Returns the number that could not be unmounted. */
unsigned rootfs_mounts_undo(const json_t *mounted);

/* Unmounts every mount strictly below dir (deepest first), e.g. what a container mounted under its rootfs.
 * Returns the number of mounts removed, or a negative errno when some could not be (logged). */
int unmount_below(const char *dir);
/* The same, with a mount table the caller has just read for the first pass (another is read only when a
 * mount was hidden under a later one). */
struct mount_table;
int unmount_below_from(const struct mount_table *table, const char *dir);
