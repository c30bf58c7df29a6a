/* subreaper: emulation of PR_SET_CHILD_SUBREAPER, which gVisor refuses (EINVAL) unless the caller is pid 1.
 * containerd-shim sets it, starts `runc create`, and runc exits leaving the container's init behind: on
 * Linux that orphan is reparented to the shim, which reaps it and reports the container's exit. In gVisor
 * the orphan goes to init and the shim never learns that the container ended.
 *
 * Design (docs/tracer.md has the long form):
 *  - kig-trace keeps a table of tracee processes with their parent, as the kernel would have them.
 *  - prctl(PR_SET_CHILD_SUBREAPER) is tried for real; on EINVAL the flag is recorded and 0 returned.
 *    PR_GET_CHILD_SUBREAPER answers from the record.
 *  - When a process dies, its children are reassigned to the nearest living ancestor that is an emulated
 *    subreaper (a native subreaper stops the search: the kernel does it). Such children are "emulated":
 *    the kernel does not know them as the subreaper's children.
 *  - When an emulated child dies, its exit status is queued for its reaper and SIGCHLD sent to it. The
 *    reaper's wait4/waitid calls are trapped: a queued exit matching the call is returned as if the
 *    kernel had it; when the real call says ECHILD but emulated children live, WNOHANG gets 0 and a
 *    blocking call is parked in its exit stop until one of them dies.
 *  - A child that dies before its parent, which then exits without reaping it, is a zombie the kernel
 *    hands to the subreaper too (`runc exec --detach` of a command that ends at once: the shim must learn
 *    its exit). Below an emulated subreaper, such a death is remembered until the parent reaps it (its
 *    trapped wait returns that pid) or dies, which passes the exit on like an emulated child's.
 * Limits: only pid -1/P_ALL and exact-pid selectors see emulated children (not process groups); a parked
 * waiter runs no signal handler until it is completed; pids are those of kig-trace's pid namespace. */
#include "log.h"
#include "memory.h"
#include "procfs.h"
#include "rule.h"

#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#define MAX_PROCS   4096
#define MAX_ZOMBIES 1024
#define MAX_PARKED  256

struct proc {
    pid_t pid;    /* 0: free */
    pid_t parent; /* parent as the kernel would see it; 0: not a tracee (kig-trace, init) */
    bool emulated;
    bool subreaper;
    bool native_subreaper;
    bool exited; /* its children were reassigned; waiting for its own waitpid report */
    /* Dead, not emulated, and its living parent has not reaped it yet; status holds its exit. */
    bool unreaped;
    int status;
    uid_t uid;
    uint64_t start_time;
};

struct zombie {
    pid_t reaper; /* 0: free */
    pid_t pid;
    int status;
    uid_t uid;
};

static struct proc procs[MAX_PROCS];
static struct zombie zombies[MAX_ZOMBIES];
/* live emulated children + queued zombies + unreaped real children below a subreaper: 0 makes wait calls
 * free */
static size_t n_emulated;
static bool force_emulation;

static struct proc *proc_find(pid_t pid)
{
    if (pid <= 0)
        return NULL;
    for (size_t i = 0; i < MAX_PROCS; i++)
        if (procs[i].pid == pid)
            return &procs[i];
    return NULL;
}

static struct proc *proc_add(pid_t pid)
{
    for (size_t i = 0; i < MAX_PROCS; i++) {
        if (procs[i].pid == 0) {
            memset(&procs[i], 0, sizeof(procs[i]));
            procs[i].pid = pid;
            return &procs[i];
        }
    }
    static bool warned;
    if (!warned)
        log_warn("more than %d traced processes: orphans of the others are not delivered to subreapers",
                 MAX_PROCS);
    warned = true;
    return NULL;
}

/* A process entry can outlive the process by a little (its waitpid report is still queued): ask /proc. */
static bool really_alive(const struct proc *p)
{
    uint64_t start;
    char state;
    if (procfs_stat(p->pid, &start, &state) < 0)
        return false;
    return start == p->start_time && state != 'Z' && state != 'X';
}

