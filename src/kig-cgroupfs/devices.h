/* The device whitelist of a cgroup v1 "devices" directory, with the kernel's rules (Linux 4.4,
 * security/device_cgroup.c): a default behaviour (allow or deny) plus exceptions, "a" resets, a child
 * starts as a copy of its parent and may not allow what its parent denies.
 *
 * kig keeps the list so that devices.list reads back exactly what runc wrote (runc verifies it), but
 * nothing enforces it: gVisor decides which devices a process may open. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define DEV_ANY (-1L) /* "*" */

enum { DEV_ACC_READ = 1, DEV_ACC_WRITE = 2, DEV_ACC_MKNOD = 4 };

struct dev_exception {
    char type;  /* 'b' or 'c' ('a' is never stored: writing it resets the cgroup) */
    long major; /* DEV_ANY for "*" */
    long minor;
    unsigned access;
};

struct dev_cgroup {
    bool allow_default; /* behaviour: allow all but the exceptions, or deny all but them */
    struct dev_exception *ex;
    size_t n_ex;
};

/* The root's state: allow everything. */
void dev_cgroup_init_root(struct dev_cgroup *d);
/* A new child: a copy of the parent. Returns 0 or -ENOMEM. */
int dev_cgroup_copy(struct dev_cgroup *dst, const struct dev_cgroup *src);
void dev_cgroup_done(struct dev_cgroup *d);

/* A write to devices.allow (allow=true) or devices.deny. parent is NULL for the root; has_children
 * tells whether the cgroup has child directories ("a" is refused then, as in Linux). Returns 0, -EINVAL
 * for a malformed rule, -EPERM when the parent does not allow it, or -ENOMEM. */
int dev_cgroup_write(struct dev_cgroup *d, const struct dev_cgroup *parent, bool has_children, bool allow,
                     const char *rule);

/* devices.list: "a *:* rwm\n" in allow mode, else one line per exception. Caller frees. */
char *dev_cgroup_list(const struct dev_cgroup *d);
