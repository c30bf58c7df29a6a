#include "event.h"

#include "log.h"
#include "memory.h"
#include "procfs.h"
#include "rules/rule.h"
#include "scratch.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#define MAX_SYSCALL 512
#define MAX_CHAIN   4

/* Written into the result register at the seccomp stop. Linux (>= 4.8) goes straight to the syscall-exit
 * stop, where the register holds the call's result; gVisor first reports a syscall-entry stop, where the
 * register still holds this mark. No syscall result is ever this value (it is below -4095). Once the
 * first trapped call has shown which kernel this is, the mark (a SETREGS) and the entry stop's GETREGS
 * are spared. */
#define ENTRY_MARK ((int64_t)-0x4b4947)
static int entry_stop_after_seccomp = -1; /* -1: not known yet */

/* Prepares t->regs so the syscall stops that follow can be told apart. */
static void expect_syscall_stops(struct trap *t)
{
    t->marked = entry_stop_after_seccomp < 0;
    t->awaiting_entry_stop = entry_stop_after_seccomp == 1;
    if (t->marked) {
        regs_set_result(&t->regs, ENTRY_MARK);
        t->regs_dirty = true;
    }
}

static struct trace_stats stats;
static bool log_stops; /* -vv: one line per stop */
static uint8_t chain[MAX_SYSCALL][MAX_CHAIN];
static uint8_t chain_len[MAX_SYSCALL];
static const struct rule *hook_rules[RULE_COUNT];
static size_t n_hook_rules;

void event_init(unsigned rules, int verbosity)
{
    log_stops = verbosity >= 2;
    memset(chain_len, 0, sizeof(chain_len));
    n_hook_rules = 0;
    for (unsigned id = 0; id < RULE_COUNT; id++) {
        if (!(rules & (1u << id)))
            continue;
        const struct rule *rule = all_rules[id];
        if (rule->tracee_new || rule->tracee_died)
            hook_rules[n_hook_rules++] = rule;
        for (size_t i = 0; i < rule->n_syscalls; i++) {
            int nr = rule->syscalls[i].nr;
            if (nr < 0 || nr >= MAX_SYSCALL)
                continue;
            bool present = false;
            for (unsigned k = 0; k < chain_len[nr]; k++)
                present |= chain[nr][k] == id;
            if (!present && chain_len[nr] < MAX_CHAIN)
                chain[nr][chain_len[nr]++] = (uint8_t)id;
        }
    }
}

const struct trace_stats *event_stats(void)
{
    return &stats;
}

void event_print_stats(FILE *out)
{
    fprintf(out,
            "kig-trace: stats: stops=%llu seccomp_stops=%llu syscall_stops=%llu signal_stops=%llu "
            "group_stops=%llu event_stops=%llu exits=%llu rewritten=%llu skipped=%llu restarts=%llu "
            "injections=%llu table_full=%llu kicks=%llu\n",
            (unsigned long long)stats.stops, (unsigned long long)stats.seccomp_stops,
            (unsigned long long)stats.syscall_stops, (unsigned long long)stats.signal_stops,
            (unsigned long long)stats.group_stops, (unsigned long long)stats.event_stops,
            (unsigned long long)stats.exits, (unsigned long long)stats.rewritten,
            (unsigned long long)stats.skipped, (unsigned long long)stats.restarts,
            (unsigned long long)stats.injections, (unsigned long long)stats.table_full,
            (unsigned long long)stats.kicks);
    fflush(out);
}

/* gVisor keeps a signal that reaches a tracee while it sits in a ptrace stop pending but undelivered
 * until the tracee is interrupted (measured: 0 of 50 delivered; Linux delivers them all), and it has no
 * way to see pending signals (no PTRACE_PEEKSIGINFO, no SigPnd in /proc). So on such a kernel every
 * thread resumed from a stop where it was held for a while (a trapped call, a signal delivery) is kicked
 * with PTRACE_INTERRUPT: the interrupt delivers what is pending, and the PTRACE_EVENT_STOP that follows
 * is resumed without another kick. A kernel with PTRACE_PEEKSIGINFO is taken to deliver signals
 * properly (Linux). */
#define KICKED_SLOTS 64u
static pid_t kicked[KICKED_SLOTS]; /* threads whose next PTRACE_EVENT_STOP is our kick */
static int kick_mode = -1;         /* -1: not probed yet */