static void forget_unreaped(struct proc *p)
{
    p->unreaped = false;
    p->pid = 0;
    n_emulated--;
}

static void register_process(pid_t tid, pid_t parent_hint)
{
    struct proc *known = proc_find(tid);
    if (known && known->unreaped)
        forget_unreaped(known); /* the pid is in use again: its zombie was reaped where we did not see it */
    else if (known)
        return;
    struct proc_status st;
    if (procfs_status(tid, &st) < 0 || st.tgid != tid)
        return; /* a thread, or already gone */
    if (parent_hint > 0 && st.ppid != parent_hint)
        return; /* the pid came from another pid namespace: this is some other process */
    pid_t parent = st.ppid;
    struct proc *p = proc_add(tid);
    if (!p)
        return;
    p->parent = proc_find(parent) ? parent : 0;
    p->uid = st.uid;
    procfs_stat(tid, &p->start_time, NULL);
}

static void subreaper_tracee_new(pid_t tid, pid_t parent_tid)
{
    pid_t parent = 0;
    if (parent_tid > 0) {
        parent = procfs_tgid(parent_tid);
        if (parent <= 0)
            return;
    }
    register_process(tid, parent);
}

/* Nearest living emulated subreaper above p, or 0 (init, or the kernel's own subreaper, takes it). */
static pid_t find_reaper(const struct proc *p)
{
    const struct proc *a = proc_find(p->parent);
    for (size_t depth = 0; a && depth < MAX_PROCS; depth++, a = proc_find(a->parent)) {
        if (a->exited)
            continue;
        if (a->native_subreaper)
            return 0;
        if (a->subreaper)
            return a->pid;
    }
    return 0;
}

static bool selector_matches(const struct trap *t, pid_t pid)
{
    if (t->nr == SYS_wait4) {
        pid_t want = (pid_t)trap_arg(t, 0);
        return want == -1 || want == pid;
    }
    idtype_t type = (idtype_t)trap_arg(t, 0);
    return type == P_ALL || (type == P_PID && (pid_t)trap_arg(t, 1) == pid);
}

static uint64_t wait_options(const struct trap *t)
{
    return trap_arg(t, t->nr == SYS_wait4 ? 2 : 3);
}

static bool wants_exits(const struct trap *t)
{
    return t->nr == SYS_wait4 || (wait_options(t) & WEXITED);
}

static struct zombie *find_zombie(const struct trap *t, pid_t reaper)
{
    if (!wants_exits(t))
        return NULL;
    for (size_t i = 0; i < MAX_ZOMBIES; i++)
        if (zombies[i].reaper == reaper && selector_matches(t, zombies[i].pid))
            return &zombies[i];
    return NULL;
}

static bool has_live_child(const struct trap *t, pid_t reaper)
{
    if (!wants_exits(t))
        return false;
    for (size_t i = 0; i < MAX_PROCS; i++)
        if (procs[i].pid != 0 && procs[i].emulated && !procs[i].exited && procs[i].parent == reaper &&
            selector_matches(t, procs[i].pid))
            return true;
    return false;
}

static bool has_unreaped_child(pid_t parent)
{
    for (size_t i = 0; i < MAX_PROCS; i++)
        if (procs[i].pid != 0 && procs[i].unreaped && procs[i].parent == parent)
            return true;
    return false;
}

