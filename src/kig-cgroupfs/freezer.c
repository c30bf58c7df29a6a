/* freezer: Linux freezes tasks in the kernel; kig-cgroupfs stops them with SIGSTOP and resumes them with
 * SIGCONT. The difference shows only to a process that looks: a stopped member is visible as stopped
 * (state T, and its parent may see WUNTRACED), and anyone may SIGCONT it early. freezer.state never
 * claims more than is true: it reads FROZEN only once every member is seen stopped. */
#include "hierarchy.h"
#include "procinfo.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>

bool hier_freezing(const struct cg_node *n)
{
    for (; n; n = n->parent)
        if (n->self_freezing)
            return true;
    return false;
}

int hier_freeze_apply(struct hierarchy *h, struct cg_node *n)
{
    int r = hier_refresh(h);
    if (r < 0)
        return r;
    for (size_t i = 0; i < h->n_members; i++) {
        const struct membership *m = &h->members[i];
        const struct cg_node *p = m->node;
        while (p && p != n)
            p = p->parent;
        if (!p)
            continue; /* not under n */
        /* A process that exits meanwhile is fine (ESRCH). */
        (void)kill(m->pid, hier_freezing(m->node) ? SIGSTOP : SIGCONT);
    }
    return 0;
}

static bool stopped(char state)
{
    /* T: stopped; t: stopped under a tracer; Z and X cannot run either. */
    return state == 'T' || state == 't' || state == 'Z' || state == 'X';
}

const char *hier_freezer_state(struct hierarchy *h, struct cg_node *n)
{
    if (!hier_freezing(n))
        return "THAWED";
    if (hier_refresh(h) < 0)
        return "FREEZING";
    pid_t *pids;
    size_t count = hier_members(h, n, true, &pids);
    bool all = pids != NULL;
    for (size_t i = 0; i < count && all; i++) {
        struct proc_stat st;
        if (proc_read_stat(pids[i], &st) == 0 && !stopped(st.state))
            all = false;
    }
    free(pids);
    return all ? "FROZEN" : "FREEZING";
}
