#include "tracee.h"

#include "memory.h"
#include "path.h"
#include "procfs.h"
#include "scratch.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>

static struct trap table[TRAP_TABLE_SIZE];
static size_t n_traps;

static unsigned home(pid_t tid)
{
    /* Fibonacci hashing: consecutive tids spread over the table. */
    return (unsigned)(((uint32_t)tid * 2654435769u) >> 20) & (TRAP_TABLE_SIZE - 1);
}

struct trap *trap_find(pid_t tid)
{
    if (tid <= 0 || n_traps == 0)
        return NULL;
    for (unsigned i = home(tid), n = 0; n < TRAP_TABLE_SIZE; i = (i + 1) & (TRAP_TABLE_SIZE - 1), n++) {
        if (table[i].tid == tid)
            return &table[i];
        if (table[i].tid == 0)
            return NULL;
    }
    return NULL;
}

void trap_reset(struct trap *t, bool keep_restart_state)
{
    pid_t tid = t->tid, tgid = t->tgid;
    unsigned attempt = keep_restart_state ? t->attempt + 1 : 1;
    bool unavailable = keep_restart_state && t->scratch_unavailable;
    uint64_t rule_data[TRAP_RULE_SLOTS][TRAP_RULE_WORDS];
    if (keep_restart_state)
        memcpy(rule_data, t->rule_data, sizeof(rule_data));
    scratch_release(t);
    memset(t, 0, sizeof(*t));
    t->tid = tid;
    t->tgid = tgid;
    t->attempt = attempt;
    t->scratch_unavailable = unavailable;
    t->scratch_slot = -1;
    if (keep_restart_state)
        memcpy(t->rule_data, rule_data, sizeof(rule_data));
}

struct trap *trap_new(pid_t tid)
{
    if (n_traps >= TRAP_TABLE_SIZE - 1)
        return NULL;
    for (unsigned i = home(tid);; i = (i + 1) & (TRAP_TABLE_SIZE - 1)) {
        if (table[i].tid == 0 || table[i].tid == tid) {
            if (table[i].tid == 0)
                n_traps++;
            table[i].tid = tid;
            table[i].tgid = 0;
            table[i].scratch_slot = -1;
            trap_reset(&table[i], false);
            return &table[i];
        }
    }
}

void trap_free(struct trap *t)
{
    scratch_release(t);
    /* Backward-shift deletion keeps every probe chain unbroken without tombstones. */
    unsigned hole = (unsigned)(t - table);
    table[hole].tid = 0;
    n_traps--;
    for (unsigned i = (hole + 1) & (TRAP_TABLE_SIZE - 1); table[i].tid != 0;
         i = (i + 1) & (TRAP_TABLE_SIZE - 1)) {
        unsigned want = home(table[i].tid);
        /* Move entry i into the hole unless its home lies cyclically in (hole, i]. */
        bool stays = hole <= i ? (hole < want && want <= i) : (hole < want || want <= i);
        if (stays)
            continue;
        table[hole] = table[i];
        table[i].tid = 0;
        hole = i;
    }
}

size_t trap_count(void)
{
    return n_traps;
}

size_t trap_list(enum trap_state state, pid_t *tids, size_t max)
{
    size_t n = 0;
    for (unsigned i = 0; i < TRAP_TABLE_SIZE && n < max; i++)
        if (table[i].tid != 0 && table[i].state == state)
            tids[n++] = table[i].tid;
    return n;
}

pid_t trap_tgid(struct trap *t)
{
    if (t->tgid <= 0) {
        pid_t tgid = procfs_tgid(t->tid);
        t->tgid = tgid > 0 ? tgid : 0;
    }
    return t->tgid > 0 ? t->tgid : -ESRCH;
}

uint64_t trap_arg(const struct trap *t, unsigned index)
{
    return regs_arg(&t->entry, index);
}

void trap_set_arg(struct trap *t, unsigned index, uint64_t value)
{
    if (regs_arg(&t->regs, index) == value)
        return;
    regs_set_arg(&t->regs, index, value);
    t->regs_dirty = true;
}

int64_t trap_result(const struct trap *t)
{
    return regs_result(&t->regs);
}

void trap_set_result(struct trap *t, int64_t value)
{
    regs_set_result(&t->regs, value);
    t->regs_dirty = true;
}

int trap_fd_path(struct trap *t, int fd, char *out, size_t size)
{
    if (fd < 0)
        return -EBADF;
    return procfs_fd_path(t->tid, fd, out, size);
}

int trap_read_path(struct trap *t, unsigned arg_index, int dirfd_index, char *out, size_t size)
{
    char raw[PATH_MAX];
    ssize_t n = mem_read_string(t->tid, trap_arg(t, arg_index), raw, sizeof(raw));
    if (n < 0)
        return (int)n;
    if (n == 0)
        return -ENOENT;
    if (raw[0] == '/')
        return path_normalize(raw, out, size);
    char base[PATH_MAX];
    int dirfd = dirfd_index < 0 ? AT_FDCWD : (int)trap_arg(t, (unsigned)dirfd_index);
    int r = dirfd == AT_FDCWD ? procfs_cwd(t->tid, base, sizeof(base))
                              : procfs_fd_path(t->tid, dirfd, base, sizeof(base));
    if (r < 0)
        return r;
    return path_resolve(base, raw, out, size);
}
