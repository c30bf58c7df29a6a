/* Per-thread state of kig-trace: one "trap" for each thread that is inside a syscall a rule handles.
 * Threads doing anything else have no state at all, so the table only holds the few threads that are
 * between a seccomp stop and the matching syscall-exit stop (or parked there by the subreaper rule).
 * The table is a fixed array: nothing is allocated while tracing. */
#pragma once

#include "regs.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define TRAP_TABLE_SIZE 4096u /* a power of two */
#define TRAP_RULE_SLOTS 16u   /* >= RULE_COUNT */
#define TRAP_RULE_WORDS 4u

enum trap_state {
    TRAP_ENTERED,    /* the call runs; its syscall-exit stop finishes the trap */
    TRAP_INJECTING,  /* our mmap replaced the call (scratch area); its exit stop restarts the call */
    TRAP_RESTARTING, /* the call was rewound; its next seccomp stop continues this trap */
    TRAP_PARKED,     /* held in its syscall-exit stop until a rule completes it */
};

struct trap {
    pid_t tid;  /* 0: free slot */
    pid_t tgid; /* 0 until someone asks (trap_tgid) */
    enum trap_state state;
    long nr;
    tracee_regs entry; /* as the thread made the call: its argument registers are restored at exit */
    tracee_regs regs;  /* what the thread resumes with */
    bool regs_dirty;
    bool marked;              /* ENTRY_MARK was written at the seccomp stop (see event.c) */
    bool awaiting_entry_stop; /* the next syscall stop is gVisor's entry stop */
    uint32_t followed;        /* bit i: rule i of the syscall's chain wants the exit hook */
    unsigned attempt;         /* 1, then 2... when a rule restarted the call */
    int scratch_slot;         /* -1: none */
    uint32_t scratch_used;
    bool scratch_checked;     /* the scratch area was seen mapped in this address space */
    bool scratch_unavailable; /* injection failed: use the stack */
    uint32_t stack_used;
    uint64_t rule_data[TRAP_RULE_SLOTS][TRAP_RULE_WORDS];
};

struct trap *trap_find(pid_t tid);
/* A fresh trap for tid, or NULL when the table is full. */
struct trap *trap_new(pid_t tid);
/* Resets a trap for a new syscall, keeping what survives a restart (attempt, scratch availability). */
void trap_reset(struct trap *t, bool keep_restart_state);
/* Frees the trap and its scratch slot. Pointers to other traps stay valid only until the next free. */
void trap_free(struct trap *t);
size_t trap_count(void);
/* Copies up to max tids of traps in the given state into tids; returns how many. */
size_t trap_list(enum trap_state state, pid_t *tids, size_t max);

/* Helpers for rules. */
pid_t trap_tgid(struct trap *t);
uint64_t trap_arg(const struct trap *t, unsigned index); /* as the thread passed it */
void trap_set_arg(struct trap *t, unsigned index, uint64_t value);
int64_t trap_result(const struct trap *t);
void trap_set_result(struct trap *t, int64_t value);
/* Reads the path argument at arg_index, made absolute against the directory fd at dirfd_index (-1: the
 * cwd) and normalized. Returns its length or a negative errno. */
int trap_read_path(struct trap *t, unsigned arg_index, int dirfd_index, char *out, size_t size);
/* Path of the tracee's open fd (what /proc/PID/fd/N points to). */
int trap_fd_path(struct trap *t, int fd, char *out, size_t size);
