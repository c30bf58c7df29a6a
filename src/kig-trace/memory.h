/* Reading and writing a stopped tracee's memory: process_vm_readv/writev, /proc/PID/mem or
 * PTRACE_PEEKDATA/POKEDATA, whichever the kernel has. All functions return 0 (or a length) or a negative
 * errno (-EFAULT: the range is not mapped). */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

int mem_read(pid_t tid, uint64_t addr, void *buf, size_t len);
int mem_write(pid_t tid, uint64_t addr, const void *buf, size_t len);
/* Reads a NUL-terminated string of at most size-1 bytes. Returns its length, -ENAMETOOLONG if it does not
 * fit, -EFAULT if addr is NULL or unmapped. Never reads past the page holding the terminator. */
/* The thread group execed or died: drop what is cached about its address space. */
void mem_forget(pid_t tgid);
ssize_t mem_read_string(pid_t tid, uint64_t addr, char *buf, size_t size);
