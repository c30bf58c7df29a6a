/* x86_64 syscall convention: number in orig_rax (rax at entry), arguments in rdi, rsi, rdx, r10, r8, r9,
 * result in rax. The kernel preserves the argument registers across the call, and compiled code relies on
 * that, so whatever kig-trace rewrites there must be put back before the thread resumes. */
#include "regs.h"

#include "macro.h"

#include <sys/ptrace.h>

int regs_get(pid_t tid, tracee_regs *regs)
{
    if (ptrace(PTRACE_GETREGS, tid, NULL, regs) < 0)
        return negative_errno();
    return 0;
}

int regs_set(pid_t tid, const tracee_regs *regs)
{
    if (ptrace(PTRACE_SETREGS, tid, NULL, regs) < 0)
        return negative_errno();
    return 0;
}

long regs_syscall(const tracee_regs *regs)
{
    return (long)regs->orig_rax;
}

void regs_set_syscall(tracee_regs *regs, long nr)
{
    regs->orig_rax = (unsigned long long)nr;
}

static unsigned long long *arg_slot(tracee_regs *regs, unsigned index)
{
    switch (index) {
    case 0:
        return &regs->rdi;
    case 1:
        return &regs->rsi;
    case 2:
        return &regs->rdx;
    case 3:
        return &regs->r10;
    case 4:
        return &regs->r8;
    default:
        return &regs->r9;
    }
}

uint64_t regs_arg(const tracee_regs *regs, unsigned index)
{
    return *arg_slot((tracee_regs *)regs, index);
}

void regs_set_arg(tracee_regs *regs, unsigned index, uint64_t value)
{
    *arg_slot(regs, index) = value;
}

int64_t regs_result(const tracee_regs *regs)
{
    return (int64_t)regs->rax;
}

void regs_set_result(tracee_regs *regs, int64_t value)
{
    regs->rax = (unsigned long long)value;
}

uint64_t regs_stack_pointer(const tracee_regs *regs)
{
    return regs->rsp;
}

void regs_restart_syscall(tracee_regs *regs, long nr)
{
    regs->rip -= REGS_SYSCALL_INSN_LEN;
    regs->rax = (unsigned long long)nr;
    regs->orig_rax = (unsigned long long)nr;
}

bool regs_copy_args(tracee_regs *dst, const tracee_regs *src)
{
    bool changed = false;
    for (unsigned i = 0; i < REGS_N_ARGS; i++) {
        uint64_t v = regs_arg(src, i);
        if (regs_arg(dst, i) != v) {
            regs_set_arg(dst, i, v);
            changed = true;
        }
    }
    return changed;
}