/* Writes what the kernel would for a reaped child and sets the call's result. */
static void deliver(struct trap *t, struct zombie *z)
{
    int r = 0;
    uint64_t rusage_ptr = trap_arg(t, t->nr == SYS_wait4 ? 3 : 4);
    if (rusage_ptr) {
        struct rusage ru = {0};
        r = mem_write(t->tid, rusage_ptr, &ru, sizeof(ru));
    }
    if (t->nr == SYS_wait4) {
        uint64_t status_ptr = trap_arg(t, 1);
        if (r == 0 && status_ptr)
            r = mem_write(t->tid, status_ptr, &z->status, sizeof(z->status));
    } else if (trap_arg(t, 2)) {
        siginfo_t si;
        memset(&si, 0, sizeof(si));
        si.si_signo = SIGCHLD;
        si.si_pid = z->pid;
        si.si_uid = z->uid;
        if (WIFEXITED(z->status)) {
            si.si_code = CLD_EXITED;
            si.si_status = WEXITSTATUS(z->status);
        } else {
            si.si_code = WCOREDUMP(z->status) ? CLD_DUMPED : CLD_KILLED;
            si.si_status = WTERMSIG(z->status);
        }
        if (r == 0)
            r = mem_write(t->tid, trap_arg(t, 2), &si, sizeof(si));
    }
    if (r < 0) {
        trap_set_result(t, -EFAULT);
        return;
    }
    log_debug("tid %d: emulated wait returns child %d (status 0x%x)", (int)t->tid, (int)z->pid, z->status);
    trap_set_result(t, t->nr == SYS_wait4 ? z->pid : 0);
    bool keep = t->nr == SYS_waitid && (wait_options(t) & WNOWAIT);
    if (!keep) {
        z->reaper = 0;
        n_emulated--;
    }
}

/* WNOHANG with children that have not exited: wait4 returns 0, waitid returns 0 with si_pid 0. */
static void answer_nothing_yet(struct trap *t)
{
    if (t->nr == SYS_waitid && trap_arg(t, 2)) {
        siginfo_t si;
        memset(&si, 0, sizeof(si));
        if (mem_write(t->tid, trap_arg(t, 2), &si, sizeof(si)) < 0) {
            trap_set_result(t, -EFAULT);
            return;
        }
    }
    trap_set_result(t, 0);
}

/* Completes parked waiters of reaper that now have an answer: an exit, or ECHILD when none is left. */
static void wake_waiters(pid_t reaper)
{
    pid_t tids[MAX_PARKED];
    size_t n = trap_list(TRAP_PARKED, tids, MAX_PARKED);
    for (size_t i = 0; i < n; i++) {
        struct trap *t = trap_find(tids[i]);
        if (!t || trap_tgid(t) != reaper)
            continue;
        struct zombie *z = find_zombie(t, reaper);
        if (z)
            deliver(t, z);
        else if (!has_live_child(t, reaper))
            trap_set_result(t, -ECHILD);
        else
            continue;
        event_complete_parked(t);
    }
}

static void queue_zombie(pid_t reaper, pid_t pid, int status, uid_t uid)
{
    for (size_t i = 0; i < MAX_ZOMBIES; i++) {
        if (zombies[i].reaper == 0) {
            zombies[i] = (struct zombie){.reaper = reaper, .pid = pid, .status = status, .uid = uid};
            n_emulated++;
            log_debug("child %d (status 0x%x) delivered to subreaper %d", (int)pid, status, (int)reaper);
            if (kill(reaper, SIGCHLD) < 0 && errno != ESRCH)
                log_debug("cannot send SIGCHLD to %d: %m", (int)reaper);
            return;
        }
    }
    log_warn("%d exit statuses are waiting for subreapers: the exit of %d is dropped", MAX_ZOMBIES, (int)pid);
}

/* p is gone (or found dead): its children go to the nearest subreaper, as the kernel would do. Returns
 * that subreaper (0: none), whose parked waiters the caller wakes once it has queued what it must. */
static pid_t mark_exited(struct proc *p)
{
    if (p->exited)
        return 0;
    p->exited = true;
    if (p->emulated)
        n_emulated--;
    pid_t reaper = find_reaper(p);
    for (size_t i = 0; i < MAX_PROCS; i++) {
        struct proc *c = &procs[i];
        if (c->pid == 0 || c->parent != p->pid || c == p)
            continue;
        if (c->unreaped) {
            /* The kernel reparents the zombie; its exit is for the reaper to collect. */
            if (reaper)
                queue_zombie(reaper, c->pid, c->status, c->uid);
            forget_unreaped(c);
            continue;
        }
        if (c->emulated && !c->exited)
            n_emulated--;
        c->parent = reaper;
        c->emulated = reaper != 0;
        if (c->emulated && !c->exited)
            n_emulated++;
    }
    /* Exits it never collected are passed on like the kernel reparents zombies. */
    for (size_t i = 0; i < MAX_ZOMBIES; i++) {
        if (zombies[i].reaper != p->pid)
            continue;
        if (reaper) {
            zombies[i].reaper = reaper;
        } else {
            zombies[i].reaper = 0;
            n_emulated--;
        }
    }
    return reaper;
}

