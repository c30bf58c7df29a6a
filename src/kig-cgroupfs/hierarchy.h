/* An emulated cgroup v1 hierarchy (a controller the kernel lacks): a tree of directories, each holding
 * the controller's files, and which process belongs where. Independent of FUSE so it can be tested
 * directly; fuse-ops.c serves it.
 *
 * Semantics, in Linux's terms (docs/vkernel.md has the full list):
 *   - mkdir creates a complete directory in one step: its files exist when mkdir returns;
 *   - writing a pid to cgroup.procs (a tid to tasks: its whole process) moves the process; "0" means the
 *     writer; children forked later belong with their parent; reading lists the members;
 *   - rmdir fails with EBUSY while the directory has members or subdirectories;
 *   - devices.allow/deny/list follow the kernel's rules (devices.h), without enforcement;
 *   - freezer.state FROZEN stops every member with SIGSTOP and reads FREEZING until all are stopped,
 *     THAWED sends SIGCONT;
 *   - every other file keeps what is written to it (validated as Linux does) and changes nothing. */
#pragma once

#include "cgroup-files.h"
#include "devices.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

enum efile_kind {
    EF_PROCS,
    EF_TASKS,
    EF_VALUE,     /* any text, kept */
    EF_BOOL,      /* "0" or "1" */
    EF_WEIGHT,    /* 10..1000 (blkio) */
    EF_DEVMAP,    /* "MAJ:MIN VALUE" lines (blkio per-device settings); VALUE 0 removes the line */
    EF_RESET,     /* write-only, any write accepted (blkio.reset_stats) */
    EF_CLASSID,   /* a 32-bit number (net_cls.classid) */
    EF_PRIOIDX,   /* read-only: the directory's index (net_prio.prioidx) */
    EF_IFPRIOMAP, /* "IFACE PRIO" per interface of /proc/net/dev (net_prio.ifpriomap) */
    EF_LIMIT,     /* a byte count or -1 for no limit (hugetlb.*.limit_in_bytes) */
    EF_COUNTER,   /* reads 0; writing 0 resets (hugetlb usage counters: gVisor has no huge pages) */
    EF_DEVICES_ALLOW,
    EF_DEVICES_DENY,
    EF_DEVICES_LIST,
    EF_FREEZER_STATE,
    EF_FREEZER_SELF,
    EF_FREEZER_PARENT,
};

struct efile {
    char name[96];
    enum efile_kind kind;
    unsigned flags; /* CGROUP_FILE_* */
    char initial[32];
};

struct cg_node {
    char *name;
    struct cg_node *parent;
    struct cg_node **children;
    size_t n_children;
    char **values; /* per file of the hierarchy (NULL: its initial content) */
    struct dev_cgroup dev;
    bool self_freezing;
    unsigned id;
    time_t created;
};

struct membership {
    pid_t pid;
    unsigned long long start_time;
    struct cg_node *node;
    bool exited; /* a zombie: no longer a member anywhere */
};

struct hierarchy {
    enum cgroup_controller controller;
    struct efile *files;
    size_t n_files;
    struct cg_node *root;
    unsigned next_id;
    /* Every live process and its directory, as of the last look at /proc (sorted by pid). */
    struct membership *members;
    size_t n_members;
};

/* A new hierarchy with its root. hugetlb_sizes: the page sizes for hugetlb files ("2MB"), NULL-terminated
 * (NULL: none). Returns NULL on ENOMEM. */
struct hierarchy *hier_new(enum cgroup_controller c, const char *const *hugetlb_sizes);
void hier_free(struct hierarchy *h);

/* Resolves a path inside the mount ("/", "/k8s.io/abc", "/k8s.io/cgroup.procs"). Returns 0 with the
 * directory in *node and the file index in *file (-1 for the directory itself), or -ENOENT. */
int hier_lookup(struct hierarchy *h, const char *path, struct cg_node **node, int *file);
/* Whether file index i exists in this directory (root-only and not-on-root files). */
bool hier_file_present(const struct hierarchy *h, const struct cg_node *n, int i);
unsigned hier_file_mode(const struct hierarchy *h, int i);

int hier_mkdir(struct hierarchy *h, const char *path);
int hier_rmdir(struct hierarchy *h, const char *path);
/* Renames a directory within its parent (cgroup v1 allows nothing else). */
int hier_rename(struct hierarchy *h, const char *from, const char *to);

/* The content of a file right now. Returns 0 (caller frees *ret) or a negative errno. */
int hier_read(struct hierarchy *h, struct cg_node *n, int file, char **ret);
/* One write(2) to a file; caller is the writer's pid (for "0"). Returns 0 or a negative errno. */
int hier_write(struct hierarchy *h, struct cg_node *n, int file, const char *data, size_t len, pid_t caller);

/* Membership (membership.c). */
/* Looks at every live process and records its directory: a process keeps the one it had, a new one takes
 * its parent's. Returns 0 or a negative errno. */
int hier_refresh(struct hierarchy *h);
/* Moves a process (pid > 0) into n; *old (may be NULL) receives where it was. Returns 0, -ESRCH, or
 * -ENOMEM. */
int hier_move(struct hierarchy *h, struct cg_node *n, pid_t pid, struct cg_node **old);
/* The processes in n (not its subdirectories), ascending, as of the last refresh. Caller frees. */
size_t hier_members(const struct hierarchy *h, const struct cg_node *n, bool recursive, pid_t **ret);
/* Forgets memberships pointing to a directory about to be freed. */
void hier_forget_node(struct hierarchy *h, const struct cg_node *n);

/* Freezer (freezer.c). */
bool hier_freezing(const struct cg_node *n);
/* Stops (freeze=true) or resumes the members of n and its subdirectories that should be. */
int hier_freeze_apply(struct hierarchy *h, struct cg_node *n);
/* "FROZEN", "FREEZING" or "THAWED". */
const char *hier_freezer_state(struct hierarchy *h, struct cg_node *n);
