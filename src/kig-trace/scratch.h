/* Where kig-trace writes strings that a rewritten syscall argument points to.
 *
 * A 1 MiB private anonymous mapping at a fixed address in each tracee address space, made by substituting
 * an mmap for the thread's syscall the first time a rule needs it there (then the syscall is restarted).
 * Fork children inherit it at the same address, exec drops it, so no per-process bookkeeping is needed:
 * a magic header at the address says whether it is there. Slots are handed out globally, so threads that
 * share an address space (threads, vfork, CLONE_VM) never write into each other's strings.
 * Below the stack's red zone is only the fallback: Go runs syscalls on small goroutine stacks whose
 * neighbours are other goroutines' stacks. */
#pragma once

#include "tracee.h"

#include <stddef.h>
#include <stdint.h>

#define SCRATCH_ADDR      0x3f4b49470000ull
#define SCRATCH_SIZE      (1u << 20)
#define SCRATCH_SLOT_SIZE 8192u

/* Copies len bytes into the tracee and returns their address there. -EAGAIN: the area is missing, the
 * caller must let the event loop inject it (scratch_inject) and retry the syscall. */
int scratch_put(struct trap *t, const void *data, size_t len, uint64_t *ret_addr);
int scratch_put_string(struct trap *t, const char *s, uint64_t *ret_addr);
void scratch_release(struct trap *t);
/* Turns the trapped call in regs into the mmap that creates the area. */
void scratch_inject(tracee_regs *regs);
/* After the injected mmap returned result: writes the header (or marks the area unavailable). */
void scratch_injected(struct trap *t, int64_t result);