static void probe_kick_mode(pid_t stopped_tid)
{
    struct {
        uint64_t off;
        uint32_t flags;
        int32_t nr;
    } arg = {0, 0, 1};
    siginfo_t si;
    if (ptrace(0x4209 /* PTRACE_PEEKSIGINFO */, stopped_tid, &arg, &si) >= 0)
        kick_mode = 0;
    else if (errno == EIO || errno == EINVAL)
        kick_mode = 1;
    if (kick_mode == 1)
        log_debug("no PTRACE_PEEKSIGINFO (gVisor): threads are kicked after long stops so signals arrive");
}

static void kick(pid_t tid)
{
    if (kick_mode != 1)
        return;
    stats.kicks++;
    if (ptrace(PTRACE_INTERRUPT, tid, NULL, NULL) < 0) {
        if (errno != ESRCH)
            log_debug("PTRACE_INTERRUPT on %d: %m", (int)tid);
        return;
    }
    kicked[(unsigned)tid % KICKED_SLOTS] = tid;
}

/* The stop a kick caused is resumed without another kick, or it would never end. */
static bool was_kicked(pid_t tid)
{
    unsigned slot = (unsigned)tid % KICKED_SLOTS;
    if (kicked[slot] != tid)
        return false;
    kicked[slot] = 0;
    return true;
}

/* Every ptrace request on a tracee may fail with ESRCH: it was killed (SIGKILL needs no permission from
 * us). Its death report follows; nothing else to do. */
static void request(enum __ptrace_request req, pid_t tid, long data)
{
    if (ptrace(req, tid, NULL, (void *)data) < 0 && errno != ESRCH)
        log_warn("ptrace(%d) on %d: %m", (int)req, (int)tid);
}

static bool awaits_exit_stop(const struct trap *t)
{
    return t && (t->state == TRAP_ENTERED || t->state == TRAP_INJECTING);
}

/* Resumes a thread from any stop, delivering sig (0: none). A thread inside a trapped call must come
 * back at its syscall-exit stop, hence PTRACE_SYSCALL for it. */
static void resume(pid_t tid, int sig)
{
    request(awaits_exit_stop(trap_find(tid)) ? PTRACE_SYSCALL : PTRACE_CONT, tid, sig);
}

static void finish(struct trap *t)
{
    pid_t tid = t->tid;
    if (t->regs_dirty) {
        stats.rewritten++;
        int r = regs_set(tid, &t->regs);
        if (r < 0 && r != -ESRCH)
            log_warn_errno(r, "tid %d: cannot set registers: %m", (int)tid);
    }
    trap_free(t);
    request(PTRACE_CONT, tid, 0);
    kick(tid);
}

void event_complete_parked(struct trap *t)
{
    t->regs_dirty = true;
    finish(t);
}

static void start_injection(struct trap *t)
{
    pid_t tid = t->tid;
    stats.injections++;
    t->regs = t->entry;
    scratch_release(t);
    scratch_inject(&t->regs);
    expect_syscall_stops(t);
    t->state = TRAP_INJECTING;
    int r = regs_set(tid, &t->regs);
    if (r < 0) {
        trap_free(t);
        if (r != -ESRCH)
            request(PTRACE_CONT, tid, 0);
        return;
    }
    request(PTRACE_SYSCALL, tid, 0);
}

