/* Which process is in which directory of an emulated hierarchy.
 *
 * The kernel knows because it attaches each task to a cgroup at fork; kig-cgroupfs only sees writes to
 * cgroup.procs. So every look at /proc records every live process with a directory: a process already
 * recorded keeps its own (identified by pid AND start time, so a recycled pid starts fresh), a process
 * seen for the first time takes its parent's (it was forked from there), and one without a known parent
 * starts in the root. Recording everyone, not just the processes written to cgroup.procs, is what keeps
 * Linux's rule that moving a process leaves its existing children where they are. What this cannot see:
 * a process that is forked, whose parent then moves or exits, all between two looks (the child then
 * follows the parent's new place, or the root); kig looks before every move, read and rmdir. */
#include "hierarchy.h"
#include "procinfo.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const struct membership *find_member(const struct membership *v, size_t n, pid_t pid)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (v[mid].pid == pid)
            return &v[mid];
        if (v[mid].pid < pid)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

struct snapshot {
    pid_t *pids;
    struct proc_stat *stats;
    struct cg_node **node; /* resolved directory, NULL until known */
    size_t n;
};

static ssize_t snapshot_index(const struct snapshot *s, pid_t pid)
{
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (s->pids[mid] == pid)
            return (ssize_t)mid;
        if (s->pids[mid] < pid)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

/* The directory of this hierarchy at the path the kernel has the process at in its own hierarchies, when
 * that path differs from its parent's there (it was moved, or its parent is not the one it was forked
 * from). NULL otherwise. */
static struct cg_node *real_cgroup_hint(struct hierarchy *h, pid_t pid, pid_t ppid)
{
    char path[4096], parent_path[4096];
    if (proc_cgroup_path(pid, path, sizeof(path)) < 0 || strcmp(path, "/") == 0)
        return NULL;
    if (ppid > 0 && proc_cgroup_path(ppid, parent_path, sizeof(parent_path)) == 0 &&
        strcmp(path, parent_path) == 0)
        return NULL;
    struct cg_node *n;
    int file;
    if (hier_lookup(h, path, &n, &file) < 0 || file >= 0)
        return NULL;
    return n;
}

/* A process seen for the first time belongs where it was forked: its parent's directory. Runtimes fork
 * the container's process through short-lived intermediates (runc's nsexec stages), so by the time
 * kig-cgroupfs looks, the process may be reparented to init. The kernel does know where it was forked: in
 * its own hierarchies, where the runtime put the same process at the same path. When that path differs
 * from the parent's, it wins. */
static struct cg_node *resolve(struct hierarchy *h, struct snapshot *s, size_t i, int depth)
{
    if (s->node[i])
        return s->node[i];
    const struct membership *m = find_member(h->members, h->n_members, s->pids[i]);
    struct cg_node *n = h->root;
    if (m && m->start_time == s->stats[i].start_time) {
        n = m->node;
    } else {
        struct cg_node *hint = real_cgroup_hint(h, s->pids[i], s->stats[i].ppid);
        ssize_t parent = snapshot_index(s, s->stats[i].ppid);
        if (hint)
            n = hint;
        else if (depth < 256 && parent >= 0 && (size_t)parent != i)
            n = resolve(h, s, (size_t)parent, depth + 1);
    }
    s->node[i] = n;
    return n;
}

int hier_refresh(struct hierarchy *h)
{
    struct snapshot s = {0};
    int count = proc_list_pids(&s.pids);
    if (count < 0)
        return count;
    s.stats = calloc((size_t)count + 1, sizeof(*s.stats));
    s.node = calloc((size_t)count + 1, sizeof(*s.node));
    if (!s.stats || !s.node) {
        free(s.pids);
        free(s.stats);
        free(s.node);
        return -ENOMEM;
    }
    /* Processes that exit between the listing and the read are dropped, and so are zombies: Linux takes
     * an exiting task out of its cgroups before it becomes one. Their children still find their parent's
     * directory through the zombie's record (kept: it is in the snapshot for lookups, not listed). */
    for (int i = 0; i < count; i++)
        if (proc_read_stat(s.pids[i], &s.stats[s.n]) == 0)
            s.pids[s.n++] = s.pids[i];

    struct membership *next = calloc(s.n + 1, sizeof(*next));
    if (!next) {
        free(s.pids);
        free(s.stats);
        free(s.node);
        return -ENOMEM;
    }
    for (size_t i = 0; i < s.n; i++)
        next[i] = (struct membership){.pid = s.pids[i],
                                      .start_time = s.stats[i].start_time,
                                      .node = resolve(h, &s, i, 0),
                                      .exited = s.stats[i].state == 'Z' || s.stats[i].state == 'X'};
    free(h->members);
    h->members = next;
    h->n_members = s.n;
    free(s.pids);
    free(s.stats);
    free(s.node);
    return 0;
}

int hier_move(struct hierarchy *h, struct cg_node *n, pid_t pid, struct cg_node **old)
{
    /* Record everyone first, so the process's existing children stay where they are. */
    int r = hier_refresh(h);
    if (r < 0)
        return r;
    struct membership *found = (struct membership *)find_member(h->members, h->n_members, pid);
    if (!found)
        return -ESRCH;
    if (old)
        *old = found->node;
    found->node = n;
    return 0;
}

static bool is_within(const struct cg_node *n, const struct cg_node *top)
{
    for (; n; n = n->parent)
        if (n == top)
            return true;
    return false;
}

size_t hier_members(const struct hierarchy *h, const struct cg_node *n, bool recursive, pid_t **ret)
{
    pid_t *v = calloc(h->n_members + 1, sizeof(pid_t));
    size_t count = 0;
    for (size_t i = 0; v && i < h->n_members; i++)
        if (!h->members[i].exited && (recursive ? is_within(h->members[i].node, n) : h->members[i].node == n))
            v[count++] = h->members[i].pid;
    *ret = v;
    return v ? count : 0;
}

void hier_forget_node(struct hierarchy *h, const struct cg_node *n)
{
    size_t out = 0;
    for (size_t i = 0; i < h->n_members; i++)
        if (!is_within(h->members[i].node, n))
            h->members[out++] = h->members[i];
    h->n_members = out;
}
