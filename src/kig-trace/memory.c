#include "memory.h"

#include "macro.h"
#include "procfs.h"

#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>

#define PAGE_SIZE_MIN 4096u

/* The cheapest way the kernel offers, found once for reads and once for writes: process_vm_readv/writev
 * (one syscall; gVisor lacks them), then /proc/PID/mem (open, pread/pwrite, close; gVisor's is read-only:
 * EINVAL on write), then PTRACE_PEEKDATA/POKEDATA (one syscall per word, always there for a tracer). */
enum method { VIA_PROCESS_VM, VIA_PROC_MEM, VIA_PTRACE };
static enum method read_method = VIA_PROCESS_VM, write_method = VIA_PROCESS_VM;

static bool unavailable(int err, enum method m, bool write)
{
    if (err == ENOSYS || err == EPERM || err == EACCES || err == EOPNOTSUPP)
        return true;
    return m == VIA_PROC_MEM && write && err == EINVAL;
}

static int process_vm_io(pid_t tid, uint64_t addr, void *buf, size_t len, bool write)
{
    struct iovec local = {.iov_base = buf, .iov_len = len};
    struct iovec remote = {.iov_base = (void *)addr, .iov_len = len};
    ssize_t n = write ? process_vm_writev(tid, &local, 1, &remote, 1, 0)
                      : process_vm_readv(tid, &local, 1, &remote, 1, 0);
    if (n == (ssize_t)len)
        return 0;
    return n >= 0 ? -EFAULT : negative_errno();
}

/* Open /proc/PID/mem files for reading, per thread group: a read then costs one pread instead of open,
 * pread and close. An entry is dropped when its group execs (new address space) or dies (pid reuse). */
#define MEM_FD_CACHE 16u
static struct {
    pid_t tgid;
    int fd;
} mem_fds[MEM_FD_CACHE];

void mem_forget(pid_t tgid)
{
    unsigned slot = (unsigned)tgid % MEM_FD_CACHE;
    if (mem_fds[slot].tgid == tgid && tgid > 0) {
        close(mem_fds[slot].fd);
        mem_fds[slot].tgid = 0;
    }
}

static int open_mem(pid_t tgid, bool write)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/mem", (int)tgid);
    int fd = open(path, (write ? O_WRONLY : O_RDONLY) | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? -ESRCH : negative_errno();
    return fd;
}

static int proc_mem_io(pid_t tid, uint64_t addr, void *buf, size_t len, bool write)
{
    /* Threads share the address space, and only the group leader is sure to have /proc/PID in gVisor. */
    pid_t tgid = procfs_tgid(tid);
    if (tgid <= 0)
        tgid = tid;
    _cleanup_close_ int own_fd = -1;
    int fd;
    unsigned slot = (unsigned)tgid % MEM_FD_CACHE;
    if (write) {
        fd = own_fd = open_mem(tgid, true);
    } else if (mem_fds[slot].tgid == tgid) {
        fd = mem_fds[slot].fd;
    } else {
        fd = open_mem(tgid, false);
        if (fd >= 0) {
            if (mem_fds[slot].tgid > 0)
                close(mem_fds[slot].fd);
            mem_fds[slot].tgid = tgid;
            mem_fds[slot].fd = fd;
        }
    }
    if (fd < 0)
        return fd;
    ssize_t n = write ? pwrite(fd, buf, len, (off_t)addr) : pread(fd, buf, len, (off_t)addr);
    if (n == (ssize_t)len)
        return 0;
    int err = n >= 0 || errno == EIO ? EFAULT : errno;
    if (!write && n == 0) /* the address space is gone: the next read opens the file again */
        mem_forget(tgid);
    return -err;
}

static int peek_read(pid_t tid, uint64_t addr, void *buf, size_t len)
{
    char *out = buf;
    uint64_t word_addr = addr & ~(uint64_t)(sizeof(long) - 1);
    size_t skip = (size_t)(addr - word_addr);
    while (len > 0) {
        errno = 0;
        long word = ptrace(PTRACE_PEEKDATA, tid, (void *)word_addr, NULL);
        if (word == -1 && errno != 0)
            return negative_errno();
        size_t n = sizeof(long) - skip;
        if (n > len)
            n = len;
        memcpy(out, (char *)&word + skip, n);
        out += n;
        len -= n;
        word_addr += sizeof(long);
        skip = 0;
    }
    return 0;
}

static int poke_write(pid_t tid, uint64_t addr, const void *buf, size_t len)
{
    const char *in = buf;
    uint64_t word_addr = addr & ~(uint64_t)(sizeof(long) - 1);
    size_t skip = (size_t)(addr - word_addr);
    while (len > 0) {
        long word = 0;
        size_t n = sizeof(long) - skip;
        if (n > len)
            n = len;
        if (n < sizeof(long)) {
            /* A partial word: keep the bytes around the ones we replace. */
            int r = peek_read(tid, word_addr, &word, sizeof(word));
            if (r < 0)
                return r;
        }
        memcpy((char *)&word + skip, in, n);
        if (ptrace(PTRACE_POKEDATA, tid, (void *)word_addr, (void *)word) < 0)
            return negative_errno();
        in += n;
        len -= n;
        word_addr += sizeof(long);
        skip = 0;
    }
    return 0;
}

static int mem_io(pid_t tid, uint64_t addr, void *buf, size_t len, bool write)
{
    if (len == 0)
        return 0;
    enum method *m = write ? &write_method : &read_method;
    if (*m == VIA_PROCESS_VM) {
        int r = process_vm_io(tid, addr, buf, len, write);
        if (!unavailable(-r, VIA_PROCESS_VM, write))
            return r;
        *m = VIA_PROC_MEM;
    }
    if (*m == VIA_PROC_MEM) {
        int r = proc_mem_io(tid, addr, buf, len, write);
        if (!unavailable(-r, VIA_PROC_MEM, write))
            return r;
        *m = VIA_PTRACE;
    }
    return write ? poke_write(tid, addr, buf, len) : peek_read(tid, addr, buf, len);
}

int mem_read(pid_t tid, uint64_t addr, void *buf, size_t len)
{
    return mem_io(tid, addr, buf, len, false);
}

int mem_write(pid_t tid, uint64_t addr, const void *buf, size_t len)
{
    return mem_io(tid, addr, (void *)buf, len, true);
}

ssize_t mem_read_string(pid_t tid, uint64_t addr, char *buf, size_t size)
{
    if (addr == 0)
        return -EFAULT;
    if (size == 0)
        return -ENAMETOOLONG;
    size_t len = 0;
    while (len < size) {
        /* Read up to the end of the current page only: the next one may be unmapped while the string
         * ends before it. Word by word, short chunks: most paths end in the first one. */
        uint64_t here = addr + len;
        size_t chunk = PAGE_SIZE_MIN - (size_t)(here % PAGE_SIZE_MIN);
        if (read_method == VIA_PTRACE && chunk > 64)
            chunk = 64;
        if (chunk > size - len)
            chunk = size - len;
        int r = mem_read(tid, here, buf + len, chunk);
        if (r < 0)
            return r;
        char *nul = memchr(buf + len, '\0', chunk);
        if (nul)
            return nul - buf;
        len += chunk;
    }
    buf[size - 1] = '\0';
    return -ENAMETOOLONG;
}