static void on_seccomp_stop(pid_t tid)
{
    stats.seccomp_stops++;
    tracee_regs regs;
    if (regs_get(tid, &regs) < 0) {
        resume(tid, 0);
        return;
    }
    long nr = regs_syscall(&regs);
    struct trap *t = trap_find(tid);
    bool restarting = t && t->state == TRAP_RESTARTING && t->nr == nr;
    if (t && !restarting)
        trap_reset(t, false); /* a stale trap: its exit stop never came */
    if (nr < 0 || nr >= MAX_SYSCALL || chain_len[nr] == 0) {
        if (t)
            trap_free(t);
        resume(tid, 0);
        return;
    }
    if (!t)
        t = trap_new(tid);
    if (!t) {
        if (stats.table_full++ == 0)
            log_warn("more than %u threads inside trapped syscalls: some calls run unmodified",
                     TRAP_TABLE_SIZE);
        request(PTRACE_CONT, tid, 0);
        return;
    }
    if (restarting)
        trap_reset(t, true);
    t->nr = nr;
    t->entry = regs;
    t->regs = regs;
    t->state = TRAP_ENTERED;

    bool skip = false;
    for (unsigned i = 0; i < chain_len[nr] && !skip; i++) {
        const struct rule *rule = all_rules[chain[nr][i]];
        enum trap_action a = rule->enter ? rule->enter(t) : TRAP_PASS;
        stats.trapped[rule->id]++;
        switch (a) {
        case TRAP_PASS:
            break;
        case TRAP_FOLLOW:
            t->followed |= 1u << i;
            break;
        case TRAP_SKIP:
            skip = true;
            break;
        case TRAP_NEED_SCRATCH:
            start_injection(t);
            return;
        }
    }
    if (skip) {
        stats.skipped++;
        regs_set_syscall(&t->regs, REGS_SKIP_SYSCALL);
        t->regs_dirty = true;
        finish(t);
        return;
    }
    if (!t->followed && !t->regs_dirty) {
        trap_free(t);
        request(PTRACE_CONT, tid, 0);
        return;
    }
    /* Changed arguments must be put back at the exit stop even if no rule asked for it. */
    expect_syscall_stops(t);
    if (t->regs_dirty) {
        int r = regs_set(tid, &t->regs);
        if (r < 0) {
            trap_free(t);
            if (r != -ESRCH)
                request(PTRACE_CONT, tid, 0);
            return;
        }
        t->regs_dirty = false;
    }
    request(PTRACE_SYSCALL, tid, 0);
}

static bool is_restart_code(int64_t r)
{
    /* ERESTARTSYS, ERESTARTNOINTR, ERESTARTNOHAND, ERESTART_RESTARTBLOCK: the kernel repeats the call. */
    return r <= -512 && r >= -516;
}

static void on_injection_exit(struct trap *t, const tracee_regs *regs)
{
    scratch_injected(t, regs_result(regs));
    t->regs = t->entry;
    regs_restart_syscall(&t->regs, t->nr);
    t->state = TRAP_RESTARTING;
    pid_t tid = t->tid;
    if (regs_set(tid, &t->regs) < 0)
        trap_free(t);
    request(PTRACE_CONT, tid, 0);
}

static void on_syscall_stop(pid_t tid)
{
    stats.syscall_stops++;
    struct trap *t = trap_find(tid);
    if (!awaits_exit_stop(t)) {
        request(PTRACE_CONT, tid, 0);
        return;
    }
    if (t->awaiting_entry_stop) {
        t->awaiting_entry_stop = false; /* gVisor's syscall-entry stop after the seccomp stop */
        request(PTRACE_SYSCALL, tid, 0);
        return;
    }
    tracee_regs regs;
    if (regs_get(tid, &regs) < 0) {
        trap_free(t);
        request(PTRACE_CONT, tid, 0);
        return;
    }
    if (t->marked && regs_result(&regs) == ENTRY_MARK) {
        if (entry_stop_after_seccomp < 0)
            log_debug("this kernel reports a syscall-entry stop after a seccomp stop (gVisor)");
        entry_stop_after_seccomp = 1;
        request(PTRACE_SYSCALL, tid, 0);
        return;
    }
    if (t->marked && entry_stop_after_seccomp < 0)
        entry_stop_after_seccomp = 0;
    long expected = t->state == TRAP_INJECTING ? SYS_mmap : t->nr;
    if (regs_syscall(&regs) != expected) {
        log_debug("tid %d: exit stop of syscall %ld while %ld was trapped: trap dropped", (int)tid,
                  regs_syscall(&regs), expected);
        trap_free(t);
        request(PTRACE_CONT, tid, 0);
        return;
    }
    if (t->state == TRAP_INJECTING) {
        on_injection_exit(t, &regs);
        return;
    }
    t->regs = regs;
    t->regs_dirty = regs_copy_args(&t->regs, &t->entry);
    enum exit_action action = EXIT_DONE;
    if (!is_restart_code(regs_result(&regs))) {
        long nr = t->nr;
        for (int i = (int)chain_len[nr] - 1; i >= 0 && action == EXIT_DONE; i--) {
            const struct rule *rule = all_rules[chain[nr][i]];
            if ((t->followed & (1u << i)) && rule->exit)
                action = rule->exit(t);
        }
    }
    switch (action) {
    case EXIT_DONE:
        finish(t);
        break;
    case EXIT_RESTART:
        stats.restarts++;
        t->regs = t->entry;
        regs_restart_syscall(&t->regs, t->nr);
        t->state = TRAP_RESTARTING;
        if (regs_set(tid, &t->regs) < 0)
            trap_free(t);
        request(PTRACE_CONT, tid, 0);
        break;
    case EXIT_PARK:
        t->state = TRAP_PARKED;
        break;
    }
}

