#include "scratch.h"

#include "log.h"
#include "memory.h"

#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

#define N_SLOTS (SCRATCH_SIZE / SCRATCH_SLOT_SIZE)
static const char header[16] = "kig-trace area\n";

/* Slot 0 holds the header. */
static uint64_t slot_used[N_SLOTS / 64] = {1};

static int slot_alloc(void)
{
    for (unsigned w = 0; w < N_SLOTS / 64; w++) {
        if (slot_used[w] == ~0ull)
            continue;
        unsigned bit = (unsigned)__builtin_ctzll(~slot_used[w]);
        slot_used[w] |= 1ull << bit;
        return (int)(w * 64 + bit);
    }
    return -1;
}

void scratch_release(struct trap *t)
{
    if (t->scratch_slot > 0)
        slot_used[t->scratch_slot / 64] &= ~(1ull << (t->scratch_slot % 64));
    t->scratch_slot = -1;
    t->scratch_used = 0;
}

static int put_on_stack(struct trap *t, const void *data, size_t len, uint64_t *ret_addr)
{
    uint64_t sp = regs_stack_pointer(&t->entry);
    uint64_t addr = (sp - REGS_RED_ZONE - t->stack_used - len) & ~(uint64_t)15;
    int r = mem_write(t->tid, addr, data, len);
    if (r < 0)
        return r;
    t->stack_used = (uint32_t)(sp - REGS_RED_ZONE - addr);
    *ret_addr = addr;
    return 0;
}

int scratch_put(struct trap *t, const void *data, size_t len, uint64_t *ret_addr)
{
    if (len > SCRATCH_SLOT_SIZE)
        return -ENAMETOOLONG;
    if (!t->scratch_unavailable) {
        if (!t->scratch_checked) {
            char found[sizeof(header)];
            int r = mem_read(t->tid, SCRATCH_ADDR, found, sizeof(found));
            if (r == -EFAULT || r == -EIO)
                return -EAGAIN;
            if (r < 0)
                return r;
            if (memcmp(found, header, sizeof(header)) != 0) {
                /* Someone else's mapping sits there: leave it alone. */
                t->scratch_unavailable = true;
                return put_on_stack(t, data, len, ret_addr);
            }
            t->scratch_checked = true;
        }
        if (t->scratch_slot < 0 || t->scratch_used + len > SCRATCH_SLOT_SIZE) {
            scratch_release(t);
            t->scratch_slot = slot_alloc();
        }
        if (t->scratch_slot > 0) {
            uint64_t addr = SCRATCH_ADDR + (uint64_t)t->scratch_slot * SCRATCH_SLOT_SIZE + t->scratch_used;
            int r = mem_write(t->tid, addr, data, len);
            if (r < 0)
                return r;
            t->scratch_used += (uint32_t)((len + 15) & ~(size_t)15);
            *ret_addr = addr;
            return 0;
        }
    }
    return put_on_stack(t, data, len, ret_addr);
}

int scratch_put_string(struct trap *t, const char *s, uint64_t *ret_addr)
{
    return scratch_put(t, s, strlen(s) + 1, ret_addr);
}

void scratch_inject(tracee_regs *regs)
{
    regs_set_syscall(regs, SYS_mmap);
    regs_set_arg(regs, 0, SCRATCH_ADDR);
    regs_set_arg(regs, 1, SCRATCH_SIZE);
    regs_set_arg(regs, 2, PROT_READ | PROT_WRITE);
    regs_set_arg(regs, 3, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE);
    regs_set_arg(regs, 4, (uint64_t)-1);
    regs_set_arg(regs, 5, 0);
}

void scratch_injected(struct trap *t, int64_t result)
{
    if ((uint64_t)result == SCRATCH_ADDR && mem_write(t->tid, SCRATCH_ADDR, header, sizeof(header)) == 0) {
        t->scratch_checked = true;
        return;
    }
    /* Another thread of the address space mapped it first: the restarted call finds its header. */
    if (result == -EEXIST)
        return;
    /* A kernel without MAP_FIXED_NOREPLACE may have placed it elsewhere: that mapping stays, unused. */
    log_debug("tid %d: cannot map the scratch area (mmap gave %lld): using the stack", (int)t->tid,
              (long long)result);
    t->scratch_unavailable = true;
}
