#include "cgroup-files.h"

#include <errno.h>
#include <string.h>

#define N_ELEMENTS(a) (sizeof(a) / sizeof((a)[0]))

const struct cgroup_file_spec cgroup_file_table[] = {
    {-1, "cgroup.procs", NULL, 0},
    {-1, "tasks", NULL, 0},
    {-1, "cgroup.clone_children", "0", 0},
    {-1, "notify_on_release", "0", CGROUP_FILE_INHERIT},
    {-1, "release_agent", NULL, CGROUP_FILE_ROOT_ONLY},
    {-1, "cgroup.sane_behavior", "0", CGROUP_FILE_ROOT_ONLY | CGROUP_FILE_READ_ONLY},

    {CGROUP_DEVICES, "devices.allow", NULL, CGROUP_FILE_WRITE_ONLY},
    {CGROUP_DEVICES, "devices.deny", NULL, CGROUP_FILE_WRITE_ONLY},
    {CGROUP_DEVICES, "devices.list", "a *:* rwm", CGROUP_FILE_READ_ONLY},

    {CGROUP_FREEZER, "freezer.state", "THAWED", CGROUP_FILE_NOT_ROOT},
    {CGROUP_FREEZER, "freezer.self_freezing", "0", CGROUP_FILE_NOT_ROOT | CGROUP_FILE_READ_ONLY},
    {CGROUP_FREEZER, "freezer.parent_freezing", "0", CGROUP_FILE_NOT_ROOT | CGROUP_FILE_READ_ONLY},

    {CGROUP_BLKIO, "blkio.weight", "500", 0},
    {CGROUP_BLKIO, "blkio.weight_device", NULL, 0},
    {CGROUP_BLKIO, "blkio.leaf_weight", "500", 0},
    {CGROUP_BLKIO, "blkio.leaf_weight_device", NULL, 0},
    {CGROUP_BLKIO, "blkio.throttle.read_bps_device", NULL, 0},
    {CGROUP_BLKIO, "blkio.throttle.write_bps_device", NULL, 0},
    {CGROUP_BLKIO, "blkio.throttle.read_iops_device", NULL, 0},
    {CGROUP_BLKIO, "blkio.throttle.write_iops_device", NULL, 0},
    {CGROUP_BLKIO, "blkio.reset_stats", NULL, CGROUP_FILE_WRITE_ONLY},

    {CGROUP_NET_CLS, "net_cls.classid", "0", 0},

    {CGROUP_NET_PRIO, "net_prio.prioidx", "1", CGROUP_FILE_READ_ONLY},
    {CGROUP_NET_PRIO, "net_prio.ifpriomap", NULL, 0},
};
const size_t cgroup_file_table_size = N_ELEMENTS(cgroup_file_table);

bool cgroup_file_applies(const struct cgroup_file_spec *s, enum cgroup_controller c, bool is_root)
{
    if (s->controller >= 0 && s->controller != (int)c)
        return false;
    if (is_root && (s->flags & CGROUP_FILE_NOT_ROOT))
        return false;
    if (!is_root && (s->flags & CGROUP_FILE_ROOT_ONLY))
        return false;
    return true;
}

unsigned cgroup_file_mode(const struct cgroup_file_spec *s)
{
    if (s->flags & CGROUP_FILE_READ_ONLY)
        return 0444;
    if (s->flags & CGROUP_FILE_WRITE_ONLY)
        return 0200;
    return 0644;
}

bool cgroup_controller_emulatable(enum cgroup_controller c)
{
    switch (c) {
    case CGROUP_DEVICES:
    case CGROUP_FREEZER:
    case CGROUP_BLKIO:
    case CGROUP_HUGETLB:
    case CGROUP_NET_CLS:
    case CGROUP_NET_PRIO:
    case CGROUP_PERF_EVENT:
        return true;
    default:
        return false;
    }
}

static const char *const controller_names[_CGROUP_CONTROLLER_MAX] = {
    [CGROUP_CPU] = "cpu",         [CGROUP_CPUACCT] = "cpuacct",   [CGROUP_CPUSET] = "cpuset",
    [CGROUP_MEMORY] = "memory",   [CGROUP_PIDS] = "pids",         [CGROUP_DEVICES] = "devices",
    [CGROUP_FREEZER] = "freezer", [CGROUP_BLKIO] = "blkio",       [CGROUP_HUGETLB] = "hugetlb",
    [CGROUP_NET_CLS] = "net_cls", [CGROUP_NET_PRIO] = "net_prio", [CGROUP_PERF_EVENT] = "perf_event",
};

const char *cgroup_controller_name(enum cgroup_controller c)
{
    return (unsigned)c < _CGROUP_CONTROLLER_MAX ? controller_names[c] : NULL;
}

int cgroup_controller_from_name(const char *name)
{
    for (int c = 0; c < _CGROUP_CONTROLLER_MAX; c++)
        if (name && strcmp(controller_names[c], name) == 0)
            return c;
    return -EINVAL;
}

static const struct {
    const char *file;
    enum cgroup_controller controller;
} gaps[_CGROUP_GAP_MAX] = {
    [CGROUP_GAP_CPUACCT_USAGE_PERCPU] = {"cpuacct.usage_percpu", CGROUP_CPUACCT},
    [CGROUP_GAP_PIDS_MAX] = {"pids.max", CGROUP_PIDS},
    [CGROUP_GAP_MEMORY_STAT] = {"memory.stat", CGROUP_MEMORY},
    [CGROUP_GAP_MEMORY_MAX_USAGE] = {"memory.max_usage_in_bytes", CGROUP_MEMORY},
    [CGROUP_GAP_MEMORY_FAILCNT] = {"memory.failcnt", CGROUP_MEMORY},
    [CGROUP_GAP_MEMORY_USE_HIERARCHY] = {"memory.use_hierarchy", CGROUP_MEMORY},
};

const char *cgroup_gap_file(enum cgroup_gap g)
{
    return (unsigned)g < _CGROUP_GAP_MAX ? gaps[g].file : NULL;
}

enum cgroup_controller cgroup_gap_controller(enum cgroup_gap g)
{
    return (unsigned)g < _CGROUP_GAP_MAX ? gaps[g].controller : _CGROUP_CONTROLLER_MAX;
}
