/* The cgroup hierarchies a process belongs to, found as a runtime finds them: the controllers and paths of
 * /proc/PID/cgroup, each mapped to the place its hierarchy is mounted in this sandbox. kig-runtime's `exec`
 * joins the cgroups of a container's init this way, and a container's init it runs itself gets its cgroup
 * in the same hierarchies (own-init.h). */
#pragma once

#include <stddef.h>
#include <sys/types.h>

struct cgroup_membership {
    char *controllers; /* "cpu,cpuacct" on cgroup v1; "" for the cgroup2 hierarchy */
    char *hierarchy;   /* where the hierarchy's root is mounted: "/sys/fs/cgroup/memory" */
    char *path;        /* the process's cgroup in it: "/k8s.io/ID", "/" for the root */
};

struct cgroup_memberships {
    struct cgroup_membership *items;
    size_t n;
};

/* The hierarchies of process pid (0: this process). A line of /proc/PID/cgroup whose hierarchy is not mounted
 * (or only under rootfs, a container's own view) is skipped. Returns 0 or a negative errno (logged). */
int cgroup_memberships_of(pid_t pid, const char *rootfs, struct cgroup_memberships *ret);
void cgroup_memberships_free(struct cgroup_memberships *m);

/* The directory of cgroup path (absolute, "/" allowed) in the hierarchy of m: newly allocated, NULL on
 * ENOMEM. */
char *cgroup_dir(const struct cgroup_membership *m, const char *path);

/* The v1 controller list of m holds controller ("cpu" in "cpu,cpuacct"). */
int cgroup_membership_has(const struct cgroup_membership *m, const char *controller);

/* The cgroup.procs file of each hierarchy in m, NULL-terminated: of each membership's own cgroup (path NULL),
 * or of cgroup path in every hierarchy. NULL on ENOMEM. Free with strv_free() (runtime-exec.h). */
char **cgroup_procs_files(const struct cgroup_memberships *m, const char *path);
