/* Augmenting a real cgroup hierarchy: kig-cgroupfs is mounted over the kernel's own mount and passes every
 * call through to it, adding the files cAdvisor needs that the kernel lacks (the gaps of cgroup-files.h),
 * in every directory that lacks them. Values are computed, never invented:
 *   cpuacct.usage_percpu       empty: the kernel accounts no per-CPU time (cAdvisor skips per-CPU stats)
 *   pids.max (where missing)   "max": the root of a hierarchy has no limit
 *   memory.stat                the root: /proc/meminfo's figures (the root cgroup is the whole sandbox);
 *                              elsewhere: rss and total_rss, the sum of the members' VmRSS (gVisor gives
 *                              no anon/file split), and hierarchical_memory_limit
 *   memory.max_usage_in_bytes  the highest memory.usage_in_bytes kig-cgroupfs has read (writing 0 resets)
 *   memory.failcnt             0: gVisor does not enforce memory limits, so no charge ever failed
 *   memory.use_hierarchy       1 */
#pragma once

#include "cgroup-files.h"

#include <stdbool.h>
#include <stddef.h>

struct max_usage {
    char *rel;
    unsigned long long max;
};

struct augment {
    enum cgroup_controller controller;
    int lowerfd; /* the real hierarchy's root, opened before the FUSE mount covered it */
    struct max_usage *maxes;
    size_t n_maxes;
};

void augment_init(struct augment *a, enum cgroup_controller c, int lowerfd);
void augment_done(struct augment *a);

/* rel_dir is relative to the hierarchy's root ("." for the root). The gap (enum cgroup_gap) named by name
 * if this controller has it and the real directory lacks it, else -1. */
int augment_virtual(const struct augment *a, const char *rel_dir, const char *name);
/* Whether the gap is served in this directory. */
bool augment_serves(const struct augment *a, const char *rel_dir, int gap);
int augment_read(struct augment *a, const char *rel_dir, int gap, char **ret);
int augment_write(struct augment *a, const char *rel_dir, int gap, const char *data, size_t len);
/* Mode of a virtual file. */
unsigned augment_mode(int gap);

/* A whole file of the real hierarchy, at rel_dir/name. Returns 0 or a negative errno. */
int augment_read_real(const struct augment *a, const char *rel_dir, const char *name, char **ret);
