/* kig-cgroupfs: one process serving several FUSE mounts under /sys/fs/cgroup, each either an emulated
 * hierarchy (hierarchy.h) or an augmented real one (augment.h). */
#pragma once

#define FUSE_USE_VERSION 35

#include "augment.h"
#include "hierarchy.h"

#include <fuse.h>
#include <pthread.h>
#include <stdbool.h>

/* st_size of every file. gVisor's FUSE client reads no further than st_size even with direct I/O, and
 * cgroup files report 0 on Linux, so a size that no cgroup file content reaches is reported instead. */
#define CGROUPFS_FILE_SIZE 65536

struct cgroupfs_mount {
    bool emulated; /* else augmented */
    enum cgroup_controller controller;
    char *mountpoint;
    char *lower;            /* augmented: the real hierarchy (NULL: the one under mountpoint) */
    struct hierarchy *hier; /* emulated */
    struct augment aug;     /* augmented */
    struct fuse *fuse;
    pthread_t thread;
    bool thread_started;
};

/* All operations of every mount run under this lock: the state is small and the calls are short. */
extern pthread_mutex_t cgroupfs_lock;

extern const struct fuse_operations cgroupfs_operations;

void cgroupfs_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