/* p, a real child, died: when its parent is alive below an emulated subreaper, does not let the kernel
 * reap its children (SIGCHLD ignored) and has not reaped p already (p is still a zombie), keep p as an
 * unreaped child until the parent reaps it or dies. */
static bool remember_unreaped(struct proc *p, int status)
{
    struct proc *parent = proc_find(p->parent);
    struct proc_status st;
    uint64_t start;
    char state;
    if (!parent || parent->exited || !really_alive(parent) || !find_reaper(parent) ||
        procfs_status(parent->pid, &st) < 0 || (st.sig_ignored & (1ULL << (SIGCHLD - 1))) ||
        procfs_stat(p->pid, &start, &state) < 0 || state != 'Z' || start != p->start_time)
        return false;
    p->unreaped = true;
    p->status = status;
    n_emulated++;
    return true;
}

static void subreaper_tracee_died(pid_t tid, int status)
{
    struct proc *p = proc_find(tid);
    if (!p)
        return;
    pid_t woken[3] = {0, 0, 0};
    struct proc *parent = proc_find(p->parent);
    if (parent && !parent->exited && !p->emulated && !really_alive(parent))
        woken[0] = mark_exited(parent); /* its death report is still queued behind ours: reparent now */
    /* Found dead earlier (through a child's death) or not, its own exit still goes to its reaper. */
    pid_t reaper = p->emulated ? p->parent : 0;
    woken[1] = mark_exited(p);
    if (reaper) {
        queue_zombie(reaper, p->pid, status, p->uid);
        woken[2] = reaper;
    }
    if (reaper || !remember_unreaped(p, status))
        p->pid = 0;
    /* Only now: a waiter woken before the exit was queued would be told ECHILD. Waking twice is harmless. */
    for (int i = 0; i < 3; i++)
        if (woken[i])
            wake_waiters(woken[i]);
}

static struct proc *caller(struct trap *t)
{
    pid_t tgid = trap_tgid(t);
    if (tgid < 0)
        return NULL;
    register_process(tgid, 0);
    return proc_find(tgid);
}

static enum trap_action prctl_enter(struct trap *t)
{
    uint64_t option = trap_arg(t, 0);
    struct proc *p = caller(t);
    if (option == PR_GET_CHILD_SUBREAPER) {
        if (!p || !p->subreaper)
            return TRAP_PASS;
        int one = 1;
        trap_set_result(t, mem_write(t->tid, trap_arg(t, 1), &one, sizeof(one)) < 0 ? -EFAULT : 0);
        return TRAP_SKIP;
    }
    if (option != PR_SET_CHILD_SUBREAPER)
        return TRAP_PASS;
    if (force_emulation && p) {
        p->subreaper = trap_arg(t, 1) != 0;
        trap_set_result(t, 0);
        return TRAP_SKIP;
    }
    return TRAP_FOLLOW;
}

static enum exit_action prctl_exit(struct trap *t)
{
    struct proc *p = caller(t);
    if (!p)
        return EXIT_DONE;
    bool on = trap_arg(t, 1) != 0;
    int64_t r = trap_result(t);
    if (r == 0) {
        p->native_subreaper = on;
        p->subreaper = false;
    } else if (r == -EINVAL) {
        log_debug("process %d: PR_SET_CHILD_SUBREAPER %d emulated", (int)p->pid, on);
        p->subreaper = on;
        trap_set_result(t, 0);
    }
    return EXIT_DONE;
}

