/* Registers of a stopped tracee thread, and the syscall calling convention.
 *
 * kig-trace supports x86_64 only (gVisor's ptrace platform on this project's machines is x86_64). Every
 * architecture-specific detail lives in this header and regs.c: porting means rewriting these two files. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/user.h>

#if !defined(__x86_64__)
#error "kig-trace supports x86_64 only: port regs.c and regs.h first"
#endif

typedef struct user_regs_struct tracee_regs;

/* Syscall number that makes the kernel skip the call, keeping the result register as the tracer set it. */
#define REGS_SKIP_SYSCALL (-1L)
/* Bytes below the stack pointer that leaf functions may use without moving it (System V x86_64 ABI). */
#define REGS_RED_ZONE 128u
/* Length of the instruction that entered the kernel: rewinding the pc by this much repeats the call. */
#define REGS_SYSCALL_INSN_LEN 2u
#define REGS_N_ARGS           6u

int regs_get(pid_t tid, tracee_regs *regs);
int regs_set(pid_t tid, const tracee_regs *regs);

long regs_syscall(const tracee_regs *regs);
void regs_set_syscall(tracee_regs *regs, long nr);
uint64_t regs_arg(const tracee_regs *regs, unsigned index);
void regs_set_arg(tracee_regs *regs, unsigned index, uint64_t value);
int64_t regs_result(const tracee_regs *regs);
void regs_set_result(tracee_regs *regs, int64_t value);
uint64_t regs_stack_pointer(const tracee_regs *regs);

/* Makes the thread execute syscall nr again, with the argument registers it now holds, when it resumes. */
void regs_restart_syscall(tracee_regs *regs, long nr);
/* Copies the six argument registers; returns whether anything changed. */
bool regs_copy_args(tracee_regs *dst, const tracee_regs *src);
