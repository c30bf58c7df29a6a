/* The files of an emulated cgroup v1 directory, per controller, as Linux 4.4 has them. Shared by the tmpfs
 * fallback of the planner (which writes them as plain files) and by kig-cgroupfs (which serves them with
 * their behaviour). */
#pragma once

#include "sandbox-features.h"

#include <stdbool.h>
#include <stddef.h>

enum cgroup_file_flag {
    CGROUP_FILE_ROOT_ONLY = 1u << 0, /* only in the root of the hierarchy */
    CGROUP_FILE_NOT_ROOT = 1u << 1,  /* everywhere but the root */
    CGROUP_FILE_WRITE_ONLY = 1u << 2,
    CGROUP_FILE_READ_ONLY = 1u << 3,
    CGROUP_FILE_INHERIT = 1u << 4, /* a new directory starts with its parent's value (notify_on_release) */
};

struct cgroup_file_spec {
    int controller; /* an enum cgroup_controller, or -1 for the files every hierarchy has */
    const char *name;
    const char *initial; /* content of a new directory's file (without the newline); NULL: empty */
    unsigned flags;
};

extern const struct cgroup_file_spec cgroup_file_table[];
extern const size_t cgroup_file_table_size;

/* True when the file belongs in a directory of this controller's hierarchy (root or not). */
bool cgroup_file_applies(const struct cgroup_file_spec *s, enum cgroup_controller c, bool is_root);

/* The file's mode as Linux shows it: 0644, 0444 for read-only, 0200 for write-only. */
unsigned cgroup_file_mode(const struct cgroup_file_spec *s);

/* True for the controllers kig knows how to emulate (every one but cpu, cpuacct, cpuset, memory, pids,
 * whose numbers only a kernel can produce). */
bool cgroup_controller_emulatable(enum cgroup_controller c);