/* Whether tgid lives below an emulated subreaper: its children's exits may have to be handed on. */
static bool below_subreaper(pid_t tgid)
{
    const struct proc *p = proc_find(tgid);
    return p && find_reaper(p) != 0;
}

static enum trap_action wait_enter(struct trap *t)
{
    pid_t tgid = trap_tgid(t);
    if (tgid < 0)
        return TRAP_PASS;
    if (n_emulated > 0) {
        struct zombie *z = find_zombie(t, tgid);
        if (z) {
            deliver(t, z);
            return TRAP_SKIP;
        }
        if (has_live_child(t, tgid))
            return TRAP_FOLLOW;
    }
    /* Below a subreaper every wait is followed to its exit, which tells whether it reaped a child that died
     * meanwhile: a child remembered as unreaped (remember_unreaped) that a blocking wait, entered before
     * the child died, did reap must not be handed to the subreaper when its parent exits. */
    return has_unreaped_child(tgid) || below_subreaper(tgid) ? TRAP_FOLLOW : TRAP_PASS;
}

/* The pid a real wait reaped (0: none, or WNOWAIT: still there). */
static pid_t reaped_pid(struct trap *t)
{
    int64_t r = trap_result(t);
    if (t->nr == SYS_wait4)
        return r > 0 ? (pid_t)r : 0;
    if (r != 0 || !trap_arg(t, 2) || (wait_options(t) & WNOWAIT))
        return 0;
    siginfo_t si;
    if (mem_read(t->tid, trap_arg(t, 2), &si, sizeof(si)) < 0)
        return 0;
    return si.si_pid;
}

/* The caller reaped one of its children for real: an unreaped record of it is done. */
static void note_reaped(struct trap *t, pid_t tgid)
{
    struct proc *c = proc_find(reaped_pid(t));
    if (c && c->unreaped && c->parent == tgid)
        forget_unreaped(c);
}

static enum exit_action wait_exit(struct trap *t)
{
    pid_t tgid = trap_tgid(t);
    if (tgid < 0)
        return EXIT_DONE;
    if (trap_result(t) != -ECHILD) {
        note_reaped(t, tgid);
        return EXIT_DONE;
    }
    struct zombie *z = find_zombie(t, tgid);
    if (z) {
        deliver(t, z);
        return EXIT_DONE;
    }
    if (!has_live_child(t, tgid))
        return EXIT_DONE;
    if (wait_options(t) & WNOHANG) {
        answer_nothing_yet(t);
        return EXIT_DONE;
    }
    log_debug("tid %d: waits for emulated children: parked", (int)t->tid);
    return EXIT_PARK;
}

static enum trap_action subreaper_enter(struct trap *t)
{
    return t->nr == SYS_prctl ? prctl_enter(t) : wait_enter(t);
}

static enum exit_action subreaper_exit(struct trap *t)
{
    return t->nr == SYS_prctl ? prctl_exit(t) : wait_exit(t);
}

static int subreaper_init(const struct trace_options *opts)
{
    force_emulation = opts->force_emulation;
    return 0;
}

static const struct rule_syscall subreaper_syscalls[] = {
    {.nr = SYS_prctl, .n_conds = 1, .conds = {RULE_ARG_EQ(0, PR_SET_CHILD_SUBREAPER)}},
    {.nr = SYS_prctl, .n_conds = 1, .conds = {RULE_ARG_EQ(0, PR_GET_CHILD_SUBREAPER)}},
    {.nr = SYS_wait4},
    {.nr = SYS_waitid},
};

const struct rule rule_subreaper = {
    .id = RULE_SUBREAPER,
    .name = "subreaper",
    .summary =
        "PR_SET_CHILD_SUBREAPER emulated: orphans' exits reach the subreaper's SIGCHLD and wait4/waitid",
    .syscalls = subreaper_syscalls,
    .n_syscalls = sizeof(subreaper_syscalls) / sizeof(subreaper_syscalls[0]),
    .init = subreaper_init,
    .enter = subreaper_enter,
    .exit = subreaper_exit,
    .tracee_new = subreaper_tracee_new,
    .tracee_died = subreaper_tracee_died,
};