static void drop_trap(pid_t tid)
{
    struct trap *t = trap_find(tid);
    if (t)
        trap_free(t);
}

static void tracee_new(pid_t tid, pid_t parent_tid)
{
    for (size_t i = 0; i < n_hook_rules; i++)
        if (hook_rules[i]->tracee_new)
            hook_rules[i]->tracee_new(tid, parent_tid);
}

void event_add_tracee(pid_t tid)
{
    tracee_new(tid, 0);
}

static void on_event_stop(pid_t tid, unsigned event, int sig)
{
    stats.event_stops++;
    unsigned long msg = 0;
    switch (event) {
    case PTRACE_EVENT_FORK:
    case PTRACE_EVENT_VFORK:
    case PTRACE_EVENT_CLONE:
        /* The child may already have reported its first stop (and been resumed): nothing waits on it. */
        if (n_hook_rules && ptrace(PTRACE_GETEVENTMSG, tid, NULL, &msg) == 0 && msg > 0)
            tracee_new((pid_t)msg, tid);
        break;
    case PTRACE_EVENT_EXEC:
        /* A non-leader thread that execs takes the leader's tid; its old tid vanishes without a report. */
        if (ptrace(PTRACE_GETEVENTMSG, tid, NULL, &msg) == 0 && (pid_t)msg != tid && msg > 0) {
            drop_trap((pid_t)msg);
            procfs_forget((pid_t)msg);
        }
        drop_trap(tid);
        mem_forget(tid);
        break;
    case PTRACE_EVENT_EXIT:
        drop_trap(tid);
        break;
    case PTRACE_EVENT_STOP:
        if (sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU) {
            /* Group-stop: stay stopped (job control) but let us see SIGCONT and SIGKILL. */
            stats.group_stops++;
            request(PTRACE_LISTEN, tid, 0);
            return;
        }
        if (was_kicked(tid)) {
            resume(tid, 0);
            return;
        }
        /* First stop of a new tracee, or the end of a group-stop. */
        if (n_hook_rules)
            tracee_new(tid, 0);
        break;
    default:
        break;
    }
    resume(tid, 0);
}

static void on_death(pid_t tid, int status, pid_t root, void (*on_root_exit)(int status))
{
    stats.exits++;
    drop_trap(tid);
    for (size_t i = 0; i < n_hook_rules; i++)
        if (hook_rules[i]->tracee_died)
            hook_rules[i]->tracee_died(tid, status);
    procfs_forget(tid);
    mem_forget(tid);
    if (tid == root && on_root_exit)
        on_root_exit(status);
}

int event_loop(pid_t root, void (*on_root_exit)(int status))
{
    for (;;) {
        int status;
        pid_t tid = waitpid(-1, &status, __WALL);
        if (tid < 0) {
            if (errno == EINTR)
                continue;
            if (errno == ECHILD)
                return 0;
            return log_error_errno(errno, "waitpid: %m");
        }
        stats.stops++;
        if (kick_mode < 0 && WIFSTOPPED(status))
            probe_kick_mode(tid);
        if (log_stops)
            log_debug("stop: tid %d status 0x%x", (int)tid, status);
        if (WIFEXITED(status) || WIFSIGNALED(status)) {
            on_death(tid, status, root, on_root_exit);
            continue;
        }
        if (!WIFSTOPPED(status))
            continue;
        int sig = WSTOPSIG(status);
        unsigned event = (unsigned)status >> 16;
        if (sig == (SIGTRAP | 0x80))
            on_syscall_stop(tid);
        else if (event == PTRACE_EVENT_SECCOMP)
            on_seccomp_stop(tid);
        else if (event != 0)
            on_event_stop(tid, event, sig);
        else {
            /* Signal-delivery-stop: deliver it as it was sent. */
            stats.signal_stops++;
            resume(tid, sig);
            kick(tid);
        }
    }
}
